import type { InstrumentSettings } from "../../config/instrument-settings.ts";
import type { ScriptSnapshot } from "../../coordinator/script-catalog.ts";
import type { VersionRow } from "./instrument-data.ts";
import type { EditorErrors, EditorInput, ScriptVariable, SetOverview } from "./variable-editor.ts";

/** What a reader of the instrument sees; `access` says which view. */
export interface InstrumentView {
  name: string;
  settings: InstrumentSettings | null;
  facility: string;
  paused: boolean;
  access: "full" | "member";
  manage: boolean;
  /** The member view: the viewer's experiments with runs here. */
  experiments: string[] | null;
  active: VersionRow[];
  failures: VersionRow[];
  durations: Array<{ run_number: number; seconds: number }>;
  last: VersionRow | null;
  script: (ScriptSnapshot & { mtime: number | null }) | null;
  variables: ScriptVariable[] | null;
  /** Why the variables cannot be shown (no or unreadable reduce_vars.py). */
  variablesProblem: string | null;
  overview: SetOverview;
  deletedSets: number;
  /** The values the next run gets, by variable name. */
  nextValues: Record<string, string>;
  cap: { role: "admin" | "staff" | "user"; runs: number };
}

/** What the editor shows after a refused post: the values as typed, and the problems by field. */
export interface EditorState {
  input: EditorInput;
  errors: EditorErrors;
  /** A problem of the whole form (the save itself was refused). */
  formError: string | null;
}

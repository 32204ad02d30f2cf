import { z } from "zod";
import type { RerunPreview } from "../../coordinator/rerun-handler.ts";
import { CsrfField, Layout, type PageFrame } from "../views/layout.tsx";
import type { InstrumentView } from "./instrument-view.ts";
import { compactRuns } from "./run-lists.tsx";
import { FieldError } from "./variables-view.tsx";

/**
 * The batch re-run of a range of an instrument's runs: the form (runs, which script, why), the
 * preview of what would be queued and what left out (with the viewer's cap), and the confirmation.
 */

export const RerunFields = z.object({
  runs: z.string().max(2000).default(""),
  script: z.enum(["stored", "current"]).default("stored"),
  description: z.string().max(500).default(""),
});
export type RerunFields = z.infer<typeof RerunFields>;

export function RerunForm({
  instrument,
  fields,
  cap,
  error,
}: {
  instrument: string;
  fields: Partial<RerunFields>;
  cap: InstrumentView["cap"];
  error?: string | undefined;
}) {
  return (
    <section aria-labelledby="rerun">
      <h2 id="rerun">Re-run a range of runs</h2>
      <form method="get" action={`/instruments/${instrument}/rerun`} class="stack rerun-form">
        <label for="rerun-runs">Runs</label>
        <input
          id="rerun-runs"
          name="runs"
          value={fields.runs ?? ""}
          placeholder="1200-1250, 1300"
          required
          aria-describedby={error ? "rerun-runs-help rerun-runs-error" : "rerun-runs-help"}
          aria-invalid={error ? "true" : undefined}
        />
        <p class="help" id="rerun-runs-help">
          {`Run numbers and ranges, comma-separated. You may re-run up to ${cap.runs} runs at once (${capWords(cap.role)}).`}
        </p>
        <FieldError id="rerun-runs-error" message={error} />
        <fieldset>
          <legend>Script</legend>
          <div class="choice">
            <input
              type="radio"
              id="script-stored"
              name="script"
              value="stored"
              checked={fields.script !== "current"}
            />
            <label for="script-stored">the text stored with each run's latest version</label>
          </div>
          <div class="choice">
            <input
              type="radio"
              id="script-current"
              name="script"
              value="current"
              checked={fields.script === "current"}
            />
            <label for="script-current">the current script file</label>
          </div>
        </fieldset>
        <label for="rerun-description">Why (shown on each new version)</label>
        <input id="rerun-description" name="description" maxLength={500} value={fields.description ?? ""} />
        <button type="submit">Preview</button>
      </form>
    </section>
  );
}

const capWords = (role: string) =>
  role === "admin"
    ? "the administrators' limit"
    : role === "staff"
      ? "the instrument staff's limit"
      : "your limit";

/** The batch re-run's preview: what would be queued, what not and why; confirm to send. */
export function RerunPage({
  frame,
  instrument,
  fields,
  cap,
  preview,
  error,
}: {
  frame: PageFrame;
  instrument: string;
  fields: RerunFields;
  cap: InstrumentView["cap"];
  preview?: RerunPreview;
  error?: string;
}) {
  return (
    <Layout frame={frame} title={`Re-run ${instrument} runs`}>
      <p>
        <a href={`/instruments/${instrument}`}>{`← ${instrument}`}</a>
      </p>
      <h1>{`Re-run ${instrument} runs: preview`}</h1>
      {preview && !error ? (
        <div class="card">
          {preview.queue.length > 0 ? (
            <p>
              <strong>{`${preview.queue.length} run${preview.queue.length === 1 ? "" : "s"} will be re-run`}</strong>
              {` with ${fields.script === "current" ? "the current script file" : "the script stored with each run's latest version"}: `}
              <span class="mono">{compactRuns(preview.queue)}</span>
            </p>
          ) : (
            <p class="error">Nothing would be re-run: every run is left out (see why below).</p>
          )}
          {preview.refused.length > 0 ? (
            <>
              <h2>{`Left out (${preview.refused.length})`}</h2>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Run</th>
                    <th scope="col">Why</th>
                  </tr>
                </thead>
                <tbody>
                  {preview.refused.slice(0, 500).map((r) => (
                    <tr key={r.run_number}>
                      <td>{r.run_number}</td>
                      <td>{r.reason}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          ) : null}
          {preview.queue.length > 0 ? (
            <form method="post" action={`/instruments/${instrument}/rerun`} class="confirm">
              <CsrfField frame={frame} />
              <input type="hidden" name="runs" value={fields.runs} />
              <input type="hidden" name="script" value={fields.script} />
              <input type="hidden" name="description" value={fields.description} />
              {fields.description.trim() ? <p>{`Reason recorded: ${fields.description.trim()}`}</p> : null}
              <button type="submit">{`Re-run ${preview.queue.length} run${preview.queue.length === 1 ? "" : "s"}`}</button>
            </form>
          ) : null}
        </div>
      ) : null}
      {preview && error ? <p class="error">{error}</p> : null}
      <RerunForm instrument={instrument} fields={fields} cap={cap} error={preview ? undefined : error} />
      <p class="help">
        Runs never reduced, or whose latest version is still queued or running, are left out. Each run re-run
        gets a new version; the earlier versions and their results stay.
      </p>
    </Layout>
  );
}

import { Fragment } from "preact";
import type { VarValue } from "../../scripts/variable-types.ts";
import { formatTime } from "../views/format.ts";
import { CsrfField, type PageFrame } from "../views/layout.tsx";
import type { EditorState, InstrumentView } from "./instrument-view.ts";
import {
  type EditorInput,
  formatValue,
  type ScriptVariable,
  setValues,
  TYPE_WORDS,
} from "./variable-editor.ts";

/**
 * The instrument page's variables: the script's variables with their defaults, types and help
 * text and what the next run gets; the sets people made (current, upcoming, earlier, per
 * experiment); and, for the instrument's scientists, the editor that adds a set, whose refused
 * fields are shown each with its own message.
 */

function roleWords(role: string, next: number | null, experiment: string | null): string {
  if (role === "next")
    return next === null
      ? "applies to the next run"
      : `applies to the next run (${next}${experiment ? `, ${experiment}` : ""})`;
  if (role === "upcoming") return "upcoming";
  if (role === "past") return "earlier runs only";
  return "for its experiment's runs";
}

export function VariablesSection({
  frame,
  view,
  editor,
}: {
  frame: PageFrame;
  view: InstrumentView;
  editor: EditorState | null;
}) {
  const o = view.overview;
  const next = o.nextSet;
  return (
    <section aria-labelledby="variables">
      <h2 id="variables">Variables</h2>
      {view.variablesProblem ? <p class="muted">{view.variablesProblem}</p> : null}
      {view.variables ? (
        <>
          <p>
            {o.nextRun === null
              ? "No run yet: the first run gets "
              : `The next run (${o.nextRun}${o.nextExperiment ? `, if it is of ${o.nextExperiment} like the last` : ""}) gets `}
            {next
              ? next.scope === "experiment"
                ? `the values of experiment ${next.experiment} (set #${next.id}).`
                : `the values from run ${next.start_run} on (set #${next.id}).`
              : "the script's defaults."}{" "}
            A run gets its experiment's set if there is one, else the set "from run N on" with the highest N
            at or below its number, else the defaults in reduce_vars.py; variables a set does not name keep
            their defaults.
          </p>
          <table class="variables">
            <caption class="visually-hidden">Variables of the {view.name} script</caption>
            <thead>
              <tr>
                <th scope="col">Variable</th>
                <th scope="col">Type</th>
                <th scope="col">Default (reduce_vars.py)</th>
                <th scope="col">Next run gets</th>
                <th scope="col">Help</th>
              </tr>
            </thead>
            <tbody>
              {view.variables.map((variable) => {
                const value = view.nextValues[variable.name] ?? "";
                const changed = value !== formatValue(variable.value);
                return (
                  <tr key={variable.name}>
                    <th scope="row">
                      {variable.name}
                      {variable.section === "advanced_vars" ? <span class="help"> (advanced)</span> : null}
                    </th>
                    <td>{TYPE_WORDS[variable.type]}</td>
                    <td>
                      <code>{formatValue(variable.value)}</code>
                    </td>
                    <td class={changed ? "changed" : undefined}>
                      <code>{value}</code>
                    </td>
                    <td class="help">{variable.help ?? ""}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      ) : null}
      <h3>Sets made by people</h3>
      {o.sets.length === 0 ? (
        <p class="muted">
          None: every run gets the script's defaults.
          {view.manage && view.variables ? " Add a set with the editor below." : ""}
        </p>
      ) : (
        <ul class="sets">
          {o.sets.map(({ set, role, covers }) => (
            <li key={set.id} class={`set set-${role}`}>
              <div class="set-head">
                <strong>{`#${set.id} · ${covers}`}</strong>{" "}
                <span class={`tag tag-${role}`}>{roleWords(role, o.nextRun, o.nextExperiment)}</span>
                {view.manage ? (
                  <form
                    method="post"
                    action={`/instruments/${view.name}/variables/${set.id}/delete`}
                    class="inline"
                  >
                    <CsrfField frame={frame} />
                    <button
                      type="submit"
                      class="link"
                      data-confirm={`Delete set #${set.id} (${covers})? Runs it covered get the next set that applies.`}
                    >
                      Delete
                    </button>
                  </form>
                ) : null}
              </div>
              <SetValues values={setValues(set)} />
              <p class="help">{`made by ${set.created_by ?? "unknown"} on ${formatTime(set.created_at)}`}</p>
            </li>
          ))}
        </ul>
      )}
      {view.deletedSets > 0 ? (
        <p class="help">{`${view.deletedSets} deleted set${view.deletedSets === 1 ? "" : "s"} kept in the history (autoreduce vars history ${view.name}).`}</p>
      ) : null}
      {view.manage && view.variables && view.settings ? (
        <VariableEditor frame={frame} view={view} variables={view.variables} state={editor} />
      ) : null}
    </section>
  );
}

function SetValues({ values }: { values: Record<string, VarValue> }) {
  const entries = Object.entries(values);
  if (entries.length === 0)
    return <p class="muted">Holds no values: the script's defaults apply to its runs.</p>;
  return (
    <dl class="facts">
      {entries.map(([name, value]) => (
        <Fragment key={name}>
          <dt>{name}</dt>
          <dd>
            <code>{formatValue(value)}</code>
          </dd>
        </Fragment>
      ))}
    </dl>
  );
}

export function FieldError({ id, message }: { id: string; message: string | undefined }) {
  return message ? (
    <p class="field-error" id={id}>
      {message}
    </p>
  ) : null;
}

function VariableEditor({
  frame,
  view,
  variables,
  state,
}: {
  frame: PageFrame;
  view: InstrumentView;
  variables: ScriptVariable[];
  state: EditorState | null;
}) {
  const input: EditorInput = state?.input ?? {
    scope: "from_run",
    from_run: view.overview.nextRun === null ? "" : String(view.overview.nextRun),
    experiment: "",
    values: view.nextValues,
  };
  const errors = state?.errors ?? { fields: {}, variables: {} };
  const count = Object.keys(errors.fields).length + Object.keys(errors.variables).length;
  const invalid = (message: string | undefined, id: string, helpId?: string) =>
    message
      ? { "aria-invalid": "true" as const, "aria-describedby": [id, helpId].filter(Boolean).join(" ") }
      : helpId
        ? { "aria-describedby": helpId }
        : {};
  return (
    <form method="post" action={`/instruments/${view.name}/variables#editor`} class="editor card" id="editor">
      <h3>Add a variable set</h3>
      {count > 0 ? (
        <p class="error" role="alert">
          {`Not saved: ${count} field${count === 1 ? " needs" : "s need"} fixing (marked below).`}
        </p>
      ) : null}
      {state?.formError ? (
        <p class="error" role="alert">
          {`Not saved: ${state.formError}`}
        </p>
      ) : null}
      <CsrfField frame={frame} />
      <fieldset>
        <legend>These values are for</legend>
        <FieldError id="scope-error" message={errors.fields.scope} />
        <div class="choice">
          <input
            type="radio"
            id="scope-from-run"
            name="scope"
            value="from_run"
            checked={input.scope !== "experiment"}
          />
          <label for="scope-from-run">runs from number</label>
          <input
            id="from_run"
            name="from_run"
            inputMode="numeric"
            aria-label="First run number"
            value={input.from_run}
            size={10}
            {...invalid(errors.fields.from_run, "from_run-error")}
          />
          <span class="help">on (until a set with a higher start)</span>
        </div>
        <FieldError id="from_run-error" message={errors.fields.from_run} />
        <div class="choice">
          <input
            type="radio"
            id="scope-experiment"
            name="scope"
            value="experiment"
            checked={input.scope === "experiment"}
          />
          <label for="scope-experiment">the runs of experiment</label>
          <input
            id="experiment"
            name="experiment"
            aria-label="Experiment"
            value={input.experiment}
            size={14}
            {...invalid(errors.fields.experiment, "experiment-error")}
          />
          <span class="help">(wins over every "from run" set)</span>
        </div>
        <FieldError id="experiment-error" message={errors.fields.experiment} />
      </fieldset>
      {(["standard_vars", "advanced_vars"] as const).map((section) => {
        const own = variables.filter((v) => v.section === section);
        if (own.length === 0) return null;
        return (
          <fieldset key={section}>
            <legend>{section === "standard_vars" ? "Standard variables" : "Advanced variables"}</legend>
            {own.map((variable, i) => {
              const id = `var-${section === "standard_vars" ? "s" : "a"}${i}`;
              const value = input.values[variable.name] ?? formatValue(variable.value);
              const message = errors.variables[variable.name];
              const field = {
                id,
                name: `var:${variable.name}`,
                ...invalid(message, `${id}-error`, `${id}-help`),
              };
              return (
                <div class={`field${message ? " has-error" : ""}`} key={variable.name}>
                  <label for={id}>{variable.name}</label>
                  {variable.type === "boolean" ? (
                    <select {...field}>
                      <option value="true" selected={value === "true"}>
                        true
                      </option>
                      <option value="false" selected={value !== "true"}>
                        false
                      </option>
                    </select>
                  ) : (
                    <input
                      {...field}
                      value={value}
                      inputMode={
                        variable.type === "integer"
                          ? "numeric"
                          : variable.type === "number"
                            ? "decimal"
                            : undefined
                      }
                    />
                  )}
                  <p class="help" id={`${id}-help`}>
                    {`${TYPE_WORDS[variable.type]}; default ${formatValue(variable.value) || "(empty)"}`}
                    {variable.help ? ` — ${variable.help}` : ""}
                  </p>
                  <FieldError id={`${id}-error`} message={message} />
                </div>
              );
            })}
          </fieldset>
        );
      })}
      <p class="help">
        The fields start at the values the next run would get. Values equal to the script's default are not
        stored in the set, so they follow the script when its defaults change.
      </p>
      <button type="submit">Save variable set</button>
    </form>
  );
}

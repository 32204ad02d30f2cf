import { existsSync } from "node:fs";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { instrumentSettings } from "../../config/instrument-settings.ts";
import { cancelRun, requestRerun } from "../../coordinator/operations.ts";
import { effectiveVariables, selectVariableSet } from "../../coordinator/variable-selection.ts";
import { InfrastructureError } from "../../failures/infrastructure-error.ts";
import { RefusedError } from "../../failures/refused-error.ts";
import type { ReductionRequest } from "../../messages/reduction-request.ts";
import { type ReduceVars, readReduceVars } from "../../scripts/reduce-vars-reader.ts";
import {
  coerceValue,
  VariableValueError,
  type VarType,
  type VarValue,
} from "../../scripts/variable-types.ts";
import { variableSets } from "../../store/variable-store.ts";
import { canChangeRun, rerunCapRole } from "../auth/viewer.ts";
import { CsrfField, Layout, MessagePage, type PageFrame } from "../views/layout.tsx";
import type { WebContext } from "../web-context.ts";
import { badRequest } from "./run-answers.tsx";
import {
  findReadableRun,
  type RunRecord,
  runPath,
  selectVersion,
  VersionNumber,
  type VersionRow,
} from "./run-data.ts";
import {
  type FlatVariable,
  fieldText,
  flattenVariables,
  showValue,
  TYPE_HINT,
  type VariableChange,
  variableChanges,
} from "./run-variables.ts";

/** One field of the re-run form: a variable with its type, help text and where it comes from. */
export interface RerunField {
  name: string;
  section: "standard" | "advanced";
  /** Null: no form can hold it (a list mixing kinds); shown, not editable. */
  type: VarType | null;
  /** The value the form starts with: the shown version's, else the current default. */
  value: VarValue;
  help: string | null;
  /** Not among the shown version's variables: new in the current script. */
  added: boolean;
}

/** What the person typed: the variables' raw texts, the script choice, the description. */
interface Typed {
  raw: Record<string, string>;
  script: "stored" | "current";
  description: string;
}

const FormQuery = z.object({ version: VersionNumber.optional() });
const RerunBody = z.object({
  version: VersionNumber,
  step: z.enum(["preview", "confirm", "edit"]),
  script: z.enum(["stored", "current"]).default("stored"),
  description: z.string().max(2000).default(""),
});
const MAX_DESCRIPTION = 500;
const FIELD_PREFIX = "var.";

/**
 * Re-run (a typed form, then a confirmation with the difference, then the request) and cancel,
 * for those who may change the run (`canChangeRun`), checked on every request. The request goes
 * through `requestRerun` as the CLI's and API's do: signed, with the viewer's name and re-run cap.
 */
export function registerRunChanges(app: FastifyInstance, ctx: WebContext): void {
  const deps = { config: ctx.config, database: ctx.database, transport: ctx.transport, log: ctx.log };

  /** The run, if the viewer may change it (else the refusal is sent). */
  const changeableRun = async (request: FastifyRequest, reply: FastifyReply): Promise<RunRecord | null> => {
    const found = await findReadableRun(ctx, request, reply, (text) => badRequest(ctx, request, reply, text));
    if ("reply" in found) return null;
    if (!canChangeRun(request.viewer, found.run)) {
      await ctx.deny(
        request,
        reply,
        `re-running or cancelling run ${found.run.run_number} of ${found.run.instrument}`,
      );
      return null;
    }
    return found.run;
  };

  app.get("/runs/:instrument/:run/rerun", async (request, reply) => {
    const run = await changeableRun(request, reply);
    if (!run) return reply;
    const query = FormQuery.safeParse(request.query);
    const version = query.success ? selectVersion(run, query.data.version) : null;
    if (!version)
      return ctx.notFound(request, reply, `Run ${run.run_number} of ${run.instrument} has no such version.`);
    const current = await currentVariables(ctx, run.instrument);
    const fields = rerunFields(version, current.vars);
    const raw = Object.fromEntries(fields.map((f) => [f.name, fieldText(f.value)]));
    return ctx.page(
      reply,
      <RerunForm
        frame={await ctx.frame(request)}
        run={run}
        version={version}
        fields={fields}
        typed={{ raw, script: hasStoredScript(version) ? "stored" : "current", description: "" }}
        errors={{}}
        formError={null}
        note={current.problem}
      />,
    );
  });

  app.post("/runs/:instrument/:run/rerun", async (request, reply) => {
    const run = await changeableRun(request, reply);
    if (!run) return reply;
    const body = RerunBody.safeParse(request.body);
    if (!body.success)
      return badRequest(
        ctx,
        request,
        reply,
        "This re-run form is incomplete: open it again from the run's page.",
      );
    const version = selectVersion(run, body.data.version);
    if (!version)
      return ctx.notFound(
        request,
        reply,
        `Run ${run.run_number} of ${run.instrument} has no version ${body.data.version}.`,
      );
    const current = await currentVariables(ctx, run.instrument);
    const fields = rerunFields(version, current.vars);
    const typed: Typed = {
      raw: rawValues(fields, request.body as Record<string, unknown>),
      script: body.data.script,
      description: body.data.description.trim(),
    };
    const frame = await ctx.frame(request);
    const showForm = (errors: Record<string, string>, formError: string | null, status: number) =>
      ctx.page(
        reply,
        <RerunForm
          frame={frame}
          run={run}
          version={version}
          fields={fields}
          typed={typed}
          errors={errors}
          formError={formError}
          note={current.problem}
        />,
        status,
      );
    if (body.data.step === "edit") return showForm({}, null, 200);
    const { values, errors } = readValues(fields, typed.raw);
    if (typed.description.length > MAX_DESCRIPTION)
      errors.description = `at most ${MAX_DESCRIPTION} characters (this has ${typed.description.length})`;
    if (Object.keys(errors).length > 0)
      return showForm(errors, "Some values are not right: see the fields marked below.", 422);

    const latest = run.versions.at(-1) ?? version;
    // A stored-script re-run starts from the shown version's script text and variables.
    const base =
      typed.script === "stored"
        ? flattenVariables(version.variables)
        : await currentBase(ctx, run, current.vars);
    const plan = planValues(base, values);
    const rerun: ReductionRequest = {
      instrument: run.instrument,
      run_number: run.run_number,
      current_script: typed.script === "current",
      ...(typed.script === "stored" ? { from_version: version.version } : {}),
      ...(Object.keys(plan.modifications).length > 0 ? { variables: plan.modifications } : {}),
      ...(typed.description ? { description: typed.description } : {}),
      started_by: request.viewer.name ?? "anonymous",
      role: rerunCapRole(request.viewer, run.instrument),
    };
    const dryRun = body.data.step === "preview";
    let refusal: string | null = null;
    try {
      const preview = await requestRerun(deps, rerun, dryRun);
      refusal = preview.refused.find((r) => r.run_number === run.run_number)?.reason ?? null;
      if (!refusal && !preview.queue.includes(run.run_number)) refusal = "the run was not queued";
    } catch (e) {
      if (e instanceof RefusedError) refusal = e.reason;
      else if (e instanceof InfrastructureError) return unavailable(ctx, request, reply, run, e);
      else throw e;
    }
    if (refusal) return showForm({}, `This re-run cannot be queued: ${refusal}.`, 422);
    if (!dryRun) {
      ctx.log.info(
        { instrument: run.instrument, run: run.run_number, by: request.viewer.name, script: typed.script },
        "web: re-run requested",
      );
      return reply.redirect(`${runPath(run.instrument, run.run_number)}?queued=${latest.version + 1}`, 303);
    }
    return ctx.page(
      reply,
      <ConfirmPage
        frame={frame}
        run={run}
        version={version}
        latest={latest}
        typed={typed}
        changes={variableChanges(flattenVariables(version.variables), plan.final)}
        unused={plan.unused}
      />,
    );
  });

  app.post("/runs/:instrument/:run/cancel", async (request, reply) => {
    const run = await changeableRun(request, reply);
    if (!run) return reply;
    const who = request.viewer.name ?? "anonymous";
    try {
      const version = await cancelRun(deps, run.instrument, run.run_number, who);
      ctx.log.info({ instrument: run.instrument, run: run.run_number, version, by: who }, "web: cancelled");
      return reply.redirect(`${runPath(run.instrument, run.run_number)}?cancelled=${version}`, 303);
    } catch (e) {
      if (e instanceof InfrastructureError) return unavailable(ctx, request, reply, run, e);
      if (!(e instanceof RefusedError)) throw e;
      return ctx.page(
        reply,
        <MessagePage frame={await ctx.frame(request)} title="Nothing cancelled">
          <p>{`${e.reason[0]?.toUpperCase() ?? ""}${e.reason.slice(1)}.`}</p>
          <p>
            <a href={runPath(run.instrument, run.run_number)}>Back to the run</a>
          </p>
        </MessagePage>,
        422,
      );
    }
  });
}

/**
 * Whether a version recorded the script text it ran: only then can a re-run run that text again;
 * otherwise the coordinator takes the current file.
 */
function hasStoredScript(version: VersionRow): boolean {
  return version.has_script_text;
}

/** The instrument's `reduce_vars.py` as it is now (defaults, types, help), or why it cannot be read. */
async function currentVariables(
  ctx: WebContext,
  instrument: string,
): Promise<{ vars: ReduceVars | null; problem: string | null }> {
  const settings = instrumentSettings(ctx.config, instrument);
  if (!settings)
    return { vars: null, problem: `${instrument} is not configured here, so its current script is unknown.` };
  if (!existsSync(settings.varsFile))
    return {
      vars: null,
      problem: `The current script has no reduce_vars.py (${settings.varsFile}): only the stored values are offered.`,
    };
  try {
    return { vars: await readReduceVars(settings.varsFile, ctx.config.scripts.python), problem: null };
  } catch (e) {
    return {
      vars: null,
      problem: `The current reduce_vars.py cannot be read (${(e as Error).message}): only the stored values are offered.`,
    };
  }
}

/**
 * The form's fields: the shown version's variables (their values and recorded types), then the
 * variables only the current script has (their defaults), each with the current help text.
 */
export function rerunFields(
  version: Pick<VersionRow, "variables">,
  current: ReduceVars | null,
): RerunField[] {
  const stored = flattenVariables(version.variables);
  const defaults = current
    ? flattenVariables({
        standard_vars: current.standard_vars,
        advanced_vars: current.advanced_vars,
        types: current.types,
      })
    : [];
  const help = (name: string) =>
    current?.variable_help.standard_vars[name] ?? current?.variable_help.advanced_vars[name] ?? null;
  const storedNames = new Set(stored.map((v) => v.name));
  const byName = new Map(defaults.map((d) => [d.name, d]));
  return [
    ...stored.map((v) => ({
      name: v.name,
      section: v.section,
      type: v.type ?? byName.get(v.name)?.type ?? null,
      value: v.value,
      help: help(v.name),
      added: false,
    })),
    ...defaults
      .filter((d) => !storedNames.has(d.name))
      .map((d) => ({
        name: d.name,
        section: d.section,
        type: d.type,
        value: d.value,
        help: help(d.name),
        added: true,
      })),
  ];
}

/** The raw texts the form sent for the fields (a field it did not send keeps its starting value). */
function rawValues(fields: RerunField[], body: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    fields.map((f) => {
      const sent = body[`${FIELD_PREFIX}${f.name}`];
      return [f.name, typeof sent === "string" ? sent : fieldText(f.value)];
    }),
  );
}

/** Each editable field's text converted to its type, or the reason it cannot be, by variable. */
export function readValues(
  fields: RerunField[],
  raw: Record<string, string>,
): { values: Map<string, VarValue>; errors: Record<string, string> } {
  const values = new Map<string, VarValue>();
  const errors: Record<string, string> = {};
  for (const f of fields) {
    if (f.type === null) {
      values.set(f.name, f.value);
      continue;
    }
    try {
      values.set(f.name, coerceValue(f.type, raw[f.name] ?? "", f.name));
    } catch (e) {
      if (!(e instanceof VariableValueError)) throw e;
      errors[f.name] = `expected ${TYPE_HINT[f.type]}; got ${JSON.stringify(raw[f.name] ?? "")}`;
    }
  }
  return { values, errors };
}

/** The current script's values for this run: its defaults with the variable set that applies. */
async function currentBase(
  ctx: WebContext,
  run: RunRecord,
  current: ReduceVars | null,
): Promise<FlatVariable[]> {
  if (!current) return [];
  const sets = (await variableSets(ctx.database, run.instrument)).filter((s) => s.scope !== "default");
  const chosen = selectVariableSet(sets, run.run_number, run.experiment);
  return flattenVariables(
    effectiveVariables(
      { standard_vars: current.standard_vars, advanced_vars: current.advanced_vars, types: current.types },
      chosen,
    ),
  );
}

/**
 * What the new version will have: the chosen script's values (`base`) with the form's in their
 * place. Only the values that differ are sent as changes; form values the chosen script has no
 * variable for are reported as unused.
 */
export function planValues(
  base: FlatVariable[],
  values: Map<string, VarValue>,
): { final: FlatVariable[]; modifications: Record<string, VarValue>; unused: string[] } {
  const modifications: Record<string, VarValue> = {};
  const final = base.map((v) => {
    const wanted = values.get(v.name);
    if (wanted === undefined || showValue(wanted) === showValue(v.value)) return v;
    modifications[v.name] = wanted;
    return { ...v, value: wanted };
  });
  const known = new Set(base.map((v) => v.name));
  return { final, modifications, unused: [...values.keys()].filter((n) => !known.has(n)) };
}

async function unavailable(
  ctx: WebContext,
  request: FastifyRequest,
  reply: FastifyReply,
  run: RunRecord,
  e: Error,
): Promise<FastifyReply> {
  ctx.log.warn({ err: e }, "web: a run change could not be sent");
  return ctx.page(
    reply,
    <MessagePage frame={await ctx.frame(request)} title="Not sent: try again shortly">
      <p>{`The request could not be handed to the message broker or the database (${e.message}). Nothing was changed; try again in a minute, or tell the operators if it persists.`}</p>
      <p>
        <a href={runPath(run.instrument, run.run_number)}>Back to the run</a>
      </p>
    </MessagePage>,
    503,
  );
}

function RerunForm({
  frame,
  run,
  version,
  fields,
  typed,
  errors,
  formError,
  note,
}: {
  frame: PageFrame;
  run: RunRecord;
  version: VersionRow;
  fields: RerunField[];
  typed: Typed;
  errors: Record<string, string>;
  formError: string | null;
  note: string | null;
}) {
  const base = runPath(run.instrument, run.run_number);
  const latest = run.versions.at(-1) ?? version;
  const standard = fields.filter((f) => f.section === "standard");
  const advanced = fields.filter((f) => f.section === "advanced");
  const advancedOpen = advanced.some(
    (f) => errors[f.name] || (typed.raw[f.name] ?? "") !== fieldText(f.value),
  );
  return (
    <Layout frame={frame} title={`Re-run ${run.instrument} run ${run.run_number}`}>
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href="/">Runs</a> ›{" "}
        <a href={`${base}?version=${version.version}`}>{`${run.instrument} run ${run.run_number}`}</a> ›
        re-run
      </nav>
      <h1>{`Re-run ${run.instrument} run ${run.run_number}`}</h1>
      <p>
        {`The values below start from version ${version.version}. Change what you need; the next page shows the difference before anything is queued. The re-run becomes version ${latest.version + 1}; earlier versions and their files stay as they are.`}
      </p>
      {formError ? (
        <p class="error" role="alert">
          {formError}
        </p>
      ) : null}
      {note ? <p class="muted">{note}</p> : null}
      <form method="post" action={`${base}/rerun`} class="rerun" novalidate>
        <CsrfField frame={frame} />
        <input type="hidden" name="version" value={String(version.version)} />
        <fieldset>
          <legend>Which script</legend>
          {hasStoredScript(version) ? (
            <label class="choice">
              <input type="radio" name="script" value="stored" checked={typed.script === "stored"} />{" "}
              {`The exact script text version ${version.version} ran`}
              {version.script_hash ? (
                <span class="muted">{` (sha256 ${version.script_hash.slice(0, 12)}…)`}</span>
              ) : null}
            </label>
          ) : (
            <p class="help">{`Version ${version.version} did not record its script text, so the re-run uses the current script file.`}</p>
          )}
          <label class="choice">
            <input type="radio" name="script" value="current" checked={typed.script === "current"} /> The
            instrument's current script file, as it is now
          </label>
        </fieldset>
        {fields.length === 0 ? (
          <p class="muted">This script has no variables: the re-run runs it as it is.</p>
        ) : (
          <>
            <fieldset>
              <legend>Variables</legend>
              {standard.length === 0 ? <p class="muted">No standard variables.</p> : null}
              {standard.map((f) => (
                <VariableField key={f.name} field={f} raw={typed.raw[f.name] ?? ""} error={errors[f.name]} />
              ))}
            </fieldset>
            {advanced.length > 0 ? (
              <details open={advancedOpen}>
                <summary>{`Advanced variables (${advanced.length})`}</summary>
                <fieldset>
                  <legend class="visually-hidden">Advanced variables</legend>
                  {advanced.map((f) => (
                    <VariableField
                      key={f.name}
                      field={f}
                      raw={typed.raw[f.name] ?? ""}
                      error={errors[f.name]}
                    />
                  ))}
                </fieldset>
              </details>
            ) : null}
          </>
        )}
        <div class="field">
          <label for="description">Why (description)</label>
          <textarea
            id="description"
            name="description"
            rows={2}
            maxLength={MAX_DESCRIPTION}
            aria-describedby={errors.description ? "description-error description-help" : "description-help"}
            aria-invalid={errors.description ? "true" : undefined}
          >
            {typed.description}
          </textarea>
          <span id="description-help" class="help">
            Optional: recorded with the new version, e.g. "finer binning for the dispersion cut".
          </span>
          {errors.description ? (
            <span id="description-error" class="field-error">
              {errors.description}
            </span>
          ) : null}
        </div>
        <p>
          <button type="submit" name="step" value="preview">
            Show the difference
          </button>{" "}
          <a href={`${base}?version=${version.version}`}>Back to the run</a>
        </p>
      </form>
    </Layout>
  );
}

function VariableField({ field, raw, error }: { field: RerunField; raw: string; error: string | undefined }) {
  const id = `var-${field.name}`;
  const describedBy = [error ? `${id}-error` : null, `${id}-help`].filter(Boolean).join(" ");
  const common = {
    id,
    name: `${FIELD_PREFIX}${field.name}`,
    "aria-describedby": describedBy,
    "aria-invalid": error ? ("true" as const) : undefined,
  };
  const input =
    field.type === null ? (
      <input {...common} value={raw} readonly />
    ) : field.type === "boolean" ? (
      <select {...common}>
        {["true", "false"].map((v) => (
          <option key={v} value={v} selected={raw.trim().toLowerCase() === v}>
            {v}
          </option>
        ))}
        {["true", "false"].includes(raw.trim().toLowerCase()) ? null : (
          <option value={raw} selected>
            {raw}
          </option>
        )}
      </select>
    ) : field.type === "integer" || field.type === "number" ? (
      <input {...common} value={raw} inputmode={field.type === "integer" ? "numeric" : "decimal"} />
    ) : (
      <input {...common} value={raw} />
    );
  return (
    <div class={error ? "field invalid" : "field"}>
      <label for={id}>
        <code>{field.name}</code>
        {field.added ? <span class="muted"> (new in the current script)</span> : null}
      </label>
      {input}
      <span id={`${id}-help`} class="help">
        {field.type === null ? "cannot be changed here (a list of mixed kinds)" : TYPE_HINT[field.type]}
        {field.help ? ` — ${field.help}` : ""}
      </span>
      {error ? (
        <span id={`${id}-error`} class="field-error">
          {error}
        </span>
      ) : null}
    </div>
  );
}

function ConfirmPage({
  frame,
  run,
  version,
  latest,
  typed,
  changes,
  unused,
}: {
  frame: PageFrame;
  run: RunRecord;
  version: VersionRow;
  latest: VersionRow;
  typed: Typed;
  changes: VariableChange[];
  unused: string[];
}) {
  const base = runPath(run.instrument, run.run_number);
  const changed = changes.filter((c) => c.kind !== "same").length;
  return (
    <Layout frame={frame} title={`Confirm the re-run of ${run.instrument} run ${run.run_number}`}>
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href="/">Runs</a> › <a href={base}>{`${run.instrument} run ${run.run_number}`}</a> › re-run ›
        confirm
      </nav>
      <h1>{`Queue version ${latest.version + 1} of ${run.instrument} run ${run.run_number}?`}</h1>
      <dl class="facts card">
        <dt>Script</dt>
        <dd>
          {typed.script === "stored"
            ? `the exact text version ${version.version} ran`
            : "the instrument's current script file"}
        </dd>
        <dt>Description</dt>
        <dd>{typed.description || "—"}</dd>
        <dt>Compared with</dt>
        <dd>{`version ${version.version}`}</dd>
      </dl>
      <h2>Variables</h2>
      <p>
        {changed === 0
          ? `Every value is the same as in version ${version.version}.`
          : `${changed} ${changed === 1 ? "variable differs" : "variables differ"} from version ${version.version} (highlighted).`}
      </p>
      {changes.length > 0 ? (
        <table class="variables-diff">
          <thead>
            <tr>
              <th scope="col">Variable</th>
              <th scope="col">{`Version ${version.version}`}</th>
              <th scope="col">New version</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            {changes.map((c) => (
              <tr key={c.name} class={c.kind === "same" ? undefined : `changed change-${c.kind}`}>
                <th scope="row">
                  <code>{c.name}</code>
                </th>
                <td>
                  <code>{showValue(c.before)}</code>
                </td>
                <td>
                  <code>{showValue(c.after)}</code>
                </td>
                <td>
                  {c.kind === "same"
                    ? ""
                    : c.kind === "changed"
                      ? "changed"
                      : c.kind === "added"
                        ? "new"
                        : "dropped"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p class="muted">The script has no variables.</p>
      )}
      {unused.length > 0 ? (
        <p class="help">{`Not used (the chosen script has no such variable): ${unused.join(", ")}.`}</p>
      ) : null}
      <form method="post" action={`${base}/rerun`}>
        <CsrfField frame={frame} />
        <input type="hidden" name="version" value={String(version.version)} />
        <input type="hidden" name="script" value={typed.script} />
        <input type="hidden" name="description" value={typed.description} />
        {Object.entries(typed.raw).map(([name, value]) => (
          <input key={name} type="hidden" name={`${FIELD_PREFIX}${name}`} value={value} />
        ))}
        <p>
          <button type="submit" name="step" value="confirm">
            {`Queue version ${latest.version + 1}`}
          </button>{" "}
          <button type="submit" name="step" value="edit" class="secondary">
            Change the values
          </button>
        </p>
      </form>
    </Layout>
  );
}

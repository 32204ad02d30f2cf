import type { FastifyInstance } from "fastify";
import { Fragment } from "preact";
import { type ExperimentDescription, LocalCatalog, type Membership } from "../../catalog/catalog.ts";
import type { JobStatus } from "../../messages/job-status.ts";
import { experimentProblem } from "../../messages/path-component.ts";
import { reductionsWithRun } from "../../store/run-views.ts";
import type { SqlDatabase } from "../../store/state-database.ts";
import { canReadExperiment, canReadRun, type Viewer } from "../auth/viewer.ts";
import { formatAge, formatTime } from "../views/format.ts";
import { Layout, type PageFrame, StatusBadge } from "../views/layout.tsx";
import type { WebContext } from "../web-context.ts";
import { instrumentsOfExperiments } from "./instrument-data.ts";
import { runHref } from "./run-lists.tsx";

/**
 * `/experiments/<EXP>`: an experiment's runs on every instrument (latest status, live; how many
 * versions; where the reduced data is), what the catalog says about it (title, PI, dates,
 * proposal) and its members.
 *
 * Who may open it: its members, and whoever reads one of its instruments (canReadExperiment); a
 * reader of one instrument sees that instrument's runs only. The member list is shown to the
 * experiment's members, the scientists of its instruments and administrators — not to anonymous
 * readers of an open instrument.
 */

const RUNS_SHOWN = 1000;

/** A run of the experiment with its latest version. */
interface ExperimentRun {
  instrument: string;
  run_number: number;
  title: string | null;
  status: JobStatus;
  version: number;
  versions: number;
  output_dir: string | null;
  created_at: number;
}

/** The instruments the experiment's runs are on. */
export function instrumentsOfExperiment(database: SqlDatabase, experiment: string): Promise<string[]> {
  return instrumentsOfExperiments(database, [experiment]);
}

/** May this viewer see who belongs to the experiment: members, its instruments' scientists, administrators. */
export function canSeeMembers(v: Viewer, experiment: string, instruments: readonly string[]): boolean {
  return v.admin || v.readAll || v.memberOf.has(experiment) || instruments.some((i) => v.scientistOf.has(i));
}

/** The experiment's runs (by instrument, newest first; at most {@link RUNS_SHOWN}) and how many there are. */
async function experimentRuns(
  database: SqlDatabase,
  experiment: string,
  instruments: readonly string[],
): Promise<{ runs: ExperimentRun[]; total: number }> {
  if (instruments.length === 0) return { runs: [], total: 0 };
  const rows = await reductionsWithRun(database)
    .select((eb) => [
      "instruments.name as instrument",
      "runs.run_number",
      "runs.title",
      "jobs.status",
      "jobs.version",
      "jobs.output_dir",
      "runs.created_at",
      eb
        .selectFrom("jobs as counted")
        .select((c) => c.fn.countAll<number>().as("n"))
        .whereRef("counted.run_id", "=", "runs.id")
        .where("counted.kind", "=", "reduction")
        .as("versions"),
    ])
    .where("experiments.reference", "=", experiment)
    .where("instruments.name", "in", [...instruments])
    .where(({ eb, selectFrom }) =>
      eb(
        "jobs.version",
        "=",
        selectFrom("jobs as latest")
          .select((e) => e.fn.max("latest.version").as("v"))
          .whereRef("latest.run_id", "=", "runs.id"),
      ),
    )
    .orderBy("instruments.name")
    .orderBy("runs.run_number", "desc")
    .limit(RUNS_SHOWN)
    .execute();
  const counted = await database.db
    .selectFrom("runs")
    .innerJoin("experiments", "experiments.id", "runs.experiment_id")
    .innerJoin("instruments", "instruments.id", "runs.instrument_id")
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .where("experiments.reference", "=", experiment)
    .where("instruments.name", "in", [...instruments])
    .executeTakeFirst();
  return {
    runs: rows.map((r) => ({
      instrument: r.instrument,
      run_number: Number(r.run_number),
      title: r.title,
      status: r.status,
      version: Number(r.version),
      versions: Number(r.versions ?? 0),
      output_dir: r.output_dir,
      created_at: Number(r.created_at),
    })),
    total: Number(counted?.n ?? 0),
  };
}

/** Display names of the members who have an account. */
async function displayNames(database: SqlDatabase, usernames: string[]): Promise<Map<string, string | null>> {
  const out = new Map<string, string | null>();
  for (let i = 0; i < usernames.length; i += 500) {
    const rows = await database.db
      .selectFrom("users")
      .select(["username", "display_name"])
      .where("username", "in", usernames.slice(i, i + 500))
      .execute();
    for (const r of rows) out.set(r.username, r.display_name);
  }
  return out;
}

export function registerExperimentPage(app: FastifyInstance, ctx: WebContext): void {
  const catalog = new LocalCatalog(ctx.database);
  app.get("/experiments/:experiment", async (request, reply) => {
    const experiment = (request.params as { experiment: string }).experiment;
    if (experimentProblem(experiment))
      return ctx.notFound(request, reply, `no experiment ${JSON.stringify(experiment)}`);
    const v = request.viewer;
    const instruments = await instrumentsOfExperiment(ctx.database, experiment);
    if (!canReadExperiment(v, experiment, instruments))
      return ctx.deny(request, reply, `the experiment ${experiment}`);
    const [description, memberships] = await Promise.all([
      catalog.describe(experiment),
      catalog.memberships(experiment),
    ]);
    if (instruments.length === 0 && !description && memberships.length === 0 && !v.memberOf.has(experiment))
      return ctx.notFound(
        request,
        reply,
        `no experiment ${experiment}: it has no runs and the catalog does not list it`,
      );
    const readable = instruments.filter((i) => canReadRun(v, { instrument: i, experiment }));
    const { runs, total } = await experimentRuns(ctx.database, experiment, readable);
    const members = canSeeMembers(v, experiment, instruments) ? memberships : null;
    const names = members
      ? await displayNames(
          ctx.database,
          members.map((m) => m.username),
        )
      : new Map();
    return ctx.page(
      reply,
      <ExperimentPage
        frame={await ctx.frame(request)}
        experiment={experiment}
        description={description}
        runs={runs}
        total={total}
        hidden={instruments.filter((i) => !readable.includes(i))}
        members={members}
        names={names}
      />,
    );
  });
}

/** Catalog metadata as facts: the usual ones first, in words, then anything else the export had. */
function MetadataFacts({ description }: { description: ExperimentDescription | null }) {
  const metadata = description?.metadata ?? {};
  const known: Array<[string, string]> = [
    ["pi", "Principal investigator"],
    ["proposal", "Proposal"],
    ["start", "Starts"],
    ["end", "Ends"],
  ];
  const shown = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));
  const rest = Object.entries(metadata).filter(([k]) => !known.some(([key]) => key === k));
  const facts = [
    ...known
      .filter(([key]) => metadata[key] !== undefined && metadata[key] !== null)
      .map(([key, word]) => [word, shown(metadata[key])]),
    ...rest.map(([key, value]) => [key, shown(value)]),
  ];
  if (facts.length === 0) return <p class="muted">The catalog has no details of this experiment.</p>;
  return (
    <dl class="facts">
      {facts.map(([word, value]) => (
        <Fragment key={word}>
          <dt>{word}</dt>
          <dd>{value}</dd>
        </Fragment>
      ))}
    </dl>
  );
}

function ExperimentPage({
  frame,
  experiment,
  description,
  runs,
  total,
  hidden,
  members,
  names,
}: {
  frame: PageFrame;
  experiment: string;
  description: ExperimentDescription | null;
  runs: ExperimentRun[];
  total: number;
  hidden: string[];
  members: Membership[] | null;
  names: Map<string, string | null>;
}) {
  const now = Date.now();
  return (
    <Layout
      frame={frame}
      title={experiment}
      live={`/api/v1/events?experiment=${encodeURIComponent(experiment)}`}
    >
      <h1>{`Experiment ${experiment}`}</h1>
      {description?.title ? <p class="subtitle">{description.title}</p> : null}
      <div class="grid">
        <section class="card" aria-labelledby="about">
          <h2 id="about">About</h2>
          <MetadataFacts description={description} />
        </section>
        {members ? (
          <section class="card" aria-labelledby="members">
            <h2 id="members">{`Members (${members.length})`}</h2>
            {members.length === 0 ? (
              <p class="muted">
                Nobody is listed as a member: only the instruments' scientists see these runs.
              </p>
            ) : (
              <ul class="members">
                {members.map((m) => {
                  const display = names.get(m.username);
                  return (
                    <li key={m.username}>
                      <span class="mono">{m.username}</span>
                      {display ? ` (${display})` : ""}
                      {names.has(m.username) ? "" : <span class="help"> no account yet</span>}
                      {m.source === "local" ? <span class="help"> added by hand</span> : null}
                    </li>
                  );
                })}
              </ul>
            )}
          </section>
        ) : null}
      </div>
      <section aria-labelledby="runs">
        <h2 id="runs">{`Runs (${total})`}</h2>
        {hidden.length > 0 ? (
          <p class="muted">{`Runs on ${hidden.join(", ")} are not shown: you do not read ${hidden.length === 1 ? "that instrument" : "those instruments"}.`}</p>
        ) : null}
        {runs.length === 0 ? (
          <p class="muted">No runs yet: they appear here, with their status, as soon as they are recorded.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Instrument</th>
                <th scope="col">Run</th>
                <th scope="col">Title</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Versions
                </th>
                <th scope="col">Reduced data</th>
                <th scope="col">Recorded</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((r) => (
                <tr
                  key={`${r.instrument}/${r.run_number}`}
                  data-run={`${r.instrument}/${r.run_number}`}
                  data-version={r.version}
                >
                  <td>
                    <a href={`/instruments/${r.instrument}`}>{r.instrument}</a>
                  </td>
                  <td>
                    <a href={runHref(r.instrument, r.run_number)}>{r.run_number}</a>
                  </td>
                  <td>{r.title ?? ""}</td>
                  <td>
                    <StatusBadge status={r.status} />
                  </td>
                  <td class="num">{r.versions}</td>
                  <td class="mono path">{r.output_dir ?? "—"}</td>
                  <td title={formatTime(r.created_at)}>{formatAge(r.created_at, now)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {total > runs.length ? (
          <p class="muted">{`${runs.length} of ${total} runs are shown (by instrument, newest first).`}</p>
        ) : null}
      </section>
    </Layout>
  );
}

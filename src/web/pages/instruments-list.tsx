import type { FastifyInstance } from "fastify";
import { canReadInstrument, type Viewer } from "../auth/viewer.ts";
import { formatAge, formatTime } from "../views/format.ts";
import { Layout, type PageFrame, StatusBadge } from "../views/layout.tsx";
import type { WebContext } from "../web-context.ts";
import {
  experimentsOn,
  type InstrumentSummary,
  instrumentSummaries,
  instrumentsOfExperiments,
  knownInstruments,
} from "./instrument-data.ts";
import { runHref } from "./run-lists.tsx";

/** One line of the list, and whether the viewer sees all of the instrument or only their experiments' runs. */
interface Line {
  summary: InstrumentSummary;
  onlyMine: boolean;
}

/**
 * `/instruments`: every instrument the viewer may read — its readers see all of it; a member of
 * an experiment sees the instruments their experiments' runs are on, counted over those runs
 * only. Someone signed in who may read none gets the page with a note on how to get access;
 * nobody (anonymous, with no instrument open to anonymous reading) gets the sign-in page.
 */
export function registerInstrumentsList(app: FastifyInstance, ctx: WebContext): void {
  app.get("/instruments", async (request, reply) => {
    const v = request.viewer;
    const all = await knownInstruments(ctx.config, ctx.database);
    const full = all.filter((name) => canReadInstrument(v, name));
    const viaExperiments = (await instrumentsOfExperiments(ctx.database, [...v.memberOf])).filter(
      (name) => !full.includes(name),
    );
    if (v.kind === "anonymous" && full.length === 0) return ctx.deny(request, reply, "the instruments");
    const names = [...full, ...viaExperiments].sort();
    const scoped = new Map<string, string[]>();
    for (const name of viaExperiments)
      scoped.set(name, await experimentsOn(ctx.database, name, [...v.memberOf]));
    const summaries = await instrumentSummaries(ctx.config, ctx.database, names, scoped);
    const lines: Line[] = summaries.map((summary) => ({ summary, onlyMine: scoped.has(summary.name) }));
    return ctx.page(reply, <InstrumentsPage frame={await ctx.frame(request)} lines={lines} viewer={v} />);
  });
}

function stateOf(s: InstrumentSummary): { word: string; css: string } {
  if (!s.configured) return { word: "not configured", css: "off" };
  if (s.paused) return { word: "paused", css: "paused" };
  if (!s.hasScript) return { word: "no script", css: "off" };
  return { word: "reducing", css: "on" };
}

function InstrumentsPage({ frame, lines, viewer }: { frame: PageFrame; lines: Line[]; viewer: Viewer }) {
  const now = Date.now();
  return (
    <Layout frame={frame} title="Instruments" live={lines.length > 0 ? "/api/v1/events" : undefined}>
      <h1>Instruments</h1>
      {lines.length === 0 ? (
        <p class="muted">
          {`No instrument to show: you (${viewer.name}) are not a scientist of one, and no experiment of yours has runs yet. `}
          Ask your facility's user office to add you to your experiment, or an administrator to make you a
          scientist of your instrument.
        </p>
      ) : (
        <table class="instruments">
          <thead>
            <tr>
              <th scope="col">Instrument</th>
              <th scope="col">Facility</th>
              <th scope="col">State</th>
              <th scope="col" class="num">
                Runs, last 24 h
              </th>
              <th scope="col" class="num">
                Waiting
              </th>
              <th scope="col" class="num">
                Running
              </th>
              <th scope="col">Last run</th>
            </tr>
          </thead>
          <tbody>
            {lines.map(({ summary: s, onlyMine }) => {
              const state = stateOf(s);
              return (
                <tr key={s.name}>
                  <th scope="row">
                    <a href={`/instruments/${s.name}`}>{s.name}</a>
                    {onlyMine ? <span class="help"> (your experiments' runs)</span> : null}
                  </th>
                  <td>{s.facility}</td>
                  <td>
                    <span class={`state-word state-${state.css}`}>{state.word}</span>
                  </td>
                  <td class="num">{s.recentRuns}</td>
                  <td class="num">{s.queued}</td>
                  <td class="num">{s.running}</td>
                  <td
                    data-run={s.lastRun ? `${s.name}/${s.lastRun.run_number}` : undefined}
                    data-version={s.lastRun?.version}
                  >
                    {s.lastRun ? (
                      <>
                        <a href={runHref(s.name, s.lastRun.run_number)}>{s.lastRun.run_number}</a>{" "}
                        <StatusBadge status={s.lastRun.status} />{" "}
                        <span class="help" title={formatTime(s.lastRun.created_at)}>
                          {formatAge(s.lastRun.created_at, now)}
                        </span>
                      </>
                    ) : (
                      <span class="muted">no runs yet</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </Layout>
  );
}

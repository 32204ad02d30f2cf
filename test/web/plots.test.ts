import assert from "node:assert/strict";
import { mkdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { h } from "preact";
import { render } from "preact-render-to-string";
import { silentLogger } from "../../src/logging/logger.ts";
import { ChangePublisher } from "../../src/service/change-publisher.ts";
import { createToken } from "../../src/store/token-store.ts";
import { PlotPanel, runPlots } from "../../src/web/views/plot-panel.tsx";
import { createTestDatabase } from "../helpers/postgres.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { openWebStack, passwordOf, type Session, type WebStack } from "../helpers/web-stack.ts";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/plots/${name}`, import.meta.url), "utf8");

const SERIES = {
  name: "I(Q)",
  title: "MARI run 1",
  x_title: "Q (1/Å)",
  y_title: "I(Q)",
  series: [{ x: [0.1, 0.2, 0.3], y: [10, 20, 15], e: [1, 2, 1.5], name: "all banks" }],
};

/** The SNS form as `publish_plot` sends it: credentials as fields, the div as the file `file`. */
function snsForm(file: string, fields: Record<string, string> = {}): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append("file", new Blob([file], { type: "application/octet-stream" }), "file");
  return form;
}

describe("plots: publishing, SNS compatibility, reading, plot files", () => {
  let web: WebStack;
  let scientistToken = "";
  let readToken = "";
  const sessions = new Map<string, Session>();
  const session = async (person: string) => {
    const existing = sessions.get(person);
    if (existing) return existing;
    const made = await web.signIn(person);
    sessions.set(person, made);
    return made;
  };
  const bearer = (token: string, init: RequestInit = {}): RequestInit => ({
    ...init,
    headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` },
  });
  const postJson = (path: string, body: unknown, init: RequestInit = {}) =>
    fetch(`${web.url}${path}`, {
      method: "POST",
      ...init,
      headers: { "content-type": "application/json", ...(init.headers as Record<string, string>) },
      body: JSON.stringify(body),
    });
  /** Marks the run's first version completed with these outputs, finished at `finishedAt`. */
  const completeVersion = async (
    instrument: string,
    run: number,
    dir: string,
    files: string[],
    finishedAt: number,
  ) => {
    const row = await web.database.db
      .selectFrom("runs")
      .innerJoin("instruments", "instruments.id", "runs.instrument_id")
      .select("runs.id")
      .where("instruments.name", "=", instrument)
      .where("runs.run_number", "=", run)
      .executeTakeFirstOrThrow();
    await web.database.db
      .updateTable("jobs")
      .set({
        status: "completed",
        output_dir: dir,
        output_files: JSON.stringify(files),
        finished_at: finishedAt,
      })
      .where("run_id", "=", row.id)
      .execute();
  };
  const plotRows = (instrument: string, run: number) =>
    web.database.db
      .selectFrom("plots")
      .selectAll()
      .where("instrument", "=", instrument)
      .where("run_number", "=", run)
      .orderBy("id")
      .execute();

  before(async () => {
    web = await openWebStack({ web: { anonymous_read: ["WISH"] } });
    await web.seedRun({ instrument: "MARI", run: 1, experiment: "IPTS-100" });
    await web.seedRun({ instrument: "MARI", run: 2, experiment: "IPTS-200" });
    await web.seedRun({ instrument: "WISH", run: 3, experiment: "IPTS-300" });
    scientistToken = (
      await createToken(web.database, { name: "mari-script", role: "scientist", instruments: ["MARI"] })
    ).token;
    readToken = (await createToken(web.database, { name: "reader", role: "read" })).token;
  });
  after(() => web.close());

  test("a scientist publishes series JSON: 201 with the id; anyone who reads the run gets it back", async () => {
    const mari = await session("mari");
    const response = await mari.postJson("/api/v1/plots/MARI/1", SERIES);
    assert.equal(response.status, 201, await response.clone().text());
    const stored = (await response.json()) as { id: number; name: string; version: number; url: string };
    assert.equal(stored.name, "I(Q)");
    assert.equal(stored.version, 0, "the run's latest version");
    const member = await session("member");
    const list = (await (await member.get("/api/v1/plots/MARI/1")).json()) as Array<{
      id: number;
      uploaded_by: string;
    }>;
    assert.ok(list.some((p) => p.id === stored.id && p.uploaded_by === "mari"));
    const figure = (await (await member.get(stored.url)).json()) as {
      data: Array<{ x: number[]; error_y: number[]; name: string }>;
      layout: { xaxis: { title: string } };
    };
    assert.deepEqual(figure.data[0]?.x, [0.1, 0.2, 0.3]);
    assert.deepEqual(figure.data[0]?.error_y, [1, 2, 1.5]);
    assert.equal(figure.layout.xaxis.title, "Q (1/Å)");
  });

  test("the data as text: WebMon's columns, as an attachment", async () => {
    const mari = await session("mari");
    const { id } = (await (await mari.postJson("/api/v1/plots/MARI/1", SERIES)).json()) as { id: number };
    const response = await mari.get(`/api/v1/plots/MARI/1/${id}?format=text`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(response.headers.get("content-disposition"), 'attachment; filename="MARI_1_I_Q_.txt"');
    assert.equal(
      await response.text(),
      "# MARI Run 1\n# I(Q) (version 0)\n# title: MARI run 1\n# X: Q (1/Å)\n# Y: I(Q)\n\n# all banks\n# X Y dY\n0.1 10 1\n0.2 20 2\n0.3 15 1.5\n",
    );
    const svg = await mari.get(`/api/v1/plots/MARI/1/${id}?format=svg`);
    assert.match(svg.headers.get("content-type") ?? "", /^image\/svg\+xml/);
    assert.match(await svg.text(), /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"[^>]*data-figure="drawn"/);
  });

  test("Plotly JSON with Python's NaN, and a Plotly div posted as text/html, are accepted", async () => {
    const python =
      '{"data": [{"x": [1, 2, 3], "y": [1, NaN, 3]}], "layout": {"title": {"text": "nan"}}, "name": "py"}';
    const response = await fetch(
      `${web.url}/api/v1/plots/MARI/1`,
      bearer(scientistToken, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: python,
      }),
    );
    assert.equal(response.status, 201, await response.clone().text());
    const { url } = (await response.json()) as { url: string };
    const figure = (await (await fetch(`${web.url}${url}`, bearer(scientistToken))).json()) as {
      data: Array<{ y: unknown[] }>;
    };
    assert.deepEqual(figure.data[0]?.y, [1, null, 3], "a gap is null in JSON");
    const div = await fetch(
      `${web.url}/api/v1/plots/MARI/1`,
      bearer(scientistToken, {
        method: "POST",
        headers: { "content-type": "text/html" },
        body: fixture("plotly6-bdata.html"),
      }),
    );
    assert.equal(div.status, 201, await div.clone().text());
    assert.equal(((await div.json()) as { source: string }).source, "plotly-div");
  });

  test("malformed uploads answer 400 with the reason; a version the run does not have is refused", async () => {
    const send = (body: string, type = "text/html") =>
      fetch(
        `${web.url}/api/v1/plots/MARI/1`,
        bearer(scientistToken, { method: "POST", headers: { "content-type": type }, body }),
      );
    const cases: Array<[Response, RegExp]> = [
      [await send("<div>not a plot</div>"), /no Plotly\.newPlot\( call found/],
      [
        await send('<script>Plotly.newPlot("x", [{"y": [1, 2]</script>'),
        /brackets that do not match|cut off/,
      ],
      [
        await send('<script>Plotly.newPlot("x", [{"type": "pie", "values": [1]}], {})</script>'),
        /^no trace we can draw: trace 1: "pie"/,
      ],
      [await send("{nope", "application/json"), /cut off/],
      [await send('{"series": [{"x": [1], "y": [1, 2]}]}', "application/json"), /y has 2 values and x 1/],
      [
        await send('{"series": [{"x": [1], "y": [1]}], "version": 7}', "application/json"),
        /run 1 of MARI has no version 7/,
      ],
    ];
    for (const [response, reason] of cases) {
      assert.equal(response.status, 400);
      assert.match(((await response.json()) as { error: string }).error, reason);
    }
  });

  test("unknown run: 404 to whoever may publish or read the instrument, 401/403 to others", async () => {
    const mari = await session("mari");
    const wish = await session("wish");
    assert.equal((await mari.postJson("/api/v1/plots/MARI/999", SERIES)).status, 404);
    assert.equal((await wish.postJson("/api/v1/plots/MARI/999", SERIES)).status, 403);
    assert.equal((await postJson("/api/v1/plots/MARI/999", SERIES)).status, 401);
    assert.equal((await mari.get("/api/v1/plots/MARI/999")).status, 404);
    assert.equal((await (await session("outsider")).get("/api/v1/plots/MARI/999")).status, 403);
    assert.equal((await fetch(`${web.url}/api/v1/plots/WISH/999`)).status, 404, "WISH is open to anyone");
  });

  test("who may publish and read: every role", async () => {
    const mari = await session("mari");
    const { id } = (await (await mari.postJson("/api/v1/plots/MARI/1", SERIES)).json()) as { id: number };
    const reads = [
      "/api/v1/plots/MARI/1",
      `/api/v1/plots/MARI/1/${id}`,
      `/api/v1/plots/MARI/1/${id}?format=text`,
      "/plots/MARI/1/update/json/",
    ];
    type Who = {
      who: string;
      publish: number;
      read: number;
      as: (path: string, body?: unknown) => Promise<Response>;
    };
    const viaSession = (s: Session) => (path: string, body?: unknown) =>
      body ? s.postJson(path, body) : s.get(path);
    const viaToken = (token: string) => (path: string, body?: unknown) =>
      body ? postJson(path, body, bearer(token)) : fetch(`${web.url}${path}`, bearer(token));
    const matrix: Who[] = [
      { who: "admin", publish: 201, read: 200, as: viaSession(await session("admin")) },
      { who: "scientist of MARI", publish: 201, read: 200, as: viaSession(mari) },
      { who: "scientist of WISH", publish: 403, read: 403, as: viaSession(await session("wish")) },
      {
        who: "member of the run's experiment",
        publish: 403,
        read: 200,
        as: viaSession(await session("member")),
      },
      { who: "outsider", publish: 403, read: 403, as: viaSession(await session("outsider")) },
      {
        who: "anonymous",
        publish: 401,
        read: 401,
        as: (path, body) => (body ? postJson(path, body) : fetch(`${web.url}${path}`)),
      },
      { who: "admin token", publish: 201, read: 200, as: viaToken(web.adminToken) },
      { who: "scientist token of MARI", publish: 201, read: 200, as: viaToken(scientistToken) },
      { who: "read token", publish: 403, read: 200, as: viaToken(readToken) },
    ];
    for (const row of matrix) {
      assert.equal(
        (await row.as("/api/v1/plots/MARI/1", SERIES)).status,
        row.publish,
        `${row.who} publishes`,
      );
      for (const path of reads)
        assert.equal((await row.as(path)).status, row.read, `${row.who} reads ${path}`);
    }
    // The member's experiment is IPTS-100: run 2 (IPTS-200) is not theirs.
    assert.equal((await (await session("member")).get("/api/v1/plots/MARI/2")).status, 403);
  });

  test("a signed-in publish without the CSRF header is refused", async () => {
    const mari = await session("mari");
    const response = await fetch(`${web.url}/api/v1/plots/MARI/1`, {
      method: "POST",
      headers: { "content-type": "application/json", cookie: mari.cookie },
      body: JSON.stringify(SERIES),
    });
    assert.equal(response.status, 403);
  });

  test("SNS publish_plot's form: username/password or a token; bad credentials 401; unreadable 400", async () => {
    const url = `${web.url}/plots/MARI/1/upload_plot_data/`;
    const div = fixture("plot1d-plotly5.html");
    const good = await fetch(url, {
      method: "POST",
      body: snsForm(div, { username: "mari", password: passwordOf("mari") }),
    });
    assert.equal(good.status, 200, await good.clone().text());
    const stored = (await good.json()) as { id: number; source: string; name: string };
    assert.equal(stored.source, "plotly-div");
    assert.equal(stored.name, "reduction");
    const bad = await fetch(url, {
      method: "POST",
      body: snsForm(div, { username: "mari", password: "wrong" }),
    });
    assert.equal(bad.status, 401);
    assert.equal(
      (await fetch(url, { method: "POST", body: snsForm(div, { username: "nobody", password: "x" }) }))
        .status,
      401,
    );
    assert.equal((await fetch(url, { method: "POST", body: snsForm(div) })).status, 401, "no credentials");
    const token = await fetch(url, bearer(scientistToken, { method: "POST", body: snsForm(div) }));
    assert.equal(token.status, 200);
    const otherInstrument = await fetch(url, {
      method: "POST",
      body: snsForm(div, { username: "wish", password: passwordOf("wish") }),
    });
    assert.equal(otherInstrument.status, 403);
    const unreadable = await fetch(url, {
      method: "POST",
      body: snsForm("<div>hello</div>", { username: "mari", password: passwordOf("mari") }),
    });
    assert.equal(unreadable.status, 400);
    assert.match(((await unreadable.json()) as { error: string }).error, /no Plotly\.newPlot\( call found/);
    const json = await fetch(
      `${web.url}/plots/MARI/1/upload_plot_data`,
      bearer(scientistToken, { method: "POST", body: snsForm(JSON.stringify(SERIES)) }),
    );
    assert.equal(json.status, 200, "JSON in the file field, and the URL without its slash");
    // A browser session is no credential here: the form carries no CSRF token.
    const admin = await session("admin");
    const cookieOnly = await fetch(url, {
      method: "POST",
      headers: { cookie: admin.cookie },
      body: snsForm(div),
    });
    assert.equal(cookieOnly.status, 401);
    // SNS's read of the latest plot: our figure JSON, permission-checked.
    const latest = (await (
      await fetch(`${web.url}/plots/MARI/1/update/json/`, bearer(readToken))
    ).json()) as {
      layout: { title: string };
    };
    assert.equal(latest.layout.title, "MARI run 1", "the JSON upload above is the latest");
  });

  test("SNS form sign-ins are rate limited like the sign-in form", async () => {
    const limited = await openWebStack({ web: { login_attempts: 2 } });
    try {
      await limited.seedRun({ instrument: "MARI", run: 1, experiment: "IPTS-100" });
      const url = `${limited.url}/plots/MARI/1/upload_plot_data/`;
      const attempt = (password: string) =>
        fetch(url, { method: "POST", body: snsForm("<div></div>", { username: "mari", password }) });
      assert.equal((await attempt("wrong-1")).status, 401);
      assert.equal((await attempt("wrong-2")).status, 401);
      const blocked = await attempt(passwordOf("mari"));
      assert.equal(blocked.status, 429);
      assert.match(((await blocked.json()) as { error: string }).error, /too many failed sign-ins for mari/);
    } finally {
      await limited.close();
    }
  });

  test("a div with </script><script> in its data is inert: escaped text on the run's plot panel and in the SVG", async () => {
    const evil = "</script><script>alert(1)</script>";
    const html = `<div id="x"></div><script>Plotly.newPlot("x", ${JSON.stringify([
      { x: [1, 2], y: [1, 2], name: evil },
      { x: [1, 2], y: [2, 1] },
    ])}, ${JSON.stringify({ title: { text: evil } })})</script>`;
    const response = await fetch(`${web.url}/plots/WISH/3/upload_plot_data/`, {
      method: "POST",
      body: snsForm(html, { username: "wish", password: passwordOf("wish") }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    const { id } = (await response.json()) as { id: number };
    const panel = render(
      h(PlotPanel, {
        plots: await runPlots(web.database, web.config.output.root, "WISH", 3),
        instrument: "WISH",
        run: 3,
      }),
    );
    assert.doesNotMatch(panel, /<script/i);
    assert.match(panel, /&lt;\/script>&lt;script>alert\(1\)&lt;\/script>/);
    const svg = await (await fetch(`${web.url}/api/v1/plots/WISH/3/${id}?format=svg`)).text();
    assert.doesNotMatch(svg, /<script/i);
    assert.match(svg, /&lt;\/script>&lt;script>alert\(1\)&lt;\/script>/);
  });

  test("the plot panel: latest wins per name, earlier ones listed with their data", async () => {
    const wish = await session("wish");
    const first = (await (
      await wish.postJson("/api/v1/plots/WISH/3", { ...SERIES, name: "fit", title: "first" })
    ).json()) as { id: number };
    const second = (await (
      await wish.postJson("/api/v1/plots/WISH/3", { ...SERIES, name: "fit", title: "second" })
    ).json()) as { id: number };
    const plots = await runPlots(web.database, web.config.output.root, "WISH", 3);
    const panel = render(h(PlotPanel, { plots, instrument: "WISH", run: 3 }));
    assert.match(panel, new RegExp(`<figure class="plot" id="plot-${second.id}">`));
    assert.doesNotMatch(
      panel,
      new RegExp(`<figure class="plot" id="plot-${first.id}">`),
      "the older one is not drawn large",
    );
    assert.match(panel, /Earlier plots named “fit” \(1\)/);
    assert.match(
      panel,
      new RegExp(`<img src="/api/v1/plots/WISH/3/${first.id}\\?format=svg" loading="lazy"`),
    );
    assert.match(panel, new RegExp(`href="/api/v1/plots/WISH/3/${first.id}\\?format=text"`));
    assert.equal(
      render(h(PlotPanel, { plots: [], instrument: "WISH", run: 3 })).includes("No plots yet"),
      true,
    );
  });

  test("plot files: a completed version's *.plot.json becomes its plot when the run's plots are read", async () => {
    await web.seedRun({ instrument: "MARI", run: 10, experiment: "IPTS-100" });
    const dir = join(web.dir, "output", "MARI", "IPTS-100", "shared", "autoreduce");
    mkdirSync(dir, { recursive: true });
    const good = join(dir, "MARI_10.plot.json");
    const broken = join(dir, "MARI_10_broken.plot.json");
    const linkOut = join(dir, "MARI_10_link.plot.json");
    writeFileSync(good, JSON.stringify({ name: "I(Q)", series: [{ x: [1, 2], y: [3, 4], e: [0.5, 0.5] }] }));
    writeFileSync(broken, "{ this is not json");
    const outside = join(web.dir, "secret.plot.json");
    writeFileSync(outside, JSON.stringify({ series: [{ x: [1], y: [1] }] }));
    symlinkSync(outside, linkOut);
    // Run 9, reduced at the same time in the same shared folder, wrote its own plot file.
    const otherRun = join(dir, "MARI_9.plot.json");
    writeFileSync(otherRun, JSON.stringify({ series: [{ x: [1], y: [9] }] }));
    await completeVersion(
      "MARI",
      10,
      dir,
      [good, broken, linkOut, otherRun, join(dir, "MARI_10_reduced.dat")],
      Date.now(),
    );

    const member = await session("member");
    const list = (await (await member.get("/api/v1/plots/MARI/10")).json()) as Array<{
      id: number;
      name: string;
      source: string;
      uploaded_by: string;
      version: number;
    }>;
    assert.deepEqual(
      list.map((p) => [p.name, p.source, p.uploaded_by, p.version]).sort(),
      [
        ["I(Q)", "plot-file", "MARI_10.plot.json", 0],
        ["MARI_10_broken", "plot-file", "MARI_10_broken.plot.json", 0],
      ],
      "neither the link out of the output folder nor run 9's file is read",
    );
    const brokenPlot = list.find((p) => p.name === "MARI_10_broken");
    const figure = (await (await member.get(`/api/v1/plots/MARI/10/${brokenPlot?.id}`)).json()) as {
      data: unknown[];
      notes: string[];
    };
    assert.deepEqual(figure.data, []);
    assert.match(
      figure.notes[0] ?? "",
      /^MARI_10_broken\.plot\.json could not be read: the upload is cut off/,
    );
    // Read once: reading again adds nothing.
    await member.get("/api/v1/plots/MARI/10");
    assert.equal((await plotRows("MARI", 10)).length, 2);
    const panel = render(
      h(PlotPanel, {
        plots: await runPlots(web.database, web.config.output.root, "MARI", 10),
        instrument: "MARI",
        run: 10,
      }),
    );
    assert.match(panel, /written by the reduction script as MARI_10\.plot\.json/);
    assert.match(panel, /could not be read/);
  });

  test("a plot file in an output folder outside the output root (as a worker's report may claim) is not read", async () => {
    await web.seedRun({ instrument: "MARI", run: 13, experiment: "IPTS-100" });
    const dir = join(web.dir, "not-output", "run13");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "MARI_13.plot.json");
    writeFileSync(file, JSON.stringify({ series: [{ x: [1], y: [1] }] }));
    await completeVersion("MARI", 13, dir, [file], Date.now());
    assert.deepEqual(await runPlots(web.database, web.config.output.root, "MARI", 13), []);
    assert.equal((await plotRows("MARI", 13)).length, 0);
  });

  test("plot files rewritten after their version finished (a later run's) are not taken as its plot", async () => {
    await web.seedRun({ instrument: "MARI", run: 11, experiment: "IPTS-100" });
    const dir = join(web.dir, "output", "run11");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "MARI_11.plot.json");
    writeFileSync(file, JSON.stringify({ series: [{ x: [1], y: [1] }] }));
    const finished = Date.now() - 3_600_000;
    await completeVersion("MARI", 11, dir, [file], finished);
    assert.deepEqual(await runPlots(web.database, web.config.output.root, "MARI", 11), []);
    utimesSync(file, new Date(finished - 1000), new Date(finished - 1000));
    const plots = await runPlots(web.database, web.config.output.root, "MARI", 11);
    assert.equal(plots.length, 1, "written while the version ran: read");
    assert.equal(plots[0]?.created_at, finished - 1000, "dated when the script wrote it");
  });

  test("plot files are read as soon as the version completes (change feed), without a page view", async () => {
    await web.seedRun({ instrument: "MARI", run: 12, experiment: "IPTS-100" });
    const dir = join(web.dir, "output", "run12");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "MARI_12.plot.json");
    writeFileSync(file, JSON.stringify({ series: [{ x: [1, 2], y: [1, 4] }] }));
    await completeVersion("MARI", 12, dir, [file], Date.now());
    const publisher = new ChangePublisher(web.transport, web.config, silentLogger());
    await publisher.publish({
      subject: "job",
      kind: "reduction",
      job_id: "job-12",
      status: "completed",
      previous_status: "running",
      message: null,
      updated_at: Date.now(),
      instrument: "MARI",
      run_number: 12,
      version: 0,
    });
    const rows = await waitFor(async () => {
      const found = await plotRows("MARI", 12);
      return found.length > 0 ? found : null;
    }, "the plot file to be read");
    assert.equal(rows[0]?.source, "plot-file");
    assert.equal(rows[0]?.uploaded_by, "MARI_12.plot.json");
  });
});

test("plots on PostgreSQL: publish, list, read, plot files", async () => {
  const database = await createTestDatabase();
  const web = await openWebStack({}, { databaseUrl: database.url });
  try {
    await web.seedRun({ instrument: "MARI", run: 1, experiment: "IPTS-100" });
    const dir = join(web.config.output.root, "pg-output");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "MARI_1.plot.json");
    writeFileSync(file, JSON.stringify({ series: [{ x: [1, 2], y: [3, 4] }] }));
    await web.database.db
      .updateTable("jobs")
      .set({ output_dir: dir, output_files: JSON.stringify([file]), finished_at: Date.now() })
      .execute();
    const mari = await web.signIn("mari");
    const posted = await mari.postJson("/api/v1/plots/MARI/1", SERIES);
    assert.equal(posted.status, 201, await posted.clone().text());
    const list = (await (await mari.get("/api/v1/plots/MARI/1")).json()) as Array<{
      source: string;
      version: number;
    }>;
    assert.deepEqual(list.map((p) => [p.source, p.version]).sort(), [
      ["plot-file", 0],
      ["series", 0],
    ]);
    const text = await (
      await mari.get(`/api/v1/plots/MARI/1/${(await posted.json()).id}?format=text`)
    ).text();
    assert.match(text, /^# MARI Run 1\n/);
  } finally {
    await web.close();
    await database.drop();
  }
});

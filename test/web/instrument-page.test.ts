import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { recordScriptDefaults, variableSets } from "../../src/store/variable-store.ts";
import { createTestDatabase } from "../helpers/postgres.ts";
import { openWebStack, type Session, type WebStack } from "../helpers/web-stack.ts";

const SCRIPT = "import sys\nprint('reducing <MARI>', sys.argv)  # </pre><script>alert(1)</script>\n";
const VARS = `standard_vars = {"incident energy": 45.0, "bins": 200, "mask file": "mask.xml", "subtract": True, "monitors": [1, 2]}
advanced_vars = {"smoothing": 0.5}
variable_help = {"standard_vars": {"incident energy": "Ei in meV", "bins": "number of energy bins"}, "advanced_vars": {}}
`;

/** An anonymous browser that carries the pre-session CSRF token, so its posts reach the route's own check. */
async function anonymousForm(url: string) {
  const login = await fetch(`${url}/login`);
  const cookie = (login.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await login.text())?.[1] ?? "";
  return (path: string, form: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie },
      body: new URLSearchParams({ ...form, _csrf: csrf }).toString(),
    });
}

describe("instrument pages: /instruments and /instruments/<INST>", () => {
  let web: WebStack;
  const people: Record<string, Session> = {};
  let scriptPath = "";

  before(async () => {
    web = await openWebStack({
      instruments: { MARI: {}, WISH: {}, LET: {} },
      web: { anonymous_read: ["WISH"] },
      rerun_caps: { user: 2, staff: 5, admin: 10 },
    });
    const dir = join(web.config.scripts.root, "MARI");
    mkdirSync(dir, { recursive: true });
    scriptPath = join(dir, "reduce_MARI.py");
    writeFileSync(scriptPath, SCRIPT);
    writeFileSync(join(dir, "reduce_vars.py"), VARS);
    for (let run = 100; run < 130; run++) {
      const failed = run % 10 === 3;
      await web.seedRun({
        instrument: "MARI",
        run,
        experiment: run < 115 ? "IPTS-100" : "IPTS-200",
        status: failed ? "error" : run >= 128 ? "queued" : "completed",
        message: failed ? `ValueError in run ${run}: <script>alert("x")</script>` : "",
        title: `sample ${run}`,
      });
    }
    await web.seedRun({ instrument: "WISH", run: 7, experiment: "IPTS-300", status: "completed" });
    // Completed versions ran for (run − 99) seconds: the chart's points.
    await web.database.db
      .updateTable("jobs")
      .set((eb) => ({
        started_at: eb.ref("created_at"),
        finished_at: eb("created_at", "+", eb(eb.ref("id"), "*", 1000)),
      }))
      .where("status", "=", "completed")
      .execute();
    for (const person of ["admin", "mari", "wish", "member", "outsider"])
      people[person] = await web.signIn(person);
  });
  after(() => web.close());

  const page = async (person: string | null, path: string) => {
    const response = person ? await people[person]?.get(path) : await fetch(`${web.url}${path}`);
    assert.ok(response);
    return { status: response.status, html: await response.text() };
  };

  test("GET /instruments/MARI by role: readers 200, the member a reduced view, others 403, nobody 401", async () => {
    const expected: Array<[string | null, number]> = [
      ["admin", 200],
      ["mari", 200],
      ["member", 200],
      ["wish", 403],
      ["outsider", 403],
      [null, 401],
    ];
    for (const [person, status] of expected) {
      const { status: got, html } = await page(person, "/instruments/MARI");
      assert.equal(got, status, `${person ?? "anonymous"}`);
      if (status === 401) assert.match(html, /Sign in to see the instrument MARI/);
    }
    const token = await fetch(`${web.url}/instruments/MARI`, {
      headers: { authorization: `Bearer ${web.adminToken}` },
    });
    assert.equal(token.status, 200, "an admin token reads it too");
    const full = (await page("mari", "/instruments/MARI")).html;
    const reduced = (await page("member", "/instruments/MARI")).html;
    for (const section of ["Current script", "Variables", "How long reductions take"]) {
      assert.match(full, new RegExp(section));
      assert.doesNotMatch(reduced, new RegExp(section), `the member does not see ${section}`);
    }
    assert.match(reduced, /You see the runs of your experiments on MARI \(IPTS-100\)/);
    assert.match(reduced, /data-run="MARI\/103"/, "their experiment's failure");
    assert.doesNotMatch(reduced, /data-run="MARI\/123"/, "not another experiment's");
    assert.doesNotMatch(reduced, /action="\/instruments\/MARI\/pause"/, "no controls");
  });

  test("controls are for the instrument's scientists and administrators only", async () => {
    const scientist = (await page("mari", "/instruments/MARI")).html;
    const admin = (await page("admin", "/instruments/MARI")).html;
    for (const html of [scientist, admin]) {
      assert.match(html, /action="\/instruments\/MARI\/pause"/);
      assert.match(html, /Add a variable set/);
      assert.match(html, /Re-run a range of runs/);
    }
    const open = await page(null, "/instruments/WISH");
    assert.equal(open.status, 200, "WISH is open to anonymous reading");
    assert.doesNotMatch(open.html, /action="\/instruments\/WISH\/pause"|Add a variable set|Re-run a range/);
    assert.equal((await page("mari", "/instruments/NOPE")).status, 403, "an unknown name is not confirmed");
    assert.equal((await page("admin", "/instruments/NOPE")).status, 404);
    assert.equal((await page("admin", "/instruments/..%2Fetc")).status, 404);
  });

  test("the list shows each viewer the instruments they may read, with counts and the last run", async () => {
    const names = (html: string) =>
      [...html.matchAll(/<a href="\/instruments\/([A-Z]+)">/g)].map((m) => m[1]);
    assert.deepEqual(names((await page("admin", "/instruments")).html), ["LET", "MARI", "WISH"]);
    assert.deepEqual(names((await page("mari", "/instruments")).html), ["MARI", "WISH"]);
    const member = (await page("member", "/instruments")).html;
    assert.deepEqual(names(member), ["MARI", "WISH"]);
    assert.match(member, /MARI<\/a><span class="help"> \(your experiments' runs\)/);
    assert.deepEqual(names((await page(null, "/instruments")).html), ["WISH"], "anonymous: the open one");
    const admin = (await page("admin", "/instruments")).html;
    const mari = /<tr><th scope="row"><a href="\/instruments\/MARI">[\s\S]*?<\/tr>/.exec(admin)?.[0] ?? "";
    assert.match(mari, /reducing/);
    assert.match(
      mari,
      /<td class="num">30<\/td><td class="num">2<\/td><td class="num">0<\/td>/,
      "30 today, 2 waiting",
    );
    assert.match(mari, /data-run="MARI\/129"/);
    const let_ = /<a href="\/instruments\/LET">[\s\S]*?<\/tr>/.exec(admin)?.[0] ?? "";
    assert.match(let_, /no script/);
    assert.match(let_, /no runs yet/);
  });

  test("a signed-in person who may read nothing gets an explanation; nobody gets the sign-in page", async () => {
    const closed = await openWebStack();
    try {
      const outsider = await closed.signIn("outsider");
      const response = await outsider.get("/instruments");
      assert.equal(response.status, 200);
      assert.match(await response.text(), /No instrument to show/);
      assert.equal((await fetch(`${closed.url}/instruments`)).status, 401);
    } finally {
      await closed.close();
    }
  });

  test("queue, running and recent failures: rows carry data-run for live status; messages are inert", async () => {
    const { html } = await page("mari", "/instruments/MARI");
    assert.match(html, /<body data-live="\/api\/v1\/events\?instrument=MARI">/);
    assert.match(html, /<h2 id="queue">Waiting \(2\)<\/h2>/);
    assert.match(html, /<tr data-run="MARI\/128" data-version="0">[\s\S]*?data-status="queued"/);
    assert.match(html, /Nothing is running\./);
    const failures = html.slice(html.indexOf('id="failures"'), html.indexOf('id="durations"'));
    assert.deepEqual(
      [...failures.matchAll(/data-run="MARI\/(\d+)"/g)].map((m) => Number(m[1])),
      [123, 113, 103],
      "newest first",
    );
    assert.match(failures, /ValueError in run 123: &lt;script>alert\(&quot;x&quot;\)&lt;\/script>/);
    assert.doesNotMatch(html, /<script>alert/);
  });

  test("the run-duration chart plots completed versions (run number against seconds)", async () => {
    const { html } = await page("mari", "/instruments/MARI");
    const chart = html.slice(html.indexOf('id="durations"'), html.indexOf('id="script"'));
    assert.match(chart, /over the last 25 completed versions/);
    assert.match(
      chart,
      /<svg[^>]*aria-label="Run time in seconds against run number for the last 25 completed reductions of MARI"/,
    );
    assert.match(chart, /Run number/);
  });

  test("the current script: path, sha256, last change and its text (escaped) in a details element", async () => {
    const { html } = await page("mari", "/instruments/MARI");
    const section = html.slice(html.indexOf('id="script"'), html.indexOf('id="variables"'));
    assert.ok(section.includes(scriptPath));
    assert.ok(section.includes(createHash("sha256").update(SCRIPT).digest("hex")));
    assert.match(section, /Last changed<\/dt><dd>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    assert.match(section, /<details><summary>Script text \(3 lines\)<\/summary><pre>import sys/);
    assert.match(section, /&lt;\/pre>&lt;script>alert\(1\)&lt;\/script>/);
  });

  test("pause and resume: scientists post with CSRF; the state and a notice show; others are refused", async () => {
    const mari = people.mari as Session;
    const paused = await mari.post("/instruments/MARI/pause");
    assert.equal(paused.status, 303);
    assert.equal(paused.headers.get("location"), "/instruments/MARI?notice=paused");
    const row = () =>
      web.database.db
        .selectFrom("instruments")
        .select("paused")
        .where("name", "=", "MARI")
        .executeTakeFirst();
    assert.equal(Number((await row())?.paused), 1);
    const shown = (await page("mari", "/instruments/MARI?notice=paused")).html;
    assert.match(shown, /MARI is paused: new runs are recorded as skipped/);
    assert.match(shown, /<strong>Paused<\/strong>/);
    assert.match(shown, /<button type="submit">Resume<\/button>/);
    assert.equal((await mari.post("/instruments/MARI/resume")).status, 303);
    assert.equal(Number((await row())?.paused), 0);

    for (const person of ["wish", "member", "outsider"])
      assert.equal((await people[person]?.post("/instruments/MARI/pause"))?.status, 403, person);
    const anonymous = await anonymousForm(web.url);
    assert.equal((await anonymous("/instruments/MARI/pause")).status, 401);
    assert.equal(
      (await mari.post("/instruments/MARI/pause", {}, { csrf: false })).status,
      403,
      "no CSRF token",
    );
    assert.equal(Number((await row())?.paused), 0, "none of those paused it");

    const admin = people.admin as Session;
    assert.equal((await admin.post("/instruments/LET/pause")).status, 303, "an instrument without runs yet");
    const let_ = await web.database.db
      .selectFrom("instruments")
      .select("paused")
      .where("name", "=", "LET")
      .executeTakeFirst();
    assert.equal(Number(let_?.paused), 1);
    assert.equal((await admin.post("/instruments/LET/resume")).status, 303);
  });

  test("variables: current and upcoming sets, the script's types and help, what the next run gets", async () => {
    const { html } = await page("mari", "/instruments/MARI");
    const section = html.slice(html.indexOf('id="variables"'));
    assert.match(
      section,
      /The next run \(130, if it is of IPTS-200 like the last\) gets the script's defaults\./,
    );
    assert.match(section, /<th scope="row">incident energy<\/th><td>number<\/td>/);
    assert.match(section, /<th scope="row">bins<\/th><td>whole number<\/td><td><code>200<\/code>/);
    assert.match(section, /Ei in meV/);
    assert.match(section, /None: every run gets the script's defaults/);
  });

  test("the editor shows every refused field next to its message (422) and saves nothing", async () => {
    const mari = people.mari as Session;
    const before = (await variableSets(web.database, "MARI")).length;
    const response = await mari.post("/instruments/MARI/variables", {
      scope: "from_run",
      from_run: "12x",
      "var:bins": "3.5",
      "var:incident energy": "fifty",
      "var:monitors": "1, two",
      "var:mask file": "<b>mask</b>.xml",
    });
    assert.equal(response.status, 422);
    const html = await response.text();
    assert.match(html, /Not saved: 4 fields need fixing/);
    assert.match(html, /id="from_run" name="from_run"[^>]*value="12x"[^>]*aria-invalid="true"/);
    assert.match(
      html,
      /<p class="field-error" id="from_run-error">&quot;12x&quot; is not a run number\.<\/p>/,
    );
    const field = (name: string) => {
      const at = html.indexOf(`name="var:${name}"`);
      return html.slice(at, html.indexOf("</div>", at));
    };
    assert.match(field("bins"), /aria-invalid="true"[^>]*value="3.5"/);
    assert.match(field("bins"), /class="field-error"[^>]*>Expected an integer, got '3.5'\.<\/p>/);
    assert.match(field("incident energy"), /Expected a number, got 'fifty'/);
    assert.match(field("monitors"), /Expected a list of numbers/);
    assert.doesNotMatch(field("mask file"), /field-error/, "text takes anything");
    assert.match(field("mask file"), /value="&lt;b>mask&lt;\/b>.xml"/, "kept as typed, escaped");
    assert.equal((await variableSets(web.database, "MARI")).length, before);

    const experiment = await mari.post("/instruments/MARI/variables", {
      scope: "experiment",
      experiment: "RB1234567",
      "var:bins": "400",
    });
    assert.equal(experiment.status, 422);
    assert.match(
      await experiment.text(),
      /id="experiment-error">&quot;RB1234567&quot; is not an experiment of MARI/,
    );
  });

  test("the editor saves a from-run set (only values that differ from the defaults), then an experiment set", async () => {
    const mari = people.mari as Session;
    const saved = await mari.post("/instruments/MARI/variables", {
      scope: "from_run",
      from_run: "120",
      "var:bins": "400",
      "var:incident energy": "45",
      "var:subtract": "true",
      "var:monitors": "1,2",
      "var:mask file": "mask.xml",
      "var:smoothing": "0.5",
    });
    assert.equal(saved.status, 303);
    const location = saved.headers.get("location") ?? "";
    assert.match(location, /^\/instruments\/MARI\?notice=set-saved&set=\d+&affected=10&rerun=120-129#rerun$/);
    const set = (await variableSets(web.database, "MARI")).at(-1);
    assert.deepEqual(set?.values, { standard_vars: { bins: 400 }, advanced_vars: {} });
    assert.equal(set?.created_by, "mari");
    assert.equal(set?.start_run, 120);

    const { html } = await page("mari", location.replace(/#.*/, ""));
    assert.match(
      html,
      new RegExp(`Variable set #${set?.id} saved\\. 10 existing runs would now get these values`),
    );
    assert.match(html, /id="rerun-runs" name="runs" value="120-129"/, "the re-run form is filled in");
    assert.match(
      html,
      new RegExp(
        `#${set?.id} · runs from 120 on</strong> <span class="tag tag-next">applies to the next run \\(130, IPTS-200\\)`,
      ),
    );
    assert.match(
      html,
      /The next run \(130, if it is of IPTS-200 like the last\) gets the values from run 120 on/,
    );

    const forExperiment = await mari.post("/instruments/MARI/variables", {
      scope: "experiment",
      experiment: "ipts-200",
      "var:smoothing": "0.75",
    });
    assert.equal(forExperiment.status, 303);
    const after = (await page("mari", "/instruments/MARI")).html;
    assert.match(after, /experiment IPTS-200<\/strong> <span class="tag tag-next">/, "wins for the next run");
    assert.match(after, /runs from 120 on<\/strong> <span class="tag tag-past">earlier runs only/);
    assert.match(
      after,
      /<th scope="row">smoothing<span class="help"> \(advanced\)<\/span><\/th>[\s\S]*?class="changed"><code>0.75/,
    );

    const upcoming = await mari.post("/instruments/MARI/variables", {
      scope: "from_run",
      from_run: "500",
      "var:bins": "800",
    });
    assert.equal(upcoming.status, 303);
    assert.match(
      (await page("mari", "/instruments/MARI")).html,
      /runs from 500 on<\/strong> <span class="tag tag-upcoming">upcoming/,
    );
    assert.match((await page("mari", "/instruments/MARI")).html, /runs 120–499/);
  });

  test("a set can be deleted by the instrument's scientists; the script's defaults cannot", async () => {
    const mari = people.mari as Session;
    const made = await mari.post("/instruments/MARI/variables", {
      scope: "from_run",
      from_run: "900",
      "var:bins": "9",
    });
    assert.equal(made.status, 303);
    const id = (await variableSets(web.database, "MARI")).at(-1)?.id;
    assert.equal((await people.wish?.post(`/instruments/MARI/variables/${id}/delete`))?.status, 403);
    assert.equal(
      (await (await anonymousForm(web.url))(`/instruments/MARI/variables/${id}/delete`)).status,
      401,
    );
    const deleted = await mari.post(`/instruments/MARI/variables/${id}/delete`);
    assert.equal(deleted.status, 303);
    assert.equal(deleted.headers.get("location"), `/instruments/MARI?notice=set-deleted&set=${id}#variables`);
    const set = (await variableSets(web.database, "MARI")).find((s) => s.id === id);
    assert.ok(set?.deleted_at, "marked deleted, kept in the history");
    assert.equal(set?.deleted_by, "mari");
    assert.equal((await mari.post(`/instruments/MARI/variables/${id}/delete`)).status, 404, "once");
    const html = (await page("mari", "/instruments/MARI")).html;
    assert.doesNotMatch(html, /runs from 900 on/);
    assert.match(html, /1 deleted set kept in the history/);

    const defaults = await recordScriptDefaults(
      web.database,
      "MARI",
      "SNS",
      { standard_vars: { bins: 200 }, advanced_vars: {} },
      "hash-of-reduce-vars",
    );
    const refused = await mari.post(`/instruments/MARI/variables/${defaults}/delete`);
    assert.equal(refused.status, 422);
    assert.match(await refused.text(), /edit reduce_vars.py to change them/);
  });

  test("editing variables is refused to everyone but the instrument's scientists and administrators", async () => {
    const form = { scope: "from_run", from_run: "140", "var:bins": "5" };
    for (const person of ["wish", "member", "outsider"])
      assert.equal((await people[person]?.post("/instruments/MARI/variables", form))?.status, 403, person);
    assert.equal((await (await anonymousForm(web.url))("/instruments/MARI/variables", form)).status, 401);
    assert.equal((await people.admin?.post("/instruments/MARI/variables", form))?.status, 303);
  });

  test("batch re-run: a preview of what would run and what not, the cap by role, then confirm", async () => {
    const mari = people.mari as Session;
    const preview = await mari.get(
      "/instruments/MARI/rerun?runs=124-128&script=current&description=finer+bins",
    );
    assert.equal(preview.status, 200);
    const html = await preview.text();
    assert.match(
      html,
      /<strong>4 runs will be re-run<\/strong> with the current script file: <span class="mono">124-127<\/span>/,
    );
    assert.match(html, /<td>128<\/td><td>version 0 is still queued<\/td>/);
    assert.match(html, /You may re-run up to 5 runs at once \(the instrument staff's limit\)/);
    assert.match(html, /<input type="hidden" name="runs" value="124-128"\/>/);
    assert.match(html, /<input type="hidden" name="script" value="current"\/>/);
    assert.equal(
      (await web.transport.browse(web.config.queues.reduction_request, 10)).length,
      0,
      "a preview sends nothing",
    );

    const over = await mari.get("/instruments/MARI/rerun?runs=100-105");
    assert.equal(over.status, 422);
    assert.match(await over.text(), /id="rerun-runs-error">'100-105': 6 runs, more than the limit of 5/);
    assert.equal(
      (await (people.admin as Session).get("/instruments/MARI/rerun?runs=100-105")).status,
      200,
      "admins: 10",
    );
    const bad = await mari.get("/instruments/MARI/rerun?runs=12a");
    assert.equal(bad.status, 422);
    assert.match(await bad.text(), /not a run number or a range/);

    const sent = await mari.post("/instruments/MARI/rerun", {
      runs: "124-128",
      script: "current",
      description: "finer bins",
    });
    assert.equal(sent.status, 303);
    assert.equal(sent.headers.get("location"), "/instruments/MARI?notice=rerun-sent&queued=4&left=1");
    const [message] = await web.transport.browse(web.config.queues.reduction_request, 10);
    const request = JSON.parse(message?.body ?? "{}") as Record<string, unknown>;
    assert.deepEqual(request.run_numbers, [124, 125, 126, 127]);
    assert.equal(request.started_by, "mari");
    assert.equal(request.role, "staff");
    assert.equal(request.current_script, true);
    assert.equal(request.description, "finer bins");
    assert.match(
      (await page("mari", "/instruments/MARI?notice=rerun-sent&queued=4&left=1")).html,
      /Re-run sent: 4 runs queued, 1 left out/,
    );
  });

  test("batch re-run is refused to all but the instrument's scientists and administrators", async () => {
    for (const person of ["wish", "member", "outsider"]) {
      assert.equal((await people[person]?.get("/instruments/MARI/rerun?runs=100"))?.status, 403, person);
      assert.equal(
        (await people[person]?.post("/instruments/MARI/rerun", { runs: "100" }))?.status,
        403,
        person,
      );
    }
    assert.equal((await page(null, "/instruments/MARI/rerun?runs=100")).status, 401);
    assert.equal(
      (await (await anonymousForm(web.url))("/instruments/MARI/rerun", { runs: "100" })).status,
      401,
    );
    assert.equal(
      (await page(null, "/instruments/WISH/rerun?runs=7")).status,
      401,
      "reading is not re-running",
    );
  });
});

describe("instrument, experiment and catalog pages on PostgreSQL", () => {
  let web: WebStack;
  let drop: () => Promise<void>;
  before(async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    web = await openWebStack({ rerun_caps: { user: 2, staff: 5, admin: 10 } }, { databaseUrl: database.url });
    const dir = join(web.config.scripts.root, "MARI");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "reduce_MARI.py"), SCRIPT);
    writeFileSync(join(dir, "reduce_vars.py"), VARS);
    for (let run = 1; run <= 6; run++)
      await web.seedRun({
        instrument: "MARI",
        run,
        experiment: "IPTS-100",
        status: run === 2 ? "error" : run === 6 ? "queued" : "completed",
        message: run === 2 ? "failed here" : "",
      });
    await web.database.db
      .updateTable("jobs")
      .set((eb) => ({ started_at: eb.ref("created_at"), finished_at: eb("created_at", "+", 5000) }))
      .where("status", "=", "completed")
      .execute();
  });
  after(async () => {
    await web.close();
    await drop();
  });

  test("every read and form works the same", async () => {
    const admin = await web.signIn("admin");
    const list = await (await admin.get("/instruments")).text();
    assert.match(list, /<td class="num">6<\/td><td class="num">1<\/td><td class="num">0<\/td>/);
    const member = await web.signIn("member");
    assert.match(await (await member.get("/instruments")).text(), /your experiments' runs/);
    assert.match(await (await member.get("/instruments/MARI")).text(), /data-run="MARI\/2"/);
    const html = await (await admin.get("/instruments/MARI")).text();
    assert.match(html, /failed here/);
    assert.match(html, /Median 5\.0 s/);
    assert.match(html, /Add a variable set/);
    const saved = await admin.post("/instruments/MARI/variables", {
      scope: "from_run",
      from_run: "4",
      "var:bins": "300",
    });
    assert.equal(saved.status, 303);
    assert.match(saved.headers.get("location") ?? "", /affected=3&rerun=4-6/);
    assert.equal((await admin.post("/instruments/MARI/pause")).status, 303);
    const preview = await admin.get("/instruments/MARI/rerun?runs=1-6");
    assert.match(await preview.text(), /5 runs will be re-run/);
    const experiment = await (await member.get("/experiments/IPTS-100")).text();
    assert.match(experiment, /<h2 id="runs">Runs \(6\)<\/h2>/);
    const imported = await fetch(`${web.url}/api/v1/catalog/import?replace=1`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${web.adminToken}` },
      body: JSON.stringify([{ experiment: "IPTS-100", title: "On PostgreSQL", members: ["member", "mari"] }]),
    });
    assert.deepEqual(await imported.json(), {
      experiments: 1,
      added: 1,
      removed: 0,
      unchanged: 1,
      withoutAccount: [],
    });
    assert.match(await (await member.get("/experiments/IPTS-100")).text(), /On PostgreSQL/);
  });
});

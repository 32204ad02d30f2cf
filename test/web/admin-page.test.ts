import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { instrumentSettings } from "../../src/config/instrument-settings.ts";
import { Coordinator } from "../../src/coordinator/coordinator.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import { listFailures } from "../../src/store/admin-store.ts";
import { recordHeartbeat } from "../../src/store/heartbeat-store.ts";
import { listJobs } from "../../src/store/job-views.ts";
import { listRuns } from "../../src/store/run-views.ts";
import { listTokens } from "../../src/store/token-store.ts";
import { findUser, userById, userGrants } from "../../src/store/user-store.ts";
import { sendToErrorQueue } from "../../src/transport/error-queue.ts";
import { QueueSampler } from "../../src/web/live/queue-sampler.ts";
import { startWebServer } from "../../src/web/web-server.tsx";
import { createTestDatabase } from "../helpers/postgres.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { openWebStack, PEOPLE, type Session, signIn, type WebStack } from "../helpers/web-stack.ts";

const DLQ = "/queue/DLQ.REDUCTION.DATA_READY";
const WORK = "/queue/REDUCTION.DATA_READY";

/** A browser that is not signed in but holds a pre-session CSRF value, so that its posts reach the route. */
async function anonymousBrowser(url: string) {
  const form = await fetch(`${url}/login`);
  const cookie = (form.headers.getSetCookie()[0] ?? "").split(";")[0] ?? "";
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())?.[1] ?? "";
  return (path: string, body: Record<string, string> = {}) =>
    fetch(`${url}${path}`, {
      method: "POST",
      redirect: "manual",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie },
      body: new URLSearchParams({ ...body, _csrf: csrf }).toString(),
    });
}

const jobRowId = async (web: WebStack, instrument: string, run: number) => {
  const jobs = await listJobs(web.database, { limit: 1000 });
  const job = jobs.find((j) => j.instrument === instrument && j.run_number === run);
  assert.ok(job, `a job of ${instrument} ${run}`);
  return job.id;
};

describe("the admin page", () => {
  let web: WebStack;
  let admin: Session;
  const sessions: Partial<Record<string, Session>> = {};

  before(async () => {
    web = await openWebStack();
    await web.seedRun({
      instrument: "MARI",
      run: 10,
      experiment: "IPTS-100",
      status: "error",
      message: "boom <b>x</b>",
    });
    await web.seedRun({
      instrument: "MARI",
      run: 11,
      experiment: "IPTS-100",
      status: "error",
      message: "MARI 11 failed",
    });
    await web.seedRun({
      instrument: "WISH",
      run: 20,
      experiment: "IPTS-200",
      status: "error",
      message: "WISH 20 failed",
    });
    await web.seedRun({ instrument: "MARI", run: 12, experiment: "IPTS-100", status: "running" });
    await web.seedRun({ instrument: "WISH", run: 21, experiment: "IPTS-200", status: "queued" });
    for (const person of PEOPLE) sessions[person] = await web.signIn(person);
    admin = sessions.admin as Session;
  });
  after(() => web.close());

  const pages = [
    "/admin",
    "/admin/overview",
    "/admin/jobs",
    "/admin/jobs/active",
    "/admin/daemons",
    "/admin/daemons/table",
    "/admin/queues",
    "/admin/messages",
    "/admin/people",
    "/admin/tokens",
    "/admin/site",
  ];
  const actions: Array<[string, Record<string, string>]> = [
    ["/admin/jobs/failures", { action: "hide", job: "1" }],
    ["/admin/messages/reinject", { queue: DLQ, id: "x" }],
    ["/admin/messages/discard", { queue: DLQ, id: "x", confirm: "yes" }],
    ["/admin/people", { username: "made-by-intruder" }],
    ["/admin/people/1/admin", { value: "1" }],
    ["/admin/people/1/disabled", { value: "1" }],
    ["/admin/people/1/instruments", { instrument: "MARI", action: "grant" }],
    ["/admin/tokens", { name: "intruder", role: "admin" }],
    ["/admin/tokens/1/revoke", {}],
    ["/admin/site/banner", { banner: "hacked", action: "save" }],
  ];

  test("every admin page and fragment: admins 200, every other role 403, nobody 401 (the sign-in form)", async () => {
    for (const path of pages) {
      assert.equal((await admin.get(path)).status, 200, `admin ${path}`);
      for (const person of ["mari", "wish", "member", "outsider"]) {
        const response = await sessions[person]?.get(path);
        assert.equal(response?.status, 403, `${person} ${path}`);
        assert.match((await response?.text()) ?? "", /Not allowed/);
      }
      const anonymous = await fetch(`${web.url}${path}`);
      assert.equal(anonymous.status, 401, `anonymous ${path}`);
      assert.match(await anonymous.text(), /<label for="username">Username/);
    }
    for (const person of ["mari", "member", "outsider"])
      assert.equal((await sessions[person]?.get("/admin/messages/message?queue=x&id=y"))?.status, 403);
  });

  test("every admin action: refused 403 to other roles and 401 to nobody, changing nothing", async () => {
    const anonymous = await anonymousBrowser(web.url);
    for (const [path, form] of actions) {
      for (const person of ["mari", "wish", "member", "outsider"]) {
        const response = await sessions[person]?.post(path, form);
        assert.equal(response?.status, 403, `${person} ${path}`);
      }
      assert.equal((await anonymous(path, form)).status, 401, `anonymous ${path}`);
    }
    assert.equal(await findUser(web.database, "made-by-intruder"), null);
    assert.equal(
      (await listTokens(web.database)).some((t) => t.name === "intruder"),
      false,
    );
    assert.equal((await userById(web.database, 1))?.disabled_at, null);
    assert.doesNotMatch(await (await admin.get("/admin/site")).text(), /hacked/);
  });

  test("an admin API token may use the admin pages; a read token may not", async () => {
    const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
    assert.equal((await fetch(`${web.url}/admin/jobs`, bearer(web.adminToken))).status, 200);
    const made = await admin.post("/admin/tokens", { name: "dashboard", role: "read" });
    const read = /<code class="secret">(ar_[A-Za-z0-9_-]+)<\/code>/.exec(await made.text())?.[1] ?? "";
    assert.equal((await fetch(`${web.url}/admin/jobs`, bearer(read))).status, 403);
  });

  test("queued and running jobs of every kind, with their run, age and host, marked for live updates", async () => {
    const html = await (await admin.get("/admin/jobs")).text();
    assert.match(html, /data-live="\/api\/v1\/events\?daemons=1"/);
    assert.match(html, /<script src="\/static\/admin.js"/);
    const active = html.slice(html.indexOf('id="active-jobs"'), html.indexOf('id="failures"'));
    assert.match(
      active,
      /data-run="MARI\/12"[\s\S]*?data-status="running"[\s\S]*?href="\/runs\/MARI\/12\?version=0"/,
    );
    assert.match(active, /data-run="WISH\/21"[\s\S]*?data-status="queued"/);
    assert.doesNotMatch(active, /MARI\/10/, "failures are not active");
    const fragment = await (await admin.get("/admin/jobs/active")).text();
    assert.match(fragment, /^<section id="active-jobs" hx-get="\/admin\/jobs\/active"/);
    assert.doesNotMatch(fragment, /<html/);
  });

  test("failures are listed with their reason (escaped); hidden ones leave the list and can be shown again", async () => {
    const page = await (await admin.get("/admin/jobs")).text();
    assert.match(page, /boom &lt;b>x&lt;\/b>/);
    assert.doesNotMatch(page, /boom <b>/);
    const id = await jobRowId(web, "MARI", 10);
    const hidden = await admin.post("/admin/jobs/failures", { action: "hide", job: String(id) });
    assert.equal(hidden.status, 303);
    assert.equal(hidden.headers.get("location"), "/admin/jobs?done=hidden&n=1");
    const after = await (await admin.get("/admin/jobs?done=hidden&n=1")).text();
    assert.match(after, /1 failure hidden/);
    // The failure's message, not the word anywhere (a random CSRF token may contain "boom").
    assert.doesNotMatch(after, /boom &lt;b>x/);
    const list = await (await admin.get("/admin/jobs?hidden=1")).text();
    assert.match(list, /boom &lt;b>x/);
    assert.match(list, /admin, \d+ s ago/, "who hid it");
    const row = (await listFailures(web.database, { hidden: true })).find((f) => f.id === id);
    assert.equal(row?.hidden_by, "admin");
    assert.equal(
      (await admin.post("/admin/jobs/failures", { action: "unhide", job: String(id) })).status,
      303,
    );
    assert.match(await (await admin.get("/admin/jobs")).text(), /boom/);
    const none = await admin.post("/admin/jobs/failures", { action: "hide" });
    assert.equal(none.status, 422);
    assert.match(await none.text(), /Nothing was selected/);
    assert.equal((await admin.post("/admin/jobs/failures", { action: "explode", job: "1" })).status, 400);
  });

  test("batch re-run of failures: one request per instrument as the admin; new versions replace them in the list", async () => {
    for (const instrument of ["MARI", "WISH"]) {
      const settings = instrumentSettings(web.config, instrument);
      assert.ok(settings);
      mkdirSync(settings.scriptDir, { recursive: true });
      writeFileSync(join(settings.scriptDir, settings.scriptFile), "print('reduce')\n");
    }
    const coordinator = await Coordinator.start({
      config: web.config,
      database: web.database,
      transport: web.transport,
      log: silentLogger(),
    });
    try {
      const ids = [await jobRowId(web, "MARI", 11), await jobRowId(web, "WISH", 20)];
      const form = new URLSearchParams([
        ["action", "rerun"],
        ...ids.map((id) => ["job", String(id)]),
        ["_csrf", admin.csrf],
      ]);
      const response = await fetch(`${web.url}/admin/jobs/failures`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie: admin.cookie },
        body: form.toString(),
      });
      assert.equal(response.status, 200);
      const html = await response.text();
      assert.match(html, /Re-runs requested/);
      assert.match(html, /<th scope="row">MARI<\/th><td><span><a href="\/runs\/MARI\/11">11<\/a>/);
      assert.match(html, /<th scope="row">WISH<\/th><td><span><a href="\/runs\/WISH\/20">20<\/a>/);
      const versions = await waitFor(async () => {
        const runs = await listRuns(web.database, { allVersions: true, limit: 1000 });
        const newer = runs.filter((r) => r.version === 1 && [11, 20].includes(r.run_number));
        return newer.length === 2 ? newer : null;
      }, "the new versions");
      for (const v of versions) assert.equal(v.status, "queued");
      const jobs = await listJobs(web.database, { limit: 1000 });
      const made = jobs.filter((j) => j.version === 1);
      assert.deepEqual(
        made.map((j) => j.started_by),
        ["admin", "admin"],
      );
      const failures = await listFailures(web.database);
      assert.deepEqual(
        failures.map((f) => `${f.instrument} ${f.run_number}`),
        ["MARI 10"],
        "a failure a later version replaced is no longer listed",
      );
    } finally {
      await coordinator.stop();
    }
  });

  test("daemons: host, role, pid, version, heartbeat age and running work; silent ones flagged", async () => {
    const running = (await listJobs(web.database, { status: "running" }))[0];
    assert.ok(running);
    const now = Date.now();
    const beat = {
      role: "postprocessing",
      status: "0",
      kind: "worker",
      version: "9.9.9",
      interval_seconds: 5,
    };
    await recordHeartbeat(
      web.database,
      { ...beat, src_name: "node-ok", pid: "101", running: [running.job_id] },
      now,
    );
    await recordHeartbeat(
      web.database,
      { ...beat, src_name: "node-quiet", pid: "202", running: [] },
      now - 600_000,
    );
    const html = await (await admin.get("/admin/daemons")).text();
    const row = (host: string) =>
      html.slice(html.lastIndexOf("<tr", html.indexOf(host)), html.indexOf("</tr>", html.indexOf(host)));
    const ok = row("node-ok");
    const quiet = row("node-quiet");
    assert.doesNotMatch(ok, /class="flagged"/);
    assert.match(ok, /9\.9\.9/);
    assert.match(ok, />101</);
    assert.match(ok, /worker <span class="muted">\(postprocessing\)/);
    assert.match(ok, /href="\/runs\/MARI\/12\?version=0">MARI 12 v0</);
    assert.match(quiet, /<tr class="flagged"/);
    assert.match(quiet, /dead/);
    assert.match(quiet, /10 min ago/);
    assert.match(html, /1 silent \(flagged\)/);
    const overview = await (await admin.get("/admin")).text();
    assert.match(overview, /worker on node-quiet \(pid 202\): last heard 10 min ago/);
    const fragment = await (await admin.get("/admin/daemons/table")).text();
    assert.match(
      fragment,
      /^<section id="daemons" hx-get="\/admin\/daemons\/table" hx-trigger="refresh, every 10s"/,
    );
  });

  test("dead letters: listed, inspected with body and headers escaped, discarded only after a confirmation", async () => {
    await web.transport.send(DLQ, {
      body: "<script>alert(1)</script>",
      headers: {
        "x-dead-letter-reason": "failed 3 deliveries; last error: <img src=x>",
        "x-original-destination": WORK,
      },
    });
    const list = await (await admin.get("/admin/messages")).text();
    assert.match(list, /\/queue\/DLQ\.REDUCTION\.DATA_READY/);
    assert.match(list, /&lt;script>alert\(1\)&lt;\/script>/);
    assert.doesNotMatch(list, /<script>alert/);
    assert.doesNotMatch(list, /<img src=x>/);
    const [letter] = await web.transport.browse(DLQ, 10);
    assert.ok(letter);
    const query = new URLSearchParams({ queue: DLQ, id: letter.id }).toString();
    const shown = await (await admin.get(`/admin/messages/message?${query}`)).text();
    assert.match(
      shown,
      /x-dead-letter-reason<\/th><td class="mono">failed 3 deliveries; last error: &lt;img src=x>/,
    );
    assert.match(shown, /<pre class="light">&lt;script>alert\(1\)&lt;\/script><\/pre>/);
    assert.doesNotMatch(shown, /<script>alert|<img src=x>/);
    assert.match(shown, /where it came from \(\/queue\/REDUCTION\.DATA_READY\)/);
    const confirm = await (await admin.get(`/admin/messages/discard?${query}`)).text();
    assert.match(confirm, /Discard this message\?/);
    assert.match(confirm, /name="confirm" value="yes"/);
    const unconfirmed = await admin.post("/admin/messages/discard", { queue: DLQ, id: letter.id });
    assert.equal(unconfirmed.status, 200);
    assert.match(await unconfirmed.text(), /Discard this message\?/);
    assert.equal((await web.transport.browse(DLQ, 10)).length, 1, "not removed without the confirmation");
    const discarded = await admin.post("/admin/messages/discard", {
      queue: DLQ,
      id: letter.id,
      confirm: "yes",
    });
    assert.equal(discarded.status, 303);
    assert.equal(discarded.headers.get("location"), "/admin/messages?done=discarded");
    assert.equal((await web.transport.browse(DLQ, 10)).length, 0);
    const again = await admin.post("/admin/messages/discard", { queue: DLQ, id: letter.id, confirm: "yes" });
    assert.equal(again.status, 404);
    assert.match(await again.text(), /someone may have re-injected or discarded it already/);
  });

  test("dead letters: re-inject sends one back to its queue and removes it; a refused message's original goes back", async () => {
    await web.transport.send(DLQ, {
      body: '{"run_number": 7}',
      headers: {
        "x-dead-letter-reason": "failed 3 deliveries",
        "x-original-destination": WORK,
        "x-mine": "kept",
      },
    });
    const [letter] = await web.transport.browse(DLQ, 10);
    assert.ok(letter);
    const before = (await web.transport.browse(WORK, 100)).length;
    const sent = await admin.post("/admin/messages/reinject", { queue: DLQ, id: letter.id, to: "" });
    assert.equal(sent.status, 303);
    assert.equal(sent.headers.get("location"), "/admin/messages?done=reinjected");
    const work = await web.transport.browse(WORK, 100);
    assert.equal(work.length, before + 1);
    const back = work.at(-1);
    assert.equal(back?.body, '{"run_number": 7}');
    assert.equal(back?.headers["x-mine"], "kept");
    assert.equal(back?.headers["x-dead-letter-reason"], undefined);
    assert.equal((await web.transport.browse(DLQ, 10)).length, 0);

    const errors = web.config.queues.postprocess_error;
    await sendToErrorQueue(
      web.transport,
      errors,
      { body: '{"instrument": "X"}', destination: WORK, id: "m-1" },
      "bad",
    );
    const [refused] = await web.transport.browse(errors, 10);
    assert.ok(refused);
    assert.equal(
      (await admin.post("/admin/messages/reinject", { queue: errors, id: refused.id })).status,
      303,
    );
    assert.equal((await web.transport.browse(WORK, 100)).at(-1)?.body, '{"instrument": "X"}');
    assert.equal((await web.transport.browse(errors, 10)).length, 0);

    const workQueue = await admin.post("/admin/messages/reinject", { queue: WORK, id: "anything" });
    assert.equal(workQueue.status, 400, "a work queue is not a dead-letter queue");
    assert.match(await workQueue.text(), /is not a dead-letter queue/);
    await web.transport.send(DLQ, { body: "x" });
    const [other] = await web.transport.browse(DLQ, 10);
    const elsewhere = await admin.post("/admin/messages/reinject", {
      queue: DLQ,
      id: other?.id ?? "",
      to: "/queue/EVIL",
    });
    assert.equal(elsewhere.status, 422);
    assert.match(await elsewhere.text(), /not a queue of this configuration/);
    assert.equal((await web.transport.browse(DLQ, 10)).length, 1, "left where it was");
  });

  test("every re-inject and discard is logged with who did it", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const logged = await startWebServer({
      ...web,
      log: pino({ level: "info" }, sink),
      host: "127.0.0.1",
      port: 0,
    });
    try {
      const session = await signIn(logged.url, "admin", "admin-password-1");
      for (const body of ["one", "two"])
        await web.transport.send(DLQ, { body, headers: { "x-original-destination": WORK } });
      const letters = await web.transport.browse(DLQ, 10);
      const [first, second] = ["one", "two"].map((body) => letters.find((m) => m.body === body));
      assert.ok(first && second);
      assert.equal(
        (await session.post("/admin/messages/reinject", { queue: DLQ, id: first.id })).status,
        303,
      );
      const discard = { queue: DLQ, id: second.id, confirm: "yes" };
      assert.equal((await session.post("/admin/messages/discard", discard)).status, 303);
      const of = (msg: string) => lines.find((l) => l.msg === msg);
      assert.deepEqual(
        [
          of("web: dead letter re-injected")?.by,
          of("web: dead letter re-injected")?.id,
          of("web: dead letter re-injected")?.sent_to,
        ],
        ["admin", first.id, WORK],
      );
      assert.deepEqual(
        [of("web: dead letter discarded")?.by, of("web: dead letter discarded")?.id],
        ["admin", second.id],
      );
    } finally {
      await logged.close();
    }
  });

  test("people: a local account with a password shown once; admin, scientist and disable; no self-lockout", async () => {
    const made = await admin.post("/admin/people", { username: "newcomer", display_name: "New Comer" });
    assert.equal(made.status, 200);
    const html = await made.text();
    const password = /<code class="secret">([A-Za-z0-9_-]{20})<\/code>/.exec(html)?.[1] ?? "";
    assert.ok(password, "the generated password is on the page");
    assert.doesNotMatch(await (await admin.get("/admin/people")).text(), new RegExp(password));
    assert.doesNotMatch(await (await admin.get("/admin/people")).text(), /argon2/, "never a hash");
    const newcomer = await signIn(web.url, "newcomer", password);
    assert.equal((await newcomer.get("/admin")).status, 403);

    const user = await findUser(web.database, "newcomer");
    assert.ok(user);
    const grant = await admin.post(`/admin/people/${user.id}/instruments`, {
      instrument: "mari",
      action: "grant",
    });
    assert.equal(grant.status, 303);
    assert.deepEqual((await userGrants(web.database, user)).scientistOf, ["MARI"]);
    const unknown = await admin.post(`/admin/people/${user.id}/instruments`, {
      instrument: "NOPE",
      action: "grant",
    });
    assert.equal(unknown.status, 422);
    assert.match(await unknown.text(), /no instrument NOPE/);
    assert.equal((await admin.post(`/admin/people/${user.id}/admin`, { value: "1" })).status, 303);
    assert.equal((await newcomer.get("/admin")).status, 200, "an administrator now");
    assert.equal((await admin.post(`/admin/people/${user.id}/admin`, { value: "0" })).status, 303);
    assert.equal((await newcomer.get("/admin")).status, 403);
    assert.equal(
      (await admin.post(`/admin/people/${user.id}/instruments`, { instrument: "MARI", action: "revoke" }))
        .status,
      303,
    );
    assert.deepEqual((await userGrants(web.database, user)).scientistOf, []);
    assert.equal((await admin.post(`/admin/people/${user.id}/disabled`, { value: "1" })).status, 303);
    assert.equal((await newcomer.get("/account")).status, 401, "the session ended");
    await assert.rejects(signIn(web.url, "newcomer", password), /401/);
    assert.equal((await admin.post(`/admin/people/${user.id}/disabled`, { value: "0" })).status, 303);
    await signIn(web.url, "newcomer", password);

    const self = await findUser(web.database, "admin");
    const unadmin = await admin.post(`/admin/people/${self?.id}/admin`, { value: "0" });
    assert.equal(unadmin.status, 422);
    assert.match(await unadmin.text(), /cannot change your own administrator role/);
    assert.equal((await admin.post(`/admin/people/${self?.id}/disabled`, { value: "1" })).status, 422);
    assert.equal((await findUser(web.database, "admin"))?.admin, true);
    const taken = await admin.post("/admin/people", { username: "mari" });
    assert.equal(taken.status, 422);
    assert.match(await taken.text(), /a user named &quot;mari&quot; exists|a user named "mari" exists/);
    assert.equal((await admin.post("/admin/people", { username: "bad name!" })).status, 422);
  });

  test("API tokens: the secret is shown once and works as a bearer token; revoked, it is refused", async () => {
    const made = await admin.post("/admin/tokens", {
      name: "mari-bot",
      role: "scientist",
      instruments: "MARI",
    });
    assert.equal(made.status, 200);
    const token = /<code class="secret">(ar_[A-Za-z0-9_-]+)<\/code>/.exec(await made.text())?.[1] ?? "";
    assert.ok(token);
    const list = await (await admin.get("/admin/tokens")).text();
    assert.doesNotMatch(list, new RegExp(token));
    assert.match(list, /mari-bot[\s\S]*?scientist of MARI/);
    const bearer = { headers: { authorization: `Bearer ${token}` } };
    const runs = (await (await fetch(`${web.url}/api/v1/runs`, bearer)).json()) as Array<{
      instrument: string;
    }>;
    assert.deepEqual([...new Set(runs.map((r) => r.instrument))], ["MARI"]);
    const record = (await listTokens(web.database)).find((t) => t.name === "mari-bot");
    assert.equal(record?.created_by, "admin");
    assert.equal((await admin.post(`/admin/tokens/${record?.id}/revoke`)).status, 303);
    assert.equal((await fetch(`${web.url}/api/v1/runs`, bearer)).status, 401);
    assert.equal((await admin.post(`/admin/tokens/${record?.id}/revoke`)).status, 404, "revoked already");
    const noInstrument = await admin.post("/admin/tokens", { name: "lost", role: "scientist" });
    assert.equal(noInstrument.status, 422);
    assert.match(await noInstrument.text(), /needs its instruments/);
    assert.equal((await admin.post("/admin/tokens", { name: "x", role: "root" })).status, 400);
  });

  test("the site banner appears on every page, escaped, and goes when cleared", async () => {
    const set = await admin.post("/admin/site/banner", {
      banner: "Maintenance <b>Tuesday</b> 08:00",
      action: "save",
    });
    assert.equal(set.status, 303);
    const shown = '<div class="banner" role="status">Maintenance &lt;b>Tuesday&lt;/b> 08:00</div>';
    for (const path of ["/login", "/no-such-page"])
      await waitFor(
        async () => (await (await fetch(`${web.url}${path}`)).text()).includes(shown),
        `the banner on ${path}`,
      );
    await waitFor(
      async () => (await (await admin.get("/account")).text()).includes(shown),
      "the banner on /account",
    );
    assert.match(await (await admin.get("/admin/site")).text(), /set by admin/);
    assert.equal((await admin.post("/admin/site/banner", { banner: "", action: "clear" })).status, 303);
    await waitFor(
      async () => !(await (await fetch(`${web.url}/login`)).text()).includes('class="banner"'),
      "the banner gone",
    );
    const long = await admin.post("/admin/site/banner", { banner: "x".repeat(501), action: "save" });
    assert.equal(long.status, 400);
  });

  test("queue sampler: the web process samples at start; a sample writes every known depth, skips when another process just sampled, prunes after 48 h", async () => {
    const rows = () => web.database.db.selectFrom("queue_depth_samples").selectAll().execute();
    await waitFor(async () => (await rows()).length > 0, "the web process's first sample");
    let now = Date.now() + 3_600_000;
    const sampler = new QueueSampler({ ...web, log: silentLogger(), everyMs: 60_000, now: () => now });
    await web.database.db
      .insertInto("queue_depth_samples")
      .values({ sampled_at: now - 49 * 3_600_000, queue: WORK, depth: 5 })
      .execute();
    const written = await sampler.sample();
    assert.ok(written >= 6, `the work queues and dead-letter queues (${written})`);
    assert.equal(
      (await rows()).filter((r) => Number(r.sampled_at) < now - 48 * 3_600_000).length,
      0,
      "pruned",
    );
    assert.equal(await sampler.sample(), 0, "another sample within half the interval is skipped");
    now += 31_000;
    assert.equal(await sampler.sample(), written);
    const depth = (await rows()).find((r) => r.queue === WORK && Number(r.sampled_at) === now);
    assert.equal(Number(depth?.depth), (await web.transport.browse(WORK, 1000)).length);
    // The samples of the clock an hour ahead would hold off every real sampler of this stack.
    await web.database.db.deleteFrom("queue_depth_samples").where("sampled_at", ">", Date.now()).execute();
  });

  test("the queues page: depth now, and a chart per queue of the last 24 hours", async () => {
    const now = Date.now();
    await web.database.db
      .insertInto("queue_depth_samples")
      .values([1, 2, 3].map((h) => ({ sampled_at: now - h * 3_600_000, queue: WORK, depth: h * 10 })))
      .execute();
    const page = await (await admin.get("/admin/queues")).text();
    assert.match(
      page,
      /<svg[^>]*aria-label="messages waiting in \/queue\/REDUCTION\.DATA_READY over the last 24 hours"/,
    );
    assert.match(
      page,
      /<td class="mono">\/queue\/REDUCTION\.DATA_READY<\/td><td class="num">\d+<\/td><td class="num">30<\/td>/,
    );
  });

  test("a running sampler samples every interval until stopped", async () => {
    const count = async () =>
      Number(
        (
          await web.database.db
            .selectFrom("queue_depth_samples")
            .select((eb) => eb.fn.countAll<number>().as("n"))
            .executeTakeFirstOrThrow()
        ).n,
      );
    const sampler = new QueueSampler({ ...web, log: silentLogger(), everyMs: 50 });
    const start = await count();
    sampler.start();
    try {
      await waitFor(async () => (await count()) >= start + 12, "two more samples");
    } finally {
      await sampler.stop();
    }
  });
});

describe("the admin page on PostgreSQL", () => {
  let web: WebStack;
  let drop: () => Promise<void>;
  before(async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    web = await openWebStack({}, { databaseUrl: database.url });
    await web.seedRun({
      instrument: "MARI",
      run: 1,
      experiment: "IPTS-100",
      status: "error",
      message: "failed",
    });
    await web.seedRun({ instrument: "MARI", run: 2, experiment: "IPTS-100", status: "running" });
  });
  after(async () => {
    await web.close();
    await drop();
  });

  test("every section answers; failures hide; samples, banner and people's counts are read back", async () => {
    const admin = await web.signIn("admin");
    const sampler = new QueueSampler({ ...web, log: silentLogger(), now: () => Date.now() + 3_600_000 });
    assert.ok((await sampler.sample()) >= 6);
    await web.database.db.deleteFrom("queue_depth_samples").where("sampled_at", ">", Date.now()).execute();
    assert.equal(
      (await admin.post("/admin/site/banner", { banner: "on PostgreSQL", action: "save" })).status,
      303,
    );
    for (const path of [
      "/admin",
      "/admin/jobs",
      "/admin/daemons",
      "/admin/queues",
      "/admin/messages",
      "/admin/people",
      "/admin/tokens",
      "/admin/site",
      "/account",
    ])
      assert.equal((await admin.get(path)).status, 200, path);
    const overview = await (await admin.get("/admin")).text();
    assert.match(overview, /<dt>Running<\/dt><dd>1<\/dd>/);
    assert.match(overview, /<a href="\/admin\/jobs#failures">1<\/a>/);
    assert.match(overview, /on PostgreSQL/);
    assert.match(await (await admin.get("/admin/people")).text(), /member of 1 experiment/);
    const id = await jobRowId(web, "MARI", 1);
    assert.equal((await admin.post("/admin/jobs/failures", { action: "hide", job: String(id) })).status, 303);
    assert.deepEqual(await listFailures(web.database), []);
    assert.equal((await listFailures(web.database, { hidden: true }))[0]?.hidden_by, "admin");
  });
});

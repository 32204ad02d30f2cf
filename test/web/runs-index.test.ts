import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { IncomingMessage } from "../../src/transport/transport.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { openWebStack, type Session, type WebStack } from "../helpers/web-stack.ts";

/** The runs a page lists, in order (`data-run` of each row). */
const runsOf = (html: string) => [...html.matchAll(/<tr data-run="([^"]+)"/g)].map((m) => m[1] ?? "");
/** The href of a link with this text. */
const linkTo = (html: string, text: string) => {
  const match = new RegExp(`<a href="([^"]+)">${text}</a>`).exec(html);
  return match ? (match[1] ?? "").replaceAll("&amp;", "&") : null;
};
const XSS_TITLE = `<script>alert("pwned")</script> & <img src=x onerror=alert(1)>`;

describe("runs index: filters, keyset pages, scope by role, bulk re-run", () => {
  let web: WebStack;
  let admin: Session;
  let mari: Session;
  let member: Session;
  let requests: IncomingMessage[];
  const page = async (session: Session | null, path: string) => {
    const response = session ? await session.get(path) : await fetch(`${web.url}${path}`);
    return { status: response.status, html: await response.text() };
  };

  before(async () => {
    web = await openWebStack({
      web: { anonymous_read: ["WISH"] },
      rerun_caps: { user: 3, staff: 10, admin: 500 },
    });
    // MARI 1000–1059 (1000–1002 in the member's experiment; every 7th an error), WISH 2000–2009.
    for (let run = 1000; run < 1060; run++) {
      await web.seedRun({
        instrument: "MARI",
        run,
        experiment: run < 1003 ? "IPTS-100" : "IPTS-300",
        status: run % 7 === 0 ? "error" : "completed",
        title: run === 1005 ? XSS_TITLE : run % 10 === 0 ? `Vanadium calibration ${run}` : `Sample ${run}`,
      });
    }
    for (let run = 2000; run < 2010; run++)
      await web.seedRun({ instrument: "WISH", run, experiment: "IPTS-200", title: `wish sample ${run}` });
    admin = await web.signIn("admin");
    mari = await web.signIn("mari");
    member = await web.signIn("member");
    requests = await web.collect(web.config.queues.reduction_request);
  });
  after(() => web.close());

  test("newest first, 50 a page; older and newer pages cover every run once", async () => {
    const first = await page(admin, "/");
    assert.equal(first.status, 200);
    const firstRuns = runsOf(first.html);
    assert.equal(firstRuns.length, 50);
    assert.deepEqual(firstRuns.slice(0, 3), ["WISH/2009", "WISH/2008", "WISH/2007"]);
    assert.match(first.html, /<h1>Runs<\/h1>/);
    assert.match(first.html, /data-new-runs="1"/, "the first page counts new runs");
    assert.doesNotMatch(first.html, /← Newer/);
    const older = linkTo(first.html, "Older runs →") ?? "";
    assert.ok(older.startsWith("/?after="));
    const second = await page(admin, older);
    const secondRuns = runsOf(second.html);
    assert.equal(secondRuns.length, 20);
    assert.equal(linkTo(second.html, "Older runs →"), null, "the last page");
    assert.doesNotMatch(second.html, /data-new-runs="1"/);
    const all = [...firstRuns, ...secondRuns];
    assert.equal(new Set(all).size, 70, "no run twice, none missing");
    const back = await page(admin, linkTo(second.html, "← Newer") ?? "");
    assert.deepEqual(runsOf(back.html), firstRuns);
  });

  test("each row links its run and experiment, with status badge, version and host columns", async () => {
    const { html } = await page(admin, "/?instrument=MARI&runs=1015");
    assert.deepEqual(runsOf(html), ["MARI/1015"]);
    assert.match(html, /<a href="\/runs\/MARI\/1015">1015<\/a>/);
    assert.match(html, /<a href="\/experiments\/IPTS-300">IPTS-300<\/a>/);
    assert.match(html, /<span class="status status-error" data-status="error">error<\/span>/);
    for (const heading of [
      "Instrument",
      "Run",
      "Experiment",
      "Title",
      "Status",
      "Version",
      "Started",
      "Host",
    ])
      assert.match(html, new RegExp(`<th scope="col"[^>]*>${heading}`));
  });

  test("filters are kept in the URL: instrument + status, experiment, run ranges, title, sort", async () => {
    const errors = runsOf((await page(admin, "/?instrument=MARI&status=error")).html);
    assert.deepEqual(
      errors,
      [1057, 1050, 1043, 1036, 1029, 1022, 1015, 1008, 1001].map((r) => `MARI/${r}`),
    );
    const filtered = await page(admin, "/?instrument=MARI&status=error");
    assert.match(filtered.html, /<option value="MARI" selected>MARI<\/option>/);
    assert.match(filtered.html, /<option value="error" selected>error<\/option>/);
    assert.deepEqual(runsOf((await page(admin, "/?runs=1010-1012,+1020")).html), [
      "MARI/1020",
      "MARI/1012",
      "MARI/1011",
      "MARI/1010",
    ]);
    assert.deepEqual(runsOf((await page(admin, "/?experiment=ipts-100")).html), [
      "MARI/1002",
      "MARI/1001",
      "MARI/1000",
    ]);
    assert.deepEqual(runsOf((await page(admin, "/?title=vanadium&sort=run-asc")).html), [
      "MARI/1000",
      "MARI/1010",
      "MARI/1020",
      "MARI/1030",
      "MARI/1040",
      "MARI/1050",
    ]);
    const ascending = runsOf((await page(admin, "/?sort=run-desc&instrument=WISH")).html);
    assert.equal(ascending[0], "WISH/2009");
    const today = new Date().toISOString().slice(0, 10);
    assert.equal(runsOf((await page(admin, `/?from=${today}&to=${today}`)).html).length, 50);
    assert.equal(runsOf((await page(admin, "/?to=2001-01-01")).html).length, 0);
  });

  test("nothing matching says so and offers to clear the filters", async () => {
    const { status, html } = await page(admin, "/?instrument=MARI&title=no+such+title");
    assert.equal(status, 200);
    assert.match(html, /No runs match these filters — <a href="\/">clear filters<\/a>/);
  });

  test("bad filters are a 400 that says which field and how to write it", async () => {
    const runs = await page(admin, "/?runs=12-ab");
    assert.equal(runs.status, 400);
    assert.match(runs.html, /class="field-error">'12-ab': not a run number or a range/);
    assert.match(
      runs.html,
      /<section id="runs-results"[^>]*><div class="error" role="alert">.*<li>Run numbers: '12-ab'/s,
    );
    const status = await page(admin, "/?status=done&instrument=MARI");
    assert.equal(status.status, 400);
    assert.match(status.html, /<li>Status: one of queued, running/);
    assert.match(
      status.html,
      /<option value="MARI" selected>MARI<\/option>/,
      "what was typed stays in the form",
    );
    assert.equal((await page(admin, "/?from=2026-02-30")).status, 400);
    const cursor = await page(admin, "/?after=not-a-cursor");
    assert.equal(cursor.status, 400);
    assert.match(cursor.html, /start again from the first page/);
  });

  test("a title with markup is shown as text, never run", async () => {
    const { html } = await page(admin, "/?instrument=MARI&runs=1005");
    assert.deepEqual(runsOf(html), ["MARI/1005"]);
    assert.match(
      html,
      /&lt;script>alert\(&quot;pwned&quot;\)&lt;\/script> &amp; &lt;img src=x onerror=alert\(1\)>/,
    );
    assert.doesNotMatch(html, /<script>alert/);
    assert.doesNotMatch(html, /<img src=x/);
  });

  test("each role sees its own runs: scientist, member, outsider, anonymous reader", async () => {
    const listed = async (session: Session | null, path = "/?sort=run-asc") => {
      const first = await page(session, path);
      const next = linkTo(first.html, "Next runs →");
      return [...runsOf(first.html), ...(next ? runsOf((await page(session, next)).html) : [])];
    };
    const wish = Array.from({ length: 10 }, (_, i) => `WISH/${2000 + i}`);
    assert.equal((await listed(mari)).length, 70, "MARI's scientist: MARI, and WISH (open to anyone)");
    assert.deepEqual(await listed(member), ["MARI/1000", "MARI/1001", "MARI/1002", ...wish]);
    assert.deepEqual(await listed(await web.signIn("outsider")), wish);
    assert.deepEqual(await listed(null), wish, "anonymous: the instruments open to anyone");
    assert.deepEqual(await listed(null, "/?instrument=MARI"), []);
    const instruments = (await page(member, "/")).html;
    assert.match(instruments, /<option value="MARI">MARI<\/option>/, "the member's experiment is on MARI");
  });

  test("anonymous without open instruments is asked to sign in (401); the page script is served", async () => {
    const closed = await openWebStack();
    try {
      const response = await fetch(`${closed.url}/`);
      assert.equal(response.status, 401);
      assert.match(await response.text(), /Sign in to see runs/);
      const outsider = await closed.signIn("outsider");
      const { status, html } = await page(outsider, "/");
      assert.equal(status, 200);
      assert.match(html, /You cannot see any runs yet/);
      const script = await fetch(`${closed.url}/static/runs-index.js`);
      assert.equal(script.status, 200);
      assert.match(await script.text(), /new run/);
    } finally {
      await closed.close();
    }
  });

  test("bulk re-run: the button shows for those who may, with an instrument chosen", async () => {
    assert.match((await page(mari, "/?instrument=MARI")).html, /Re-run these runs…/);
    assert.doesNotMatch((await page(mari, "/")).html, /Re-run these runs…/);
    assert.match((await page(mari, "/")).html, /choose an instrument first/);
    assert.doesNotMatch(
      (await page(await web.signIn("wish"), "/?instrument=MARI")).html,
      /Re-run these runs…/,
    );
    assert.match((await page(member, "/?instrument=MARI&experiment=IPTS-100")).html, /Re-run these runs…/);
    assert.doesNotMatch((await page(member, "/?instrument=MARI")).html, /Re-run these runs…/);
    assert.doesNotMatch((await page(null, "/?instrument=WISH")).html, /Re-run/);
  });

  test("bulk re-run: preview lists the runs and the cap; confirming sends one request, then the notice", async () => {
    const preview = await page(mari, "/rerun-preview?instrument=MARI&runs=1010-1014&status=completed");
    assert.equal(preview.status, 200);
    assert.match(preview.html, /<h1>Re-run 5 runs of MARI\?<\/h1>/);
    assert.match(preview.html, /As an instrument scientist you may re-run up to 10 at once/);
    assert.match(preview.html, /1010–1014/);
    assert.match(preview.html, /name="expected" value="5"/);
    assert.match(preview.html, /<label for="rerun-description">/);
    const form = {
      instrument: "MARI",
      runs: "1010-1014",
      status: "completed",
      expected: "5",
      description: "new mask file",
    };
    const submitted = await mari.post("/rerun-selection", form);
    assert.equal(submitted.status, 303);
    assert.equal(
      submitted.headers.get("location"),
      "/?instrument=MARI&status=completed&runs=1010-1014&rerun=5&refused=0",
    );
    const sent = await waitFor(() => requests[0], "the re-run request");
    const body = JSON.parse(sent.body) as Record<string, unknown>;
    assert.deepEqual(body.run_numbers, [1010, 1011, 1012, 1013, 1014]);
    assert.equal(body.instrument, "MARI");
    assert.equal(body.started_by, "mari");
    assert.equal(body.role, "staff");
    assert.equal(body.description, "new mask file");
    const notice = await page(mari, submitted.headers.get("location") ?? "");
    assert.match(notice.html, /Re-run requested for 5 runs/);
  });

  test("bulk re-run: over the cap is refused with the cap and how to narrow the filter", async () => {
    const { status, html } = await page(mari, "/rerun-preview?instrument=MARI");
    assert.equal(status, 422);
    assert.match(
      html,
      /more than 10 runs of MARI\. As an instrument scientist you may re-run at most 10 runs at once/,
    );
    assert.match(html, /Narrow the filters/);
    const posted = await mari.post("/rerun-selection", { instrument: "MARI", expected: "60" });
    assert.equal(posted.status, 422);
    assert.equal((await page(admin, "/rerun-preview?instrument=MARI")).status, 200, "an admin's cap is 500");
  });

  test("bulk re-run: who may, and who is refused (401, 403), CSRF, a changed selection, no instrument", async () => {
    assert.equal((await page(null, "/rerun-preview?instrument=WISH")).status, 401);
    const anonymousPost = await fetch(`${web.url}/rerun-selection`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "instrument=WISH&expected=10",
    });
    assert.ok([401, 403].includes(anonymousPost.status), `anonymous post: ${anonymousPost.status}`);
    assert.equal(
      (await page(await web.signIn("wish"), "/rerun-preview?instrument=MARI&runs=1010")).status,
      403,
    );
    assert.equal((await page(await web.signIn("outsider"), "/rerun-preview?instrument=WISH")).status, 403);
    assert.equal((await page(member, "/rerun-preview?instrument=MARI")).status, 403, "not their experiment");
    const members = await page(member, "/rerun-preview?instrument=MARI&experiment=IPTS-100");
    assert.equal(members.status, 200);
    assert.match(members.html, /As an experimenter you may re-run up to 3 at once/);
    const noCsrf = await mari.post(
      "/rerun-selection",
      { instrument: "MARI", runs: "1020", expected: "1" },
      { csrf: false },
    );
    assert.equal(noCsrf.status, 403);
    const changed = await mari.post("/rerun-selection", {
      instrument: "MARI",
      runs: "1020-1021",
      expected: "1",
    });
    assert.equal(changed.status, 409);
    assert.match(await changed.text(), /changed since you looked/);
    const noInstrument = await page(mari, "/rerun-preview?status=error");
    assert.equal(noInstrument.status, 422);
    assert.match(noInstrument.html, /choose an instrument/);
    const count = requests.length;
    assert.equal((await page(mari, "/rerun-preview?instrument=MARI&runs=zz")).status, 400);
    assert.equal(requests.length, count, "nothing sent by refusals");
  });
});

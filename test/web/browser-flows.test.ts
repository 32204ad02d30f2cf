import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Locator, Page } from "playwright-core";
import { type Config, loadConfig } from "../../src/config/load-config.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import { listRuns } from "../../src/store/run-views.ts";
import { openStateDatabase, type SqlDatabase } from "../../src/store/state-database.ts";
import { addMember, createUser, grantInstrument } from "../../src/store/user-store.ts";
import { variableSets } from "../../src/store/variable-store.ts";
import { openTransport } from "../../src/transport/open-transport.ts";
import type { Transport } from "../../src/transport/transport.ts";
import { hashPassword } from "../../src/web/auth/passwords.ts";
import {
  assertAccessible,
  launchBrowser,
  openPage,
  screenshot,
  signInPage,
  type WatchedPage,
} from "../helpers/browser.ts";
import { type Daemon, type Deployment, makeDeployment, startDaemon } from "../helpers/deployment.ts";
import { TIME_SCALE, waitFor } from "../helpers/wait-for.ts";
import { passwordOf } from "../helpers/web-stack.ts";

/** Waits for an element as long as a reduction may take on a loaded machine. */
const LONG = 60_000 * TIME_SCALE;

/**
 * MARI's reduction script: waits until the gate file of its `bins` value exists (so a test decides
 * when a version may finish), then writes a reduced file and a plot file named for the run.
 */
function reductionScript(gates: string): string {
  return `import json, os, sys, time
import reduce_vars
data, out = sys.argv[1], sys.argv[2]
run = os.path.basename(data).split(".")[0]
bins = reduce_vars.standard_vars["bins"]
gate = os.path.join(${JSON.stringify(gates)}, "bins-%d" % bins)
deadline = time.time() + 300
while not os.path.exists(gate):
    if time.time() > deadline:
        sys.exit("the test never opened " + gate)
    time.sleep(0.05)
print("reducing %s into %d bins" % (data, bins))
qs = [0.05 + i * 0.5 / bins for i in range(bins)]
with open(out + run + "_reduced.dat", "w") as f:
    f.write("".join("%g %g\\n" % (q, 1 / q) for q in qs))
with open(out + run + ".plot.json", "w") as f:
    json.dump({"name": "I(Q)", "title": "%s with %d bins" % (run, bins), "x_title": "Q (1/A)",
               "series": [{"x": qs, "y": [1 / q for q in qs], "name": "%d bins" % bins}]}, f)
print("done")
`;
}

const REDUCE_VARS = `standard_vars = {"bins": 100}
advanced_vars = {}
variable_help = {"standard_vars": {"bins": "Number of Q bins"}, "advanced_vars": {}}
`;

/**
 * The flows of the issue in headless Chromium against a real `autoreduce serve` (coordinator,
 * worker, embedded broker and web app in one process, SQLite): each page met is screenshotted to
 * test-artifacts/screenshots/flow-*.png and checked by axe, and every page is watched for console
 * errors and CSP violations.
 */
describe("browser flows on a running deployment", { timeout: 600_000 }, () => {
  let d: Deployment;
  let serve: Daemon;
  let url = "";
  let config: Config;
  let database: SqlDatabase;
  let transport: Transport;
  let closeTransport: () => Promise<void> = async () => {};
  let browser: Browser;
  let gates = "";
  const opened: WatchedPage[] = [];

  const newPage = async () => {
    const watched = await openPage(browser);
    opened.push(watched);
    return watched;
  };
  /** Resolves when MARI's run's latest version has this status. */
  const runStatus = (run: number, status: string, version = 0) =>
    waitFor(
      async () =>
        (await listRuns(database, { instrument: "MARI", runNumber: run })).find(
          (r) => r.version === version && r.status === status,
        ),
      `MARI ${run} v${version} ${status}`,
      60_000,
      100,
    );
  const openGate = (bins: number) => writeFileSync(join(gates, `bins-${bins}`), "");
  /** The status badge of one version in a run page's versions table. */
  const versionBadge = (page: Page, version: number): Locator =>
    page
      .locator("#versions tbody tr")
      .filter({ has: page.getByRole("link", { name: `v${version}`, exact: true }) })
      .locator("[data-status]");

  before(async () => {
    d = makeDeployment({ instruments: { MARI: {} }, log_level: "warn" });
    gates = join(d.dir, "gates");
    mkdirSync(gates, { recursive: true });
    openGate(100);
    const script = d.writeScript("MARI", reductionScript(gates));
    writeFileSync(join(script, "..", "reduce_vars.py"), REDUCE_VARS);
    serve = startDaemon(["serve", "--config", d.configFile]);
    url =
      (await waitFor(
        () => /web: open (http:\/\/\S+)\/ /.exec(serve.output())?.[1],
        "the web address",
        60_000,
      )) ?? "";
    config = loadConfig(d.configFile);
    // serve has brought the tables up to date by now; this connection only reads and adds people.
    database = await openStateDatabase(config.database.url);
    ({ transport, close: closeTransport } = await openTransport(config, silentLogger(), database));
    await createUser(database, {
      username: "admin",
      provider: "local",
      passwordHash: await hashPassword(passwordOf("admin")),
      admin: true,
      displayName: "Ada Admin",
    });
    await createUser(database, {
      username: "member",
      provider: "local",
      passwordHash: await hashPassword(passwordOf("member")),
      displayName: "Mo Member",
    });
    await addMember(database, "IPTS-100", "member", "catalog");
    await d.writeRun("MARI", 1, "IPTS-100");
    await d.writeRun("MARI", 2, "IPTS-200");
    await runStatus(1, "completed");
    await runStatus(2, "completed");
    browser = await launchBrowser();
  });
  after(async () => {
    for (const w of opened) await w.close();
    await browser?.close();
    await closeTransport();
    await database?.close();
    const code = await serve?.stop();
    d?.cleanup();
    assert.equal(code, 0, `serve exits cleanly on SIGTERM:\n${serve?.output()}`);
  });

  test("an experimenter signs in, opens their run, and is refused another experiment's run", async (t) => {
    const started = performance.now();
    const { page, assertNoProblems } = await newPage();
    await page.goto(`${url}/login`);
    await screenshot(page, "flow-sign-in");
    await assertAccessible(page, "the sign-in page");
    await signInPage(page, url, "member", { next: "/runs/MARI/1" });
    assert.equal(new URL(page.url()).pathname, "/runs/MARI/1");
    await page.getByRole("heading", { level: 1, name: /MARI run 1/ }).waitFor();
    assert.equal(await versionBadge(page, 0).textContent(), "completed");
    await screenshot(page, "flow-run-page");
    await assertAccessible(page, "the run page");

    const refused = await page.goto(`${url}/runs/MARI/2`);
    assert.equal(refused?.status(), 403);
    await page.getByRole("heading", { name: "Not allowed" }).waitFor();
    const said = (await page.locator("main").textContent()) ?? "";
    assert.match(said, /run 2 of MARI/, "the page says what was refused");
    assert.doesNotMatch(said, /IPTS-200|completed/, "and nothing of the run");
    await screenshot(page, "flow-run-403");
    await assertAccessible(page, "the 403 page");
    assertNoProblems();
    t.diagnostic(`flow took ${Math.round(performance.now() - started)} ms`);
  });

  test("a re-run with a changed variable appears and completes on an open page without reloading, with its plot", async (t) => {
    // The watcher: the run's page open before the re-run is even asked for.
    const watcher = await newPage();
    await signInPage(watcher.page, url, "member", { next: "/runs/MARI/1" });
    await watcher.page.locator('[data-live-state="open"]').waitFor();
    await watcher.page.evaluate("window.__sameDocument = true");
    assert.equal(await versionBadge(watcher.page, 1).count(), 0, "no version 1 yet");

    const { page, assertNoProblems } = await newPage();
    await signInPage(page, url, "member", { next: "/runs/MARI/1" });
    await page.getByRole("link", { name: "Re-run with version 0's values…" }).click();
    await page.getByRole("heading", { name: "Re-run MARI run 1" }).waitFor();
    assert.equal(await page.getByLabel("bins").inputValue(), "100");
    await screenshot(page, "flow-rerun-form");
    await assertAccessible(page, "the re-run form");
    await page.getByLabel("bins").fill("250");
    await page.getByLabel("Why (description)").fill("finer Q binning");
    await page.getByRole("button", { name: "Show the difference" }).click();
    await page.getByRole("heading", { name: "Queue version 1 of MARI run 1?" }).waitFor();
    const change = page.locator("table.variables-diff tr.changed");
    assert.deepEqual(
      (await change.locator("th, td").allTextContents()).map((s) => s.trim()),
      ["bins", "100", "250", "changed"],
    );
    await screenshot(page, "flow-rerun-confirm");
    await assertAccessible(page, "the re-run confirmation");

    const queuedAt = performance.now();
    await page.getByRole("button", { name: "Queue version 1" }).click();
    await page.getByRole("status").filter({ hasText: "Version 1 queued." }).waitFor();
    assert.equal(new URL(page.url()).search, "?queued=1");

    // On the watcher's page: version 1 appears (held running at its gate), then completes.
    const v1 = versionBadge(watcher.page, 1);
    await v1.waitFor({ timeout: LONG });
    const appearedAt = performance.now();
    assert.match((await v1.textContent()) ?? "", /^(queued|running)$/, "not finished: its gate is shut");
    await runStatus(1, "running", 1);
    const gateAt = performance.now();
    openGate(250);
    await watcher.page.locator("#versions [data-status='completed']").nth(1).waitFor({ timeout: LONG });
    const completedAt = performance.now();
    assert.equal(await v1.textContent(), "completed");
    assert.equal(
      await watcher.page.locator('h1[data-run="MARI/1"] [data-status]').textContent(),
      "completed",
      "the heading's badge follows the latest version",
    );
    // The new version's plot appears on the open page too.
    await watcher.page
      .locator("#plots")
      .filter({ hasText: /MARI_1 with 250 bins/ })
      .waitFor({ timeout: LONG });
    assert.equal(await watcher.page.evaluate("window.__sameDocument"), true, "the page was not reloaded");
    await screenshot(watcher.page, "flow-rerun-live");
    t.diagnostic(
      `re-run: queued → shown on the open page ${Math.round(appearedAt - queuedAt)} ms; gate opened → completed shown ${Math.round(completedAt - gateAt)} ms`,
    );

    // Its plot, on version 1's page (followed from the versions table).
    await watcher.page.getByRole("link", { name: "v1", exact: true }).click();
    await watcher.page.getByRole("heading", { name: "Version 1 (latest)" }).waitFor();
    const plots = watcher.page.locator("section[aria-labelledby='plots-title']");
    await plots.locator("figure.plot svg").first().waitFor();
    assert.match((await plots.textContent()) ?? "", /MARI_1 with 250 bins/, "the new version's plot");
    await screenshot(watcher.page, "flow-run-page-v1");
    await assertAccessible(watcher.page, "the run page of version 1 with its plot");

    await watcher.page.getByRole("link", { name: "v0 ↔ v1" }).click();
    await watcher.page.getByRole("heading", { name: "MARI run 1: version 0 ↔ version 1" }).waitFor();
    assert.match((await watcher.page.locator("main").textContent()) ?? "", /250/);
    await screenshot(watcher.page, "flow-diff");
    await assertAccessible(watcher.page, "the diff page");
    assertNoProblems();
    watcher.assertNoProblems();
  });

  test("an admin opens every admin tab, and re-injects a dead letter that then does its work", async (t) => {
    const started = performance.now();
    const dlq = "/queue/DLQ.POSTPROCESS.DATA_READY";
    const [run2] = await listRuns(database, { instrument: "MARI", runNumber: 2 });
    assert.ok(run2);
    // A DATA_READY for run 2 that ended in the dead-letter queue: re-injected, it makes version 1.
    await transport.send(dlq, {
      body: JSON.stringify({
        facility: "SNS",
        instrument: "MARI",
        ipts: "IPTS-200",
        run_number: 2,
        data_file: run2.data_file,
        started_by: "submit:operator",
      }),
      headers: {
        "x-original-destination": "/queue/POSTPROCESS.DATA_READY",
        "x-dead-letter-reason": "failed 5 deliveries; last error: database was locked",
      },
    });

    const { page, assertNoProblems } = await newPage();
    await signInPage(page, url, "admin", { next: "/admin" });
    const tabs = page.getByRole("navigation", { name: "Admin sections" });
    for (const [label, name] of [
      ["Overview", "overview"],
      ["Jobs", "jobs"],
      ["Daemons", "daemons"],
      ["Queues", "queues"],
      ["Dead letters", "messages"],
      ["People", "people"],
      ["API tokens", "tokens"],
      ["Site banner", "site"],
    ] as const) {
      await tabs.getByRole("link", { name: label, exact: true }).click();
      await tabs.locator('[aria-current="page"]').filter({ hasText: label }).waitFor();
      await screenshot(page, `flow-admin-${name}`);
      await assertAccessible(page, `the admin tab ${label}`);
    }

    await tabs.getByRole("link", { name: "Dead letters", exact: true }).click();
    const listing = page.locator("section.card").filter({ hasText: dlq });
    await listing.getByRole("link").first().click();
    await page.getByRole("heading", { name: "A dead letter" }).waitFor();
    assert.match((await page.locator("main").textContent()) ?? "", /database was locked/);
    await screenshot(page, "flow-admin-dead-letter");
    await assertAccessible(page, "a dead letter");
    await page.getByRole("button", { name: "Re-inject" }).click();
    await page
      .getByRole("status")
      .filter({ hasText: "The message was sent back to its queue and removed from the dead-letter queue." })
      .waitFor();
    assert.equal(
      await page.locator("section.card").filter({ hasText: dlq }).count(),
      0,
      "gone from the list",
    );
    assert.deepEqual(await transport.browse(dlq, 10), [], "gone from its queue");
    // It arrived where it came from: the coordinator took it and made run 2's version 1.
    await runStatus(2, "completed", 1);
    assertNoProblems();
    t.diagnostic(`flow took ${Math.round(performance.now() - started)} ms`);
  });

  test("a person makes a personal token on their account page; it is shown once and works", async () => {
    const { page, assertNoProblems } = await newPage();
    await signInPage(page, url, "member", { next: "/account" });
    await page.getByRole("heading", { level: 1 }).waitFor();
    await screenshot(page, "flow-account");
    await assertAccessible(page, "the account page");
    await page.getByLabel("Token name").fill("my-notebook");
    await page.getByRole("button", { name: "Make a token" }).click();
    const secret = (await page.locator("code.secret").textContent({ timeout: LONG })) ?? "";
    assert.match(secret, /^ar_/);
    await screenshot(page, "flow-account-token");
    await assertAccessible(page, "the account page showing a new token");
    const asToken = await fetch(`${url}/api/v1/runs/MARI/1`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    assert.equal(asToken.status, 200, "the token reads what the member reads");
    const other = await fetch(`${url}/api/v1/runs/MARI/2`, {
      headers: { authorization: `Bearer ${secret}` },
    });
    assert.equal(other.status, 403, "and nothing more");

    await page.goto(`${url}/account`);
    const again = (await page.locator("main").textContent()) ?? "";
    assert.match(again, /my-notebook/, "listed by name");
    assert.ok(!again.includes(secret), "never shown again");
    assert.ok(!(await page.content()).includes(secret), "not even in the page's markup");
    assertNoProblems();
  });
  test("an experimenter finds their run on the runs index and opens it", async (t) => {
    const started = performance.now();
    const { page, assertNoProblems } = await newPage();
    await signInPage(page, url, "member", { next: "/" });
    await page.getByRole("heading", { level: 1 }).waitFor();
    // The member sees their experiment's run, not the other experiment's.
    await page.locator('[data-run="MARI/1"]').first().waitFor();
    assert.equal(
      await page.locator('[data-run="MARI/2"]').count(),
      0,
      "another experiment's run is not listed",
    );
    await screenshot(page, "flow-runs-index");
    await assertAccessible(page, "the runs index");
    await page.getByLabel("Run numbers").fill("1");
    await page.getByLabel("Experiment").fill("IPTS-100");
    await page.getByRole("button", { name: "Show runs" }).click();
    // The filters are kept in the address (htmx may push it once per field as they are typed).
    await page.waitForURL(
      (u) => u.searchParams.get("runs") === "1" && u.searchParams.get("experiment") === "IPTS-100",
    );
    await screenshot(page, "flow-runs-index-filtered");
    await assertAccessible(page, "the filtered runs index");
    await page.locator('[data-run="MARI/1"]').getByRole("link", { name: "1", exact: true }).first().click();
    await page.waitForURL(/\/runs\/MARI\/1/);
    await page.getByRole("heading", { level: 1, name: /MARI run 1/ }).waitFor();
    assertNoProblems();
    t.diagnostic(`flow took ${Math.round(performance.now() - started)} ms`);
  });

  test('an instrument scientist adds a "from run N" variable set on the instrument page', async (t) => {
    const started = performance.now();
    const scientist = await createUser(database, {
      username: "mari",
      provider: "local",
      passwordHash: await hashPassword(passwordOf("mari")),
      displayName: "Mari Scientist",
    });
    await grantInstrument(database, scientist.id, "MARI", "test");
    const { page, assertNoProblems } = await newPage();
    await signInPage(page, url, "mari", { next: "/instruments/MARI" });
    await page.getByRole("heading", { level: 1, name: /MARI/ }).waitFor();
    await screenshot(page, "flow-instrument-page");
    await assertAccessible(page, "the instrument page");
    // A bad start run is refused next to its field, and nothing is saved.
    await page.locator("#scope-from-run").check();
    await page.getByLabel("First run number").fill("soon");
    await page.getByLabel("bins").fill("300");
    await page.getByRole("button", { name: "Save variable set" }).click();
    await page.locator("#from_run-error").waitFor();
    await screenshot(page, "flow-instrument-editor-error");
    await assertAccessible(page, "the variable editor showing an error");
    const before = (await variableSets(database, "MARI")).filter((v) => v.scope === "from_run");
    assert.equal(before.length, 0, "nothing saved from a refused form");
    await page.getByLabel("First run number").fill("3");
    await page.getByLabel("bins").fill("300");
    await page.getByRole("button", { name: "Save variable set" }).click();
    await page.waitForURL(/notice=set-saved/);
    const sets = (await variableSets(database, "MARI")).filter(
      (v) => v.scope === "from_run" && !v.deleted_at,
    );
    assert.equal(sets.length, 1);
    assert.equal(sets[0]?.start_run, 3);
    assert.equal(sets[0]?.created_by, "mari", "recorded as the signed-in scientist");
    assert.match(JSON.stringify(sets[0]?.values), /300/);
    await screenshot(page, "flow-instrument-set-saved");
    assertNoProblems();
    t.diagnostic(`flow took ${Math.round(performance.now() - started)} ms`);
  });
});

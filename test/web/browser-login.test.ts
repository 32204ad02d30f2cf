import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Browser } from "playwright-core";
import { silentLogger } from "../../src/logging/logger.ts";
import { ChangePublisher } from "../../src/service/change-publisher.ts";
import { listRuns } from "../../src/store/run-views.ts";
import {
  assertAccessible,
  launchBrowser,
  openPage,
  screenshot,
  signInPage,
  type WatchedPage,
} from "../helpers/browser.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { openWebStack, type WebStack } from "../helpers/web-stack.ts";

/**
 * Sign-in, sign-out, the refusal pages and live status updates in headless Chromium, each flow
 * checked for console errors and CSP violations and (for the pages) by axe, on the real run page.
 */
describe("in the browser: sign-in, refusal pages, live updates", { timeout: 180_000 }, () => {
  let web: WebStack;
  let browser: Browser;
  const open: WatchedPage[] = [];
  /** A fresh page (its own cookies) for one flow; closed after the file. */
  const newPage = async () => {
    const watched = await openPage(browser);
    open.push(watched);
    return watched;
  };

  before(async () => {
    web = await openWebStack();
    await web.seedRun({
      instrument: "MARI",
      run: 1,
      experiment: "IPTS-100",
      status: "queued",
      title: "Vanadium",
    });
    browser = await launchBrowser();
  });
  after(async () => {
    for (const w of open) await w.close();
    await browser?.close();
    await web?.close();
  });

  test("the harness catches CSP violations and script errors (so their absence below means something)", async () => {
    const { page, problems } = await newPage();
    // A page served under our own CSP, breaking it twice: an inline script and an inline handler.
    await page.route(`${web.url}/harness-check`, (route) =>
      route.fulfill({
        contentType: "text/html",
        headers: { "content-security-policy": "script-src 'self'" },
        body: `<!doctype html><title>x</title><script>1</script><img src="data:," onerror="2">`,
      }),
    );
    await page.goto(`${web.url}/harness-check`);
    await page.evaluate("setTimeout(() => { throw new Error('thrown by the page') })");
    await waitFor(() => problems.some((p) => p.includes("thrown by the page")), "the page's error reported");
    assert.ok(
      problems.some((p) => p.startsWith("CSP violation: script-src-elem blocked inline")),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => p.startsWith("CSP violation: script-src-attr blocked inline")),
      problems.join("\n"),
    );
    assert.ok(
      problems.some((p) => p === "uncaught exception: thrown by the page"),
      problems.join("\n"),
    );
  });

  test("an admin signs in through the form, sees their name in the header, and signs out", async () => {
    const { page, context, assertNoProblems } = await newPage();
    await page.goto(`${web.url}/login`);
    await screenshot(page, "login");
    const landed = await signInPage(page, web.url, "admin");
    assert.equal(new URL(landed.url()).pathname, "/", "lands on the front page");
    const header = page.locator("header.top");
    await header.getByRole("link", { name: "admin", exact: true }).waitFor();
    assert.equal(await header.getByRole("link", { name: "Admin", exact: true }).count(), 1, "admin's menu");
    await screenshot(page, "signed-in-admin");
    assert.ok((await context.cookies()).some((c) => c.name === "ar_session" && c.httpOnly));

    await header.getByRole("button", { name: "Sign out" }).click();
    await header.getByRole("link", { name: "Sign in" }).waitFor();
    assert.equal(await header.getByRole("link", { name: "admin", exact: true }).count(), 0);
    assert.ok(!(await context.cookies()).some((c) => c.name === "ar_session"), "the session cookie is gone");
    assertNoProblems();
  });

  test("a wrong password shows the form again with a plain message and the name kept", async () => {
    const { page, assertNoProblems } = await newPage();
    const response = await signInPage(page, web.url, "admin", { password: "not-the-password" });
    assert.equal(response.status(), 401);
    assert.equal(
      (await page.getByRole("alert").textContent())?.trim(),
      "Unknown user name or wrong password.",
    );
    assert.equal(await page.getByLabel("Username").inputValue(), "admin");
    assert.equal(await page.getByLabel("Password").inputValue(), "", "the password is never sent back");
    await screenshot(page, "login-refused");
    await assertAccessible(page, "the refused sign-in form");
    assertNoProblems();
  });

  test("axe finds nothing serious on the sign-in page and the 401, 403 and 404 pages", async () => {
    const anonymous = await newPage();
    await anonymous.page.goto(`${web.url}/login`);
    await assertAccessible(anonymous.page, "/login");

    const refused = await anonymous.page.goto(`${web.url}/runs/MARI/1`);
    assert.equal(refused?.status(), 401);
    assert.equal(
      (await anonymous.page.getByRole("alert").textContent())?.trim(),
      "Sign in to see run 1 of MARI.",
    );
    await screenshot(anonymous.page, "page-401");
    await assertAccessible(anonymous.page, "the 401 page (sign-in form)");

    const outsider = await newPage();
    await signInPage(outsider.page, web.url, "outsider");
    const forbidden = await outsider.page.goto(`${web.url}/runs/MARI/1`);
    assert.equal(forbidden?.status(), 403);
    await outsider.page.getByRole("heading", { name: "Not allowed" }).waitFor();
    await screenshot(outsider.page, "page-403");
    await assertAccessible(outsider.page, "the 403 page");

    const missing = await outsider.page.goto(`${web.url}/no/such/page`);
    assert.equal(missing?.status(), 404);
    await outsider.page.getByRole("heading", { name: "Not found" }).waitFor();
    await screenshot(outsider.page, "page-404");
    await assertAccessible(outsider.page, "the 404 page");
    anonymous.assertNoProblems();
    outsider.assertNoProblems();
  });

  test("the 401 page's form signs in and returns to the page asked for", async () => {
    const { page, assertNoProblems } = await newPage();
    await page.goto(`${web.url}/runs/MARI/1`);
    await page.getByLabel("Username").fill("mari");
    await page.getByLabel("Password").fill("mari-password-1");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "MARI run 1" }).waitFor();
    assert.equal(new URL(page.url()).pathname, `/runs/MARI/1`);
    assertNoProblems();
  });

  test("after sign-in the browser stays on this site whatever `next` says", async () => {
    const { page, assertNoProblems } = await newPage();
    await signInPage(page, web.url, "member");
    // Browsers drop tabs and newlines from URLs: `/<TAB>/host` would have become `//host`.
    for (const next of [
      "//example.invalid/x",
      "/\t/example.invalid/x",
      "/\\example.invalid",
      "https://example.invalid",
    ]) {
      await page.goto(`${web.url}/login?next=${encodeURIComponent(next)}`);
      assert.equal(new URL(page.url()).origin, new URL(web.url).origin, `next=${JSON.stringify(next)}`);
    }
    assertNoProblems();
  });

  test("a run's status changes on the open page without reloading (server-sent events)", async () => {
    const { page, assertNoProblems } = await newPage();
    await signInPage(page, web.url, "mari", { next: `/runs/MARI/1` });
    const badge = page.locator('[data-run="MARI/1"] [data-status]');
    assert.equal(await badge.textContent(), "queued");
    await page.locator('[data-live-state="open"]').waitFor();
    assert.equal(await page.locator("[data-live-state]").textContent(), "live updates: on");
    // Marks this document (a reload would lose it) and records the events app.js dispatches.
    await page.evaluate(
      `window.__jobEvents = []; document.addEventListener("autoreduce:job", (e) => window.__jobEvents.push(e.detail))`,
    );

    const [run] = await listRuns(web.database, { instrument: "MARI", runNumber: 1 });
    assert.ok(run);
    await new ChangePublisher(web.transport, web.config, silentLogger()).publish({
      subject: "job",
      kind: "reduction",
      job_id: run.job_id,
      status: "running",
      previous_status: "queued",
      message: null,
      updated_at: Date.now(),
      instrument: "MARI",
      run_number: 1,
      version: run.version,
    });
    await page.locator('[data-run="MARI/1"] [data-status="running"]').waitFor();
    assert.equal(await badge.textContent(), "running");
    assert.equal(await badge.getAttribute("class"), "status status-running");
    const events = (await page.evaluate("window.__jobEvents")) as Array<Record<string, unknown>> | undefined;
    assert.ok(events, "the page was not reloaded");
    assert.deepEqual(
      events.map(({ status, instrument, run_number, experiment }) => ({
        status,
        instrument,
        run_number,
        experiment,
      })),
      [{ status: "running", instrument: "MARI", run_number: 1, experiment: "IPTS-100" }],
      "one autoreduce:job event, with the change and its run's experiment",
    );
    await screenshot(page, "live-run-running");
    assertNoProblems();
  });
});

import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Browser, Page } from "playwright-core";
import { createUser } from "../../src/store/user-store.ts";
import { hashPassword } from "../../src/web/auth/passwords.ts";
import { launchBrowser, openPage, signInPage, type WatchedPage } from "../helpers/browser.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { openWebStack, passwordOf, type Session, type WebStack } from "../helpers/web-stack.ts";

/** The two classic payloads: a script element, and breaking out of an attribute into an element. */
const SCRIPT = "<script>alert(1)</script>";
const BREAKOUT = '"><img src=x onerror=alert(1)>';
/** What each payload shows as, once rendered as text (a JSON view escapes the quote before `>`). */
const SHOWN = [SCRIPT, "><img src=x onerror=alert(1)>"];
/** A payload marked with where it was put, so a page is seen to show that very text. */
const evil = (where: string) => `${where} ${SCRIPT} ${BREAKOUT}`;

const DLQ = "/queue/DLQ.REDUCTION.DATA_READY";
const XSS_PERSON = "xss-person";

/**
 * What is wrong with a page's HTML, if the payloads are not inert: a script element or an element
 * with an event handler made from them, or none of them shown (escaped) at all.
 */
function htmlProblems(html: string): string[] {
  const problems: string[] = [];
  if (html.includes(SCRIPT)) problems.push("the <script> payload is in the HTML as an element");
  if (/<img\s+src=x/i.test(html)) problems.push("the <img> payload is in the HTML as an element");
  if (/<[^>]*\sonerror=/i.test(html)) problems.push("an element has an onerror attribute");
  if (!/&lt;script(>|&gt;)alert\(1\)&lt;\/script(>|&gt;)/.test(html))
    problems.push("the <script> payload is not shown escaped");
  if (!/&lt;img src=x onerror=alert\(1\)(>|&gt;)/.test(html))
    problems.push("the <img> payload is not shown escaped");
  return problems;
}

/**
 * Checks the page as Chromium built it: no element made from a payload, the payloads shown as
 * text (or as a form field's value) with their marker, and (by the caller, at the end) no dialog
 * and no CSP violation.
 */
async function assertInertInBrowser(page: Page, what: string, marker: string): Promise<void> {
  const found = (await page.evaluate(`(() => {
    const values = [...document.querySelectorAll("input, textarea")].map((e) => e.value);
    return {
      injected: document.querySelectorAll('img[src="x"], [onerror], script:not([src])').length,
      text: [document.documentElement.textContent, ...values].join("\\n"),
    };
  })()`)) as { injected: number; text: string };
  assert.equal(found.injected, 0, `${what}: an element was made from a payload`);
  for (const shown of SHOWN) {
    const wanted = marker ? `${marker} ${SCRIPT}` : shown;
    assert.ok(found.text.includes(wanted), `${what}: "${wanted}" is not shown as text`);
    assert.ok(found.text.includes(shown), `${what}: "${shown}" is not shown as text`);
  }
}

describe("hostile text is shown as text, never run (pages and Chromium)", { timeout: 180_000 }, () => {
  let web: WebStack;
  let browser: Browser;
  let admin: Session;
  let plotId = 0;
  let letterQuery = "";
  const opened: WatchedPage[] = [];
  /** Dialogs any page opened (an alert would be a payload running). */
  const dialogs: string[] = [];

  /** A page of a person, collecting dialogs, console errors and CSP violations. */
  const browse = async (person: string | null) => {
    const watched = await openPage(browser);
    opened.push(watched);
    watched.page.on("dialog", (dialog) => {
      dialogs.push(`${dialog.type()}: ${dialog.message()} at ${watched.page.url()}`);
      void dialog.dismiss();
    });
    if (person) await signInPage(watched.page, web.url, person);
    return watched;
  };

  /** The HTML of a page as `session` gets it, checked for inertness. */
  const checkHtml = async (session: Session | null, path: string) => {
    const response = session ? await session.get(path) : await fetch(`${web.url}${path}`);
    assert.equal(response.status, 200, path);
    assert.deepEqual(htmlProblems(await response.text()), [], path);
  };

  before(async () => {
    web = await openWebStack();
    admin = await web.signIn("admin");
    const banner = await admin.post("/admin/site/banner", { action: "save", banner: evil("banner") });
    assert.equal(banner.status, 303);
    const output = join(web.config.output.root, "MARI", "IPTS-100", "7");
    mkdirSync(output, { recursive: true });
    for (let v = 0; v < 2; v++)
      await web.seedRun({
        instrument: "MARI",
        run: 7,
        experiment: "IPTS-100",
        title: evil("run title"),
        outputDir: output,
        status: v === 0 ? "completed" : "error",
      });
    writeFileSync(join(output, "v1.log"), `reducing MARI 7\n${evil("log line")}\ndone\n`);
    const variables = (note: string) =>
      JSON.stringify({
        standard_vars: { bins: 100, note },
        advanced_vars: {},
        types: { standard_vars: { bins: "integer", note: "text" }, advanced_vars: {} },
      });
    await web.setVersion("MARI", 7, 0, {
      script_text: "print('reduced')\n",
      variables: variables("plain"),
    });
    await web.setVersion("MARI", 7, 1, {
      script_text: `print('reduced')\n# ${evil("script")}\n`,
      variables: variables(evil("variable")),
      message: `failed: ${evil("message")}`,
      description: evil("description"),
      reason: "rerun",
      started_by: "member",
      log_file: join(output, "v1.log"),
    });
    await web.database.db
      .updateTable("experiments")
      .set({ title: evil("experiment title") })
      .where("reference", "=", "IPTS-100")
      .execute();
    // MARI 8 runs: its log is followed live, over server-sent events.
    await web.seedRun({
      instrument: "MARI",
      run: 8,
      experiment: "IPTS-100",
      status: "running",
      outputDir: output,
    });
    writeFileSync(join(output, "v8.log"), "started\n");
    await web.setVersion("MARI", 8, 0, { log_file: join(output, "v8.log") });
    const scripts = join(web.config.scripts.root, "MARI");
    mkdirSync(scripts, { recursive: true });
    writeFileSync(join(scripts, "reduce_MARI.py"), "print('reduced')\n");
    writeFileSync(
      join(scripts, "reduce_vars.py"),
      "standard_vars = {'bins': 100, 'note': ''}\nadvanced_vars = {}\n",
    );

    const published = await fetch(`${web.url}/api/v1/plots/MARI/7`, {
      method: "POST",
      headers: { authorization: `Bearer ${web.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: evil("plot name"),
        title: evil("plot title"),
        // Two traces, so the legend names each (clipped to 32 characters: one payload each).
        series: [
          { x: [1, 2, 3], y: [1, 4, 9], name: SCRIPT },
          { x: [1, 2, 3], y: [2, 3, 4], name: BREAKOUT },
        ],
      }),
    });
    assert.equal(published.status, 201, await published.clone().text());
    plotId = ((await published.json()) as { id: number }).id;

    await web.transport.send(DLQ, {
      body: `${SCRIPT} ${BREAKOUT}`,
      headers: {
        "x-original-destination": "/queue/REDUCTION.DATA_READY",
        "x-dead-letter-reason": evil("reason"),
      },
    });
    const [letter] = await web.transport.browse(DLQ, 10);
    assert.ok(letter);
    letterQuery = new URLSearchParams({ queue: DLQ, id: letter.id }).toString();

    await createUser(web.database, {
      username: XSS_PERSON,
      provider: "local",
      passwordHash: await hashPassword(passwordOf(XSS_PERSON)),
      displayName: evil("display name"),
    });
    browser = await launchBrowser();
    // Pages read the banner at most every few seconds: wait until they show it.
    await waitFor(
      async () => (await (await fetch(`${web.url}/login`)).text()).includes("banner &lt;script>"),
      "the banner on the pages",
      15_000,
    );
  });
  after(async () => {
    for (const w of opened) await w.close();
    await browser?.close();
    await web?.close();
  });

  test("the HTML of every page holding such text escapes it", async () => {
    for (const path of [
      "/runs/MARI/7",
      "/runs/MARI/7?version=1",
      "/runs/MARI/7/fragment/versions?version=1",
      "/runs/MARI/7/diff?a=0&b=1",
      "/runs/MARI/7/rerun?version=1",
      "/admin",
      "/admin/jobs",
      "/admin/messages",
      `/admin/messages/message?${letterQuery}`,
      `/admin/messages/discard?${letterQuery}`,
      "/admin/people",
      "/admin/site",
    ])
      await checkHtml(admin, path);
    await checkHtml(null, "/login");
    await checkHtml(await web.signIn(XSS_PERSON), "/account");
    const preview = await admin.post("/runs/MARI/7/rerun", {
      version: "1",
      step: "preview",
      "var.note": evil("typed value"),
      description: evil("typed description"),
    });
    assert.equal(preview.status, 200);
    const confirm = await preview.text();
    assert.deepEqual(htmlProblems(confirm), [], "the re-run confirmation");
    assert.match(confirm, /typed value &lt;script>/, "the typed value is shown");
  });

  test("a plot's picture (SVG, also opened on its own) escapes trace names and titles", async () => {
    const svg = await admin.get(`/api/v1/plots/MARI/7/${plotId}?format=svg`);
    assert.equal(svg.status, 200);
    assert.match(svg.headers.get("content-type") ?? "", /^image\/svg\+xml/);
    const text = await svg.text();
    assert.ok(!text.includes("<script"), "no script element in the SVG");
    assert.ok(!/<[^>]*\son[a-z]+=/i.test(text), "no event handler attribute in the SVG");
    assert.match(text, /&lt;script(>|&gt;)alert\(1\)&lt;\/script(>|&gt;)/, "the trace name is in the legend");
  });

  test("in Chromium: run page, diff, re-run form and confirmation, admin pages, account, sign-in", async () => {
    const { page, assertNoProblems } = await browse("admin");
    const visit = async (path: string, marks: string[]) => {
      const response = await page.goto(`${web.url}${path}`);
      assert.equal(response?.status(), 200, path);
      for (const mark of marks) await assertInertInBrowser(page, path, mark);
    };
    await visit("/runs/MARI/7?version=1", [
      "run title",
      "experiment title",
      "variable",
      "script",
      "log line",
      "message",
      "description",
      "plot name",
      "banner",
    ]);
    // The legend's names are in the page's drawing.
    await assertInertInBrowser(page, "the plot's legend", "");
    await visit("/runs/MARI/7/diff?a=0&b=1", ["script", "variable"]);
    await visit("/runs/MARI/7/rerun?version=1", ["variable"]);
    await page.getByLabel("Why (description)").fill(evil("typed description"));
    await page.getByRole("button", { name: "Show the difference" }).click();
    await page.getByRole("heading", { name: /^Queue version 2 of MARI run 7\?$/ }).waitFor();
    await assertInertInBrowser(page, "the re-run confirmation", "typed description");
    await visit("/admin/jobs", ["message"]);
    await visit("/admin/messages", [""]);
    await visit(`/admin/messages/message?${letterQuery}`, ["reason"]);
    await visit("/admin/people", ["display name"]);
    // An SVG opened on its own has no <link rel="icon">: Chromium asks for /favicon.ico, which the
    // app does not serve. Answered here, so that the page's own problems stay visible.
    await page.route(`${web.url}/favicon.ico`, (route) => route.fulfill({ status: 204 }));
    await visit(`/api/v1/plots/MARI/7/${plotId}?format=svg`, []);
    await assertInertInBrowser(page, "the SVG opened on its own", "");

    const person = await browse(XSS_PERSON);
    await person.page.goto(`${web.url}/account`);
    await assertInertInBrowser(person.page, "/account", "display name");
    const anonymous = await browse(null);
    await anonymous.page.goto(`${web.url}/login`);
    await assertInertInBrowser(anonymous.page, "/login", "banner");

    assert.deepEqual(dialogs, [], "no dialog opened");
    assertNoProblems();
    person.assertNoProblems();
    anonymous.assertNoProblems();
  });

  test("in Chromium: a log line arriving live is added as text", async () => {
    const { page, assertNoProblems } = await browse("admin");
    await page.goto(`${web.url}/runs/MARI/8`);
    const log = page.locator("pre[data-log-stream]").first();
    await log.waitFor();
    await waitFor(async () => (await log.textContent())?.includes("started"), "the log so far");
    appendFileSync(join(web.config.output.root, "MARI", "IPTS-100", "7", "v8.log"), `${evil("live line")}\n`);
    await waitFor(async () => (await log.textContent())?.includes("live line"), "the new line, live", 20_000);
    await assertInertInBrowser(page, "the live log", "live line");
    assert.deepEqual(dialogs, [], "no dialog opened");
    assertNoProblems();
  });
});

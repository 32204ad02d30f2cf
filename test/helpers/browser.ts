import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page, type Response } from "playwright-core";
import { CHROMIUM_ENV, findChromium } from "../../scripts/services/chromium.ts";
import { passwordOf } from "./web-stack.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
/** Where `screenshot` saves its PNGs (kept out of git; CI keeps them as artifacts). */
export const SCREENSHOT_DIR = join(ROOT, "test-artifacts", "screenshots");

/**
 * Headless Chromium, one per test file: the browser `services start` found or installed
 * (AUTOREDUCE_TEST_CHROMIUM), else `chromium` on PATH. No browser is a failure, never a skip.
 * `--no-sandbox`: the tests run as root, where Chromium's sandbox cannot start.
 */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = process.env[CHROMIUM_ENV] || findChromium();
  if (!executablePath)
    throw new Error(
      `no Chromium for the browser tests: run them with \`node scripts/run-tests.mjs\` (its services start installs Debian's chromium), or set ${CHROMIUM_ENV}`,
    );
  return chromium.launch({ executablePath, args: ["--no-sandbox"] });
}

/** A page in its own context (cookies), with what went wrong in it collected in `problems`. */
export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** Console errors, uncaught exceptions and CSP violations, as lines. */
  problems: string[];
  /** Fails (listing them) if anything went wrong in the page; call at the end of each flow. */
  assertNoProblems(): void;
  close(): Promise<void>;
}

/** What a page reports on a CSP violation (installed before any of the page's own script). */
const CSP_LISTENER = `document.addEventListener("securitypolicyviolation", (e) =>
  window.__autoreduceCspViolation(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at " + e.sourceFile + ":" + e.lineNumber));`;

/**
 * Opens a page for one person (a fresh context: its own cookies) that collects console errors,
 * uncaught exceptions and CSP violations. The page keeps our CSP on (no `bypassCSP`), so a
 * violation is caught where it happens. A document that answers 401/403/404 makes Chromium log
 * "Failed to load resource" for it: that is the page's status, checked by the test, not a
 * problem; any other resource failing (a script, a stylesheet, a stream) is one.
 */
export async function openPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const problems: string[] = [];
  const documents = new Set<string>();
  page.on("request", (r) => {
    if (r.isNavigationRequest() && r.frame() === page.mainFrame()) documents.add(r.url());
  });
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const at = message.location().url;
    const failedLoad = message
      .text()
      .startsWith("Failed to load resource: the server responded with a status");
    // A form's action may carry a fragment (`…/variables#editor`); the request's URL does not.
    if (failedLoad && documents.has(at.split("#")[0] ?? at)) return;
    problems.push(`console error at ${at}: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`uncaught exception: ${error.message}`));
  await page.exposeBinding("__autoreduceCspViolation", (_source, text: string) =>
    problems.push(`CSP violation: ${text}`),
  );
  await page.addInitScript({ content: CSP_LISTENER });
  return {
    context,
    page,
    problems,
    assertNoProblems: () => assert.deepEqual(problems, [], `problems in the page:\n${problems.join("\n")}`),
    close: () => context.close(),
  };
}

/**
 * Signs in through the real form at `/login` (labels Username and Password, button "Sign in"),
 * optionally with `?next=`. Resolves to the response of the page landed on: the page asked for
 * after a right password (via the 303), or the form again (401) after a wrong one.
 */
export async function signInPage(
  page: Page,
  url: string,
  person: string,
  options: { password?: string; next?: string } = {},
): Promise<Response> {
  const query = options.next === undefined ? "" : `?next=${encodeURIComponent(options.next)}`;
  await page.goto(`${url}/login${query}`);
  await page.getByLabel("Username").fill(person);
  await page.getByLabel("Password").fill(options.password ?? passwordOf(person));
  const landed = page.waitForResponse(
    (r) =>
      r.request().isNavigationRequest() &&
      r.request().frame() === page.mainFrame() &&
      (r.status() < 300 || r.status() >= 400),
  );
  await page.getByRole("button", { name: "Sign in" }).click();
  const response = await landed;
  await page.waitForLoadState("load");
  return response;
}

/** Saves a full-page PNG as test-artifacts/screenshots/<name>.png (look at them). */
export async function screenshot(page: Page, name: string): Promise<string> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`screenshot name "${name}": lower case, digits, -`);
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface AxeViolation {
  id: string;
  impact: string;
  help: string;
  /** CSS selectors of the offending elements. */
  targets: string[];
}

let axeSource: string | null = null;

/**
 * Runs axe-core on the page as it is now and returns its serious and critical violations.
 * axe is evaluated through the DevTools protocol, which our CSP (`script-src 'self'`) does not
 * govern, so the page under test keeps its CSP (a `<script>` tag with axe's source would be refused).
 */
export async function axeCheck(page: Page): Promise<AxeViolation[]> {
  axeSource ??= readFileSync(join(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8");
  if (!(await page.evaluate("typeof window.axe === 'object'"))) await page.evaluate(axeSource);
  const violations = (await page.evaluate(`axe.run(document, { resultTypes: ["violations"] }).then((r) =>
    r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(" ")) })))`)) as AxeViolation[];
  return violations.filter((v) => v.impact === "serious" || v.impact === "critical");
}

/** Fails listing axe's serious and critical violations on the page (`what` names it in the message). */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  const violations = await axeCheck(page);
  assert.deepEqual(
    violations,
    [],
    `${what}: ${violations.map((v) => `${v.impact} ${v.id} (${v.help}): ${v.targets.join(", ")}`).join("\n")}`,
  );
}

import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Updateable } from "kysely";
import { Coordinator } from "../../src/coordinator/coordinator.ts";
import { silentLogger } from "../../src/logging/logger.ts";
import type { JobsTable } from "../../src/store/schema.ts";
import { createTestDatabase } from "../helpers/postgres.ts";
import { waitFor } from "../helpers/wait-for.ts";
import { openWebStack, type Session, type WebStack } from "../helpers/web-stack.ts";

const XSS = "<script>alert(1)</script>";

/** The entry names of a zip file, read from its central directory. */
function zipEntries(zip: Buffer): string[] {
  const end = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(end >= 0, "a zip has an end-of-central-directory record");
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    assert.equal(zip.readUInt32LE(at), 0x02014b50, "a central directory header");
    const nameLength = zip.readUInt16LE(at + 28);
    const extra = zip.readUInt16LE(at + 30);
    const comment = zip.readUInt16LE(at + 32);
    names.push(zip.subarray(at + 46, at + 46 + nameLength).toString("utf8"));
    at += 46 + nameLength + extra + comment;
  }
  return names.sort();
}

/** Reads a streamed response until `done(text so far)` holds (deadline from waitFor's scale). */
async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  done: (text: string) => boolean,
  seen = { text: "" },
): Promise<string> {
  const decoder = new TextDecoder();
  await waitFor(
    async () => {
      if (done(seen.text)) return true;
      const chunk = await reader.read();
      if (chunk.value) seen.text += decoder.decode(chunk.value, { stream: true });
      return (
        done(seen.text) || (chunk.done ? Promise.reject(new Error(`stream ended: ${seen.text}`)) : false)
      );
    },
    "the streamed text",
    10_000,
    1,
  );
  return seen.text;
}

describe("the run page", () => {
  let web: WebStack;
  let output = "";
  let member: Session;
  let outsider: Session;
  let mari: Session;
  let wish: Session;
  /** Sets columns of one version of a run. */
  const setVersion = async (
    instrument: string,
    run: number,
    version: number,
    fields: Updateable<JobsTable>,
  ) => {
    const row = await web.database.db
      .selectFrom("jobs")
      .innerJoin("runs", "runs.id", "jobs.run_id")
      .innerJoin("instruments", "instruments.id", "runs.instrument_id")
      .select("jobs.id")
      .where("instruments.name", "=", instrument)
      .where("runs.run_number", "=", run)
      .where("jobs.version", "=", version)
      .executeTakeFirstOrThrow();
    await web.database.db.updateTable("jobs").set(fields).where("id", "=", row.id).execute();
  };
  const folder = (...parts: string[]) => {
    const dir = join(output, ...parts);
    mkdirSync(dir, { recursive: true });
    return dir;
  };
  const variables = (standard: Record<string, unknown>, types: Record<string, string> = {}) =>
    JSON.stringify({
      standard_vars: standard,
      advanced_vars: {},
      types: { standard_vars: types, advanced_vars: {} },
    });

  before(async () => {
    web = await openWebStack({ web: { anonymous_read: ["WISH"] } });
    output = web.config.output.root;
    const scripts = join(web.config.scripts.root, "MARI");
    mkdirSync(scripts, { recursive: true });
    writeFileSync(join(scripts, "reduce_MARI.py"), "print('current script')\n");
    writeFileSync(
      join(scripts, "reduce_vars.py"),
      [
        "standard_vars = {'bins': 100, 'mode': 'fast', 'ei': 12.5}",
        "advanced_vars = {'smooth': True}",
        "variable_help = {'standard_vars': {'bins': 'Number of energy bins'}, 'advanced_vars': {}}",
        "",
      ].join("\n"),
    );
    // MARI 1 (experiment IPTS-100): three versions, with scripts, variables, logs and files.
    const dir = folder("MARI", "IPTS-100", "1");
    for (let v = 0; v < 3; v++)
      await web.seedRun({
        instrument: "MARI",
        run: 1,
        experiment: "IPTS-100",
        title: `dispersion ${XSS}`,
        outputDir: dir,
      });
    await setVersion("MARI", 1, 0, {
      script_text: "import mantid\nbins = 100\nprint('done')\n",
      script_hash: "a".repeat(64),
      script_path: "/scripts/MARI/reduce_MARI.py",
      interpreter: "python3",
      convention: "sns",
      variables: variables({ bins: 100, mode: "fast" }, { bins: "integer", mode: "text" }),
      host: "node-a",
      exit_code: 0,
      peak_memory_bytes: 50 * 1024 * 1024,
    });
    await setVersion("MARI", 1, 1, {
      script_text: `import mantid\nbins = 400\n# ${XSS}\nprint('done')\n`,
      script_hash: "b".repeat(64),
      script_path: "/scripts/MARI/reduce_MARI.py",
      interpreter: "python3",
      convention: "sns",
      variables: variables({ bins: 400, ei: 25, note: XSS }, { bins: "integer", ei: "number", note: "text" }),
      reason: "rerun",
      started_by: "member",
      description: "finer binning",
      message: `failed: ${XSS}`,
      status: "error",
    });
    writeFileSync(join(dir, "MARI_1.nxs"), "reduced data");
    mkdirSync(join(dir, "sub"), { recursive: true });
    writeFileSync(join(dir, "sub", "plot data.txt"), "x y\n1 2\n");
    writeFileSync(join(dir, "not-recorded.txt"), "not an output");
    const outside = join(web.dir, "outside");
    mkdirSync(outside, { recursive: true });
    writeFileSync(join(outside, "secret.txt"), "secret");
    symlinkSync(join(outside, "secret.txt"), join(dir, "leak.txt"));
    const logs = folder("MARI", "IPTS-100", "1", "reduction_log");
    const bigLog = join(logs, "MARI_1.nxs.h5.log");
    writeFileSync(bigLog, `FIRST LINE\n${"filler line of the log\n".repeat(20_000)}LAST LINE ${XSS}\n`);
    writeFileSync(join(logs, "MARI_1.nxs.h5.err"), "a warning\n");
    await setVersion("MARI", 1, 2, {
      script_text: "import mantid\nbins = 400\nprint('done')\n",
      variables: variables({ bins: 400, ei: 25 }, { bins: "integer", ei: "number" }),
      script_path: "/scripts/MARI/reduce_MARI.py",
      interpreter: "python3",
      convention: "sns",
      output_files: JSON.stringify([
        join(dir, "MARI_1.nxs"),
        join(dir, "sub", "plot data.txt"),
        join(dir, "leak.txt"),
        "/etc/passwd",
      ]),
      log_file: bigLog,
      err_file: join(logs, "MARI_1.nxs.h5.err"),
      host: "node-b",
      started_at: Date.now() - 65_000,
      finished_at: Date.now(),
      exit_code: 0,
    });
    await web.database.db
      .insertInto("job_events")
      .values({
        run_id: (
          await web.database.db
            .selectFrom("runs")
            .select("id")
            .where("run_number", "=", 1)
            .executeTakeFirstOrThrow()
        ).id,
        job_row_id: null,
        destination: "/queue/REDUCTION.STARTED",
        message_id: "started-1",
        body: JSON.stringify({
          instrument: "MARI",
          run_number: 1,
          information: "node-b",
          host: "node-b",
          status: "running",
        }),
        created_at: Date.now() - 64_000,
      })
      .execute();
    await web.seedRun({ instrument: "WISH", run: 7, experiment: "IPTS-200", title: "open run" });
    member = await web.signIn("member");
    outsider = await web.signIn("outsider");
    mari = await web.signIn("mari");
    wish = await web.signIn("wish");
  });
  after(() => web.close());

  test("an experimenter reads their run: header, versions, what ran, logs, files, timeline", async () => {
    const response = await member.get("/runs/MARI/1");
    assert.equal(response.status, 200);
    const html = await response.text();
    assert.match(
      html,
      /<h1 data-run="MARI\/1" data-version="2">MARI run 1 <span class="status status-completed"/,
    );
    assert.match(html, /href="\/experiments\/IPTS-100"/);
    assert.match(html, /\/archive\/MARI\/IPTS-100\/MARI_1\.nxs\.h5/, "the data file");
    assert.match(
      html,
      new RegExp(`<code>${join(output, "MARI", "IPTS-100", "1")}</code>`),
      "the output folder",
    );
    assert.match(html, /All versions/);
    for (const v of [0, 1, 2]) assert.match(html, new RegExp(`href="/runs/MARI/1\\?version=${v}"`));
    assert.match(html, /node-a/);
    assert.match(html, /50\.0 MiB/, "peak memory");
    assert.match(html, /finer binning/);
    assert.match(html, /Version 2.*\(latest\)/s);
    assert.match(html, /Worker started the script/, "a message of the timeline, in words");
    assert.match(html, /on node-b/, "its host");
    assert.match(html, /Version 2 ended: completed/);
    assert.match(
      html,
      /Download all as zip \(2 files\)/,
      "the escaping link and /etc/passwd are not offered",
    );
    assert.match(html, /href="\/runs\/MARI\/1\/files\/sub\/plot%20data\.txt\?version=2"/);
    assert.match(html, /Re-run with version 2/, "a member may re-run");
    assert.match(html, /src="\/static\/run-page\.js"/);
    assert.match(html, /data-live="\/api\/v1\/events\?instrument=MARI&amp;run=1"/);
  });

  test("who may read: the instrument's scientist yes; outsider and other scientist 403; anonymous 401", async () => {
    assert.equal((await mari.get("/runs/MARI/1")).status, 200);
    assert.equal((await outsider.get("/runs/MARI/1")).status, 403);
    assert.equal((await wish.get("/runs/MARI/1")).status, 403);
    const anonymous = await fetch(`${web.url}/runs/MARI/1`);
    assert.equal(anonymous.status, 401);
    assert.match(await anonymous.text(), /Sign in to see run 1 of MARI/);
  });

  test("an instrument open to anonymous reading shows its run without sign-in, and no actions", async () => {
    const response = await fetch(`${web.url}/runs/WISH/7`);
    assert.equal(response.status, 200);
    const html = await response.text();
    assert.match(html, /WISH run 7/);
    assert.doesNotMatch(html, /Re-run with/);
    assert.doesNotMatch(html, /\/cancel"/);
    assert.equal((await outsider.get("/runs/WISH/7")).status, 200);
  });

  test("an unknown run is 404 only to who may read the instrument; others cannot tell it from a refusal", async () => {
    const known = await mari.get("/runs/MARI/999");
    assert.equal(known.status, 404);
    assert.match(await known.text(), /MARI has no run 999 recorded/);
    assert.equal((await outsider.get("/runs/MARI/999")).status, 403);
    assert.equal((await member.get("/runs/MARI/999")).status, 403);
    assert.equal((await fetch(`${web.url}/runs/MARI/999`)).status, 401);
    assert.equal((await fetch(`${web.url}/runs/WISH/999`)).status, 404);
  });

  test("?version selects a version; an unknown one is 404, a malformed one 400", async () => {
    const html = await (await member.get("/runs/MARI/1?version=1")).text();
    assert.match(html, /<h2 id="version-title">Version 1<\/h2>/);
    assert.match(html, /Why it failed/);
    assert.match(html, /<code>bins<\/code><\/td><td><code>400<\/code>/);
    assert.match(html, /tr class="selected"><td><a href="\/runs\/MARI\/1\?version=1" aria-current="true">v1/);
    assert.equal((await member.get("/runs/MARI/1?version=9")).status, 404);
    assert.equal((await member.get("/runs/MARI/1?version=abc")).status, 400);
    assert.equal((await member.get("/runs/MARI/x")).status, 400);
  });

  test("the diff of two versions: script lines and variables changed, added and removed", async () => {
    const response = await member.get("/runs/MARI/1/diff?a=0&b=1");
    assert.equal(response.status, 200);
    const html = await response.text();
    assert.match(html, /2 lines added, 1 removed/);
    assert.match(html, /<span class="del">\s*2\s+− bins = 100<\/span>/);
    assert.match(html, /<span class="add">\s+2 \+ bins = 400<\/span>/);
    assert.match(html, /<span class="same">\s*1\s+1\s+import mantid<\/span>/);
    const row = (name: string) =>
      new RegExp(`<tr class="change-(\\w+)"><th scope="row"><code>${name}</code>`).exec(html)?.[1];
    assert.equal(row("bins"), "changed");
    assert.equal(row("mode"), "removed");
    assert.equal(row("ei"), "added");
    assert.doesNotMatch(html, /<script>alert/, "script text and variable values are escaped");
    const same = await (await member.get("/runs/MARI/1/diff?a=1&b=1")).text();
    assert.match(same, /The script text is the same in both versions/);
    assert.match(same, /All 3 variables have the same values/);
    assert.equal((await member.get("/runs/MARI/1/diff?a=0&b=7")).status, 404);
    assert.equal((await outsider.get("/runs/MARI/1/diff?a=0&b=1")).status, 403);
    assert.equal((await fetch(`${web.url}/runs/MARI/1/diff?a=0&b=1`)).status, 401);
  });

  test("the log's tail: the last 256 KiB, said to be cut; the whole log on its own address", async () => {
    const html = await (await member.get("/runs/MARI/1")).text();
    assert.match(html, /Showing the last 256\.0 KiB of/);
    assert.match(html, /LAST LINE &lt;script>alert\(1\)&lt;\/script>/);
    assert.doesNotMatch(html, /FIRST LINE/);
    assert.match(html, /a warning/, "stderr too");
    const whole = await member.get("/runs/MARI/1/log?version=2&stream=out");
    assert.equal(whole.status, 200);
    assert.match(whole.headers.get("content-type") ?? "", /text\/plain/);
    assert.match(await whole.text(), /^FIRST LINE/);
    assert.equal((await outsider.get("/runs/MARI/1/log?version=2&stream=out")).status, 403);
    assert.equal((await member.get("/runs/MARI/1/log?version=0&stream=out")).status, 404);
  });

  test("a running version's log streams live: appended text arrives, and the stream ends with the job", async () => {
    const dir = folder("MARI", "IPTS-100", "2");
    await web.seedRun({
      instrument: "MARI",
      run: 2,
      experiment: "IPTS-100",
      status: "running",
      outputDir: dir,
    });
    const log = join(folder("MARI", "IPTS-100", "2", "reduction_log"), "MARI_2.log");
    writeFileSync(log, "already there\n");
    await setVersion("MARI", 2, 0, { log_file: log, started_at: Date.now() });
    const page = await (await member.get("/runs/MARI/2")).text();
    assert.match(
      page,
      /data-log-stream="\/runs\/MARI\/2\/log\/stream\?version=0&amp;stream=out" data-log-offset="14"/,
    );
    assert.match(page, /Follow the end of the log/);

    assert.equal((await outsider.get("/runs/MARI/2/log/stream?version=0&stream=out")).status, 403);
    assert.equal((await fetch(`${web.url}/runs/MARI/2/log/stream?version=0&stream=out`)).status, 401);
    const abort = new AbortController();
    const response = await member.get("/runs/MARI/2/log/stream?version=0&stream=out&from=14", {
      signal: abort.signal,
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /text\/event-stream/);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    const seen = { text: "" };
    appendFileSync(log, `step 1 of 2 ${XSS}\n`);
    await readUntil(reader, (t) => t.includes("step 1 of 2"), seen);
    assert.doesNotMatch(seen.text, /already there/, "continues from the offset given");
    assert.match(seen.text, /event: append\ndata: "step 1 of 2 <script>alert\(1\)<\/script>\\n"/);
    appendFileSync(log, "step 2 of 2\n");
    await setVersion("MARI", 2, 0, { status: "completed", finished_at: Date.now() });
    await readUntil(reader, (t) => t.includes("event: end"), seen);
    assert.match(seen.text, /step 2 of 2[\s\S]*event: end\ndata: \{"status":"completed"\}/);
    const rest = await reader.read();
    assert.ok(rest.done, "the stream closes after `end`");
    abort.abort();

    const reconnect = await member.get("/runs/MARI/2/log/stream?version=0&stream=out", {
      headers: { "last-event-id": "14" },
    });
    const again = await readUntil((reconnect.body as ReadableStream<Uint8Array>).getReader(), (t) =>
      t.includes("event: end"),
    );
    assert.match(again, /step 1 of 2[\s\S]*step 2 of 2/, "a reconnect continues from its last event id");
    assert.doesNotMatch(again, /already there/);
  });

  test("downloads: one file, all as a zip; confined to the recorded files inside the output folder", async () => {
    const file = await member.get("/runs/MARI/1/files/MARI_1.nxs?version=2");
    assert.equal(file.status, 200);
    assert.equal(await file.text(), "reduced data");
    assert.match(file.headers.get("content-disposition") ?? "", /attachment; filename="MARI_1\.nxs"/);
    const nested = await member.get("/runs/MARI/1/files/sub/plot%20data.txt?version=2");
    assert.equal(await nested.text(), "x y\n1 2\n");

    const zip = await member.get("/runs/MARI/1/files.zip?version=2");
    assert.equal(zip.status, 200);
    assert.equal(zip.headers.get("content-type"), "application/zip");
    assert.deepEqual(zipEntries(Buffer.from(await zip.arrayBuffer())), ["MARI_1.nxs", "sub/plot data.txt"]);
    assert.equal((await member.get("/runs/MARI/1/files.zip?version=0")).status, 404, "no files recorded");

    const refused = async (path: string, status: number, reason: RegExp) => {
      const response = await member.get(path);
      assert.equal(response.status, status, path);
      assert.match(await response.text(), reason, path);
    };
    await refused(
      "/runs/MARI/1/files/..%2F..%2F..%2Foutside%2Fsecret.txt?version=2",
      400,
      /cannot contain '\.\.'/,
    );
    await refused("/runs/MARI/1/files/sub%2F..%2FMARI_1.nxs?version=2", 400, /cannot contain '\.\.'/);
    await refused("/runs/MARI/1/files/%2Fetc%2Fpasswd?version=2", 400, /not an absolute path/);
    await refused("/runs/MARI/1/files/leak.txt?version=2", 404, /link to somewhere outside/);
    await refused(
      "/runs/MARI/1/files/not-recorded.txt?version=2",
      404,
      /not one of the files version 2 wrote/,
    );
    await refused("/runs/MARI/1/files/etc/passwd?version=2", 404, /not one of the files/);

    assert.equal((await outsider.get("/runs/MARI/1/files/MARI_1.nxs?version=2")).status, 403);
    assert.equal((await outsider.get("/runs/MARI/1/files.zip?version=2")).status, 403);
    assert.equal((await fetch(`${web.url}/runs/MARI/1/files/MARI_1.nxs?version=2`)).status, 401);
    assert.equal((await fetch(`${web.url}/runs/MARI/1/files.zip?version=2`)).status, 401);
  });

  test("XSS: titles, script text, variable values, messages and log lines come out escaped", async () => {
    for (const path of [
      "/runs/MARI/1?version=1",
      "/runs/MARI/1",
      "/runs/MARI/1/diff?a=0&b=1",
      "/runs/MARI/1/rerun?version=1",
    ]) {
      const html = await (await member.get(path)).text();
      assert.doesNotMatch(html, /<script>alert/, path);
      assert.match(html, /&lt;script>alert\(1\)&lt;\/script>/, path);
    }
  });

  describe("re-run and cancel", () => {
    let coordinator: Coordinator;
    before(async () => {
      coordinator = await Coordinator.start({ ...web, log: silentLogger() });
    });
    after(() => coordinator.stop());

    test("the form has a typed field per variable with its help, and both script choices", async () => {
      const response = await member.get("/runs/MARI/1/rerun?version=2");
      assert.equal(response.status, 200);
      const html = await response.text();
      assert.match(
        html,
        /<label for="var-bins"><code>bins<\/code><\/label><input id="var-bins" name="var\.bins"[^>]*value="400"/,
      );
      assert.match(html, /a whole number — Number of energy bins/);
      assert.match(html, /id="var-ei"[^>]*value="25"[^>]*inputmode="decimal"/);
      assert.match(html, /<code>mode<\/code><span class="muted"> \(new in the current script\)/);
      assert.match(html, /<select id="var-smooth" name="var\.smooth"/);
      assert.match(html, /name="script" value="stored" checked/);
      assert.match(html, /name="script" value="current"/);
      assert.match(html, /<label for="description">/);
      const bare = await (await wish.get("/runs/WISH/7/rerun")).text();
      assert.match(
        bare,
        /Version 0 did not record its script text, so the re-run uses the current script file/,
      );
      assert.match(bare, /name="script" value="current" checked/);
      assert.match(bare, /This script has no variables/);
    });

    test("only who may change the run gets the form: outsider 403, other scientist 403, anonymous 401", async () => {
      assert.equal((await mari.get("/runs/MARI/1/rerun")).status, 200);
      assert.equal((await outsider.get("/runs/MARI/1/rerun")).status, 403);
      assert.equal((await wish.get("/runs/MARI/1/rerun")).status, 403);
      assert.equal((await fetch(`${web.url}/runs/MARI/1/rerun`)).status, 401);
      assert.equal((await fetch(`${web.url}/runs/WISH/7/rerun`)).status, 401, "readable, but not changeable");
      assert.equal((await outsider.get("/runs/WISH/7/rerun")).status, 403);
      const post = await outsider.post("/runs/MARI/1/rerun", {
        version: "2",
        step: "confirm",
        "var.bins": "1",
      });
      assert.equal(post.status, 403);
    });

    test("a wrong value is shown next to its field (422), nothing is queued", async () => {
      const response = await member.post("/runs/MARI/1/rerun", {
        version: "2",
        step: "preview",
        script: "stored",
        "var.bins": "many",
        "var.ei": "25",
      });
      assert.equal(response.status, 422);
      const html = await response.text();
      assert.match(html, /class="field invalid"><label for="var-bins">/);
      assert.match(
        html,
        /<span id="var-bins-error" class="field-error">expected a whole number; got &quot;many&quot;<\/span>/,
      );
      assert.match(html, /aria-invalid="true"/);
      assert.match(html, /value="many"/, "the typed text is kept");
    });

    test("re-run with a changed variable: confirmation shows the difference, then a version with the change", async () => {
      const form = {
        version: "2",
        script: "stored",
        "var.bins": "250",
        "var.ei": "25",
        description: "coarser",
      };
      const preview = await member.post("/runs/MARI/1/rerun", { ...form, step: "preview" });
      assert.equal(preview.status, 200);
      const html = await preview.text();
      assert.match(html, /Queue version 3 of MARI run 1\?/);
      assert.match(html, /1 variable differs from version 2/);
      assert.match(
        html,
        /<tr class="changed change-changed"><th scope="row"><code>bins<\/code><\/th><td><code>400<\/code><\/td><td><code>250<\/code>/,
      );
      assert.match(html, /<tr><th scope="row"><code>ei<\/code>/, "unchanged, not highlighted");
      assert.match(html, /Not used \(the chosen script has no such variable\): mode, smooth/);
      assert.equal(
        (await web.database.db.selectFrom("jobs").select("id").where("version", "=", 3).execute()).length,
        0,
        "a preview queues nothing",
      );

      const events = await member.get("/api/v1/events?instrument=MARI&run=1", {
        signal: AbortSignal.timeout(30_000),
      });
      const feed = (events.body as ReadableStream<Uint8Array>).getReader();
      const queued = await member.post("/runs/MARI/1/rerun", { ...form, step: "confirm" });
      assert.equal(queued.status, 303);
      assert.equal(queued.headers.get("location"), "/runs/MARI/1?queued=3");
      const row = await waitFor(
        () =>
          web.database.db
            .selectFrom("jobs")
            .select(["variables", "started_by", "description", "reason", "script_text"])
            .where("version", "=", 3)
            .where("kind", "=", "reduction")
            .executeTakeFirst(),
        "version 3 recorded by the coordinator",
      );
      const stored = JSON.parse(row.variables ?? "{}") as { standard_vars: Record<string, unknown> };
      assert.equal(stored.standard_vars.bins, 250);
      assert.equal(stored.standard_vars.ei, 25);
      assert.equal(row.started_by, "member");
      assert.equal(row.description, "coarser");
      assert.equal(
        row.script_text,
        "import mantid\nbins = 400\nprint('done')\n",
        "the stored script of the latest version",
      );
      await readUntil(feed, (t) => /event: job\ndata: .*"version":3/.test(t));
      await feed.cancel();

      const page = await (await member.get("/runs/MARI/1?queued=3")).text();
      assert.match(page, /<p class="notice" role="status">Version 3 queued\./);
      const fragment = await member.get("/runs/MARI/1/fragment/versions?version=2");
      assert.equal(fragment.status, 200);
      const live = await fragment.text();
      assert.match(live, /^<div><div id="versions"/);
      assert.match(
        live,
        /href="\/runs\/MARI\/1\?version=3">v3<\/a>/,
        "the new version appears without a reload",
      );
      assert.match(live, /<div id="outcome">/);
      assert.equal((await outsider.get("/runs/MARI/1/fragment/versions")).status, 403);
    });

    test("the current script can be chosen; its defaults fill variables the version lacked", async () => {
      await setVersion("MARI", 1, 3, { status: "completed", finished_at: Date.now() });
      const form = {
        version: "2",
        script: "current",
        "var.bins": "400",
        "var.ei": "30",
        "var.mode": "slow",
        "var.smooth": "false",
      };
      const preview = await (await member.post("/runs/MARI/1/rerun", { ...form, step: "preview" })).text();
      assert.match(preview, /the instrument&#39;s current script file|the instrument's current script file/);
      assert.match(preview, /<tr class="changed change-added"><th scope="row"><code>mode<\/code>/);
      assert.equal((await member.post("/runs/MARI/1/rerun", { ...form, step: "confirm" })).status, 303);
      const row = await waitFor(
        () =>
          web.database.db
            .selectFrom("jobs")
            .select(["variables", "script_text"])
            .where("version", "=", 4)
            .executeTakeFirst(),
        "version 4",
      );
      assert.equal(row.script_text, "print('current script')\n");
      const values = JSON.parse(row.variables ?? "{}") as {
        standard_vars: Record<string, unknown>;
        advanced_vars: Record<string, unknown>;
      };
      assert.deepEqual(values.standard_vars, { bins: 400, mode: "slow", ei: 30 });
      assert.deepEqual(values.advanced_vars, { smooth: false });
    });

    test("a re-run of a run still running is refused with the reason", async () => {
      const response = await member.post("/runs/MARI/1/rerun", {
        version: "2",
        step: "preview",
        "var.bins": "400",
      });
      assert.equal(response.status, 422);
      assert.match(await response.text(), /cannot be queued: version 4 is still queued/);
    });

    test("cancel: who may change the run cancels its unfinished version; others are refused", async () => {
      assert.equal((await outsider.post("/runs/MARI/1/cancel")).status, 403);
      assert.equal((await wish.post("/runs/MARI/1/cancel")).status, 403);
      assert.equal(
        (await member.post("/runs/MARI/1/cancel", {}, { csrf: false })).status,
        403,
        "no CSRF token",
      );
      const login = await fetch(`${web.url}/login`);
      const cookie = login.headers
        .getSetCookie()
        .map((c) => c.split(";")[0])
        .join("; ");
      const token = /name="_csrf" value="([^"]+)"/.exec(await login.text())?.[1] ?? "";
      const anonymous = await fetch(`${web.url}/runs/MARI/1/cancel`, {
        method: "POST",
        redirect: "manual",
        headers: { "content-type": "application/x-www-form-urlencoded", cookie },
        body: new URLSearchParams({ _csrf: token }).toString(),
      });
      assert.equal(anonymous.status, 401);

      const page = await (await member.get("/runs/MARI/1")).text();
      assert.match(page, /Cancel version 4 \(queued\)/);
      const cancelled = await member.post("/runs/MARI/1/cancel");
      assert.equal(cancelled.status, 303);
      assert.equal(cancelled.headers.get("location"), "/runs/MARI/1?cancelled=4");
      const row = await web.database.db
        .selectFrom("jobs")
        .select(["status", "message"])
        .where("version", "=", 4)
        .executeTakeFirstOrThrow();
      assert.equal(row.status, "cancelled");
      assert.equal(row.message, "cancelled by member");
      const again = await member.post("/runs/MARI/1/cancel");
      assert.equal(again.status, 422);
      assert.match(await again.text(), /Version 4 is cancelled: nothing to cancel/);
    });

    test("a re-run from an older version runs that version's stored script and values, not the latest's", async () => {
      // Version 4 was cancelled above; version 0 ran `bins = 100` with its own script text.
      const form = await (await member.get("/runs/MARI/1/rerun?version=0")).text();
      assert.match(form, /The exact script text version 0 ran/);
      assert.match(form, /sha256 aaaaaaaaaaaa/, "version 0's hash, not the latest's");
      const fields = { version: "0", script: "stored", "var.bins": "150", "var.mode": "fast" };
      const preview = await (await member.post("/runs/MARI/1/rerun", { ...fields, step: "preview" })).text();
      assert.match(preview, /the exact text version 0 ran/);
      assert.match(preview, /<code>bins<\/code><\/th><td><code>100<\/code><\/td><td><code>150<\/code>/);
      assert.equal((await member.post("/runs/MARI/1/rerun", { ...fields, step: "confirm" })).status, 303);
      const row = await waitFor(
        () =>
          web.database.db
            .selectFrom("jobs")
            .select(["variables", "script_text", "script_hash"])
            .where("version", "=", 5)
            .where("kind", "=", "reduction")
            .executeTakeFirst(),
        "version 5",
      );
      assert.equal(row.script_text, "import mantid\nbins = 100\nprint('done')\n", "version 0's script text");
      assert.equal(row.script_hash, "a".repeat(64));
      const values = JSON.parse(row.variables ?? "{}") as { standard_vars: Record<string, unknown> };
      assert.deepEqual(values.standard_vars, { bins: 150, mode: "fast" });
    });
  });
});

describe("the run page on PostgreSQL", () => {
  let web: WebStack;
  let drop: () => Promise<void>;
  before(async () => {
    const database = await createTestDatabase();
    drop = database.drop;
    web = await openWebStack({}, { databaseUrl: database.url });
  });
  after(async () => {
    await web.close();
    await drop();
  });

  test("page, fragment, diff and cancel read and write the same on PostgreSQL", async () => {
    await web.seedRun({ instrument: "MARI", run: 5, experiment: "IPTS-100", title: "on postgres" });
    await web.seedRun({ instrument: "MARI", run: 5, experiment: "IPTS-100", status: "queued" });
    const member = await web.signIn("member");
    const html = await (await member.get("/runs/MARI/5")).text();
    assert.match(html, /MARI run 5 <span class="status status-queued"/);
    assert.match(html, /href="\/runs\/MARI\/5\?version=1" aria-current="true">v1/);
    assert.match(
      await (await member.get("/runs/MARI/5/fragment/versions?version=0")).text(),
      /id="versions"/,
    );
    assert.equal((await member.get("/runs/MARI/5/diff?a=0&b=1")).status, 200);
    const cancelled = await member.post("/runs/MARI/5/cancel");
    assert.equal(cancelled.status, 303);
    assert.match(
      await (await member.get("/runs/MARI/5")).text(),
      /MARI run 5 <span class="status status-cancelled"/,
    );
    assert.equal((await (await web.signIn("outsider")).get("/runs/MARI/5")).status, 403);
  });
});

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { LocalCatalog } from "../../src/catalog/catalog.ts";
import { openWebStack, type Session, type WebStack } from "../helpers/web-stack.ts";

describe("experiment pages, the members API and the catalog import API", () => {
  let web: WebStack;
  const people: Record<string, Session> = {};

  before(async () => {
    web = await openWebStack({ web: { anonymous_read: ["WISH"] } });
    // IPTS-100: the member's experiment, on MARI. IPTS-400: on MARI and WISH. IPTS-300: WISH only.
    await web.seedRun({ instrument: "MARI", run: 1, experiment: "IPTS-100", title: "vanadium <b>V</b>" });
    await web.seedRun({ instrument: "MARI", run: 2, experiment: "IPTS-100", status: "running" });
    await web.seedRun({ instrument: "MARI", run: 3, experiment: "IPTS-400" });
    await web.seedRun({ instrument: "WISH", run: 4, experiment: "IPTS-400", status: "error" });
    await web.seedRun({ instrument: "WISH", run: 5, experiment: "IPTS-300" });
    // A second version of run 1.
    await web.seedRun({ instrument: "MARI", run: 1, experiment: "IPTS-100", title: "vanadium <b>V</b>" });
    await new LocalCatalog(web.database).import(
      [
        {
          experiment: "IPTS-100",
          title: "Spin waves in <i>CuO</i>",
          members: ["member", "visitor"],
          metadata: {
            pi: "Ada Lovelace",
            start: "2026-03-01",
            end: "2026-03-04",
            proposal: "P-77",
            beamline: "BL-4",
          },
        },
      ],
      { replace: false },
    );
    for (const person of ["admin", "mari", "wish", "member", "outsider"])
      people[person] = await web.signIn(person);
  });
  after(() => web.close());

  const get = async (person: string | null, path: string, init?: RequestInit) => {
    const response = person ? await people[person]?.get(path, init) : await fetch(`${web.url}${path}`, init);
    assert.ok(response);
    return response;
  };

  test("GET /experiments/IPTS-100 by role: members and its instruments' readers 200, others 403, nobody 401", async () => {
    const expected: Array<[string | null, number]> = [
      ["admin", 200],
      ["mari", 200],
      ["member", 200],
      ["wish", 403],
      ["outsider", 403],
      [null, 401],
    ];
    for (const [person, status] of expected)
      assert.equal((await get(person, "/experiments/IPTS-100")).status, status, person ?? "anonymous");
    const token = await get(null, "/experiments/IPTS-100", {
      headers: { authorization: `Bearer ${web.adminToken}` },
    });
    assert.equal(token.status, 200);
    assert.equal((await get(null, "/experiments/IPTS-300")).status, 200, "WISH is open to anonymous reading");
  });

  test("the page: runs with live status, versions and output folder; catalog facts; members", async () => {
    const html = await (await get("member", "/experiments/IPTS-100")).text();
    assert.match(html, /<body data-live="\/api\/v1\/events\?experiment=IPTS-100">/);
    assert.match(
      html,
      /<h1>Experiment IPTS-100<\/h1><p class="subtitle">Spin waves in &lt;i>CuO&lt;\/i><\/p>/,
    );
    assert.match(html, /<dt>Principal investigator<\/dt><dd>Ada Lovelace<\/dd>/);
    assert.match(
      html,
      /<dt>Proposal<\/dt><dd>P-77<\/dd><dt>Starts<\/dt><dd>2026-03-01<\/dd><dt>Ends<\/dt><dd>2026-03-04<\/dd>/,
    );
    assert.match(html, /<dt>beamline<\/dt><dd>BL-4<\/dd>/);
    assert.match(html, /<h2 id="runs">Runs \(2\)<\/h2>/);
    const run1 = /<tr data-run="MARI\/1" data-version="1">[\s\S]*?<\/tr>/.exec(html)?.[0] ?? "";
    assert.match(run1, /vanadium &lt;b>V&lt;\/b>/);
    assert.match(run1, /<td class="num">2<\/td>/, "two versions");
    assert.match(run1, /\/output\/MARI\/IPTS-100\/1/);
    assert.match(html, /<tr data-run="MARI\/2" data-version="0">[\s\S]*?data-status="running"/);
    assert.match(html, /<h2 id="members">Members \(2\)<\/h2>/);
    assert.match(html, /<span class="mono">member<\/span> \(Member Person\)/);
    assert.match(html, /<span class="mono">visitor<\/span><span class="help"> no account yet<\/span>/);
  });

  test("members are shown to members, the instruments' scientists and admins, not to anonymous readers", async () => {
    for (const person of ["admin", "mari", "member"])
      assert.match(await (await get(person, "/experiments/IPTS-100")).text(), /id="members"/, person);
    const open = await (await get(null, "/experiments/IPTS-300")).text();
    assert.doesNotMatch(open, /id="members"/);
    assert.match(open, /data-run="WISH\/5"/);
  });

  test("a reader of one of an experiment's instruments sees that instrument's runs only", async () => {
    const html = await (await get("wish", "/experiments/IPTS-400")).text();
    assert.match(html, /data-run="WISH\/4"/);
    assert.doesNotMatch(html, /data-run="MARI\/3"/);
    assert.match(html, /Runs on MARI are not shown: you do not read that instrument\./);
    const all = await (await get("admin", "/experiments/IPTS-400")).text();
    assert.match(all, /data-run="MARI\/3"/);
    assert.match(all, /The catalog has no details of this experiment\./);
  });

  test("an experiment nobody knows: 404 for admins, refused for others (its existence is not told)", async () => {
    assert.equal((await get("admin", "/experiments/IPTS-999")).status, 404);
    assert.equal((await get("outsider", "/experiments/IPTS-999")).status, 403);
    assert.equal((await get(null, "/experiments/IPTS-999")).status, 401);
    // Not an experiment name at all (fetch would resolve a literal ".." to the runs index).
    assert.equal((await get("admin", "/experiments/a%2Fb")).status, 404);
  });

  test("a member of an experiment without runs yet sees its page with an empty state", async () => {
    await new LocalCatalog(web.database).addMember("IPTS-555", "outsider");
    const outsider = await web.signIn("outsider");
    const response = await outsider.get("/experiments/IPTS-555");
    assert.equal(response.status, 200);
    assert.match(await response.text(), /No runs yet: they appear here/);
  });

  test("GET /api/v1/experiments/<EXP>/members by role", async () => {
    const expected: Array<[string | null, number]> = [
      ["admin", 200],
      ["mari", 200],
      ["member", 200],
      ["wish", 403],
      ["outsider", 403],
      [null, 401],
    ];
    for (const [person, status] of expected)
      assert.equal(
        (await get(person, "/api/v1/experiments/IPTS-100/members")).status,
        status,
        person ?? "anonymous",
      );
    const body = (await (
      await get(null, "/api/v1/experiments/IPTS-100/members", {
        headers: { authorization: `Bearer ${web.adminToken}` },
      })
    ).json()) as {
      title: string;
      metadata: Record<string, string>;
      members: Array<{ username: string; source: string }>;
    };
    assert.equal(body.title, "Spin waves in <i>CuO</i>");
    assert.equal(body.metadata.pi, "Ada Lovelace");
    assert.deepEqual(
      body.members.map((m) => [m.username, m.source]),
      [
        ["member", "catalog"],
        ["visitor", "catalog"],
      ],
    );
    assert.equal(
      (await get(null, "/api/v1/experiments/IPTS-300/members")).status,
      401,
      "reading WISH is not enough",
    );
    assert.equal((await get("wish", "/api/v1/experiments/IPTS-300/members")).status, 200, "its scientist is");
  });

  test("POST /api/v1/catalog/import: administrators only; checked entry by entry; replace keeps hand-added members", async () => {
    const post = (body: unknown, auth: Record<string, string>, query = "") =>
      fetch(`${web.url}/api/v1/catalog/import${query}`, {
        method: "POST",
        headers: { "content-type": "application/json", ...auth },
        body: JSON.stringify(body),
      });
    const admin = { authorization: `Bearer ${web.adminToken}` };
    const entries = [
      { experiment: "IPTS-700", title: "Magnons", members: ["member", "wish"], pi: "Grace Hopper" },
    ];
    assert.equal((await post(entries, {})).status, 401);
    const mari = people.mari as Session;
    assert.equal((await mari.postJson("/api/v1/catalog/import", entries)).status, 403);

    const bad = await post(
      [
        { experiment: "IPTS-701", members: ["ok", "no spaces"] },
        { experiment: "IPTS/7", members: [] },
        { title: "x" },
      ],
      admin,
    );
    assert.equal(bad.status, 422);
    const refused = (await bad.json()) as { problems: string[] };
    assert.equal(refused.problems.length, 4);
    assert.match(refused.problems[0] ?? "", /^entry 1 \(IPTS-701\): members\[1\]: bad user name "no spaces"/);
    assert.match(refused.problems[1] ?? "", /^entry 2 \(IPTS\/7\): experiment/);
    assert.match(
      refused.problems.slice(2).join("\n"),
      /entry 3: experiment: missing[\s\S]*entry 3: members: missing/,
    );
    const catalog = new LocalCatalog(web.database);
    assert.deepEqual(await catalog.membersOf("IPTS-701"), [], "nothing imported");

    const done = await post(entries, admin);
    assert.equal(done.status, 200);
    assert.deepEqual(await done.json(), {
      experiments: 1,
      added: 2,
      removed: 0,
      unchanged: 0,
      withoutAccount: [],
    });
    await catalog.addMember("IPTS-700", "outsider");
    const replaced = await post([{ experiment: "IPTS-700", members: ["member"] }], admin, "?replace=true");
    assert.equal(replaced.status, 200);
    assert.equal(((await replaced.json()) as { removed: number }).removed, 1);
    assert.deepEqual(
      await catalog.membersOf("IPTS-700"),
      ["member", "outsider"],
      "the hand-added member stays",
    );
    assert.equal((await catalog.describe("IPTS-700"))?.title, "Magnons", "no title given: the old one kept");
    assert.equal((await post(entries, admin, "?wipe=1")).status, 400);

    const withCsrf = await (people.admin as Session).postJson("/api/v1/catalog/import", entries);
    assert.equal(withCsrf.status, 200, "a signed-in admin's browser, with its CSRF header");
  });
});

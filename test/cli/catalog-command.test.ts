import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { LocalCatalog } from "../../src/catalog/catalog.ts";
import { CatalogFileError, parseCatalogCsv, parseCatalogJson } from "../../src/catalog/catalog-file.ts";
import { loadConfig } from "../../src/config/load-config.ts";
import { openStateDatabase, type SqlDatabase } from "../../src/store/state-database.ts";
import { cli, makeDeployment } from "../helpers/deployment.ts";

const problemsOf = (read: () => unknown): string[] => {
  try {
    read();
  } catch (e) {
    if (e instanceof CatalogFileError) return e.problems;
    throw e;
  }
  assert.fail("the file was accepted");
};

describe("catalog export files (pure)", () => {
  test("CSV: a header names the columns in any order; quoted fields hold commas, quotes and line breaks", () => {
    const entries = parseCatalogCsv(
      [
        "\uFEFFusername,Experiment,title,pi,start,end",
        'alice,IPTS-1,"Spins, waves and ""magnons""",Ada Lovelace,2026-03-01,2026-03-04',
        "bob,IPTS-1,,,,",
        "",
        'carol,IPTS-2,"two',
        'lines",,,',
        ",IPTS-3,No members yet,,,",
      ].join("\r\n"),
    );
    assert.deepEqual(entries, [
      {
        experiment: "IPTS-1",
        title: 'Spins, waves and "magnons"',
        members: ["alice", "bob"],
        metadata: { pi: "Ada Lovelace", start: "2026-03-01", end: "2026-03-04" },
      },
      { experiment: "IPTS-2", title: "two\r\nlines", members: ["carol"], metadata: {} },
      { experiment: "IPTS-3", title: "No members yet", members: [], metadata: {} },
    ]);
  });

  test("CSV: every bad line is named, and disagreeing lines name each other", () => {
    assert.deepEqual(
      problemsOf(() => parseCatalogCsv("experiment,user\nIPTS-1,alice\n")),
      [
        'line 1: unknown column "user" (known: experiment, username, title, pi, start, end, proposal)',
        'line 1: the header has no "username" column',
      ],
    );
    assert.deepEqual(
      problemsOf(() =>
        parseCatalogCsv(
          [
            "experiment,username,title,start",
            "IPTS-1,alice,A,2026-01-01",
            "IPTS-1,bob,B,",
            "IPTS/2,carol,,",
            "IPTS-3,no spaces,,tomorrow",
            "IPTS-4,dave",
            ",erin,,",
            'IPTS-5,"frank',
          ].join("\n"),
        ),
      ),
      [
        'line 3: IPTS-1 has title "B" here but "A" on line 2',
        'line 4: experiment "IPTS/2" may hold only letters, digits, punctuation and spaces (no "/", "\\" or control characters)',
        'line 5: bad user name "no spaces": letters, digits and _ . @ - (up to 100, not starting with punctuation)',
        'line 5: start "tomorrow" is not a date (write 2026-03-01 or 2026-03-01T09:00Z)',
        "line 6: 2 fields, but the header has 4",
        "line 7: no experiment",
        'line 8: a quoted field is never closed (a missing ")',
      ],
    );
    assert.deepEqual(
      problemsOf(() => parseCatalogCsv("\n\n")),
      ["the file is empty: it needs a header row (experiment,username,…)"],
    );
  });

  test("JSON: one entry per experiment; extra keys are kept as metadata; problems name the entry", () => {
    assert.deepEqual(
      parseCatalogJson([
        {
          experiment: 1234567,
          members: ["b", "a", "a"],
          title: "RB",
          pi: "P",
          proposal: "X-1",
          dates: { cycle: "26/1" },
        },
      ]),
      [
        {
          experiment: "1234567",
          title: "RB",
          members: ["a", "b"],
          metadata: { proposal: "X-1", dates: { cycle: "26/1" }, pi: "P" },
        },
      ],
    );
    assert.deepEqual(
      problemsOf(() => parseCatalogJson({ experiment: "x" })),
      ['the JSON must be an array of experiments: [{"experiment": "IPTS-1234", "members": ["alice"], …}]'],
    );
    assert.deepEqual(
      problemsOf(() =>
        parseCatalogJson([
          { experiment: "IPTS-1", members: [] },
          { experiment: "IPTS-1", members: [] },
          { experiment: "IPTS-2", members: "alice" },
          { experiment: "IPTS-3", members: [], end: "soon" },
        ]),
      ),
      [
        "entry 2 (IPTS-1): IPTS-1 is also entry 1: give each experiment once",
        "entry 3: members: expected array, received string",
        'entry 4 (IPTS-3): end "soon" is not a date (write 2026-03-01 or 2026-03-01T09:00Z)',
      ],
    );
  });
});

describe("autoreduce catalog", () => {
  const d = makeDeployment();
  const catalogCli = (...args: string[]) => cli(["catalog", ...args, "--config", d.configFile]);
  let database: SqlDatabase;
  let catalog: LocalCatalog;
  const file = (name: string, text: string) => {
    const path = join(d.dir, name);
    writeFileSync(path, text);
    return path;
  };
  before(async () => {
    database = await openStateDatabase(loadConfig(d.configFile).database.url);
    catalog = new LocalCatalog(database);
  });
  after(async () => {
    await database.close();
    d.cleanup();
  });

  test("import a CSV export: members, title and metadata; names without an account are listed", async () => {
    const csv = file(
      "export.csv",
      "experiment,username,title,pi,start,end\nIPTS-1,alice,Magnons,Ada,2026-03-01,2026-03-04\nIPTS-1,bob,,,,\nIPTS-2,alice,Phonons,,,\n",
    );
    const imported = await catalogCli("import", csv);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /imported 2 experiments: 3 members added, 0 unchanged/);
    assert.match(imported.stdout, /2 listed user names have no account yet .*: alice, bob/);
    assert.deepEqual(await catalog.membersOf("IPTS-1"), ["alice", "bob"]);
    assert.deepEqual(await catalog.experimentsOf("alice"), ["IPTS-1", "IPTS-2"]);
    assert.deepEqual(await catalog.describe("IPTS-1"), {
      experiment: "IPTS-1",
      title: "Magnons",
      metadata: { pi: "Ada", start: "2026-03-01", end: "2026-03-04" },
    });
    const again = await catalogCli("import", csv);
    assert.match(again.stdout, /0 members added, 3 unchanged/);
  });

  test("import a JSON export (told apart by its first character when the name says nothing)", async () => {
    const json = file(
      "export.txt",
      JSON.stringify([{ experiment: "IPTS-3", title: "Diffraction", members: ["carol"], proposal: "P-9" }]),
    );
    const imported = await catalogCli("import", json);
    assert.equal(imported.code, 0, imported.stderr);
    assert.deepEqual(await catalog.membersOf("IPTS-3"), ["carol"]);
    assert.deepEqual((await catalog.describe("IPTS-3"))?.metadata, { proposal: "P-9" });
  });

  test("a bad export imports nothing and names each bad line (exit 1)", async () => {
    const bad = file("bad.csv", "experiment,username\nIPTS-9,dave\nIPTS-9,no spaces\nIPTS/9,erin\n");
    const refused = await catalogCli("import", bad);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /nothing imported: 2 problems:\n {2}line 3: bad user name "no spaces"/);
    assert.match(refused.stderr, /\n {2}line 4: experiment "IPTS\/9"/);
    assert.deepEqual(await catalog.membersOf("IPTS-9"), [], "not even the good line");
    const missing = await catalogCli("import", join(d.dir, "no-such-file.csv"));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*no-such-file\.csv/);
    const format = await catalogCli("import", bad, "--format", "xml");
    assert.equal(format.code, 2, "bad usage");
  });

  test("--replace removes imported members no longer listed, never those added by hand", async () => {
    const added = await catalogCli("add-member", "IPTS-1", "frank");
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /frank added to IPTS-1/);
    assert.match((await catalogCli("add-member", "IPTS-1", "frank")).stdout, /already a member/);
    const smaller = file("smaller.csv", "experiment,username\nIPTS-1,alice\n");
    const kept = await catalogCli("import", smaller);
    assert.match(kept.stdout, /0 members added, 1 unchanged$/m, "without --replace nobody is removed");
    assert.deepEqual(await catalog.membersOf("IPTS-1"), ["alice", "bob", "frank"]);
    const replaced = await catalogCli("import", smaller, "--replace");
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.match(replaced.stdout, /0 members added, 1 unchanged, 1 removed/);
    assert.deepEqual(await catalog.membersOf("IPTS-1"), ["alice", "frank"]);
    assert.deepEqual(
      await catalog.membersOf("IPTS-2"),
      ["alice"],
      "experiments not in the file are untouched",
    );
  });

  test("add-member, remove-member and list (table and JSON)", async () => {
    const listed = await catalogCli("list");
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^EXPERIMENT\s+MEMBERS\s+TITLE$/m);
    assert.match(listed.stdout, /^IPTS-1\s+2\s+Magnons$/m);
    const one = await catalogCli("list", "IPTS-1");
    assert.match(one.stdout, /^IPTS-1: Magnons$/m);
    assert.match(one.stdout, /^pi: Ada$/m);
    assert.match(one.stdout, /^frank\s+added by hand/m);
    assert.match(one.stdout, /^alice\s+catalog/m);
    const json = JSON.parse((await catalogCli("list", "IPTS-1", "--json")).stdout) as {
      title: string;
      members: Array<{ username: string; source: string }>;
    };
    assert.equal(json.title, "Magnons");
    assert.deepEqual(
      json.members.map((m) => [m.username, m.source]),
      [
        ["alice", "catalog"],
        ["frank", "local"],
      ],
    );
    const removed = await catalogCli("remove-member", "IPTS-1", "frank");
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(await catalog.membersOf("IPTS-1"), ["alice"]);
    assert.equal((await catalogCli("remove-member", "IPTS-1", "frank")).code, 1, "not a member any more");
    assert.equal((await catalogCli("add-member", "IPTS/1", "x")).code, 2, "not an experiment name");
    assert.equal((await catalogCli("add-member", "IPTS-1", "no spaces")).code, 2, "not a user name");
  });
});

import assert from "node:assert/strict";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { agentIntakeProblem } from "../../src/worker/agent-intake.ts";
import { tempDir } from "../helpers/temp-dir.ts";

const scratch = tempDir("autoreduce-agent-intake-");
after(() => scratch.cleanup());
const archive = join(scratch.path, "archive");
mkdirSync(join(archive, "a-folder"), { recursive: true });
const present = join(archive, "EQSANS_30892_event.nxs");
writeFileSync(present, "data");
const job = {
  facility: "SNS",
  instrument: "eqsans",
  ipts: "IPTS-10674",
  run_number: "30892",
  data_file: present,
};
const without = (key: keyof typeof job) => Object.fromEntries(Object.entries(job).filter(([k]) => k !== key));

/** The agent's texts (`BaseProcessor._process_data`), in its order: the data file first. */
const cases: Array<[string, Record<string, unknown>, string | null]> = [
  ["a complete job with a readable file passes", job, null],
  ["no data_file", without("data_file"), "data_file is missing: None"],
  [
    "a missing file",
    { ...job, data_file: join(archive, "DOES_NOT_EXIST.nxs") },
    `Data file not found: ${join(archive, "DOES_NOT_EXIST.nxs")}`,
  ],
  [
    "a folder in place of the file",
    { ...job, data_file: join(archive, "a-folder") },
    `Data file open error for file ${join(archive, "a-folder")}`,
  ],
  [
    "the file is checked before the fields",
    { data_file: join(archive, "x") },
    `Data file not found: ${join(archive, "x")}`,
  ],
  ["no facility", without("facility"), "Facility is missing"],
  ["no instrument", without("instrument"), "Instrument is missing"],
  ["no ipts", without("ipts"), "IPTS is missing"],
  ["no run_number", without("run_number"), "Run number is missing"],
  [
    "a file outside the archive roots is left to acceptance, unopened",
    { ...job, data_file: "/etc/shadow" },
    null,
  ],
];
for (const [name, body, expected] of cases) {
  test(`agent intake: ${name}`, () => assert.equal(agentIntakeProblem(body, [archive]), expected));
}

test("agent intake: an unreadable file is 'permission denied' (when not running as root)", (t) => {
  const locked = join(archive, "locked.nxs");
  writeFileSync(locked, "data");
  chmodSync(locked, 0o000);
  if (process.getuid?.() === 0) {
    t.diagnostic("root reads any file; the permission text cannot be produced here");
    return;
  }
  assert.equal(
    agentIntakeProblem({ ...job, data_file: locked }, [archive]),
    `Data file permission denied: ${locked}`,
  );
});

import assert from "node:assert/strict";
import { test } from "node:test";
import { type CommandLine, commandLine, type Invocation, RUNNERS } from "../../src/scripts/command-line.ts";

const WORKSPACE = { script: "/s/reduce_X.py", varsDir: "/ws/vars", resultFile: "/ws/result.json" };

const CASES: Array<[string, Invocation, Partial<typeof WORKSPACE>, CommandLine]> = [
  [
    "sns python script: the runner, output folder with a trailing slash",
    { convention: "sns", dataFile: "/a/X_1.nxs.h5", outputDir: "/o" },
    {},
    { command: "py", args: [RUNNERS.sns, "/s/reduce_X.py", "/ws/vars", "/a/X_1.nxs.h5", "/o/"] },
  ],
  [
    "sns non-python script: called directly",
    { convention: "sns", dataFile: "/a/X_1.nxs.h5", outputDir: "/o/" },
    { script: "/s/reduce_X.sh" },
    { command: "py", args: ["/s/reduce_X.sh", "/a/X_1.nxs.h5", "/o/"] },
  ],
  [
    "isis: the runner around main(input_file, output_dir)",
    { convention: "isis", dataFile: "/a/X_1.nxs", outputDir: "/o" },
    {},
    {
      command: "py",
      args: [RUNNERS.isis, "/s/reduce_X.py", "/a/X_1.nxs", "/o/", "/ws/vars", "/ws/result.json"],
    },
  ],
  [
    "plain: the script with the caller's arguments, unchanged",
    { convention: "plain", args: ["--config", "/c/calib.yaml", "/o"] },
    {},
    { command: "py", args: ["/s/reduce_X.py", "--config", "/c/calib.yaml", "/o"] },
  ],
  [
    "plain without arguments",
    { convention: "plain", args: [] },
    { script: "/s/calibrate.sh" },
    { command: "py", args: ["/s/calibrate.sh"] },
  ],
];

for (const [name, invocation, workspace, expected] of CASES) {
  test(`command line: ${name}`, () => {
    assert.deepEqual(commandLine(invocation, { ...WORKSPACE, ...workspace }, "py"), expected);
  });
}

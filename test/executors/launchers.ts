import type { LauncherKind } from "../../src/executors/launcher-choice.ts";

/**
 * Both launchers, for the executor tests to run against each: the Python one (what a worker runs
 * where python3 is installed) and the Node one (its fallback).
 */
export const LAUNCHERS: LauncherKind[] = ["python", "node"];

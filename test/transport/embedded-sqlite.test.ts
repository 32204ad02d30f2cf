import { join } from "node:path";
import { tempDir } from "../helpers/temp-dir.ts";
import { transportConformance } from "./conformance.ts";

transportConformance("embedded on SQLite", async () => {
  const dir = tempDir();
  return {
    spec: { kind: "embedded", url: `sqlite:${join(dir.path, "state.db")}` },
    drop: async () => dir.cleanup(),
  };
});

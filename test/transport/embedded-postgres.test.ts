import { createTestDatabase } from "../helpers/postgres.ts";
import { transportConformance } from "./conformance.ts";

transportConformance("embedded on PostgreSQL", async () => {
  const { url, drop } = await createTestDatabase();
  return { spec: { kind: "embedded", url }, drop };
});

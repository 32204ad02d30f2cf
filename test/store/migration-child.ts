// Opens a database (state and transport tables) at a given instant, so that several processes race.
// Usage: node --import tsx migration-child.ts URL START_EPOCH_MS
import { openStateDatabase, type SqlDatabase } from "../../src/store/state-database.ts";
import { EmbeddedTransport } from "../../src/transport/embedded/embedded-transport.ts";

const [url, start] = process.argv.slice(2);
const wait = Number(start) - Date.now();
if (wait > 0) await new Promise((r) => setTimeout(r, wait));
const database = await openStateDatabase(url ?? "");
const transport = await EmbeddedTransport.open(database as SqlDatabase<unknown>);
await transport.close();
await database.close();
console.log("ok");

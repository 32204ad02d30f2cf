// The far end of the change-feed bench: a process of its own that subscribes to the change feed
// of the deployment in argv[2] and prints one JSON line per job event with its delay, measured on
// this process's clock (the same machine's) against the publisher's `published_at`.
import { loadConfig } from "../src/config/load-config.ts";
import { silentLogger } from "../src/logging/logger.ts";
import { subscribeChanges } from "../src/service/change-subscriber.ts";
import { openTransport } from "../src/transport/open-transport.ts";

const config = loadConfig(process.argv[2] ?? "autoreduce.yaml");
const { transport, close } = await openTransport(config, silentLogger());
const subscription = await subscribeChanges(
  transport,
  config,
  (event) => {
    const now = Date.now();
    if (event.subject !== "job") return;
    const line = {
      run: event.run_number,
      status: event.status,
      seq: event.seq,
      delay: now - event.published_at,
      since_updated: now - event.updated_at,
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  },
  { log: silentLogger() },
);
process.stderr.write("subscribed\n");
// A subscription does not keep a process alive (the transport's timers are unref'd): this one waits for SIGTERM.
const alive = setInterval(() => {}, 60_000);
process.once("SIGTERM", () => {
  clearInterval(alive);
  void subscription
    .unsubscribe()
    .then(close)
    .then(() => process.exit(0));
});

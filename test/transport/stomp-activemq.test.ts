import { sharedActiveMQ } from "../helpers/brokers.ts";
import { transportConformance } from "./conformance.ts";

transportConformance(
  "STOMP on ActiveMQ",
  async () => ({ spec: { kind: "stomp", brokers: sharedActiveMQ() }, drop: async () => {} }),
  { depth: true, cutConnection: true },
);

import { sharedRabbitMQ } from "../helpers/brokers.ts";
import { transportConformance } from "./conformance.ts";

transportConformance(
  "STOMP on RabbitMQ",
  async () => ({ spec: { kind: "stomp", brokers: sharedRabbitMQ() }, drop: async () => {} }),
  { depth: false, cutConnection: true },
);

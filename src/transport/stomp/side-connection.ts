import { Client, type StompHeaders, Versions } from "@stomp/stompjs";
import { TransportUnavailableError } from "../transport.ts";
import { type BrokerAddress, formatBroker } from "./broker-list.ts";
import { StompSocket } from "./tcp-socket.ts";

/**
 * A short-lived STOMP connection of its own, for one operator's look at a RabbitMQ queue.
 * RabbitMQ keeps the unacknowledged messages of a cancelled subscription until its connection
 * closes (and a NACK can send a message straight back to the subscription being cancelled), so a
 * look holds what it is given on a connection of its own and closes it: the broker then puts
 * every message it did not acknowledge back in its place.
 */
export async function openSideConnection(
  broker: BrokerAddress,
  credentials: StompHeaders,
  timeoutMs: number,
): Promise<Client> {
  const client = new Client({
    webSocketFactory: () => new StompSocket(broker.host, broker.port),
    connectHeaders: credentials,
    stompVersions: new Versions([Versions.V1_2]),
    reconnectDelay: 0,
    heartbeatIncoming: 0,
    heartbeatOutgoing: 0,
    connectionTimeout: timeoutMs,
    discardWebsocketOnCommFailure: true,
    debug: () => {},
  });
  await new Promise<void>((resolve, reject) => {
    let brokerError = "";
    client.onConnect = () => resolve();
    client.onStompError = (frame) => {
      brokerError = [frame.headers.message, frame.body.trim()].filter(Boolean).join(": ");
    };
    client.onWebSocketClose = () =>
      reject(
        new TransportUnavailableError(
          `cannot open a connection to ${formatBroker(broker)}${brokerError ? `: ${brokerError}` : ""}`,
        ),
      );
    client.activate();
  });
  return client;
}

import { createConnection, type Socket } from "node:net";
import { TCPWrapper } from "@stomp/tcp-wrapper";

/**
 * STOMP over plain TCP with Nagle's algorithm off. Our frames are small and answered at once
 * (receipts, acknowledgements): with Nagle on, each exchange waits for the peer's delayed ACK,
 * about 40 ms a hop, which made a run's dispatch take ~95 ms instead of a few.
 */
export class StompSocket extends TCPWrapper {
  protected override getSocket(port: number, host: string): Socket {
    const socket = createConnection(port, host);
    socket.setNoDelay(true);
    return socket;
  }
}

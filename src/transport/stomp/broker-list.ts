/** One broker's STOMP address. */
export interface BrokerAddress {
  host: string;
  port: number;
}

/** What a broker entry may look like, for error messages. */
const EXPECTED =
  "expected host:port, stomp://host:port, tcp://host:port or failover:(tcp://host:port,...)?options";

/** The STOMP port both ActiveMQ and RabbitMQ use unless told otherwise. */
const DEFAULT_PORT = 61613;

const PLAIN_SCHEMES = new Set(["stomp", "tcp", "nio", "auto"]);
const TLS_SCHEMES = new Set(["ssl", "tls", "stomps", "stomp+ssl", "stomp+nio+ssl", "nio+ssl", "auto+ssl"]);

/**
 * Reads the broker list of a config: SNS's ActiveMQ failover URI
 * (`failover:(tcp://a:61613,tcp://b:61613)?randomize=false,...`, whose options are ignored: our
 * own reconnect settings apply), `stomp://host:port`, `tcp://host:port`, `host:port`, a list of
 * those, or `[host, port]` pairs. The order is kept: it is the order connections are tried in.
 */
export function parseBrokers(input: string | string[] | Array<[string, number]>): BrokerAddress[] {
  const entries: Array<string | [string, number]> = typeof input === "string" ? [input] : [...input];
  const brokers: BrokerAddress[] = [];
  for (const entry of entries) {
    if (typeof entry === "string") brokers.push(...parseBrokerString(entry));
    else brokers.push(checkPair(entry));
  }
  if (brokers.length === 0) throw new Error(`no STOMP broker given; ${EXPECTED}`);
  return brokers;
}

/** `host:port`, with IPv6 hosts in brackets: for logs and error messages. */
export function formatBroker(broker: BrokerAddress): string {
  return broker.host.includes(":") ? `[${broker.host}]:${broker.port}` : `${broker.host}:${broker.port}`;
}

/** One string: a failover URI, or one address or several separated by commas. */
function parseBrokerString(text: string): BrokerAddress[] {
  const trimmed = text.trim();
  if (/^failover:/i.test(trimmed)) return parseFailover(trimmed);
  return splitList(trimmed, text).map(parseAddress);
}

/** `failover:(uri,uri)?options` or `failover:uri,uri?options` (ActiveMQ accepts both). */
function parseFailover(text: string): BrokerAddress[] {
  let inner = text.slice("failover:".length).trim();
  if (inner.startsWith("(")) {
    const close = inner.indexOf(")");
    if (close < 0)
      throw new Error(`invalid broker "${text}": the "(" of the failover URI is not closed; ${EXPECTED}`);
    const rest = inner.slice(close + 1).trim();
    if (rest !== "" && !rest.startsWith("?"))
      throw new Error(`invalid broker "${text}": unexpected "${rest}" after the failover list; ${EXPECTED}`);
    inner = inner.slice(1, close);
  } else {
    const query = inner.indexOf("?");
    if (query >= 0) inner = inner.slice(0, query);
  }
  const addresses = splitList(inner, text).map(parseAddress);
  if (addresses.length === 0) throw new Error(`invalid broker "${text}": the failover list is empty`);
  return addresses;
}

function splitList(list: string, original: string): string[] {
  const parts = list.split(",").map((part) => part.trim());
  if (parts.some((part) => part === "") && parts.length > 1)
    throw new Error(`invalid broker "${original}": an empty entry in the list; ${EXPECTED}`);
  return parts.filter((part) => part !== "");
}

/** One `scheme://host:port/?options` or `host:port`. */
function parseAddress(entry: string): BrokerAddress {
  let rest = entry;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(entry);
  if (scheme?.[1]) {
    const name = scheme[1].toLowerCase();
    if (TLS_SCHEMES.has(name))
      throw new Error(
        `invalid broker "${entry}": TLS is not supported yet; use a plain stomp:// or tcp:// address (on a private network, or behind a TLS tunnel such as stunnel)`,
      );
    if (!PLAIN_SCHEMES.has(name))
      throw new Error(`invalid broker "${entry}": unknown scheme "${name}://"; ${EXPECTED}`);
    rest = entry.slice(scheme[0].length);
  } else if (entry.includes("://")) {
    throw new Error(`invalid broker "${entry}": malformed scheme; ${EXPECTED}`);
  }
  rest = rest.replace(/[/?].*$/s, ""); // a path or options after the address (tcp://a:61613?x=y)
  return hostAndPort(rest, entry);
}

function hostAndPort(text: string, entry: string): BrokerAddress {
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (v6?.[1]) {
    host = v6[1];
    portText = v6[2];
  } else {
    const colons = text.split(":").length - 1;
    if (colons > 1)
      throw new Error(
        `invalid broker "${entry}": write an IPv6 address in brackets, [::1]:61613; ${EXPECTED}`,
      );
    const at = text.indexOf(":");
    host = at < 0 ? text : text.slice(0, at);
    portText = at < 0 ? undefined : text.slice(at + 1);
  }
  if (host === "" || /\s/.test(host)) throw new Error(`invalid broker "${entry}": no host; ${EXPECTED}`);
  return checkPair([host, portText === undefined ? DEFAULT_PORT : parsePort(portText, entry)], `"${entry}"`);
}

function parsePort(text: string, entry: string): number {
  if (!/^\d+$/.test(text)) throw new Error(`invalid broker "${entry}": the port "${text}" is not a number`);
  return Number(text);
}

function checkPair(pair: [string, number], entry = JSON.stringify(pair)): BrokerAddress {
  const [host, port] = pair;
  if (typeof host !== "string" || host.trim() === "")
    throw new Error(`invalid broker ${entry}: the host must be a non-empty string`);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`invalid broker ${entry}: the port must be a whole number from 1 to 65535`);
  return { host: host.trim(), port };
}

/**
 * Connecting to a NATS server, the one way every NATS part of dipc does it (src/nats.ts's
 * channels, src/nats_pool.ts's pool): the address checked, the server's greeting awaited on a
 * connection of our own first (the client cannot be cancelled and leaves a socket open on a
 * silent server), every failure naming the server.
 *
 * @module
 */

import { connect, type NatsConnection, type NodeConnectionOptions } from "./_nats_client.ts";
import { bounded, type Bounds, deadlineFor, promiseWithin, timerMs } from "./_wait.ts";
import { describe } from "./_validate.ts";
import { E, ERRNO } from "../ffi/constants.ts";
import { ErrnoError } from "./errors.ts";

/** A server address or a connection, checked. */
export function validateServer(server: unknown): string | NatsConnection {
  if (typeof server === "string") {
    if (!/^(nats:\/\/)?[A-Za-z0-9.\-_[\]:]+(:\d{1,5})?$/.test(server)) {
      throw new TypeError(`server ${JSON.stringify(server)} must be host:port or nats://host:port`);
    }
    return server;
  }
  if (
    typeof server !== "object" || server === null ||
    typeof (server as NatsConnection).publish !== "function" ||
    typeof (server as NatsConnection).subscribe !== "function"
  ) {
    throw new TypeError(`server must be an address or a NatsConnection, got ${describe(server)}`);
  }
  return server as NatsConnection;
}

/** The server a connection or address is about, as errors name it. */
export function serverOf(where: string | NatsConnection): string {
  if (typeof where === "string") return where;
  try {
    return where.getServer();
  } catch {
    return "(a connection)";
  }
}

/**
 * A connection to `server` (owned), or the caller's (not owned), within `bounds`: a connect
 * that is given up on is closed when it completes, and a failure names the server.
 */
export async function connection(
  server: string | NatsConnection,
  reconnectMs: number,
  bounds: Bounds,
): Promise<{ nc: NatsConnection; owned: boolean }> {
  if (typeof server !== "string") return { nc: server, owned: false };
  bounds.signal?.throwIfAborted();
  // The client cannot be cancelled, and one that gives up on a silent server leaves its socket
  // open: see that a server answers first, on a connection of our own that we close.
  const limited = bounds.deadline === undefined
    ? bounded(deadlineFor(CONNECT_TIMEOUT_MS), bounds.signal)
    : bounds;
  await greeted(server, limited);
  const wait = 250;
  const options: NodeConnectionOptions = {
    servers: server,
    reconnectTimeWait: wait,
    maxReconnectAttempts: Math.max(1, Math.ceil(reconnectMs / wait)),
    pingInterval: 2000,
    maxPingOut: 3,
    // The client's own connect timeout, bounded by ours (it closes its socket when it fires).
    ...(bounds.deadline === undefined ? {} : { timeout: Math.max(1, timerMs(bounds.deadline)) }),
  };
  const connecting = connect(options);
  try {
    return {
      nc: await promiseWithin(connecting, bounds, `connecting to NATS server ${server}`),
      owned: true,
    };
  } catch (e) {
    // Given up on (or failed): whatever connects later is closed, never left open.
    void connecting.then((nc) => nc.close(), () => {});
    throw setupError(e, `connect to NATS server ${server}`);
  }
}

/** The client's own connect timeout, ms: the bound on a connect given no timeout. */
export const CONNECT_TIMEOUT_MS = 20_000;

/** Host and port of a server address as {@linkcode validateServer} accepts it (4222 default). */
function hostPort(server: string): { hostname: string; port: number } {
  const rest = server.replace(/^nats:\/\//, "");
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest) ?? /^([^:]+)(?::(\d+))?$/.exec(rest);
  if (m === null) return { hostname: rest, port: 4222 }; // a bare IPv6 address
  return { hostname: m[1] ?? "", port: m[2] === undefined ? 4222 : Number(m[2]) };
}

/**
 * Resolves once the server at `server` has sent its greeting (a NATS server's first line is
 * `INFO {…}`), on a TCP connection made and closed here; rejects within `bounds` (TimeoutError,
 * the signal's reason) or when nothing listens, naming the server either way.
 */
async function greeted(server: string, bounds: Bounds): Promise<void> {
  const { hostname, port } = hostPort(server);
  let conn: Deno.TcpConn | undefined;
  const opening = Deno.connect({ hostname, port });
  try {
    conn = await promiseWithin(opening, bounds, `connecting to NATS server ${server}`);
    const buf = new Uint8Array(4096);
    let got = "";
    while (!got.includes("\n")) {
      const n = await promiseWithin(
        conn.read(buf),
        bounds,
        `waiting for NATS server ${server} to greet (a server that accepts and says nothing)`,
      );
      if (n === null) throw new Error("the connection was closed before the server's greeting");
      got += new TextDecoder().decode(buf.subarray(0, n));
      if (got.length > 65536) break;
    }
    if (!got.startsWith("INFO ")) {
      // Not a NATS server: bytes a peer got wrong, reported as the ring reports them.
      throw new ErrnoError(E.EPROTO, "read", {
        action: `connect to NATS server ${server}`,
        detail: `its first words were not INFO: ${JSON.stringify(got.slice(0, 40))}`,
      });
    }
  } catch (e) {
    void opening.then((c) => c !== conn && c.close(), () => {});
    throw setupError(e, `connect to NATS server ${server}`);
  } finally {
    try {
      conn?.close();
    } catch {
      // closed already
    }
  }
}

/**
 * A setup failure as the caller sees it: the signal's reason as it is; a timeout (ours or the
 * client's) as a `TimeoutError`; anything else an Error naming what failed and the server.
 */
export function setupError(e: unknown, what: string): unknown {
  if (e instanceof DOMException && e.name === "AbortError") return e;
  if (e instanceof DOMException && e.name === "TimeoutError") return e;
  const text = e instanceof Error ? e.message : String(e);
  if (/timeout/i.test(text) || (e as { code?: unknown })?.code === "TIMEOUT") {
    return new DOMException(`${what} timed out (${text})`, "TimeoutError");
  }
  if (!(e instanceof Error)) return e;
  if (e instanceof ErrnoError) return e;
  // What the network said, as the errno it is, naming the call and the server: Deno's network
  // errors and the NATS client's both carry the errno's name in `code`.
  const code = (e as { code?: unknown }).code;
  const errno = typeof code === "string" && Object.hasOwn(ERRNO, code) ? ERRNO[code] : undefined;
  if (errno !== undefined) {
    return new ErrnoError(errno, "connect", { action: what, detail: text });
  }
  if (text.includes(what)) return e;
  return new Error(`cannot ${what}: ${text}`, { cause: e });
}

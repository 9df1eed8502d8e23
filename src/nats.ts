/**
 * Channels across machines, on a real broker: NATS (`@dipc/dipc/nats`). A program written
 * against {@linkcode Channel} moves from a ring or a queue on one machine to a NATS subject, or
 * to a JetStream stream whose messages survive a broker restart, by changing the line that opens
 * the channel:
 *
 * ```ts ignore
 * import { jsonCodec } from "@dipc/dipc";
 * import { jetStreamChannel, natsSubjectChannel } from "@dipc/dipc/nats";
 *
 * await using tx = await natsSubjectChannel("nats://127.0.0.1:4222", "jobs", "send", {
 *   codec: jsonCodec,
 * });
 * // await using tx = await jetStreamChannel("nats://127.0.0.1:4222", "jobs", "send", { codec: jsonCodec });
 * await tx.send({ job: 1 });
 * await tx.end();
 * ```
 *
 * This entry point is separate from mod.ts so that dipc's own graph holds no third-party code:
 * it uses the official NATS client from npm (`@nats-io/transport-node` and
 * `@nats-io/jetstream`, pinned to 3.4.0).
 *
 * - **A subject** (`natsSubjectChannel`): core NATS, at most once. Order is kept per sender;
 *   a receiver gets what is published while it is subscribed (a receiver that is down, or too
 *   slow for the server, loses messages).
 * - **A JetStream stream** (`jetStreamChannel`): every send waits for the server's
 *   acknowledgement that the message is stored; the receiver is a durable consumer, so a
 *   receiver that restarts continues where it left off. A message is acknowledged when the next
 *   receive is made (or at `end`/`close`): one whose receiver died before asking for the next is
 *   delivered again (at least once).
 *
 * The end of the stream is a message with the header `Dipc-End`; a receiver returns
 * {@linkcode END_OF_STREAM} after `senders` of them (default 1). While the connection is down
 * the client reconnects (by default for as long as `reconnectMs` allows, 30 s); after that the
 * channel fails: pending and later calls reject with an error naming the server.
 *
 * @module
 */

import {
  headers,
  type Msg,
  type NatsConnection as ClientConnection,
  type Subscription,
} from "./_nats_client.ts";

/**
 * A connection made with the NATS client dipc uses (`@nats-io/transport-node`'s `connect`), for
 * passing one of yours in: it is used as it is and left open.
 */
export type NatsConnection = ClientConnection;
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  jetstream,
  type JetStreamClient,
  jetstreamManager,
  type JsMsg,
  StorageType,
} from "./_nats_client.ts";
import { Channel, type ChannelOptions, type ChannelTransport } from "./channel.ts";
import { ClosedError } from "./errors.ts";
import { END_OF_STREAM, type EndOfStream, WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
import { type Bounds, boundsOf, promiseWithin, waitBoundsOf, type WaitOptions } from "./_wait.ts";
import { describe, validateInteger, validateOptionKeys } from "./_validate.ts";
import { validateCodec } from "./_codec.ts";
import { INTERNAL } from "./_internal.ts";
import { connection, serverOf, setupError, validateServer } from "./_nats_connect.ts";

export { END_OF_STREAM, WOULD_BLOCK } from "./_sentinels.ts";

/** The header that marks the end of a sender's stream. */
export const END_HEADER = "Dipc-End";

/** Options for {@linkcode natsSubjectChannel}. */
export interface NatsChannelOptions<T> extends ChannelOptions<T> {
  /** How many senders' end marks end the stream for this receiver (default 1). */
  senders?: number;
  /**
   * With a server address (not a connection): how long the client keeps reconnecting after
   * losing the server, ms (default 30,000), before the channel fails.
   */
  reconnectMs?: number;
  /**
   * Ends the setup (connecting, subscribing, making the stream and consumer) when aborted: the
   * factory rejects with the signal's reason and closes what it had made.
   */
  signal?: AbortSignal;
  /**
   * How long the setup may take, ms (default: the client's connect timeout, 20 s, for the
   * connection; no limit for the rest): then the factory rejects with a `TimeoutError` naming
   * the server, having closed what it had made.
   */
  timeout?: number;
}

/** Options for {@linkcode jetStreamChannel}. */
export interface JetStreamChannelOptions<T> extends NatsChannelOptions<T> {
  /** The stream (default: the subject with "." and other signs made "_"); made if missing. */
  stream?: string;
  /** The receiver's durable consumer (default `dipc`); its place survives restarts. */
  durable?: string;
  /**
   * How long the server waits for an acknowledgement before delivering a message again, ms
   * (default 30,000): what a receiver that died costs its successor in waiting.
   */
  ackWaitMs?: number;
  /** Sends in flight at once from `trySend` before it says {@linkcode WOULD_BLOCK} (default 256). */
  window?: number;
}

const SUBJECT_MAX = 4096;
/** Bytes published before a flush is awaited: the sender's backpressure. */
const FLUSH_BYTES = 4 << 20;

/** Throws unless `subject` is a NATS subject a sender can publish to: dot-separated tokens. */
function validateSubject(subject: unknown): string {
  if (typeof subject !== "string") {
    throw new TypeError(`subject must be a string, got ${describe(subject)}`);
  }
  if (subject.length === 0 || subject.length > SUBJECT_MAX) {
    throw new RangeError(`subject must be 1 to ${SUBJECT_MAX} characters long`);
  }
  // deno-lint-ignore no-control-regex
  if (/[\s\x00-\x1f*>]/.test(subject) || subject.split(".").some((t) => t === "")) {
    throw new TypeError(
      `subject ${JSON.stringify(subject)} must be dot-separated tokens without spaces, ` +
        "control characters or wildcards",
    );
  }
  return subject;
}

function validateRole(role: unknown): "send" | "receive" {
  if (role !== "send" && role !== "receive") {
    throw new TypeError(`role must be "send" or "receive", got ${describe(role)}`);
  }
  return role;
}

/** Throws unless `name` is a JetStream stream or consumer name. */
function validateName(name: unknown, what: string): string {
  if (typeof name !== "string") {
    throw new TypeError(`${what} must be a string, got ${describe(name)}`);
  }
  if (!/^[A-Za-z0-9_-]{1,255}$/.test(name)) {
    throw new TypeError(`${what} ${JSON.stringify(name)} must be 1 to 255 of A-Z a-z 0-9 _ -`);
  }
  return name;
}

/**
 * Received messages waiting to be taken, and the waits for them: the one place a NATS channel
 * waits. A failure of the source is kept and thrown once what came before it is taken.
 */
class Inbox<T> {
  #items: T[] = [];
  #head = 0;
  #wakers = new Set<() => void>();
  #failure: unknown;

  push(item: T): void {
    this.#items.push(item);
    this.#wake();
  }
  fail(e: unknown): void {
    this.#failure ??= e;
    this.#wake();
  }
  /** Takes every item still queued (for a clean close). */
  drain(): T[] {
    const rest = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return rest;
  }
  #wake(): void {
    for (const w of this.#wakers) w();
    this.#wakers.clear();
  }
  tryTake(): T | WouldBlock {
    if (this.#head < this.#items.length) {
      const item = this.#items[this.#head] as T;
      this.#items[this.#head++] = undefined as T;
      if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
        this.#items = this.#items.slice(this.#head);
        this.#head = 0;
      }
      return item;
    }
    if (this.#failure !== undefined) throw this.#failure;
    return WOULD_BLOCK;
  }
  async take(options: WaitOptions, what: string): Promise<T> {
    const bounds = boundsOf(options);
    for (;;) {
      const r = this.tryTake();
      if (r !== WOULD_BLOCK) return r;
      let wake = (): void => {};
      const woken = new Promise<void>((resolve) => (wake = resolve));
      this.#wakers.add(wake);
      try {
        await promiseWithin(woken, bounds, what);
      } finally {
        this.#wakers.delete(wake);
      }
    }
  }
}

/** The client's bytes (a Node Buffer) as a plain Uint8Array over the same memory. */
const plain = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

const isEnd = (m: { headers?: { has(k: string): boolean } | undefined }): boolean =>
  m.headers?.has(END_HEADER) ?? false;

/** What both NATS transports share: the connection, its end, the end marks counted. */
abstract class NatsTransport implements ChannelTransport {
  readonly name: string;
  readonly maxMessage: number;
  readonly sends: boolean;
  readonly receives: boolean;
  readonly sendsEmpty = true;
  /** A message's bytes are the client's fresh buffer (a view of what it read), never reused. */
  readonly keepable = true;
  protected nc: NatsConnection;
  protected subject: string;
  protected inbox = new Inbox<Msg | JsMsg>();
  #owned: boolean;
  #senders: number;
  #endsSeen = 0;
  #ended = false;
  #closed = false;
  #receiveWhat: string;

  constructor(
    kind: string,
    nc: NatsConnection,
    owned: boolean,
    subject: string,
    role: "send" | "receive",
    senders: number,
  ) {
    this.nc = nc;
    this.#owned = owned;
    this.subject = subject;
    this.sends = role === "send";
    this.receives = role === "receive";
    this.#senders = senders;
    this.name = `${kind} ${JSON.stringify(subject)} on ${nc.getServer()}`;
    this.#receiveWhat = `receive from ${this.name}`;
    this.maxMessage = Math.max(1, (nc.info?.max_payload ?? 1 << 20) - 1024); // room for headers
    // The connection closing for good (reconnects exhausted, or closed by its owner) fails
    // every wait, naming the server; what was received before stays to be taken.
    void nc.closed().then((e) =>
      this.inbox.fail(
        new ClosedError(
          `NATS connection to ${nc.getServer()}${e ? ` (${(e as Error).message})` : ""}`,
        ),
      )
    );
  }

  /** For sends: the channel and its connection open. */
  protected checkOpen(): void {
    if (this.#closed) throw new ClosedError(this.name);
    if (this.nc.isClosed()) throw new ClosedError(`NATS connection to ${this.nc.getServer()}`);
  }

  /** The bytes of a message taken from the inbox, or the end once enough end marks came. */
  protected abstract taken(m: Msg | JsMsg): Uint8Array | undefined;

  #take(r: Msg | JsMsg | WouldBlock): Uint8Array | WouldBlock | EndOfStream | undefined {
    if (r === WOULD_BLOCK) return r;
    if (isEnd(r)) {
      this.taken(r); // acknowledged like any other
      if (++this.#endsSeen >= this.#senders) this.#ended = true;
      return this.#ended ? END_OF_STREAM : undefined;
    }
    return this.taken(r);
  }
  // Receives check only the channel: what came before the connection closed is still taken,
  // and then the inbox throws the connection's failure.
  tryReceive(): Uint8Array | WouldBlock | EndOfStream {
    for (;;) {
      if (this.#ended) return END_OF_STREAM;
      if (this.#closed) throw new ClosedError(this.name);
      const r = this.#take(this.inbox.tryTake());
      if (r !== undefined) return r;
    }
  }
  async receive(options: WaitOptions): Promise<Uint8Array | EndOfStream> {
    for (;;) {
      if (this.#ended) return END_OF_STREAM;
      if (this.#closed) throw new ClosedError(this.name);
      const r = this.#take(await this.inbox.take(options, this.#receiveWhat));
      if (r !== undefined && r !== WOULD_BLOCK) return r;
    }
  }

  abstract trySend(bytes: Uint8Array): undefined | WouldBlock;
  abstract send(bytes: Uint8Array, options: WaitOptions): Promise<void>;
  abstract end(options: WaitOptions): Promise<void>;

  /** Stops receiving (subclasses), then closes the connection if the channel made it. */
  protected abstract stop(): void;
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.stop();
    this.inbox.fail(new ClosedError(this.name)); // a pending receive ends
    if (this.#owned) void this.nc.close().catch(() => {});
  }
}

/** Core NATS: publish to the subject, or a subscription to it. */
class SubjectTransport extends NatsTransport {
  #sub: Subscription | undefined;
  #unflushed = 0;
  #flushing: Promise<void> | undefined;

  constructor(
    nc: NatsConnection,
    owned: boolean,
    subject: string,
    role: "send" | "receive",
    senders: number,
  ) {
    super("NATS subject", nc, owned, subject, role, senders);
    if (this.receives) {
      // A callback, not an iterator: no promise per message on the way in.
      this.#sub = nc.subscribe(subject, {
        callback: (err, m) => err ? this.inbox.fail(err) : this.inbox.push(m),
      });
    }
  }
  protected taken(m: Msg | JsMsg): Uint8Array {
    return plain(m.data);
  }
  #flush(): Promise<void> {
    return this.#flushing ??= this.nc.flush().finally(() => {
      this.#flushing = undefined;
      this.#unflushed = 0;
    });
  }
  #publish(bytes: Uint8Array, end = false): void {
    // The client keeps what it is given until it writes it: a copy, so the caller may reuse
    // its buffer at once.
    const copy = bytes.slice();
    if (end) {
      const h = headers();
      h.set(END_HEADER, "1");
      this.nc.publish(this.subject, copy, { headers: h });
    } else {
      this.nc.publish(this.subject, copy);
    }
    this.#unflushed += copy.length + 64;
  }
  trySend(bytes: Uint8Array): undefined | WouldBlock {
    this.checkOpen();
    if (this.#unflushed >= FLUSH_BYTES) {
      void this.#flush().catch(() => {});
      return WOULD_BLOCK;
    }
    this.#publish(bytes);
    return undefined;
  }
  async send(bytes: Uint8Array, options: WaitOptions): Promise<void> {
    this.checkOpen();
    const bounds = boundsOf(options);
    while (this.#unflushed >= FLUSH_BYTES) {
      await promiseWithin(this.#flush(), bounds, `send to ${this.name}`);
      this.checkOpen();
    }
    this.#publish(bytes);
  }
  async end(options: WaitOptions): Promise<void> {
    this.checkOpen();
    this.#publish(new Uint8Array(0), true);
    await promiseWithin(this.#flush(), boundsOf(options), `end of ${this.name}`);
  }
  protected stop(): void {
    this.#sub?.unsubscribe();
  }
}

/** JetStream: acknowledged publishes to a stream, a durable consumer of it. */
class StreamTransport extends NatsTransport {
  #js: JetStreamClient;
  #window: number;
  #inFlight = new Set<Promise<unknown>>();
  #sendError: unknown;
  #messages: ConsumerMessages | undefined;
  #handed: JsMsg | undefined;

  constructor(
    nc: NatsConnection,
    owned: boolean,
    subject: string,
    role: "send" | "receive",
    senders: number,
    window: number,
  ) {
    super("JetStream subject", nc, owned, subject, role, senders);
    this.#js = jetstream(nc);
    this.#window = window;
  }

  /** Starts the receiver: the durable consumer's messages, pumped into the inbox. */
  async start(stream: string, durable: string): Promise<void> {
    const consumer = await this.#js.consumers.get(stream, durable);
    const messages = await consumer.consume({ max_messages: 256 });
    this.#messages = messages;
    void (async () => {
      try {
        for await (const m of messages) this.inbox.push(m);
      } catch (e) {
        this.inbox.fail(e);
      }
    })();
  }

  protected taken(m: Msg | JsMsg): Uint8Array {
    // The message before this one has been dealt with: the caller asked for another.
    this.#handed?.ack();
    this.#handed = m as JsMsg;
    return plain(m.data);
  }

  #deferred(): void {
    if (this.#sendError !== undefined) {
      const e = this.#sendError;
      this.#sendError = undefined;
      throw e;
    }
  }
  async #publish(bytes: Uint8Array, end = false): Promise<void> {
    const copy = bytes.slice();
    if (end) {
      const h = headers();
      h.set(END_HEADER, "1");
      await this.#js.publish(this.subject, copy, { headers: h });
    } else {
      await this.#js.publish(this.subject, copy);
    }
  }
  trySend(bytes: Uint8Array): undefined | WouldBlock {
    this.checkOpen();
    this.#deferred();
    if (this.#inFlight.size >= this.#window) return WOULD_BLOCK;
    // Sent: acknowledged later; a failure is thrown by the next send, trySend or end.
    const p = this.#publish(bytes).catch((e) => void (this.#sendError ??= e));
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
    return undefined;
  }
  async send(bytes: Uint8Array, options: WaitOptions): Promise<void> {
    this.checkOpen();
    this.#deferred();
    await promiseWithin(this.#publish(bytes), boundsOf(options), `send to ${this.name}`);
  }
  async end(options: WaitOptions): Promise<void> {
    this.checkOpen();
    const bounds = boundsOf(options);
    await promiseWithin(Promise.all(this.#inFlight), bounds, `end of ${this.name}`);
    this.#deferred();
    await promiseWithin(this.#publish(new Uint8Array(0), true), bounds, `end of ${this.name}`);
  }
  protected stop(): void {
    // A clean close: the last message handed out is done with; those fetched but never
    // handed out go back at once (not after the ack wait).
    this.#handed?.ack();
    this.#handed = undefined;
    for (const m of this.inbox.drain()) (m as JsMsg).nak();
    void this.#messages?.close().catch(() => {});
  }
}

/** What both factories check, before anything connects. */
function checked<T>(
  server: unknown,
  subject: unknown,
  role: unknown,
  o: NatsChannelOptions<T>,
): {
  where: string | NatsConnection;
  senders: number;
  reconnectMs: number;
  codec: ChannelOptions<T>;
  bounds: Bounds;
} {
  const where = validateServer(server);
  const bounds = waitBoundsOf({ signal: o.signal, timeout: o.timeout });
  validateSubject(subject);
  validateRole(role);
  validateCodec(o.codec);
  return {
    where,
    senders: o.senders === undefined ? 1 : validateInteger(o.senders, "senders", 1, 1 << 20),
    reconnectMs: o.reconnectMs === undefined
      ? 30_000
      : validateInteger(o.reconnectMs, "reconnectMs", 0, 86_400_000),
    codec: o.codec === undefined ? {} : { codec: o.codec },
    bounds,
  };
}

/** Options for `Channel.from` that mark the transport as dipc's own (used as it is). */
const own = <T>(codec: ChannelOptions<T>): ChannelOptions<T> =>
  ({ ...codec, [INTERNAL]: true }) as ChannelOptions<T>;

/** A NATS channel: a {@linkcode Channel} that also closes its connection with `await using`. */
export type NatsChannel<T> = Channel<T> & AsyncDisposable;

function asyncDisposable<T>(ch: Channel<T>, nc: NatsConnection, owned: boolean): NatsChannel<T> {
  return Object.assign(ch, {
    [Symbol.asyncDispose]: async (): Promise<void> => {
      ch.close();
      if (owned) await nc.closed();
    },
  });
}

/**
 * A channel over a core NATS subject: `"send"` publishes to it, `"receive"` subscribes.
 *
 * @param server `nats://host:port` (a connection made for the channel and closed with it) or a
 *   connection of yours (left open)
 * @param subject the subject: dot-separated tokens, no wildcards
 * @param role which end this is
 * @param options `codec`, `senders` (end marks that end the stream, default 1), `reconnectMs`,
 *   and `signal`/`timeout` for the setup
 * @returns the channel, ready (a receiver is subscribed when this resolves)
 * @throws {TypeError} bad arguments, before anything connects
 * @throws {DOMException} `TimeoutError` when the setup outlasts `timeout` (or, without one, a
 *   server that does not greet within 20 s); the signal's reason when aborted; an Error naming
 *   the server when it cannot be reached
 *
 * @example A channel over a subject (a broker at NATS_URL)
 * ```ts
 * import { natsSubjectChannel } from "@dipc/dipc/nats";
 *
 * const server = Deno.env.get("NATS_URL") ?? "nats://127.0.0.1:4222";
 * const subject = `dipc.doc.${crypto.randomUUID()}`;
 * await using rx = await natsSubjectChannel(server, subject, "receive", { timeout: 5_000 });
 * await using tx = await natsSubjectChannel(server, subject, "send", { timeout: 5_000 });
 * await tx.send(new TextEncoder().encode("hello"));
 * const got = await rx.receive({ timeout: 5_000 });
 * if (got instanceof Uint8Array) console.log(new TextDecoder().decode(got)); // "hello"
 * ```
 */
export async function natsSubjectChannel<T = Uint8Array<ArrayBuffer>>(
  server: string | NatsConnection,
  subject: string,
  role: "send" | "receive",
  options?: NatsChannelOptions<T>,
): Promise<NatsChannel<T>> {
  const o = validateOptionKeys<NatsChannelOptions<T>>(
    options,
    ["codec", "senders", "reconnectMs", "signal", "timeout"],
    "natsSubjectChannel",
  );
  const { where, senders, reconnectMs, codec, bounds } = checked(server, subject, role, o);
  const { nc, owned } = await connection(where, reconnectMs, bounds);
  const t = new SubjectTransport(nc, owned, subject, role, senders);
  try {
    // The subscription is known to the server.
    if (t.receives) await promiseWithin(nc.flush(), bounds, `subscribing on ${serverOf(nc)}`);
  } catch (e) {
    t.close(); // and the connection, if it was made here
    throw setupError(e, `subscribe to ${JSON.stringify(subject)} on NATS server ${serverOf(nc)}`);
  }
  return asyncDisposable(Channel.from<T>(t, own(codec)), nc, owned);
}

/**
 * A channel over a JetStream stream, made if missing (file storage, so it survives a broker
 * restart): `"send"` publishes and waits for the server's acknowledgement; `"receive"` reads
 * through a durable consumer, acknowledging each message when the next receive is made.
 *
 * @param server `nats://host:port` (a connection made for the channel) or a connection of yours
 * @param subject the subject the stream holds
 * @param role which end this is
 * @param options `codec`, `stream`, `durable`, `ackWaitMs`, `window`, `senders`, `reconnectMs`,
 *   and `signal`/`timeout` for the setup
 * @returns the channel, ready
 * @throws {TypeError} bad arguments, before anything connects
 * @throws {DOMException} `TimeoutError` when the setup outlasts `timeout`; the signal's reason
 *   when aborted; an Error naming the server when it cannot be reached or the stream set up
 *
 * @example Messages that wait for their receiver (a broker at NATS_URL)
 * ```ts
 * import { jetStreamChannel } from "@dipc/dipc/nats";
 *
 * const server = Deno.env.get("NATS_URL") ?? "nats://127.0.0.1:4222";
 * const subject = `dipc.doc.${crypto.randomUUID()}`;
 * {
 *   await using tx = await jetStreamChannel(server, subject, "send", { timeout: 5_000 });
 *   await tx.send(new TextEncoder().encode("kept by the server"));
 * } // no receiver yet: the stream holds it
 * await using rx = await jetStreamChannel(server, subject, "receive", { timeout: 5_000 });
 * const got = await rx.receive({ timeout: 5_000 });
 * if (got instanceof Uint8Array) console.log(new TextDecoder().decode(got)); // "kept by the server"
 * ```
 */
export async function jetStreamChannel<T = Uint8Array<ArrayBuffer>>(
  server: string | NatsConnection,
  subject: string,
  role: "send" | "receive",
  options?: JetStreamChannelOptions<T>,
): Promise<NatsChannel<T>> {
  const o = validateOptionKeys<JetStreamChannelOptions<T>>(
    options,
    [
      "codec",
      "senders",
      "reconnectMs",
      "stream",
      "durable",
      "ackWaitMs",
      "window",
      "signal",
      "timeout",
    ],
    "jetStreamChannel",
  );
  const { where, senders, reconnectMs, codec, bounds } = checked(server, subject, role, o);
  const stream = validateName(o.stream ?? subject.replace(/[^A-Za-z0-9_-]/g, "_"), "stream");
  const durable = validateName(o.durable ?? "dipc", "durable");
  const ackWaitMs = o.ackWaitMs === undefined
    ? 30_000
    : validateInteger(o.ackWaitMs, "ackWaitMs", 100, 86_400_000);
  const window = o.window === undefined ? 256 : validateInteger(o.window, "window", 1, 65536);
  const { nc, owned } = await connection(where, reconnectMs, bounds);
  let t: StreamTransport | undefined;
  try {
    const within = <R>(p: Promise<R>): Promise<R> =>
      promiseWithin(p, bounds, `setting up stream ${stream} on NATS server ${serverOf(nc)}`);
    const jsm = await within(jetstreamManager(nc));
    await within((async () => {
      try {
        await jsm.streams.info(stream);
      } catch {
        await jsm.streams.add({ name: stream, subjects: [subject], storage: StorageType.File })
          .catch(async (e) => {
            // Another process made it meanwhile: fine; anything else is the error.
            await jsm.streams.info(stream).catch(() => {
              throw e;
            });
          });
      }
    })());
    t = new StreamTransport(nc, owned, subject, role, senders, window);
    if (t.receives) {
      const made = t;
      await within((async () => {
        try {
          await jsm.consumers.info(stream, durable);
        } catch {
          await jsm.consumers.add(stream, {
            durable_name: durable,
            ack_policy: AckPolicy.Explicit,
            deliver_policy: DeliverPolicy.All,
            filter_subject: subject,
            ack_wait: ackWaitMs * 1_000_000,
          });
        }
        await made.start(stream, durable);
      })());
    }
    return asyncDisposable(Channel.from<T>(t, own(codec)), nc, owned);
  } catch (e) {
    t?.close();
    if (owned) await nc.close().catch(() => {});
    throw setupError(e, `set up stream ${stream} on NATS server ${serverOf(nc)}`);
  }
}

/**
 * One interface for every message transport: {@linkcode Channel}. A program written against it
 * changes one line, the one that opens the channel, to move from the shared-memory ring to a
 * POSIX or System V queue, a Unix socket or a pipe (and, through `@dipc/dipc/nats`, to a NATS
 * subject or JetStream stream on another machine):
 *
 * ```ts ignore
 * using ch = Channel.ring(RingChannel.open("/jobs"), "send", { codec: jsonCodec });
 * // using ch = Channel.posixQueue(MessageQueue.open("/jobs"), { codec: jsonCodec });
 * // using ch = Channel.socket(await UnixSocket.connect("/run/jobs.sock"), { codec: jsonCodec });
 * await ch.send({ job: 1 });
 * ```
 *
 * Every channel has `trySend`/`send` and `tryReceive`/`receive`, the `…Sync` forms where the
 * transport can block a thread (`channel.sync` says which), async iteration, Web Streams,
 * `end()` (the end of the stream for receivers), `close()` and `using`. Messages go through a
 * {@linkcode Codec}: bytes (the default), text, JSON, structured clones ({@linkcode cloneCodec}:
 * Map, Set, Date, BigInt, typed arrays, errors, cycles), or one of your own. (V8's structured
 * clone through `node:v8` was measured and left out: 7 to 10 times slower than JSON here.)
 *
 * The conventions are dipc's own: {@linkcode WOULD_BLOCK} when a `try…` form would wait,
 * {@linkcode END_OF_STREAM} once every sender has ended and everything sent has been taken, a
 * `TimeoutError` `DOMException` when a `timeout` passes (nothing sent or taken), `signal` to
 * cancel an async wait (nothing lost).
 *
 * How each transport marks the end of the stream and frames messages:
 *
 * | transport | framing | end of stream |
 * | --- | --- | --- |
 * | ring channel | the ring's messages | every sender closed |
 * | POSIX / System V queue | one queue message a message (empty ones refused) | an empty message, one a receiver |
 * | Unix seqpacket socket | one socket message a message (empty ones refused) | the peer shut down or closed |
 * | Unix stream socket, pipe, FIFO | a 4-byte little-endian length, then the bytes | the peer shut down or closed |
 *
 * Every length a peer sends is checked against `maxMessage` before anything is allocated: a
 * frame that claims more is an error on that channel, never an allocation.
 *
 * @module
 */

import { Pipe, type PipeReader, type PipeWriter } from "./pipe.ts";
import { RingChannel } from "./ring.ts";
import { MessageQueue } from "./mq.ts";
import { SysVMessageQueue } from "./sysv_mq.ts";
import { UnixSocket } from "./socket.ts";
import { poll } from "./poll.ts";
import { ClosedError } from "./errors.ts";
import { checkInternal, INTERNAL } from "./_internal.ts";
import { messageReadable } from "./_streams.ts";
import { bytesCodec, type Codec, jsonCodec, textCodec, validateCodec } from "./_codec.ts";
import { END_OF_STREAM, type EndOfStream, WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
import {
  boundsOf,
  optionsOf,
  promiseWithin,
  type SyncWaitOptions,
  validateSyncWaitOptions,
  validateWaitOptions,
  type WaitOptions,
} from "./_wait.ts";
import { describe, validateInteger, validateOptionKeys } from "./_validate.ts";
import {
  type ByteEnds,
  type ChannelTransport,
  FramedTransport,
  PosixQueueTransport,
  RingTransport,
  SeqpacketTransport,
  SysVQueueTransport,
} from "./_channel_transports.ts";

export type { SyncWaitOptions, WaitOptions } from "./_wait.ts";
export type { ChannelTransport } from "./_channel_transports.ts";
export { END_OF_STREAM, type EndOfStream, WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";

// ---- codecs (src/_codec.ts) ---------------------------------------------------------------------

export { bytesCodec, type Codec, jsonCodec, textCodec };
export { cloneCodec } from "./_clone_codec.ts";

// ---- transports --------------------------------------------------------------------------------

/** Options every channel factory takes. */
export interface ChannelOptions<T> {
  /** How values become bytes (default {@linkcode bytesCodec}). */
  codec?: Codec<T>;
}

/** Options for channels over byte streams and sockets, which need a bound on a message. */
export interface FramedChannelOptions<T> extends ChannelOptions<T> {
  /** The longest message, bytes (default 1 MiB; at most 1 GiB). A longer one is refused. */
  maxMessage?: number;
}

/** Options for a channel over a System V queue. */
export interface SysVChannelOptions<T> extends ChannelOptions<T> {
  /** The message type this channel sends and receives (default 1). */
  type?: number;
  /** The longest message (default 8192, the kernel's usual `msgmax`). */
  maxMessage?: number;
}

const DEFAULT_FRAMED_MAX = 1 << 20;
const MAX_FRAMED = 1 << 30;

// The transports themselves are in src/_channel_transports.ts.

// ---- the channel -------------------------------------------------------------------------------

const KEYS = ["codec"];
const FRAMED_KEYS = ["codec", "maxMessage"];

/**
 * A caller's transport, each member read once and checked: what the channel calls later cannot
 * change under it (a getter that answers differently the second time).
 */
function adopt(transport: unknown): ChannelTransport {
  if (typeof transport !== "object" || transport === null) {
    throw new TypeError(`transport must be an object, got ${describe(transport)}`);
  }
  const t = transport as Record<string, unknown>;
  const fn = <F>(key: string, optional = false): F | undefined => {
    const f = t[key];
    if (f === undefined && optional) return undefined;
    if (typeof f !== "function") throw new TypeError(`transport has no ${key} function`);
    return f.bind(transport) as F;
  };
  const flag = (key: string): boolean => {
    const v = t[key];
    if (typeof v !== "boolean") throw new TypeError(`transport.${key} must be a boolean`);
    return v;
  };
  const name = t.name;
  if (typeof name !== "string") throw new TypeError("transport.name must be a string");
  const trySend = fn<ChannelTransport["trySend"]>("trySend") as ChannelTransport["trySend"];
  const send = fn<ChannelTransport["send"]>("send") as ChannelTransport["send"];
  const tryReceive = fn<() => unknown>("tryReceive") as () => unknown;
  const receive = fn<(o: WaitOptions) => Promise<unknown>>("receive") as (
    o: WaitOptions,
  ) => Promise<unknown>;
  const end = fn<ChannelTransport["end"]>("end") as ChannelTransport["end"];
  // What it hands back is checked like anything else from outside.
  const received = (r: unknown): Uint8Array | WouldBlock | EndOfStream => {
    if (r === WOULD_BLOCK || r === END_OF_STREAM) return r;
    if (r instanceof Uint8Array) return r;
    throw new TypeError(`${name}: a receive returned ${describe(r)}, not bytes`);
  };
  const adopted: ChannelTransport = {
    name,
    maxMessage: validateInteger(t.maxMessage, "transport.maxMessage", 1, MAX_FRAMED),
    sends: flag("sends"),
    receives: flag("receives"),
    sendsEmpty: flag("sendsEmpty"),
    trySend: (bytes) => {
      const r = trySend(bytes);
      if (r !== undefined && r !== WOULD_BLOCK) {
        throw new TypeError(`${name}: trySend returned ${describe(r)}`);
      }
      return r;
    },
    send: async (bytes, options) => void await send(bytes, options),
    tryReceive: () => received(tryReceive()),
    receive: async (options) => {
      const r = received(await receive(options));
      if (r === WOULD_BLOCK) throw new TypeError(`${name}: receive returned WOULD_BLOCK`);
      return r;
    },
    end: async (options) => void await end(options),
    close: fn<ChannelTransport["close"]>("close") as ChannelTransport["close"],
  };
  const sendSync = fn<NonNullable<ChannelTransport["sendSync"]>>("sendSync", true);
  if (sendSync !== undefined) adopted.sendSync = sendSync;
  const receiveSync = fn<(o: SyncWaitOptions) => unknown>("receiveSync", true);
  if (receiveSync !== undefined) {
    adopted.receiveSync = (o) => {
      const r = received(receiveSync(o));
      if (r === WOULD_BLOCK) throw new TypeError(`${name}: receiveSync returned WOULD_BLOCK`);
      return r;
    };
  }
  return adopted;
}

function maxMessageOf(value: unknown, fallback: number, max: number): number {
  return value === undefined ? fallback : validateInteger(value, "maxMessage", 1, max);
}

/**
 * A message channel over any transport, carrying values through a {@linkcode Codec}. Built by
 * the factories ({@linkcode Channel.ring}, {@linkcode Channel.posixQueue},
 * {@linkcode Channel.sysvQueue}, {@linkcode Channel.socket}, {@linkcode Channel.pipe}), which
 * take ownership of the object they are given: closing the channel closes it.
 *
 * @typeParam T what the channel carries (`Uint8Array` with the default codec)
 *
 * @example The same code over a ring and over a queue
 * ```ts
 * import { Channel, jsonCodec, MessageQueue, RingChannel } from "@dipc/dipc";
 *
 * async function roundTrip(tx: Channel<unknown>, rx: Channel<unknown>): Promise<unknown> {
 *   await tx.send({ hello: "world" });
 *   return await rx.receive({ timeout: 1000 });
 * }
 * const ring = RingChannel.temporary({ capacity: 4096 });
 * using tx = Channel.ring(ring, "send", { codec: jsonCodec });
 * using rx = Channel.ring(RingChannel.open(ring.name ?? ""), "receive", { codec: jsonCodec });
 * console.log(await roundTrip(tx, rx)); // { hello: "world" }
 *
 * using q = Channel.posixQueue(MessageQueue.temporary(), { codec: jsonCodec });
 * console.log(await roundTrip(q, q)); // { hello: "world" }
 * ```
 */
export class Channel<T = Uint8Array<ArrayBuffer>> implements Disposable, AsyncIterable<T> {
  #t: ChannelTransport;
  #codec: Codec<T>;
  #closed = false;
  #ended = false;
  #keep: boolean;
  #inFlight: Promise<void> | undefined;

  /** @ignore use the factories: {@linkcode Channel.ring}, …, {@linkcode Channel.from}. */
  private constructor(token: unknown, transport: ChannelTransport, codec: Codec<T>) {
    checkInternal(
      token,
      "Channel.ring(), .posixQueue(), .sysvQueue(), .socket(), .pipe(), .from()",
    );
    this.#t = transport;
    this.#codec = codec;
    // Bytes a transport never reuses need no copy to be the caller's.
    this.#keep = codec === (bytesCodec as unknown) && transport.keepable === true;
  }

  /**
   * A channel over a transport of your own (or `@dipc/dipc/nats`'s): the channel closes it.
   *
   * @param transport what moves the bytes
   * @param options `codec`
   */
  static from<T = Uint8Array<ArrayBuffer>>(
    transport: ChannelTransport,
    options?: ChannelOptions<T>,
  ): Channel<T> {
    const o = validateOptionKeys<ChannelOptions<T>>(options, KEYS, "Channel.from");
    const codec = validateCodec<T>(o.codec);
    // dipc's own transports (the NATS ones) are trusted as they are; anyone else's is adopted.
    const own = (o as Record<symbol, unknown>)[INTERNAL] === true;
    return new Channel(INTERNAL, own ? transport : adopt(transport), codec);
  }

  /**
   * One end of a ring channel: `"send"` (a sender; `end()` and `close()` close it, and the
   * stream ends for the receiver once every sender has) or `"receive"`.
   *
   * @param ring the ring (the channel owns it from now on)
   * @param role which end this is
   * @param options `codec`
   */
  static ring<T = Uint8Array<ArrayBuffer>>(
    ring: RingChannel,
    role: "send" | "receive",
    options?: ChannelOptions<T>,
  ): Channel<T> {
    const o = validateOptionKeys<ChannelOptions<T>>(options, KEYS, "Channel.ring");
    const codec = validateCodec<T>(o.codec);
    if (!(ring instanceof RingChannel)) {
      throw new TypeError(`ring must be a RingChannel, got ${describe(ring)}`);
    }
    if (role !== "send" && role !== "receive") {
      throw new TypeError(`role must be "send" or "receive", got ${describe(role)}`);
    }
    return new Channel(INTERNAL, new RingTransport(ring, role), codec);
  }

  /**
   * A POSIX message queue, both ways. An empty queue message is the end mark (one per receiver:
   * `end()` sends one), so empty messages cannot be sent.
   *
   * @param queue the queue (the channel owns it from now on)
   * @param options `codec`
   */
  static posixQueue<T = Uint8Array<ArrayBuffer>>(
    queue: MessageQueue,
    options?: ChannelOptions<T>,
  ): Channel<T> {
    const o = validateOptionKeys<ChannelOptions<T>>(options, KEYS, "Channel.posixQueue");
    const codec = validateCodec<T>(o.codec);
    if (!(queue instanceof MessageQueue)) {
      throw new TypeError(`queue must be a MessageQueue, got ${describe(queue)}`);
    }
    return new Channel(INTERNAL, new PosixQueueTransport(queue), codec);
  }

  /**
   * A System V message queue, both ways, carrying messages of one `type` (default 1), so
   * several channels can share a queue. An empty message of that type is the end mark.
   *
   * @param queue the queue (the channel owns it from now on)
   * @param options `codec`, `type`, `maxMessage` (default 8192)
   */
  static sysvQueue<T = Uint8Array<ArrayBuffer>>(
    queue: SysVMessageQueue,
    options?: SysVChannelOptions<T>,
  ): Channel<T> {
    const o = validateOptionKeys<SysVChannelOptions<T>>(
      options,
      ["codec", "type", "maxMessage"],
      "Channel.sysvQueue",
    );
    const codec = validateCodec<T>(o.codec);
    const type = o.type === undefined ? 1 : validateInteger(o.type, "type", 1, 0x7fffffff);
    const maxMessage = maxMessageOf(o.maxMessage, 8192, 1 << 24);
    if (!(queue instanceof SysVMessageQueue)) {
      throw new TypeError(`queue must be a SysVMessageQueue, got ${describe(queue)}`);
    }
    return new Channel(INTERNAL, new SysVQueueTransport(queue, type, maxMessage), codec);
  }

  /**
   * A connected Unix socket, both ways: a seqpacket socket carries one socket message a
   * message (empty ones refused: an empty read is the end); a stream socket carries frames.
   * `end()` shuts down this side's writing. Datagram sockets are refused (no end of stream).
   *
   * @param socket the socket (the channel owns it from now on)
   * @param options `codec`, `maxMessage` (default 1 MiB)
   */
  static socket<T = Uint8Array<ArrayBuffer>>(
    socket: UnixSocket,
    options?: FramedChannelOptions<T>,
  ): Channel<T> {
    const o = validateOptionKeys<FramedChannelOptions<T>>(options, FRAMED_KEYS, "Channel.socket");
    const codec = validateCodec<T>(o.codec);
    const maxMessage = maxMessageOf(o.maxMessage, DEFAULT_FRAMED_MAX, MAX_FRAMED);
    if (!(socket instanceof UnixSocket)) {
      throw new TypeError(`socket must be a UnixSocket, got ${describe(socket)}`);
    }
    if (socket.type === "datagram") {
      throw new TypeError("a channel needs a stream or seqpacket socket, not a datagram one");
    }
    if (socket.type === "seqpacket") {
      return new Channel(INTERNAL, new SeqpacketTransport(socket, maxMessage), codec);
    }
    const ends: ByteEnds = {
      tryWrite: (b) => socket.trySend(b),
      write: (b) => socket.send(b),
      writable: async (opts) => void await poll([{ handle: socket, write: true }], opts),
      tryRead: (into) => {
        const r = socket.tryReceiveInto(into);
        return r === WOULD_BLOCK || r === END_OF_STREAM ? r : r.length;
      },
      read: async (into, opts) => {
        const r = await socket.receiveInto(into, opts);
        return r === END_OF_STREAM ? r : r.length;
      },
      endWrite: () => socket.shutdownWrite(),
      close: () => socket.close(),
    };
    return new Channel(
      INTERNAL,
      new FramedTransport("Unix stream socket", ends, maxMessage),
      codec,
    );
  }

  /**
   * A pipe or FIFO: give the writer to send, the reader to receive (or both, for a channel to
   * oneself). Messages are framed; `end()` closes the writer, and the stream ends for the
   * reader once every copy of the writer is closed.
   *
   * @param ends `reader` and/or `writer` (the channel owns them from now on)
   * @param options `codec`, `maxMessage` (default 1 MiB)
   */
  static pipe<T = Uint8Array<ArrayBuffer>>(
    ends: { reader?: PipeReader; writer?: PipeWriter } | Pipe,
    options?: FramedChannelOptions<T>,
  ): Channel<T> {
    const o = validateOptionKeys<FramedChannelOptions<T>>(options, FRAMED_KEYS, "Channel.pipe");
    const codec = validateCodec<T>(o.codec);
    const maxMessage = maxMessageOf(o.maxMessage, DEFAULT_FRAMED_MAX, MAX_FRAMED);
    if (typeof ends !== "object" || ends === null) {
      throw new TypeError(`ends must be a Pipe or { reader, writer }, got ${describe(ends)}`);
    }
    const { reader, writer } = ends instanceof Pipe ? ends : ends;
    if (reader === undefined && writer === undefined) {
      throw new TypeError("a pipe channel needs a reader, a writer or both");
    }
    const bytes: ByteEnds = {
      endWrite: () => writer?.close(),
      close: () => {
        writer?.close();
        reader?.close();
      },
    };
    if (writer !== undefined) {
      if (typeof writer.tryWrite !== "function") throw new TypeError("writer must be a PipeWriter");
      bytes.tryWrite = (b) => writer.tryWrite(b);
      bytes.write = (b) => writer.write(b);
      bytes.writable = async (opts) => void await poll([{ handle: writer, write: true }], opts);
    }
    if (reader !== undefined) {
      if (typeof reader.tryRead !== "function") throw new TypeError("reader must be a PipeReader");
      bytes.tryRead = (into) => reader.tryRead(into);
      bytes.read = (into, opts) => reader.read(into, opts);
    }
    return new Channel(INTERNAL, new FramedTransport("pipe", bytes, maxMessage), codec);
  }

  /** The transport, as messages name it. */
  get transport(): string {
    return this.#t.name;
  }

  /** The codec's name. */
  get codec(): string {
    return this.#codec.name;
  }

  /** The longest encoded message the transport carries, in bytes. */
  get maxMessage(): number {
    return this.#t.maxMessage;
  }

  /** Which `…Sync` forms this transport has: a thread can block on the ring and the queues. */
  get sync(): { send: boolean; receive: boolean } {
    return {
      send: this.#t.sends && this.#t.sendSync !== undefined,
      receive: this.#t.receives && this.#t.receiveSync !== undefined,
    };
  }

  /** Whether {@linkcode Channel.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  #encode(value: T): Uint8Array {
    if (this.#closed) throw new ClosedError(`channel over ${this.#t.name}`);
    if (!this.#t.sends) throw new TypeError(`this end of ${this.#t.name} only receives`);
    if (this.#ended) throw new TypeError(`channel over ${this.#t.name}: send after end()`);
    const bytes = this.#codec.encode(value);
    if (!(bytes instanceof Uint8Array)) {
      throw new TypeError(`codec ${this.#codec.name} returned ${describe(bytes)}, not bytes`);
    }
    if (bytes.length > this.#t.maxMessage) {
      throw new RangeError(
        `a message of ${bytes.length} bytes is longer than ${this.#t.name} carries ` +
          `(${this.#t.maxMessage})`,
      );
    }
    if (bytes.length === 0 && !this.#t.sendsEmpty) {
      throw new RangeError(
        `${this.#t.name} cannot carry an empty message: an empty message is its end mark`,
      );
    }
    return bytes;
  }
  #receiving(): void {
    if (this.#closed) throw new ClosedError(`channel over ${this.#t.name}`);
    if (!this.#t.receives) throw new TypeError(`this end of ${this.#t.name} only sends`);
  }
  #decode(bytes: Uint8Array | EndOfStream): T | EndOfStream {
    if (bytes === END_OF_STREAM) return bytes;
    if (this.#keep) return bytes as T;
    return this.#codec.decode(bytes);
  }

  /**
   * Sends now, or returns {@linkcode WOULD_BLOCK} having sent nothing.
   *
   * @param value the message
   * @throws {TypeError} a value the codec cannot carry, or on a receive-only end
   * @throws {RangeError} a message longer than the transport carries, or an empty one where
   *   empty is the end mark
   * @throws {ClosedError} after close
   */
  trySend(value: T): undefined | WouldBlock {
    return this.#t.trySend(this.#encode(value));
  }

  /**
   * Sends, waiting for room.
   *
   * @param value the message
   * @param options `signal`, `timeout` (ms)
   * @throws {DOMException} `TimeoutError` (nothing was sent)
   * @throws the signal's reason when aborted (nothing was sent)
   */
  send(value: T, options?: WaitOptions): Promise<void> {
    try {
      const opts = validateWaitOptions(options);
      return this.#t.send(this.#encode(value), opts);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Sends, blocking the thread while there is no room (transports with `sync.send`).
   *
   * @param value the message
   * @param options `timeout` (ms)
   * @throws {TypeError} where the transport cannot block a thread
   */
  sendSync(value: T, options?: SyncWaitOptions): void {
    const opts = validateSyncWaitOptions(options);
    const bytes = this.#encode(value);
    if (this.#t.sendSync === undefined) {
      throw new TypeError(`${this.#t.name} has no blocking send: use send()`);
    }
    this.#t.sendSync(bytes, opts);
  }

  /**
   * Takes a message now.
   *
   * @returns the message, {@linkcode WOULD_BLOCK}, or {@linkcode END_OF_STREAM}
   * @throws what the codec throws for bytes it cannot decode (the message is taken)
   */
  tryReceive(): T | WouldBlock | EndOfStream {
    this.#receiving();
    // An async receive in progress owns the transport's buffer until it has decoded.
    if (this.#inFlight !== undefined) return WOULD_BLOCK;
    const r = this.#t.tryReceive();
    return r === WOULD_BLOCK ? r : this.#decode(r);
  }

  /**
   * Takes a message, waiting for one.
   *
   * @param options `signal`, `timeout` (ms)
   * @returns the message or {@linkcode END_OF_STREAM}
   * @throws {DOMException} `TimeoutError` (nothing was taken)
   * @throws the signal's reason when aborted (nothing was taken)
   */
  async receive(options?: WaitOptions): Promise<T | EndOfStream> {
    let turn = validateWaitOptions(options);
    this.#receiving();
    // One at a time: a transport receives into one buffer, which a second receive would
    // overwrite before the first has decoded. Each waits its turn within its own timeout.
    if (this.#inFlight !== undefined) {
      const bounds = boundsOf(turn);
      while (this.#inFlight !== undefined) {
        await promiseWithin(this.#inFlight, bounds, `receive on ${this.#t.name}`);
      }
      this.#receiving();
      turn = optionsOf(bounds);
    }
    const taking = this.#t.receive(turn).then((r) => this.#decode(r));
    const mine = taking.then(() => {}, () => {});
    this.#inFlight = mine;
    try {
      return await taking;
    } finally {
      if (this.#inFlight === mine) this.#inFlight = undefined;
    }
  }

  /**
   * Takes a message, blocking the thread while there is none (transports with `sync.receive`).
   *
   * @param options `timeout` (ms)
   * @returns the message or {@linkcode END_OF_STREAM}
   * @throws {TypeError} where the transport cannot block a thread
   */
  receiveSync(options?: SyncWaitOptions): T | EndOfStream {
    const opts = validateSyncWaitOptions(options);
    this.#receiving();
    if (this.#t.receiveSync === undefined) {
      throw new TypeError(`${this.#t.name} has no blocking receive: use receive()`);
    }
    if (this.#inFlight !== undefined) {
      throw new TypeError(`an async receive on ${this.#t.name} is in progress: await it first`);
    }
    return this.#decode(this.#t.receiveSync(opts));
  }

  /**
   * Ends the stream from this sender: receivers get {@linkcode END_OF_STREAM} after everything
   * sent before it. On a queue it sends one end mark (call it once per receiver); on a ring,
   * pipe or socket it closes or shuts down the sending side. Later sends are a TypeError; a
   * second `end()` does nothing.
   *
   * @param options `signal`, `timeout` for a queue that is full
   */
  async end(options?: WaitOptions): Promise<void> {
    const opts = validateWaitOptions(options);
    if (this.#closed) throw new ClosedError(`channel over ${this.#t.name}`);
    if (!this.#t.sends) throw new TypeError(`this end of ${this.#t.name} only receives`);
    if (this.#ended) return;
    await this.#t.end(opts);
    this.#ended = true;
  }

  /** Closes the channel and what it owns. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#t.close();
  }

  /** Closes the channel (`using`). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The messages as they come, until the end of the stream or close. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T, void> {
    for (;;) {
      if (this.#closed) return;
      let m: T | EndOfStream;
      try {
        m = await this.receive();
      } catch (e) {
        if (this.#closed) return;
        throw e;
      }
      if (m === END_OF_STREAM) return;
      yield m;
    }
  }

  /** The messages as a `ReadableStream`; cancelling it closes the channel. */
  get readable(): ReadableStream<T> {
    this.#receiving();
    return messageReadable<T>(() => this.receive(), () => this.close());
  }

  /** A `WritableStream` of messages: closing it ends the stream, aborting closes the channel. */
  get writable(): WritableStream<T> {
    if (this.#closed) throw new ClosedError(`channel over ${this.#t.name}`);
    if (!this.#t.sends) throw new TypeError(`this end of ${this.#t.name} only receives`);
    return new WritableStream<T>({
      write: (value) => this.send(value),
      close: () => this.end(),
      abort: () => this.close(),
    });
  }
}

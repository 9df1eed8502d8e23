/**
 * The transports behind `Channel` (src/channel.ts): a ring endpoint, the two queue
 * kinds (an empty message the end mark, one protocol for both), a seqpacket socket, and frames
 * over a byte stream (pipes, FIFOs, stream sockets). Channel's factories check every argument
 * before they build one.
 *
 * @module
 */

import type { RingChannel } from "./ring.ts";
import type { RingReceiver } from "./_ring_receiver.ts";
import type { RingSender } from "./_ring_sender.ts";
import type { MessageQueue, QueueReceipt } from "./mq.ts";
import type { SysVMessageQueue, SysVReceipt } from "./sysv_mq.ts";
import type { UnixSocket } from "./socket.ts";
import { ClosedError, ErrnoError } from "./errors.ts";
import { E } from "../ffi/constants.ts";
import { END_OF_STREAM, type EndOfStream, WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
import {
  type Bounds,
  boundsOf,
  optionsOf,
  promiseWithin,
  type SyncWaitOptions,
  type WaitOptions,
} from "./_wait.ts";

/**
 * What a channel needs of a transport: messages as bytes, tried or waited for. dipc's own
 * transports are built by {@linkcode Channel}'s factories; `@dipc/dipc/nats` implements one over
 * NATS, and any other can be given to {@linkcode Channel.from}. Options reaching a transport have
 * been checked already.
 */
export interface ChannelTransport {
  /** The transport's name, for messages: `ring channel "/jobs"`. */
  readonly name: string;
  /** The longest message, in bytes, it carries. */
  readonly maxMessage: number;
  /** Whether it sends and receives at all (a ring or pipe end does one of the two). */
  readonly sends: boolean;
  /** Whether it receives. */
  readonly receives: boolean;
  /** Whether empty messages can be sent (they are an end mark on queues and seqpacket sockets). */
  readonly sendsEmpty: boolean;
  /**
   * Whether the bytes a receive returns are never written again by the transport (a client
   * library's fresh buffer, not a scratch buffer reused by the next receive): the bytes codec
   * then hands them over as they are instead of copying.
   */
  readonly keepable?: boolean;
  /** Sends now, or returns {@linkcode WOULD_BLOCK} having sent nothing. */
  trySend(bytes: Uint8Array): undefined | WouldBlock;
  /** Sends, waiting for room; `TimeoutError` or the signal's reason when it sent nothing. */
  send(bytes: Uint8Array, options: WaitOptions): Promise<void>;
  /** Sends, blocking the thread; absent when the transport cannot. */
  sendSync?(bytes: Uint8Array, options: SyncWaitOptions): void;
  /** Takes a message now; the bytes are valid until the next receive. */
  tryReceive(): Uint8Array | WouldBlock | EndOfStream;
  /** Takes a message, waiting; the bytes are valid until the next receive. */
  receive(options: WaitOptions): Promise<Uint8Array | EndOfStream>;
  /** Takes a message, blocking the thread; absent when the transport cannot. */
  receiveSync?(options: SyncWaitOptions): Uint8Array | EndOfStream;
  /** Tells receivers that this sender has finished (after what it sent). */
  end(options: WaitOptions): Promise<void>;
  /** Releases everything; idempotent. */
  close(): void;
}

/** A ring channel endpoint as a transport. */
export class RingTransport implements ChannelTransport {
  readonly name: string;
  readonly maxMessage: number;
  readonly sends: boolean;
  readonly receives: boolean;
  readonly sendsEmpty = true;
  #ring: RingChannel;
  #tx: RingSender | undefined;
  #rx: RingReceiver | undefined;
  #scratch: Uint8Array;

  constructor(ring: RingChannel, role: "send" | "receive") {
    this.#ring = ring;
    this.name = `ring channel ${ring.name === undefined ? "(unnamed)" : JSON.stringify(ring.name)}`;
    this.maxMessage = ring.maxMessageSize;
    this.sends = role === "send";
    this.receives = role === "receive";
    if (this.sends) this.#tx = ring.sender();
    else this.#rx = ring.receiver();
    this.#scratch = new Uint8Array(this.receives ? this.maxMessage : 0);
  }
  trySend(bytes: Uint8Array): undefined | WouldBlock {
    return this.#sender().trySend(bytes);
  }
  send(bytes: Uint8Array, options: WaitOptions): Promise<void> {
    return this.#sender().send(bytes, options);
  }
  sendSync(bytes: Uint8Array, options: SyncWaitOptions): void {
    this.#sender().sendSync(bytes, options);
  }
  tryReceive(): Uint8Array | WouldBlock | EndOfStream {
    const n = this.#receiver().tryReceiveInto(this.#scratch);
    return typeof n === "number" ? this.#scratch.subarray(0, n) : n;
  }
  async receive(options: WaitOptions): Promise<Uint8Array | EndOfStream> {
    const n = await this.#receiver().receiveInto(this.#scratch, options);
    return n === END_OF_STREAM ? n : this.#scratch.subarray(0, n);
  }
  receiveSync(options: SyncWaitOptions): Uint8Array | EndOfStream {
    const n = this.#receiver().receiveIntoSync(this.#scratch, options);
    return n === END_OF_STREAM ? n : this.#scratch.subarray(0, n);
  }
  end(): Promise<void> {
    this.#tx?.close(); // the stream ends when every sender has closed
    return Promise.resolve();
  }
  close(): void {
    this.#tx?.close();
    this.#rx?.close();
    this.#ring.close();
  }
  #sender(): RingSender {
    if (this.#tx === undefined) throw new ClosedError(this.name); // unreachable: checked above
    return this.#tx;
  }
  #receiver(): RingReceiver {
    if (this.#rx === undefined) throw new ClosedError(this.name);
    return this.#rx;
  }
}

/**
 * A message queue as a transport: one queue message a message, and an empty message the end mark
 * (one a receiver), for both queue kinds. The kinds differ only in their raw calls.
 */
export abstract class QueueTransport implements ChannelTransport {
  abstract readonly name: string;
  readonly maxMessage: number;
  readonly sends = true;
  readonly receives = true;
  readonly sendsEmpty = false;
  protected scratch: Uint8Array;
  #ended = false;

  constructor(maxMessage: number) {
    this.maxMessage = maxMessage;
    this.scratch = new Uint8Array(maxMessage);
  }
  /** The queue's own calls: a send, and a receive into `scratch` giving its length. */
  protected abstract rawTrySend(bytes: Uint8Array): undefined | WouldBlock;
  protected abstract rawSend(bytes: Uint8Array, options: WaitOptions): Promise<void>;
  protected abstract rawSendSync(bytes: Uint8Array, options: SyncWaitOptions): void;
  protected abstract rawTryReceive(): number | WouldBlock;
  protected abstract rawReceive(options: WaitOptions): Promise<number>;
  protected abstract rawReceiveSync(options: SyncWaitOptions): number;
  abstract close(): void;

  trySend(bytes: Uint8Array): undefined | WouldBlock {
    return this.rawTrySend(bytes);
  }
  send(bytes: Uint8Array, options: WaitOptions): Promise<void> {
    return this.rawSend(bytes, options);
  }
  sendSync(bytes: Uint8Array, options: SyncWaitOptions): void {
    this.rawSendSync(bytes, options);
  }
  #took(length: number): Uint8Array | EndOfStream {
    if (length === 0) {
      this.#ended = true;
      return END_OF_STREAM;
    }
    return this.scratch.subarray(0, length);
  }
  tryReceive(): Uint8Array | WouldBlock | EndOfStream {
    if (this.#ended) return END_OF_STREAM;
    const n = this.rawTryReceive();
    return n === WOULD_BLOCK ? n : this.#took(n);
  }
  async receive(options: WaitOptions): Promise<Uint8Array | EndOfStream> {
    if (this.#ended) return END_OF_STREAM;
    return this.#took(await this.rawReceive(options));
  }
  receiveSync(options: SyncWaitOptions): Uint8Array | EndOfStream {
    if (this.#ended) return END_OF_STREAM;
    return this.#took(this.rawReceiveSync(options));
  }
  end(options: WaitOptions): Promise<void> {
    return this.rawSend(new Uint8Array(0), options);
  }
}

/** A POSIX queue as a transport. */
export class PosixQueueTransport extends QueueTransport {
  readonly name: string;
  #q: MessageQueue;
  #receipt: QueueReceipt = { length: 0, priority: 0 };

  constructor(q: MessageQueue) {
    super(q.messageSize);
    this.#q = q;
    this.name = `POSIX message queue ${JSON.stringify(q.name)}`;
  }
  protected rawTrySend(bytes: Uint8Array): undefined | WouldBlock {
    return this.#q.trySend(bytes);
  }
  protected rawSend(bytes: Uint8Array, options: WaitOptions): Promise<void> {
    return this.#q.send(bytes, options);
  }
  protected rawSendSync(bytes: Uint8Array, options: SyncWaitOptions): void {
    this.#q.sendSync(bytes, options);
  }
  protected rawTryReceive(): number | WouldBlock {
    const r = this.#q.tryReceiveInto(this.scratch, this.#receipt);
    return r === WOULD_BLOCK ? r : r.length;
  }
  protected async rawReceive(options: WaitOptions): Promise<number> {
    return (await this.#q.receiveInto(this.scratch, options)).length;
  }
  protected rawReceiveSync(options: SyncWaitOptions): number {
    return this.#q.receiveIntoSync(this.scratch, options).length;
  }
  close(): void {
    this.#q.close();
  }
}

/** A System V queue as a transport: messages of one type. */
export class SysVQueueTransport extends QueueTransport {
  readonly name: string;
  #q: SysVMessageQueue;
  #type: number;
  #send: { type: number };
  #take: { type: number; receipt: SysVReceipt };
  #wide: Uint8Array | undefined;

  constructor(q: SysVMessageQueue, type: number, maxMessage: number) {
    super(maxMessage);
    this.#q = q;
    this.#type = type;
    this.name = `System V message queue ${q.id} (type ${type})`;
    this.#send = { type };
    this.#take = { type, receipt: { length: 0, type: 0 } };
  }
  protected rawTrySend(bytes: Uint8Array): undefined | WouldBlock {
    return this.#q.trySend(bytes, this.#send);
  }
  protected rawSend(bytes: Uint8Array, options: WaitOptions): Promise<void> {
    return this.#q.send(bytes, { ...options, type: this.#type });
  }
  protected rawSendSync(bytes: Uint8Array, options: SyncWaitOptions): void {
    this.#q.sendSync(bytes, { ...options, type: this.#type });
  }
  protected rawTryReceive(): number | WouldBlock {
    try {
      const r = this.#q.tryReceiveInto(this.scratch, this.#take);
      return r === WOULD_BLOCK ? r : r.length;
    } catch (e) {
      return this.#oversized(e);
    }
  }
  protected async rawReceive(options: WaitOptions): Promise<number> {
    for (;;) {
      try {
        return (await this.#q.receiveInto(this.scratch, { ...options, type: this.#type })).length;
      } catch (e) {
        const n = this.#oversized(e);
        if (n !== WOULD_BLOCK) return n;
      }
    }
  }
  protected rawReceiveSync(options: SyncWaitOptions): number {
    for (;;) {
      try {
        return this.#q.receiveIntoSync(this.scratch, { ...options, type: this.#type }).length;
      } catch (e) {
        const n = this.#oversized(e);
        if (n !== WOULD_BLOCK) return n;
      }
    }
  }
  /**
   * After E2BIG (a peer's message longer than `maxMessage`): takes that message off the queue,
   * so the ones behind it can be had, and reports it once. The take is cut at `maxMessage + 1`
   * bytes, which tells an oversized message from a good one that came first meanwhile (that one
   * is simply the result). WOULD_BLOCK when another receiver took it first.
   */
  #oversized(e: unknown): number | WouldBlock {
    if (!(e instanceof ErrnoError && e.code === "E2BIG")) throw e;
    this.#wide ??= new Uint8Array(this.maxMessage + 1);
    const r = this.#q.tryReceiveInto(this.#wide, { type: this.#type, truncate: true });
    if (r === WOULD_BLOCK) return WOULD_BLOCK;
    if (r.length <= this.maxMessage) {
      this.scratch.set(this.#wide.subarray(0, r.length));
      return r.length;
    }
    throw new ErrnoError(E.E2BIG, "msgrcv", {
      action: "receive on",
      object: this.name,
      detail: `a message longer than maxMessage (${this.maxMessage} bytes) was taken off the ` +
        "queue and dropped, so that the messages behind it can be received (the next receive " +
        "goes on with them); give the channel a maxMessage as large as its largest message",
    });
  }
  close(): void {
    this.#q.close();
  }
}

/** A seqpacket socket as a transport: one socket message a message. */
export class SeqpacketTransport implements ChannelTransport {
  readonly name = "Unix seqpacket socket";
  readonly maxMessage: number;
  readonly sends = true;
  readonly receives = true;
  readonly sendsEmpty = false;
  #s: UnixSocket;
  #scratch: Uint8Array;
  #ended = false;

  constructor(s: UnixSocket, maxMessage: number) {
    this.#s = s;
    this.maxMessage = maxMessage;
    // One byte more than the longest message, so a longer one shows as one that filled it.
    this.#scratch = new Uint8Array(maxMessage + 1);
  }
  trySend(bytes: Uint8Array): undefined | WouldBlock {
    return this.#s.trySend(bytes) === WOULD_BLOCK ? WOULD_BLOCK : undefined;
  }
  send(bytes: Uint8Array, options: WaitOptions): Promise<void> {
    return this.#s.send(bytes, options);
  }
  #took(length: number): Uint8Array | EndOfStream {
    // A seqpacket read of 0 bytes is the peer's shutdown (empty messages are never sent).
    if (length === 0) return this.#end(END_OF_STREAM);
    if (length > this.maxMessage) {
      throw new ErrnoError(E.EMSGSIZE, "recvmsg", {
        action: "receive on",
        object: this.name,
        detail: `a message of more than maxMessage (${this.maxMessage}) bytes arrived and was ` +
          "discarded",
      });
    }
    return this.#scratch.subarray(0, length);
  }
  tryReceive(): Uint8Array | WouldBlock | EndOfStream {
    if (this.#ended) return END_OF_STREAM;
    const r = this.#s.tryReceiveInto(this.#scratch);
    return r === WOULD_BLOCK || r === END_OF_STREAM ? this.#end(r) : this.#took(r.length);
  }
  async receive(options: WaitOptions): Promise<Uint8Array | EndOfStream> {
    if (this.#ended) return END_OF_STREAM;
    const r = await this.#s.receiveInto(this.#scratch, options);
    return r === END_OF_STREAM ? this.#end(r) : this.#took(r.length);
  }
  #end<R extends WouldBlock | EndOfStream>(r: R): R {
    if (r === END_OF_STREAM) this.#ended = true;
    return r;
  }
  end(): Promise<void> {
    this.#s.shutdownWrite();
    return Promise.resolve();
  }
  close(): void {
    this.#s.close();
  }
}

/** Where a framed transport's bytes come from and go: a pipe's ends or a stream socket. */
export interface ByteEnds {
  tryWrite?(bytes: Uint8Array): number | WouldBlock;
  /** Writes all of `bytes`, however long it takes (a message already begun must be finished). */
  write?(bytes: Uint8Array): Promise<void>;
  /** Waits until a write could make progress (`TimeoutError`, the signal's reason). */
  writable?(options: WaitOptions): Promise<void>;
  tryRead?(into: Uint8Array): number | WouldBlock | EndOfStream;
  read?(into: Uint8Array, options: WaitOptions): Promise<number | EndOfStream>;
  endWrite(): void;
  close(): void;
}

const HEADER = 4;

/**
 * Messages over a byte stream: each a 4-byte little-endian length, then its bytes. What a
 * receive reads stays buffered here, so a receive cut short by a timeout or a signal loses
 * nothing; a frame that claims more than `maxMessage` poisons the channel (every later receive
 * throws the same error) before anything is allocated for it.
 */
export class FramedTransport implements ChannelTransport {
  readonly name: string;
  readonly maxMessage: number;
  readonly sends: boolean;
  readonly receives: boolean;
  readonly sendsEmpty = true;
  #ends: ByteEnds;
  // Received bytes: [#start, #end) not yet taken.
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #eof = false;
  #broken: Error | undefined;
  // The rest of a message whose first bytes went: it is written in the background (a message
  // begun is always finished) and goes before anything else.
  #pending: Uint8Array | undefined;
  #flushing: Promise<void> | undefined;
  #flushError: unknown;

  constructor(name: string, ends: ByteEnds, maxMessage: number) {
    this.name = name;
    this.#ends = ends;
    this.maxMessage = maxMessage;
    this.sends = ends.tryWrite !== undefined;
    this.receives = ends.tryRead !== undefined;
    this.#buf = new Uint8Array(this.receives ? Math.min(maxMessage + HEADER, 65536) : 0);
  }

  #frame(bytes: Uint8Array): Uint8Array {
    const n = bytes.length;
    const frame = new Uint8Array(HEADER + n);
    frame[0] = n & 0xff; // the length, little-endian
    frame[1] = (n >>> 8) & 0xff;
    frame[2] = (n >>> 16) & 0xff;
    frame[3] = n >>> 24;
    frame.set(bytes, HEADER);
    return frame;
  }
  /** Writes what it can of the pending rest now; whether none is left. */
  #flushNow(): boolean {
    if (this.#flushing !== undefined) return false;
    while (this.#pending !== undefined) {
      const n = this.#ends.tryWrite?.(this.#pending) ?? WOULD_BLOCK;
      if (n === WOULD_BLOCK) {
        this.#startFlush();
        return false;
      }
      this.#pending = n >= this.#pending.length ? undefined : this.#pending.subarray(n);
    }
    return true;
  }
  #startFlush(): void {
    const rest = this.#pending;
    if (rest === undefined || this.#flushing !== undefined || this.#ends.write === undefined) {
      return;
    }
    this.#flushing = this.#ends.write(rest).then(
      () => {
        this.#pending = undefined;
        this.#flushing = undefined;
      },
      (e) => {
        this.#flushError = e;
        this.#flushing = undefined;
      },
    );
  }
  /** Waits for the pending rest to go, within `bounds` (nothing of a new message is sent). */
  async #awaitFlush(bounds: Bounds): Promise<void> {
    while (this.#flushing !== undefined) {
      await promiseWithin(this.#flushing, bounds, `sending on ${this.name}`);
    }
    if (this.#flushError !== undefined) throw this.#flushError;
  }
  trySend(bytes: Uint8Array): undefined | WouldBlock {
    if (this.#flushError !== undefined) throw this.#flushError;
    if (!this.#flushNow()) return WOULD_BLOCK;
    const frame = this.#frame(bytes);
    const n = this.#ends.tryWrite?.(frame) ?? WOULD_BLOCK;
    if (n === WOULD_BLOCK) return WOULD_BLOCK;
    // Part of it went: the message is sent as far as the caller is concerned; the rest is
    // written in the background, before the next message.
    if (n < frame.length) {
      this.#pending = frame.subarray(n);
      this.#startFlush();
    }
    return undefined;
  }
  async send(bytes: Uint8Array, options: WaitOptions): Promise<void> {
    const bounds = boundsOf(options);
    for (;;) {
      await this.#awaitFlush(bounds);
      if (this.trySend(bytes) !== WOULD_BLOCK) break;
      if (this.#flushing === undefined) await this.#ends.writable?.(optionsOf(bounds));
    }
    // Begun: its rest is written in the background before anything else, so the stream stays
    // whole; the caller waits for it within the same bounds, and is told what went if not.
    const total = HEADER + bytes.length;
    try {
      await this.#awaitFlush(bounds);
    } catch (e) {
      if (!(e instanceof DOMException && e.name === "TimeoutError")) throw e;
      const left = this.#pending?.length ?? 0;
      throw new DOMException(
        `sending on ${this.name} timed out with the message begun: ${total - left} of its ` +
          `${total} bytes (4 of them the length) were written; the rest will be written before ` +
          "the next message, so the receiver gets it whole once someone reads",
        "TimeoutError",
      );
    }
  }

  /** A whole frame from what is buffered, or undefined. Checks the length before using it. */
  #take(): Uint8Array | undefined {
    const have = this.#end - this.#start;
    if (have < HEADER) return undefined;
    const b = this.#buf;
    const h = this.#start;
    const length = ((b[h] ?? 0) | (b[h + 1] ?? 0) << 8 | (b[h + 2] ?? 0) << 16) +
      (b[h + 3] ?? 0) * 0x1000000;
    if (length > this.maxMessage) {
      // Bytes a peer got wrong: EPROTO, as the ring reports its corrupt words.
      this.#broken = new ErrnoError(E.EPROTO, "read", {
        action: "receive on",
        object: this.name,
        detail: `a frame claims ${length} bytes, more than maxMessage (${this.maxMessage}); ` +
          "the stream is not a dipc channel or is corrupt",
      });
      throw this.#broken;
    }
    if (have < HEADER + length) {
      if (this.#buf.length < HEADER + length) this.#grow(HEADER + length);
      return undefined;
    }
    const at = this.#start + HEADER;
    this.#start = at + length;
    return this.#buf.subarray(at, at + length);
  }
  #grow(need: number): void {
    const bigger = new Uint8Array(Math.max(need, Math.min(this.#buf.length * 2, need * 2)));
    bigger.set(this.#buf.subarray(this.#start, this.#end));
    this.#end -= this.#start;
    this.#start = 0;
    this.#buf = bigger;
  }
  /** Room at the end of the buffer for a read, moving what is left to the front first. */
  #room(): Uint8Array {
    if (this.#start === this.#end) this.#start = this.#end = 0;
    else if (this.#end === this.#buf.length) {
      this.#buf.copyWithin(0, this.#start, this.#end);
      this.#end -= this.#start;
      this.#start = 0;
    }
    return this.#buf.subarray(this.#end);
  }
  #atEof(): EndOfStream {
    if (this.#end > this.#start) {
      this.#broken = new ErrnoError(E.EPROTO, "read", {
        action: "receive on",
        object: this.name,
        detail: `the stream ended inside a message (${this.#end - this.#start} bytes of it ` +
          "arrived); the sender stopped mid-write",
      });
      throw this.#broken;
    }
    return END_OF_STREAM;
  }
  tryReceive(): Uint8Array | WouldBlock | EndOfStream {
    if (this.#broken) throw this.#broken;
    return this.#tryReceive();
  }
  #tryReceive(): Uint8Array | WouldBlock | EndOfStream {
    for (;;) {
      const m = this.#take();
      if (m !== undefined) return m;
      if (this.#eof) return this.#atEof();
      const n = this.#ends.tryRead?.(this.#room()) ?? END_OF_STREAM;
      if (n === WOULD_BLOCK) return n;
      if (n === END_OF_STREAM) this.#eof = true;
      else this.#end += n;
    }
  }
  async receive(options: WaitOptions): Promise<Uint8Array | EndOfStream> {
    const bounds = boundsOf(options);
    for (;;) {
      if (this.#broken) throw this.#broken;
      const now = this.#tryReceive();
      if (now !== WOULD_BLOCK) return now;
      // Wait for bytes; what arrives is kept here even if the wait below is cut short later.
      const n = await this.#ends.read?.(this.#room(), optionsOf(bounds)) ?? END_OF_STREAM;
      if (n === END_OF_STREAM) this.#eof = true;
      else this.#end += n;
    }
  }
  async end(options: WaitOptions): Promise<void> {
    await this.#awaitFlush(boundsOf(options));
    this.#ends.endWrite();
  }
  close(): void {
    this.#ends.close();
  }
}

/**
 * The sending end of a ring channel (see ring.ts for the protocol).
 *
 * @module
 */

import {
  align8,
  BUSY,
  checkFirstPeer,
  type ExpectedPeer,
  LOCK_SPINS,
  LOCK_TRIES,
  Ordering,
  RECEIVER_GONE,
  Ring,
  RING_HEADER_SIZE,
  SENDER_SEEN,
  SKIP,
  W_DATA_ORDERED,
  W_DATA_WAIT,
  W_HEAD,
  W_LOCK,
  W_RECEIVER,
  W_SENDERS,
  W_SPACE_ORDERED,
  W_SPACE_WAIT,
  W_SPACE_WANTED,
  W_STATE,
  W_TAIL,
} from "./_ring_protocol.ts";
import { E } from "../ffi/constants.ts";
import { checkInternal } from "./_internal.ts";
import { libc } from "../ffi/load.ts";
import { ClosedError, ErrnoError } from "./errors.ts";
import { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
import { validateBuffer, validateInteger } from "./_validate.ts";
import {
  type AdaptiveSpins,
  deadlineFor,
  type Sleeper,
  syncDeadlineOf,
  syncTimeoutOf,
  type SyncWaitOptions,
  TIMED_OUT,
  timedOut,
  waitBoundsOf,
  type WaitOptions,
  waitUntil,
  waitUntilSync,
} from "./_wait.ts";

export type { SyncWaitOptions, WaitOptions } from "./_wait.ts";

/** Messages up to this many bytes are copied in a word at a time when they can be. */
const COPY_WORDS_MAX = 512;

/**
 * The end of a {@linkcode RingChannel} that sends. Made by {@linkcode RingChannel.sender}.
 *
 * @example Several messages in one go
 * ```ts
 * import { RingChannel } from "@dipc/dipc";
 *
 * using ring = RingChannel.temporary({ capacity: 4096 });
 * using rx = ring.receiver();
 * using tx = ring.sender();
 * await tx.sendBatch([new Uint8Array([1]), new Uint8Array([2])], { timeout: 1_000 });
 * console.log(ring.stat().used > 0); // true
 * ```
 */
export class RingSender implements Disposable {
  #ring: Ring;
  #words: Int32Array<ArrayBuffer>;
  #bytes: Uint8Array<ArrayBuffer>;
  #slot: number;
  #onClose: () => void;
  #closed = false;
  /** Single producer: the tail, kept here (only this sender writes it). */
  #tail = 0;
  /** The head as last read: it only grows, so a stale value only underestimates the room. */
  #headCache = 0;
  /** The reservation being written: its record's byte index, or -1. */
  #reserved = -1;
  #reservedLength = 0;
  #sleeper: Sleeper | undefined;
  /** Set once a peer corrupted the channel: the error every later send throws. */
  #broken: ErrnoError | undefined;
  #spins: number | AdaptiveSpins;
  // Copies of the ring's fixed facts, for the fast path.
  #multi: boolean;
  #plain: boolean;
  /** This sender's request for an ordered `head` while it sleeps for room. */
  #ordering: Ordering;
  #mask: number;
  #capacity: number;
  #maxLength: number;
  #pid: number;
  /** The array last sent twice in a row, and a 32-bit view of it (see #copyIn). */
  #last: Uint8Array | undefined;
  #last32: Int32Array | undefined;
  #seen: Uint8Array | undefined;

  /** The process expected to attach as the receiver, while none has. */
  #receiverProcess: ExpectedPeer | undefined;
  /** The monotonic deadline for a first receiver, while none has attached. */
  #receiverDeadline: bigint | undefined;
  /** Whether a first receiver is still awaited with a bound (either of the above). */
  #awaitingReceiver: boolean;

  /** @ignore */
  constructor(
    token: unknown,
    ring: Ring,
    spins: number | AdaptiveSpins,
    onClose: () => void,
    receiverProcess?: ExpectedPeer,
    receiverDeadline?: bigint,
  ) {
    checkInternal(token, "RingChannel.sender() / receiver()");
    this.#receiverProcess = receiverProcess;
    this.#receiverDeadline = receiverDeadline;
    this.#awaitingReceiver = receiverProcess !== undefined || receiverDeadline !== undefined;
    this.#spins = spins;
    this.#ring = ring;
    this.#words = ring.words;
    this.#bytes = ring.bytes;
    this.#onClose = onClose;
    this.#multi = ring.multi;
    this.#plain = ring.plain;
    this.#ordering = new Ordering(ring, W_SPACE_ORDERED);
    this.#mask = ring.mask;
    this.#capacity = ring.capacity;
    this.#maxLength = ring.capacity / 2 - 8;
    this.#pid = ring.pid;
    const w = ring.words;
    const free = (): number => {
      for (let i = 0; i < ring.slots; i++) if (ring.claim(W_SENDERS + 2 * i)) return i;
      return -1;
    };
    let slot = free();
    if (slot < 0 && ring.reapSenders() > 0) slot = free();
    if (slot < 0) {
      throw new ErrnoError(E.EBUSY, "sender", {
        action: ring.multi ? "attach one more sender to" : "attach a second sender to",
        object: ring.what,
      });
    }
    this.#slot = slot;
    this.#tail = Atomics.load(w, W_TAIL) >>> 0;
    this.#headCache = Atomics.load(w, W_HEAD) >>> 0;
    try {
      ring.checkSpan(this.#headCache, this.#tail);
    } catch (e) {
      ring.release(W_SENDERS + 2 * slot);
      throw e;
    }
    if (!ring.multi) Atomics.store(w, W_SPACE_ORDERED, 0); // this sender's word now
    Atomics.or(w, W_STATE, SENDER_SEEN);
  }

  /** Whether `close()` has been called (or the channel's memory was closed). */
  get closed(): boolean {
    return this.#closed || this.#words.length === 0;
  }

  /**
   * Sends `data` if there is room now.
   *
   * @param data the message, at most {@linkcode RingChannel.maxMessageSize} bytes
   * @returns undefined when sent, {@linkcode WOULD_BLOCK} when the ring is full (nothing sent)
   * @throws {ErrnoError} EMSGSIZE (too long; nothing sent), EPIPE (the receiver has gone)
   * @throws {ClosedError} after close
   *
   * @example Fill a small ring
   * ```ts
   * import { RingChannel, WOULD_BLOCK } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 64 });
   * using tx = channel.sender();
   * let sent = 0;
   * while (tx.trySend(new Uint8Array(8)) !== WOULD_BLOCK) sent++;
   * console.log(sent); // 4: four 16-byte records fill 64 bytes
   * ```
   */
  trySend(data: Uint8Array): undefined | WouldBlock {
    // The common case, a single sender with room before the ring's end, takes this path; any
    // other (a check to fail, a wrap, no room, several senders) takes the general one below.
    const w = this.#words;
    if (
      !this.#multi && this.#reserved < 0 && !this.#closed && this.#broken === undefined &&
      !this.#awaitingReceiver && data instanceof Uint8Array && w.length !== 0
    ) {
      const n = data.length;
      const t = this.#tail;
      const idx = t & this.#mask;
      const rec = 8 + align8(n);
      if (
        n !== 0 && n <= this.#maxLength && idx + rec <= this.#capacity &&
        ((t - this.#headCache) >>> 0) + rec <= this.#capacity &&
        ((this.#plain ? w[W_STATE] ?? 0 : Atomics.load(w, W_STATE)) & RECEIVER_GONE) === 0
      ) {
        const at = RING_HEADER_SIZE + idx;
        this.#copyIn(data, n, at + 8);
        const k = at >> 2;
        w[k] = n;
        w[k + 1] = this.#pid;
        const next = (t + rec) >>> 0;
        this.#tail = next;
        if (this.#plain && w[W_DATA_ORDERED] === 0) {
          w[W_TAIL] = next | 0;
          if ((w[W_DATA_WAIT] ?? 0) !== 0) this.#ring.wakeData();
        } else {
          Atomics.store(w, W_TAIL, next | 0);
          this.#ring.wakeData();
        }
        if (this.#ordering.asked) this.#ordering.calm();
        return undefined;
      }
    }
    return this.#trySend(data);
  }

  /**
   * Copies `n` bytes of `data` into the ring at byte `to` (8-aligned): four bytes at a time
   * through a view of `data` kept while the same array is sent again (a sender that reuses one
   * buffer), else with `set`.
   */
  #copyIn(data: Uint8Array, n: number, to: number): void {
    if (n <= COPY_WORDS_MAX) {
      if (data === this.#last) {
        const view = this.#last32;
        const words = n >> 2;
        // (A fixed-length view over a buffer that shrank reads as out of bounds: length 0.)
        if (view !== undefined && view.length >= words) {
          const w = this.#words;
          const k = to >> 2;
          for (let j = 0; j < words; j++) w[k + j] = view[j] ?? 0;
          const bytes = this.#bytes;
          for (let j = words << 2; j < n; j++) bytes[to + j] = data[j] ?? 0;
          return;
        }
      } else if (data === this.#seen && (data.byteOffset & 3) === 0) {
        // Seen twice in a row: worth a view (a sender of fresh arrays never pays for one).
        this.#last = data;
        this.#last32 = new Int32Array(data.buffer, data.byteOffset, data.length >> 2);
      } else {
        this.#seen = data;
      }
    }
    this.#bytes.set(data, to);
  }

  /** The general path of {@linkcode RingSender.trySend}. */
  #trySend(data: Uint8Array): undefined | WouldBlock {
    const n = this.#checkMessage(data);
    const at = this.#claim(n);
    if (at < 0) return this.#noRoom();
    try {
      this.#bytes.set(data, at + 8);
    } catch (e) {
      this.#abandon(at, n); // never leave a busy record behind
      throw e;
    }
    this.#publish(at, n);
    return undefined;
  }

  /**
   * Sends `data`, waiting while the ring is full.
   *
   * @param data the message
   * @param options `signal` and `timeout` (ms)
   * @throws {DOMException} `TimeoutError` (nothing was sent)
   * @throws the signal's reason when aborted (nothing was sent)
   * @throws {ErrnoError} EMSGSIZE, EPIPE (the receiver closed or died)
   * @throws {ClosedError} after close, or when closed during the wait
   *
   * @example Send with a timeout
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * using tx = channel.sender();
   * await tx.send(new Uint8Array(100), { timeout: 1000 });
   * ```
   */
  async send(data: Uint8Array, options?: WaitOptions): Promise<void> {
    const n = this.#checkMessage(data);
    const opts = waitBoundsOf(options);
    if (this.trySend(data) !== WOULD_BLOCK) return;
    const r = await waitUntil(() => this.trySend(data), this.#sleep(n), opts, this.#spins);
    if (r === TIMED_OUT) throw timedOut(`send on ${this.#ring.what}`);
  }

  /**
   * Sends `data`, blocking the calling thread while the ring is full (for Workers and tight
   * loops; on the main thread prefer {@linkcode RingSender.send}).
   *
   * @param data the message
   * @param options `timeout` (ms; default: no limit)
   * @throws {DOMException} `TimeoutError` (nothing was sent)
   * @throws {ErrnoError} EMSGSIZE, EPIPE
   * @throws {ClosedError} after close
   *
   * @example Blocking send
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * using tx = channel.sender();
   * tx.sendSync(new Uint8Array(16), { timeout: 1000 });
   * ```
   */
  sendSync(data: Uint8Array, options?: SyncWaitOptions): void {
    // Try first: a message that fits costs no clock, no closure and no deadline.
    const timeout = syncTimeoutOf(options);
    if (this.trySend(data) !== WOULD_BLOCK) return;
    const n = this.#checkMessage(data);
    const deadline = deadlineFor(timeout);
    const r = this.#waitSync(() => this.trySend(data), n, deadline);
    if (r === TIMED_OUT) throw timedOut(`send on ${this.#ring.what}`);
  }

  /**
   * Sends as many of `messages` (from index `start`) as fit now, in order, with one
   * publication of the tail and one wake-up check for all of them: the path for many small
   * messages, where a call per message costs more than the copy. Stops before a message that
   * is not valid (not a Uint8Array, or too long); a call that starts at it throws.
   *
   * @param messages the messages
   * @param start the index of the first one to send (default 0)
   * @returns how many were sent, from `start` on (0 when `start` is the end); or
   *   {@linkcode WOULD_BLOCK} when not even the first fits (nothing sent)
   * @throws {ErrnoError} EMSGSIZE when the first is too long, EPIPE (the receiver has gone)
   * @throws {TypeError} when the first is not a Uint8Array
   * @throws {ClosedError} after close
   *
   * @example Many small messages at once
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * using tx = channel.sender();
   * const batch = Array.from({ length: 10 }, (_, i) => new Uint8Array([i]));
   * console.log(tx.trySendBatch(batch)); // 10
   * ```
   */
  trySendBatch(messages: readonly Uint8Array[], start: number = 0): number | WouldBlock {
    if (!Array.isArray(messages)) {
      throw new TypeError(`messages must be an array of Uint8Array, got ${typeof messages}`);
    }
    const end = messages.length;
    let i = validateInteger(start, "start", 0, end);
    if (i === end) return 0;
    if (this.#ring.multi) return this.#sendEach(messages, i);
    this.#checkMessage(messages[i] as Uint8Array);
    this.#claimCheck();
    const ring = this.#ring;
    const w = this.#words;
    const bytes = this.#bytes;
    const cap = ring.capacity;
    const mask = ring.mask;
    const pid = ring.pid;
    let t = this.#tail;
    let head = this.#headCache;
    for (; i < end; i++) {
      const m = messages[i] as Uint8Array;
      let n: number;
      try {
        n = this.#checkMessage(m);
      } catch (e) {
        if (i === start) throw e;
        break; // published up to here; the next call, starting at it, throws
      }
      const rec = 8 + align8(n);
      let idx = t & mask;
      const contiguous = cap - idx;
      const need = rec <= contiguous ? rec : contiguous + rec;
      if (((t - head) >>> 0) + need > cap) {
        head = Atomics.load(w, W_HEAD) >>> 0;
        if ((head & 7) !== 0 || ((t - head) >>> 0) > cap) {
          this.#fail(
            ring.corrupt("head", head, `not a position up to ${cap} bytes behind tail ${t}`),
          );
        }
        if (((t - head) >>> 0) + need > cap) break;
      }
      if (rec > contiguous) {
        const k = (RING_HEADER_SIZE + idx) >> 2;
        w[k + 1] = pid;
        w[k] = SKIP | (contiguous - 8);
        t = (t + contiguous) >>> 0;
        idx = 0;
      }
      const at = RING_HEADER_SIZE + idx;
      bytes.set(m, at + 8);
      w[at >> 2] = n;
      w[(at >> 2) + 1] = pid;
      t = (t + rec) >>> 0;
    }
    this.#headCache = head;
    const sent = i - start;
    if (sent === 0) return this.#noRoom();
    // One publication for the whole batch: a receiver that sees the tail sees every record
    // before it (the tail is stored last, with a release store).
    this.#tail = t;
    ring.publish(W_TAIL, t, W_DATA_ORDERED);
    if (this.#ordering.asked) this.#ordering.calm();
    ring.wakeData();
    return sent;
  }

  /**
   * Sends every message of `messages`, in order, in batches, waiting while the ring is full.
   *
   * @param messages the messages
   * @param options `signal` and `timeout` (ms, for the whole call)
   * @throws {DOMException} `TimeoutError`; the messages before the one that did not fit were sent
   * @throws the signal's reason when aborted (likewise)
   * @throws {ErrnoError} EMSGSIZE, EPIPE
   * @throws {ClosedError} after close, or when closed during the wait
   */
  async sendBatch(messages: readonly Uint8Array[], options?: WaitOptions): Promise<void> {
    const opts = waitBoundsOf(options);
    let at = 0;
    while (at < (Array.isArray(messages) ? messages.length : 1)) {
      const r = this.trySendBatch(messages, at);
      if (r !== WOULD_BLOCK) {
        at += r;
        continue;
      }
      const n = (messages[at] as Uint8Array).length;
      const got = await waitUntil(
        () => this.trySendBatch(messages, at),
        this.#sleep(n),
        opts,
        this.#spins,
      );
      if (got === TIMED_OUT) throw timedOut(`send on ${this.#ring.what}`);
      at += got;
    }
  }

  /**
   * Sends every message of `messages` as {@linkcode RingSender.sendBatch} does, blocking the
   * calling thread while the ring is full.
   *
   * @param messages the messages
   * @param options `timeout` (ms, for the whole call)
   * @throws {DOMException} `TimeoutError`; the messages before the one that did not fit were sent
   * @throws {ErrnoError} EMSGSIZE, EPIPE
   * @throws {ClosedError} after close
   */
  sendBatchSync(messages: readonly Uint8Array[], options?: SyncWaitOptions): void {
    const timeout = syncTimeoutOf(options);
    let deadline: bigint | undefined;
    let waited = false;
    let at = 0;
    while (at < (Array.isArray(messages) ? messages.length : 1)) {
      const r = this.trySendBatch(messages, at);
      if (r !== WOULD_BLOCK) {
        at += r;
        continue;
      }
      const n = (messages[at] as Uint8Array).length;
      if (!waited) {
        waited = true;
        deadline = deadlineFor(timeout); // the first wait of this call fixes its deadline
      }
      const got = this.#waitSync(() => this.trySendBatch(messages, at), n, deadline);
      if (got === TIMED_OUT) throw timedOut(`send on ${this.#ring.what}`);
      at += got;
    }
  }

  /** Multi-producer batches: a claim (under the lock) per message, one wake-up at the end. */
  #sendEach(messages: readonly Uint8Array[], start: number): number | WouldBlock {
    let i = start;
    for (; i < messages.length; i++) {
      const m = messages[i] as Uint8Array;
      let n: number;
      try {
        n = this.#checkMessage(m);
      } catch (e) {
        if (i === start) throw e;
        break;
      }
      const at = this.#claim(n);
      if (at < 0) break;
      try {
        this.#bytes.set(m, at + 8);
      } catch (e) {
        this.#abandon(at, n);
        throw e;
      }
      this.#publish(at, n, n, false);
    }
    if (i === start) return this.#noRoom();
    this.#ring.wakeData();
    return i - start;
  }

  /**
   * Zero-copy send, step 1: reserves room for a message of `size` bytes and returns it as a
   * view into shared memory. Write the message there, then {@linkcode RingSender.commit}. The
   * receiver sees nothing until the commit.
   *
   * @param size the message's length (a shorter one may be committed)
   * @returns the reserved bytes, or {@linkcode WOULD_BLOCK} when the ring is full
   * @throws {ErrnoError} EMSGSIZE, EPIPE
   * @throws {TypeError} when a reservation is already open
   * @throws {ClosedError} after close
   *
   * @example Write in place
   * ```ts
   * import { RingChannel, WOULD_BLOCK } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * using tx = channel.sender();
   * const room = tx.tryReserve(5);
   * if (room !== WOULD_BLOCK) {
   *   room.set([104, 101, 108, 108, 111]);
   *   tx.commit();
   * }
   * ```
   */
  tryReserve(size: number): Uint8Array | WouldBlock {
    const n = this.#checkSize(size);
    if (this.#reserved >= 0) {
      throw new TypeError("a reservation is already open: commit() or discard() it first");
    }
    const at = this.#claim(n);
    if (at < 0) return this.#noRoom();
    this.#reserved = at;
    this.#reservedLength = n;
    return this.#bytes.subarray(at + 8, at + 8 + n);
  }

  /**
   * Reserves room as {@linkcode RingSender.tryReserve}, waiting while the ring is full.
   *
   * @param size the message's length
   * @param options `signal` and `timeout` (ms)
   * @returns the reserved bytes
   * @throws {DOMException} `TimeoutError` (nothing was reserved)
   * @throws the signal's reason when aborted
   * @throws {ErrnoError} EMSGSIZE, EPIPE
   * @throws {ClosedError} after close
   *
   * @example Reserve, write, commit
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * using tx = channel.sender();
   * const room = await tx.reserve(1000, { timeout: 1000 });
   * room.fill(7);
   * tx.commit();
   * ```
   */
  async reserve(size: number, options?: WaitOptions): Promise<Uint8Array> {
    const n = this.#checkSize(size);
    const opts = waitBoundsOf(options);
    const r = await waitUntil(() => this.tryReserve(n), this.#sleep(n), opts, this.#spins);
    if (r === TIMED_OUT) throw timedOut(`reserve on ${this.#ring.what}`);
    return r;
  }

  /**
   * Reserves room, blocking the calling thread while the ring is full.
   *
   * @param size the message's length
   * @param options `timeout` (ms; default: no limit)
   * @returns the reserved bytes
   * @throws {DOMException} `TimeoutError`
   * @throws {ErrnoError} EMSGSIZE, EPIPE
   * @throws {ClosedError} after close
   *
   * @example Blocking reservation
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * using tx = channel.sender();
   * tx.reserveSync(8, { timeout: 1000 }).fill(1);
   * tx.commit();
   * ```
   */
  reserveSync(size: number, options?: SyncWaitOptions): Uint8Array {
    const n = this.#checkSize(size);
    const deadline = syncDeadlineOf(options);
    const r = this.#waitSync(() => this.tryReserve(n), n, deadline);
    if (r === TIMED_OUT) throw timedOut(`reserve on ${this.#ring.what}`);
    return r;
  }

  /**
   * Zero-copy send, step 2: publishes the reserved message.
   *
   * @param length how many of the reserved bytes to send (default: all of them)
   * @throws {TypeError} when nothing is reserved
   * @throws {RangeError} for a length above the reserved size
   * @throws {ClosedError} after close
   */
  commit(length?: number): void {
    this.#assertOpen();
    const at = this.#reserved;
    if (at < 0) throw new TypeError("nothing is reserved: call tryReserve() or reserve() first");
    const n = length === undefined
      ? this.#reservedLength
      : validateInteger(length, "length", 0, this.#reservedLength);
    this.#reserved = -1;
    this.#publish(at, n, this.#reservedLength);
  }

  /**
   * Gives a reservation up: the receiver never sees it.
   *
   * @throws {TypeError} when nothing is reserved
   * @throws {ClosedError} after close
   */
  discard(): void {
    this.#assertOpen();
    const at = this.#reserved;
    if (at < 0) throw new TypeError("nothing is reserved");
    this.#reserved = -1;
    this.#abandon(at, this.#reservedLength);
  }

  /** Gives up the record claimed at `at` for `n` bytes: filler the receiver steps over. */
  #abandon(at: number, n: number): void {
    if (!this.#ring.multi || this.#words.length === 0) return; // single: nothing was published
    Atomics.store(this.#words, at >> 2, SKIP | n);
    this.#ring.wakeData();
  }

  /**
   * The channel as a Web Streams `WritableStream`: each chunk is sent as one message (a chunk
   * longer than {@linkcode RingChannel.maxMessageSize} errors the stream). Closing the stream
   * closes this sender.
   */
  get writable(): WritableStream<Uint8Array> {
    return new WritableStream<Uint8Array>({
      write: (chunk) => this.send(chunk),
      close: () => this.close(),
      abort: () => this.close(),
    });
  }

  /**
   * Detaches: when no sender is left, the receiver gets end of stream once it has taken
   * everything sent. An open reservation is discarded. Calling it again does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    const w = this.#words;
    if (w.length === 0) return;
    if (this.#reserved >= 0) this.#abandon(this.#reserved, this.#reservedLength);
    this.#reserved = -1;
    this.#ordering.release();
    this.#ring.release(W_SENDERS + 2 * this.#slot);
    this.#ring.wakeData();
    this.#sleeper?.interrupt();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #assertOpen(): void {
    if (this.#closed || this.#words.length === 0) {
      throw new ClosedError(`sender of ${this.#ring.what}`);
    }
    if (this.#broken !== undefined) throw this.#broken;
  }

  /** Remembers that a peer corrupted the channel: every later send throws the same error. */
  #fail(e: ErrnoError): never {
    if (this.#ring.multi && Atomics.load(this.#words, W_LOCK) === this.#ring.pid) {
      Atomics.compareExchange(this.#words, W_LOCK, this.#ring.pid, 0);
    }
    this.#broken = e;
    throw e;
  }

  #checkMessage(data: Uint8Array): number {
    // A detached array reads as empty: only an empty one needs the full check.
    if (!(data instanceof Uint8Array) || data.length === 0) validateBuffer(data, "data");
    return this.#checkLength(data.length);
  }

  #checkSize(size: unknown): number {
    return this.#checkLength(validateInteger(size, "size", 0, Number.MAX_SAFE_INTEGER));
  }

  #checkLength(n: number): number {
    if (n > this.#ring.capacity / 2 - 8) {
      throw new ErrnoError(E.EMSGSIZE, "send", {
        action: `send ${n} bytes (at most ${this.#ring.capacity / 2 - 8}) on`,
        object: this.#ring.what,
      });
    }
    return n;
  }

  /**
   * "No room now": WOULD_BLOCK, unless no receiver has ever attached and the process expected
   * to be it has exited (ECONNREFUSED) or the time allowed for one has passed (TimeoutError).
   */
  #noRoom(): WouldBlock {
    if (!this.#awaitingReceiver) return WOULD_BLOCK;
    const w = this.#words;
    if (Atomics.load(w, W_RECEIVER) !== 0 || (Atomics.load(w, W_STATE) & RECEIVER_GONE) !== 0) {
      this.#awaitingReceiver = false; // one has attached: EPIPE rules from here on
      return WOULD_BLOCK;
    }
    checkFirstPeer(this.#receiverProcess, this.#receiverDeadline, "receiver", this.#ring.what);
    return WOULD_BLOCK;
  }

  /** What every send checks first: open, the receiver there, no reservation open. */
  #claimCheck(): void {
    this.#assertOpen();
    const w = this.#words;
    if (((this.#ring.plain ? w[W_STATE] ?? 0 : Atomics.load(w, W_STATE)) & RECEIVER_GONE) !== 0) {
      throw new ErrnoError(E.EPIPE, "send", { action: "send on", object: this.#ring.what });
    }
    if (this.#reserved >= 0) {
      throw new TypeError("a reservation is open: commit() or discard() it first");
    }
  }

  /**
   * Finds room for a record with an `n`-byte message; returns its byte index in the channel,
   * or -1 when full. A multi-producer sender publishes the record as busy here.
   */
  #claim(n: number): number {
    this.#claimCheck();
    const w = this.#words;
    const ring = this.#ring;
    const multi = ring.multi;
    // A lock held by a live sender that does not let go soon (stopped, or slow) is "no room
    // now": the caller's wait sleeps in bounded slices and tries again.
    if (multi && !this.#lock()) return -1;
    const cap = ring.capacity;
    const rec = 8 + align8(n);
    let t = multi ? Atomics.load(w, W_TAIL) >>> 0 : this.#tail;
    if (multi) {
      const head = Atomics.load(w, W_HEAD) >>> 0;
      try {
        ring.checkSpan(head, t);
      } catch (e) {
        this.#fail(e as ErrnoError);
      }
      this.#headCache = head;
    }
    let idx = t & ring.mask;
    const contiguous = cap - idx;
    const need = rec <= contiguous ? rec : contiguous + rec;
    if (((t - this.#headCache) >>> 0) + need > cap) {
      const head = Atomics.load(w, W_HEAD) >>> 0;
      if ((head & 7) !== 0 || ((t - head) >>> 0) > cap) {
        this.#fail(
          ring.corrupt("head", head, `not a position up to ${cap} bytes behind tail ${t}`),
        );
      }
      this.#headCache = head;
      if (((t - this.#headCache) >>> 0) + need > cap) {
        if (multi) Atomics.compareExchange(w, W_LOCK, ring.pid, 0);
        return -1;
      }
    }
    const pid = ring.pid;
    if (rec > contiguous) {
      const k = (RING_HEADER_SIZE + idx) >> 2;
      w[k + 1] = pid;
      Atomics.store(w, k, SKIP | (contiguous - 8));
      t = (t + contiguous) >>> 0;
      idx = 0;
    }
    const at = RING_HEADER_SIZE + idx;
    if (multi) {
      w[(at >> 2) + 1] = pid;
      Atomics.store(w, at >> 2, BUSY | n);
      Atomics.store(w, W_TAIL, (t + rec) | 0);
      Atomics.compareExchange(w, W_LOCK, ring.pid, 0);
    } else {
      this.#tail = t;
    }
    return at;
  }

  /** Publishes the record at `at` holding `n` bytes (`reserved` were claimed). */
  #publish(at: number, n: number, reserved: number = n, wake: boolean = true): void {
    const w = this.#words;
    const k = at >> 2;
    if (this.#ring.multi) {
      const rest = align8(reserved) - align8(n);
      if (rest > 0) {
        // A shorter commit: the unused end becomes filler.
        const f = (at + 8 + align8(n)) >> 2;
        w[f + 1] = this.#ring.pid;
        w[f] = SKIP | (rest - 8);
      }
      Atomics.store(w, k, n);
    } else {
      w[k] = n;
      w[k + 1] = this.#ring.pid;
      const t = (this.#tail + 8 + align8(n)) >>> 0;
      this.#tail = t;
      this.#ring.publish(W_TAIL, t, W_DATA_ORDERED);
      if (this.#ordering.asked) this.#ordering.calm();
    }
    if (wake) this.#ring.wakeData();
  }

  /**
   * Takes the multi-producer reservation lock (held for a few stores, never across a wait), in
   * at most {@linkcode LOCK_TRIES} tries; false when a live sender still holds it. A holder that
   * is gone (see {@linkcode Ring.writerGone}: dead by pid and start time, or a pid no sender slot
   * holds, as a peer's garbage would be) left nothing half-published (the tail moves last), so
   * the lock is taken over.
   */
  #lock(): boolean {
    const w = this.#words;
    const pid = this.#ring.pid;
    for (let i = 0; i < LOCK_TRIES; i++) {
      const holder = Atomics.compareExchange(w, W_LOCK, 0, pid);
      if (holder === 0) return true;
      if (i >= LOCK_SPINS) libc().sched_yield();
    }
    const holder = Atomics.load(w, W_LOCK);
    if (holder !== 0 && this.#ring.writerGone(holder)) {
      Atomics.compareExchange(w, W_LOCK, holder, 0);
    }
    return Atomics.compareExchange(w, W_LOCK, 0, pid) === 0;
  }

  #raise(n: number): () => void {
    const w = this.#words;
    const wanted = this.#ring.multi ? 0 : 8 + align8(n);
    return () => {
      Atomics.store(w, W_SPACE_WANTED, wanted);
      Atomics.store(w, W_SPACE_WAIT, 1);
    };
  }

  #sleep(n: number): Sleeper {
    const ring = this.#ring;
    const s = ring.sleeper(
      W_SPACE_WAIT,
      this.#raise(n),
      () => ring.reapReceiver(),
      this.#ordering,
    );
    this.#sleeper = s;
    return s;
  }

  #waitSync<T>(
    attempt: () => T | WouldBlock,
    n: number,
    deadline: bigint | undefined,
  ): T | typeof TIMED_OUT {
    const ring = this.#ring;
    const sleeper = ring.syncSleeper(
      W_SPACE_WAIT,
      this.#raise(n),
      () => ring.reapReceiver(),
      this.#ordering,
    );
    return waitUntilSync(attempt, sleeper, deadline, this.#spins);
  }
}

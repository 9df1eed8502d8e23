/**
 * The receiving end of a ring channel (see ring.ts for the protocol).
 *
 * @module
 */

import {
  align8,
  BUSY,
  checkFirstPeer,
  type ExpectedPeer,
  LEN_MASK,
  Ordering,
  RECEIVER_GONE,
  Ring,
  RING_HEADER_SIZE,
  SENDER_SEEN,
  SKIP,
  W_DATA_ORDERED,
  W_DATA_WAIT,
  W_DEATHS,
  W_HEAD,
  W_RECEIVER,
  W_SPACE_ORDERED,
  W_SPACE_WAIT,
  W_STATE,
  W_TAIL,
} from "./_ring_protocol.ts";
import { copyOut } from "./_copy.ts";
import { messageReadable } from "./_streams.ts";
import { E } from "../ffi/constants.ts";
import { checkInternal } from "./_internal.ts";
import { ClosedError, ErrnoError } from "./errors.ts";
import { END_OF_STREAM, type EndOfStream, WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
import { validateBuffer } from "./_validate.ts";
import {
  type AdaptiveSpins,
  type Bounds,
  deadlineFor,
  type Sleeper,
  syncDeadlineOf,
  type SyncSleeper,
  syncTimeoutOf,
  type SyncWaitOptions,
  TIMED_OUT,
  timedOut,
  validateWaitOptions,
  waitBoundsOf,
  type WaitOptions,
  waitUntil,
  waitUntilSync,
} from "./_wait.ts";

export type { SyncWaitOptions, WaitOptions } from "./_wait.ts";

/** Messages up to this many bytes are copied out a word at a time (beyond, `set` is faster). */
const COPY_WORDS_MAX = 512;

/**
 * The end of a {@linkcode RingChannel} that receives. Made by {@linkcode RingChannel.receiver}.
 *
 * @example Take what is there without waiting
 * ```ts
 * import { RingChannel, WOULD_BLOCK } from "@dipc/dipc";
 *
 * using ring = RingChannel.temporary({ capacity: 4096 });
 * using rx = ring.receiver();
 * using tx = ring.sender();
 * console.log(rx.tryReceive() === WOULD_BLOCK); // true: nothing yet
 * tx.trySend(new Uint8Array([42]));
 * const got = rx.tryReceive();
 * console.log(got instanceof Uint8Array && got[0]); // 42
 * ```
 */
export class RingReceiver implements Disposable {
  #ring: Ring;
  #words: Int32Array<ArrayBuffer>;
  #bytes: Uint8Array<ArrayBuffer>;
  #onClose: () => void;
  #closed = false;
  /** The head, kept here (only the receiver writes it). */
  #head: number;
  /** The tail as last read. */
  #tailCache: number;
  #deathsSeen: number;
  /** The message handed out by a peek: its byte index, or -1. */
  #peeked = -1;
  /** An error met after a batch had taken messages: the next call throws it. */
  #deferred: unknown;
  /** The length of the message #next found (read once, checked, never read again). */
  #length = 0;
  /** Set once a peer corrupted the channel (reported once, then end of stream). */
  #broken = false;
  /** Whether record words may be read with plain loads (single producer, see Ring.plain). */
  #plainRecords: boolean;
  /** This receiver's request for an ordered `tail` while it sleeps for data. */
  #ordering: Ordering;
  /** The last `into` of tryReceiveInto, and a 32-bit view of it (undefined: not 4-aligned). */
  #into: Uint8Array | undefined;
  #into32: Int32Array | undefined;
  // Copies of the ring's fixed facts, for the fast path.
  #mask: number;
  #capacity: number;
  #maxLength: number;
  #sleeper: Sleeper | undefined;
  #syncSleeper: SyncSleeper | undefined;
  #spins: number | AdaptiveSpins;

  /** The process expected to attach as the first sender, while none has. */
  #senderProcess: ExpectedPeer | undefined;
  /** The monotonic deadline for a first sender, while none has attached. */
  #senderDeadline: bigint | undefined;
  /** Whether a first sender is still awaited with a bound (either of the above). */
  #awaitingSender: boolean;

  /** @ignore */
  constructor(
    token: unknown,
    ring: Ring,
    spins: number | AdaptiveSpins,
    onClose: () => void,
    senderProcess?: ExpectedPeer,
    senderDeadline?: bigint,
  ) {
    checkInternal(token, "RingChannel.sender() / receiver()");
    this.#senderProcess = senderProcess;
    this.#senderDeadline = senderDeadline;
    this.#awaitingSender = senderProcess !== undefined || senderDeadline !== undefined;
    this.#spins = spins;
    this.#ring = ring;
    this.#words = ring.words;
    this.#bytes = ring.bytes;
    this.#onClose = onClose;
    this.#plainRecords = ring.plain && !ring.multi;
    this.#ordering = new Ordering(ring, W_DATA_ORDERED);
    this.#mask = ring.mask;
    this.#capacity = ring.capacity;
    this.#maxLength = ring.capacity / 2 - 8;
    const w = ring.words;
    if (!ring.claim(W_RECEIVER)) {
      ring.reapReceiver();
      if (!ring.claim(W_RECEIVER)) {
        throw new ErrnoError(E.EBUSY, "receiver", {
          action: "attach a second receiver to",
          object: ring.what,
        });
      }
    }
    this.#head = Atomics.load(w, W_HEAD) >>> 0;
    this.#tailCache = this.#head;
    try {
      ring.checkSpan(this.#head, Atomics.load(w, W_TAIL) >>> 0);
    } catch (e) {
      ring.release(W_RECEIVER);
      throw e;
    }
    Atomics.and(w, W_STATE, ~RECEIVER_GONE);
    Atomics.store(w, W_DATA_ORDERED, 0); // the word is this receiver's now (one left by a dead one)
    this.#deathsSeen = Atomics.load(w, W_DEATHS);
  }

  /** Whether `close()` has been called (or the channel's memory was closed). */
  get closed(): boolean {
    return this.#closed || this.#words.length === 0;
  }

  /**
   * Takes the next message into `into`, if there is one now. Allocates nothing.
   *
   * @param into room for the message
   * @returns its length; {@linkcode END_OF_STREAM} at end of stream; {@linkcode WOULD_BLOCK}
   *   when empty
   * @throws {ErrnoError} EMSGSIZE when `into` is too short (the message stays);
   *   ECONNRESET once, at the end, when a sender died
   * @throws {ClosedError} after close
   *
   * @example Receive into a buffer
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * using rx = channel.receiver();
   * using tx = channel.sender();
   * tx.trySend(new Uint8Array([9, 8, 7]));
   * const into = new Uint8Array(16);
   * console.log(rx.tryReceiveInto(into)); // 3
   * ```
   */
  tryReceiveInto(into: Uint8Array): number | EndOfStream | WouldBlock {
    const at = this.#plainRecords ? this.#nextPlain() : -3;
    if (at >= 0 && into instanceof Uint8Array && this.#length <= into.length) {
      const n = this.#length;
      this.#copyOut(at + 8, n, into, 0);
      this.#release(n);
      return n;
    }
    return this.#tryReceiveInto(into);
  }

  /**
   * The fast path to the next message of a single sender: its byte index when the next record
   * is a message that passes every check #next makes, else -3 (let #next look: it steps over
   * filler, reports what is wrong, and tells empty from ended).
   */
  #nextPlain(): number {
    const w = this.#words;
    if (this.#closed || this.#broken || this.#deferred !== undefined || w.length === 0) return -3;
    const h = this.#head;
    if (h === this.#tailCache) {
      // A plain load: x86-64 loads are acquire loads (see Ring.plain).
      const t = (w[W_TAIL] ?? 0) >>> 0;
      if (t === h || (t & 7) !== 0 || ((t - h) >>> 0) > this.#capacity) return -3;
      this.#tailCache = t;
    }
    const idx = h & this.#mask;
    const at = RING_HEADER_SIZE + idx;
    const word = w[at >> 2] ?? 0;
    // No flags, a possible length, and a record within the ring and before the tail.
    const record = 8 + align8(word);
    if (
      word < 0 || word > this.#maxLength || idx + record > this.#capacity ||
      record > ((this.#tailCache - h) >>> 0)
    ) {
      return -3;
    }
    this.#length = word;
    return at;
  }

  /**
   * The fast path of a batch from a single sender: takes messages into `into` and `lengths`
   * while the next record is a message that passes every check #next makes and fits, without
   * publishing the head (the caller does, once); returns how many. It stops at anything else
   * (empty, filler, a bad word, no room) for the general loop to handle.
   */
  #takePlain(into: Uint8Array, lengths: Uint32Array): number {
    const w = this.#words;
    if (this.#closed || this.#broken || this.#deferred !== undefined || w.length === 0) return 0;
    const mask = this.#mask;
    const cap = this.#capacity;
    const maxLength = this.#maxLength;
    const room = into.length;
    const max = lengths.length;
    let h = this.#head;
    let tail = this.#tailCache;
    if (h === tail) {
      tail = (w[W_TAIL] ?? 0) >>> 0; // a plain load: see Ring.plain
      if ((tail & 7) !== 0 || ((tail - h) >>> 0) > cap) return 0;
    }
    let count = 0;
    let off = 0;
    const view = this.#viewOf(into);
    // (A fixed-length view over a buffer that shrank is out of bounds: length 0.)
    const viewWords = view === undefined ? 0 : view.length;
    while (count < max && h !== tail) {
      const idx = h & mask;
      const at = RING_HEADER_SIZE + idx;
      const n = w[at >> 2] ?? 0;
      const record = 8 + align8(n);
      if (
        n < 0 || n > maxLength || idx + record > cap || record > ((tail - h) >>> 0) ||
        n > room - off
      ) {
        break;
      }
      if (
        view !== undefined && (off & 3) === 0 && n <= COPY_WORDS_MAX && (off + n) >> 2 <= viewWords
      ) {
        const k = (at + 8) >> 2;
        const t = off >> 2;
        const words = n >> 2;
        for (let j = 0; j < words; j++) view[t + j] = w[k + j] ?? 0;
        if ((n & 3) !== 0) {
          copyOut(this.#bytes, at + 8 + (words << 2), n & 3, into, off + (words << 2));
        }
      } else {
        copyOut(this.#bytes, at + 8, n, into, off);
      }
      lengths[count++] = n;
      off += n;
      h = (h + record) >>> 0;
    }
    this.#tailCache = tail;
    this.#head = h;
    if (count > 0) this.#peeked = -1;
    return count;
  }

  /** The general path of {@linkcode RingReceiver.tryReceiveInto}. */
  #tryReceiveInto(into: Uint8Array): number | EndOfStream | WouldBlock {
    // A detached array reads as empty: only an empty one needs the full check.
    if (!(into instanceof Uint8Array) || into.length === 0) validateBuffer(into, "into");
    const at = this.#next();
    if (at < 0) return at === -1 ? WOULD_BLOCK : END_OF_STREAM;
    const n = this.#length;
    if (n > into.length) {
      throw new ErrnoError(E.EMSGSIZE, "receive", {
        action: `receive a ${n}-byte message into ${into.length} bytes from`,
        object: this.#ring.what,
      });
    }
    this.#copyOut(at + 8, n, into, 0);
    this.#release(n);
    return n;
  }

  /** A 32-bit view of `into` for copying words, kept while it is the same array (undefined: not 4-aligned). */
  #viewOf(into: Uint8Array): Int32Array | undefined {
    if (into !== this.#into) {
      this.#into = into;
      this.#into32 = (into.byteOffset & 3) === 0
        ? new Int32Array(into.buffer, into.byteOffset, into.length >> 2)
        : undefined;
    }
    return this.#into32;
  }

  /**
   * Copies `n` bytes from the ring at byte `from` (8-aligned) into `into` at `to`: four bytes
   * at a time through an Int32Array over `into` when `into[to]` is 4-aligned (the view is kept
   * while `into` is the same array), else as {@linkcode copyOut} does.
   */
  #copyOut(from: number, n: number, into: Uint8Array, to: number): void {
    if (n > COPY_WORDS_MAX || (to & 3) !== 0) {
      copyOut(this.#bytes, from, n, into, to);
      return;
    }
    const view = this.#viewOf(into);
    const words = n >> 2;
    const t = to >> 2;
    // The view is fixed-length: over a buffer that shrank since, it is out of bounds (length 0).
    if (view === undefined || view.length < t + words) {
      copyOut(this.#bytes, from, n, into, to);
      return;
    }
    const w = this.#words;
    const k = from >> 2;
    for (let j = 0; j < words; j++) view[t + j] = w[k + j] ?? 0;
    const bytes = this.#bytes;
    for (let j = words << 2; j < n; j++) into[to + j] = bytes[from + j] ?? 0;
  }

  /**
   * Takes as many messages as there are now, up to what `into` and `lengths` hold, with one
   * publication of the head and one wake-up check for all of them: the path for many small
   * messages. The messages are copied into `into` back to back; the length of the `k`-th is
   * `lengths[k]`. Allocates nothing.
   *
   * @param into room for the messages, back to back
   * @param lengths where the lengths go (at most `lengths.length` messages are taken)
   * @returns how many messages were taken; {@linkcode END_OF_STREAM} at end of stream;
   *   {@linkcode WOULD_BLOCK} when empty
   * @throws {ErrnoError} EMSGSIZE when the first message is longer than `into` (it stays);
   *   ECONNRESET once, at the end, when a sender died
   * @throws {ClosedError} after close
   *
   * @example Take what is there, in one call
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * using rx = channel.receiver();
   * using tx = channel.sender();
   * tx.trySendBatch([new Uint8Array([1]), new Uint8Array([2, 3])]);
   * const into = new Uint8Array(64);
   * const lengths = new Uint32Array(16);
   * console.log(rx.tryReceiveBatch(into, lengths), lengths.subarray(0, 2)); // 2 Uint32Array(2) [ 1, 2 ]
   * ```
   */
  tryReceiveBatch(into: Uint8Array, lengths: Uint32Array): number | EndOfStream | WouldBlock {
    if (!(into instanceof Uint8Array) || into.length === 0) validateBuffer(into, "into");
    if (!(lengths instanceof Uint32Array) || lengths.length === 0) {
      throw new TypeError("lengths must be a non-empty Uint32Array");
    }
    const max = lengths.length;
    let count = this.#plainRecords ? this.#takePlain(into, lengths) : 0;
    let off = 0;
    for (let j = 0; j < count; j++) off += lengths[j] ?? 0;
    let at = 0;
    while (count < max) {
      at = this.#plainRecords ? this.#nextPlain() : -3;
      if (at === -3) {
        if (count > 0 && this.#head === this.#tailCache) {
          // Empty after some: stop here, and leave the end (or a dead sender's ECONNRESET) to
          // the next call, so that nothing taken is lost to an exception.
          if ((Atomics.load(this.#words, W_TAIL) >>> 0) === this.#head) break;
        }
        try {
          at = this.#next();
        } catch (e) {
          if (count === 0) throw e;
          this.#deferred = e; // a corrupt record after some good ones: thrown by the next call
          break;
        }
        if (at < 0) break;
      }
      const n = this.#length;
      if (n > into.length - off) {
        if (count > 0) break;
        throw new ErrnoError(E.EMSGSIZE, "receive", {
          action: `receive a ${n}-byte message into ${into.length} bytes from`,
          object: this.#ring.what,
        });
      }
      this.#copyOut(at + 8, n, into, off);
      off += n;
      lengths[count++] = n;
      // Taken, not yet published: the head is stored once, below.
      this.#head = (this.#head + 8 + align8(n)) >>> 0;
      this.#peeked = -1;
    }
    if (count > 0) {
      this.#ring.publish(W_HEAD, this.#head, W_SPACE_ORDERED);
      if (this.#ordering.asked) this.#ordering.calm();
      this.#ring.wakeSpace(this.#head);
      return count;
    }
    return at === -1 ? WOULD_BLOCK : END_OF_STREAM;
  }

  /**
   * Takes messages as {@linkcode RingReceiver.tryReceiveBatch} does, waiting while the
   * channel is empty.
   *
   * @param into room for the messages, back to back
   * @param lengths where their lengths go
   * @param options `signal` and `timeout` (ms)
   * @returns how many were taken (at least one), or {@linkcode END_OF_STREAM}
   * @throws {DOMException} `TimeoutError`; the signal's reason when aborted (nothing taken)
   * @throws {ErrnoError} EMSGSIZE, ECONNRESET
   * @throws {ClosedError} after close
   */
  async receiveBatch(
    into: Uint8Array,
    lengths: Uint32Array,
    options?: WaitOptions,
  ): Promise<number | EndOfStream> {
    const opts = waitBoundsOf(options);
    const now = this.tryReceiveBatch(into, lengths);
    if (now !== WOULD_BLOCK) return now;
    const r = await this.#wait(() => this.tryReceiveBatch(into, lengths), opts);
    if (r === TIMED_OUT) throw timedOut(`receive on ${this.#ring.what}`);
    return r;
  }

  /**
   * Takes messages as {@linkcode RingReceiver.tryReceiveBatch} does, blocking the calling
   * thread while the channel is empty.
   *
   * @param into room for the messages, back to back
   * @param lengths where their lengths go
   * @param options `timeout` (ms; default: no limit)
   * @returns how many were taken (at least one), or {@linkcode END_OF_STREAM}
   * @throws {DOMException} `TimeoutError`
   * @throws {ErrnoError} EMSGSIZE, ECONNRESET
   * @throws {ClosedError} after close
   */
  receiveBatchSync(
    into: Uint8Array,
    lengths: Uint32Array,
    options?: SyncWaitOptions,
  ): number | EndOfStream {
    const timeout = syncTimeoutOf(options);
    const now = this.tryReceiveBatch(into, lengths);
    if (now !== WOULD_BLOCK) return now;
    const deadline = deadlineFor(timeout);
    const r = this.#waitSync(() => this.tryReceiveBatch(into, lengths), deadline);
    if (r === TIMED_OUT) throw timedOut(`receive on ${this.#ring.what}`);
    return r;
  }

  /**
   * Takes the next message, if there is one now.
   *
   * @returns a copy of it; {@linkcode END_OF_STREAM} at end of stream; {@linkcode WOULD_BLOCK}
   *   when empty
   * @throws {ErrnoError} ECONNRESET once, at the end, when a sender died
   * @throws {ClosedError} after close
   */
  tryReceive(): Uint8Array | EndOfStream | WouldBlock {
    const at = this.#next();
    if (at < 0) return at === -1 ? WOULD_BLOCK : END_OF_STREAM;
    const n = this.#length;
    const copy = this.#bytes.slice(at + 8, at + 8 + n);
    this.#release(n);
    return copy;
  }

  /**
   * Takes the next message, waiting while the channel is empty.
   *
   * @param options `signal` and `timeout` (ms)
   * @returns a copy of it, or {@linkcode END_OF_STREAM}
   * @throws {DOMException} `TimeoutError` (nothing was taken)
   * @throws the signal's reason when aborted (nothing was taken)
   * @throws {ErrnoError} ECONNRESET once, at the end, when a sender died
   * @throws {ClosedError} after close, or when closed during the wait
   *
   * @example Wait for a message
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * using rx = channel.receiver();
   * using tx = channel.sender();
   * setTimeout(() => tx.trySend(new Uint8Array([1])), 10);
   * console.log(await rx.receive({ timeout: 5000 })); // Uint8Array(1) [ 1 ]
   * ```
   */
  async receive(options?: WaitOptions): Promise<Uint8Array | EndOfStream> {
    const opts = waitBoundsOf(options);
    const r = await this.#wait(() => this.tryReceive(), opts);
    if (r === TIMED_OUT) throw timedOut(`receive on ${this.#ring.what}`);
    return r;
  }

  /**
   * Takes the next message into `into`, waiting while the channel is empty.
   *
   * @param into room for the message
   * @param options `signal` and `timeout` (ms)
   * @returns its length, or {@linkcode END_OF_STREAM}
   * @throws {DOMException} `TimeoutError`; the signal's reason when aborted (nothing taken)
   * @throws {ErrnoError} EMSGSIZE, ECONNRESET
   * @throws {ClosedError} after close
   */
  async receiveInto(into: Uint8Array, options?: WaitOptions): Promise<number | EndOfStream> {
    const opts = waitBoundsOf(options);
    const r = await this.#wait(() => this.tryReceiveInto(into), opts);
    if (r === TIMED_OUT) throw timedOut(`receive on ${this.#ring.what}`);
    return r;
  }

  /**
   * Takes the next message into `into`, blocking the calling thread while the channel is empty
   * (for Workers and tight loops).
   *
   * @param into room for the message
   * @param options `timeout` (ms; default: no limit)
   * @returns its length, or {@linkcode END_OF_STREAM}
   * @throws {DOMException} `TimeoutError`
   * @throws {ErrnoError} EMSGSIZE, ECONNRESET
   * @throws {ClosedError} after close
   */
  receiveIntoSync(into: Uint8Array, options?: SyncWaitOptions): number | EndOfStream {
    // Try first: a message that is there costs no clock, no closure and no deadline.
    const timeout = syncTimeoutOf(options);
    const now = this.tryReceiveInto(into);
    if (now !== WOULD_BLOCK) return now;
    const deadline = deadlineFor(timeout);
    const r = this.#waitSync(() => this.tryReceiveInto(into), deadline);
    if (r === TIMED_OUT) throw timedOut(`receive on ${this.#ring.what}`);
    return r;
  }

  /**
   * Takes the next message, blocking the calling thread while the channel is empty.
   *
   * @param options `timeout` (ms; default: no limit)
   * @returns a copy of it, or {@linkcode END_OF_STREAM}
   * @throws {DOMException} `TimeoutError`
   * @throws {ErrnoError} ECONNRESET
   * @throws {ClosedError} after close
   *
   * @example End of stream
   * ```ts
   * import { END_OF_STREAM, RingChannel } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * using rx = channel.receiver();
   * channel.sender().close();
   * console.log(rx.receiveSync({ timeout: 1000 }) === END_OF_STREAM); // true
   * ```
   */
  receiveSync(options?: SyncWaitOptions): Uint8Array | EndOfStream {
    const deadline = syncDeadlineOf(options);
    const r = this.#waitSync(() => this.tryReceive(), deadline);
    if (r === TIMED_OUT) throw timedOut(`receive on ${this.#ring.what}`);
    return r;
  }

  /**
   * Zero-copy receive, step 1: the next message as a view into shared memory, if there is one
   * now. It stays there, and the view stays valid, until {@linkcode RingReceiver.release} (or
   * the next receive); peeking again returns the same message.
   *
   * @returns the view; {@linkcode END_OF_STREAM} at end of stream; {@linkcode WOULD_BLOCK}
   *   when empty
   * @throws {ErrnoError} ECONNRESET once, at the end, when a sender died
   * @throws {ClosedError} after close
   *
   * @example Read in place
   * ```ts
   * import { END_OF_STREAM, RingChannel, WOULD_BLOCK } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * using rx = channel.receiver();
   * using tx = channel.sender();
   * tx.trySend(new Uint8Array([5, 6]));
   * const view = rx.tryPeek();
   * if (view !== WOULD_BLOCK && view !== END_OF_STREAM) {
   *   console.log([...view]); // [ 5, 6 ]
   *   rx.release();
   * }
   * ```
   */
  tryPeek(): Uint8Array | EndOfStream | WouldBlock {
    const at = this.#next();
    if (at < 0) return at === -1 ? WOULD_BLOCK : END_OF_STREAM;
    this.#peeked = at;
    return this.#bytes.subarray(at + 8, at + 8 + this.#length);
  }

  /**
   * Peeks as {@linkcode RingReceiver.tryPeek}, waiting while the channel is empty.
   *
   * @param options `signal` and `timeout` (ms)
   * @returns the view, or {@linkcode END_OF_STREAM}
   * @throws {DOMException} `TimeoutError`; the signal's reason when aborted
   * @throws {ErrnoError} ECONNRESET
   * @throws {ClosedError} after close
   */
  async peek(options?: WaitOptions): Promise<Uint8Array | EndOfStream> {
    const opts = waitBoundsOf(options);
    const r = await this.#wait(() => this.tryPeek(), opts);
    if (r === TIMED_OUT) throw timedOut(`peek on ${this.#ring.what}`);
    return r;
  }

  /**
   * Zero-copy receive, step 2: frees the peeked message's room for senders. Its view must not
   * be used afterwards (its bytes will be overwritten).
   *
   * @throws {TypeError} when nothing is peeked
   * @throws {ClosedError} after close
   */
  release(): void {
    this.#assertOpen();
    const at = this.#peeked;
    if (at < 0) throw new TypeError("nothing is peeked: call tryPeek() or peek() first");
    this.#release(this.#length);
  }

  /**
   * Received messages (copies) until end of stream or until `signal` aborts; both end the
   * loop normally. A sender's death ends it with ECONNRESET.
   *
   * @param options `signal`: ends the iteration
   * @returns an async iterable of messages
   */
  messages(options?: { signal?: AbortSignal }): AsyncGenerator<Uint8Array, void> {
    const { signal } = validateWaitOptions(options);
    return this.#messages(signal);
  }

  async *#messages(signal: AbortSignal | undefined): AsyncGenerator<Uint8Array, void> {
    while (!signal?.aborted) {
      let m: Uint8Array | EndOfStream;
      try {
        m = await this.receive(signal ? { signal } : {});
      } catch (e) {
        if (signal?.aborted) return;
        throw e;
      }
      if (m === END_OF_STREAM) return;
      yield m;
    }
  }

  /** Same as {@linkcode RingReceiver.messages} with no options. */
  [Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void> {
    return this.messages();
  }

  /**
   * The channel as a Web Streams `ReadableStream` of messages (copies), closed at end of
   * stream. Cancelling it closes this receiver.
   */
  get readable(): ReadableStream<Uint8Array> {
    return messageReadable<Uint8Array>(() => this.receive(), () => this.close());
  }

  /**
   * Detaches: senders then fail with EPIPE (messages still in the ring are dropped, as a pipe
   * drops them). Calling it again does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    const w = this.#words;
    if (w.length === 0) return;
    Atomics.or(w, W_STATE, RECEIVER_GONE);
    this.#ordering.release();
    this.#ring.release(W_RECEIVER);
    this.#ring.wake(W_SPACE_WAIT);
    this.#sleeper?.interrupt();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #assertOpen(): void {
    if (this.#closed || this.#words.length === 0) {
      throw new ClosedError(`receiver of ${this.#ring.what}`);
    }
  }

  /**
   * The byte index of the next message's record; -1 when empty, -2 at end of stream. Steps
   * over filler.
   */
  #next(): number {
    this.#assertOpen();
    if (this.#deferred !== undefined) {
      const e = this.#deferred;
      this.#deferred = undefined;
      throw e;
    }
    if (this.#broken) return -2; // the corruption was reported once: the stream has ended
    const w = this.#words;
    const ring = this.#ring;
    const mask = ring.mask;
    // Every step moves head forward by at least 8 bytes and never past tail: the loop ends
    // within capacity ÷ 8 steps, whatever the peers wrote.
    for (;;) {
      const h = this.#head;
      if (h === this.#tailCache) {
        const t = Atomics.load(w, W_TAIL) >>> 0;
        if ((t & 7) !== 0 || ((t - h) >>> 0) > ring.capacity) {
          this.#corrupt("tail", t, `not a position up to ${ring.capacity} bytes past head ${h}`);
        }
        this.#tailCache = t;
        if (h === t) {
          if (this.#ended()) return -2;
          if (this.#awaitingSender) this.#checkFirstSender();
          return -1;
        }
      }
      const idx = h & mask;
      const at = RING_HEADER_SIZE + idx;
      // A single sender's record was written before the tail that covers it was published,
      // and that tail was loaded (acquire) before this: a plain load sees it. A multi-producer
      // record may still be busy and change: that word is loaded atomically.
      const word = this.#plainRecords ? w[at >> 2] ?? 0 : Atomics.load(w, at >> 2);
      const length = word & LEN_MASK;
      const record = 8 + align8(length);
      // (The message names the word only when it is bad: no string is built per message.)
      if ((word & BUSY) !== 0 && (word & SKIP) !== 0) {
        this.#corrupt(`the record word at position ${h}`, word, "busy and skip");
      }
      if (idx + record > ring.capacity) {
        this.#corrupt(
          `the record word at position ${h}`,
          word,
          `a ${record}-byte record runs past the ring's end`,
        );
      }
      if (record > ((this.#tailCache - h) >>> 0)) {
        this.#corrupt(
          `the record word at position ${h}`,
          word,
          `a ${record}-byte record runs past the tail`,
        );
      }
      if ((word & BUSY) !== 0) return -1;
      if ((word & SKIP) === 0) {
        if (length > ring.capacity / 2 - 8) {
          this.#corrupt(
            `the record word at position ${h}`,
            word,
            `longer than the longest message, ${ring.capacity / 2 - 8}`,
          );
        }
        this.#length = length;
        return at;
      }
      this.#head = (h + record) >>> 0;
      ring.publish(W_HEAD, this.#head, W_SPACE_ORDERED);
      ring.wakeSpace(this.#head);
    }
  }

  /**
   * Reports a word a peer corrupted, once: the receiver stops reading the channel (later
   * receives see end of stream) and never uses the bad word.
   */
  #corrupt(word: string, value: number, why: string): never {
    this.#broken = true;
    this.#peeked = -1;
    throw this.#ring.corrupt(word, value, why);
  }

  /**
   * While no sender has ever attached: fails when the process expected to be one has exited,
   * or when the time allowed for a first sender has passed.
   */
  #checkFirstSender(): void {
    if ((Atomics.load(this.#words, W_STATE) & SENDER_SEEN) !== 0) {
      this.#awaitingSender = false;
      return;
    }
    checkFirstPeer(this.#senderProcess, this.#senderDeadline, "sender", this.#ring.what);
  }

  /** Whether the stream has ended (no senders left, everything taken); throws for a death. */
  #ended(): boolean {
    const w = this.#words;
    if ((Atomics.load(w, W_STATE) & SENDER_SEEN) === 0 || !this.#ring.noSenders()) return false;
    // The last sender published before it detached: look at the tail once more.
    this.#tailCache = Atomics.load(w, W_TAIL) >>> 0;
    if (this.#tailCache !== this.#head) return false;
    const deaths = Atomics.load(w, W_DEATHS);
    if (deaths !== this.#deathsSeen) {
      this.#deathsSeen = deaths;
      throw new ErrnoError(E.ECONNRESET, "receive", {
        action: `receive (a sender died; ${deaths} so far) from`,
        object: this.#ring.what,
      });
    }
    return true;
  }

  #release(n: number): void {
    this.#peeked = -1;
    const h = (this.#head + 8 + align8(n)) >>> 0;
    this.#head = h;
    this.#ring.publish(W_HEAD, h, W_SPACE_ORDERED);
    this.#ring.wakeSpace(h);
    if (this.#ordering.asked) this.#ordering.calm();
  }

  /** After a slice slept in vain: senders that died, and a busy record whose writer died. */
  #reap(): void {
    const ring = this.#ring;
    ring.reapSenders();
    const w = this.#words;
    const h = this.#head;
    if (h === (Atomics.load(w, W_TAIL) >>> 0)) return;
    const k = (RING_HEADER_SIZE + (h & ring.mask)) >> 2;
    const word = Atomics.load(w, k);
    // A busy record whose writer is gone (by pid and start time) will never be committed: it
    // becomes filler (#next checks its length before stepping over it).
    if ((word & BUSY) !== 0 && ring.writerGone(Atomics.load(w, k + 1))) {
      Atomics.compareExchange(w, k, word, SKIP | (word & LEN_MASK));
    }
  }

  #raise = (): void => void Atomics.store(this.#words, W_DATA_WAIT, 1);

  #wait<T>(
    attempt: () => T | WouldBlock,
    opts: Bounds,
  ): Promise<T | typeof TIMED_OUT> {
    const s = this.#sleeper ??= this.#ring.sleeper(
      W_DATA_WAIT,
      this.#raise,
      () => this.#reap(),
      this.#ordering,
    );
    return waitUntil(attempt, s, opts, this.#spins);
  }

  #waitSync<T>(
    attempt: () => T | WouldBlock,
    deadline: bigint | undefined,
  ): T | typeof TIMED_OUT {
    const s = this.#syncSleeper ??= this.#ring.syncSleeper(
      W_DATA_WAIT,
      this.#raise,
      () => this.#reap(),
      this.#ordering,
    );
    return waitUntilSync(attempt, s, deadline, this.#spins);
  }
}

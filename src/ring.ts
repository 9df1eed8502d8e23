/**
 * A message channel in shared memory: seed 002's bounded buffer, built for real. It is dipc's
 * fastest transport between processes (and Workers): a message is one copy in and one copy out
 * (or none, with the zero-copy calls), and no system call is made while both sides keep up.
 *
 * A channel is a ring of `capacity` bytes (a power of two) behind a 4 KiB header, in any
 * {@linkcode MappedMemory}. {@linkcode RingChannel.create} / {@linkcode RingChannel.open} /
 * {@linkcode RingChannel.temporary} put it in POSIX shared memory of its own;
 * {@linkcode RingChannel.init} / {@linkcode RingChannel.at} put it in memory you already share.
 * One process takes the receiving end ({@linkcode RingChannel.receiver}); one sender
 * ({@linkcode RingChannel.sender}), or up to {@linkcode MAX_SENDERS} when the channel was made
 * with `multiProducer: true`. Messages are variable-length byte strings of at most
 * {@linkcode RingChannel.maxMessageSize} (capacity ÷ 2 − 8) bytes, delivered whole, in order per
 * sender, exactly once.
 *
 * **Full and empty.** The seed's rule is `((in + 1) % BUFFER_SIZE) == out` for full and
 * `in == out` for empty, which wastes one slot to tell the two apart. Here `in` (tail) and `out`
 * (head) count bytes forever (modulo 2³²) and are reduced modulo the capacity only to index the
 * ring, so `tail − head` is the number of bytes in use: `tail == head` is empty, and a message
 * fits when `tail − head + its record size ≤ capacity`.
 *
 * **Waiting.** Every wait tries again and again on the calling thread for a few microseconds,
 * then raises its side's flag in the header and sleeps on it with a futex; the other side wakes
 * it only when the flag is raised, so no system call is made while nobody sleeps, and one wake
 * covers everything published or freed since. A sender waiting for room says how many bytes it
 * needs, and is woken only once they are free. Async waits sleep through the wait core and take
 * `{ signal, timeout }`; a cancelled wait has taken nothing and sent nothing.
 *
 * **End and death.** When the last sender closes, the receiver gets every message already sent
 * and then `null` (end of stream), as a pipe reader gets EOF. A sender that dies instead (killed,
 * or exited without `close()`) is noticed by a waiting receiver within
 * {@linkcode PEER_CHECK_MS} ms: a message it had not committed is never delivered, and once the
 * channel is drained the receiver gets ErrnoError `ECONNRESET` (once), then `null`. A sender
 * whose receiver closed gets `EPIPE`; one waiting for room notices a dead receiver the same way.
 *
 * ## Layout (for C peers)
 *
 * All fields are little-endian 32-bit words at byte offsets from the channel's start; positions
 * are byte counts modulo 2³². Writers use sequentially consistent atomics on every word a peer
 * reads (`__atomic_*` with `__ATOMIC_SEQ_CST` in C).
 *
 * | offset | field | meaning |
 * |---:|---|---|
 * | 0 | magic | `0x676e6972` ("ring"), written last by `init` (openers wait for it) |
 * | 4 | version | 1 |
 * | 8 | capacity | bytes in the ring: a power of two, 64 … 2³⁰ |
 * | 12 | flags | bit 0: multi-producer |
 * | 16 | state | bit 0: a sender has attached; bit 1: the receiver has gone |
 * | 20 | deaths | senders found dead, ever |
 * | 24 | receiver pid | 0 when none |
 * | 28 | receiver start | its start time (field 22 of `/proc/PID/stat`, low 32 bits) |
 * | 32 | sender slots | 1, or 32 for multi-producer |
 * | 64 | head | read position, written by the receiver only |
 * | 128 | tail | write position, written by senders |
 * | 132 | lock | multi-producer only: pid of the sender reserving space, or 0 |
 * | 192 | data flag | futex word: 1 while the receiver sleeps (waiting for data) |
 * | 256 | space flag | futex word: 1 while a sender sleeps (waiting for room) |
 * | 260 | space wanted | bytes the sleeping sender needs (0: any) |
 * | 320 | sender table | one entry per slot: pid (0 = free), then its start time |
 * | 4096 | ring | `capacity` bytes of records |
 *
 * **Records** start at 8-byte aligned positions: a word `length | flags`, the writer's pid, then
 * `length` bytes of message padded with 0–7 bytes to a multiple of 8. The next record starts
 * `8 + align8(length)` bytes later. Flag bit 31 (*busy*) marks a record reserved but not yet
 * committed (multi-producer only); bit 30 (*skip*) marks filler to step over: a record never
 * wraps, so a sender that does not fit before the end of the ring writes a skip record up to it
 * and starts again at position 0 of the next lap.
 *
 * **A receiver** (one at a time: claim the receiver pid with a compare-and-swap from 0, then
 * store its start time; clear state bit 1) loops: if `head == tail`, the ring is empty;
 * otherwise read the record word at `head % capacity`: busy means wait, skip means advance
 * `head` past it, anything else is a message. After copying it, store the new `head`, then, if
 * the space flag is 1 and the free bytes (`capacity − (tail − head)`) reach *space wanted*,
 * swap the flag from 1 to 0 and `FUTEX_WAKE` it (all waiters). To wait for a busy record, wait
 * on the data flag as for an empty ring: its writer wakes it when it commits. The receiver
 * detaches by setting state bit 1 (it is the one who sets it; a new receiver clears it), then
 * zeroing its start time and pid, then waking the space flag as above.
 *
 * **A single sender** (claim slot 0's pid with a compare-and-swap, then store its start time,
 * then set state bit 0: without it the stream never ends) writes the record (message, then its
 * word and pid) at `tail % capacity`, stores the new `tail`, then, if the data flag is 1, swaps
 * it to 0 and wakes it. **Multi-producer senders** claim any free slot the same way and take the
 * lock (compare-and-swap 0 → pid; never held across a wait, only for the few stores that
 * reserve) to reserve: write the record's word as busy (and a skip record first if needed), store
 * `tail`, release the lock (compare-and-swap pid → 0); then write the message and store the word
 * again without the busy bit. A sender that gives a reservation up stores it as a skip record of
 * the same length. A sender detaches by zeroing its start time, then its pid; the stream has
 * ended when state bit 0 is set, no slot holds a pid, and `head == tail`.
 *
 * **Sleeping.** A sleeper stores what it needs (a sender: *space wanted*, its record size, or 0
 * for any room; the last of several sleeping senders to write it wins, which is why senders must
 * sleep in slices), stores 1 in its flag, checks once more, then `FUTEX_WAIT`s for the value 1.
 * Several senders share the one space flag: a wake clears it for all, and one can raise it again
 * between another's wake and sleep, so every sleeper sleeps at most {@linkcode PEER_CHECK_MS} ms
 * at a time, then checks again (and looks for a dead peer, below). The receiver does the same.
 *
 * **Trust.** Every word a peer can write is checked before use, in dipc and in a conforming C
 * peer: `head` and `tail` must be multiples of 8 with `tail − head ≤ capacity`; a record must
 * not be both busy and skip, must end within the ring and at or before `tail`, and a message must
 * not exceed capacity ÷ 2 − 8 bytes. An endpoint that finds a bad word throws ErrnoError
 * `EPROTO` naming the word and its value, once; a receiver then reports end of stream, a sender
 * keeps failing with that error. A pid in the lock word or in a busy record counts as alive only
 * while a sender slot holds it and `/proc` shows that pid with that start time; otherwise the
 * lock is taken over and the record stepped over (as filler of its stated length). A holder that
 * is alive but stopped (SIGSTOP) keeps the lock: other senders then see no room and wait, bounded
 * and cancellable, never spinning.
 *
 * @example A channel between two ends
 * ```ts
 * import { RingChannel } from "@dipc/dipc";
 *
 * using channel = RingChannel.temporary({ capacity: 4096 });
 * using rx = channel.receiver();
 * {
 *   using tx = channel.sender();
 *   tx.trySend(new TextEncoder().encode("hello"));
 * } // the sender closes: end of stream after its messages
 * for await (const message of rx) console.log(new TextDecoder().decode(message)); // hello
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man2/futex.2.html}
 * @module
 */

import { E } from "../ffi/constants.ts";
import { checkInternal, INTERNAL } from "./_internal.ts";
import { libc } from "../ffi/load.ts";
import { monotonicNs } from "../ffi/util.ts";
import { ClosedError, ErrnoError } from "./errors.ts";
import { futexWake } from "./futex.ts";
import { me, processGone } from "./_liveness.ts";
import type { MappedMemory } from "./mapped_memory.ts";
import { Slot } from "./_slot.ts";
import { WOULD_BLOCK_RESULT } from "./pipe.ts";
import { SharedMemory } from "./shm.ts";
import { validateBoolean, validateBuffer, validateInteger, validateOptions } from "./_validate.ts";
import {
  deadlineFor,
  futexSleeper,
  msLeft,
  type Sleeper,
  sliceSync,
  TIMED_OUT,
  timedOut,
  validateWaitOptions,
  type WaitOptions,
  waitUntil,
  WOULD_BLOCK,
} from "./_wait.ts";

export type { WaitOptions } from "./_wait.ts";

/** Bytes of the header in front of the ring. */
export const RING_HEADER_SIZE = 4096;
/** The most senders a multi-producer channel takes at once. */
export const MAX_SENDERS = 32;
/** The smallest capacity, in bytes. */
export const MIN_RING_CAPACITY = 64;
/** The largest capacity, in bytes (1 GiB). */
export const MAX_RING_CAPACITY = 2 ** 30;
/** A waiting side checks that its peers are alive after sleeping this long, in ms. */
export const PEER_CHECK_MS = 20;

const MAGIC = 0x676e6972; // "ring"
const VERSION = 1;
// Header words (byte offset ÷ 4).
const W_MAGIC = 0;
const W_VERSION = 1;
const W_CAPACITY = 2;
const W_FLAGS = 3;
const W_STATE = 4;
const W_DEATHS = 5;
const W_RECEIVER = 6;
const W_SLOTS = 8;
const W_HEAD = 16;
const W_TAIL = 32;
const W_LOCK = 33;
const W_DATA_WAIT = 48;
const W_SPACE_WAIT = 64;
const W_SPACE_WANTED = 65;
const W_SENDERS = 80;
const FLAG_MULTI = 1;
const SENDER_SEEN = 1;
const RECEIVER_GONE = 2;
const BUSY = 0x80000000 | 0;
const SKIP = 0x40000000;
const LEN_MASK = 0x3fffffff;
/** Tries on the calling thread before sleeping (a few microseconds). */
const SPINS = 400;
/** Tries at the multi-producer lock before looking at its holder: spins, then with sched_yield. */
const LOCK_SPINS = 64;
const LOCK_TRIES = 256;
const SLICE_NS = BigInt(PEER_CHECK_MS) * 1_000_000n;
/** How long `open` waits for a creator to finish `init`. */
const READY_MS = 1000;

const align8 = (n: number): number => (n + 7) & ~7;
/** A private word to sleep on while waiting for a creator. */
const PAUSE = new Int32Array(1);

/** Options for {@linkcode RingChannel.init}. */
export interface RingInitOptions {
  /** Byte offset of the channel in the memory, a multiple of 64 (default 0). */
  offset?: number;
  /** Ring size in bytes, a power of two (default: the largest that fits). */
  capacity?: number;
  /** Allow up to {@linkcode MAX_SENDERS} senders at once (default: one). */
  multiProducer?: boolean;
}

/** Options for {@linkcode RingChannel.create}. */
export interface RingChannelOptions {
  /** Ring size in bytes, a power of two (default 1 MiB). */
  capacity?: number;
  /** Allow up to {@linkcode MAX_SENDERS} senders at once (default: one). */
  multiProducer?: boolean;
  /** Permission bits of the shared memory (default 0o600). */
  mode?: number;
  /** Fail with EEXIST if the name exists (default: open the existing channel). */
  exclusive?: boolean;
}

/** Options for {@linkcode RingChannel.open}. */
export interface RingOpenOptions {
  /** Accept shared memory owned by another user (off by default: squatting defence). */
  allowForeignOwner?: boolean;
}

/** Options for {@linkcode RingChannel.temporary}. */
export interface TemporaryRingOptions {
  /** Ring size in bytes, a power of two (default 1 MiB). */
  capacity?: number;
  /** Allow up to {@linkcode MAX_SENDERS} senders at once (default: one). */
  multiProducer?: boolean;
  /** Permission bits (default 0o600). */
  mode?: number;
  /** Name prefix, without the leading "/" (default "dipc-ring"). */
  prefix?: string;
}

/** Options for {@linkcode RingChannel.sender} and {@linkcode RingChannel.receiver}. */
export interface RingEndpointOptions {
  /**
   * Tries on the calling thread before a wait sleeps (default 400, a few microseconds). 0 sleeps
   * at once: no CPU is spent spinning, and every wait that has to wait costs a futex wake-up.
   */
  spins?: number;
}

/** What {@linkcode RingChannel.stats} reports. */
export interface RingStats {
  /** Ring size in bytes. */
  capacity: number;
  /** Bytes in use by records not yet received (headers and padding included): tail − head. */
  used: number;
  /** The read position (`out` in seed 002): bytes taken since the channel was made, mod 2³². */
  head: number;
  /** The write position (`in`): bytes sent since the channel was made, mod 2³². */
  tail: number;
  /** pids of the attached senders. */
  senders: number[];
  /** pid of the attached receiver, or 0. */
  receiver: number;
  /** Senders found dead since the channel was made. */
  deaths: number;
}

function validateCapacity(capacity: unknown): number {
  const c = validateInteger(capacity, "capacity", MIN_RING_CAPACITY, MAX_RING_CAPACITY);
  if ((c & (c - 1)) !== 0) throw new RangeError(`capacity must be a power of two, got ${c}`);
  return c;
}

/** What the endpoints share: the channel's memory and the protocol on it. */
class Ring {
  readonly words: Int32Array<ArrayBuffer>;
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly capacity: number;
  readonly mask: number;
  readonly multi: boolean;
  readonly slots: number;
  readonly what: string;
  readonly pid: number;
  readonly start: number;

  constructor(memory: MappedMemory, offset: number, what: string) {
    const head = memory.int32(offset, 16);
    if (Atomics.load(head, W_MAGIC) !== MAGIC) {
      throw new TypeError(`no initialised ring channel at offset ${offset} of ${what}`);
    }
    if (Atomics.load(head, W_VERSION) !== VERSION) {
      throw new TypeError(`the ring channel in ${what} has version ${head[W_VERSION]}, not 1`);
    }
    const capacity = head[W_CAPACITY] ?? 0;
    const multi = ((head[W_FLAGS] ?? 0) & FLAG_MULTI) !== 0;
    const slots = head[W_SLOTS] ?? 0;
    const bad = (word: string, value: number, why: string): ErrnoError =>
      new ErrnoError(E.EPROTO, "ring", {
        action: "open ring channel",
        object: what,
        detail: `${word} holds ${value >>> 0}: ${why}`,
      });
    if (
      capacity < MIN_RING_CAPACITY || capacity > MAX_RING_CAPACITY ||
      (capacity & (capacity - 1)) !== 0
    ) {
      throw bad("capacity", capacity, `not a power of two from ${MIN_RING_CAPACITY} to 2^30`);
    }
    if (slots !== (multi ? MAX_SENDERS : 1)) {
      throw bad("sender slots", slots, `not ${multi ? MAX_SENDERS : 1} for these flags`);
    }
    if (offset + RING_HEADER_SIZE + capacity > memory.size) {
      throw bad(
        "capacity",
        capacity,
        `more than the ${memory.size - offset - RING_HEADER_SIZE} bytes there`,
      );
    }
    this.words = memory.int32(offset, (RING_HEADER_SIZE + capacity) / 4);
    this.bytes = memory.view(Uint8Array, offset, RING_HEADER_SIZE + capacity);
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.multi = multi;
    this.slots = slots;
    this.what = what;
    const self = me();
    this.pid = self.pid;
    this.start = self.start;
  }

  get gone(): boolean {
    return this.words.length === 0;
  }

  /**
   * The error for a word a peer corrupted: EPROTO, naming the word and what it held. The
   * endpoint that meets it stops using the channel (see the module doc).
   */
  corrupt(word: string, value: number, why: string): ErrnoError {
    return new ErrnoError(E.EPROTO, "ring", {
      action: "use ring channel",
      object: this.what,
      detail: `${word} holds ${value >>> 0} (0x${(value >>> 0).toString(16)}): ${why}`,
    });
  }

  /**
   * Checks that `tail − head` is a possible fill level (at most the capacity) and that both are
   * record positions (multiples of 8); throws {@linkcode Ring.corrupt} otherwise.
   */
  checkSpan(head: number, tail: number): void {
    if ((head & 7) !== 0) throw this.corrupt("head", head, "not a multiple of 8");
    if ((tail & 7) !== 0) throw this.corrupt("tail", tail, "not a multiple of 8");
    const used = (tail - head) >>> 0;
    if (used > this.capacity) {
      throw this.corrupt(
        "tail",
        tail,
        `${used} bytes past head ${head >>> 0}, capacity ${this.capacity}`,
      );
    }
  }

  /**
   * Whether the sender `pid` (one that wrote a busy record, or holds the reservation lock) is
   * gone: no sender slot holds it any more, or the process in its slot died (pid *and* start
   * time, so a reused pid is not mistaken for it). A stopped process is alive.
   */
  writerGone(pid: number): boolean {
    if (pid === 0) return true;
    const w = this.words;
    for (let i = 0; i < this.slots; i++) {
      const at = W_SENDERS + 2 * i;
      if (Atomics.load(w, at) === pid) return processGone(pid, Atomics.load(w, at + 1), true);
    }
    return true;
  }

  /** Wakes whoever sleeps on `flag`, if the flag is up (one wake clears it for everyone). */
  wake(flag: number): void {
    const w = this.words;
    if (Atomics.load(w, flag) !== 0 && Atomics.compareExchange(w, flag, 1, 0) === 1) {
      futexWake(w, flag);
    }
  }

  /** Wakes the receiver if it sleeps. */
  wakeData(): void {
    this.wake(W_DATA_WAIT);
  }

  /** Wakes sleeping senders if one does and the room it wants is free. */
  wakeSpace(head: number): void {
    const w = this.words;
    if (Atomics.load(w, W_SPACE_WAIT) === 0) return;
    const free = this.capacity - ((Atomics.load(w, W_TAIL) - head) >>> 0);
    if (free >= Atomics.load(w, W_SPACE_WANTED)) this.wake(W_SPACE_WAIT);
  }

  /*
   * A sender slot and the receiver word are the same pair: a pid (0 = free), then its start
   * time. It is claimed by a compare-and-swap of the pid, released by zeroing the start time
   * and then the pid, and reaped (its owner found dead) by a compare-and-swap from that pid.
   */

  /** Claims the pid word at `at` for this process; false when someone holds it. */
  claim(at: number): boolean {
    if (Atomics.compareExchange(this.words, at, 0, this.pid) !== 0) return false;
    Atomics.store(this.words, at + 1, this.start);
    return true;
  }

  /** Gives back the pid word at `at` claimed by this process. */
  release(at: number): void {
    Atomics.store(this.words, at + 1, 0);
    Atomics.compareExchange(this.words, at, this.pid, 0);
  }

  /** Frees the pid word at `at` if the process holding it died; true when it did. */
  reap(at: number): boolean {
    const w = this.words;
    const pid = Atomics.load(w, at);
    if (pid === 0) return false;
    const start = Atomics.load(w, at + 1);
    if (!processGone(pid, start, true) || Atomics.compareExchange(w, at, pid, 0) !== pid) {
      return false;
    }
    Atomics.compareExchange(w, at + 1, start, 0);
    return true;
  }

  /** Whether no sender is attached. */
  noSenders(): boolean {
    const w = this.words;
    for (let i = 0; i < this.slots; i++) if (Atomics.load(w, W_SENDERS + 2 * i) !== 0) return false;
    return true;
  }

  /** Frees the slots of senders that died; returns how many. */
  reapSenders(): number {
    const w = this.words;
    let found = 0;
    for (let i = 0; i < this.slots; i++) {
      if (this.reap(W_SENDERS + 2 * i)) {
        Atomics.add(w, W_DEATHS, 1);
        found++;
      }
    }
    return found;
  }

  /** Declares the receiver gone if it died. */
  reapReceiver(): void {
    if (this.reap(W_RECEIVER)) Atomics.or(this.words, W_STATE, RECEIVER_GONE);
  }

  /**
   * A sleeper on one of the flags: it raises the flag before each last try, sleeps in slices of
   * {@linkcode PEER_CHECK_MS}, and runs `onSlice` after a slice that ended without a wake-up.
   */
  sleeper(flag: number, raise: () => void, onSlice: () => void): Sleeper {
    const inner = futexSleeper(this.words, flag);
    return {
      snapshot: (): number => {
        if (this.gone) return 0;
        raise();
        return 1;
      },
      sleep: async (token: number, deadline: bigint | undefined): Promise<void> => {
        const slice = monotonicNs() + SLICE_NS;
        await inner.sleep(token, deadline !== undefined && deadline < slice ? deadline : slice);
        if (!this.gone && inner.lastResult !== 0 && monotonicNs() >= slice) onSlice();
      },
      interrupt: (): void => inner.interrupt(),
    };
  }

  /** The synchronous counterpart of a wait with {@linkcode Ring.sleeper}. */
  waitSync<T>(
    attempt: () => T | typeof WOULD_BLOCK,
    flag: number,
    raise: () => void,
    onSlice: () => void,
    timeout: number | undefined,
    spins: number,
  ): T | typeof TIMED_OUT {
    for (let i = 0; i <= spins; i++) {
      const r = attempt();
      if (r !== WOULD_BLOCK) return r;
      if (timeout === 0) return TIMED_OUT;
    }
    const deadline = deadlineFor(timeout);
    for (;;) {
      raise();
      const r = attempt();
      if (r !== WOULD_BLOCK) return r;
      const left = msLeft(deadline);
      if (left <= 0) return TIMED_OUT;
      if (sliceSync(this.words, flag, 1, Math.min(left, PEER_CHECK_MS)) === "timed-out") {
        onSlice();
      }
    }
  }
}

/**
 * A message channel in shared memory. See the module documentation for how it works and its
 * byte layout.
 */
export class RingChannel implements Disposable {
  #memory: MappedMemory;
  #owns: boolean;
  #ring: Ring;
  #name: string | undefined;
  #endpoints = new Set<RingSender | RingReceiver>();
  #closed = false;

  private constructor(
    token: unknown,
    memory: MappedMemory,
    offset: number,
    owns: boolean,
    name?: string,
  ) {
    checkInternal(token, "RingChannel.create/open/temporary/init/at()");
    this.#memory = memory;
    this.#owns = owns;
    this.#name = name;
    this.#ring = new Ring(
      memory,
      offset,
      name === undefined ? `memory at offset ${offset}` : `ring channel ${JSON.stringify(name)}`,
    );
  }

  /**
   * Bytes of memory a channel of `capacity` needs (header and ring).
   *
   * @param capacity ring size in bytes, a power of two
   * @returns {@linkcode RING_HEADER_SIZE} + capacity
   * @throws {RangeError} for a capacity that is not a power of two in range
   *
   * @example Size memory for a channel
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * console.log(RingChannel.sizeFor(65536)); // 69632
   * ```
   */
  static sizeFor(capacity: number): number {
    return RING_HEADER_SIZE + validateCapacity(capacity);
  }

  /**
   * Makes a new, empty channel in `memory` (nothing else may be using those bytes).
   *
   * @param memory shared memory of at least `offset + sizeFor(capacity)` bytes
   * @param options `offset`, `capacity`, `multiProducer`
   * @returns the channel; closing it leaves `memory` open
   * @throws {TypeError} for bad options
   * @throws {RangeError} for an offset or capacity that does not fit
   * @throws {ErrnoError} EEXIST when a channel is already initialised there
   *
   * @example A channel in System V shared memory
   * ```ts
   * import { RingChannel, SysVSharedMemory } from "@dipc/dipc";
   *
   * using shm = SysVSharedMemory.temporary({ size: RingChannel.sizeFor(4096) });
   * using channel = RingChannel.init(shm);
   * console.log(channel.capacity); // 4096
   * ```
   */
  static init(memory: MappedMemory, options: RingInitOptions = {}): RingChannel {
    const o = validateOptions<RingInitOptions>(options);
    const what = `memory at offset ${o.offset ?? 0}`;
    const region = validateRegion(memory, o.offset);
    const multi = validateBoolean(o.multiProducer ?? false, "multiProducer");
    const room = memory.size - region - RING_HEADER_SIZE;
    let capacity: number;
    if (o.capacity === undefined) {
      if (room < MIN_RING_CAPACITY) {
        throw new RangeError(
          `the memory has ${memory.size} bytes; a ring channel needs ${
            RING_HEADER_SIZE + MIN_RING_CAPACITY
          } from offset ${region}`,
        );
      }
      capacity = 2 ** Math.min(30, Math.floor(Math.log2(room)));
    } else {
      capacity = validateCapacity(o.capacity);
      if (capacity > room) {
        throw new RangeError(
          `a ring of ${capacity} bytes needs ${
            RingChannel.sizeFor(capacity)
          } bytes from offset ${region}; the memory has ${memory.size}`,
        );
      }
    }
    const w = memory.int32(region, RING_HEADER_SIZE / 4);
    if (Atomics.load(w, W_MAGIC) === MAGIC) {
      throw new ErrnoError(E.EEXIST, "init", {
        action: "initialise a ring channel in",
        object: what,
      });
    }
    w.fill(0);
    w[W_VERSION] = VERSION;
    w[W_CAPACITY] = capacity;
    w[W_FLAGS] = multi ? FLAG_MULTI : 0;
    w[W_SLOTS] = multi ? MAX_SENDERS : 1;
    Atomics.store(w, W_MAGIC, MAGIC);
    futexWake(w, W_MAGIC);
    return new RingChannel(INTERNAL, memory, region, false);
  }

  /**
   * Opens the channel another process initialised in `memory`.
   *
   * @param memory the shared memory holding it
   * @param offset where it starts (default 0)
   * @returns the channel; closing it leaves `memory` open
   * @throws {TypeError} when no channel was initialised there, or its header is corrupt
   *
   * @example Two handles on one channel
   * ```ts
   * import { RingChannel, SharedMemory } from "@dipc/dipc";
   *
   * using shm = SharedMemory.temporary({ size: RingChannel.sizeFor(4096) });
   * using a = RingChannel.init(shm);
   * using b = RingChannel.at(shm);
   * console.log(b.capacity === a.capacity); // true
   * ```
   */
  static at(memory: MappedMemory, offset: number = 0): RingChannel {
    return new RingChannel(INTERNAL, memory, validateRegion(memory, offset), false);
  }

  /**
   * Creates a channel in new POSIX shared memory `name`, or opens the channel already there
   * (unless `exclusive`).
   *
   * @param name a POSIX name: one leading "/", no other
   * @param options `capacity`, `multiProducer`, `mode`, `exclusive`
   * @returns the channel; it owns its shared memory and closes it on close
   * @throws {ErrnoError} EEXIST (exclusive and it exists), EACCES
   * @throws {TypeError} / {RangeError} for bad arguments
   * @see {@link https://man7.org/linux/man-pages/man3/shm_open.3.html}
   *
   * @example Create, then remove the name
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * const name = `/dipc-doc-${crypto.randomUUID()}`;
   * using channel = RingChannel.create(name, { capacity: 4096, exclusive: true });
   * RingChannel.unlink(name);
   * ```
   */
  static create(name: string, options: RingChannelOptions = {}): RingChannel {
    const o = validateOptions<RingChannelOptions>(options);
    const capacity = validateCapacity(o.capacity ?? 1 << 20);
    const multiProducer = validateBoolean(o.multiProducer ?? false, "multiProducer");
    const exclusive = validateBoolean(o.exclusive ?? false, "exclusive");
    let memory: SharedMemory;
    try {
      memory = SharedMemory.open(name, {
        create: true,
        exclusive: true,
        size: RingChannel.sizeFor(capacity),
        ...(o.mode === undefined ? {} : { mode: o.mode }),
      });
    } catch (e) {
      if (!exclusive && e instanceof ErrnoError && e.code === "EEXIST") {
        return RingChannel.open(name);
      }
      throw e;
    }
    try {
      RingChannel.init(memory, { capacity, multiProducer }).close();
      return new RingChannel(INTERNAL, memory, 0, true, name);
    } catch (e) {
      memory.close();
      throw e;
    }
  }

  /**
   * Opens the channel in POSIX shared memory `name`, waiting up to a second for a creator that
   * has not finished initialising it.
   *
   * @param name the channel's name
   * @param options `allowForeignOwner`
   * @returns the channel; it owns its mapping and closes it on close
   * @throws {ErrnoError} ENOENT (no such name), EACCES
   * @throws {TypeError} when the memory holds no ring channel
   * @throws {ForeignOwnerError} when another user owns it
   * @see {@link https://man7.org/linux/man-pages/man3/shm_open.3.html}
   *
   * @example Open by name
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * using made = RingChannel.temporary({ capacity: 4096 });
   * using opened = RingChannel.open(made.name ?? "");
   * console.log(opened.capacity); // 4096
   * ```
   */
  static open(name: string, options: RingOpenOptions = {}): RingChannel {
    const o = validateOptions<RingOpenOptions>(options);
    const allowForeignOwner = validateBoolean(o.allowForeignOwner ?? false, "allowForeignOwner");
    const deadline = deadlineFor(READY_MS);
    for (;;) {
      const memory = SharedMemory.open(name, { allowForeignOwner });
      try {
        if (memory.size >= RING_HEADER_SIZE + MIN_RING_CAPACITY) {
          const w = memory.int32(0, 1);
          while (Atomics.load(w, W_MAGIC) === 0 && msLeft(deadline) > 0) {
            sliceSync(w, W_MAGIC, 0, Math.min(msLeft(deadline), 10));
          }
          return new RingChannel(INTERNAL, memory, 0, true, name);
        }
      } catch (e) {
        memory.close();
        throw e;
      }
      memory.close(); // not sized yet: its creator is between shm_open and ftruncate
      if (msLeft(deadline) <= 0) {
        throw new TypeError(`shared memory ${JSON.stringify(name)} holds no ring channel`);
      }
      sliceSync(PAUSE, 0, 0, 5); // a 5 ms sleep: nothing ever wakes this word
    }
  }

  /**
   * Creates a channel under a new random name, removed when the channel is closed.
   *
   * @param options `capacity`, `multiProducer`, `mode`, `prefix`
   * @returns the channel; hand {@linkcode RingChannel.name} to the processes that open it
   * @throws {TypeError} / {RangeError} for bad options
   *
   * @example A temporary channel
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096, multiProducer: true });
   * console.log(channel.maxMessageSize); // 2040
   * ```
   */
  static temporary(options: TemporaryRingOptions = {}): RingChannel {
    const o = validateOptions<TemporaryRingOptions>(options);
    const capacity = validateCapacity(o.capacity ?? 1 << 20);
    const multiProducer = validateBoolean(o.multiProducer ?? false, "multiProducer");
    const memory = SharedMemory.temporary({
      size: RingChannel.sizeFor(capacity),
      prefix: o.prefix ?? "dipc-ring",
      ...(o.mode === undefined ? {} : { mode: o.mode }),
    });
    try {
      RingChannel.init(memory, { capacity, multiProducer }).close();
      return new RingChannel(INTERNAL, memory, 0, true, memory.name);
    } catch (e) {
      memory.close();
      throw e;
    }
  }

  /**
   * Removes the name of a channel made by {@linkcode RingChannel.create}; processes that have
   * it open keep using it.
   *
   * @param name the channel's name
   * @throws {ErrnoError} ENOENT, EACCES
   * @see {@link https://man7.org/linux/man-pages/man3/shm_unlink.3.html}
   *
   * @example Remove a name
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * const name = `/dipc-doc-${crypto.randomUUID()}`;
   * RingChannel.create(name, { capacity: 4096 }).close();
   * RingChannel.unlink(name);
   * ```
   */
  static unlink(name: string): void {
    SharedMemory.unlink(name);
  }

  /** The POSIX name, for channels made by name or `temporary()`; undefined for `init`/`at`. */
  get name(): string | undefined {
    return this.#name;
  }

  /** Ring size in bytes. */
  get capacity(): number {
    return this.#ring.capacity;
  }

  /** The longest message, in bytes: capacity ÷ 2 − 8 (a record never wraps). */
  get maxMessageSize(): number {
    return this.#ring.capacity / 2 - 8;
  }

  /** Whether several senders may be attached at once. */
  get multiProducer(): boolean {
    return this.#ring.multi;
  }

  /** Whether `close()` has been called (or the memory holding the channel was closed). */
  get closed(): boolean {
    return this.#closed || this.#ring.gone;
  }

  /**
   * What the header says now.
   *
   * @returns capacity, bytes in use, attached senders and receiver, deaths
   * @throws {ClosedError} after close
   *
   * @example An idle channel
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * console.log(channel.stats().used); // 0
   * ```
   */
  stats(): RingStats {
    const r = this.#open();
    const w = r.words;
    const senders: number[] = [];
    for (let i = 0; i < r.slots; i++) {
      const pid = Atomics.load(w, W_SENDERS + 2 * i);
      if (pid !== 0) senders.push(pid);
    }
    const head = Atomics.load(w, W_HEAD) >>> 0;
    const tail = Atomics.load(w, W_TAIL) >>> 0;
    return {
      capacity: r.capacity,
      used: (tail - head) >>> 0,
      head,
      tail,
      senders,
      receiver: Atomics.load(w, W_RECEIVER),
      deaths: Atomics.load(w, W_DEATHS),
    };
  }

  /**
   * Attaches this process as a sender.
   *
   * @param options `spins`: tries before a wait sleeps
   * @returns the sender; close it to end the stream (when it is the last)
   * @throws {ErrnoError} EBUSY when the channel takes one sender and a live one is attached,
   *   or all {@linkcode MAX_SENDERS} slots are taken
   * @throws {ClosedError} after close
   *
   * @example Send one message
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * using tx = channel.sender();
   * console.log(tx.trySend(new Uint8Array([1, 2, 3]))); // true
   * ```
   */
  sender(options: RingEndpointOptions = {}): RingSender {
    const spins = validateSpins(options);
    const s = new RingSender(this.#open(), spins, () => this.#endpoints.delete(s), INTERNAL);
    this.#endpoints.add(s);
    return s;
  }

  /**
   * Attaches this process as the receiver.
   *
   * @param options `spins`: tries before a wait sleeps
   * @returns the receiver
   * @throws {ErrnoError} EBUSY when a live receiver is attached
   * @throws {ClosedError} after close
   *
   * @example Nothing to receive yet
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * using rx = channel.receiver();
   * console.log(rx.tryReceive()); // "would-block"
   * ```
   */
  receiver(options: RingEndpointOptions = {}): RingReceiver {
    const spins = validateSpins(options);
    const r = new RingReceiver(this.#open(), spins, () => this.#endpoints.delete(r), INTERNAL);
    this.#endpoints.add(r);
    return r;
  }

  /**
   * Closes every sender and receiver made from this handle, then the mapping if the channel
   * owns it (a temporary channel's name is removed). Calling it again does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const e of [...this.#endpoints]) e.close();
    if (this.#owns) this.#memory.close();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #open(): Ring {
    if (this.closed) throw new ClosedError(this.#ring.what);
    return this.#ring;
  }
}

function validateSpins(options: unknown): number {
  const o = validateOptions<RingEndpointOptions>(options);
  return o.spins === undefined ? SPINS : validateInteger(o.spins, "spins", 0, 1_000_000);
}

/** Checks `memory` and `offset` (a multiple of 64, room for the smallest channel). */
function validateRegion(memory: unknown, offset: unknown): number {
  return new Slot(memory, offset ?? 0, RING_HEADER_SIZE + MIN_RING_CAPACITY, 64, "ring channel")
    .offset;
}

/** The end of a {@linkcode RingChannel} that sends. Made by {@linkcode RingChannel.sender}. */
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
  #spins: number;

  /** @internal */
  constructor(ring: Ring, spins: number, onClose: () => void, token: unknown) {
    checkInternal(token, "RingChannel.sender() / receiver()");
    this.#spins = spins;
    this.#ring = ring;
    this.#words = ring.words;
    this.#bytes = ring.bytes;
    this.#onClose = onClose;
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
   * @returns true when sent, false when the ring is full
   * @throws {ErrnoError} EMSGSIZE (too long; nothing sent), EPIPE (the receiver has gone)
   * @throws {ClosedError} after close
   *
   * @example Fill a small ring
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 64 });
   * using tx = channel.sender();
   * let sent = 0;
   * while (tx.trySend(new Uint8Array(8))) sent++;
   * console.log(sent); // 4: four 16-byte records fill 64 bytes
   * ```
   */
  trySend(data: Uint8Array): boolean {
    const n = this.#checkMessage(data);
    const at = this.#claim(n);
    if (at < 0) return false;
    try {
      this.#bytes.set(data, at + 8);
    } catch (e) {
      this.#abandon(at, n); // never leave a busy record behind
      throw e;
    }
    this.#publish(at, n);
    return true;
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
    const opts = validateWaitOptions(options);
    if (this.trySend(data)) return;
    const r = await waitUntil(
      () => this.trySend(data) || WOULD_BLOCK,
      this.#sleep(n),
      opts,
      this.#spins,
    );
    if (r === TIMED_OUT) throw timedOut(`send on ${this.#ring.what}`);
  }

  /**
   * Sends `data`, blocking the calling thread while the ring is full (for Workers and tight
   * loops; on the main thread prefer {@linkcode RingSender.send}).
   *
   * @param data the message
   * @param timeout ms at most (default: no limit)
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
   * tx.sendSync(new Uint8Array(16), 1000);
   * ```
   */
  sendSync(data: Uint8Array, timeout?: number): void {
    const n = this.#checkMessage(data);
    if (timeout !== undefined) validateWaitOptions({ timeout });
    if (this.trySend(data)) return;
    const r = this.#waitSync(() => this.trySend(data) || WOULD_BLOCK, n, timeout);
    if (r === TIMED_OUT) throw timedOut(`send on ${this.#ring.what}`);
  }

  /**
   * Zero-copy send, step 1: reserves room for a message of `size` bytes and returns it as a
   * view into shared memory. Write the message there, then {@linkcode RingSender.commit}. The
   * receiver sees nothing until the commit.
   *
   * @param size the message's length (a shorter one may be committed)
   * @returns the reserved bytes, or `"would-block"` when the ring is full
   * @throws {ErrnoError} EMSGSIZE, EPIPE
   * @throws {TypeError} when a reservation is already open
   * @throws {ClosedError} after close
   *
   * @example Write in place
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * using tx = channel.sender();
   * const room = tx.tryReserve(5);
   * if (room !== "would-block") {
   *   room.set([104, 101, 108, 108, 111]);
   *   tx.commit();
   * }
   * ```
   */
  tryReserve(size: number): Uint8Array | typeof WOULD_BLOCK_RESULT {
    const n = this.#checkSize(size);
    if (this.#reserved >= 0) {
      throw new TypeError("a reservation is already open: commit() or discard() it first");
    }
    const at = this.#claim(n);
    if (at < 0) return WOULD_BLOCK_RESULT;
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
    const opts = validateWaitOptions(options);
    const attempt = (): Uint8Array | typeof WOULD_BLOCK => {
      const r = this.tryReserve(n);
      return r === WOULD_BLOCK_RESULT ? WOULD_BLOCK : r;
    };
    const r = await waitUntil(attempt, this.#sleep(n), opts, this.#spins);
    if (r === TIMED_OUT) throw timedOut(`reserve on ${this.#ring.what}`);
    return r;
  }

  /**
   * Reserves room, blocking the calling thread while the ring is full.
   *
   * @param size the message's length
   * @param timeout ms at most (default: no limit)
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
   * tx.reserveSync(8, 1000).fill(1);
   * tx.commit();
   * ```
   */
  reserveSync(size: number, timeout?: number): Uint8Array {
    const n = this.#checkSize(size);
    if (timeout !== undefined) validateWaitOptions({ timeout });
    const r = this.#waitSync(
      () => {
        const v = this.tryReserve(n);
        return v === WOULD_BLOCK_RESULT ? WOULD_BLOCK : v;
      },
      n,
      timeout,
    );
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
    return this.#checkLength(validateBuffer(data, "data").length);
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
   * Finds room for a record with an `n`-byte message; returns its byte index in the channel,
   * or -1 when full. A multi-producer sender publishes the record as busy here.
   */
  #claim(n: number): number {
    this.#assertOpen();
    const w = this.#words;
    if ((Atomics.load(w, W_STATE) & RECEIVER_GONE) !== 0) {
      throw new ErrnoError(E.EPIPE, "send", { action: "send on", object: this.#ring.what });
    }
    if (this.#reserved >= 0) {
      throw new TypeError("a reservation is open: commit() or discard() it first");
    }
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
  #publish(at: number, n: number, reserved: number = n): void {
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
      Atomics.store(w, W_TAIL, t | 0);
    }
    this.#ring.wakeData();
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
    const s = ring.sleeper(W_SPACE_WAIT, this.#raise(n), () => ring.reapReceiver());
    this.#sleeper = s;
    return s;
  }

  #waitSync<T>(
    attempt: () => T | typeof WOULD_BLOCK,
    n: number,
    timeout: number | undefined,
  ): T | typeof TIMED_OUT {
    const ring = this.#ring;
    return ring.waitSync(
      attempt,
      W_SPACE_WAIT,
      this.#raise(n),
      () => ring.reapReceiver(),
      timeout,
      this.#spins,
    );
  }
}

/** The end of a {@linkcode RingChannel} that receives. Made by {@linkcode RingChannel.receiver}. */
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
  /** The length of the message #next found (read once, checked, never read again). */
  #length = 0;
  /** Set once a peer corrupted the channel (reported once, then end of stream). */
  #broken = false;
  #sleeper: Sleeper | undefined;
  #spins: number;

  /** @internal */
  constructor(ring: Ring, spins: number, onClose: () => void, token: unknown) {
    checkInternal(token, "RingChannel.sender() / receiver()");
    this.#spins = spins;
    this.#ring = ring;
    this.#words = ring.words;
    this.#bytes = ring.bytes;
    this.#onClose = onClose;
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
   * @returns its length; `null` at end of stream; `"would-block"` when empty
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
  tryReceiveInto(into: Uint8Array): number | null | typeof WOULD_BLOCK_RESULT {
    validateBuffer(into, "into");
    const at = this.#next();
    if (at < 0) return at === -1 ? WOULD_BLOCK_RESULT : null;
    const n = this.#length;
    if (n > into.length) {
      throw new ErrnoError(E.EMSGSIZE, "receive", {
        action: `receive a ${n}-byte message into ${into.length} bytes from`,
        object: this.#ring.what,
      });
    }
    into.set(this.#bytes.subarray(at + 8, at + 8 + n));
    this.#release(n);
    return n;
  }

  /**
   * Takes the next message, if there is one now.
   *
   * @returns a copy of it; `null` at end of stream; `"would-block"` when empty
   * @throws {ErrnoError} ECONNRESET once, at the end, when a sender died
   * @throws {ClosedError} after close
   */
  tryReceive(): Uint8Array | null | typeof WOULD_BLOCK_RESULT {
    const at = this.#next();
    if (at < 0) return at === -1 ? WOULD_BLOCK_RESULT : null;
    const n = this.#length;
    const copy = this.#bytes.slice(at + 8, at + 8 + n);
    this.#release(n);
    return copy;
  }

  /**
   * Takes the next message, waiting while the channel is empty.
   *
   * @param options `signal` and `timeout` (ms)
   * @returns a copy of it, or `null` at end of stream
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
  async receive(options?: WaitOptions): Promise<Uint8Array | null> {
    const opts = validateWaitOptions(options);
    const r = await this.#wait(() => this.tryReceive(), opts);
    if (r === TIMED_OUT) throw timedOut(`receive on ${this.#ring.what}`);
    return r;
  }

  /**
   * Takes the next message into `into`, waiting while the channel is empty.
   *
   * @param into room for the message
   * @param options `signal` and `timeout` (ms)
   * @returns its length, or `null` at end of stream
   * @throws {DOMException} `TimeoutError`; the signal's reason when aborted (nothing taken)
   * @throws {ErrnoError} EMSGSIZE, ECONNRESET
   * @throws {ClosedError} after close
   */
  async receiveInto(into: Uint8Array, options?: WaitOptions): Promise<number | null> {
    const opts = validateWaitOptions(options);
    const r = await this.#wait(() => this.tryReceiveInto(into), opts);
    if (r === TIMED_OUT) throw timedOut(`receive on ${this.#ring.what}`);
    return r;
  }

  /**
   * Takes the next message into `into`, blocking the calling thread while the channel is empty
   * (for Workers and tight loops).
   *
   * @param into room for the message
   * @param timeout ms at most (default: no limit)
   * @returns its length, or `null` at end of stream
   * @throws {DOMException} `TimeoutError`
   * @throws {ErrnoError} EMSGSIZE, ECONNRESET
   * @throws {ClosedError} after close
   */
  receiveIntoSync(into: Uint8Array, timeout?: number): number | null {
    if (timeout !== undefined) validateWaitOptions({ timeout });
    const r = this.#waitSync(() => this.tryReceiveInto(into), timeout);
    if (r === TIMED_OUT) throw timedOut(`receive on ${this.#ring.what}`);
    return r;
  }

  /**
   * Takes the next message, blocking the calling thread while the channel is empty.
   *
   * @param timeout ms at most (default: no limit)
   * @returns a copy of it, or `null` at end of stream
   * @throws {DOMException} `TimeoutError`
   * @throws {ErrnoError} ECONNRESET
   * @throws {ClosedError} after close
   *
   * @example End of stream
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * using rx = channel.receiver();
   * channel.sender().close();
   * console.log(rx.receiveSync(1000)); // null
   * ```
   */
  receiveSync(timeout?: number): Uint8Array | null {
    if (timeout !== undefined) validateWaitOptions({ timeout });
    const r = this.#waitSync(() => this.tryReceive(), timeout);
    if (r === TIMED_OUT) throw timedOut(`receive on ${this.#ring.what}`);
    return r;
  }

  /**
   * Zero-copy receive, step 1: the next message as a view into shared memory, if there is one
   * now. It stays there, and the view stays valid, until {@linkcode RingReceiver.release} (or
   * the next receive); peeking again returns the same message.
   *
   * @returns the view; `null` at end of stream; `"would-block"` when empty
   * @throws {ErrnoError} ECONNRESET once, at the end, when a sender died
   * @throws {ClosedError} after close
   *
   * @example Read in place
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * using rx = channel.receiver();
   * using tx = channel.sender();
   * tx.trySend(new Uint8Array([5, 6]));
   * const view = rx.tryPeek();
   * if (view instanceof Uint8Array) {
   *   console.log([...view]); // [ 5, 6 ]
   *   rx.release();
   * }
   * ```
   */
  tryPeek(): Uint8Array | null | typeof WOULD_BLOCK_RESULT {
    const at = this.#next();
    if (at < 0) return at === -1 ? WOULD_BLOCK_RESULT : null;
    this.#peeked = at;
    return this.#bytes.subarray(at + 8, at + 8 + this.#length);
  }

  /**
   * Peeks as {@linkcode RingReceiver.tryPeek}, waiting while the channel is empty.
   *
   * @param options `signal` and `timeout` (ms)
   * @returns the view, or `null` at end of stream
   * @throws {DOMException} `TimeoutError`; the signal's reason when aborted
   * @throws {ErrnoError} ECONNRESET
   * @throws {ClosedError} after close
   */
  async peek(options?: WaitOptions): Promise<Uint8Array | null> {
    const opts = validateWaitOptions(options);
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
      let m: Uint8Array | null;
      try {
        m = await this.receive(signal ? { signal } : {});
      } catch (e) {
        if (signal?.aborted) return;
        throw e;
      }
      if (m === null) return;
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
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const m = await this.receive();
        if (m === null) controller.close();
        else controller.enqueue(m);
      },
      cancel: () => this.close(),
    }, { highWaterMark: 0 });
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
        if (h === t) return this.#ended() ? -2 : -1;
      }
      const idx = h & mask;
      const at = RING_HEADER_SIZE + idx;
      const word = Atomics.load(w, at >> 2);
      const length = word & LEN_MASK;
      const record = 8 + align8(length);
      const where = `the record word at position ${h}`;
      if ((word & BUSY) !== 0 && (word & SKIP) !== 0) this.#corrupt(where, word, "busy and skip");
      if (idx + record > ring.capacity) {
        this.#corrupt(where, word, `a ${record}-byte record runs past the ring's end`);
      }
      if (record > ((this.#tailCache - h) >>> 0)) {
        this.#corrupt(where, word, `a ${record}-byte record runs past the tail`);
      }
      if ((word & BUSY) !== 0) return -1;
      if ((word & SKIP) === 0) {
        if (length > ring.capacity / 2 - 8) {
          this.#corrupt(where, word, `longer than the longest message, ${ring.capacity / 2 - 8}`);
        }
        this.#length = length;
        return at;
      }
      this.#head = (h + record) >>> 0;
      Atomics.store(w, W_HEAD, this.#head | 0);
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
    Atomics.store(this.#words, W_HEAD, h | 0);
    this.#ring.wakeSpace(h);
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
    attempt: () => T | typeof WOULD_BLOCK_RESULT,
    opts: WaitOptions,
  ): Promise<T | typeof TIMED_OUT> {
    const s = this.#sleeper ??= this.#ring.sleeper(W_DATA_WAIT, this.#raise, () => this.#reap());
    return waitUntil(
      () => {
        const r = attempt();
        return r === WOULD_BLOCK_RESULT ? WOULD_BLOCK : r;
      },
      s,
      opts,
      this.#spins,
    );
  }

  #waitSync<T>(
    attempt: () => T | typeof WOULD_BLOCK_RESULT,
    timeout: number | undefined,
  ): T | typeof TIMED_OUT {
    return this.#ring.waitSync(
      () => {
        const r = attempt();
        return r === WOULD_BLOCK_RESULT ? WOULD_BLOCK : r;
      },
      W_DATA_WAIT,
      this.#raise,
      () => this.#reap(),
      timeout,
      this.#spins,
    );
  }
}

/**
 * A message channel in shared memory: the bounded-buffer (producer–consumer) problem's
 * buffer, built for real. It is dipc's
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
 * **Full and empty.** The textbook rule is `((in + 1) % BUFFER_SIZE) == out` for full and
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
 * and then {@linkcode END_OF_STREAM}, as a pipe reader gets EOF. A sender that dies instead
 * (killed, or exited without `close()`) is noticed by a waiting receiver within
 * {@linkcode PEER_CHECK_MS} ms: a message it had not committed is never delivered, and once the
 * channel is drained the receiver gets ErrnoError `ECONNRESET` (once), then
 * {@linkcode END_OF_STREAM}. A sender whose receiver closed gets `EPIPE`; one waiting for room
 * notices a dead receiver the same way. A receiver can also be told which process should attach
 * as the first sender, or for how long to wait for one ({@linkcode RingReceiverOptions}), so
 * that a sender that never comes ends its wait instead of leaving it forever.
 *
 * ## Layout (for C peers)
 *
 * All fields are little-endian 32-bit words at byte offsets from the channel's start; positions
 * are byte counts modulo 2³². Writers use sequentially consistent atomics on every word a peer
 * reads (`__atomic_*` with `__ATOMIC_SEQ_CST` in C), except as *Ordering* below allows.
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
 * | 196 | data ordered | 1 while the receiver asks for `tail` to be published in order (see *Ordering*) |
 * | 256 | space flag | futex word: 1 while a sender sleeps (waiting for room) |
 * | 260 | space wanted | bytes the sleeping sender needs (0: any) |
 * | 264 | space ordered | 1 while a single sender asks for `head` to be published in order |
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
 * **Ordering.** On a single-producer channel the record words, `tail` and `head` may also be
 * written with release stores and read with acquire loads, and the flags read with plain loads
 * (on x86-64 all of them are plain moves: what dipc does there, so a message costs no locked
 * instruction). That opens one race the sequentially consistent rule closed: a side that
 * publishes with a release store and then reads the peer's flag can miss a flag raised at that
 * moment, while the peer, looking once more, misses the publication still in the first side's
 * store buffer. So a side may publish that way only while the peer's *ordered* word (data
 * ordered for `tail`, space ordered for `head`) is 0; a sleeper that has not yet asked stores 1
 * in its ordered word, raises its flag, then calls `membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED)`
 * before its last look: a full barrier on every CPU running a process registered with
 * `MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED` (each dipc process registers when it opens a
 * channel; a C peer that publishes with release stores must register too). From then on the peer
 * publishes in order and later sleeps need no fence, until the sleeper, after 4096 messages
 * without a sleep, stores 0 again. An end takes its ordered word over (stores 0) when it attaches.
 * A peer that always publishes with sequentially consistent stores may ignore the ordered words;
 * a sleeper that cannot fence sleeps in 1 ms slices. Multi-producer channels keep sequentially
 * consistent atomics on every word.
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

import {
  FLAG_MULTI,
  MAGIC,
  MAX_RING_CAPACITY,
  MAX_SENDERS,
  MIN_RING_CAPACITY,
  PAUSE,
  READY_MS,
  Ring,
  RING_HEADER_SIZE,
  type RingStats,
  ringStats,
  SPINS,
  VERSION,
  W_CAPACITY,
  W_FLAGS,
  W_MAGIC,
  W_SLOTS,
  W_VERSION,
} from "./_ring_protocol.ts";
import { E } from "../ffi/constants.ts";
import { checkInternal, hasBrand, INTERNAL } from "./_internal.ts";
import { ClosedError, ErrnoError } from "./errors.ts";
import { futexWake } from "./_futex.ts";
import type { MappedMemory } from "./mapped_memory.ts";
import { Slot } from "./_slot.ts";
import { SharedMemory } from "./shm.ts";
import {
  describe,
  validateBoolean,
  validateCreateRule,
  validateInteger,
  validateOptionKeys,
  validateOptions,
} from "./_validate.ts";
import { AdaptiveSpins, deadlineFor, msLeft, sliceSync, validateWaitOptions } from "./_wait.ts";
import { TUNING } from "./_tuning.ts";
import type { ChildProcess } from "./spawn.ts";

import { RingSender } from "./_ring_sender.ts";
import { RingReceiver } from "./_ring_receiver.ts";

export {
  MAX_RING_CAPACITY,
  MAX_SENDERS,
  MIN_RING_CAPACITY,
  PEER_CHECK_MS,
  RING_HEADER_SIZE,
  type RingStats,
} from "./_ring_protocol.ts";
export { RingSender } from "./_ring_sender.ts";
export { RingReceiver } from "./_ring_receiver.ts";
export type { SyncWaitOptions, WaitOptions } from "./_wait.ts";
export { END_OF_STREAM, type EndOfStream, WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";

/** The capacity `create`, `temporary` and `size` use when none is given: 1 MiB. */
const DEFAULT_CAPACITY = 1 << 20;

/** Options for {@linkcode RingChannel.init} and {@linkcode RingChannel.size}. */
export interface RingChannelInitOptions {
  /** Ring size in bytes, a power of two (default: the largest that fits; 1 MiB for `size`). */
  capacity?: number;
  /** Allow up to {@linkcode MAX_SENDERS} senders at once (default: one). */
  multiProducer?: boolean;
}

/** Options for {@linkcode RingChannel.create}. */
export interface RingChannelCreateOptions {
  /** Ring size in bytes, a power of two (default 1 MiB). */
  capacity?: number;
  /** Allow up to {@linkcode MAX_SENDERS} senders at once (default: one). */
  multiProducer?: boolean;
  /** Permission bits of the shared memory (default 0o600), applied exactly. */
  mode?: number;
  /**
   * Fail with EEXIST if the name exists (default `true`). With `false` an existing channel is
   * opened instead (its capacity wins; `created` says which happened).
   */
  exclusive?: boolean;
  /** With `exclusive: false`: accept an existing channel owned by another user. */
  allowForeignOwner?: boolean;
}

/** Options for {@linkcode RingChannel.open}. */
export interface RingChannelOpenOptions {
  /** Accept shared memory owned by another user (off by default: squatting defence). */
  allowForeignOwner?: boolean;
}

/** Options for {@linkcode RingChannel.temporary}. */
export interface TemporaryRingChannelOptions {
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
   * Tries on the calling thread before a wait sleeps, fixed. Not given (the default), the length
   * adapts: it starts at 400 (a few microseconds), doubles after a wait whose wake-up came soon
   * after it fell asleep (a longer spin would have caught the peer), halves after one that waited
   * long (a slow peer then costs almost no CPU), between 16 and 20,000 tries. 0 sleeps at once:
   * no CPU is spent spinning, and every wait that has to wait costs a futex wake-up.
   */
  spins?: number;
}

/**
 * Options for {@linkcode RingChannel.sender}: what a sender waits for before any receiver has
 * attached. Without them a full channel that no receiver ever attaches to is waited on for as
 * long as each send's own `timeout` and `signal` allow (forever, by default).
 */
export interface RingSenderOptions extends RingEndpointOptions {
  /**
   * The process expected to attach as the receiver (e.g. the child just spawned): if it exits
   * before any receiver has attached, a send that finds the ring full fails with ErrnoError
   * ECONNREFUSED naming it and its exit status, instead of waiting forever.
   */
  receiverProcess?: ChildProcess;
  /**
   * Milliseconds, from now, within which a first receiver must attach; after that a send that
   * finds the ring full, on a channel no receiver has ever attached to, fails with a
   * `TimeoutError`.
   */
  receiverTimeout?: number;
}

/**
 * Options for {@linkcode RingChannel.receiver}: what a receiver waits for before any sender has
 * attached. Without them an empty channel that no sender ever attaches to is waited on for as
 * long as each receive's own `timeout` and `signal` allow (forever, by default).
 */
export interface RingReceiverOptions extends RingEndpointOptions {
  /**
   * The process expected to attach as a sender (e.g. the child just spawned): if it exits
   * before any sender has attached, receives fail with ErrnoError ECONNREFUSED naming it and its
   * exit status, instead of waiting forever.
   */
  senderProcess?: ChildProcess;
  /**
   * Milliseconds, from now, within which a first sender must attach; after that receives on a
   * channel no sender has ever attached to fail with a `TimeoutError`.
   */
  senderTimeout?: number;
}

/** A {@linkcode RingChannel} made or opened by name: its `name` is always there. */
export type NamedRingChannel = RingChannel & { readonly name: string };

function validateCapacity(capacity: unknown): number {
  const c = validateInteger(capacity, "capacity", MIN_RING_CAPACITY, MAX_RING_CAPACITY);
  if ((c & (c - 1)) !== 0) throw new RangeError(`capacity must be a power of two, got ${c}`);
  return c;
}

/**
 * A message channel in shared memory. See the module documentation for how it works and its
 * byte layout.
 *
 * @example A sender and a receiver on one ring
 * ```ts
 * import { END_OF_STREAM, RingChannel } from "@dipc/dipc";
 *
 * using ring = RingChannel.temporary({ capacity: 4096 });
 * using rx = ring.receiver();
 * {
 *   using tx = ring.sender();
 *   await tx.send(new TextEncoder().encode("one"));
 * } // the last sender's close ends the stream
 * const m = await rx.receive({ timeout: 1_000 });
 * if (m !== END_OF_STREAM) console.log(new TextDecoder().decode(m)); // "one"
 * console.log(await rx.receive({ timeout: 1_000 }) === END_OF_STREAM); // true
 * ```
 */
export class RingChannel implements Disposable {
  #memory: MappedMemory;
  #owns: boolean;
  #ring: Ring;
  #name: string | undefined;
  #created: boolean;
  #endpoints = new Set<RingSender | RingReceiver>();
  #closed = false;

  /** @ignore */
  private constructor(
    token: unknown,
    memory: MappedMemory,
    offset: number,
    owns: boolean,
    name: string | undefined,
    created: boolean,
  ) {
    checkInternal(token, "RingChannel.create/open/temporary/init/at()");
    this.#memory = memory;
    this.#owns = owns;
    this.#name = name;
    this.#created = created;
    this.#ring = new Ring(
      memory,
      offset,
      name === undefined ? `memory at offset ${offset}` : `ring channel ${JSON.stringify(name)}`,
    );
  }

  /**
   * Bytes of memory {@linkcode RingChannel.init} needs for a channel of `capacity` (header and
   * ring).
   *
   * @param options `capacity`: ring size in bytes, a power of two (default 1 MiB)
   * @returns {@linkcode RING_HEADER_SIZE} + capacity
   * @throws {RangeError} for a capacity that is not a power of two in range
   *
   * @example Size memory for a channel
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * console.log(RingChannel.size({ capacity: 65536 })); // 69632
   * ```
   */
  static size(options: RingChannelInitOptions = {}): number {
    const o = validateOptions<RingChannelInitOptions>(options);
    return RING_HEADER_SIZE + validateCapacity(o.capacity ?? DEFAULT_CAPACITY);
  }

  /**
   * Makes a new, empty channel in `memory` (nothing else may be using those bytes).
   *
   * @param memory shared memory of at least `offset + RingChannel.size({ capacity })` bytes
   * @param offset where the channel starts, a multiple of 64
   * @param options `capacity`, `multiProducer`
   * @returns the channel; closing it leaves `memory` open
   * @throws {TypeError} for bad options
   * @throws {RangeError} for an offset or capacity that does not fit
   * @throws {ErrnoError} EEXIST when a channel is already initialised there
   *
   * @example A channel in System V shared memory
   * ```ts
   * import { RingChannel, SysVSharedMemory } from "@dipc/dipc";
   *
   * using shm = SysVSharedMemory.temporary({ size: RingChannel.size({ capacity: 4096 }) });
   * using channel = RingChannel.init(shm, 0);
   * console.log(channel.capacity); // 4096
   * ```
   */
  static init(
    memory: MappedMemory,
    offset: number,
    options: RingChannelInitOptions = {},
  ): RingChannel {
    const region = validateRegion(memory, offset);
    const o = validateOptions<RingChannelInitOptions>(options);
    const what = `memory at offset ${region}`;
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
            RING_HEADER_SIZE + capacity
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
    return new RingChannel(INTERNAL, memory, region, false, undefined, true);
  }

  /**
   * Opens the channel another process initialised in `memory`.
   *
   * @param memory the shared memory holding it
   * @param offset where it starts
   * @returns the channel; closing it leaves `memory` open
   * @throws {TypeError} when no channel was initialised there, or its header is corrupt
   *
   * @example Two handles on one channel
   * ```ts
   * import { RingChannel, SharedMemory } from "@dipc/dipc";
   *
   * using shm = SharedMemory.temporary({ size: RingChannel.size({ capacity: 4096 }) });
   * using a = RingChannel.init(shm, 0);
   * using b = RingChannel.at(shm, 0);
   * console.log(b.capacity === a.capacity); // true
   * ```
   */
  static at(memory: MappedMemory, offset: number): RingChannel {
    return new RingChannel(
      INTERNAL,
      memory,
      validateRegion(memory, offset),
      false,
      undefined,
      false,
    );
  }

  /**
   * Creates a channel in new POSIX shared memory `name` (exclusively, unless `exclusive: false`
   * asks to open a channel already there).
   *
   * @param name a POSIX name: one leading "/", no other
   * @param options `capacity`, `multiProducer`, `mode`, `exclusive`, `allowForeignOwner`
   * @returns the channel; it owns its shared memory and closes it on close
   * @throws {ErrnoError} EEXIST (the name exists), EACCES
   * @throws {ForeignOwnerError} with `exclusive: false`, when another user owns it
   * @throws {TypeError} / {RangeError} for bad arguments
   * @see {@link https://man7.org/linux/man-pages/man3/shm_open.3.html}
   *
   * @example Create, then remove the name
   * ```ts
   * import { RingChannel } from "@dipc/dipc";
   *
   * const name = `/dipc-doc-${crypto.randomUUID()}`;
   * using channel = RingChannel.create(name, { capacity: 4096 });
   * console.log(channel.created); // true
   * channel.unlink();
   * ```
   */
  static create(name: string, options: RingChannelCreateOptions = {}): NamedRingChannel {
    const o = validateOptionKeys<RingChannelCreateOptions>(options, [
      "capacity",
      "multiProducer",
      "mode",
      "exclusive",
      "allowForeignOwner",
    ], "RingChannel.create");
    const capacity = validateCapacity(o.capacity ?? DEFAULT_CAPACITY);
    const multiProducer = validateBoolean(o.multiProducer ?? false, "multiProducer");
    const { exclusive, allowForeignOwner, mode } = validateCreateRule(o);
    let memory: SharedMemory;
    try {
      memory = SharedMemory.create(name, { size: RING_HEADER_SIZE + capacity, mode });
    } catch (e) {
      if (!exclusive && e instanceof ErrnoError && e.code === "EEXIST") {
        return RingChannel.open(name, { allowForeignOwner });
      }
      throw e;
    }
    return RingChannel.#adopt(memory, name, true, { capacity, multiProducer });
  }

  /** Lays a new channel out at the start of `memory`, which the channel then owns. */
  static #adopt(
    memory: SharedMemory,
    name: string,
    created: boolean,
    init: RingChannelInitOptions,
  ): NamedRingChannel {
    try {
      RingChannel.init(memory, 0, init).close();
      return new RingChannel(INTERNAL, memory, 0, true, name, created) as NamedRingChannel;
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
   * using opened = RingChannel.open(made.name);
   * console.log(opened.capacity); // 4096
   * ```
   */
  static open(name: string, options: RingChannelOpenOptions = {}): NamedRingChannel {
    const o = validateOptionKeys<RingChannelOpenOptions>(
      options,
      ["allowForeignOwner"],
      "RingChannel.open",
    );
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
          return new RingChannel(INTERNAL, memory, 0, true, name, false) as NamedRingChannel;
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
  static temporary(options: TemporaryRingChannelOptions = {}): NamedRingChannel {
    const o = validateOptionKeys<TemporaryRingChannelOptions>(options, [
      "capacity",
      "multiProducer",
      "mode",
      "prefix",
    ], "RingChannel.temporary");
    const capacity = validateCapacity(o.capacity ?? DEFAULT_CAPACITY);
    const multiProducer = validateBoolean(o.multiProducer ?? false, "multiProducer");
    const memory = SharedMemory.temporary({
      size: RING_HEADER_SIZE + capacity,
      prefix: o.prefix ?? "dipc-ring",
      ...(o.mode === undefined ? {} : { mode: o.mode }),
    });
    return RingChannel.#adopt(memory, memory.name, true, { capacity, multiProducer });
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

  /**
   * Removes this channel's name (see the static {@linkcode RingChannel.unlink}); the channel
   * stays usable.
   *
   * @throws {TypeError} for a channel placed with `init`/`at` (it has no name)
   * @throws {ErrnoError} ENOENT (already removed), EACCES
   */
  unlink(): void {
    if (this.#name === undefined || !(this.#memory instanceof SharedMemory)) {
      throw new TypeError(`${this.#ring.what} has no name to unlink`);
    }
    this.#memory.unlink();
  }

  /**
   * The POSIX name of a channel made by `create`, `open` or `temporary` (their results are typed
   * {@linkcode NamedRingChannel}, where it is always a string); undefined for `init`/`at`.
   */
  get name(): string | undefined {
    return this.#name;
  }

  /** Whether this handle created the channel (`create`, `temporary`, `init`). */
  get created(): boolean {
    return this.#created;
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
   * console.log(channel.stat().used); // 0
   * ```
   */
  stat(): RingStats {
    return ringStats(this.#open());
  }

  /**
   * The same as {@linkcode RingChannel.stat}.
   *
   * @deprecated Use {@linkcode RingChannel.stat}: every dipc object reports itself by `stat()`.
   */
  stats(): RingStats {
    return this.stat();
  }

  /**
   * Attaches this process as a sender.
   *
   * @param options `spins`: tries before a wait sleeps; `receiverProcess` and
   *   `receiverTimeout`: what ends a wait for a first receiver that never comes
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
   * console.log(tx.trySend(new Uint8Array([1, 2, 3]))); // undefined: sent
   * ```
   */
  sender(options: RingSenderOptions = {}): RingSender {
    const spins = validateSpins(
      options,
      ["spins", "receiverProcess", "receiverTimeout"],
      "RingChannel.sender",
    );
    const o = options as RingSenderOptions;
    const [child, deadline] = validatePeerBound(o.receiverProcess, o.receiverTimeout, "receiver");
    const s = new RingSender(
      INTERNAL,
      this.#open(),
      spins,
      () => this.#endpoints.delete(s),
      child,
      deadline,
    );
    this.#endpoints.add(s);
    return s;
  }

  /**
   * Attaches this process as the receiver.
   *
   * @param options `spins`: tries before a wait sleeps; `senderProcess` and `senderTimeout`:
   *   what ends a wait for a first sender that never comes
   * @returns the receiver
   * @throws {ErrnoError} EBUSY when a live receiver is attached
   * @throws {ClosedError} after close
   *
   * @example Nothing to receive yet
   * ```ts
   * import { RingChannel, WOULD_BLOCK } from "@dipc/dipc";
   *
   * using channel = RingChannel.temporary({ capacity: 4096 });
   * using rx = channel.receiver();
   * console.log(rx.tryReceive() === WOULD_BLOCK); // true
   * ```
   */
  receiver(options: RingReceiverOptions = {}): RingReceiver {
    const spins = validateSpins(
      options,
      ["spins", "senderProcess", "senderTimeout"],
      "RingChannel.receiver",
    );
    const o = options as RingReceiverOptions;
    const [child, deadline] = validatePeerBound(o.senderProcess, o.senderTimeout, "sender");
    const r = new RingReceiver(
      INTERNAL,
      this.#open(),
      spins,
      () => this.#endpoints.delete(r),
      child,
      deadline,
    );
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

/** `senderProcess`/`senderTimeout` (or the receiver's pair): the child, and the deadline. */
function validatePeerBound(
  child: unknown,
  timeout: unknown,
  peer: "sender" | "receiver",
): [ChildProcess | undefined, bigint | undefined] {
  if (child !== undefined && !hasBrand(child, "ChildProcess")) {
    throw new TypeError(`${peer}Process must be a ChildProcess, got ${describe(child)}`);
  }
  const deadline = timeout === undefined
    ? undefined
    : deadlineFor(validateWaitOptions({ timeout }).timeout);
  return [child as ChildProcess | undefined, deadline];
}

/** The `spins` option: a fixed number of tries, or (not given) lengths that adapt. */
function validateSpins(
  options: unknown,
  keys: readonly string[],
  call: string,
): number | AdaptiveSpins {
  const o = validateOptionKeys<RingEndpointOptions>(options, keys, call);
  if (o.spins !== undefined) return validateInteger(o.spins, "spins", 0, 1_000_000);
  return new AdaptiveSpins(TUNING.ring.adaptiveMin, TUNING.ring.adaptiveMax, SPINS);
}

/** Checks `memory` and `offset` (a multiple of 64, room for the smallest channel). */
function validateRegion(memory: unknown, offset: unknown): number {
  return new Slot(memory, offset, RING_HEADER_SIZE + MIN_RING_CAPACITY, 64, "ring channel")
    .offset;
}

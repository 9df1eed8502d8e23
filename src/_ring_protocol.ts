/**
 * The ring channel's protocol, shared by both ends: the header's words and flags, the limits, and
 * {@linkcode Ring}, one process's view of a channel (the checks every end makes on what peers
 * wrote, the pid slots, the wake-ups and the sleeps). The byte layout is documented in ring.ts.
 *
 * @module
 */

import { E } from "../ffi/constants.ts";
import { globalFence, monotonicNs, registerGlobalFence } from "../ffi/util.ts";
import { ClosedError, ErrnoError } from "./errors.ts";
import { futexWake } from "./_futex.ts";
import { me, processGone } from "./_liveness.ts";
import type { MappedMemory } from "./mapped_memory.ts";
import { futexSleeper, type Sleeper, sliceSync, type SyncSleeper, timedOut } from "./_wait.ts";
import { WOULD_BLOCK } from "./_sentinels.ts";
import { TUNING } from "./_tuning.ts";

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
export const PEER_CHECK_MS: number = TUNING.ring.peerCheckMs;

export const MAGIC = 0x676e6972; // "ring"
export const VERSION = 1;
// Header words (byte offset ÷ 4).
export const W_MAGIC = 0;
export const W_VERSION = 1;
export const W_CAPACITY = 2;
export const W_FLAGS = 3;
export const W_STATE = 4;
export const W_DEATHS = 5;
export const W_RECEIVER = 6;
export const W_SLOTS = 8;
export const W_HEAD = 16;
export const W_TAIL = 32;
export const W_LOCK = 33;
export const W_DATA_WAIT = 48;
/** 1 while the receiver asks senders to publish `tail` with ordered stores (see "Ordering"). */
export const W_DATA_ORDERED = 49;
export const W_SPACE_WAIT = 64;
export const W_SPACE_WANTED = 65;
/** 1 while the sender asks the receiver to publish `head` with ordered stores. */
export const W_SPACE_ORDERED = 66;
export const W_SENDERS = 80;
export const FLAG_MULTI = 1;
export const SENDER_SEEN = 1;
export const RECEIVER_GONE = 2;
export const BUSY = 0x80000000 | 0;
export const SKIP = 0x40000000;
export const LEN_MASK = 0x3fffffff;
/** Tries on the calling thread before sleeping (a few microseconds). */
export const SPINS: number = TUNING.ring.spins;
/** Tries at the multi-producer lock before looking at its holder: spins, then with sched_yield. */
export const LOCK_SPINS: number = TUNING.ring.lockSpins;
export const LOCK_TRIES: number = TUNING.ring.lockTries;
export const SLICE_NS = BigInt(PEER_CHECK_MS) * 1_000_000n;
/** The slice when no global fence can be had (a wake-up may then be missed): 1 ms. */
const SHORT_SLICE_NS = 1_000_000n;
/**
 * Whether this architecture orders stores as C's release stores need with plain stores (x86-64
 * is TSO); `DIPC_RING_ATOMIC_ORDERING=1` turns the plain path off, for comparison.
 */
const PLAIN_ORDERING = Deno.build.arch === "x86_64" && !atomicOrderingAsked();

function atomicOrderingAsked(): boolean {
  const variable = "DIPC_RING_ATOMIC_ORDERING";
  // Never a permission prompt: without --allow-env, the default.
  if (Deno.permissions.querySync({ name: "env", variable }).state !== "granted") return false;
  return Deno.env.get(variable) === "1";
}
/** How long `open` waits for a creator to finish `init`. */
export const READY_MS: number = TUNING.ring.readyMs;

export const align8 = (n: number): number => (n + 7) & ~7;
/** A private word to sleep on while waiting for a creator. */
export const PAUSE = new Int32Array(1);

/** The one form of "a peer wrote a bad word": ErrnoError EPROTO naming the word and its value. */
function corruptWord(
  action: string,
  what: string,
  word: string,
  value: number,
  why: string,
): ErrnoError {
  const v = value >>> 0;
  return new ErrnoError(E.EPROTO, "ring", {
    action,
    object: what,
    detail: `${word} holds ${v} (0x${v.toString(16)}): ${why}`,
  });
}

/** What the endpoints share: the channel's memory and the protocol on it. */
export class Ring {
  readonly words: Int32Array<ArrayBuffer>;
  readonly bytes: Uint8Array<ArrayBuffer>;
  readonly capacity: number;
  readonly mask: number;
  readonly multi: boolean;
  readonly slots: number;
  readonly what: string;
  readonly pid: number;
  readonly start: number;
  /**
   * Whether this process publishes `head`, `tail` and single-producer records with plain stores
   * and reads the flags with plain loads (x86-64, whose stores are never reordered with earlier
   * stores: a plain store *is* C's release store there), which a sleeper makes safe with a
   * global fence before its last look (see ring.ts, "Ordering"). Elsewhere every such word goes
   * through `Atomics`.
   */
  readonly plain: boolean;

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
      corruptWord("open ring channel", what, word, value, why);
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
    // Multi-producer channels keep ordered atomics everywhere (several senders share a flag).
    this.plain = PLAIN_ORDERING && !multi && registerGlobalFence();
  }

  get gone(): boolean {
    return this.words.length === 0;
  }

  /**
   * The error for a word a peer corrupted: EPROTO, naming the word and what it held. The
   * endpoint that meets it stops using the channel (see the module doc).
   */
  corrupt(word: string, value: number, why: string): ErrnoError {
    return corruptWord("use ring channel", this.what, word, value, why);
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
    if (
      (this.plain ? w[flag] : Atomics.load(w, flag)) !== 0 &&
      Atomics.compareExchange(w, flag, 1, 0) === 1
    ) {
      futexWake(w, flag);
    }
  }

  /**
   * Stores a position (`head` or `tail`) a peer reads: a plain store where {@linkcode plain}
   * holds and the peer has not asked for ordered ones in the word `ordered`, an atomic one
   * otherwise.
   */
  publish(word: number, value: number, ordered: number): void {
    const w = this.words;
    if (this.plain && w[ordered] === 0) w[word] = value | 0;
    else Atomics.store(w, word, value | 0);
  }

  /** Set once `membarrier` failed: sleeps are then cut short, so a missed wake costs little. */
  #fenceFailed = false;

  /** Wakes the receiver if it sleeps. */
  wakeData(): void {
    this.wake(W_DATA_WAIT);
  }

  /** Wakes sleeping senders if one does and the room it wants is free. */
  wakeSpace(head: number): void {
    const w = this.words;
    if ((this.plain ? w[W_SPACE_WAIT] : Atomics.load(w, W_SPACE_WAIT)) === 0) return;
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
   * A sleeper on one of the flags: it raises the flag (and asks for ordered publication, see
   * {@linkcode Ordering}) before each last try, sleeps in slices of {@linkcode PEER_CHECK_MS},
   * and runs `onSlice` after a slice that ended without a wake-up.
   */
  sleeper(flag: number, raise: () => void, onSlice: () => void, ordering: Ordering): Sleeper {
    // Closed (its memory unmapped): a wait on it is a wait on a closed channel.
    if (this.gone) throw new ClosedError(this.what);
    const inner = futexSleeper(this.words, flag);
    return {
      snapshot: (): number => {
        if (this.gone) return 0;
        raise();
        if (!ordering.request()) this.#fenceFailed = true;
        return 1;
      },
      sleep: async (token: number, deadline: bigint | undefined): Promise<void> => {
        const slice = monotonicNs() + (this.#fenceFailed ? SHORT_SLICE_NS : SLICE_NS);
        await inner.sleep(token, deadline !== undefined && deadline < slice ? deadline : slice);
        if (!this.gone && inner.lastResult !== 0 && monotonicNs() >= slice) onSlice();
      },
      interrupt: (): void => inner.interrupt(),
    };
  }

  /** The synchronous counterpart of {@linkcode Ring.sleeper}, for {@linkcode waitUntilSync}. */
  syncSleeper(
    flag: number,
    raise: () => void,
    onSlice: () => void,
    ordering: Ordering,
  ): SyncSleeper {
    if (this.gone) throw new ClosedError(this.what);
    const words = this.words;
    return {
      snapshot: (): number => {
        raise();
        if (!ordering.request()) this.#fenceFailed = true;
        return 1;
      },
      sleepSync: (token: number, ms: number): void => {
        const slice = this.#fenceFailed ? 1 : PEER_CHECK_MS;
        if (sliceSync(words, flag, token, Math.min(ms, slice)) === "timed-out") onSlice();
      },
    };
  }
}

/**
 * One sleeper's side of the ordering rule (ring.ts, "Ordering"): a peer on x86-64 publishes
 * with plain stores until asked for ordered ones. Before its first sleep, a sleeper asks (its
 * word to 1, then its flag), and fences once with `membarrier`, which makes every plain store
 * the peer made visible here; from then on the peer publishes with ordered stores, so later
 * sleeps need no fence. After {@linkcode Ordering.CALM} messages without a sleep, the sleeper
 * lets the peer go back to plain stores (the next sleep asks, and fences, again).
 */
export class Ordering {
  /** Messages taken or sent without a sleep before plain publication is allowed again. */
  static readonly CALM = 4096;
  readonly #ring: Ring;
  readonly #word: number;
  /** Whether this end asked, and fenced, since it last let go. */
  #asked = false;
  #calm = 0;

  constructor(ring: Ring, word: number) {
    this.#ring = ring;
    this.#word = word;
  }

  /** Whether this end has asked for ordered publication (the fast paths count while it has). */
  get asked(): boolean {
    return this.#asked;
  }

  /**
   * Called after the flag was raised, before the last look: asks for ordered publication and
   * fences, the first time; false when the fence failed (the sleep must then be short).
   */
  request(): boolean {
    this.#calm = 0;
    if (this.#asked || !PLAIN_ORDERING) return true;
    const w = this.#ring.words;
    if (w.length === 0) return true;
    Atomics.store(w, this.#word, 1);
    this.#asked = true;
    return globalFence();
  }

  /** One message without a sleep; after {@linkcode Ordering.CALM} of them, lets the peer go. */
  calm(): void {
    if (++this.#calm < Ordering.CALM) return;
    this.#asked = false;
    this.#calm = 0;
    const w = this.#ring.words;
    if (w.length !== 0) Atomics.store(w, this.#word, 0);
  }

  /** Lets the peer go (an end that detaches). */
  release(): void {
    if (!this.#asked) return;
    this.#asked = false;
    const w = this.#ring.words;
    if (w.length !== 0) Atomics.store(w, this.#word, 0);
  }
}

/**
 * What the ring's ends need of the process expected to attach (a `ChildProcess` of spawn.ts,
 * which the public options take): its pid, and whether it has exited.
 */
export interface ExpectedPeer {
  readonly pid: number;
  tryStatus(): { code: number | null; signal: string | null } | typeof WOULD_BLOCK;
}

/**
 * For an end that waits for its first peer (a receiver before any sender attached, a sender
 * before any receiver): throws ECONNREFUSED once the child expected to be that peer has exited,
 * or TimeoutError once `deadline` (monotonic ns) has passed; returns otherwise.
 *
 * @param child the process expected to attach, if one was named
 * @param deadline the time allowed for a first peer, if one was given
 * @param peer which end is awaited
 * @param what the ring, as messages name it
 */
export function checkFirstPeer(
  child: ExpectedPeer | undefined,
  deadline: bigint | undefined,
  peer: "sender" | "receiver",
  what: string,
): void {
  const status = child?.tryStatus();
  if (child !== undefined && status !== undefined && status !== WOULD_BLOCK) {
    const how = status.signal === null ? `code ${status.code}` : status.signal;
    const call = peer === "sender" ? "receive" : "send";
    throw new ErrnoError(E.ECONNREFUSED, call, {
      action: `${call} (process ${child.pid}, the expected ${peer}, exited with ${how} ` +
        `before any ${peer} attached) ${peer === "sender" ? "from" : "on"}`,
      object: what,
    });
  }
  if (deadline !== undefined && monotonicNs() >= deadline) {
    throw timedOut(`waiting for a first ${peer} on ${what}`);
  }
}

/** What {@linkcode RingChannel.stat} reports. */
export interface RingStats {
  /** Ring size in bytes. */
  capacity: number;
  /** Bytes in use by records not yet received (headers and padding included): tail − head. */
  used: number;
  /** The read position (`out` in the textbook bounded buffer): bytes taken since the channel was made, mod 2³². */
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

/** What {@linkcode RingStats} says of `r`, read from its header words. */
export function ringStats(r: Ring): RingStats {
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

/**
 * A mutex in shared memory that async code in several processes can lock, and that survives
 * the death of its holder: {@linkcode SharedMutex}. With {@linkcode SharedCondition} and
 * {@linkcode Monitor} it completes the classic synchronisation toolbox (mutual exclusion,
 * condition variables, monitors).
 *
 * **Why not a pthread mutex?** glibc's mutexes belong to the *thread* that locked them, and an
 * async FFI call runs on whichever pool thread is free. A lock taken there would be owned by the
 * wrong thread. So this mutex is built on `Atomics` and a shared futex and is owned by the
 * *process*: any async task of the holding process may unlock it through its guard. (For a
 * mutex a C program locks too, see {@linkcode PthreadMutex}.)
 *
 * **Layout** (16 bytes, 4-aligned, all words little-endian `int32`):
 * word 0 is the lock: 0 when free, else the holder's pid, with bit 31 set when someone may be
 * sleeping on it; word 1 the state (0 consistent, 1 inconsistent, 2 not recoverable); word 2
 * the holder's start time (from `/proc/PID/stat`), which tells a reused pid from the holder;
 * word 3 a magic number that marks it initialised.
 *
 * **Owner death.** A holder that dies (SIGKILL, crash, exit without unlocking) leaves its pid in
 * the lock word. A waiter sleeps in slices of {@linkcode OWNER_CHECK_MS} at most; after each, it
 * checks the holder: no `/proc/PID` entry, a zombie, or a different start time means the holder
 * is dead. The waiter then takes the lock over with one compare-and-swap (so only one waiter
 * wins) and its guard says `ownerDied: true`. The protected data may be half-updated: repair
 * it and call `markConsistent()`, or unlock without doing so and the mutex becomes *not
 * recoverable*: every later lock fails with ENOTRECOVERABLE instead of handing out data nobody
 * vouched for (POSIX robust-mutex semantics). A holder is never declared dead while it runs.
 * All processes using a mutex must share a pid namespace (one container), since the pid is how
 * they know each other. Without `/proc`, only a holder whose pid is gone (ESRCH) counts as dead.
 *
 * Waits are cancellable with `{ signal, timeout }` and give nothing up when cancelled: a wait
 * that is aborted has not taken the lock.
 *
 * @example Two tasks, one lock
 * ```ts
 * import { SharedMemory, SharedMutex } from "@dipc/dipc";
 *
 * using shm = SharedMemory.temporary({ size: 64 });
 * const mutex = SharedMutex.init(shm, 0);
 * const counter = shm.int32(16, 1);
 * await Promise.all([1, 2, 3].map(async () => {
 *   using _guard = await mutex.lock({ timeout: 1000 });
 *   const v = counter[0] ?? 0;
 *   await new Promise((r) => setTimeout(r, 1)); // others wait here
 *   counter[0] = v + 1;
 * }));
 * console.log(counter[0]); // 3
 * ```
 *
 * @module
 */

import { E } from "../ffi/constants.ts";
import { monotonicNs } from "../ffi/util.ts";
import { checkInternal, INTERNAL } from "./_internal.ts";
import { ClosedError, ErrnoError } from "./errors.ts";
import type { MappedMemory } from "./mapped_memory.ts";
import { Slot, validateMemory } from "./_slot.ts";
import { me, processGone } from "./_liveness.ts";
import { futexWake } from "./_futex.ts";
import {
  expired,
  futexWaitWithin,
  msLeft,
  sliceSync,
  soonerOf,
  syncDeadlineOf,
  type SyncWaitOptions,
  timedOut,
  waitBoundsOf,
  type WaitOptions,
} from "./_wait.ts";
import { validateInteger, validateOptionKeys, validateOptions } from "./_validate.ts";
import { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
import { TUNING } from "./_tuning.ts";

export type { SyncWaitOptions, WaitOptions } from "./_wait.ts";
export { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";

/** Bytes a {@linkcode SharedMutex} takes in shared memory (align it to 4). */
const MUTEX_SIZE = 16;

/** Bytes a {@linkcode SharedCondition} takes in shared memory (align it to 4). */
const CONDITION_SIZE = 8;

/** A waiter checks whether the holder is still alive after sleeping this long, in ms. */
export const OWNER_CHECK_MS: number = TUNING.mutex.ownerCheckMs;
const OWNER_CHECK_NS = BigInt(OWNER_CHECK_MS * 1e6);

/** What a mutex says of the data it protects. */
export type MutexState = "consistent" | "inconsistent" | "not-recoverable";

const LOCK = 0;
const STATE = 1;
const START = 2;
const MAGIC = 3;
const WAITERS = 0x80000000 | 0;
const PID_MASK = 0x3fffffff;
const MUTEX_MAGIC = 0x6d757478; // "mutx"
const CONDITION_MAGIC = 0x636f6e64; // "cond"
const CONSISTENT = 0;
const INCONSISTENT = 1;
const NOT_RECOVERABLE = 2;
const STATES: readonly MutexState[] = ["consistent", "inconsistent", "not-recoverable"];

/**
 * A condition wait looks at its word this many times (about 50 µs) before sleeping. A notify
 * from a process that is awake lands within that, and a sleep through the wait core costs a kernel
 * wake-up (7-50 µs on small VMs) plus the thread hand-off.
 */
const CONDITION_SPINS = TUNING.mutex.conditionSpins;

/** Looks at the lock this many times before sleeping (a hand-off usually lands within them). */
const SPINS = TUNING.mutex.spins;

/** The lock and start-time words as a holder check saw them. */
interface Look {
  value: number;
  start: number;
}

/**
 * A lock waiter's bookkeeping: the holder is checked only after a slice slept in vain (a live
 * holder wakes its waiters on unlock), and a start time that disagrees must be seen twice.
 */
class Waiter {
  checkHolder = false;
  previous: Look | undefined;

  /** Sets the waiters bit on a held lock; the value to sleep on, or 0 when it came free. */
  next(w: Int32Array): number {
    if (this.checkHolder) {
      this.previous = { value: Atomics.load(w, LOCK), start: Atomics.load(w, START) };
      this.checkHolder = false;
    }
    // Bounded: a word that changes under every try (a peer rewriting it) is slept on as it
    // was last seen, which ends at once (it differs) and is tried again after a yield.
    let v = 0;
    for (let i = 0; i < 1000; i++) {
      v = Atomics.load(w, LOCK);
      if (v === 0 || (v & WAITERS) !== 0) return v;
      if (Atomics.compareExchange(w, LOCK, v, v | WAITERS) === v) return v | WAITERS;
    }
    return v;
  }

  /** Records how a slice ended. */
  slept(result: "ok" | "not-equal" | "timed-out"): void {
    if (result === "timed-out") this.checkHolder = true;
    else this.previous = undefined; // the lock moved: start the holder check afresh
  }
}

/** Module-private access to a mutex's state word and unlock (set in SharedMutex's static block). */
let setMutexState: (mutex: SharedMutex, state: number) => void;
let releaseMutex: (mutex: SharedMutex, keepState?: boolean) => void;
/** Module-private access to a guard (set in MutexGuard's static block). */
let guardedMutex: (guard: MutexGuard) => SharedMutex | undefined;
let noteOwnerDied: (guard: MutexGuard) => void;

/**
 * The guard of a held {@linkcode SharedMutex}: unlock it (or let `using` do it) exactly once.
 *
 * @example Held for a scope; whether the last holder died
 * ```ts
 * import { SharedMemory, SharedMutex } from "@dipc/dipc";
 *
 * using shm = SharedMemory.temporary({ size: 4096 });
 * const mutex = SharedMutex.init(shm, 0);
 * {
 *   using guard = await mutex.lock({ timeout: 1_000 });
 *   console.log(guard.held, guard.ownerDied); // true false
 * }
 * console.log(mutex.holder); // 0: nobody
 * ```
 */
export class MutexGuard implements Disposable {
  #mutex: SharedMutex | undefined;
  #ownerDied: boolean;

  /** @ignore */
  constructor(token: unknown, mutex: SharedMutex, ownerDied: boolean) {
    checkInternal(token, "SharedMutex.lock() / tryLock()");
    this.#mutex = mutex;
    this.#ownerDied = ownerDied;
  }

  /**
   * True when the previous holder died holding the lock: the protected data may be half
   * updated. Repair it, then call {@linkcode MutexGuard.markConsistent}.
   */
  get ownerDied(): boolean {
    return this.#ownerDied;
  }

  /** Whether this guard still holds the lock. */
  get held(): boolean {
    return this.#mutex !== undefined;
  }

  static {
    // For conditions in this module only: which mutex a guard holds, and noting that a
    // condition wait re-took the lock after a holder died.
    guardedMutex = (g): SharedMutex | undefined => g.#mutex;
    noteOwnerDied = (g): void => {
      g.#ownerDied = true;
    };
  }

  /**
   * Declares the protected data repaired after an owner death: the mutex is consistent again.
   *
   * @throws {ClosedError} when this guard no longer holds the lock
   */
  markConsistent(): void {
    setMutexState(this.#held(), CONSISTENT);
    this.#ownerDied = false;
  }

  /**
   * Declares the protected data beyond repair: from now on every lock attempt, in every
   * process, fails with ENOTRECOVERABLE. Unlocks.
   */
  markNotRecoverable(): void {
    setMutexState(this.#held(), NOT_RECOVERABLE);
    this.unlock();
  }

  /**
   * Releases the lock and wakes one waiter; calling it again does nothing. Unlocking after an
   * owner death without `markConsistent()` makes the mutex not recoverable.
   */
  unlock(): void {
    const m = this.#mutex;
    if (m === undefined) return;
    this.#mutex = undefined;
    releaseMutex(m);
  }

  /** Same as `unlock()`. */
  [Symbol.dispose](): void {
    this.unlock();
  }

  #held(): SharedMutex {
    if (this.#mutex === undefined) throw new ClosedError("this mutex guard (already unlocked)");
    return this.#mutex;
  }
}

/**
 * A process-shared, owner-death-aware mutex on a 16-byte block of shared memory.
 *
 * @example One holder at a time
 * ```ts
 * import { SharedMemory, SharedMutex, WOULD_BLOCK } from "@dipc/dipc";
 *
 * using shm = SharedMemory.temporary({ size: 64 });
 * const mutex = SharedMutex.init(shm, 0);
 * using held = mutex.lockSync({ timeout: 1_000 });
 * console.log(mutex.tryLock() === WOULD_BLOCK, mutex.holder === Deno.pid); // true true
 * held.unlock();
 * ```
 */
export class SharedMutex {
  readonly #slot: Slot;
  readonly #words: Int32Array;

  /** @ignore */
  private constructor(token: unknown, slot: Slot) {
    checkInternal(token, "SharedMutex.init/at()");
    this.#slot = slot;
    this.#words = slot.words;
  }

  /**
   * Bytes a mutex placed with {@linkcode SharedMutex.init} takes; align it to 4.
   *
   * @returns 16
   */
  static size(): number {
    return MUTEX_SIZE;
  }

  /**
   * Initialises a mutex, unlocked and consistent, at `offset` of `memory`. Do it once, before
   * other processes use it (they call {@linkcode SharedMutex.at}).
   *
   * @param memory shared memory with {@linkcode SharedMutex.size} bytes at `offset`
   * @param offset a multiple of 4
   * @returns the mutex
   * @throws {TypeError} / {RangeError} for bad memory or offset
   * @throws {ClosedError} when the memory is closed
   */
  static init(memory: MappedMemory, offset: number): SharedMutex {
    const slot = new Slot(memory, offset, MUTEX_SIZE, 4, "mutex");
    const w = slot.words;
    Atomics.store(w, LOCK, 0);
    Atomics.store(w, STATE, CONSISTENT);
    Atomics.store(w, START, 0);
    Atomics.store(w, MAGIC, MUTEX_MAGIC);
    return new SharedMutex(INTERNAL, slot);
  }

  /**
   * Uses the mutex another process initialised at `offset` of `memory`.
   *
   * @param memory the shared memory
   * @param offset a multiple of 4
   * @returns the mutex
   * @throws {TypeError} when no initialised mutex is there
   *
   * @example Attach
   * ```ts
   * import { SharedMemory, SharedMutex } from "@dipc/dipc";
   *
   * using shm = SharedMemory.temporary({ size: 64 });
   * SharedMutex.init(shm, 32);
   * const m = SharedMutex.at(shm, 32);
   * console.log(m.holder, m.state); // 0 "consistent"
   * ```
   */
  static at(memory: MappedMemory, offset: number): SharedMutex {
    return new SharedMutex(
      INTERNAL,
      new Slot(memory, offset, MUTEX_SIZE, 4, "mutex").expectMagic(MAGIC, MUTEX_MAGIC),
    );
  }

  /**
   * Where initialised mutexes are in `memory`: every 4-aligned offset, within the first
   * `maxBytes`, whose magic word says a mutex was initialised there (what `dipc ls` reports).
   * A peer can write the magic anywhere: treat the offsets as candidates, each checked again by
   * {@linkcode SharedMutex.at}.
   *
   * @param memory the shared memory to look through (a read-only mapping will do)
   * @param options `maxBytes` to look at (default 65536)
   * @returns the offsets, in increasing order
   *
   * @example Find the mutex a program put in its memory
   * ```ts
   * import { SharedMemory, SharedMutex } from "@dipc/dipc";
   *
   * using shm = SharedMemory.temporary({ size: 256 });
   * SharedMutex.init(shm, 64);
   * console.log(SharedMutex.find(shm)); // [ 64 ]
   * ```
   */
  static find(memory: MappedMemory, options?: { maxBytes?: number }): number[] {
    const o = validateOptionKeys<{ maxBytes?: number }>(options, ["maxBytes"], "SharedMutex.find");
    const maxBytes = o.maxBytes === undefined
      ? 65536
      : validateInteger(o.maxBytes, "maxBytes", 0, Number.MAX_SAFE_INTEGER);
    validateMemory(memory, "mutex search");
    const n = Math.floor(Math.min(memory.size, maxBytes) / 4);
    const w = memory.read(0, n * 4);
    const words = new Int32Array(w.buffer, 0, n);
    const found: number[] = [];
    for (let i = MAGIC; i < n; i++) {
      if (words[i] === MUTEX_MAGIC) found.push((i - MAGIC) * 4);
    }
    return found;
  }

  /** The holder's pid, or 0 when free. */
  get holder(): number {
    this.#check();
    return Atomics.load(this.#words, LOCK) & PID_MASK;
  }

  /** Whether the protected data is vouched for (see owner death in the module doc). */
  get state(): MutexState {
    this.#check();
    return STATES[Atomics.load(this.#words, STATE)] ?? "not-recoverable";
  }

  /**
   * Takes the lock if it is free now, or if its holder is dead (no such process, or a zombie).
   *
   * @returns the guard, or {@linkcode WOULD_BLOCK} when a live holder has it
   * @throws {ErrnoError} ENOTRECOVERABLE when the mutex was given up after an owner death
   * @throws {ClosedError} when the memory is closed
   */
  tryLock(): MutexGuard | WouldBlock {
    this.#check();
    return this.#attempt(true, false, undefined) ?? WOULD_BLOCK;
  }

  /**
   * Takes the lock, waiting without blocking the event loop: a short spin, then futex sleeps on
   * the wait core of at most {@linkcode OWNER_CHECK_MS}, checking after each one that passes
   * in vain whether the holder died.
   *
   * @param options `timeout` in ms and `signal`
   * @returns the guard; check `ownerDied`
   * @throws {DOMException} TimeoutError when the timeout passes (the lock was not taken)
   * @throws the signal's reason when aborted (the lock was not taken)
   * @throws {ErrnoError} ENOTRECOVERABLE when the mutex was given up after an owner death
   * @throws {ClosedError} when the memory is closed before or during the wait
   */
  async lock(options?: WaitOptions): Promise<MutexGuard> {
    const bounds = waitBoundsOf(options);
    bounds.signal?.throwIfAborted();
    this.#check();
    const once = expired(bounds.deadline);
    for (let i = 0; i < SPINS; i++) {
      const g = this.#attempt(false, false, undefined);
      if (g !== undefined) return g;
      if (once) break;
    }
    const waiter = new Waiter();
    for (;;) {
      const g = this.#attempt(waiter.checkHolder, true, waiter.previous);
      if (g !== undefined) return g;
      const v = waiter.next(this.#words);
      if (v === 0) continue;
      if (expired(bounds.deadline)) throw timedOut(`lock of the ${this.#what}`);
      // A slice of at most OWNER_CHECK_MS, then a look at whether the holder died.
      const slice = soonerOf(bounds, monotonicNs() + OWNER_CHECK_NS);
      waiter.slept(await futexWaitWithin(this.#words, LOCK, v >>> 0, slice));
    }
  }

  /**
   * Takes the lock, blocking this thread while it waits (futex sleeps in slices, as
   * {@linkcode SharedMutex.lock}). For Workers and scripts where blocking is the point.
   *
   * @param options `timeout`: milliseconds at most (default: no limit)
   * @returns the guard
   * @throws {DOMException} TimeoutError when the timeout passes
   */
  lockSync(options?: SyncWaitOptions): MutexGuard {
    const deadline = syncDeadlineOf(options);
    this.#check();
    const once = expired(deadline);
    for (let i = 0; i < SPINS; i++) {
      const g = this.#attempt(false, false, undefined);
      if (g !== undefined) return g;
      if (once) break;
    }
    const waiter = new Waiter();
    for (;;) {
      const g = this.#attempt(waiter.checkHolder, true, waiter.previous);
      if (g !== undefined) return g;
      const v = waiter.next(this.#words);
      if (v === 0) continue;
      const left = msLeft(deadline);
      if (left <= 0) throw timedOut(`lock of the ${this.#what}`);
      waiter.slept(sliceSync(this.#words, LOCK, v, Math.min(left, OWNER_CHECK_MS)));
    }
  }

  get #what(): string {
    return `mutex at offset ${this.#slot.offset}`;
  }

  #check(): void {
    this.#slot.pointer();
  }

  /**
   * One try: take a free lock (keeping the waiters bit for a waiter that slept: others may
   * still sleep), or, when `checkHolder`, take over from a dead holder. `previous` is the lock
   * and start-time words as the last check saw them, a slice ago.
   */
  #attempt(
    checkHolder: boolean,
    asWaiter: boolean,
    previous: Look | undefined,
  ): MutexGuard | undefined {
    const w = this.#words;
    if (w.length === 0) this.#check();
    const { pid, start } = me();
    let v = Atomics.load(w, LOCK);
    if (v === 0) {
      v = Atomics.compareExchange(w, LOCK, 0, asWaiter ? pid | WAITERS : pid);
      if (v === 0) return this.#acquired(start, false);
    }
    if (!checkHolder || v === 0) return undefined;
    const holderStart = Atomics.load(w, START);
    const confirmed = previous !== undefined && previous.value === v &&
      previous.start === holderStart;
    if (!processGone(v & PID_MASK, holderStart, confirmed)) return undefined;
    if (Atomics.compareExchange(w, LOCK, v, pid | (v & WAITERS)) !== v) return undefined;
    return this.#acquired(start, true);
  }

  #acquired(start: number, ownerDied: boolean): MutexGuard {
    const w = this.#words;
    Atomics.store(w, START, start);
    const state = Atomics.load(w, STATE);
    // The state word is a peer's to write: anything but the two recoverable states (a 2, or
    // garbage) is not recoverable, as the `state` getter reports it.
    if (state !== CONSISTENT && state !== INCONSISTENT) {
      this.#release();
      throw new ErrnoError(E.ENOTRECOVERABLE, "lock", {
        action: "lock (a holder died and its data was given up)",
        object: this.#what,
      });
    }
    if (ownerDied) Atomics.store(w, STATE, INCONSISTENT);
    return new MutexGuard(INTERNAL, this, ownerDied || state === INCONSISTENT);
  }

  static {
    // Reachable from this module only (guards and conditions), never from a caller: an unlock
    // or state change needs the guard that holds the lock.
    setMutexState = (m, state): void => m.#setState(state);
    releaseMutex = (m, keepState = false): void => m.#release(keepState);
  }

  /** Sets the state word (the caller holds the lock). */
  #setState(state: number): void {
    this.#check();
    Atomics.store(this.#words, STATE, state);
  }

  /**
   * Frees the lock and wakes a waiter. An unlock leaves an inconsistent mutex not recoverable; a
   * condition wait (`keepState`) leaves the state alone.
   */
  #release(keepState = false): void {
    const w = this.#words;
    if (w.length === 0) return; // the memory is gone, and the lock with it
    if (!keepState && Atomics.load(w, STATE) === INCONSISTENT) {
      Atomics.store(w, STATE, NOT_RECOVERABLE);
    }
    const old = Atomics.exchange(w, LOCK, 0);
    if ((old & WAITERS) !== 0) futexWake(w, LOCK, 1);
  }
}

/**
 * A condition variable in shared memory, used with a {@linkcode SharedMutex}: wait releases the
 * mutex and sleeps until notified, then takes the mutex again before returning, whatever ended
 * the wait. Wake-ups may be spurious: always wait in a loop that re-checks the condition.
 *
 * @example Wait until a flag is set
 * ```ts
 * import { SharedCondition, SharedMemory, SharedMutex } from "@dipc/dipc";
 *
 * using shm = SharedMemory.temporary({ size: 64 });
 * const mutex = SharedMutex.init(shm, 0);
 * const changed = SharedCondition.init(shm, 16);
 * const flag = shm.int32(32, 1);
 * setTimeout(async () => {
 *   using _g = await mutex.lock({ timeout: 1_000 });
 *   flag[0] = 1;
 *   changed.notifyAll();
 * }, 10);
 * using guard = await mutex.lock({ timeout: 1_000 });
 * while (flag[0] === 0) await changed.wait(guard, { timeout: 5_000 });
 * console.log(flag[0]); // 1
 * ```
 */
export class SharedCondition {
  readonly #slot: Slot;
  readonly #words: Int32Array;

  /** @ignore */
  private constructor(token: unknown, slot: Slot) {
    checkInternal(token, "SharedCondition.init/at()");
    this.#slot = slot;
    this.#words = slot.words;
  }

  /**
   * Bytes a condition placed with {@linkcode SharedCondition.init} takes; align it to 4.
   *
   * @returns 8
   */
  static size(): number {
    return CONDITION_SIZE;
  }

  /**
   * Initialises a condition variable at `offset` of `memory` ({@linkcode SharedCondition.size}
   * bytes).
   *
   * @param memory the shared memory
   * @param offset a multiple of 4
   * @returns the condition
   */
  static init(memory: MappedMemory, offset: number): SharedCondition {
    const slot = new Slot(memory, offset, CONDITION_SIZE, 4, "condition");
    Atomics.store(slot.words, 0, 0);
    Atomics.store(slot.words, 1, CONDITION_MAGIC);
    return new SharedCondition(INTERNAL, slot);
  }

  /**
   * Uses the condition variable another process initialised at `offset` of `memory`.
   *
   * @param memory the shared memory
   * @param offset a multiple of 4
   * @returns the condition
   * @throws {TypeError} when no initialised condition is there
   */
  static at(memory: MappedMemory, offset: number): SharedCondition {
    return new SharedCondition(
      INTERNAL,
      new Slot(memory, offset, CONDITION_SIZE, 4, "condition").expectMagic(1, CONDITION_MAGIC),
    );
  }

  /**
   * Releases `guard`'s mutex, sleeps until notified (or the timeout or signal), then takes the
   * mutex again, waiting as long as that takes, before returning or throwing.
   *
   * @param guard the guard of the locked mutex this condition goes with
   * @param options `timeout` in ms and `signal`
   * @throws {DOMException} TimeoutError when the timeout passed (the mutex is held again)
   * @throws the signal's reason when aborted (the mutex is held again)
   * @throws {ClosedError} when the memory is closed
   *
   * @example Wait for a flag
   * ```ts
   * import { SharedCondition, SharedMemory, SharedMutex } from "@dipc/dipc";
   *
   * using shm = SharedMemory.temporary({ size: 64 });
   * const mutex = SharedMutex.init(shm, 0);
   * const ready = SharedCondition.init(shm, 16);
   * const flag = shm.int32(32, 1);
   * setTimeout(async () => {
   *   using _g = await mutex.lock();
   *   flag[0] = 1;
   *   ready.notifyAll();
   * }, 10);
   * using guard = await mutex.lock();
   * while (flag[0] === 0) await ready.wait(guard, { timeout: 5000 });
   * console.log("flag set");
   * ```
   */
  async wait(guard: MutexGuard, options?: WaitOptions): Promise<void> {
    const mutex = this.#mutexOf(guard);
    const opts = waitBoundsOf(options);
    opts.signal?.throwIfAborted();
    const w = this.#words;
    if (w.length === 0) this.#slot.pointer();
    const seq = Atomics.load(w, 0);
    releaseMutex(mutex, true);
    let outcome: unknown;
    let result: "ok" | "not-equal" | "timed-out" = "ok";
    let spun = 0;
    while (spun < CONDITION_SPINS && Atomics.load(w, 0) === seq) spun++;
    if (spun === CONDITION_SPINS) {
      try {
        result = await futexWaitWithin(w, 0, seq >>> 0, opts);
      } catch (e) {
        outcome = e;
      }
    }
    if (result !== "ok" && w.length !== 0 && Atomics.load(w, 0) !== seq) {
      // A notify-one may have picked this waiter as it gave up: hand the wake-up on.
      futexWake(w, 0, 1);
    }
    if (outcome === undefined && result === "timed-out") {
      outcome = timedOut(`wait on the condition at offset ${this.#slot.offset}`);
    }
    const again = await relock(mutex);
    if (again.ownerDied) noteOwnerDied(guard);
    if (outcome !== undefined) throw outcome;
  }

  /**
   * Wakes one waiter, in any process. Call it holding the mutex, after changing the state the
   * waiters test.
   */
  notify(): void {
    this.#slot.pointer();
    Atomics.add(this.#words, 0, 1);
    futexWake(this.#words, 0, 1);
  }

  /** Wakes every waiter, in every process. */
  notifyAll(): void {
    this.#slot.pointer();
    Atomics.add(this.#words, 0, 1);
    futexWake(this.#words, 0);
  }

  #mutexOf(guard: unknown): SharedMutex {
    if (!(guard instanceof MutexGuard)) {
      throw new TypeError("guard must be the MutexGuard of a locked SharedMutex");
    }
    const m = guardedMutex(guard);
    if (m === undefined) {
      throw new TypeError("guard no longer holds its mutex (it was unlocked)");
    }
    return m;
  }
}

/**
 * Takes `mutex` again for a condition wait: no timeout, no abort (the caller must hold it when
 * the wait ends). The caller's guard stands for this hold, so the new guard is dropped without
 * unlocking.
 */
async function relock(mutex: SharedMutex): Promise<{ ownerDied: boolean }> {
  const g = await mutex.lock();
  return { ownerDied: g.ownerDied };
}

/** Options for {@linkcode Monitor.init} and {@linkcode Monitor.at}. */
export interface MonitorOptions<C extends string> {
  /** The names of the monitor's condition variables, e.g. `["notFull", "notEmpty"]`. */
  conditions: readonly C[];
  /** Bytes of shared data the monitor protects (default 0). */
  dataBytes?: number;
}

/** Inside {@linkcode Monitor.enter}: the monitor's data, conditions and owner-death state. */
export interface MonitorScope<C extends string> {
  /** The protected data (zero-copy). */
  readonly data: Uint8Array<ArrayBuffer>;
  /** The protected data as 32-bit words (its byte length rounded down to 4). */
  readonly int32: Int32Array<ArrayBuffer>;
  /** True when a process died inside the monitor: repair the data, then `markConsistent()`. */
  readonly ownerDied: boolean;
  /** Declares the data repaired after an owner death. */
  markConsistent(): void;
  /** Leaves the monitor until `condition` is notified, then re-enters (see SharedCondition). */
  wait(condition: C, options?: WaitOptions): Promise<void>;
  /** Wakes one process waiting on `condition`. */
  notify(condition: C): void;
  /** Wakes every process waiting on `condition`. */
  notifyAll(condition: C): void;
}

/**
 * A monitor (in Hoare's and Brinch Hansen's sense): shared data, the mutex that guards it and
 * named condition variables, laid out together in shared memory, entered through one function so
 * the lock can never be forgotten. Layout: the mutex, then one condition per name, then the data.
 *
 * @example A counter only the monitor touches
 * ```ts
 * import { Monitor, SharedMemory } from "@dipc/dipc";
 *
 * using shm = SharedMemory.temporary({ size: Monitor.size({ conditions: ["changed"], dataBytes: 4 }) });
 * const monitor = Monitor.init(shm, 0, { conditions: ["changed"], dataBytes: 4 });
 * await monitor.enter((m) => {
 *   m.int32[0] = (m.int32[0] ?? 0) + 1;
 *   m.notifyAll("changed");
 * });
 * console.log(await monitor.enter((m) => m.int32[0])); // 1
 * ```
 */
export class Monitor<C extends string> {
  readonly #mutex: SharedMutex;
  readonly #conditions: Map<C, SharedCondition>;
  readonly #memory: MappedMemory;
  readonly #dataOffset: number;
  readonly #dataBytes: number;

  /** @ignore */
  private constructor(
    token: unknown,
    mutex: SharedMutex,
    conditions: Map<C, SharedCondition>,
    memory: MappedMemory,
    dataOffset: number,
    dataBytes: number,
  ) {
    checkInternal(token, "Monitor.init/at()");
    this.#mutex = mutex;
    this.#conditions = conditions;
    this.#memory = memory;
    this.#dataOffset = dataOffset;
    this.#dataBytes = dataBytes;
  }

  /**
   * Bytes a monitor with these conditions and data takes.
   *
   * @param options conditions and dataBytes
   * @returns the size in bytes
   */
  static size<C extends string>(options: MonitorOptions<C>): number {
    const { conditions, dataBytes } = validateMonitorOptions(options);
    return MUTEX_SIZE + conditions.length * CONDITION_SIZE + dataBytes;
  }

  /**
   * Lays out a new monitor at `offset` of `memory`: the mutex, the conditions, zeroed data.
   *
   * @param memory the shared memory
   * @param offset a multiple of 4
   * @param options conditions and dataBytes
   * @returns the monitor
   */
  static init<C extends string>(
    memory: MappedMemory,
    offset: number,
    options: MonitorOptions<C>,
  ): Monitor<C> {
    const monitor = Monitor.#layOut(memory, offset, options, "init");
    memory.bytes.fill(0, monitor.#dataOffset, monitor.#dataOffset + monitor.#dataBytes);
    return monitor;
  }

  /**
   * Uses the monitor another process laid out at `offset` with the same options.
   *
   * @param memory the shared memory
   * @param offset a multiple of 4
   * @param options the conditions and dataBytes it was made with
   * @returns the monitor
   * @throws {TypeError} when no initialised monitor is there
   */
  static at<C extends string>(
    memory: MappedMemory,
    offset: number,
    options: MonitorOptions<C>,
  ): Monitor<C> {
    return Monitor.#layOut(memory, offset, options, "at");
  }

  /** The mutex, then the conditions, then the data: made (`init`) or attached to (`at`). */
  static #layOut<C extends string>(
    memory: MappedMemory,
    offset: number,
    options: MonitorOptions<C>,
    how: "init" | "at",
  ): Monitor<C> {
    const o = validateMonitorOptions<C>(options);
    new Slot(memory, offset, Monitor.size(o), 4, "monitor"); // checks the whole block fits
    const mutex = SharedMutex[how](memory, offset);
    const conditions = new Map<C, SharedCondition>();
    o.conditions.forEach((c, i) => {
      conditions.set(c, SharedCondition[how](memory, offset + MUTEX_SIZE + i * CONDITION_SIZE));
    });
    const dataOffset = offset + MUTEX_SIZE + o.conditions.length * CONDITION_SIZE;
    return new Monitor(INTERNAL, mutex, conditions, memory, dataOffset, o.dataBytes);
  }

  /** The monitor's mutex. */
  get mutex(): SharedMutex {
    return this.#mutex;
  }

  /**
   * Runs `body` inside the monitor: with the lock held, the data at hand and the conditions to
   * wait on. The lock is released when `body` returns or throws.
   *
   * @param body the critical section; may be async and may wait on conditions
   * @param options `timeout` and `signal` for entering
   * @returns what `body` returns
   */
  async enter<T>(
    body: (scope: MonitorScope<C>) => T | Promise<T>,
    options?: WaitOptions,
  ): Promise<T> {
    using guard = await this.#mutex.lock(options);
    const scope: MonitorScope<C> = {
      data: this.#memory.bytes.subarray(this.#dataOffset, this.#dataOffset + this.#dataBytes),
      int32: this.#memory.int32(this.#dataOffset, Math.floor(this.#dataBytes / 4)),
      get ownerDied(): boolean {
        return guard.ownerDied;
      },
      markConsistent: () => guard.markConsistent(),
      wait: (c, opts) => this.#condition(c).wait(guard, opts),
      notify: (c) => this.#condition(c).notify(),
      notifyAll: (c) => this.#condition(c).notifyAll(),
    };
    return await body(scope);
  }

  #condition(name: C): SharedCondition {
    const c = this.#conditions.get(name);
    if (c === undefined) {
      throw new TypeError(
        `the monitor has no condition ${JSON.stringify(name)}; it has ${
          [...this.#conditions.keys()].map((k) => JSON.stringify(k)).join(", ")
        }`,
      );
    }
    return c;
  }
}

function validateMonitorOptions<C extends string>(
  options: unknown,
): { conditions: readonly C[]; dataBytes: number } {
  const o = validateOptions<MonitorOptions<C>>(options);
  if (!Array.isArray(o.conditions)) throw new TypeError("conditions must be an array of names");
  for (const c of o.conditions) {
    if (typeof c !== "string" || c === "") throw new TypeError("condition names must be strings");
  }
  if (new Set(o.conditions).size !== o.conditions.length) {
    throw new TypeError("condition names must differ");
  }
  const dataBytes = o.dataBytes === undefined
    ? 0
    : validateInteger(o.dataBytes, "dataBytes", 0, Number.MAX_SAFE_INTEGER);
  return { conditions: o.conditions, dataBytes };
}

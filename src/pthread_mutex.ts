/**
 * A C-compatible mutex: glibc's own `pthread_mutex_t` in shared memory, initialised
 * `PTHREAD_PROCESS_SHARED` and `PTHREAD_MUTEX_ROBUST` (and error-checking), so that C programs
 * and dipc lock the same mutex (the classic `pthread_mutexattr_setpshared`
 * recipe).
 *
 * **The trade-off.** A pthread mutex is owned by the *thread* that locked it, and glibc checks
 * it: only that thread may unlock, and the kernel's robust list that reports a dead owner is
 * per thread. So every lock here is taken *synchronously on the calling thread*, never on a
 * pool thread: {@linkcode PthreadMutex.lockSync} blocks the thread like C does (fine in a
 * Worker, or for short critical sections), and the async {@linkcode PthreadMutex.lock} tries
 * on this thread between futex sleeps through the wait core, so the event loop keeps running. Unlock
 * from the same thread (the guard does). For locks only Deno processes take, prefer
 * {@linkcode SharedMutex}, which is owned by the process and cheaper to wait on.
 *
 * **Owner death** is the kernel's robust-futex protocol: when a holder dies, the kernel marks
 * the mutex and the next locker gets EOWNERDEAD, reported as `ownerDied: true`. Call
 * `markConsistent()` (`pthread_mutex_consistent`) after repairing the data; unlocking without
 * it leaves the mutex not recoverable (ENOTRECOVERABLE for everyone), as in C.
 *
 * **For fully trusted peers only.** glibc trusts the mutex's memory completely: the lock word,
 * and the robust-list links it keeps inside the mutex, which the kernel follows when the holder
 * exits. A peer that can write the shared memory can therefore make glibc abort this process,
 * hang it in a lock that never comes free, or make the kernel or glibc write through a pointer of
 * the peer's choosing when the holder dies. dipc cannot check any of that without replacing
 * glibc's code. Share a PthreadMutex only with processes you trust as much as your own (for C
 * interop, usually your own programs); with anyone else use {@linkcode SharedMutex}, whose every
 * word dipc checks and which survives garbage (see the README's promises).
 *
 * @example Lock, then unlock with `using`
 * ```ts
 * import { PthreadMutex, SharedMemory, WOULD_BLOCK } from "@dipc/dipc";
 *
 * using shm = SharedMemory.temporary({ size: 64 });
 * const mutex = PthreadMutex.init(shm, 0);
 * {
 *   using guard = mutex.lockSync();
 *   console.log(guard.ownerDied, mutex.tryLock() === WOULD_BLOCK); // false true
 * }
 * using again = await mutex.lock({ timeout: 1000 });
 * console.log(again.held); // true
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man3/pthread_mutexattr_setrobust.3.html}
 * @module
 */

import { CLOCK, E, PTHREAD } from "../ffi/constants.ts";
import { checkInternal, INTERNAL } from "./_internal.ts";
import { libpthread } from "../ffi/load.ts";
import { monotonicNs, writeTimespec } from "../ffi/util.ts";
import { ClosedError, ErrnoError } from "./errors.ts";
import type { MappedMemory } from "./mapped_memory.ts";
import { Slot } from "./_slot.ts";
import {
  expired,
  futexWaitWithin,
  soonerOf,
  syncDeadlineOf,
  type SyncWaitOptions,
  timedOut,
  waitBoundsOf,
  type WaitOptions,
} from "./_wait.ts";
import { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
import { TUNING } from "./_tuning.ts";

export type { SyncWaitOptions, WaitOptions } from "./_wait.ts";
export { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";

/** The robust-futex bits of the lock word (linux/futex.h). */
const FUTEX_WAITERS = 0x80000000 | 0;
/** Spins of the async lock before its first sleep. */
const SPINS = TUNING.pthreadMutex.spins;
/** The async lock re-tries at least this often, in ms, even without a wake-up. */
const SLICE_NS = BigInt(TUNING.pthreadMutex.sliceMs * 1e6);

const deadlineBuf = new BigInt64Array(2);

/** The unlock-side pthread calls a guard makes. */
type PthreadCall = "pthread_mutex_unlock" | "pthread_mutex_consistent";
/** Module-private access to them (set in PthreadMutex's static block). */
let callPthread: (mutex: PthreadMutex, name: PthreadCall, action: string) => void;

/**
 * The guard of a held {@linkcode PthreadMutex}; unlock it on the thread that locked it.
 *
 * @example Held for a scope
 * ```ts
 * import { PthreadMutex, SharedMemory } from "@dipc/dipc";
 *
 * using shm = SharedMemory.temporary({ size: 4096 });
 * const mutex = PthreadMutex.init(shm, 0);
 * {
 *   using guard = mutex.lockSync({ timeout: 1_000 });
 *   console.log(guard.held, guard.ownerDied); // true false
 * }
 * ```
 */
export class PthreadMutexGuard implements Disposable {
  #mutex: PthreadMutex | undefined;
  readonly #ownerDied: boolean;

  /** @ignore */
  constructor(token: unknown, mutex: PthreadMutex, ownerDied: boolean) {
    checkInternal(token, "PthreadMutex.lock() / tryLock()");
    this.#mutex = mutex;
    this.#ownerDied = ownerDied;
  }

  /** True when the previous holder died holding it (EOWNERDEAD): repair, then markConsistent. */
  get ownerDied(): boolean {
    return this.#ownerDied;
  }

  /** Whether this guard still holds the mutex. */
  get held(): boolean {
    return this.#mutex !== undefined;
  }

  /**
   * Declares the data repaired after an owner death (`pthread_mutex_consistent`).
   *
   * @throws {ErrnoError} EINVAL when the mutex is not in the owner-died state
   */
  markConsistent(): void {
    if (this.#mutex === undefined) throw new ClosedError("this mutex guard (already unlocked)");
    callPthread(this.#mutex, "pthread_mutex_consistent", "mark consistent");
  }

  /**
   * Unlocks (`pthread_mutex_unlock`); calling it again does nothing.
   *
   * @throws {ErrnoError} EPERM when called from another thread than the one that locked
   */
  unlock(): void {
    const m = this.#mutex;
    if (m === undefined) return;
    callPthread(m, "pthread_mutex_unlock", "unlock");
    this.#mutex = undefined;
  }

  /** Same as `unlock()`. */
  [Symbol.dispose](): void {
    this.unlock();
  }
}

/**
 * A process-shared, robust `pthread_mutex_t` in shared memory.
 *
 * @example A robust pthread mutex that C programs share
 * ```ts
 * import { PthreadMutex, SharedMemory, WOULD_BLOCK } from "@dipc/dipc";
 *
 * using shm = SharedMemory.temporary({ size: 4096 });
 * const mutex = PthreadMutex.init(shm, 0); // PTHREAD_PROCESS_SHARED, robust
 * const guard = mutex.tryLock();
 * console.log(guard !== WOULD_BLOCK, PthreadMutex.size() > 0); // true true
 * if (guard !== WOULD_BLOCK) guard.unlock();
 * ```
 */
export class PthreadMutex {
  readonly #slot: Slot;

  /** @ignore */
  private constructor(token: unknown, slot: Slot) {
    checkInternal(token, "PthreadMutex.init/at()");
    this.#slot = slot;
  }

  /**
   * Bytes a mutex placed with {@linkcode PthreadMutex.init} takes (`sizeof(pthread_mutex_t)`:
   * 40 on x86_64, 48 on aarch64); align it to 8.
   *
   * @returns the size in bytes
   */
  static size(): number {
    return PTHREAD.MUTEX_SIZE;
  }

  /**
   * Initialises a `pthread_mutex_t` at `offset` of `memory` with `PTHREAD_PROCESS_SHARED`,
   * `PTHREAD_MUTEX_ROBUST` and `PTHREAD_MUTEX_ERRORCHECK` (a relock from the same thread fails
   * with EDEADLK instead of hanging). Do it once; other processes and C programs then use it.
   *
   * @param memory shared memory with {@linkcode PthreadMutex.size} bytes at `offset`
   * @param offset a multiple of 8
   * @returns the mutex
   * @throws {TypeError} / {RangeError} for bad memory or offset
   * @throws {ErrnoError} from `pthread_mutex_init`
   */
  static init(memory: MappedMemory, offset: number): PthreadMutex {
    const slot = new Slot(memory, offset, PTHREAD.MUTEX_SIZE, 8, "pthread mutex");
    const lib = libpthread();
    const attr = new Uint8Array(PTHREAD.MUTEXATTR_SIZE);
    const check = (r: number, call: string): void => {
      if (r !== 0) {
        throw new ErrnoError(r, call, { action: "initialise pthread mutex at", object: offset });
      }
    };
    check(lib.pthread_mutexattr_init(attr), "pthread_mutexattr_init");
    try {
      check(
        lib.pthread_mutexattr_setpshared(attr, PTHREAD.PROCESS_SHARED),
        "pthread_mutexattr_setpshared",
      );
      check(
        lib.pthread_mutexattr_setrobust(attr, PTHREAD.MUTEX_ROBUST),
        "pthread_mutexattr_setrobust",
      );
      check(
        lib.pthread_mutexattr_settype(attr, PTHREAD.MUTEX_ERRORCHECK),
        "pthread_mutexattr_settype",
      );
      check(lib.pthread_mutex_init(slot.pointer(), attr), "pthread_mutex_init");
    } finally {
      lib.pthread_mutexattr_destroy(attr);
    }
    return new PthreadMutex(INTERNAL, slot);
  }

  /**
   * Uses the `pthread_mutex_t` another process (or a C program) initialised at `offset`. It must
   * be process-shared; dipc cannot check that from outside, and a private mutex will not
   * work across processes.
   *
   * @param memory the shared memory
   * @param offset a multiple of 8
   * @returns the mutex
   */
  static at(memory: MappedMemory, offset: number): PthreadMutex {
    return new PthreadMutex(
      INTERNAL,
      new Slot(memory, offset, PTHREAD.MUTEX_SIZE, 8, "pthread mutex"),
    );
  }

  /**
   * Locks if free now (`pthread_mutex_trylock`), or takes it over from a dead owner.
   *
   * @returns the guard, or {@linkcode WOULD_BLOCK} when it is held (by another thread, or by
   *   this one)
   * @throws {ErrnoError} ENOTRECOVERABLE, or EINVAL for memory that holds no mutex
   */
  tryLock(): PthreadMutexGuard | WouldBlock {
    const r = libpthread().pthread_mutex_trylock(this.#slot.pointer());
    // EDEADLK: this thread holds it (another task of this process, in async code): busy too.
    if (r === E.EBUSY || r === E.EDEADLK) return WOULD_BLOCK;
    return this.#guard(r, "pthread_mutex_trylock");
  }

  /**
   * Locks, blocking this thread (`pthread_mutex_lock`, or `pthread_mutex_clocklock` on
   * `CLOCK_MONOTONIC` with a timeout), exactly as C does.
   *
   * @param options `timeout`: milliseconds at most (default: no limit)
   * @returns the guard
   * @throws {DOMException} TimeoutError when the timeout passes
   * @throws {ErrnoError} EDEADLK (this thread holds it), ENOTRECOVERABLE
   */
  lockSync(options?: SyncWaitOptions): PthreadMutexGuard {
    const deadline = syncDeadlineOf(options);
    const lib = libpthread();
    const p = this.#slot.pointer();
    if (deadline === undefined) return this.#guard(lib.pthread_mutex_lock(p), "pthread_mutex_lock");
    writeTimespec(deadlineBuf, deadline);
    const r = lib.pthread_mutex_clocklock(p, CLOCK.MONOTONIC, deadlineBuf);
    if (r === E.ETIMEDOUT) throw timedOut(`lock of the ${this.#what}`);
    return this.#guard(r, "pthread_mutex_clocklock");
  }

  /**
   * Locks without blocking the event loop: tries on this thread, sleeping between tries on the
   * mutex's futex word through the wait core (woken by the holder's unlock, or by the kernel when
   * the holder dies). The lock is always taken on this thread.
   *
   * @param options `timeout` in ms and `signal`
   * @returns the guard
   * @throws {DOMException} TimeoutError when the timeout passes (not locked)
   * @throws the signal's reason when aborted (not locked)
   * @throws {ErrnoError} ENOTRECOVERABLE
   */
  async lock(options?: WaitOptions): Promise<PthreadMutexGuard> {
    const bounds = waitBoundsOf(options);
    bounds.signal?.throwIfAborted();
    const once = expired(bounds.deadline);
    for (let i = 0; i < SPINS; i++) {
      const g = this.tryLock();
      if (g !== WOULD_BLOCK) return g;
      if (once) throw timedOut(`lock of the ${this.#what}`);
    }
    const w = this.#slot.words;
    for (;;) {
      const g = this.tryLock();
      if (g !== WOULD_BLOCK) return g;
      // Ask the holder's unlock to wake us: set FUTEX_WAITERS, as glibc's own waiters do.
      let v = Atomics.load(w, 0);
      if (v !== 0 && (v & FUTEX_WAITERS) === 0) {
        const seen = Atomics.compareExchange(w, 0, v, v | FUTEX_WAITERS);
        v = seen === v ? v | FUTEX_WAITERS : seen;
      }
      if (v === 0) continue;
      if (expired(bounds.deadline)) throw timedOut(`lock of the ${this.#what}`);
      await futexWaitWithin(w, 0, v >>> 0, soonerOf(bounds, monotonicNs() + SLICE_NS));
      if (w.length === 0) this.#slot.pointer();
    }
  }

  get #what(): string {
    return `pthread mutex at offset ${this.#slot.offset}`;
  }

  #guard(r: number, call: string): PthreadMutexGuard {
    if (r === 0) return new PthreadMutexGuard(INTERNAL, this, false);
    if (r === E.EOWNERDEAD) return new PthreadMutexGuard(INTERNAL, this, true);
    throw new ErrnoError(r, call, { action: "lock", object: this.#what });
  }

  static {
    // For guards only: a caller unlocks through the guard that holds the lock.
    callPthread = (m, name, action): void => m.#call(name, action);
  }

  /** Calls an unlock-side pthread function on the mutex; throws its error number. */
  #call(name: PthreadCall, action: string): void {
    const r = libpthread()[name](this.#slot.pointer());
    if (r !== 0) throw new ErrnoError(r, name, { action, object: this.#what });
  }
}

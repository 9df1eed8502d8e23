/**
 * POSIX semaphores shared between processes: named ones (`sem_open`, visible as
 * `/dev/shm/sem.NAME`) and unnamed ones living in shared memory (`sem_init` with `pshared`).
 * They are glibc's own `sem_t`, so a C program calling `sem_wait`/`sem_post` on the same
 * semaphore interoperates.
 *
 * A semaphore counts units: {@linkcode Semaphore.post} adds one, a wait takes one and sleeps
 * while there is none. With an initial value of 1 it is a binary semaphore (a lock that any
 * process may release); with N it admits N holders at once (a
 * counting semaphore).
 *
 * Units are taken and given with atomics on glibc's 64-bit `sem_t` words (the value, then the
 * count of sleepers; the tests check the layout), exactly as glibc's `sem_trywait`/`sem_post`
 * do, but never by calling them: glibc trusts that memory and aborts the whole process when a
 * peer has scribbled over it, while dipc checks every word it reads (a value above
 * SEM_VALUE_MAX is ErrnoError EPROTO) and bounds every loop.
 *
 * {@linkcode Semaphore.wait} never blocks the event loop: it tries on this thread, spins
 * briefly, then sleeps through the wait core on the semaphore's futex word *without taking a
 * unit there*. Only the try, run on this thread, takes units, so a wait that times out or is
 * aborted has taken nothing. The sleep registers as a sleeper the way glibc's own `sem_wait`
 * does, so `sem_post` from any process wakes it. {@linkcode Semaphore.acquire} returns a permit
 * for `using`, released when the scope ends.
 *
 * Safety: new named semaphores are mode 0600, set exactly (the umask does not apply);
 * `exclusive` creation fails with EEXIST; opening one owned by another user throws
 * {@linkcode ForeignOwnerError} unless `allowForeignOwner` is set. Closing detaches the
 * semaphore's memory before unmapping it: use after close throws {@linkcode ClosedError}.
 *
 * @example At most two holders at once
 * ```ts
 * import { Semaphore } from "@dipc/dipc";
 *
 * using sem = Semaphore.temporary({ value: 2 });
 * {
 *   using a = await sem.acquire();
 *   using b = await sem.acquire();
 *   console.log(sem.value, sem.tryAcquire()); // 0 undefined
 * }
 * console.log(sem.value); // 2: both permits were released
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man7/sem_overview.7.html}
 * @module
 */

import { E, O, PTHREAD, S_IFMT, S_IFREG, STAT } from "../ffi/constants.ts";
import { checkInternal, INTERNAL } from "./_internal.ts";
import { SemaphorePermit } from "./_permit.ts";
import { errno, libc, libpthread } from "../ffi/load.ts";
import { byteLength, cString, OutStruct } from "../ffi/util.ts";
import { futexWake } from "./_futex.ts";
import { ClosedError, ErrnoError } from "./errors.ts";
import { lastError } from "./_errno.ts";
import { Mapping } from "./_mapping.ts";
import type { MappedMemory } from "./mapped_memory.ts";
import { Slot } from "./_slot.ts";
import {
  openNamed,
  type PosixKind,
  temporaryName,
  validateCreateRule,
  validateOpenRule,
} from "./_posix_open.ts";
import { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
import { validateInteger, validateOptionKeys, validatePosixName } from "./_validate.ts";
import {
  futexSleeper,
  type Sleeper,
  sliceSync,
  syncDeadlineOf,
  type SyncSleeper,
  type SyncWaitOptions,
  TIMED_OUT,
  timedOut,
  waitBoundsOf,
  type WaitOptions,
  waitUntil,
  waitUntilSync,
} from "./_wait.ts";
import { TUNING } from "./_tuning.ts";

export { SemaphorePermit } from "./_permit.ts";
export type { SyncWaitOptions, WaitOptions } from "./_wait.ts";
export { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";

/** The largest value a POSIX semaphore holds (`SEM_VALUE_MAX`). */
export const SEM_VALUE_MAX: number = PTHREAD.SEM_VALUE_MAX;

/** Options for {@linkcode Semaphore.open}. */
export interface SemaphoreOpenOptions {
  /** Accept a semaphore owned by another user (off by default: squatting defence). */
  allowForeignOwner?: boolean;
}

/** Options for {@linkcode Semaphore.create}. */
export interface SemaphoreCreateOptions {
  /** Initial value (default 0); an existing one opened with `exclusive: false` keeps its own. */
  value?: number;
  /** Permission bits (default 0o600), applied exactly. */
  mode?: number;
  /** Fail with EEXIST when the name exists (default true); `false` opens the existing one. */
  exclusive?: boolean;
  /** With `exclusive: false`: accept an existing semaphore another user owns. */
  allowForeignOwner?: boolean;
}

/** Options for {@linkcode Semaphore.init}. */
export interface SemaphoreInitOptions {
  /** Initial value (default 0). */
  value?: number;
}

/** A {@linkcode Semaphore} made or opened by name: its `name` is always there. */
export type NamedSemaphore = Semaphore & { readonly name: string };

/** Options for {@linkcode Semaphore.temporary}. */
export interface TemporarySemaphoreOptions {
  /** Initial value (default 0). */
  value?: number;
  /** Permission bits (default 0o600). */
  mode?: number;
  /** Name prefix, without the leading "/" (default "dipc"). */
  prefix?: string;
}

/**
 * Looks this many times before sleeping: a hand-off from another process usually lands within
 * them, and a pool-thread sleep costs more than the spin.
 */
const SPINS = TUNING.semaphore.spins;

/** glibc's 64-bit `sem_t`: the value in word 0, the number of sleepers in word 1. */
const VALUE = 0;
const NWAITERS = 1;
/**
 * Word 2 is the flag glibc XORs into its futex operations: FUTEX_PRIVATE_FLAG (128) for a
 * process-shared semaphore, which cancels the private flag; 0 for a private one.
 */
const PRIVATE = 2;
const SHARED_FLAG = 128;

/** Named semaphores are files `/dev/shm/sem.NAME`: the prefix eats 4 of NAME_MAX's bytes. */
const NAME_ROOM = 251;

const statBuf = new OutStruct(STAT.size);
/** Compare-and-swap tries on the value word before giving up (a peer rewriting it nonstop). */
const CAS_TRIES = TUNING.semaphore.casTries;

/**
 * A POSIX semaphore, named or in shared memory.
 *
 * @see {@link https://man7.org/linux/man-pages/man7/sem_overview.7.html}
 *
 * @example Two slots for three tasks
 * ```ts
 * import { Semaphore } from "@dipc/dipc";
 *
 * using slots = Semaphore.temporary({ value: 2 });
 * let inside = 0;
 * let most = 0;
 * await Promise.all([1, 2, 3].map(async () => {
 *   using _permit = await slots.acquire({ timeout: 5_000 });
 *   most = Math.max(most, ++inside);
 *   await new Promise((r) => setTimeout(r, 5));
 *   inside--;
 * }));
 * console.log(most); // 2
 * ```
 */
export class Semaphore implements Disposable {
  readonly #name: string | undefined;
  readonly #created: boolean;
  readonly #words: Int32Array;
  readonly #mapping: Mapping | undefined;
  readonly #slot: Slot | undefined;
  readonly #pointer: Deno.PointerObject;
  readonly #sleeper: Sleeper;
  #closed = false;
  #unlinkOnClose = false;

  /** @ignore */
  private constructor(
    token: unknown,
    pointer: Deno.PointerObject,
    where: { name: string; created: boolean } | { slot: Slot },
  ) {
    checkInternal(token, "Semaphore.open/temporary/init/at()");
    this.#pointer = pointer;
    if ("slot" in where) {
      this.#name = undefined;
      this.#created = false;
      this.#slot = where.slot;
      this.#mapping = undefined;
      this.#words = where.slot.words;
    } else {
      this.#name = where.name;
      this.#created = where.created;
      this.#slot = undefined;
      this.#mapping = new Mapping(pointer, PTHREAD.SEM_SIZE);
      this.#words = this.#mapping.view(Int32Array);
    }
    this.#sleeper = semaphoreSleeper(this.#words);
  }

  /**
   * Opens the existing named semaphore `name` ("/jobs").
   *
   * @param name "/" followed by up to 250 bytes, with no other "/"
   * @param options allowForeignOwner
   * @returns the open semaphore
   * @throws {TypeError} / {RangeError} for a bad name or option
   * @throws {ErrnoError} ENOENT (no such semaphore), EACCES, EINVAL (its file is not a sem_t)
   * @throws {ForeignOwnerError} when another user owns the semaphore
   * @see {@link https://man7.org/linux/man-pages/man3/sem_open.3.html}
   *
   * @example Create, open by name, remove
   * ```ts
   * import { Semaphore } from "@dipc/dipc";
   *
   * using a = Semaphore.create(`/dipc-doc-${crypto.randomUUID()}`, { value: 1 });
   * using b = Semaphore.open(a.name);
   * console.log(a.created, b.created, b.value); // true false 1
   * a.unlink();
   * ```
   */
  static open(name: string, options?: SemaphoreOpenOptions): NamedSemaphore {
    validateSemaphoreName(name);
    const allowForeign = validateOpenRule(
      validateOptionKeys<SemaphoreOpenOptions>(options, ["allowForeignOwner"], "Semaphore.open"),
    );
    return openNamed(semKind(name, 0), name, undefined, allowForeign, (p, created) => {
      if (!created) checkSemFile(name);
      return new Semaphore(INTERNAL, p, { name, created }) as NamedSemaphore;
    });
  }

  /**
   * Creates the named semaphore `name` with `value` units. By default the name must be new
   * (EEXIST otherwise); `exclusive: false` opens an existing one instead.
   *
   * @param name "/" followed by up to 250 bytes, with no other "/"
   * @param options value, mode, exclusive, allowForeignOwner
   * @returns the open semaphore; `created` says whether this call made it
   * @throws {TypeError} / {RangeError} for a bad name, value, mode or option
   * @throws {ErrnoError} EEXIST (the name exists), EACCES
   * @throws {ForeignOwnerError} with `exclusive: false`, when another user owns it
   * @see {@link https://man7.org/linux/man-pages/man3/sem_open.3.html}
   *
   * @example A binary semaphore by name
   * ```ts
   * import { Semaphore } from "@dipc/dipc";
   *
   * using sem = Semaphore.create(`/dipc-doc-${crypto.randomUUID()}`, { value: 1 });
   * console.log(sem.value); // 1
   * sem.unlink();
   * ```
   */
  static create(name: string, options?: SemaphoreCreateOptions): NamedSemaphore {
    validateSemaphoreName(name);
    const o = validateOptionKeys<SemaphoreCreateOptions>(options, [
      "value",
      "mode",
      "exclusive",
      "allowForeignOwner",
    ], "Semaphore.create");
    const rule = validateCreateRule(o);
    const value = o.value === undefined ? 0 : validateInteger(o.value, "value", 0, SEM_VALUE_MAX);
    return openNamed(semKind(name, value), name, rule, false, (p, created) => {
      if (!created) checkSemFile(name);
      return new Semaphore(INTERNAL, p, { name, created }) as NamedSemaphore;
    });
  }

  /**
   * Creates a named semaphore with a fresh random name (exclusively) that is unlinked when
   * closed or disposed.
   *
   * @param options value, mode, prefix
   * @returns the semaphore; its `name` can be passed to other processes
   * @throws {ErrnoError} as {@linkcode Semaphore.open}
   *
   * @example A temporary binary semaphore
   * ```ts
   * import { Semaphore } from "@dipc/dipc";
   *
   * using sem = Semaphore.temporary({ value: 1 });
   * console.log(sem.tryWait(), sem.tryWait() === WOULD_BLOCK); // undefined true
   * ```
   */
  static temporary(options?: TemporarySemaphoreOptions): NamedSemaphore {
    const o = validateOptionKeys<TemporarySemaphoreOptions>(
      options,
      ["value", "mode", "prefix"],
      "Semaphore.temporary",
    );
    const opts: SemaphoreCreateOptions = {};
    if (o.value !== undefined) opts.value = o.value;
    if (o.mode !== undefined) opts.mode = o.mode;
    const sem = Semaphore.create(temporaryName(o.prefix, "dipc"), opts);
    sem.#unlinkOnClose = true;
    return sem;
  }

  /**
   * Removes the named semaphore `name`. Processes that have it open keep using it.
   *
   * @param name the semaphore's name
   * @throws {ErrnoError} ENOENT (no such semaphore), EACCES
   * @see {@link https://man7.org/linux/man-pages/man3/sem_unlink.3.html}
   *
   * @example Remove by name
   * ```ts
   * import { Semaphore } from "@dipc/dipc";
   *
   * const name = `/dipc-doc-${crypto.randomUUID()}`;
   * Semaphore.create(name).close();
   * Semaphore.unlink(name);
   * ```
   */
  static unlink(name: string): void {
    validatePosixName(name);
    if (libpthread().sem_unlink(cString(name)) !== 0) {
      throw lastError("sem_unlink", "unlink semaphore", name);
    }
  }

  /**
   * Initialises an unnamed, process-shared semaphore (`sem_init` with `pshared` 1) at
   * `offset` in shared memory. Do it once, before other processes use it; they attach with
   * {@linkcode Semaphore.at}.
   *
   * @param memory the shared memory to hold it ({@linkcode Semaphore.size} bytes)
   * @param offset its byte offset, a multiple of 8
   * @param options `value`: the initial value (default 0)
   * @returns the semaphore
   * @throws {TypeError} / {RangeError} for bad memory, offset or value
   * @throws {ClosedError} when the memory is closed
   * @see {@link https://man7.org/linux/man-pages/man3/sem_init.3.html}
   *
   * @example A semaphore inside shared memory
   * ```ts
   * import { Semaphore, SharedMemory } from "@dipc/dipc";
   *
   * using shm = SharedMemory.temporary({ size: 64 });
   * using sem = Semaphore.init(shm, 0, { value: 3 });
   * using again = Semaphore.at(shm, 0); // as another process would
   * console.log(again.value); // 3
   * ```
   */
  static init(memory: MappedMemory, offset: number, options?: SemaphoreInitOptions): Semaphore {
    const slot = new Slot(memory, offset, PTHREAD.SEM_SIZE, 8, "semaphore");
    const o = validateOptionKeys<SemaphoreInitOptions>(options, ["value"], "Semaphore.init");
    const value = o.value === undefined ? 0 : validateInteger(o.value, "value", 0, SEM_VALUE_MAX);
    const p = slot.pointer();
    if (libpthread().sem_init(p, 1, value) !== 0) {
      throw lastError("sem_init", "initialise semaphore at offset", offset);
    }
    return new Semaphore(INTERNAL, p, { slot });
  }

  /**
   * Uses the unnamed semaphore that another process (or C program) initialised at `offset`.
   *
   * @param memory the shared memory holding it
   * @param offset its byte offset, a multiple of 8
   * @returns the semaphore
   * @throws {TypeError} for a semaphore that is not process-shared (`pshared` 0)
   * @throws {RangeError} / {ClosedError} as {@linkcode Semaphore.init}
   *
   * @example Attach
   * ```ts
   * import { Semaphore, SharedMemory } from "@dipc/dipc";
   *
   * using shm = SharedMemory.temporary({ size: 64 });
   * Semaphore.init(shm, 32, { value: 1 }).close();
   * using sem = Semaphore.at(shm, 32);
   * console.log(sem.value); // 1
   * ```
   */
  static at(memory: MappedMemory, offset: number): Semaphore {
    const slot = new Slot(memory, offset, PTHREAD.SEM_SIZE, 8, "semaphore");
    if (Atomics.load(slot.words, PRIVATE) !== SHARED_FLAG) {
      throw new TypeError(
        `the semaphore at offset ${offset} is not process-shared (sem_init with pshared 0)`,
      );
    }
    return new Semaphore(INTERNAL, slot.pointer(), { slot });
  }

  /**
   * Bytes a semaphore placed with {@linkcode Semaphore.init} takes (`sizeof(sem_t)`); align it
   * to 8.
   *
   * @returns 32 on Linux
   */
  static size(): number {
    return PTHREAD.SEM_SIZE;
  }

  /**
   * The name of a named semaphore (`create`, `open` and `temporary` return
   * {@linkcode NamedSemaphore}, where it is always a string); undefined for one in shared memory.
   */
  get name(): string | undefined {
    return this.#name;
  }

  /** Whether this handle created the named semaphore. */
  get created(): boolean {
    return this.#created;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  get #description(): string {
    return this.#name === undefined
      ? `semaphore at offset ${this.#slot?.offset}`
      : `semaphore ${JSON.stringify(this.#name)}`;
  }

  #ptr(): Deno.PointerObject {
    if (this.#closed) throw new ClosedError(this.#description);
    if (this.#words.length === 0) throw new ClosedError(`the memory of the ${this.#description}`);
    return this.#pointer;
  }

  /**
   * The current value (as `sem_getvalue`): how many units are free. 0 when some are waiting.
   *
   * @throws {ClosedError} after close
   */
  get value(): number {
    this.#ptr();
    return this.#load();
  }

  /*
   * The unit count is taken and given with Atomics on glibc's own words (value, then the
   * number of sleepers), never with sem_post/sem_trywait/sem_wait: glibc trusts the semaphore's
   * memory and aborts the whole process ("The futex facility returned an unexpected error
   * code") when a peer has written garbage into it. Every loop here is bounded.
   */

  /** The value word, checked: a negative one (above SEM_VALUE_MAX) was written by a peer. */
  #load(): number {
    const v = Atomics.load(this.#words, VALUE);
    if (v < 0) {
      throw new ErrnoError(E.EPROTO, "sem", {
        action: "use",
        object: this.#description,
        detail: `its value word holds ${v >>> 0}, above SEM_VALUE_MAX`,
      });
    }
    return v;
  }

  /** Adds `delta` (+1 or −1) to the value if it stays in 0..SEM_VALUE_MAX; false if not. */
  #change(delta: 1 | -1): boolean {
    const w = this.#words;
    for (let i = 0; i < CAS_TRIES; i++) {
      const v = this.#load();
      if (v + delta < 0 || v + delta > SEM_VALUE_MAX) return false;
      if (Atomics.compareExchange(w, VALUE, v, v + delta) === v) return true;
    }
    throw new ErrnoError(E.EBUSY, "sem", {
      action: "change",
      object: this.#description,
      detail: `its value changed under ${CAS_TRIES} tries in a row`,
    });
  }

  /**
   * Adds a unit and wakes one waiter (as `sem_post`), in any process.
   *
   * @throws {ErrnoError} EOVERFLOW when the value is already {@linkcode SEM_VALUE_MAX}
   * @throws {ClosedError} after close
   */
  post(): void {
    this.#ptr();
    if (!this.#change(1)) {
      throw new ErrnoError(E.EOVERFLOW, "sem_post", { action: "post", object: this.#description });
    }
    // As sem_post: wake one sleeper when any sleeps (sleepers count themselves first).
    if (Atomics.load(this.#words, NWAITERS) !== 0) futexWake(this.#words, VALUE, 1);
  }

  /**
   * Takes a unit if one is free now (as `sem_trywait`).
   *
   * @returns undefined when a unit was taken, {@linkcode WOULD_BLOCK} when none is free
   * @throws {ClosedError} after close
   */
  tryWait(): undefined | WouldBlock {
    this.#ptr();
    return this.#change(-1) ? undefined : WOULD_BLOCK;
  }

  /** One try for the waits: a unit, or WOULD_BLOCK; ClosedError once closed. */
  readonly #take = (): true | WouldBlock => {
    this.#ptr();
    return this.#change(-1) ? true : WOULD_BLOCK;
  };

  /**
   * Takes a unit, waiting without blocking the event loop while there is none.
   *
   * @param options `timeout` in ms and `signal`
   * @throws {DOMException} TimeoutError when the timeout passes (no unit was taken)
   * @throws the signal's reason when aborted (no unit was taken)
   * @throws {ClosedError} when closed before or during the wait
   *
   * @example Wait with a timeout
   * ```ts
   * import { Semaphore } from "@dipc/dipc";
   *
   * using sem = Semaphore.temporary();
   * await sem.wait({ timeout: 10 }).catch((e) => console.log(e.name)); // TimeoutError
   * ```
   */
  async wait(options?: WaitOptions): Promise<void> {
    const opts = waitBoundsOf(options);
    this.#ptr();
    let taken = false;
    try {
      const r = await waitUntil(
        this.#take,
        this.#sleeper,
        opts,
        SPINS,
      );
      if (this.#closed) throw new ClosedError(this.#description);
      if (r === TIMED_OUT) throw timedOut(`wait on ${this.#description}`);
      taken = true;
    } finally {
      // A wake-up that sem_post meant for one sleeper may have ended this wait just as it was
      // cancelled: pass it on, so a sleeper elsewhere does not keep sleeping on a free unit.
      if (!taken && this.#words.length !== 0 && Atomics.load(this.#words, VALUE) > 0) {
        futexWake(this.#words, VALUE, 1);
      }
    }
  }

  /**
   * Takes a unit, blocking this thread while there is none (as `sem_clockwait` on
   * `CLOCK_MONOTONIC`). For Workers and scripts where blocking is the point.
   *
   * @param options `timeout`: milliseconds at most (default: no limit)
   * @throws {DOMException} `TimeoutError` when the timeout passes (no unit was taken)
   * @throws {ClosedError} after close
   *
   * @example Block for a unit
   * ```ts
   * import { Semaphore } from "@dipc/dipc";
   *
   * using sem = Semaphore.temporary({ value: 1 });
   * sem.waitSync({ timeout: 1000 });
   * console.log(sem.value); // 0
   * ```
   */
  waitSync(options?: SyncWaitOptions): void {
    const deadline = syncDeadlineOf(options);
    this.#ptr();
    const r = waitUntilSync(
      this.#take,
      this.#syncSleeper,
      deadline,
      SPINS,
    );
    if (this.#closed) throw new ClosedError(this.#description);
    if (r === TIMED_OUT) throw timedOut(`wait on ${this.#description}`);
  }

  /** glibc's sleeping protocol: count this sleeper, look again, sleep while the value is 0. */
  readonly #syncSleeper: SyncSleeper = {
    snapshot: () => 0,
    sleepSync: (_token: number, ms: number): void => {
      const w = this.#words;
      if (w.length === 0) return;
      Atomics.add(w, NWAITERS, 1);
      try {
        if (this.#load() === 0) sliceSync(w, VALUE, 0, ms);
      } finally {
        if (w.length !== 0) Atomics.sub(w, NWAITERS, 1);
      }
    },
  };

  /**
   * Takes a unit as a permit that gives it back when released or disposed.
   *
   * @param options `timeout` in ms and `signal`, as {@linkcode Semaphore.wait}
   * @returns the permit
   *
   * @example A critical section
   * ```ts
   * import { Semaphore } from "@dipc/dipc";
   *
   * using sem = Semaphore.temporary({ value: 1 });
   * {
   *   using _permit = await sem.acquire({ timeout: 1000 });
   *   // only one process at a time runs here
   * }
   * ```
   */
  async acquire(options?: WaitOptions): Promise<SemaphorePermit> {
    await this.wait(options);
    return new SemaphorePermit(INTERNAL, () => this.post());
  }

  /**
   * Takes a unit now as a permit.
   *
   * @returns the permit, or {@linkcode WOULD_BLOCK} when no unit is free
   * @throws {ClosedError} after close
   */
  tryAcquire(): SemaphorePermit | WouldBlock {
    this.#ptr();
    return this.#change(-1) ? new SemaphorePermit(INTERNAL, () => this.post()) : WOULD_BLOCK;
  }

  /**
   * Removes this named semaphore's name; it lives on while open.
   *
   * @throws {TypeError} for a semaphore in shared memory (it has no name)
   * @throws {ErrnoError} ENOENT when the name is already gone
   */
  unlink(): void {
    if (this.#name === undefined) throw new TypeError("a semaphore in shared memory has no name");
    Semaphore.unlink(this.#name);
    this.#unlinkOnClose = false;
  }

  /**
   * Closes the handle (`sem_close` for a named semaphore, after detaching its memory; nothing
   * for one in shared memory, which lives as long as that memory). Pending waits end with
   * {@linkcode ClosedError}. Calling it again does nothing. The semaphore itself lives on in
   * the system until unlinked (a temporary one is unlinked here).
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#sleeper.interrupt();
    if (this.#mapping !== undefined) {
      this.#mapping.detach();
      libpthread().sem_close(this.#pointer);
    }
    if (this.#unlinkOnClose && this.#name !== undefined) {
      libpthread().sem_unlink(cString(this.#name));
    }
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Checks a named semaphore's name: a POSIX name short enough for its `/dev/shm/sem.` file. */
function validateSemaphoreName(name: unknown): void {
  validatePosixName(name);
  if (byteLength(name as string) > NAME_ROOM) {
    throw new RangeError(`a semaphore name is at most ${NAME_ROOM} bytes long`);
  }
}

/** The file behind a named semaphore, `/dev/shm/sem.NAME`. */
function semFile(name: string): Uint8Array {
  return cString(`/dev/shm/sem.${name.slice(1)}`);
}

/** How named semaphores open, by the one POSIX open protocol (src/_posix_open.ts). */
function semKind(name: string, value: number): PosixKind<Deno.PointerObject> {
  const cname = cString(name);
  const file = semFile(name);
  return {
    what: "semaphore",
    syscall: "sem_open",
    open: (extra, mode) => libpthread().sem_open(cname, O.RDWR | extra, mode, value),
    close: (p) => void libpthread().sem_close(p),
    unlink: () => void libpthread().sem_unlink(cname),
    // sem_open applies the umask: set the mode exactly, as for every dipc object.
    setMode: (_p, mode) => libc().chmod(file, mode) === 0 ? 0 : errno(),
    owner: () => {
      if (libc().lstat(file, statBuf.clear().bytes) !== 0) {
        throw lastError("lstat", "check semaphore", name);
      }
      return statBuf.u32(STAT.st_uid);
    },
  };
}

/**
 * glibc maps whatever file is there: one shorter than a sem_t (an empty file a peer left) would
 * kill the process with SIGBUS on the first look at the value. Throws EINVAL for such a file.
 */
function checkSemFile(name: string): void {
  if (libc().lstat(semFile(name), statBuf.clear().bytes) !== 0) {
    throw lastError("lstat", "check semaphore", name);
  }
  const size = statBuf.u64(STAT.st_size);
  const regular = (statBuf.u32(STAT.st_mode) & S_IFMT) === S_IFREG;
  if (!regular || size < PTHREAD.SEM_SIZE) {
    throw new ErrnoError(E.EINVAL, "sem_open", {
      action: "open semaphore",
      object: name,
      detail: regular
        ? `its file holds ${size} bytes, less than a sem_t (${PTHREAD.SEM_SIZE})`
        : "its file is not a regular file",
    });
  }
}

/**
 * Sleeps on the semaphore's value word while it is 0, registered in the waiter count exactly
 * as glibc's `sem_wait` registers, so that `sem_post` issues a futex wake. The sleep takes
 * nothing: the caller's `sem_trywait` does.
 */
function semaphoreSleeper(words: Int32Array): Sleeper {
  const inner = futexSleeper(words, VALUE);
  return {
    snapshot: () => words.length === 0 ? 0 : inner.snapshot(),
    async sleep(token: number, deadline: bigint | undefined): Promise<void> {
      if (words.length === 0) return;
      Atomics.add(words, NWAITERS, 1);
      try {
        await inner.sleep(token, deadline);
      } finally {
        if (words.length !== 0) Atomics.sub(words, NWAITERS, 1);
      }
    },
    interrupt: () => inner.interrupt(),
  };
}

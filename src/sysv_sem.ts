/**
 * System V semaphore sets: arrays of counters found by a numeric key (from {@linkcode ftok}, an
 * agreed number, or {@linkcode IPC_PRIVATE}), changed by `semop` calls that apply several
 * operations to several semaphores *atomically*: all of them happen, or none does and the call
 * waits. An operation adds to a semaphore (`op > 0`), takes from it, waiting while the value is
 * too small (`op < 0`), or waits until it is zero (`op === 0`).
 *
 * `undo: true` on an operation (`SEM_UNDO`) makes the kernel reverse it when this process
 * exits, however it exits: a process killed while holding a semaphore gives it back. That is
 * System V's answer to owner death, and POSIX semaphores have nothing like it.
 *
 * **Safe initialisation.** `semget` creates a set with every value 0, and setting the values is
 * a second call: a process that opens the set between the two sees it uninitialised (the classic
 * race, Stevens, UNP vol. 2 §11.2). dipc's creator makes the set exclusively, sets the values,
 * then runs one `semop` (+1 and −1 on semaphore 0, a net change of nothing). The kernel sets
 * `sem_otime` on the first `semop` only, so an opener that did not create the set waits until
 * `sem_otime` is not 0 before using it: the set it gets is always initialised. Sets made by
 * programs without that handshake (`ipcmk -S`, Python's sysv_ipc, plain C) are never operated on
 * until used, so the wait applies only to a *young* set: one changed less than `readyTimeout` ms
 * (plus a second, as `sem_ctime` counts whole seconds) ago. An older one, or a young one once
 * that time has passed (a creator that died mid-way, or one of those programs), is taken as it
 * is: open never throws a timeout for it.
 *
 * Waits: every operation has a synchronous `try` form (`IPC_NOWAIT`), an async form taking
 * `{ signal, timeout }`, and a blocking `opSync` (`semtimedop` on this thread, as C does). System
 * V semaphores cannot be polled, so the async form tries on this thread (spinning about 100 µs),
 * then blocks in `semop` on a kernel-waiter thread of its own (src/_kernel_wait.ts, one per set
 * and set of operations), as a C process would, so it gets its turn against C and Python waiters.
 * Cancelling interrupts that `semop` (EINTR, nothing changed); operations it applied just before
 * are undone at once, so a cancelled wait has changed nothing. Past the kernel-waiter limit it
 * tries again after sleeps of 50 µs doubling to 2 ms.
 *
 * @example Take two resources at once, or neither
 * ```ts
 * import { SysVSemaphoreSet } from "@dipc/dipc";
 *
 * using set = SysVSemaphoreSet.temporary({ count: 2, initial: [1, 1] });
 * await set.op([{ index: 0, op: -1 }, { index: 1, op: -1 }], { timeout: 1000 });
 * console.log(set.getAll()); // [0, 0]
 * console.log(set.tryOp([{ index: 0, op: -1 }])); // false: nothing free
 * set.op([{ index: 0, op: 1 }, { index: 1, op: 1 }]);
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man7/sysvipc.7.html}
 * @module
 */

import { E, IPC, SEM, SEMBUF, SEMID_DS, TIMESPEC } from "../ffi/constants.ts";
import { checkInternal, INTERNAL } from "./_internal.ts";
import { errnoOfTry, libc } from "../ffi/load.ts";
import { monotonicNs, OutStruct, readProcNumbers, writeTimespec } from "../ffi/util.ts";
import { ClosedError, ErrnoError } from "./errors.ts";
import { lastError } from "./_errno.ts";
import { SemaphorePermit } from "./_permit.ts";
import { type Backoff, FdSleeper } from "./_fd.ts";
import { KernelWaiter, RETRY, waitFair } from "./_kernel_wait.ts";
import { IPC_PRIVATE, type IpcPermissions } from "./sysv_key.ts";
import {
  getSysVId,
  identityOfId,
  readIpcPerm,
  removeSysVId,
  seconds,
  SysVIdentity,
  type SysVKind,
  type SysVPermissionChange,
  validateId,
  validateKey,
  writeIpcPerm,
} from "./_sysv.ts";
import {
  describe,
  validateBoolean,
  validateCreateRule,
  validateInteger,
  validateOptionKeys,
  validateOptions,
} from "./_validate.ts";
import { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
import {
  deadlineFor,
  msLeft,
  syncDeadlineOf,
  type SyncWaitOptions,
  TIMED_OUT,
  timedOut,
  validateWaitOptions,
  waitBoundsOf,
  type WaitOptions,
} from "./_wait.ts";
import { TUNING } from "./_tuning.ts";

export type { SyncWaitOptions, WaitOptions } from "./_wait.ts";
export { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";

/** The largest value a System V semaphore holds (`SEMVMX`). */
export const SYSV_SEM_VALUE_MAX: number = SEM.VALUE_MAX;

/** One operation of a `semop` call. */
export interface SemaphoreOperation {
  /** Which semaphore of the set (0-based). */
  index: number;
  /** Add this much (> 0), take this much, waiting while too little is there (< 0), or wait for 0. */
  op: number;
  /** Reverse this operation when the process exits (`SEM_UNDO`). */
  undo?: boolean;
}

/** Options for {@linkcode SysVSemaphoreSet.open} and {@linkcode SysVSemaphoreSet.openId}. */
export interface SysVSemaphoreSetOpenOptions {
  /** Accept a set another user made or owns (off by default: squatting defence). */
  allowForeignOwner?: boolean;
  /**
   * How long, in ms after its last change, a set that was never operated on is waited for
   * (default 1000): a dipc creator operates on it within that. After it (or with `0`) the set is
   * taken as it is, as `ipcmk -S`, sysv_ipc and plain C leave theirs.
   */
  readyTimeout?: number;
}

/** Options for {@linkcode SysVSemaphoreSet.create}. */
export interface SysVSemaphoreSetCreateOptions {
  /** How many semaphores the new set has (an existing one must have at least this many). */
  count: number;
  /** Initial values: one for all, or one per semaphore (default 0). */
  initial?: number | number[];
  /** Permission bits (default 0o600). */
  mode?: number;
  /** Fail with EEXIST when the key has a set (default true); `false` uses that one. */
  exclusive?: boolean;
  /** With `exclusive: false`: accept an existing set another user made or owns. */
  allowForeignOwner?: boolean;
  /** With `exclusive: false`: how long a never-operated existing set is waited for (ms). */
  readyTimeout?: number;
}

/** Options for {@linkcode SysVSemaphoreSet.temporary}. */
export interface TemporarySysVSemaphoreSetOptions {
  /** How many semaphores (default 1). */
  count?: number;
  /** Initial values: one for all, or one per semaphore (default 0). */
  initial?: number | number[];
  /** Permission bits (default 0o600). */
  mode?: number;
}

/** What `IPC_STAT` reports of a set. */
export interface SysVSemaphoreSetStat extends IpcPermissions {
  /** Number of semaphores (`sem_nsems`). */
  count: number;
  /** Last `semop`, or null if none yet (the set is then not initialised). */
  operated: Date | null;
  /** Last change (creation, `IPC_SET`, `SETVAL`/`SETALL`). */
  changed: Date;
}

/** Spins of an async wait before its first sleep (about 100 µs of tries). */
const SPINS = TUNING.sysv.spins;
/** Sleeps between tries: 50 µs, doubling to 2 ms. */
const BACKOFF: Backoff = TUNING.sysv.backoff;

const ds = new OutStruct(SEMID_DS.size);
const timeoutBuf = new BigInt64Array(TIMESPEC.size / 8);

/**
 * `/proc/sys/kernel/sem`: SEMMSL (semaphores a set), SEMMNS, SEMOPM (operations a call), SEMMNI;
 * read once (every `tryOp` checks against it).
 */
let limitsCache: { perSet: number; perCall: number } | undefined;
function limits(): { perSet: number; perCall: number } {
  if (limitsCache === undefined) {
    const [msl, , opm] = readProcNumbers("/proc/sys/kernel/sem");
    limitsCache = {
      perSet: Number.isInteger(msl) && (msl ?? 0) > 0 ? msl as number : 32000,
      perCall: Number.isInteger(opm) && (opm ?? 0) > 0 ? opm as number : 500,
    };
  }
  return limitsCache;
}

/** How sets are got, stat'ed and removed, for the System V identity helper. */
function semKind(count: number): SysVKind<SysVSemaphoreSetStat> {
  return {
    what: "System V semaphore set",
    getCall: "semget",
    ctlCall: "semctl",
    get: (key, flags) => libc().semget(key, count, flags),
    rmid: (id) => libc().semctl_int(id, 0, IPC.RMID, 0) < 0 ? -1 : 0,
    stat: statId,
    set: (id, change) => {
      statId(id);
      writeIpcPerm(ds, SEMID_DS.sem_perm, change);
      if (libc().semctl_ptr(id, 0, IPC.SET, ds.bytes) < 0) {
        throw lastError("semctl", "change System V semaphore set", id);
      }
    },
  };
}
const SEM_KIND = semKind(0);

function statId(id: number): SysVSemaphoreSetStat {
  if (libc().semctl_ptr(id, 0, IPC.STAT, ds.clear().bytes) < 0) {
    throw lastError("semctl", "stat System V semaphore set", id);
  }
  return {
    ...readIpcPerm(ds, SEMID_DS.sem_perm),
    count: ds.u64(SEMID_DS.sem_nsems),
    operated: seconds(ds, SEMID_DS.sem_otime),
    changed: seconds(ds, SEMID_DS.sem_ctime) ?? new Date(0),
  };
}

function validateValue(value: unknown, what: string): number {
  return validateInteger(value, what, 0, SEM.VALUE_MAX);
}

/**
 * A System V semaphore set. The handle holds buffers, not a kernel resource: closing it only
 * ends its use here; {@linkcode SysVSemaphoreSet.remove} removes the set itself.
 *
 * @see {@link https://man7.org/linux/man-pages/man2/semop.2.html}
 *
 * @example Two semaphores changed at once
 * ```ts
 * import { SysVSemaphoreSet } from "@dipc/dipc";
 *
 * using set = SysVSemaphoreSet.temporary({ count: 2, initial: [1, 0] });
 * await set.op([{ index: 0, op: -1 }, { index: 1, op: 1 }], { timeout: 1_000 });
 * console.log(set.getAll()); // [0, 1]
 * ```
 */
export class SysVSemaphoreSet implements Disposable {
  readonly #identity: SysVIdentity<SysVSemaphoreSetStat>;
  readonly #id: number;
  readonly #count: number;
  #closed = false;
  readonly #sleepers = new Set<FdSleeper>();
  readonly #kernels = new Map<string, KernelWaiter<true>>();
  /** A reusable `struct sembuf[]` for the common one-operation call. */
  readonly #one = new OutStruct(SEMBUF.size);

  /** @ignore */
  private constructor(
    token: unknown,
    identity: SysVIdentity<SysVSemaphoreSetStat>,
    count: number,
  ) {
    checkInternal(token, "SysVSemaphoreSet.create/open/openId/temporary()");
    this.#identity = identity;
    this.#id = identity.id;
    this.#count = count;
  }

  /**
   * Uses the existing set of `key`, once its creator has set its values (see `readyTimeout`).
   *
   * @param key a key from {@linkcode ftok} or an agreed number (not IPC_PRIVATE)
   * @param options allowForeignOwner, readyTimeout
   * @returns the set
   * @throws {TypeError} / {RangeError} for a bad key or option
   * @throws {ErrnoError} ENOENT (no set for the key), EACCES
   * @throws {ForeignOwnerError} when another user made or owns the set
   * @see {@link https://man7.org/linux/man-pages/man2/semget.2.html}
   *
   * @example Create by key, get again by key
   * ```ts
   * import { SysVSemaphoreSet } from "@dipc/dipc";
   *
   * const key = 0x7e000000 + Math.floor(Math.random() * 0xffff);
   * using a = SysVSemaphoreSet.create(key, { count: 3, initial: 1 });
   * using b = SysVSemaphoreSet.open(key);
   * console.log(b.count, b.getAll()); // 3 [1, 1, 1]
   * a.remove();
   * ```
   */
  static open(key: number, options?: SysVSemaphoreSetOpenOptions): SysVSemaphoreSet {
    const k = validateKey(key);
    const { allowForeign, readyTimeout } = validateOpen(options);
    const { id } = getSysVId(SEM_KIND, k, undefined, allowForeign);
    const st = awaitInitialised(id, readyTimeout);
    return new SysVSemaphoreSet(INTERNAL, new SysVIdentity(SEM_KIND, id, k, false), st.count);
  }

  /**
   * Creates a set of `count` semaphores for `key` with their `initial` values. By default the
   * key must have no set (EEXIST otherwise); `exclusive: false` uses the existing one instead
   * (it must have at least `count` semaphores). {@linkcode IPC_PRIVATE} always makes a new set.
   *
   * @param key a key from {@linkcode ftok}, an agreed number, or {@linkcode IPC_PRIVATE}
   * @param options count (required), initial, mode, exclusive, allowForeignOwner, readyTimeout
   * @returns the set, initialised; `created` says whether this call made it
   * @throws {TypeError} / {RangeError} for a bad key, count, value, mode or option
   * @throws {ErrnoError} EEXIST (the key has a set), EINVAL (the existing set has fewer than
   *   `count` semaphores), EACCES, ENOSPC (the system's limits)
   * @throws {ForeignOwnerError} with `exclusive: false`, when another user made or owns it
   * @see {@link https://man7.org/linux/man-pages/man2/semget.2.html}
   */
  static create(key: number, options: SysVSemaphoreSetCreateOptions): SysVSemaphoreSet {
    const k = validateKey(key);
    const o = validateOptionKeys<SysVSemaphoreSetCreateOptions>(options, [
      "count",
      "initial",
      "mode",
      "exclusive",
      "allowForeignOwner",
      "readyTimeout",
    ], "SysVSemaphoreSet.create");
    if (o.count === undefined) throw new TypeError("create needs a count");
    const count = validateInteger(o.count, "count", 1, limits().perSet);
    const initial = validateInitial(o.initial, count);
    const rule = validateCreateRule(o);
    const readyTimeout = validateReadyTimeout(o.readyTimeout);
    const { id, created } = getSysVId(semKind(count), k, rule, false);
    if (!created) {
      const st = awaitInitialised(id, readyTimeout);
      return new SysVSemaphoreSet(INTERNAL, new SysVIdentity(SEM_KIND, id, k, false), st.count);
    }
    const set = new SysVSemaphoreSet(INTERNAL, new SysVIdentity(SEM_KIND, id, k, true), count);
    try {
      set.#initialise(initial);
    } catch (e) {
      libc().semctl_int(id, 0, IPC.RMID, 0);
      throw e;
    }
    return set;
  }

  /**
   * Uses the set with id `id` (as `ipcs -s` lists it, or as another process passed it).
   *
   * @param id the semid
   * @param options allowForeignOwner, readyTimeout
   * @returns the set
   * @throws {ErrnoError} EINVAL (no such id), EIDRM (removed), EACCES
   * @throws {ForeignOwnerError} when another user made or owns the set
   *
   * @example By id
   * ```ts
   * import { SysVSemaphoreSet } from "@dipc/dipc";
   *
   * using a = SysVSemaphoreSet.temporary({ count: 1 });
   * using b = SysVSemaphoreSet.openId(a.id);
   * b.post(0);
   * console.log(a.get(0)); // 1
   * ```
   */
  static openId(id: number, options?: SysVSemaphoreSetOpenOptions): SysVSemaphoreSet {
    validateId(id);
    const { allowForeign, readyTimeout } = validateOpen(options);
    const ready = (i: number): SysVSemaphoreSetStat => awaitInitialised(i, readyTimeout);
    const { identity, st } = identityOfId(SEM_KIND, id, allowForeign, ready);
    return new SysVSemaphoreSet(INTERNAL, identity, st.count);
  }

  /**
   * Creates a new `IPC_PRIVATE` set that is removed when this handle is closed or disposed.
   * Other processes use it by {@linkcode SysVSemaphoreSet.id}.
   *
   * @param options count (default 1), initial, mode
   * @returns the set
   * @throws {ErrnoError} ENOSPC (the system's limits)
   *
   * @example A private set of four
   * ```ts
   * import { SysVSemaphoreSet } from "@dipc/dipc";
   *
   * using set = SysVSemaphoreSet.temporary({ count: 4, initial: [1, 2, 3, 4] });
   * console.log(set.getAll()); // [1, 2, 3, 4]
   * ```
   */
  static temporary(options?: TemporarySysVSemaphoreSetOptions): SysVSemaphoreSet {
    const o = validateOptionKeys<TemporarySysVSemaphoreSetOptions>(options, [
      "count",
      "initial",
      "mode",
    ], "SysVSemaphoreSet.temporary");
    const opts: SysVSemaphoreSetCreateOptions = { count: o.count ?? 1 };
    if (o.initial !== undefined) opts.initial = o.initial;
    if (o.mode !== undefined) opts.mode = o.mode;
    const set = SysVSemaphoreSet.create(IPC_PRIVATE, opts);
    set.#identity.removeOnClose = true;
    return set;
  }

  /**
   * Removes the set `id` at once (`IPC_RMID`): waiting processes fail with EIDRM.
   *
   * @param id the semid
   * @throws {ErrnoError} EINVAL (no such id), EPERM (not owner or creator)
   */
  static remove(id: number): void {
    removeSysVId(SEM_KIND, id);
  }

  /**
   * What `IPC_STAT` reports for the set `id`.
   *
   * @param id the semid
   * @returns the set's status
   * @throws {ErrnoError} EINVAL (no such id), EACCES
   */
  static statId(id: number): SysVSemaphoreSetStat {
    return statId(validateId(id));
  }

  /** The system's limits: semaphores a set (SEMMSL) and operations a call (SEMOPM). */
  static get limits(): { perSet: number; perCall: number } {
    return { ...limits() };
  }

  /** The set's id (semid), as `ipcs -s` shows it. */
  get id(): number {
    return this.#id;
  }

  /** The key, unsigned as `ipcs` prints it (0 for `IPC_PRIVATE`). */
  get key(): number {
    return this.#identity.key;
  }

  /** How many semaphores the set has. */
  get count(): number {
    return this.#count;
  }

  /** Whether this handle created the set. */
  get created(): boolean {
    return this.#identity.created;
  }

  /** Whether {@linkcode SysVSemaphoreSet.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError(`System V semaphore set ${this.#id}`);
  }

  #index(index: unknown): number {
    return validateInteger(index, "index", 0, this.#count - 1);
  }

  /**
   * Applies all `operations` at once if they can all proceed now (`semop` with `IPC_NOWAIT`).
   *
   * @param operations up to {@linkcode SysVSemaphoreSet.limits}.perCall operations
   * @returns undefined when applied; {@linkcode WOULD_BLOCK} when one would have had to wait
   *   (nothing was changed)
   * @throws {TypeError} / {RangeError} for bad operations
   * @throws {ErrnoError} ERANGE (a value would pass the maximum), EIDRM/EINVAL (the set was
   *   removed), EACCES
   * @throws {ClosedError} after close
   * @see {@link https://man7.org/linux/man-pages/man2/semop.2.html}
   */
  tryOp(operations: readonly SemaphoreOperation[]): undefined | WouldBlock {
    return this.#semop(this.#encode(operations, true), operations.length) ? undefined : WOULD_BLOCK;
  }

  /**
   * Applies all `operations` at once, waiting (without blocking the event loop) until they can.
   *
   * @param operations the operations
   * @param options `timeout` in ms and `signal`
   * @throws {DOMException} TimeoutError when the timeout passes (nothing was changed)
   * @throws the signal's reason when aborted (nothing was changed)
   * @throws {ErrnoError} EIDRM/EINVAL when the set is removed, ERANGE, EACCES
   * @throws {ClosedError} when closed before or during the wait
   *
   * @example Wait for zero
   * ```ts
   * import { SysVSemaphoreSet } from "@dipc/dipc";
   *
   * using set = SysVSemaphoreSet.temporary({ count: 1, initial: 1 });
   * setTimeout(() => set.tryOp([{ index: 0, op: -1 }]), 10);
   * await set.op([{ index: 0, op: 0 }], { timeout: 1000 }); // returns once the value is 0
   * ```
   */
  async op(operations: readonly SemaphoreOperation[], options?: WaitOptions): Promise<void> {
    const sops = this.#encode(operations, true);
    const opts = waitBoundsOf(options);
    const n = operations.length;
    if (this.#semop(sops, n)) return;
    const sleeper = new FdSleeper(-1, 0, BACKOFF);
    this.#sleepers.add(sleeper);
    try {
      const r = await waitFair(
        () => this.#semop(sops, n) ? true : WOULD_BLOCK,
        () => this.#kernelFor(operations),
        () => true,
        sleeper,
        opts,
        SPINS,
      );
      if (r === TIMED_OUT) throw timedOut(`semop on System V semaphore set ${this.#id}`);
    } finally {
      this.#sleepers.delete(sleeper);
      sleeper.close();
    }
  }

  /**
   * The kernel waiter for one set of operations (src/_kernel_wait.ts): its thread blocks in
   * `semop` as a C process would, so it gets its turn against C and Python waiters. Operations
   * it applied for a wait that had gone are undone at once (the inverse operations, which never
   * block).
   */
  #kernelFor(operations: readonly SemaphoreOperation[]): KernelWaiter<true> {
    const blocking = this.#encode(operations, false);
    const key = blocking.join(",");
    let k = this.#kernels.get(key);
    if (k !== undefined) return k;
    // Waits for zero change nothing: only the other operations are undone.
    const undo = operations.filter((o) => o.op !== 0).map((o) => ({ ...o, op: -o.op }));
    const inverse = undo.length > 0 ? this.#encode(undo, true) : undefined;
    k = new KernelWaiter<true>({
      what: `System V semaphore set ${this.#id}`,
      request: () => ({ op: "sem", id: this.#id, sops: blocking, count: operations.length }),
      settle: (reply): true | typeof RETRY => {
        if (reply.r === 0) return true;
        if (reply.errno === E.EINTR) return RETRY;
        throw this.#error(reply.errno);
      },
      giveBack: (): boolean => {
        if (inverse !== undefined) libc().semop(this.#id, inverse, undo.length);
        return true;
      },
    });
    this.#kernels.set(key, k);
    return k;
  }

  /**
   * Applies all `operations` at once, blocking this thread until they can (`semtimedop`), as a
   * C program would. For Workers and scripts where blocking is the point.
   *
   * @param operations the operations
   * @param options `timeout`: milliseconds at most (default: no limit)
   * @throws {DOMException} `TimeoutError` when the timeout passes (nothing was changed)
   * @throws {ErrnoError} EIDRM when the set is removed, ERANGE, EACCES
   * @throws {ClosedError} after close
   *
   * @example Block until a unit is free
   * ```ts
   * import { SysVSemaphoreSet } from "@dipc/dipc";
   *
   * using set = SysVSemaphoreSet.temporary({ count: 1, initial: 1 });
   * set.opSync([{ index: 0, op: -1 }], { timeout: 1000 });
   * console.log(set.get(0)); // 0
   * ```
   */
  opSync(operations: readonly SemaphoreOperation[], options?: SyncWaitOptions): void {
    const sops = this.#encode(operations, false);
    const deadline = syncDeadlineOf(options);
    this.#assertOpen();
    const expired = (): never => {
      throw timedOut(`semop on System V semaphore set ${this.#id}`);
    };
    const { semtimedop } = libc();
    for (;;) {
      let ts: BigInt64Array | null = null;
      if (deadline !== undefined) {
        const left = deadline - monotonicNs();
        if (left <= 0n) {
          if (this.#semop(this.#encode(operations, true), operations.length)) return;
          expired();
        }
        writeTimespec(timeoutBuf, left); // semtimedop takes a relative timeout
        ts = timeoutBuf;
      }
      if (semtimedop(this.#id, sops, operations.length, ts) === 0) return;
      const e = errnoOfTry();
      if (e === E.EAGAIN) expired();
      if (e !== E.EINTR) throw this.#error(e);
    }
  }

  /**
   * Takes 1 from semaphore `index`, waiting while it is 0 (a P / down / wait operation).
   *
   * @param index which semaphore (default 0)
   * @param options `undo` (reverse on exit), `timeout`, `signal`
   */
  async wait(index = 0, options?: WaitOptions & { undo?: boolean }): Promise<void> {
    const undo = validateBoolean(options?.undo, "undo");
    await this.op([{ index, op: -1, undo }], options); // op reads only signal and timeout
  }

  /**
   * Takes 1 from semaphore `index` if it is above 0 now.
   *
   * @param index which semaphore (default 0)
   * @param options `undo`
   * @returns undefined when taken, {@linkcode WOULD_BLOCK} when it is 0
   */
  tryWait(index = 0, options?: { undo?: boolean }): undefined | WouldBlock {
    const undo = validateBoolean(options?.undo, "undo");
    return this.#single(index, -1, undo, true) ? undefined : WOULD_BLOCK;
  }

  /**
   * Adds 1 to semaphore `index` (a V / up / signal operation).
   *
   * @param index which semaphore (default 0)
   * @param options `undo` (pair it with an `undo` wait)
   * @throws {ErrnoError} ERANGE at the maximum value
   */
  post(index = 0, options?: { undo?: boolean }): void {
    const undo = validateBoolean(options?.undo, "undo");
    this.#single(index, 1, undo, true);
  }

  /**
   * Takes 1 from semaphore `index` with `SEM_UNDO`, as a permit that gives it back when
   * released or disposed, and that the kernel gives back if this process dies first.
   *
   * @param index which semaphore (default 0)
   * @param options `timeout` and `signal`
   * @returns the permit
   *
   * @example A section one process at a time, safe against crashes
   * ```ts
   * import { SysVSemaphoreSet } from "@dipc/dipc";
   *
   * using set = SysVSemaphoreSet.temporary({ count: 1, initial: 1 });
   * {
   *   using _permit = await set.acquire(0, { timeout: 1000 });
   *   console.log(set.get(0)); // 0
   * }
   * console.log(set.get(0)); // 1
   * ```
   */
  async acquire(index = 0, options?: WaitOptions): Promise<SemaphorePermit> {
    await this.wait(index, { ...validateWaitOptions(options), undo: true });
    // +1 with SEM_UNDO too: the two undo adjustments cancel out.
    return new SemaphorePermit(INTERNAL, () => this.#single(index, 1, true, true));
  }

  /**
   * The value of semaphore `index` (`GETVAL`).
   *
   * @param index which semaphore
   * @returns its value
   */
  get(index: number): number {
    return this.#ctl(this.#index(index), SEM.GETVAL, "read semaphore value of");
  }

  /**
   * Sets semaphore `index` to `value` (`SETVAL`); undo records for it are cleared in every
   * process, and waiters that can now proceed do.
   *
   * @param index which semaphore
   * @param value 0..{@linkcode SYSV_SEM_VALUE_MAX}
   */
  set(index: number, value: number): void {
    const i = this.#index(index);
    const v = validateValue(value, "value");
    this.#assertOpen();
    if (libc().semctl_int(this.#id, i, SEM.SETVAL, v) < 0) {
      throw lastError("semctl", "set a semaphore value of System V semaphore set", this.#id);
    }
  }

  /**
   * Every value (`GETALL`).
   *
   * @returns the values, one per semaphore
   */
  getAll(): number[] {
    this.#assertOpen();
    const values = new Uint16Array(this.#count);
    if (libc().semctl_ptr(this.#id, 0, SEM.GETALL, new Uint8Array(values.buffer)) < 0) {
      throw lastError("semctl", "read the values of System V semaphore set", this.#id);
    }
    return Array.from(values);
  }

  /**
   * Sets every value at once (`SETALL`).
   *
   * @param values one per semaphore
   */
  setAll(values: readonly number[]): void {
    const v = validateInitial(values, this.#count);
    this.#assertOpen();
    const buf = Uint16Array.from(v);
    if (libc().semctl_ptr(this.#id, 0, SEM.SETALL, new Uint8Array(buf.buffer)) < 0) {
      throw lastError("semctl", "set the values of System V semaphore set", this.#id);
    }
  }

  /**
   * The pid of the last process that operated on semaphore `index` (`GETPID`), 0 if none.
   *
   * @param index which semaphore
   */
  lastPid(index: number): number {
    return this.#ctl(this.#index(index), SEM.GETPID, "read the last pid of");
  }

  /**
   * How many processes wait for semaphore `index` to increase (`GETNCNT`).
   *
   * @param index which semaphore
   */
  waitingCount(index: number): number {
    return this.#ctl(this.#index(index), SEM.GETNCNT, "count waiters of");
  }

  /**
   * How many processes wait for semaphore `index` to become zero (`GETZCNT`).
   *
   * @param index which semaphore
   */
  zeroWaitingCount(index: number): number {
    return this.#ctl(this.#index(index), SEM.GETZCNT, "count zero-waiters of");
  }

  /**
   * What `IPC_STAT` reports now. Works after close too: the set outlives the handle.
   *
   * @returns the set's status
   * @throws {ErrnoError} EIDRM/EINVAL once the set is removed
   */
  stat(): SysVSemaphoreSetStat {
    return this.#identity.stat();
  }

  /**
   * Changes owner or mode (`IPC_SET`).
   *
   * @param change uid, gid, mode
   * @throws {ErrnoError} EPERM (not owner or creator), EIDRM
   */
  setPermissions(change: SysVPermissionChange): void {
    this.#identity.setPermissions(change);
  }

  /**
   * Removes the set now (`IPC_RMID`); waiters everywhere fail with EIDRM. Works after close too
   * (`using` a handle does not take removal away); a second call does nothing.
   *
   * @throws {ErrnoError} EINVAL (already removed by someone else), EPERM
   */
  remove(): void {
    this.#identity.remove();
  }

  /**
   * Ends this handle's use of the set; pending waits reject with {@linkcode ClosedError}. A
   * temporary set is removed. Calling it again does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#sleepers) s.interrupt();
    for (const k of this.#kernels.values()) {
      k.close(new ClosedError(`System V semaphore set ${this.#id}`));
    }
    this.#identity.closed();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #initialise(initial: number[]): void {
    const { semctl_ptr } = libc();
    const values = Uint16Array.from(initial);
    if (semctl_ptr(this.#id, 0, SEM.SETALL, new Uint8Array(values.buffer)) < 0) {
      throw lastError("semctl", "initialise System V semaphore set", this.#id);
    }
    // One semop with no net effect sets sem_otime: the sign, for openers, that the values are
    // in place. (+1 then −1, or −1 then +1 at the maximum, never waits.)
    const first = (initial[0] ?? 0) < SEM.VALUE_MAX ? 1 : -1;
    const sops = this.#encode([{ index: 0, op: first }, { index: 0, op: -first }], true);
    this.#semop(sops, 2);
  }

  #single(index: number, op: number, undo: boolean, noWait: boolean): boolean {
    const i = this.#index(index);
    const b = this.#one;
    b.setU16(SEMBUF.sem_num, i);
    b.setU16(SEMBUF.sem_op, op & 0xffff);
    b.setU16(SEMBUF.sem_flg, (undo ? SEM.UNDO : 0) | (noWait ? IPC.NOWAIT : 0));
    return this.#semop(b.bytes, 1);
  }

  /** One `semop`: true if applied, false on EAGAIN (IPC_NOWAIT and it would wait). */
  #semop(sops: Uint8Array, n: number): boolean {
    this.#assertOpen();
    const { semop } = libc();
    for (;;) {
      if (semop(this.#id, sops, n) === 0) return true;
      const e = errnoOfTry();
      if (e === E.EAGAIN) return false;
      if (e !== E.EINTR) throw this.#error(e);
    }
  }

  #error(e: number): ErrnoError {
    return new ErrnoError(e, "semop", {
      action: e === E.ERANGE
        ? "add beyond the maximum value (32767) in System V semaphore set"
        : e === E.EFBIG
        ? "operate on a semaphore index beyond System V semaphore set"
        : "operate on System V semaphore set",
      object: this.#id,
    });
  }

  #ctl(index: number, cmd: number, action: string): number {
    this.#assertOpen();
    const r = libc().semctl_int(this.#id, index, cmd, 0);
    if (r < 0) throw lastError("semctl", `${action} System V semaphore set`, this.#id);
    return r;
  }

  /** Checks operations and packs them as `struct sembuf[]`. */
  #encode(operations: unknown, noWait: boolean): Uint8Array<ArrayBuffer> {
    if (!Array.isArray(operations)) {
      throw new TypeError(`operations must be an array, got ${describe(operations)}`);
    }
    const { perCall } = limits();
    if (operations.length === 0) throw new RangeError("operations must not be empty");
    if (operations.length > perCall) {
      throw new RangeError(
        `at most ${perCall} operations a call (/proc/sys/kernel/sem SEMOPM), got ${operations.length}`,
      );
    }
    const out = new OutStruct(SEMBUF.size * operations.length);
    operations.forEach((o: unknown, n: number) => {
      const op = validateOptions<SemaphoreOperation>(o, `operations[${n}]`);
      const i = this.#index(op.index);
      const delta = validateInteger(op.op, `operations[${n}].op`, -SEM.VALUE_MAX, SEM.VALUE_MAX);
      const undo = validateBoolean(op.undo, `operations[${n}].undo`);
      const at = n * SEMBUF.size;
      out.setU16(at + SEMBUF.sem_num, i);
      out.setU16(at + SEMBUF.sem_op, delta & 0xffff);
      out.setU16(at + SEMBUF.sem_flg, (undo ? SEM.UNDO : 0) | (noWait ? IPC.NOWAIT : 0));
    });
    return out.bytes;
  }
}

function validateInitial(initial: unknown, count: number): number[] {
  if (initial === undefined) return new Array(count).fill(0);
  if (typeof initial === "number") return new Array(count).fill(validateValue(initial, "initial"));
  if (!Array.isArray(initial)) {
    throw new TypeError(`initial must be a number or an array, got ${describe(initial)}`);
  }
  if (initial.length !== count) {
    throw new RangeError(`initial has ${initial.length} values for ${count} semaphores`);
  }
  return initial.map((v, i) => validateValue(v, `initial[${i}]`));
}

/** Checks the options of `open` and `openId`. */
function validateOpen(options: unknown): { allowForeign: boolean; readyTimeout: number } {
  const o = validateOptionKeys<SysVSemaphoreSetOpenOptions>(options, [
    "allowForeignOwner",
    "readyTimeout",
  ], "SysVSemaphoreSet.open/openId");
  return {
    allowForeign: validateBoolean(o.allowForeignOwner, "allowForeignOwner"),
    readyTimeout: validateReadyTimeout(o.readyTimeout),
  };
}

function validateReadyTimeout(timeout: unknown): number {
  const t = timeout === undefined ? 1000 : timeout;
  validateWaitOptions({ timeout: t });
  return t as number;
}

const pause = new Uint8Array(0);

/**
 * Waits (blocking, in 1 ms steps) until the set has seen its first `semop`: its creator has set
 * the values. Most sets are ready at the first look.
 */
/**
 * The opening rule for a set this call did not create. A set that was operated on (`sem_otime`
 * set) is ready. One that never was is either a dipc creator's set between `semget` and its
 * first `semop`, or a set made by a program that has no such handshake (`ipcmk -S`, Python's
 * sysv_ipc, most C): it is waited for only while it is *young*, until `timeout` ms after its
 * last change (`sem_ctime`: creation or SETVAL/SETALL; kept in whole seconds, so one more second
 * covers the rounding), and then taken as it is.
 */
function awaitInitialised(id: number, timeout: number): SysVSemaphoreSetStat {
  // The wall clock may jump: this process's own clock bounds the wait as well.
  const limit = deadlineFor(timeout + 1000);
  for (;;) {
    const st = statId(id);
    if (st.operated !== null || timeout === 0) return st;
    const youngUntil = st.changed.getTime() + 1000 + timeout;
    if (Date.now() >= youngUntil || msLeft(limit) <= 0) return st;
    libc().poll(pause, 0, 1);
  }
}

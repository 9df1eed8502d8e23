/**
 * Advisory file locks: the oldest IPC of all, two processes agreeing through a file.
 *
 * A {@linkcode LockFile} is an open file to lock. Two kinds of lock are offered, both owned by
 * the open file description (so a lock is this handle's, not the process's: two handles in one
 * process exclude each other, and a child given the descriptor shares the lock), both released by
 * the kernel when the last descriptor closes, which includes the holder's death:
 *
 * - **open-file-description locks** (`fcntl` `F_OFD_SETLK`): shared (read) or exclusive (write),
 *   on the whole file or a byte range: {@linkcode LockFile.tryLock}, {@linkcode LockFile.lock},
 *   {@linkcode LockFile.lockSync};
 * - **`flock` locks** on the whole file, what `flock(1)` and most scripts use:
 *   {@linkcode LockFile.tryFlock}, {@linkcode LockFile.flock}.
 *
 * {@linkcode FileWatcher} adds change notification (inotify), so a reader of a file another
 * process appends to learns of each write when it happens instead of polling for it.
 *
 * The two kinds of lock do not see each other on Linux. A lock is advisory: it stops only processes that
 * ask for it. Waiting for a lock cannot be polled, so an async wait tries again after sleeps of
 * 50 µs doubling to 2 ms (timed by the wait core, cancellable, holding no thread); `lockSync`
 * without a timeout blocks in the kernel (`F_OFD_SETLKW`) as a C program would.
 *
 * @example Exclusive, then shared
 * ```ts
 * import { LockFile, WOULD_BLOCK } from "@dipc/dipc";
 *
 * const path = await Deno.makeTempFile();
 * using a = LockFile.open(path);
 * using b = LockFile.open(path);
 * {
 *   using _held = await a.lock({ timeout: 1000 }); // exclusive
 *   console.log(b.tryLock({ shared: true }) === WOULD_BLOCK); // true
 * }
 * const shared = b.tryLock({ shared: true });
 * console.log(shared !== WOULD_BLOCK); // true
 * if (shared !== WOULD_BLOCK) shared.unlock();
 * await Deno.remove(path);
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man2/fcntl.2.html}
 * @module
 */

import { E, FLOCK, IN, LOCK, O, S_IFMT, S_IFREG, STAT } from "../ffi/constants.ts";
import { errno, errnoOfTry, libc } from "../ffi/load.ts";
import { cString, OutStruct } from "../ffi/util.ts";
import { ErrnoError, ForeignOwnerError } from "./errors.ts";
import { lastError } from "./_errno.ts";
import { checkInternal, INTERNAL } from "./_internal.ts";
import { checkAdoptable, FdHandle, FdSleeper, releaseWith } from "./_fd.ts";
import { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
import { TUNING } from "./_tuning.ts";
import {
  describe,
  validateBoolean,
  validateInteger,
  validateMode,
  validateOptionKeys,
} from "./_validate.ts";
import {
  type Bounds,
  sliceSync,
  syncDeadlineOf,
  type SyncWaitOptions,
  TIMED_OUT,
  timedOut,
  waitBoundsOf,
  type WaitOptions,
  waitUntil,
  waitUntilSync,
} from "./_wait.ts";

export type { SyncWaitOptions, WaitOptions } from "./_wait.ts";
export { FdHandle } from "./_fd.ts";
export { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";

/** A private word to nap on between tries of a blocking lock with a timeout. */
const PAUSE = new Int32Array(1);

/** What a lock covers and how. */
export interface LockOptions {
  /** A shared (read) lock, which other shared locks may hold too (default: exclusive). */
  shared?: boolean;
  /** The first byte (default 0). */
  start?: number;
  /** How many bytes (default 0: from `start` to the end of the file, however it grows). */
  length?: number;
}

/** Options for {@linkcode LockFile.open}. */
export interface LockFileOptions {
  /** Create the file if it does not exist (default true), with `mode`. */
  create?: boolean;
  /** Permission bits of a new file (default 0o600), applied exactly. */
  mode?: number;
  /**
   * Accept an existing file another user owns (off by default: a lock file somebody else
   * made, say 0666 in a shared directory, lets them hold or fake the lock your processes agree
   * on; ForeignOwnerError unless this is set).
   */
  allowForeignOwner?: boolean;
}

/** Who holds a conflicting lock, as `F_OFD_GETLK` reports it. */
export interface LockHolder {
  /** Whether the conflicting lock is shared. */
  shared: boolean;
  /** Its first byte. */
  start: number;
  /** Its length (0: to the end of the file). */
  length: number;
}

function validateLock(
  options: unknown,
  call: string,
): { type: number; start: number; len: number } {
  const o = validateOptionKeys<LockOptions>(options, ["shared", "start", "length"], call);
  const shared = validateBoolean(o.shared, "shared");
  const start = o.start === undefined
    ? 0
    : validateInteger(o.start, "start", 0, Number.MAX_SAFE_INTEGER);
  const len = o.length === undefined
    ? 0
    : validateInteger(o.length, "length", 0, Number.MAX_SAFE_INTEGER);
  return { type: shared ? LOCK.F_RDLCK : LOCK.F_WRLCK, start, len };
}

/**
 * A held lock: `unlock()` (or `using`) gives it back.
 *
 * @example Given back by its scope
 * ```ts
 * import { LockFile, WOULD_BLOCK } from "@dipc/dipc";
 *
 * const path = await Deno.makeTempFile();
 * using a = LockFile.open(path);
 * using b = LockFile.open(path); // another open file description: a second holder
 * {
 *   using held = await a.lock({ timeout: 1_000 });
 *   console.log(held.held, b.tryLock() === WOULD_BLOCK); // true true
 * }
 * const again = b.tryLock();
 * console.log(again !== WOULD_BLOCK); // true
 * if (again !== WOULD_BLOCK) again.unlock();
 * await Deno.remove(path);
 * ```
 */
export class FileLockGuard implements Disposable {
  #release: (() => void) | undefined;

  /** @ignore made by {@linkcode LockFile}'s lock methods. */
  constructor(token: unknown, release: () => void) {
    checkInternal(token, "LockFile.lock/tryLock/flock/tryFlock()");
    this.#release = release;
  }

  /** Whether the lock is still held through this guard. */
  get held(): boolean {
    return this.#release !== undefined;
  }

  /** Gives the lock back; idempotent. */
  unlock(): void {
    const release = this.#release;
    this.#release = undefined;
    release?.();
  }

  /** Same as `unlock()`. */
  [Symbol.dispose](): void {
    this.unlock();
  }
}

/**
 * An open file to lock. Closing it releases every lock it holds.
 *
 * @example Who holds the lock
 * ```ts
 * import { LockFile } from "@dipc/dipc";
 *
 * const path = await Deno.makeTempFile();
 * using mine = LockFile.open(path);
 * using theirs = LockFile.open(path);
 * using held = mine.lockSync({ shared: true, timeout: 1_000 });
 * console.log(theirs.conflict()?.shared); // true: a shared lock stands in the way of a write lock
 * console.log(theirs.conflict({ shared: true })); // undefined: readers share
 * held.unlock();
 * await Deno.remove(path);
 * ```
 */
export class LockFile extends FdHandle {
  readonly #path: string;
  readonly #flock = new OutStruct(FLOCK.size);
  #sleepers = new Set<FdSleeper>();

  /** @ignore */
  private constructor(token: unknown, fd: number, path: string) {
    checkInternal(token, "LockFile.open/fromFd()");
    super(token, fd, `lock file ${JSON.stringify(path)}`);
    releaseWith(this, () => {
      for (const s of this.#sleepers) s.interrupt();
    });
    this.#path = path;
  }

  /**
   * Opens (by default creating, mode 0600) the file at `path` to lock it.
   *
   * @param path the file (a regular file)
   * @param options `create`, `mode`, `allowForeignOwner`
   * @returns the open file
   * @throws {ErrnoError} ENOENT (without `create`), EACCES, EISDIR
   * @throws {ForeignOwnerError} an existing file another user owns, unless `allowForeignOwner`
   * @throws {TypeError} when `path` is not a regular file
   */
  static open(path: string, options?: LockFileOptions): LockFile {
    if (typeof path !== "string" || path.length === 0 || path.includes("\0")) {
      throw new TypeError(`path must be a non-empty string without NUL, got ${describe(path)}`);
    }
    const o = validateOptionKeys<LockFileOptions>(
      options,
      ["create", "mode", "allowForeignOwner"],
      "LockFile.open",
    );
    const create = o.create === undefined ? true : validateBoolean(o.create, "create");
    const foreign = validateBoolean(o.allowForeignOwner, "allowForeignOwner");
    const mode = o.mode === undefined ? 0o600 : validateMode(o.mode);
    const L = libc();
    const cpath = cString(path);
    let fd = L.open(cpath, O.RDWR | O.CLOEXEC | O.NOFOLLOW | (create ? O.CREAT | O.EXCL : 0), mode);
    const made = fd >= 0 && create;
    if (fd >= 0) {
      if (L.fchmod(fd, mode) !== 0) {
        const e = lastError("fchmod", "set the mode of lock file", path);
        L.close(fd);
        throw e;
      }
    } else if (!create || errno() === E.EEXIST) {
      fd = L.open(cpath, O.RDWR | O.CLOEXEC | O.NOFOLLOW, 0);
    }
    if (fd < 0) throw lastError("open", "open lock file", path);
    const st = new OutStruct(STAT.size);
    if (L.fstat(fd, st.bytes) !== 0 || (st.u32(STAT.st_mode) & S_IFMT) !== S_IFREG) {
      L.close(fd);
      throw new TypeError(`${JSON.stringify(path)} is not a regular file`);
    }
    const owner = st.u32(STAT.st_uid);
    const me = L.geteuid();
    if (!made && !foreign && owner !== me) {
      L.close(fd);
      throw new ForeignOwnerError(path, owner, me);
    }
    return new LockFile(INTERNAL, fd, path);
  }

  /**
   * Adopts an open file descriptor (e.g. one a parent handed down: its locks are then shared
   * with the parent's, being the same open file description).
   *
   * @param fd the descriptor
   * @returns the file
   * @throws {ErrnoError} EBADF
   */
  static fromFd(fd: number): LockFile {
    validateInteger(fd, "fd", 0, 0x7fffffff);
    checkAdoptable(fd, `descriptor ${fd}`);
    const st = new OutStruct(STAT.size);
    if (libc().fstat(fd, st.bytes) !== 0) throw lastError("fstat", "adopt", `descriptor ${fd}`);
    if ((st.u32(STAT.st_mode) & S_IFMT) !== S_IFREG) {
      throw new TypeError(`descriptor ${fd} is not a regular file: only a file can be locked`);
    }
    return new LockFile(INTERNAL, fd, `descriptor ${fd}`);
  }

  /**
   * Takes an open-file-description lock if no conflicting one is held now.
   *
   * @param options `shared`, `start`, `length`
   * @returns the guard, or {@linkcode WOULD_BLOCK}
   * @throws {ErrnoError} EBADF (a shared lock on a file opened without read access), ENOLCK
   * @throws {ClosedError} after close
   */
  tryLock(options?: LockOptions): FileLockGuard | WouldBlock {
    const { type, start, len } = validateLock(options, "LockFile.tryLock");
    return this.#tryOfd(type, start, len);
  }

  /**
   * Takes an open-file-description lock, waiting (cancellable, holding no thread) while a
   * conflicting one is held.
   *
   * @param options `shared`, `start`, `length`, `signal`, `timeout`
   * @returns the guard
   * @throws {DOMException} `TimeoutError` (nothing was taken)
   * @throws the signal's reason when aborted
   * @throws {ClosedError} after close, or when closed during the wait
   */
  async lock(options?: LockOptions & WaitOptions): Promise<FileLockGuard> {
    const o = validateOptionKeys<LockOptions & WaitOptions>(
      options,
      ["shared", "start", "length", "signal", "timeout"],
      "LockFile.lock",
    );
    const { type, start, len } = validateLock(
      { shared: o.shared, start: o.start, length: o.length },
      "LockFile.lock",
    );
    const opts = waitBoundsOf({ signal: o.signal, timeout: o.timeout });
    return await this.#wait(() => this.#tryOfd(type, start, len), opts, "lock");
  }

  /**
   * Takes an open-file-description lock, blocking this thread: in the kernel
   * (`F_OFD_SETLKW`) without a timeout, as C does; trying every millisecond with one.
   *
   * @param options `shared`, `start`, `length`, `timeout`
   * @returns the guard
   * @throws {DOMException} `TimeoutError`
   * @throws {ErrnoError} EDEADLK (the kernel found a deadlock)
   * @throws {ClosedError} after close
   */
  lockSync(options?: LockOptions & SyncWaitOptions): FileLockGuard {
    const o = validateOptionKeys<LockOptions & SyncWaitOptions>(
      options,
      ["shared", "start", "length", "timeout"],
      "LockFile.lockSync",
    );
    const { type, start, len } = validateLock(
      { shared: o.shared, start: o.start, length: o.length },
      "LockFile.lockSync",
    );
    const deadline = syncDeadlineOf({ timeout: o.timeout });
    if (deadline === undefined) {
      const r = this.#ofd(LOCK.F_OFD_SETLKW, type, start, len);
      if (r !== 0) throw this.#error(r, "F_OFD_SETLKW");
      return this.#guard(() => this.#ofd(LOCK.F_OFD_SETLK, LOCK.F_UNLCK, start, len));
    }
    const r = waitUntilSync(
      () => this.#tryOfd(type, start, len),
      {
        snapshot: () => 0,
        sleepSync: (_t, ms) => void sliceSync(PAUSE, 0, 0, Math.min(ms, 1)), // a 1 ms nap
      },
      deadline,
      0,
    );
    if (r === TIMED_OUT) throw timedOut(`lock of ${JSON.stringify(this.#path)}`);
    return r;
  }

  /**
   * Who holds a lock that would conflict with `options` (`F_OFD_GETLK`), if anyone.
   *
   * @param options `shared`, `start`, `length`: the lock you would take
   * @returns the conflicting lock, or undefined when it could be taken now
   * @throws {ClosedError} after close
   */
  conflict(options?: LockOptions): LockHolder | undefined {
    const { type, start, len } = validateLock(options, "LockFile.conflict");
    const fd = this.liveFd();
    const f = this.#fill(type, start, len);
    if (libc().fcntl_lock(fd, LOCK.F_OFD_GETLK, f.bytes) !== 0) {
      throw lastError("fcntl", "test a lock on", this.#path);
    }
    if (f.u16(FLOCK.l_type) === LOCK.F_UNLCK) return undefined;
    return {
      shared: f.u16(FLOCK.l_type) === LOCK.F_RDLCK,
      start: f.u64(FLOCK.l_start),
      length: f.u64(FLOCK.l_len),
    };
  }

  /**
   * Takes a whole-file `flock` lock if no conflicting one is held now.
   *
   * @param options `shared`
   * @returns the guard, or {@linkcode WOULD_BLOCK}
   * @throws {ClosedError} after close
   */
  tryFlock(options?: { shared?: boolean }): FileLockGuard | WouldBlock {
    const o = validateOptionKeys<{ shared?: boolean }>(options, ["shared"], "LockFile.tryFlock");
    return this.#tryFlock(validateBoolean(o.shared, "shared"));
  }

  /**
   * Takes a whole-file `flock` lock, waiting (cancellable) while a conflicting one is held.
   *
   * @param options `shared`, `signal`, `timeout`
   * @returns the guard
   * @throws {DOMException} `TimeoutError`
   * @throws the signal's reason when aborted
   * @throws {ClosedError} after close
   */
  async flock(options?: { shared?: boolean } & WaitOptions): Promise<FileLockGuard> {
    const o = validateOptionKeys<{ shared?: boolean } & WaitOptions>(
      options,
      ["shared", "signal", "timeout"],
      "LockFile.flock",
    );
    const shared = validateBoolean(o.shared, "shared");
    const opts = waitBoundsOf({ signal: o.signal, timeout: o.timeout });
    return await this.#wait(() => this.#tryFlock(shared), opts, "flock");
  }

  async #wait(
    attempt: () => FileLockGuard | WouldBlock,
    opts: Bounds,
    what: string,
  ): Promise<FileLockGuard> {
    const sleeper = new FdSleeper(-1, 0, TUNING.sysv.backoff);
    this.#sleepers.add(sleeper);
    try {
      const r = await waitUntil(attempt, sleeper, opts, 0);
      if (r === TIMED_OUT) throw timedOut(`${what} of ${JSON.stringify(this.#path)}`);
      return r;
    } finally {
      this.#sleepers.delete(sleeper);
    }
  }

  #tryOfd(type: number, start: number, len: number): FileLockGuard | WouldBlock {
    const r = this.#ofd(LOCK.F_OFD_SETLK, type, start, len);
    if (r === E.EAGAIN || r === E.EACCES) return WOULD_BLOCK;
    if (r !== 0) throw this.#error(r, "F_OFD_SETLK");
    return this.#guard(() => this.#ofd(LOCK.F_OFD_SETLK, LOCK.F_UNLCK, start, len));
  }

  #tryFlock(shared: boolean): FileLockGuard | WouldBlock {
    const fd = this.liveFd();
    for (;;) {
      if (libc().flock(fd, (shared ? LOCK.SH : LOCK.EX) | LOCK.NB) === 0) {
        return this.#guard(() => libc().flock(fd, LOCK.UN));
      }
      const e = errnoOfTry();
      if (e === E.EAGAIN) return WOULD_BLOCK;
      if (e !== E.EINTR) throw this.#error(e, "flock");
    }
  }

  /** One lock call: 0, or the errno. */
  #ofd(cmd: number, type: number, start: number, len: number): number {
    const fd = this.liveFd();
    const f = this.#fill(type, start, len);
    for (;;) {
      if (libc().fcntl_lock(fd, cmd, f.bytes) === 0) return 0;
      const e = errno();
      if (e !== E.EINTR) return e;
    }
  }

  #fill(type: number, start: number, len: number): OutStruct {
    const f = this.#flock.clear();
    f.setU16(FLOCK.l_type, type);
    f.setU16(FLOCK.l_whence, LOCK.SEEK_SET);
    f.setU64(FLOCK.l_start, start);
    f.setU64(FLOCK.l_len, len);
    return f;
  }

  #guard(release: () => unknown): FileLockGuard {
    return new FileLockGuard(INTERNAL, () => {
      if (!this.closed) release(); // a closed file has already let its locks go
    });
  }

  #error(e: number, call: string): ErrnoError {
    return new ErrnoError(e, call === "flock" ? "flock" : "fcntl", {
      action: `lock (${call})`,
      object: this.#path,
    });
  }
}

/**
 * Change notification for a file (inotify): the "interrupt" way to follow a file another process
 * writes, instead of polling its size. Each wait ends when the file was written to (or its
 * metadata changed); what changed is for the caller to read.
 *
 * @example Notified of a write
 * ```ts
 * import { FileWatcher } from "@dipc/dipc";
 *
 * const path = await Deno.makeTempFile();
 * using watcher = FileWatcher.watch(path);
 * setTimeout(() => Deno.writeTextFileSync(path, "new record\n", { append: true }), 10);
 * console.log((await watcher.next({ timeout: 5000 })) > 0); // true
 * await Deno.remove(path);
 * ```
 */
export class FileWatcher extends FdHandle {
  readonly #path: string;
  readonly #events = new Uint8Array(4096);
  #sleeper: FdSleeper | undefined;

  /** @ignore */
  private constructor(token: unknown, fd: number, path: string) {
    checkInternal(token, "FileWatcher.watch()");
    super(token, fd, `watcher of ${JSON.stringify(path)}`);
    releaseWith(this, () => {
      this.#sleeper?.close();
    });
    this.#path = path;
  }

  /**
   * Starts watching the file at `path` for writes and metadata changes.
   *
   * @param path the file
   * @returns the watcher
   * @throws {ErrnoError} ENOENT, EACCES, ENOSPC (the user's inotify watch limit)
   * @see {@link https://man7.org/linux/man-pages/man7/inotify.7.html}
   */
  static watch(path: string): FileWatcher {
    if (typeof path !== "string" || path.length === 0 || path.includes("\0")) {
      throw new TypeError(`path must be a non-empty string without NUL, got ${describe(path)}`);
    }
    const L = libc();
    const fd = L.inotify_init1(IN.NONBLOCK | IN.CLOEXEC);
    if (fd < 0) throw lastError("inotify_init1", "watch", path);
    if (L.inotify_add_watch(fd, cString(path), IN.MODIFY | IN.CLOSE_WRITE | IN.ATTRIB) < 0) {
      const e = lastError("inotify_add_watch", "watch", path);
      L.close(fd);
      throw e;
    }
    return new FileWatcher(INTERNAL, fd, path);
  }

  /**
   * The changes notified since the last look, without waiting.
   *
   * @returns how many change events came (at least 1), or {@linkcode WOULD_BLOCK}
   * @throws {ClosedError} after close
   */
  tryNext(): number | WouldBlock {
    const fd = this.liveFd();
    let count = 0;
    for (;;) {
      const n = libc().read(fd, this.#events, this.#events.length);
      if (n > 0) {
        // struct inotify_event: wd, mask, cookie, len, then len bytes of name
        const view = new DataView(this.#events.buffer, 0, n);
        for (let at = 0; at + 16 <= n; at += 16 + view.getUint32(at + 12, true)) count++;
        continue;
      }
      const e = n < 0 ? errno() : E.EAGAIN;
      if (e === E.EINTR) continue;
      if (e !== E.EAGAIN) {
        throw new ErrnoError(e, "read", { action: "read changes of", object: this.#path });
      }
      return count > 0 ? count : WOULD_BLOCK;
    }
  }

  /**
   * Waits for the next change.
   *
   * @param options `signal`, `timeout`
   * @returns how many change events came
   * @throws {DOMException} `TimeoutError`
   * @throws the signal's reason when aborted
   * @throws {ClosedError} after close, or when closed during the wait
   */
  async next(options?: WaitOptions): Promise<number> {
    const opts = waitBoundsOf(options);
    const r = await waitUntil(
      () => this.tryNext(),
      this.#sleeper ??= new FdSleeper(this.liveFd(), 0x1 /* POLLIN */),
      opts,
      0,
    );
    if (r === TIMED_OUT) throw timedOut(`waiting for a change of ${JSON.stringify(this.#path)}`);
    return r;
  }
}

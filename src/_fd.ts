/**
 * File-descriptor plumbing shared by pipes, FIFOs, queues and spawn: readiness waits on the wait
 * core's epoll reactor, flag changes, and closing.
 *
 * @module
 */

import { E, F, O, POLL, S_IFIFO, S_IFMT, STAT } from "../ffi/constants.ts";
import { errno, libc } from "../ffi/load.ts";
import { monotonicNs, OutStruct } from "../ffi/util.ts";
import { lastError } from "./_errno.ts";
import { forgetFd, sleepFor, waitFd } from "./_reactor.ts";
import { park, type Sleeper } from "./_wait.ts";
import { ClosedError } from "./errors.ts";
import { checkInternal } from "./_internal.ts";

/** Sleeps of a backoff schedule, in nanoseconds: the first, and the longest. */
export interface Backoff {
  /** The first sleep. */
  firstNs: bigint;
  /** The longest sleep; each sleep doubles the one before up to this. */
  maxNs: bigint;
}

/**
 * A {@linkcode Sleeper} that waits until `fd` is ready for `events` (POLLIN or POLLOUT), through
 * the wait core's one epoll set (src/_reactor.ts): no pool thread of its own. The caller's next
 * try does the I/O. `interrupt()` ends this sleeper's sleeps at once.
 *
 * With `fd` -1 and a `backoff`, it is a sleeper for objects that cannot be polled at all
 * (System V queues): each sleep lasts the next step of the schedule, 50 µs doubling to 2 ms say,
 * timed by the same reactor, and ends at once on `interrupt()`.
 */
export class FdSleeper implements Sleeper {
  readonly #fd: number;
  readonly #events: number;
  readonly #backoff: Backoff | undefined;
  #nextNs: bigint;
  readonly #pending = new Set<() => void>();

  constructor(fd: number, events: number, backoff?: Backoff) {
    this.#fd = fd;
    this.#events = events;
    this.#backoff = backoff;
    this.#nextNs = backoff?.firstNs ?? 0n;
  }

  snapshot(): number {
    return 0; // readiness is level-triggered: readiness that came before the sleep is still there
  }

  async sleep(_token: number, deadline: bigint | undefined): Promise<void> {
    if (this.#backoff === undefined) {
      const fd = this.#fd;
      await park((settle) => waitFd(fd, this.#events, settle), deadline, this.#pending);
      return;
    }
    let ns = this.#nextNs;
    const doubled = this.#nextNs * 2n;
    this.#nextNs = doubled < this.#backoff.maxNs ? doubled : this.#backoff.maxNs;
    if (deadline !== undefined) {
      const left = deadline - monotonicNs();
      const rest = left > 0n ? left : 0n;
      if (rest < ns) ns = rest;
    }
    await park((settle) => sleepFor(ns, settle), undefined, this.#pending);
  }

  interrupt(): void {
    for (const stop of [...this.#pending]) stop();
  }

  /** Ends this sleeper's sleeps (the watched descriptor belongs to the caller: see closeFd). */
  close(): void {
    this.interrupt();
  }
}

/**
 * A {@linkcode Sleeper} that waits until any of several descriptors is ready for its events,
 * through the wait core's one epoll set: one registration per descriptor, all cancelled as soon
 * as one settles. The caller's next try looks at them all.
 */
export class FdSetSleeper implements Sleeper {
  #entries: ReadonlyArray<{ fd: number; events: number }> = [];
  readonly #pending = new Set<() => void>();

  /** Sets the descriptors the next sleeps wait on. */
  watch(entries: ReadonlyArray<{ fd: number; events: number }>): void {
    this.#entries = entries;
  }

  snapshot(): number {
    return 0; // level-triggered, as FdSleeper
  }

  async sleep(_token: number, deadline: bigint | undefined): Promise<void> {
    const entries = this.#entries;
    await park(
      (settle) => {
        const registrations = entries.map((e) => waitFd(e.fd, e.events, settle));
        return { cancel: () => registrations.forEach((r) => r.cancel()) };
      },
      deadline,
      this.#pending,
    );
  }

  interrupt(): void {
    for (const stop of [...this.#pending]) stop();
  }
}

/** Descriptors dipc made or received (and has not closed): adoptable though close-on-exec. */
const made = new Set<number>();

/**
 * Notes that dipc made (or received over a socket) descriptor `fd`, so that a `fromFd` may adopt
 * it though it is close-on-exec; returns `fd`.
 */
export function noteMade(fd: number): number {
  if (fd >= 0) made.add(fd);
  return fd;
}

/**
 * Refuses a descriptor that a `fromFd` must not adopt: one that is not open (EBADF), and one
 * that is close-on-exec without dipc having made or received it. Every descriptor of the
 * runtime itself (its epoll sets, its eventfd, its signal pipe, its caches) is close-on-exec,
 * and adopting one of them (then closing it, or reading from it) panics Deno; a descriptor
 * inherited from a parent is not close-on-exec (exec would have closed it), nor one a program's
 * own code cleared the flag of.
 *
 * @param fd the descriptor (a validated integer)
 * @param what how messages name it
 */
export function checkAdoptable(fd: number, what: string): void {
  const flags = libc().fcntl(fd, F.GETFD, 0);
  if (flags < 0) throw lastError("fcntl", "adopt", what);
  if ((flags & F.FD_CLOEXEC) !== 0 && !made.has(fd)) {
    throw new TypeError(
      `${what} is close-on-exec and was not made or received by dipc: it may be one of the ` +
        "runtime's own descriptors (its epoll sets, eventfd, signal pipe), which nobody may " +
        "adopt. A descriptor inherited from a parent is not close-on-exec; to adopt one your " +
        "own code opened, clear its FD_CLOEXEC flag first",
    );
  }
}

/**
 * Closes a descriptor dipc owns, after ending every wait on it (they then find their object
 * closed) and taking it out of the wait core's epoll set.
 */
export function closeFd(fd: number): void {
  if (fd < 0) return;
  forgetFd(fd);
  made.delete(fd);
  libc().close(fd);
}

const fifoStat = new OutStruct(STAT.size);

/** Whether the open descriptor `fd` is a pipe or FIFO; ErrnoError (EBADF) when it is not open. */
export function isFifo(fd: number, what: string): boolean {
  if (libc().fstat(fd, fifoStat.clear().bytes) !== 0) throw lastError("fstat", "check", what);
  return (fifoStat.u32(STAT.st_mode) & S_IFMT) === S_IFIFO;
}

/**
 * What object `fd` is open on ("device:inode", equal for two descriptors of one object) and its
 * size; ErrnoError (EBADF) when it is not open.
 */
export function fileIdentity(fd: number): { identity: string; size: number } {
  if (libc().fstat(fd, fifoStat.clear().bytes) !== 0) throw lastError("fstat", "identify", fd);
  return {
    identity: `${fifoStat.u64(STAT.st_dev)}:${fifoStat.u64(STAT.st_ino)}`,
    size: fifoStat.u64(STAT.st_size),
  };
}

/** Sets or clears O_NONBLOCK on `fd`. */
export function setNonblocking(fd: number, on: boolean, what: string): void {
  const { fcntl } = libc();
  const flags = fcntl(fd, F.GETFL, 0);
  if (flags < 0) throw lastError("fcntl", `read the flags of ${what}`);
  const want = on ? flags | O.NONBLOCK : flags & ~O.NONBLOCK;
  if (want !== flags && fcntl(fd, F.SETFL, want) < 0) {
    throw lastError("fcntl", `set the flags of ${what}`);
  }
}

/** Readiness of `fd` right now, without waiting: the revents of a zero-timeout poll. */
export function pollNow(fd: number, events: number): number {
  const fds = new Uint8Array(POLL.size);
  const view = new DataView(fds.buffer);
  view.setInt32(POLL.fd, fd, true);
  view.setInt16(POLL.events, events, true);
  for (;;) {
    const r = libc().poll(fds, 1, 0);
    if (r >= 0) return r === 0 ? 0 : view.getInt16(POLL.revents, true);
    if (errno() !== E.EINTR) throw lastError("poll", "check a descriptor");
  }
}

/** Anything dipc can hand to a child or wait on: it has a file descriptor. */
export interface HasFd {
  /** The descriptor; unsafe: it stays owned by the object. */
  readonly unsafeFd: number;
}

/**
 * A handle that owns one descriptor, the shape every such handle of dipc shares (pipe ends,
 * sockets and listeners, queues, eventfds, lock files, watchers): `unsafeFd` while open,
 * `closed`, an idempotent `close()` and `using`. Only dipc makes them; what a kind holds beside
 * the descriptor (its sleepers first) is released once, as `close()` begins.
 *
 * @example Any handle, closed the same way
 * ```ts
 * import { EventFd, FdHandle, Pipe } from "@dipc/dipc";
 *
 * using pipe = Pipe.create();
 * const handles: FdHandle[] = [pipe.reader, pipe.writer, EventFd.create()];
 * console.log(handles.every((h) => h instanceof FdHandle && !h.closed)); // true
 * for (const h of handles) h.close();
 * for (const h of handles) h.close(); // again: nothing happens
 * console.log(handles.every((h) => h.closed)); // true
 * ```
 */
export abstract class FdHandle implements HasFd, Disposable {
  #fd: number;
  readonly #what: string;

  /**
   * Takes ownership of `fd`, named `what` in messages, given the module-private token: only a
   * descriptor dipc made or was given becomes "made here".
   *
   * @ignore
   */
  protected constructor(token: unknown, fd: number, what: string) {
    checkInternal(token, "the factories of dipc's handles");
    this.#fd = noteMade(fd);
    this.#what = what;
  }

  /**
   * The descriptor. Unsafe: it stays owned by this object, which closes it.
   *
   * @throws {ClosedError} after close
   */
  get unsafeFd(): number {
    return this.liveFd();
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /** The descriptor, or a ClosedError naming the object. */
  protected liveFd(): number {
    if (this.#fd < 0) throw new ClosedError(this.#what);
    return this.#fd;
  }

  /** How messages name this handle. */
  protected get what(): string {
    return this.#what;
  }

  /** Closes the descriptor (after what its kind releases first); calling it again does nothing. */
  close(): void {
    if (this.#fd < 0) return;
    try {
      RELEASES.get(this)?.();
    } finally {
      closeFd(this.#fd);
      this.#fd = -1;
    }
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** What each handle releases as it closes, before its descriptor. */
const RELEASES = new WeakMap<FdHandle, () => void>();

/**
 * Registers what `handle` releases as `close()` begins (its sleepers, first), once: called by
 * the kinds of handle in their constructors. A function of this private module, not a method:
 * nothing a caller can reach releases an open handle's parts.
 */
export function releaseWith(handle: FdHandle, release: () => void): void {
  RELEASES.set(handle, release);
}

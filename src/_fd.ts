/**
 * File-descriptor plumbing shared by pipes, FIFOs and spawn: readiness waits for the wait core
 * (poll on a pool thread, interrupted through an eventfd), flag changes, and closing.
 *
 * @module
 */

import { E, EFD, F, O, POLL, TIMESPEC } from "../ffi/constants.ts";
import { errno, libc } from "../ffi/load.ts";
import { monotonicNs, writeTimespec } from "../ffi/util.ts";
import { lastError } from "./_errno.ts";
import type { Sleeper } from "./_wait.ts";

/** Sleeps of a backoff schedule, in nanoseconds: the first, and the longest. */
export interface Backoff {
  /** The first sleep. */
  firstNs: bigint;
  /** The longest sleep; each sleep doubles the one before up to this. */
  maxNs: bigint;
}

/**
 * A {@linkcode Sleeper} that waits until `fd` is ready for `events` (POLLIN or POLLOUT). The
 * pool thread only polls; the caller's next try does the I/O. Each sleeper owns an eventfd that
 * `interrupt()` signals: ppoll watches it too, so a cancel always lands, even one that comes
 * before the pool thread starts polling.
 *
 * With `fd` -1 (which poll ignores) and a `backoff`, it is a sleeper for objects that cannot be
 * polled at all (System V queues): each sleep lasts the next step of the schedule, 50 µs
 * doubling to 2 ms say, and ends at once on `interrupt()`.
 */
export class FdSleeper implements Sleeper {
  readonly #fd: number;
  readonly #events: number;
  readonly #backoff: Backoff | undefined;
  #nextNs: bigint;
  readonly #fds = new Uint8Array(2 * POLL.size);
  readonly #view = new DataView(this.#fds.buffer);
  readonly #timeout = new BigInt64Array(TIMESPEC.size / 8);
  readonly #one = new BigUint64Array([1n]);
  readonly #drain = new BigUint64Array(1);
  #eventfd = -1;

  constructor(fd: number, events: number, backoff?: Backoff) {
    this.#fd = fd;
    this.#events = events;
    this.#backoff = backoff;
    this.#nextNs = backoff?.firstNs ?? 0n;
  }

  snapshot(): number {
    return 0; // poll is level-triggered: readiness that came before the sleep is still there
  }

  async sleep(_token: number, deadline: bigint | undefined): Promise<void> {
    const { eventfd, ppoll_async, read } = libc();
    if (this.#eventfd < 0) {
      this.#eventfd = eventfd(0, EFD.NONBLOCK | EFD.CLOEXEC);
      if (this.#eventfd < 0) throw lastError("eventfd", "make a wake-up descriptor");
    }
    this.#view.setInt32(POLL.fd, this.#fd, true);
    this.#view.setInt16(POLL.events, this.#events, true);
    this.#view.setInt32(POLL.size + POLL.fd, this.#eventfd, true);
    this.#view.setInt16(POLL.size + POLL.events, POLL.IN, true);
    let ns: bigint | undefined;
    if (this.#backoff !== undefined) {
      ns = this.#nextNs;
      const doubled = this.#nextNs * 2n;
      this.#nextNs = doubled < this.#backoff.maxNs ? doubled : this.#backoff.maxNs;
    }
    if (deadline !== undefined) {
      const left = deadline - monotonicNs();
      const rest = left > 0n ? left : 0n;
      if (ns === undefined || rest < ns) ns = rest;
    }
    if (ns !== undefined) writeTimespec(this.#timeout, ns);
    await ppoll_async(this.#fds, 2, ns === undefined ? null : this.#timeout, null);
    read(this.#eventfd, new Uint8Array(this.#drain.buffer), 8); // consume a pending interrupt
  }

  interrupt(): void {
    if (this.#eventfd >= 0) libc().write(this.#eventfd, new Uint8Array(this.#one.buffer), 8);
  }

  /** Closes the eventfd (the watched descriptor belongs to the caller). */
  close(): void {
    if (this.#eventfd >= 0) libc().close(this.#eventfd);
    this.#eventfd = -1;
  }
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

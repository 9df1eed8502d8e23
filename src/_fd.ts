/**
 * File-descriptor plumbing shared by pipes, FIFOs and spawn: readiness waits for the wait core
 * (poll on a pool thread, interrupted through an eventfd), flag changes, and closing.
 *
 * @module
 */

import { E, EFD, F, O, POLL } from "../ffi/constants.ts";
import { errno, libc } from "../ffi/load.ts";
import { monotonicNs } from "../ffi/util.ts";
import { lastError } from "./_errno.ts";
import type { Sleeper } from "./_wait.ts";

/**
 * A {@linkcode Sleeper} that waits until `fd` is ready for `events` (POLLIN or POLLOUT). The
 * pool thread only polls; the caller's next try does the I/O. Each sleeper owns an eventfd that
 * `interrupt()` signals: poll watches it too, so a cancel always lands, even one that comes
 * before the pool thread starts polling.
 */
export class FdSleeper implements Sleeper {
  readonly #fd: number;
  readonly #events: number;
  readonly #fds = new Uint8Array(2 * POLL.size);
  readonly #view = new DataView(this.#fds.buffer);
  readonly #one = new BigUint64Array([1n]);
  readonly #drain = new BigUint64Array(1);
  #eventfd = -1;

  constructor(fd: number, events: number) {
    this.#fd = fd;
    this.#events = events;
  }

  snapshot(): number {
    return 0; // poll is level-triggered: readiness that came before the sleep is still there
  }

  async sleep(_token: number, deadline: bigint | undefined): Promise<void> {
    const { eventfd, poll_async, read } = libc();
    if (this.#eventfd < 0) {
      this.#eventfd = eventfd(0, EFD.NONBLOCK | EFD.CLOEXEC);
      if (this.#eventfd < 0) throw lastError("eventfd", "make a wake-up descriptor");
    }
    this.#view.setInt32(POLL.fd, this.#fd, true);
    this.#view.setInt16(POLL.events, this.#events, true);
    this.#view.setInt32(POLL.size + POLL.fd, this.#eventfd, true);
    this.#view.setInt16(POLL.size + POLL.events, POLL.IN, true);
    let timeout = -1;
    if (deadline !== undefined) {
      const ms = Number((deadline - monotonicNs()) / 1_000_000n) + 1;
      timeout = Math.max(0, Math.min(ms, 0x7fffffff));
    }
    await poll_async(this.#fds, 2, timeout);
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

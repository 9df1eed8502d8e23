/**
 * Waiting on many handles at once, and a cross-process wake-up.
 *
 * {@linkcode poll} waits until any of a set of handles is ready (to read, to write, hung up, in
 * error) and says which; a {@linkcode Poller} keeps a set for a server's loop, with `add`,
 * `delete` and async iteration over what becomes ready. Any dipc handle with a descriptor works
 * (sockets, listeners, pipe ends, FIFOs, POSIX queues, eventfds, child processes' pipes) and so
 * does a plain descriptor number. Waiting goes through the wait core's one epoll set: no thread
 * of its own however many handles are watched; readiness is then read on this thread with one
 * `poll(2)` over the whole set, so what is reported is what is true now.
 *
 * This is the interrupt side of "polling versus interrupts": the process sleeps until the kernel
 * says something happened, instead of asking each handle in turn.
 *
 * {@linkcode EventFd} is a counter in the kernel that any process holding it can add to and
 * read (`eventfd(2)`): a wake-up that can be handed to a child with {@linkcode spawn}'s `fds`,
 * and, with `semaphore: true`, a counting semaphore whose reads take one unit each.
 *
 * @example Two pipes, one wait
 * ```ts
 * import { Pipe, poll } from "@dipc/dipc";
 *
 * using a = Pipe.create();
 * using b = Pipe.create();
 * setTimeout(() => b.writer.tryWrite(new Uint8Array([1])), 10);
 * const ready = await poll([{ handle: a.reader, read: true }, { handle: b.reader, read: true }], {
 *   timeout: 5000,
 * });
 * console.log(ready.length, ready[0]?.handle === b.reader, ready[0]?.readable); // 1 true true
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man7/epoll.7.html}
 * @module
 */

import { E, EFD, POLL } from "../ffi/constants.ts";
import { errno, errnoOfTry, libc } from "../ffi/load.ts";
import { cString } from "../ffi/util.ts";
import { ClosedError, ErrnoError } from "./errors.ts";
import { lastError } from "./_errno.ts";
import { checkInternal, INTERNAL } from "./_internal.ts";
import {
  checkAdoptable,
  FdHandle,
  FdSetSleeper,
  FdSleeper,
  type HasFd,
  releaseWith,
  setNonblocking,
} from "./_fd.ts";
import { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
import { describe, validateBoolean, validateInteger, validateOptionKeys } from "./_validate.ts";
import {
  receiveUntilStopped,
  TIMED_OUT,
  timedOut,
  validateWaitOptions,
  waitBoundsOf,
  type WaitOptions,
  waitUntil,
} from "./_wait.ts";

export { FdHandle, type HasFd } from "./_fd.ts";
export type { WaitOptions } from "./_wait.ts";
export { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";

/** What to watch a handle for. */
export interface PollInterest<T> {
  /** A dipc handle (anything with an `unsafeFd`) or a descriptor number. */
  handle: T;
  /** Ready to read (or to accept, for a listener). */
  read?: boolean;
  /** Ready to write. */
  write?: boolean;
}

/** A handle that is ready, and how. */
export interface PollEvent<T> {
  /** The handle, as it was given. */
  handle: T;
  /** Something can be read (or accepted) now, or the end of the stream has come. */
  readable: boolean;
  /** Something can be written now. */
  writable: boolean;
  /** The peer has gone (`POLLHUP`). */
  hangup: boolean;
  /** An error is pending (`POLLERR`), or the descriptor is not open (`POLLNVAL`). */
  error: boolean;
}

/** The most handles one wait watches (far beyond what one process should watch this way). */
const MAX_HANDLES = 65536;

function fdOf(handle: unknown, what: string): number {
  if (typeof handle === "number") return validateInteger(handle, what, 0, 0x7fffffff);
  if (typeof handle === "object" && handle !== null && "unsafeFd" in handle) {
    return validateInteger((handle as HasFd).unsafeFd, `${what}.unsafeFd`, 0, 0x7fffffff);
  }
  throw new TypeError(
    `${what} must be a handle with a descriptor or a number, got ${describe(handle)}`,
  );
}

/**
 * A set of handles to wait on, for a loop that serves many (a server's clients, a supervisor's
 * children). Add and delete handles as they come and go; each `wait` (or iteration step)
 * returns every handle that is ready at that moment.
 *
 * @example Serve whichever pipe has data
 * ```ts
 * import { Pipe, Poller } from "@dipc/dipc";
 *
 * using a = Pipe.create();
 * using b = Pipe.create();
 * using poller = new Poller();
 * poller.add(a.reader);
 * poller.add(b.reader);
 * b.writer.tryWrite(new TextEncoder().encode("b first"));
 * const ready = await poller.wait({ timeout: 1_000 });
 * console.log(ready.map((e) => e.handle === b.reader)); // [true]
 * ```
 */
export class Poller<T extends HasFd | number = HasFd | number> implements Disposable {
  readonly #interests = new Map<T, { read: boolean; write: boolean }>();
  readonly #sleeper = new FdSetSleeper();
  #closed = false;

  /** @ignore An empty set. */
  constructor() {}

  /** How many handles are watched. */
  get size(): number {
    return this.#interests.size;
  }

  /** Whether {@linkcode Poller.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Watches `handle` for reading and/or writing (replacing what it was watched for before).
   *
   * @param handle a dipc handle or a descriptor number
   * @param interest `read` (default true), `write`
   * @throws {TypeError} for a bad handle or interest
   * @throws {ClosedError} after close
   */
  add(handle: T, interest?: { read?: boolean; write?: boolean }): void {
    this.#open();
    fdOf(handle, "handle");
    const o = validateOptionKeys<{ read?: boolean; write?: boolean }>(
      interest,
      ["read", "write"],
      "Poller.add",
    );
    const read = o.read === undefined ? true : validateBoolean(o.read, "read");
    const write = validateBoolean(o.write, "write");
    if (!read && !write) throw new TypeError("watch a handle for read, write or both");
    if (!this.#interests.has(handle) && this.#interests.size >= MAX_HANDLES) {
      throw new RangeError(`a poller watches at most ${MAX_HANDLES} handles`);
    }
    this.#interests.set(handle, { read, write });
  }

  /**
   * Stops watching `handle`.
   *
   * @param handle the handle
   * @returns whether it was watched
   */
  delete(handle: T): boolean {
    return this.#interests.delete(handle);
  }

  /**
   * Every watched handle that is ready now, without waiting.
   *
   * @returns the ready handles, or {@linkcode WOULD_BLOCK} when none is
   * @throws {ClosedError} after close
   */
  tryWait(): PollEvent<T>[] | WouldBlock {
    this.#open();
    const handles = [...this.#interests.keys()];
    if (handles.length === 0) return WOULD_BLOCK;
    const fds = new Uint8Array(POLL.size * handles.length);
    const view = new DataView(fds.buffer);
    handles.forEach((h, i) => {
      const want = this.#interests.get(h);
      // A handle closed since it was added has no descriptor: -1 is ignored by poll(2), and the
      // handle is reported in error.
      let fd = -1;
      try {
        fd = fdOf(h, "handle");
      } catch (e) {
        if (!(e instanceof ClosedError)) throw e;
      }
      view.setInt32(i * POLL.size + POLL.fd, fd, true);
      view.setInt16(
        i * POLL.size + POLL.events,
        (want?.read ? POLL.IN : 0) | (want?.write ? POLL.OUT : 0),
        true,
      );
    });
    let n: number;
    for (;;) {
      n = libc().poll(fds, handles.length, 0);
      if (n >= 0) break;
      if (errno() !== E.EINTR) throw lastError("poll", "look at", `${handles.length} handles`);
    }
    const ready: PollEvent<T>[] = [];
    handles.forEach((handle, i) => {
      const fd = view.getInt32(i * POLL.size + POLL.fd, true);
      const r = fd < 0 ? POLL.NVAL : view.getInt16(i * POLL.size + POLL.revents, true);
      if (r === 0) return;
      ready.push({
        handle,
        readable: (r & POLL.IN) !== 0,
        writable: (r & POLL.OUT) !== 0,
        hangup: (r & POLL.HUP) !== 0,
        error: (r & (POLL.ERR | POLL.NVAL)) !== 0,
      });
    });
    return ready.length > 0 ? ready : WOULD_BLOCK;
  }

  /**
   * Waits until at least one watched handle is ready, and returns every one that is.
   *
   * @param options `signal`, `timeout`
   * @returns the ready handles (never empty)
   * @throws {DOMException} `TimeoutError`
   * @throws the signal's reason when aborted
   * @throws {ClosedError} after close, or when closed during the wait
   */
  async wait(options?: WaitOptions): Promise<PollEvent<T>[]> {
    const opts = waitBoundsOf(options);
    this.#open();
    const r = await waitUntil(
      () => {
        this.#open();
        this.#sleeper.watch(this.#watchList());
        return this.tryWait();
      },
      this.#sleeper,
      opts,
      0,
    );
    if (r === TIMED_OUT) throw timedOut(`polling ${this.#interests.size} handles`);
    return r;
  }

  /**
   * What becomes ready, wait after wait, until `signal` aborts or the poller is closed (both
   * end the loop normally).
   *
   * @param options `signal`
   * @returns an async iterable of ready sets
   */
  events(options?: { signal?: AbortSignal }): AsyncGenerator<PollEvent<T>[], void> {
    const { signal } = validateWaitOptions(options);
    return receiveUntilStopped(
      () => this.wait(signal ? { signal } : {}),
      signal,
      () => this.#closed,
    );
  }

  /** Same as {@linkcode Poller.events} with no options. */
  [Symbol.asyncIterator](): AsyncGenerator<PollEvent<T>[], void> {
    return this.events();
  }

  /** Stops watching everything; pending waits end with {@linkcode ClosedError}. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#interests.clear();
    this.#sleeper.interrupt();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  #watchList(): Array<{ fd: number; events: number }> {
    const list: Array<{ fd: number; events: number }> = [];
    for (const [h, want] of this.#interests) {
      let fd: number;
      try {
        fd = fdOf(h, "handle");
      } catch {
        continue; // closed: tryWait reports it
      }
      list.push({ fd, events: (want.read ? POLL.IN : 0) | (want.write ? POLL.OUT : 0) });
    }
    return list;
  }

  #open(): void {
    if (this.#closed) throw new ClosedError("poller");
  }
}

/**
 * Waits until any of `interests` is ready, and returns every one that is (one-shot; a
 * {@linkcode Poller} serves a loop).
 *
 * @param interests handles with what to watch each for (`read` by default)
 * @param options `signal`, `timeout` (`0` looks once: an empty result when none is ready)
 * @returns the ready handles
 * @throws {TypeError} for a bad handle or interest
 * @throws {DOMException} `TimeoutError` (except with `timeout: 0`)
 *
 * @example Is there anything to read?
 * ```ts
 * import { Pipe, poll } from "@dipc/dipc";
 *
 * using pipe = Pipe.create();
 * console.log((await poll([{ handle: pipe.reader }], { timeout: 0 })).length); // 0
 * pipe.writer.tryWrite(new Uint8Array([1]));
 * const [event] = await poll([{ handle: pipe.reader, read: true }], { timeout: 1_000 });
 * console.log(event?.readable); // true
 * ```
 */
export async function poll<T extends HasFd | number>(
  interests: ReadonlyArray<PollInterest<T>>,
  options?: WaitOptions,
): Promise<PollEvent<T>[]> {
  if (!Array.isArray(interests)) {
    throw new TypeError(`interests must be an array, got ${describe(interests)}`);
  }
  const opts = validateWaitOptions(options);
  using poller = new Poller<T>();
  interests.forEach((x: unknown, i) => {
    if (typeof x !== "object" || x === null) {
      throw new TypeError(`interests[${i}] must be { handle, read?, write? }`);
    }
    const { handle, read, write } = x as PollInterest<T>;
    const interest: { read?: boolean; write?: boolean } = {};
    if (read !== undefined) interest.read = read;
    if (write !== undefined) interest.write = write;
    poller.add(handle, interest);
  });
  if (opts.timeout === 0) {
    const r = poller.tryWait();
    return r === WOULD_BLOCK ? [] : r;
  }
  return await poller.wait(opts);
}

/** Options for {@linkcode EventFd.create}. */
export interface EventFdOptions {
  /** The counter's first value (default 0). */
  initial?: number;
  /** Reads take one unit each (`EFD_SEMAPHORE`) instead of the whole count. */
  semaphore?: boolean;
}

const MAX_COUNT = 0xffff_ffff_ffff_fffen;

/**
 * A counter in the kernel that any process holding its descriptor can add to and read
 * (`eventfd(2)`). Reading takes the whole count (or one unit, as a semaphore) and waits while it
 * is 0; writing adds. The descriptor is non-blocking (a child given it shares that mode), so a C
 * peer reads it after `poll`.
 *
 * @example A counter another task (or process) bumps
 * ```ts
 * import { EventFd } from "@dipc/dipc";
 *
 * using ev = EventFd.create();
 * setTimeout(() => ev.write(3), 10);
 * console.log(await ev.read({ timeout: 1_000 })); // 3n
 * ```
 */
export class EventFd extends FdHandle {
  readonly #semaphore: boolean;
  readonly #buf = new BigUint64Array(1);
  readonly #bytes = new Uint8Array(this.#buf.buffer);
  #sleeper: FdSleeper | undefined;

  /** @ignore */
  private constructor(token: unknown, fd: number, semaphore: boolean) {
    checkInternal(token, "EventFd.create/fromFd()");
    super(token, fd, "eventfd");
    releaseWith(this, () => {
      this.#sleeper?.close();
    });
    this.#semaphore = semaphore;
  }

  /**
   * Makes an eventfd.
   *
   * @param options `initial`, `semaphore`
   * @returns the eventfd
   * @throws {ErrnoError} EMFILE
   * @see {@link https://man7.org/linux/man-pages/man2/eventfd.2.html}
   *
   * @example A wake-up
   * ```ts
   * import { EventFd } from "@dipc/dipc";
   *
   * using ev = EventFd.create();
   * setTimeout(() => ev.write(3n), 10);
   * console.log(await ev.read({ timeout: 5000 })); // 3n
   * ```
   */
  static create(options?: EventFdOptions): EventFd {
    const o = validateOptionKeys<EventFdOptions>(
      options,
      ["initial", "semaphore"],
      "EventFd.create",
    );
    const initial = o.initial === undefined
      ? 0
      : validateInteger(o.initial, "initial", 0, 0xffffffff);
    const semaphore = validateBoolean(o.semaphore, "semaphore");
    const EFD_SEMAPHORE = 1;
    const fd = libc().eventfd(
      initial,
      EFD.NONBLOCK | EFD.CLOEXEC | (semaphore ? EFD_SEMAPHORE : 0),
    );
    if (fd < 0) throw lastError("eventfd", "make an eventfd");
    return new EventFd(INTERNAL, fd, semaphore);
  }

  /**
   * Adopts an eventfd descriptor (e.g. descriptor 3, handed down by a parent).
   *
   * @param fd the descriptor
   * @param options `semaphore`: whether it was made as one (reads then take one unit)
   * @returns the eventfd
   * @throws {ErrnoError} EBADF
   * @throws {TypeError} when `fd` is not an eventfd
   */
  static fromFd(fd: number, options?: { semaphore?: boolean }): EventFd {
    validateInteger(fd, "fd", 0, 0x7fffffff);
    const o = validateOptionKeys<{ semaphore?: boolean }>(options, ["semaphore"], "EventFd.fromFd");
    const semaphore = validateBoolean(o.semaphore, "semaphore");
    checkAdoptable(fd, `descriptor ${fd}`);
    const link = new Uint8Array(64);
    const n = libc().readlink(cString(`/proc/self/fd/${fd}`), link, link.length);
    if (n < 0 && errno() === E.ENOENT) {
      throw new ErrnoError(E.EBADF, "readlink", { action: "adopt", object: `descriptor ${fd}` });
    }
    const target = n > 0 ? new TextDecoder().decode(link.subarray(0, n)) : "";
    if (n > 0 && target !== "anon_inode:[eventfd]") {
      throw new TypeError(`descriptor ${fd} is not an eventfd (${target})`);
    }
    setNonblocking(fd, true, `descriptor ${fd}`);
    return new EventFd(INTERNAL, fd, semaphore);
  }

  /**
   * Adds `value` to the counter, waking readers.
   *
   * @param value 1 or more (default 1n), as a bigint or a number
   * @throws {ErrnoError} EAGAIN when the counter would pass its maximum (2⁶⁴ − 2)
   * @throws {ClosedError} after close
   */
  write(value: bigint | number = 1n): void {
    const v = typeof value === "number"
      ? BigInt(validateInteger(value, "value", 1, Number.MAX_SAFE_INTEGER))
      : value;
    if (typeof v !== "bigint" || v < 1n || v > MAX_COUNT) {
      throw new RangeError(`value must be 1..${MAX_COUNT}, got ${describe(value)}`);
    }
    const fd = this.liveFd();
    this.#buf[0] = v;
    for (;;) {
      if (libc().write(fd, this.#bytes, 8) === 8) return;
      const e = errno();
      if (e !== E.EINTR) throw new ErrnoError(e, "write", { action: "add to eventfd" });
    }
  }

  /**
   * Takes the count (or one unit, as a semaphore) if it is above 0 now.
   *
   * @returns what was taken, or {@linkcode WOULD_BLOCK} when the count is 0
   * @throws {ClosedError} after close
   */
  tryRead(): bigint | WouldBlock {
    const fd = this.liveFd();
    for (;;) {
      if (libc().read(fd, this.#bytes, 8) === 8) return this.#buf[0] ?? 0n;
      const e = errnoOfTry();
      if (e === E.EAGAIN) return WOULD_BLOCK;
      if (e !== E.EINTR) throw new ErrnoError(e, "read", { action: "read eventfd" });
    }
  }

  /**
   * Takes the count (or one unit), waiting while it is 0.
   *
   * @param options `signal`, `timeout`
   * @returns what was taken
   * @throws {DOMException} `TimeoutError` (nothing was taken)
   * @throws the signal's reason when aborted (nothing was taken)
   * @throws {ClosedError} after close, or when closed during the wait
   */
  async read(options?: WaitOptions): Promise<bigint> {
    const opts = waitBoundsOf(options);
    const r = await waitUntil(
      () => this.tryRead(),
      this.#sleeper ??= new FdSleeper(this.liveFd(), POLL.IN),
      opts,
    );
    if (r === TIMED_OUT) {
      throw timedOut(this.#semaphore ? "waiting on eventfd semaphore" : "reading eventfd");
    }
    return r;
  }
}

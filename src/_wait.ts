/**
 * The wait core every blocking operation in dipc is built on.
 *
 * A wait is: try at once; spin a bounded number of tries on the calling thread; then sleep
 * through one of the process's shared reactors (src/_reactor.ts: one epoll set for descriptors,
 * futex_waitv for shared words), which only *wait* for a change and never take data; then settle
 * the outcome with another synchronous try on the calling thread, where errno is reliable. A
 * cancelled or timed-out wait therefore never holds anything it took: the only thing that ever
 * takes data is `attempt`, run on this thread. However many waits are pending, the process holds
 * at most a handful of pool threads (see src/_reactor.ts).
 *
 * @module
 */

import { libc } from "../ffi/load.ts";
import { monotonicNs } from "../ffi/util.ts";
import { type Registration, waitWord } from "./_reactor.ts";
import { type FutexArray, futexWaitBlocking, wordPointer } from "./_futex.ts";
import { describe } from "./_validate.ts";
import { WOULD_BLOCK } from "./_sentinels.ts";
import { TUNING } from "./_tuning.ts";
import { ClosedError } from "./errors.ts";

/** Options every blocking (`…Sync`) wait in dipc accepts. */
export interface SyncWaitOptions {
  /**
   * Milliseconds to wait at most; `0` means try once, `Infinity` (default) means no limit. When
   * it passes, the call throws a `DOMException` named `TimeoutError` and has taken nothing.
   */
  timeout?: number;
}

/** Options every async wait in dipc accepts. */
export interface WaitOptions extends SyncWaitOptions {
  /** Stops the wait: the promise rejects with `signal.reason` and nothing is consumed. */
  signal?: AbortSignal;
}

export { END_OF_STREAM, WOULD_BLOCK } from "./_sentinels.ts";
/** Returned by {@linkcode waitUntil} when the timeout passed first. */
export const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * How a wait sleeps. `snapshot` is taken *before* each attempt, so a change that happens
 * between the attempt and the sleep makes the sleep return at once (no lost wake-up).
 */
export interface Sleeper {
  /** A token for the current state (a futex word's value). */
  snapshot(): number;
  /**
   * Sleeps (through a reactor) until the state may differ from `token`, the absolute
   * `CLOCK_MONOTONIC` deadline passes, or {@linkcode Sleeper.interrupt} is called. It may return
   * early (spuriously); it must never consume data.
   */
  sleep(token: number, deadlineNs: bigint | undefined): Promise<void>;
  /** Makes a sleep in progress return soon. Safe to call when nobody sleeps. */
  interrupt(): void;
}

/** The error an async wait rejects with when its timeout passes. */
export function timedOut(what: string): DOMException {
  return new DOMException(`${what} timed out`, "TimeoutError");
}

/**
 * Yields what `receive` returns, one after another, until `signal` aborts or `isClosed()` says
 * the source was closed: then the iteration ends normally. Any other error ends it with that
 * error. A receive cut short by the abort has taken nothing (the waits guarantee it).
 */
export async function* receiveUntilStopped<T>(
  receive: () => Promise<T>,
  signal: AbortSignal | undefined,
  isClosed: () => boolean,
): AsyncGenerator<T, void> {
  while (!signal?.aborted && !isClosed()) {
    try {
      yield await receive();
    } catch (e) {
      if (signal?.aborted || isClosed()) return;
      throw e;
    }
  }
}

/** Tries made on the calling thread before sleeping. */
export const DEFAULT_SPINS: number = TUNING.defaultSpins;

/** Checks wait options; throws TypeError/RangeError for bad ones. */
export function validateWaitOptions(options: unknown): WaitOptions {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`options must be an object, got ${describe(options)}`);
  }
  const { signal, timeout } = options as WaitOptions;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
  }
  if (timeout !== undefined) {
    if (typeof timeout !== "number") {
      throw new TypeError(`timeout must be a number of milliseconds, got ${describe(timeout)}`);
    }
    if (Number.isNaN(timeout) || timeout < 0) {
      throw new RangeError(`timeout must be 0 or more milliseconds, got ${timeout}`);
    }
  }
  return options as WaitOptions;
}

const NO_OPTIONS: SyncWaitOptions = Object.freeze({});

/**
 * Checks the options of a blocking (`…Sync`) wait: `timeout` only (a `signal` cannot stop a
 * thread that is blocked, so one is refused rather than ignored).
 */
export function validateSyncWaitOptions(options: unknown): SyncWaitOptions {
  if (options === undefined) return NO_OPTIONS;
  const o = validateWaitOptions(options);
  if (o.signal !== undefined) {
    throw new TypeError("a blocking (…Sync) wait takes no signal: use the async form to cancel");
  }
  return o;
}

/**
 * A wait's bounds, fixed once at the public call that was given `{ signal, timeout }`: the
 * signal, and the timeout turned into an absolute `CLOCK_MONOTONIC` deadline in ns (undefined:
 * no limit). Every wait inside dipc takes these and passes them on unchanged, so a timeout is
 * converted exactly once however many layers the wait goes through.
 */
export interface Bounds {
  readonly signal?: AbortSignal | undefined;
  readonly deadline?: bigint | undefined;
  /** Made only by {@linkcode boundsOf} (so options with a `timeout` are never taken for one). */
  readonly [BOUNDED]: true;
}

declare const BOUNDED: unique symbol;

/** No signal, no limit. */
export const UNBOUNDED: Bounds = Object.freeze({}) as Bounds;

/** The bounds of a wait given validated `options` (see {@linkcode Bounds}). */
export function boundsOf(options: WaitOptions): Bounds {
  if (options.signal === undefined && options.timeout === undefined) return UNBOUNDED;
  return { signal: options.signal, deadline: deadlineFor(options.timeout) } as Bounds;
}

/** Bounds with a deadline already made (`deadline` undefined: none) and `signal`. */
export function bounded(deadline: bigint | undefined, signal?: AbortSignal): Bounds {
  return { signal, deadline } as Bounds;
}

/** Whether `deadline` has passed (never, for none). */
export function expired(deadline: bigint | undefined): boolean {
  return deadline !== undefined && monotonicNs() >= deadline;
}

/** Milliseconds from now to `deadline`, rounded up, for a timer (0 once passed). */
export function timerMs(deadline: bigint): number {
  return Math.max(0, Math.ceil(Number(deadline - monotonicNs()) / 1e6));
}

/**
 * Checks the options of an async wait and fixes its bounds: where a public call's timeout
 * becomes its deadline, once.
 */
export function waitBoundsOf(options: unknown): Bounds {
  return boundsOf(validateWaitOptions(options));
}

/**
 * Checks the options of a blocking (`…Sync`) wait and returns its timeout, for a call that
 * tries once before it needs a deadline (then {@linkcode deadlineFor}, in the same call): a
 * wait that does not wait reads no clock.
 */
export function syncTimeoutOf(options: unknown): number | undefined {
  return options === undefined ? undefined : validateSyncWaitOptions(options).timeout;
}

/** Checks the options of a blocking (`…Sync`) wait and returns its deadline (see above). */
export function syncDeadlineOf(options: unknown): bigint | undefined {
  return deadlineFor(validateSyncWaitOptions(options).timeout);
}

/** The absolute monotonic deadline for a timeout in ms, or undefined for none. */
export function deadlineFor(timeout: number | undefined): bigint | undefined {
  // Beyond a century a deadline means nothing, and a timespec that large would overflow
  // (the kernel answers EINVAL): treat it as no limit.
  if (timeout === undefined || timeout >= MAX_TIMEOUT_MS) return undefined;
  return monotonicNs() + BigInt(Math.ceil(timeout * 1e6));
}

/**
 * A monotonic deadline as the `CLOCK_REALTIME` one in ns that some calls take
 * (`mq_timedreceive`, `mq_timedsend`): the same instant, on the other clock.
 */
export function realtimeOf(deadline: bigint | undefined): bigint | undefined {
  if (deadline === undefined) return undefined;
  return BigInt(Date.now()) * 1_000_000n + (deadline - monotonicNs());
}

/** Milliseconds left before an absolute deadline (Infinity for none; 0 or less once passed). */
export function msLeft(deadline: bigint | undefined): number {
  return deadline === undefined ? Infinity : Number(deadline - monotonicNs()) / 1e6;
}

/** Timeouts from here on (100 years, in ms) mean "no limit". */
const MAX_TIMEOUT_MS = 100 * 365.25 * 24 * 3600 * 1000;

/**
 * Spin lengths that learn from how long the peer takes (the default of the ring's endpoints):
 * a wait that had to sleep and was woken soon (within {@linkcode AdaptiveSpins.FAST_NS}) means
 * a longer spin would have caught the peer, so the next wait spins twice as long; one woken late
 * means a slow peer, so the next spins half as long (down to a floor: a slow peer costs almost no
 * CPU); a wait that succeeds while spinning pulls the length toward twice what it needed. Two
 * sides that have both begun to sleep on every message (each one's spin ending before the
 * other's wake-up lands) so return to spinning, which a fixed length cannot do.
 */
export class AdaptiveSpins {
  /** A wake-up within this many ns of falling asleep counts as "soon". */
  static readonly FAST_NS = 200_000;
  /** One later than this means a slow peer. */
  static readonly SLOW_NS = 2_000_000;
  /** Tries now. */
  current: number;

  constructor(readonly min: number, readonly max: number, initial: number) {
    this.current = Math.min(max, Math.max(min, initial));
  }

  /** A wait succeeded after `tries` of spinning. */
  hit(tries: number): void {
    const want = Math.max(this.min, Math.min(this.max, 2 * tries + 16));
    this.current = want > this.current ? want : this.current - ((this.current - want) >> 4);
  }

  /** A wait slept; the attempt after it succeeded `ns` after the first sleep began. */
  slept(ns: number): void {
    if (ns <= AdaptiveSpins.FAST_NS) this.current = Math.min(this.max, this.current * 2);
    else if (ns >= AdaptiveSpins.SLOW_NS) this.current = Math.max(this.min, this.current >> 1);
  }
}

const spinsOf = (spins: number | AdaptiveSpins): number =>
  typeof spins === "number" ? spins : spins.current;

/**
 * Runs `attempt` until it returns something other than {@linkcode WOULD_BLOCK}, sleeping with
 * `sleeper` in between.
 *
 * @param attempt a synchronous, non-blocking try; the only place data may be taken
 * @param sleeper how to sleep between tries
 * @param bounds signal and deadline (see {@linkcode boundsOf}); a deadline already passed means
 *   one try
 * @param spins tries on the calling thread before the first sleep
 * @returns what `attempt` returned, or {@linkcode TIMED_OUT}
 * @throws the signal's reason when aborted (nothing was consumed)
 */
export async function waitUntil<T>(
  attempt: () => T | typeof WOULD_BLOCK,
  sleeper: Sleeper,
  bounds: Bounds,
  spins: number | AdaptiveSpins = DEFAULT_SPINS,
): Promise<T | typeof TIMED_OUT> {
  const { signal, deadline } = bounds;
  signal?.throwIfAborted();
  const once = expired(deadline);
  const n = spinsOf(spins);
  for (let i = 0; i <= n; i++) {
    const r = attempt();
    if (r !== WOULD_BLOCK) {
      if (typeof spins !== "number") spins.hit(i);
      return r;
    }
    if (once) return TIMED_OUT;
  }
  const asleep = typeof spins === "number" ? 0n : monotonicNs();
  for (;;) {
    const token = sleeper.snapshot();
    const r = attempt();
    if (r !== WOULD_BLOCK) {
      if (typeof spins !== "number") spins.slept(Number(monotonicNs() - asleep));
      return r;
    }
    if (deadline !== undefined && monotonicNs() >= deadline) return TIMED_OUT;
    await sleepCancellable(sleeper, token, deadline, signal);
  }
}

/** How a blocking (`…Sync`) wait sleeps: on this thread, in one futex slice at a time. */
export interface SyncSleeper {
  /** A token for the current state, taken before each attempt (as {@linkcode Sleeper}). */
  snapshot(): number;
  /**
   * Blocks this thread until the state may differ from `token` or `ms` milliseconds have
   * passed (it may return early); never consumes data.
   */
  sleepSync(token: number, ms: number): void;
}

/**
 * The blocking counterpart of {@linkcode waitUntil}, by the same rule: try, spin `spins` tries,
 * then sleep between tries until the attempt succeeds or the timeout passes.
 *
 * @param attempt a synchronous, non-blocking try; the only place data may be taken
 * @param sleeper how to sleep between tries
 * @param deadline the absolute monotonic deadline (from {@linkcode deadlineFor}, once, at the
 *   public call; undefined: no limit; one already passed: try once)
 * @param spins tries before the first sleep
 * @returns what `attempt` returned, or {@linkcode TIMED_OUT}
 */
export function waitUntilSync<T>(
  attempt: () => T | typeof WOULD_BLOCK,
  sleeper: SyncSleeper,
  deadline: bigint | undefined,
  spins: number | AdaptiveSpins = DEFAULT_SPINS,
): T | typeof TIMED_OUT {
  const once = expired(deadline);
  const n = spinsOf(spins);
  for (let i = 0; i <= n; i++) {
    const r = attempt();
    if (r !== WOULD_BLOCK) {
      if (typeof spins !== "number") spins.hit(i);
      return r;
    }
    if (once) return TIMED_OUT;
  }
  const asleep = typeof spins === "number" ? 0n : monotonicNs();
  for (;;) {
    const token = sleeper.snapshot();
    const r = attempt();
    if (r !== WOULD_BLOCK) {
      if (typeof spins !== "number") spins.slept(Number(monotonicNs() - asleep));
      return r;
    }
    const left = msLeft(deadline);
    if (left <= 0) return TIMED_OUT;
    sleeper.sleepSync(token, left);
  }
}

/**
 * One sleep that an AbortSignal can cut short: on abort it interrupts the sleeper (which ends
 * its reactor registration at once), then rejects.
 */
export async function sleepCancellable(
  sleeper: Sleeper,
  token: number,
  deadline: bigint | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (signal === undefined) return await sleeper.sleep(token, deadline);
  signal.throwIfAborted();
  const sleeping = sleeper.sleep(token, deadline);
  const onAbort = (): void => sleeper.interrupt();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    await sleeping;
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
  signal.throwIfAborted();
}

/**
 * Bounds as the `{ signal, timeout }` of a public wait (the time left as its timeout), for
 * handing a wait on to an interface that takes options (a `Channel` transport's).
 */
export function optionsOf(bounds: Bounds): WaitOptions {
  const o: WaitOptions = {};
  if (bounds.signal !== undefined) o.signal = bounds.signal;
  if (bounds.deadline !== undefined) o.timeout = Math.max(0, msLeft(bounds.deadline));
  return o;
}

/** `bounds` with `signal` in place of its own. */
export function withSignal(bounds: Bounds, signal: AbortSignal): Bounds {
  return bounded(bounds.deadline, signal);
}

/** `bounds` with the sooner of its deadline and `deadline`. */
export function soonerOf(bounds: Bounds, deadline: bigint): Bounds {
  if (bounds.deadline !== undefined && bounds.deadline <= deadline) return bounds;
  return bounded(deadline, bounds.signal);
}

/**
 * Waits for `promise` within `bounds`: the wait (not the work behind the promise) ends with a
 * `TimeoutError` naming `what` when the deadline passes, or with the signal's reason on abort.
 * For waits on something that is already a promise (a write in flight, a message a client
 * library will deliver): the promise is left to settle on its own, so whatever it carries is
 * not lost by the caller giving up (and a rejection after the wait gave up is the promise's
 * owner's business, never an unhandled rejection that would end the process).
 */
export async function promiseWithin<T>(
  promise: Promise<T>,
  bounds: Bounds,
  what: string,
): Promise<T> {
  const { signal, deadline } = bounds;
  if (signal === undefined && deadline === undefined) return await promise;
  promise.catch(() => {});
  signal?.throwIfAborted();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    if (deadline !== undefined) timer = setTimeout(() => reject(timedOut(what)), timerMs(deadline));
    if (signal !== undefined) {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    }
  });
  try {
    return await Promise.race([promise, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener("abort", onAbort);
  }
}

/** For each mapped buffer, how to interrupt the sleeps on its words. */
const sleepersOn = new WeakMap<ArrayBufferLike, Set<() => void>>();

/**
 * Wakes every sleep in this process on words of `buffer`. Closing a mapping calls it before
 * unmapping, so a pending wait ends (and then finds its memory closed) instead of sleeping on
 * memory that is gone.
 */
export function interruptSleepersOn(buffer: ArrayBufferLike): void {
  for (const interrupt of sleepersOn.get(buffer) ?? []) interrupt();
}

/** Checks a futex value and returns it as the unsigned 32 bits the kernel compares. */
export function validateExpected(expected: unknown): number {
  if (typeof expected !== "number" || !Number.isInteger(expected)) {
    throw new TypeError(`expected must be an integer, got ${describe(expected)}`);
  }
  if (expected < -0x80000000 || expected > 0xffffffff) {
    throw new RangeError(`expected must fit in 32 bits, got ${expected}`);
  }
  return expected >>> 0;
}

/**
 * Sleeps until `register`'s reactor settles the wait, the absolute monotonic `deadline` passes
 * (a timer; the caller checks the clock again), or a stop function put in `pending` is called
 * (an interrupt). Resolves `true` only when the kernel reported a wake.
 */
export function park(
  register: (settle: (woken: boolean) => void) => Registration,
  deadline: bigint | undefined,
  pending: Set<() => void>,
): Promise<boolean> {
  return new Promise((resolve) => {
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const held: { registration?: Registration } = {};
    const finish = (woken: boolean): void => {
      if (done) return;
      done = true;
      held.registration?.cancel();
      if (timer !== undefined) clearTimeout(timer);
      pending.delete(stop);
      resolve(woken);
    };
    const stop = (): void => finish(false);
    pending.add(stop);
    const registration = register(finish);
    held.registration = registration;
    if (done) registration.cancel();
    else if (deadline !== undefined) timer = setTimeout(stop, timerMs(deadline));
  });
}

/**
 * A {@linkcode Sleeper} on one futex word in shared memory, through the wait core's futex
 * reactor (src/_reactor.ts): no pool thread of its own. It wakes when another process wakes the
 * word, the word changes, the deadline passes or {@linkcode Sleeper.interrupt} is called; what
 * woke it is settled by the caller on its own thread. A sleep that begins after the word's
 * memory was closed returns at once.
 */
export function futexSleeper(array: FutexArray, index: number): Sleeper & {
  /** The last sleep's outcome: 0 when a FUTEX_WAKE ended it, -1 otherwise. */
  readonly lastResult: number;
} {
  const ptr = wordPointer(array, index);
  const words = new Uint32Array(array.buffer, array.byteOffset, array.length);
  const word = new Uint32Array(array.buffer, array.byteOffset + index * 4, 1);
  const pending = new Set<() => void>();
  let lastResult = 0;
  const interrupt = (): void => {
    for (const stop of [...pending]) stop();
  };
  return {
    get lastResult(): number {
      return lastResult;
    },
    snapshot: (): number => Atomics.load(words, index),
    async sleep(token: number, deadline: bigint | undefined): Promise<void> {
      // Closed (or transferred away) before this sleep began: nothing to sleep on.
      if (word.length === 0) {
        lastResult = -1;
        return;
      }
      const buffer = array.buffer;
      const sleepers = sleepersOn.get(buffer) ?? new Set();
      sleepersOn.set(buffer, sleepers);
      sleepers.add(interrupt);
      try {
        const woken = await park(
          (settle) => waitWord(ptr, word, token >>> 0, settle),
          deadline,
          pending,
        );
        lastResult = woken ? 0 : -1;
      } finally {
        sleepers.delete(interrupt);
        if (sleepers.size === 0) sleepersOn.delete(buffer);
      }
    },
    interrupt,
  };
}

/**
 * The wait of `futexWait` (src/futex.ts), within `bounds`: while `array[index]` holds `want`
 * (unsigned, validated), a bounded spin, then sleeps through the futex reactor. "ok" when woken
 * or the word changed, "not-equal" when it differed at once, "timed-out" at the deadline.
 */
export async function futexWaitWithin(
  array: FutexArray,
  index: number,
  want: number,
  bounds: Bounds,
): Promise<"ok" | "not-equal" | "timed-out"> {
  const sleeper = futexSleeper(array, index);
  const { signal, deadline } = bounds;
  signal?.throwIfAborted();
  if (sleeper.snapshot() !== want) return "not-equal";
  // TUNING.futexSpins looks (about 10 µs) before sleeping: parking costs about 20 µs (thread
  // hand-off and promise); measured with `deno task bench:c`, the async round trip's median fell
  // from 15 µs with 64 looks to 2 µs with 400.
  for (let i = 0; i < TUNING.futexSpins; i++) {
    if (sleeper.snapshot() !== want) return "ok";
  }
  if (expired(deadline)) return "timed-out";
  for (;;) {
    await sleepCancellable(sleeper, want, deadline, signal);
    if (array.length === 0) throw new ClosedError("the memory of the futex word");
    // Settled here, on this thread: a FUTEX_WAKE (0) or a changed word is "ok"; EINTR is
    // retried; an unchanged word past the deadline is a timeout.
    if (sleeper.lastResult === 0 || sleeper.snapshot() !== want) return "ok";
    if (expired(deadline)) return "timed-out";
  }
}

/** A poll of no descriptors: a millisecond's pause. */
const PAUSE = new Uint8Array(0);

/**
 * One slice of a blocking wait inside dipc (ring, mutex and semaphore sync forms): sleeps on
 * `array[index]` while it holds `want`, at most `ms` ms. Every caller re-checks its state after
 * any return, so an unexpected failure of the call (seen once on Linux 6.18: ENOENT from a
 * shared FUTEX_WAIT) is a spurious wake-up after a millisecond's pause, never an exception that
 * ends a send or a lock.
 */
export function sliceSync(
  array: FutexArray,
  index: number,
  want: number,
  ms: number,
): "ok" | "not-equal" | "timed-out" {
  if (array.length === 0) return "ok"; // closed: the caller finds out
  const deadline = ms === Infinity ? undefined : monotonicNs() + BigInt(Math.ceil(ms * 1e6));
  const r = futexWaitBlocking(wordPointer(array, index), want >>> 0, deadline);
  if (typeof r !== "number") return r;
  libc().poll(PAUSE, 0, 1);
  return "ok";
}

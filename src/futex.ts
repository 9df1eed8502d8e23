/**
 * Futex wait and wake on 32-bit words in shared memory, across processes.
 *
 * This is what makes shared memory a complete tool: one process sleeps until a word changes,
 * another changes it and wakes the sleeper, and neither burns CPU polling. The words are plain
 * `Int32Array`/`Uint32Array` elements over a mapping ({@linkcode SharedMemory},
 * {@linkcode SysVSharedMemory}); change them with `Atomics` and wake with
 * {@linkcode futexWake}. The futexes are *shared* (never `FUTEX_PRIVATE_FLAG`), so a C program
 * calling `futex(2)` on the same word interoperates.
 *
 * {@linkcode futexWait} spins briefly, then sleeps through the wait core's futex reactor: a few
 * `futex_waitv` calls shared by every wait of the process, so ten thousand pending waits hold no
 * more pool threads than one (see the README's promises). It never blocks the event loop and
 * takes a timeout and an AbortSignal. {@linkcode futexWaitSync} blocks the calling thread (for
 * Workers and tight loops).
 *
 * Like every futex, a wait can return "ok" without the word having changed (a spurious
 * wake-up): always re-check the word in a loop. The async waits of one process on the same word
 * and value share one kernel waiter, so one `FUTEX_WAKE` of one ends all of them (and counts as
 * one woken). Cancelling a wait (abort, timeout) never wakes or disturbs other waiters; a wake
 * that reached a wait already cancelled is passed on to another waiter of the word. Closing the
 * memory ends its pending waits with {@linkcode ClosedError}, even one begun in the same tick.
 *
 * @example Sleep until a word changes
 * ```ts
 * import { futexWait, futexWake, SharedMemory } from "@dipc/dipc";
 *
 * using shm = SharedMemory.temporary({ size: 4 });
 * const word = shm.int32();
 * setTimeout(() => {
 *   Atomics.store(word, 0, 1);
 *   futexWake(word, 0);
 * }, 10);
 * while (Atomics.load(word, 0) === 0) {
 *   await futexWait(word, 0, 0, { timeout: 5_000 });
 * }
 * console.log("woken with", Atomics.load(word, 0));
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man2/futex.2.html}
 * @module
 */

import { validateInteger } from "./_validate.ts";
import {
  deadlineFor,
  futexWaitWithin,
  sliceSync,
  validateExpected,
  validateWaitOptions,
  waitBoundsOf,
  type WaitOptions,
} from "./_wait.ts";
import {
  type FutexArray,
  futexWaitBlocking,
  futexWake as wake,
  WAKE_ALL,
  wordPointer,
} from "./_futex.ts";

/** A private word that is always 0: slept on for a pause. */
const PAUSE = new Int32Array(1);

export type { WaitOptions } from "./_wait.ts";
export type { FutexArray } from "./_futex.ts";

/** What a futex wait ended with. */
export type FutexWaitResult = "ok" | "not-equal" | "timed-out";

/**
 * Waits, without blocking the event loop, while `array[index]` holds `expected`: until another
 * thread or process calls {@linkcode futexWake} on the word, the timeout passes, or `signal`
 * aborts. It spins briefly on this thread first, then sleeps through the wait core.
 *
 * @param array a 32-bit view over shared memory
 * @param index the word's index in `array`
 * @param expected the value to sleep on (compared as 32 bits)
 * @param options `timeout` in ms and `signal`
 * @returns `"not-equal"` if the word did not hold `expected` at the start, `"timed-out"`, or
 *   `"ok"` (woken, or the word changed; may be spurious: re-check the word)
 * @throws {TypeError} for a bad array, index or expected value
 * @throws {RangeError} for an index out of range or a negative timeout
 * @throws {ClosedError} when the memory holding the word is closed during the wait
 * @throws the signal's reason when aborted
 * @see {@link https://man7.org/linux/man-pages/man2/futex.2.html}
 *
 * @example Wait with a timeout
 * ```ts
 * import { futexWait, SharedMemory } from "@dipc/dipc";
 *
 * using shm = SharedMemory.temporary({ size: 4 });
 * const result = await futexWait(shm.int32(), 0, 0, { timeout: 10 });
 * console.log(result); // "timed-out"
 * ```
 */
export async function futexWait(
  array: FutexArray,
  index: number,
  expected: number,
  options?: WaitOptions,
): Promise<FutexWaitResult> {
  const want = validateExpected(expected);
  return await futexWaitWithin(array, index, want, waitBoundsOf(options));
}

/**
 * Blocks the calling thread while `array[index]` holds `expected`, until woken or the timeout
 * passes. Use it in Workers or where blocking is the point; on the main thread prefer
 * {@linkcode futexWait}.
 *
 * @param array a 32-bit view over shared memory
 * @param index the word's index in `array`
 * @param expected the value to sleep on
 * @param timeout milliseconds at most (default: no limit)
 * @returns `"ok"`, `"not-equal"` or `"timed-out"`, as {@linkcode futexWait}
 * @throws {TypeError} / {RangeError} for bad arguments
 * @see {@link https://man7.org/linux/man-pages/man2/futex.2.html}
 *
 * @example A wait that times out
 * ```ts
 * import { futexWaitSync, SharedMemory } from "@dipc/dipc";
 *
 * using shm = SharedMemory.temporary({ size: 4 });
 * console.log(futexWaitSync(shm.int32(), 0, 0, 5)); // "timed-out"
 * console.log(futexWaitSync(shm.int32(), 0, 7, 5)); // "not-equal"
 * ```
 */
export function futexWaitSync(
  array: FutexArray,
  index: number,
  expected: number,
  timeout?: number,
): FutexWaitResult {
  const ptr = wordPointer(array, index);
  const want = validateExpected(expected);
  if (timeout !== undefined) validateWaitOptions({ timeout });
  const r = futexWaitBlocking(ptr, want, deadlineFor(timeout));
  if (typeof r !== "number") return r;
  // An unexpected failure (seen on Linux 6.18: a rare ENOENT from FUTEX_WAIT on a shared word)
  // is reported as a spurious wake-up, which every futex user must handle anyway: the caller
  // looks at its word again. A millisecond's pause keeps such a caller from spinning.
  sliceSync(PAUSE, 0, 0, 1);
  return "ok";
}

/**
 * Wakes up to `count` waiters sleeping on `array[index]`, in this or any other process. Change
 * the word first (with `Atomics.store`), then wake.
 *
 * @param array a 32-bit view over shared memory
 * @param index the word's index in `array`
 * @param count how many waiters to wake (default: all)
 * @returns how many waiters were woken
 * @throws {TypeError} / {RangeError} for bad arguments
 * @throws {ErrnoError} if futex(2) fails (e.g. EFAULT)
 * @see {@link https://man7.org/linux/man-pages/man2/futex.2.html}
 *
 * @example Wake nobody
 * ```ts
 * import { futexWake, SharedMemory } from "@dipc/dipc";
 *
 * using shm = SharedMemory.temporary({ size: 4 });
 * console.log(futexWake(shm.int32(), 0)); // 0: nobody was waiting
 * ```
 */
export function futexWake(array: FutexArray, index: number, count: number = Infinity): number {
  wordPointer(array, index); // checks both first
  if (count !== Infinity) validateInteger(count, "count", 1, WAKE_ALL);
  return wake(array, index, count === Infinity ? WAKE_ALL : count);
}

/**
 * The futex system call, in one place: the address of a word, the blocking wait, and the wake.
 * The wait core (_wait.ts, _reactor.ts) sleeps through it, the public futex module
 * (futex.ts) is a checked face on it, and the ring, mutexes and semaphores wake through it.
 *
 * @module
 */

import { E, FUTEX, SYS, TIMESPEC } from "../ffi/constants.ts";
import { errno, libc } from "../ffi/load.ts";
import { writeTimespec } from "../ffi/util.ts";
import { ErrnoError } from "./errors.ts";
import { describe, validateInteger } from "./_validate.ts";

/** A 32-bit word array a futex can wait on. */
export type FutexArray = Int32Array | Uint32Array;

/** `INT_MAX`: wake every waiter. */
export const WAKE_ALL = 0x7fffffff;

/** The address of `array[index]`, after checking both. */
export function wordPointer(array: FutexArray, index: number): Deno.PointerObject {
  if (!(array instanceof Int32Array || array instanceof Uint32Array)) {
    throw new TypeError(`array must be an Int32Array or Uint32Array, got ${describe(array)}`);
  }
  if (array.length === 0) {
    throw new TypeError("array is empty: its memory was closed or detached");
  }
  validateInteger(index, "index", 0, array.length - 1);
  // `Deno.UnsafePointer.of` costs about 0.5 µs, more than the futex call itself: look each
  // word's address up once per buffer. A buffer's memory never moves; a remap makes a new
  // buffer, and a detached one is refused above.
  const buffer = array.buffer;
  let words = wordPointers.get(buffer);
  if (words === undefined) {
    words = new Map();
    wordPointers.set(buffer, words);
  }
  const offset = array.byteOffset + index * 4;
  const known = words.get(offset);
  if (known !== undefined) return known;
  const base = Deno.UnsafePointer.of(buffer);
  const p = base === null ? null : Deno.UnsafePointer.offset(base, offset);
  if (p === null) throw new TypeError("array has no memory behind it");
  words.set(offset, p);
  return p;
}

/** Addresses of futex words already used, by buffer and byte offset. */
const wordPointers = new WeakMap<ArrayBufferLike, Map<number, Deno.PointerObject>>();

const blockingTimespec = new BigInt64Array(TIMESPEC.size / 8);

/**
 * FUTEX_WAIT_BITSET on the calling thread (it blocks) while the word at `ptr` holds `want`,
 * until the absolute monotonic `deadline`: "ok" (woken, or spuriously), "not-equal",
 * "timed-out", or the errno of an unexpected failure. EINTR is retried.
 */
export function futexWaitBlocking(
  ptr: Deno.PointerObject,
  want: number,
  deadline: bigint | undefined,
): "ok" | "not-equal" | "timed-out" | number {
  if (deadline !== undefined) writeTimespec(blockingTimespec, deadline);
  const { futex_wait_sync } = libc();
  for (;;) {
    const r = futex_wait_sync(
      SYS.futex,
      ptr,
      FUTEX.WAIT_BITSET,
      want,
      deadline === undefined ? null : blockingTimespec,
      null,
      FUTEX.BITSET_MATCH_ANY,
    );
    if (r === 0) return "ok";
    const e = errno();
    if (e === E.EAGAIN) return "not-equal";
    if (e === E.ETIMEDOUT) return "timed-out";
    if (e !== E.EINTR) return e;
  }
}

/**
 * Wakes up to `count` waiters (default all) on `array[index]`: FUTEX_WAKE, shared (the word may
 * be in memory other processes map).
 *
 * @returns how many were woken
 * @throws {ErrnoError} when futex(2) fails (EFAULT)
 */
export function futexWake(array: FutexArray, index: number, count: number = WAKE_ALL): number {
  const r = libc().futex_wake(
    SYS.futex,
    wordPointer(array, index),
    FUTEX.WAKE,
    count,
    null,
    null,
    0,
  );
  if (r < 0) throw new ErrnoError(errno(), "futex", { action: "wake futex waiters" });
  return r;
}

/**
 * Copying a message out of shared memory or a staging buffer without allocating.
 *
 * @module
 */

/** Messages up to this many bytes are copied by a loop: a view to copy from would cost more. */
const COPY_LOOP_MAX = 256;

/**
 * Copies `n` bytes from `src[from…]` to `dst[to…]` without allocating for small messages (a
 * `subarray` view is an object per call; a loop of up to 256 bytes is cheaper than making one).
 */
export function copyOut(
  src: Uint8Array,
  from: number,
  n: number,
  dst: Uint8Array,
  to: number,
): void {
  if (n <= COPY_LOOP_MAX) {
    for (let j = 0; j < n; j++) dst[to + j] = src[from + j] as number;
  } else {
    dst.set(src.subarray(from, from + n), to);
  }
}

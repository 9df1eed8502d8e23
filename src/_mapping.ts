/**
 * One mapped region of memory exposed to JavaScript: a single zero-copy ArrayBuffer over it,
 * typed views on that buffer, and a teardown that detaches the buffer (and with it every view a
 * caller made) *before* the memory goes away. A stale view then reads as empty instead of
 * touching unmapped memory and killing the process.
 *
 * @module
 */

import { MAP, MAP_FAILED, PROT } from "../ffi/constants.ts";
import { libc } from "../ffi/load.ts";
import { describe, validateInteger } from "./_validate.ts";
import { interruptSleepersOn } from "./_wait.ts";

/** A typed-array constructor dipc can make views with. */
export type TypedArrayConstructor<T extends ArrayBufferView> = {
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): T;
  readonly BYTES_PER_ELEMENT: number;
};

/** A live mapping: its address, length and the one ArrayBuffer over it. */
export class Mapping {
  readonly pointer: Deno.PointerObject;
  readonly length: number;
  #buffer: ArrayBuffer;

  constructor(pointer: Deno.PointerObject, length: number) {
    this.pointer = pointer;
    this.length = length;
    this.#buffer = Deno.UnsafePointerView.getArrayBuffer(pointer, length);
  }

  /** The ArrayBuffer over the whole mapping. */
  get buffer(): ArrayBuffer {
    return this.#buffer;
  }

  /**
   * A typed view at `byteOffset` (default 0) of `length` elements (default: to the end).
   */
  view<T extends ArrayBufferView>(
    ctor: TypedArrayConstructor<T>,
    byteOffset = 0,
    length?: number,
  ): T {
    if (typeof ctor !== "function" || typeof ctor.BYTES_PER_ELEMENT !== "number") {
      throw new TypeError(`expected a typed-array constructor, got ${describe(ctor)}`);
    }
    const size = ctor.BYTES_PER_ELEMENT;
    validateInteger(byteOffset, "byteOffset", 0, this.length);
    if (byteOffset % size !== 0) {
      throw new RangeError(`byteOffset ${byteOffset} is not a multiple of ${size}`);
    }
    const room = Math.floor((this.length - byteOffset) / size);
    const n = length === undefined ? room : validateInteger(length, "length", 0, room);
    return new ctor(this.#buffer, byteOffset, n);
  }

  /**
   * Wakes this process's futex waits on the mapping, then detaches the buffer and every view on
   * it. Call before unmapping.
   *
   * @returns whether the buffer had already been detached by someone else: transferred away
   *   (a BYOB stream read, `transfer()`, `postMessage`/`structuredClone` with transfer), so a
   *   buffer over this memory lives on where dipc cannot reach it
   */
  detach(): boolean {
    interruptSleepersOn(this.#buffer);
    if (this.#buffer.detached) return true;
    this.#buffer.transfer(0);
    return false;
  }
}

/**
 * Gives a mapped region back to the system. When no buffer over it can exist any more,
 * `release` does (munmap, shmdt). When one escaped (see {@linkcode Mapping.detach}), unmapping
 * would leave that buffer over nothing and its first touch would kill the process; so the range
 * is instead replaced in place by private zero pages (`mmap` with `MAP_FIXED`), which drops the
 * shared object (its attach count falls as with munmap or shmdt) while the escaped buffer keeps
 * reading and writing harmless private memory. Only that address range stays reserved; pages
 * nobody touches cost no memory.
 *
 * @param region the region's address and length, and whether a buffer over it escaped
 * @param release unmaps it the ordinary way
 */
export function releaseRegion(
  region: { pointer: Deno.PointerObject; length: number; escaped: boolean },
  release: () => void,
): void {
  if (!region.escaped) return release();
  const p = libc().mmap(
    region.pointer,
    BigInt(region.length),
    PROT.READ | PROT.WRITE,
    MAP.PRIVATE | MAP.ANONYMOUS | MAP.FIXED | MAP.NORESERVE,
    -1,
    0n,
  );
  // MAP_FIXED over an existing mapping cannot fail for want of room; if it fails anyway
  // (ENOMEM: too many mappings), leaving the mapping in place is the safe choice.
  if (p === null || Deno.UnsafePointer.value(p) === MAP_FAILED) return;
}

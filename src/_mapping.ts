/**
 * One mapped region of memory exposed to JavaScript: a single zero-copy ArrayBuffer over it,
 * typed views on that buffer, and a teardown that detaches the buffer (and with it every view a
 * caller made) *before* the memory goes away. A stale view then reads as empty instead of
 * touching unmapped memory and killing the process.
 *
 * @module
 */

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
   */
  detach(): void {
    if (this.#buffer.detached) return;
    interruptSleepersOn(this.#buffer);
    this.#buffer.transfer(0);
  }
}

/**
 * A fixed-size object living inside someone's mapped memory (an unnamed semaphore, a mutex, a
 * condition variable, a pthread mutex): the checks that put it there, its words as an
 * `Int32Array`, and its address for C, refused once the memory is closed.
 *
 * The memory's `close()` detaches every view before unmapping, so `words.length === 0` is the
 * reliable sign that the address is gone: every C call on the object checks it first, and a
 * call after close throws {@linkcode ClosedError} instead of touching unmapped memory.
 *
 * @module
 */

import { ClosedError } from "./errors.ts";
import { MappedMemory } from "./mapped_memory.ts";
import { describe, validateInteger } from "./_validate.ts";
import { offsetPointer } from "../ffi/util.ts";

/** Checks that `memory` is open mapped memory (TypeError, ClosedError otherwise). */
export function validateMemory(memory: unknown, what: string): asserts memory is MappedMemory {
  if (!(memory instanceof MappedMemory)) {
    throw new TypeError(
      `memory must be SharedMemory or SysVSharedMemory, got ${describe(memory)}`,
    );
  }
  if (memory.closed) throw new ClosedError("the memory given for the " + what);
}

/** An object of `size` bytes at `offset` in `memory`. */
export class Slot {
  /** The memory that holds the object (kept referenced while the object is used). */
  readonly memory: MappedMemory;
  /** Where the object starts, in bytes. */
  readonly offset: number;
  /** The object's words (length 0 once the memory is closed). */
  readonly words: Int32Array<ArrayBuffer>;
  readonly #pointer: Deno.PointerObject;
  readonly #what: string;

  /**
   * Checks `memory` and `offset` (aligned to `align`, room for `size` bytes) and takes a view.
   *
   * @param memory mapped memory, open
   * @param offset byte offset of the object
   * @param size the object's size in bytes (a multiple of 4)
   * @param align the alignment the object needs
   * @param what the object, for messages
   */
  constructor(memory: unknown, offset: unknown, size: number, align: number, what: string) {
    validateMemory(memory, what);
    const at = validateInteger(offset, "offset", 0, Math.max(0, memory.size - size));
    if (memory.size < size) {
      throw new RangeError(`the ${what} needs ${size} bytes; the memory has ${memory.size}`);
    }
    if (at % align !== 0) {
      throw new RangeError(`offset must be a multiple of ${align} for a ${what}, got ${at}`);
    }
    const base = memory.unsafePointer;
    if (base === null) throw new RangeError("the memory has no mapping");
    this.memory = memory;
    this.offset = at;
    this.words = memory.int32(at, size / 4);
    this.#pointer = offsetPointer(base, at);
    this.#what = what;
  }

  /**
   * Checks that word `index` holds `magic`, the mark its `init` left: an object that was never
   * initialised here is refused instead of misread.
   *
   * @throws {TypeError} when it does not
   */
  expectMagic(index: number, magic: number): this {
    if (Atomics.load(this.words, index) !== magic) {
      throw new TypeError(
        `no initialised ${this.#what} at offset ${this.offset} (its init() makes one)`,
      );
    }
    return this;
  }

  /** Whether the memory holding the object has been closed. */
  get gone(): boolean {
    return this.words.length === 0;
  }

  /**
   * The object's address for a C call.
   *
   * @throws {ClosedError} once the memory is closed
   */
  pointer(): Deno.PointerObject {
    if (this.words.length === 0) throw new ClosedError(`the memory of the ${this.#what}`);
    return this.#pointer;
  }
}

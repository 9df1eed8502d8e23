/**
 * What POSIX and System V shared memory have in common once mapped: one zero-copy
 * `ArrayBuffer` over the mapping, typed views on it, copies out of it, and a teardown that
 * detaches the buffer (and with it every view a caller made) *before* the memory is unmapped.
 * A stale view then reads as empty instead of touching unmapped memory and killing the process.
 *
 * {@linkcode MappedMemory} is the common type: a function that only needs bytes in shared
 * memory can take either kind.
 *
 * @example Any mapped memory
 * ```ts
 * import { type MappedMemory, SharedMemory, SysVSharedMemory } from "@dipc/dipc";
 *
 * function stamp(memory: MappedMemory): void {
 *   memory.bytes.set([0xd1, 0xbc]);
 * }
 * using a = SharedMemory.temporary({ size: 64 });
 * using b = SysVSharedMemory.temporary({ size: 64 });
 * stamp(a);
 * stamp(b);
 * ```
 *
 * @module
 */

import { ClosedError } from "./errors.ts";
import { Mapping, type TypedArrayConstructor } from "./_mapping.ts";
import { validateInteger } from "./_validate.ts";

export type { TypedArrayConstructor } from "./_mapping.ts";

/** A region unmapped from the views: what a subclass must still release. */
export interface DetachedRegion {
  /** The mapping's address. */
  pointer: Deno.PointerObject;
  /** Its length in bytes. */
  length: number;
  /**
   * Whether a buffer over it escaped before close (the caller transferred the mapping's
   * buffer away): then only {@linkcode releaseRegion} may give it back.
   */
  escaped: boolean;
}

/**
 * Memory mapped into this process and shared with others: the base of
 * {@linkcode SharedMemory} and {@linkcode SysVSharedMemory}.
 *
 * @example Code that takes any mapped memory
 * ```ts
 * import { type MappedMemory, SharedMemory, SysVSharedMemory } from "@dipc/dipc";
 *
 * function stamp(memory: MappedMemory): number {
 *   const words = memory.int32(0, 1);
 *   return Atomics.add(words, 0, 1) + 1;
 * }
 * using posix = SharedMemory.temporary({ size: 4096 });
 * using sysv = SysVSharedMemory.temporary({ size: 4096 });
 * console.log(stamp(posix), stamp(sysv), posix.size); // 1 1 4096
 * ```
 */
export abstract class MappedMemory implements Disposable {
  #mapping: Mapping | undefined;

  /** For subclasses; `MappedMemory` itself cannot be made (it maps nothing). */
  constructor() {
    if (new.target === MappedMemory) {
      throw new TypeError("MappedMemory is abstract: use SharedMemory or SysVSharedMemory");
    }
  }

  /** The handle as messages name it, e.g. `shared memory "/jobs"`. */
  protected abstract get description(): string;

  /** Whether `close()` has been called. */
  abstract get closed(): boolean;

  /** Releases the mapping and the handle; calling it again does nothing. */
  abstract close(): void;

  /**
   * Puts a new mapping of `length` bytes at `pointer` in place.
   *
   * @param pointer the mapping's address
   * @param length its length in bytes
   */
  protected setMapping(pointer: Deno.PointerObject, length: number): void {
    this.#mapping = new Mapping(pointer, length);
  }

  /**
   * Detaches every view and forgets the mapping.
   *
   * @returns the region to unmap, or undefined when nothing is mapped
   */
  protected takeMapping(): DetachedRegion | undefined {
    const m = this.#mapping;
    if (m === undefined) return undefined;
    this.#mapping = undefined;
    const escaped = m.detach();
    return { pointer: m.pointer, length: m.length, escaped };
  }

  /** Throws {@linkcode ClosedError} once closed. */
  protected assertOpen(): void {
    if (this.closed) throw new ClosedError(this.description);
  }

  /** Throws when views may not be handed out; by default they may. */
  protected assertViewable(): void {}

  /** The mapped size in bytes (0 once closed). */
  get size(): number {
    return this.#mapping?.length ?? 0;
  }

  /**
   * The mapping as one zero-copy `Uint8Array`. Views are detached (length 0) by `close()`.
   *
   * @throws {ClosedError} after close
   */
  get bytes(): Uint8Array<ArrayBuffer> {
    return this.view(Uint8Array);
  }

  /**
   * A typed view of the mapping, e.g. `view(Int32Array, 64, 4)` for four words at byte 64.
   *
   * @param ctor a typed-array constructor
   * @param byteOffset where the view starts (a multiple of its element size)
   * @param length number of elements (default: to the end)
   * @returns a view sharing the mapped memory
   * @throws {ClosedError} after close
   * @throws {RangeError} for an offset or length outside the mapping
   */
  view<T extends ArrayBufferView>(
    ctor: TypedArrayConstructor<T>,
    byteOffset = 0,
    length?: number,
  ): T {
    this.assertOpen();
    this.assertViewable();
    const m = this.#mapping;
    if (m === undefined) return new ctor(new ArrayBuffer(0));
    return m.view(ctor, byteOffset, length);
  }

  /**
   * An `Int32Array` view, for `Atomics` and futex words.
   *
   * @param byteOffset where the view starts (a multiple of 4)
   * @param length number of words (default: to the end)
   * @returns the view
   * @throws {ClosedError} after close
   */
  int32(byteOffset = 0, length?: number): Int32Array<ArrayBuffer> {
    return this.view(Int32Array, byteOffset, length);
  }

  /**
   * Copies `length` bytes from `offset` out of the mapping; works where views are not allowed
   * (a read-only System V attachment).
   *
   * @param offset first byte (default 0)
   * @param length number of bytes (default: to the end)
   * @returns a new array with the bytes
   * @throws {ClosedError} after close
   * @throws {RangeError} for a range outside the mapping
   */
  read(offset = 0, length?: number): Uint8Array<ArrayBuffer> {
    this.assertOpen();
    const size = this.size;
    validateInteger(offset, "offset", 0, size);
    const n = length === undefined
      ? size - offset
      : validateInteger(length, "length", 0, size - offset);
    const m = this.#mapping;
    return m === undefined ? new Uint8Array(0) : new Uint8Array(m.buffer, offset, n).slice();
  }

  /**
   * The mapping's address, or null when nothing is mapped. Unsafe: valid until the mapping
   * changes or closes.
   *
   * @throws {ClosedError} after close
   */
  get unsafePointer(): Deno.PointerObject | null {
    this.assertOpen();
    return this.#mapping?.pointer ?? null;
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * The tasks every pool in bench/_pool_peers.ts runs (dipc's pool and the Deno Worker pool
 * import this module; bench/_pool_python.py and bench/_pool_piscina.mjs have the same tasks).
 *
 * @module
 */

import type { SharedRegion } from "../mod.ts";

/** Nothing: the round trip alone. */
export function empty(): void {}

/** Its argument back (4 KiB in, 4 KiB out). */
export function echo<T>(value: T): T {
  return value;
}

/** The length of a buffer it was given, and its first byte (so it is touched). */
export function length(b: Uint8Array | SharedRegion): number {
  const bytes = b instanceof Uint8Array ? b : b.bytes;
  return bytes.length + (bytes[0] ?? 0);
}

/** The worker's pid. */
export function pid(): number {
  return Deno.pid;
}

/** Dies of SIGSEGV (a read of address 8 through FFI). */
export function segfault(): number {
  const p = Deno.UnsafePointer.create(8n);
  return p === null ? 0 : new Deno.UnsafePointerView(p).getUint8();
}

/**
 * Shared-memory bandwidth: copying a message into and out of a mapping, at 64 B, 4 KiB,
 * 64 KiB and 1 MiB, against the same `TypedArray.set` into ordinary memory (the baseline).
 * The C yardstick is memcpy (../shared/reference/memcpy_bw.c); `deno task bench:c` prints both.
 *
 * Run: deno bench -A bench/shm_bench.ts
 *
 * @module
 */

import { SharedMemory, SysVSharedMemory } from "../mod.ts";

const SIZES: Array<[string, number]> = [
  ["64 B", 64],
  ["4 KiB", 4096],
  ["64 KiB", 65536],
  ["1 MiB", 1 << 20],
];
const MAX = 1 << 20;

// The names are removed at once: the mappings live on, and nothing is left if the run dies.
const posix = SharedMemory.temporary({ size: MAX });
posix.unlink();
const sysv = SysVSharedMemory.temporary({ size: MAX });
sysv.remove();
/**
 * Ordinary memory starting on a page boundary, like a mapping. memcpy speed depends on how
 * source and destination are placed relative to each other within a page (a 4 KiB copy between
 * page-aligned buffers ran 2-3x faster here than one with an 864-byte skew), so every buffer in
 * this file is page-aligned: the comparison is then about the memory, not the placement.
 */
function pageAligned(size: number): Uint8Array<ArrayBuffer> {
  const raw = new Uint8Array(size + 4096);
  const addr = Deno.UnsafePointer.value(Deno.UnsafePointer.of(raw));
  const skew = Number((4096n - addr % 4096n) % 4096n);
  return raw.subarray(skew, skew + size);
}

const ordinary = pageAligned(MAX);
const message = pageAligned(MAX).map((_, i) => i * 31);
const out = pageAligned(MAX);

for (const [label, n] of SIZES) {
  const src = message.subarray(0, n);
  const targets: Array<[string, Uint8Array]> = [
    ["ordinary memory", ordinary.subarray(0, n)],
    ["POSIX shm", posix.bytes.subarray(0, n)],
    ["System V shm", sysv.bytes.subarray(0, n)],
  ];
  for (const [name, dst] of targets) {
    Deno.bench({
      group: `write ${label}`,
      name: `${name}: set(${label})`,
      baseline: name === "ordinary memory",
      fn(): void {
        dst.set(src);
      },
    });
  }
  for (const [name, from] of targets) {
    const dst = out.subarray(0, n);
    Deno.bench({
      group: `read ${label}`,
      name: `${name}: copy out ${label}`,
      baseline: name === "ordinary memory",
      fn(): void {
        dst.set(from);
      },
    });
  }
}

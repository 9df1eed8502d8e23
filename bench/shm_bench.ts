/**
 * Shared-memory bandwidth: copying a message into and out of a mapping, at 64 B, 4 KiB,
 * 64 KiB and 1 MiB, against the same `TypedArray.set` into ordinary memory (the baseline).
 * Copies cycle through a 256 KiB working set, as the C harness's memcpy_bw does.
 * The C yardstick is memcpy (`bench/c/baseline.c memcpy`); `deno task bench:c` prints both.
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
const outward = pageAligned(MAX);

/**
 * The views a copy of `n` bytes cycles through: like the C harness, sizes under 256 KiB rotate
 * through a 256 KiB working set (L2-resident, not one hot cache line); larger ones use one slot.
 */
function slots(memory: Uint8Array, n: number): Uint8Array[] {
  const span = Math.max(n, 256 << 10);
  return Array.from({ length: span / n }, (_, k) => memory.subarray(k * n, (k + 1) * n));
}

for (const [label, n] of SIZES) {
  const src = slots(message, n);
  const out = slots(outward, n);
  const count = src.length;
  const targets: Array<[string, Uint8Array[]]> = [
    ["ordinary memory", slots(ordinary, n)],
    ["POSIX shm", slots(posix.bytes, n)],
    ["System V shm", slots(sysv.bytes, n)],
  ];
  for (const [name, dst] of targets) {
    let k = 0;
    Deno.bench({
      group: `write ${label}`,
      name: `${name}: set(${label})`,
      baseline: name === "ordinary memory",
      fn(): void {
        (dst[k] as Uint8Array).set(src[k] as Uint8Array);
        k = (k + 1) % count;
      },
    });
  }
  for (const [name, from] of targets) {
    let k = 0;
    Deno.bench({
      group: `read ${label}`,
      name: `${name}: copy out ${label}`,
      baseline: name === "ordinary memory",
      fn(): void {
        (out[k] as Uint8Array).set(from[k] as Uint8Array);
        k = (k + 1) % count;
      },
    });
  }
}

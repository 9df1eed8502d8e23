/**
 * 35 · Summing 1..10,000,000 over a process pool
 *
 * Example 09 does the textbook's ten-process sum by hand: a pipe a child, arguments, collecting
 * the answers. A process pool is that job done once: this file is its own task module (its
 * exported `sumRange` is the task; the code under `import.meta.main` runs only in the parent),
 * the pool starts one worker per CPU, and `pool.map` hands out ten ranges and brings back ten
 * partial sums, as many at a time as there are workers. 1 + 2 + … + 10,000,000 = 50,000,005,000,000.
 *
 * Run: deno run --allow-ffi examples/35_pool_sum.ts
 *
 * @module
 */

import { ProcessPool } from "../mod.ts";

/** The task: the sum of `from..to`, in whichever worker runs it. */
export function sumRange([from, to]: [number, number]): { pid: number; from: number; sum: number } {
  let sum = 0;
  for (let i = from; i <= to; i++) sum += i;
  return { pid: Deno.pid, from, sum };
}

if (import.meta.main) {
  const N = 10_000_000;
  const parts = 10;
  const ranges = Array.from(
    { length: parts },
    (_, k) => [k * (N / parts) + 1, (k + 1) * (N / parts)],
  );
  await using pool = ProcessPool.create(import.meta.url);
  console.log(`a pool of ${pool.size} workers, ${parts} ranges`);
  let total = 0;
  for await (const part of pool.map<ReturnType<typeof sumRange>>("sumRange", ranges)) {
    const to = part.from + N / parts - 1;
    console.log(
      `pid ${part.pid}: ${String(part.from).padStart(8)}..${String(to).padEnd(8)} = ${part.sum}`,
    );
    total += part.sum;
  }
  console.log(`total: ${total} (expected ${(N * (N + 1)) / 2})`);
}

/**
 * The pool rows of bench/_pool_peers.ts for Deno: dipc's ProcessPool, or a pool of Deno
 * Workers over `postMessage` (the same tasks, bench/_pool_tasks.ts, the same counts).
 *
 * usage: deno run -A bench/_pool_deno.ts dipc|workers WORKERS  -> RESULT lines
 *
 * @module
 */

import { ProcessPool, SharedMemory } from "../mod.ts";
import { readProcText } from "../ffi/util.ts";

const [mode = "dipc", workersArg = "4"] = Deno.args;
const workers = Number(workersArg);
const TASKS = new URL("./_pool_tasks.ts", import.meta.url);

interface Pool {
  run(name: string, args: unknown[]): Promise<unknown>;
  close(): Promise<void>;
}

/** A Deno Worker pool: each worker takes tasks in turn, as many in flight as are submitted. */
function workerPool(n: number): Pool {
  const threads = Array.from(
    { length: n },
    () => new Worker(new URL("./_pool_worker_thread.ts", import.meta.url), { type: "module" }),
  );
  const pending = new Map<number, (v: unknown) => void>();
  let next = 0;
  for (const w of threads) {
    w.onmessage = (e: MessageEvent<[number, unknown]>) => {
      const [id, value] = e.data;
      pending.get(id)?.(value);
      pending.delete(id);
    };
  }
  return {
    run(name: string, args: unknown[]): Promise<unknown> {
      const id = next++;
      const w = threads[id % n] as Worker;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        w.postMessage([id, name, args]);
      });
    },
    close(): Promise<void> {
      for (const w of threads) w.terminate();
      return Promise.resolve();
    },
  };
}

async function rate(pool: Pool, n: number, name: string, args: () => unknown[]): Promise<number> {
  const t = performance.now();
  await Promise.all(Array.from({ length: n }, () => pool.run(name, args())));
  return (n / (performance.now() - t)) * 1000;
}

/** utime + stime of a process, in µs (from /proc, through FFI: no permission). */
function cpuUs(pid: number | "self"): number {
  const stat = readProcText(`/proc/${pid}/stat`);
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(f[11]) + Number(f[12])) * 1e6) / 100; // USER_HZ is 100 on Linux
}

const t0 = performance.now();
const pool: Pool & { stats?: () => { workers: { pid: number }[] } } = mode === "dipc"
  ? ProcessPool.create(TASKS, { size: workers })
  : workerPool(workers);
const seen = new Set<unknown>();
while (seen.size < workers) {
  for (
    const p of await Promise.all(Array.from({ length: workers * 4 }, () => pool.run("pid", [])))
  ) {
    seen.add(mode === "dipc" ? p : seen.size);
  }
}
console.log(`RESULT row=startup ms=${(performance.now() - t0).toFixed(1)}`);
// Warm-up: V8 compiles the hot paths of both sides first (piscina gets the same).
await rate(pool, 20_000, "empty", () => []);
const pids = pool.stats?.().workers.map((w) => w.pid) ?? [];
const cpu0 = [cpuUs("self"), ...pids.map(cpuUs)];
const N = 50_000;
console.log(`RESULT row=empty per_s=${(await rate(pool, N, "empty", () => [])).toFixed(0)}`);
if (mode === "dipc") {
  const cpu1 = [cpuUs("self"), ...pids.map(cpuUs)];
  const total = cpu1.reduce((a, b) => a + b, 0) - cpu0.reduce((a, b) => a + b, 0);
  console.log(
    `RESULT row=cpu-per-empty us=${(total / N).toFixed(2)} parent_us=${
      (((cpu1[0] ?? 0) - (cpu0[0] ?? 0)) / N).toFixed(2)
    }`,
  );
  // Allocation: the heap's growth over stretches in which no collection ran (the lowest).
  let least = Infinity;
  for (let k = 0; k < 8; k++) {
    const before = Deno.memoryUsage().heapUsed;
    await rate(pool, 2000, "empty", () => []);
    const grew = Deno.memoryUsage().heapUsed - before;
    if (grew > 0) least = Math.min(least, grew / 2000);
  }
  console.log(`RESULT row=alloc-per-empty bytes=${least.toFixed(0)}`);
}
const four = new Uint8Array(4096).fill(1);
console.log(`RESULT row=4k per_s=${(await rate(pool, 20_000, "echo", () => [four])).toFixed(0)}`);
const mib = new Uint8Array(1 << 20).fill(1);
console.log(
  `RESULT row=1m-copied per_s=${(await rate(pool, 300, "length", () => [mib])).toFixed(0)}`,
);
if (mode === "dipc") {
  using shm = SharedMemory.anonymous({ size: 1 << 20 });
  const region = shm.region();
  console.log(
    `RESULT row=1m-shared per_s=${(await rate(pool, 20_000, "length", () => [region])).toFixed(0)}`,
  );
} else {
  const sab = new SharedArrayBuffer(1 << 20);
  console.log(
    `RESULT row=1m-shared per_s=${(await rate(pool, 20_000, "length", () => [sab])).toFixed(0)}`,
  );
}
await pool.close();

if (mode === "dipc") {
  // Crash recovery: from a crash's rejection to the replacement's first answer.
  await using one = ProcessPool.create(TASKS, { size: 1, output: "null" });
  await one.run("empty");
  const times: number[] = [];
  for (let k = 0; k < 5; k++) {
    await one.run("segfault").catch(() => {});
    const t = performance.now();
    await one.run("empty");
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(`RESULT row=crash-recovery ms=${times[2]?.toFixed(1)}`);
}

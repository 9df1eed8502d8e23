/**
 * A pool task's round trip: dipc's `ProcessPool` (processes, rings) against a Deno Worker
 * (a thread, `postMessage`), one task at a time and 64 at once. For the whole comparison with
 * Python's ProcessPoolExecutor and piscina, run bench/_pool_peers.ts.
 *
 * Run: deno bench -A bench/pool_bench.ts
 *
 * @module
 */

import { ProcessPool } from "../mod.ts";

const pool = ProcessPool.create(new URL("./_pool_tasks.ts", import.meta.url), { size: 2 });
await pool.ready({ timeout: 30_000 });
const worker = new Worker(new URL("./_pool_worker_thread.ts", import.meta.url), { type: "module" });
let next = 0;
const waiting = new Map<number, () => void>();
worker.onmessage = (e: MessageEvent<[number, unknown]>) => {
  waiting.get(e.data[0])?.();
  waiting.delete(e.data[0]);
};
const viaWorker = (): Promise<void> =>
  new Promise((resolve) => {
    const id = next++;
    waiting.set(id, resolve);
    worker.postMessage([id, "empty", []]);
  });

Deno.bench({
  group: "one empty task",
  name: "Deno Worker postMessage",
  baseline: true,
  fn: viaWorker,
});
Deno.bench({
  group: "one empty task",
  name: "dipc ProcessPool run",
  async fn(): Promise<void> {
    await pool.run("empty");
  },
});
Deno.bench({
  group: "64 empty tasks at once",
  name: "Deno Worker postMessage",
  baseline: true,
  async fn(): Promise<void> {
    await Promise.all(Array.from({ length: 64 }, viaWorker));
  },
});
Deno.bench({
  group: "64 empty tasks at once",
  name: "dipc ProcessPool run",
  async fn(): Promise<void> {
    await Promise.all(Array.from({ length: 64 }, () => pool.run("empty")));
  },
});

globalThis.addEventListener("unload", () => {
  worker.terminate();
  void pool.terminate();
});

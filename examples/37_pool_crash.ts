/**
 * 37 · A task that segfaults in the middle of a map, and the rest complete
 *
 * What only processes give. Twenty tasks run on three workers; the seventh reads address 8
 * through FFI, which kills its process with SIGSEGV (in a Deno Worker, a thread, that would take
 * the whole program down: example 32). Here only that task fails, with a `WorkerExitError`
 * naming the worker's pid and the signal; the pool starts a new worker, and the tasks that were
 * waiting behind the dead one run elsewhere.
 *
 * Run: deno run --allow-ffi examples/37_pool_crash.ts
 *
 * @module
 */

import { ProcessPool, WorkerExitError } from "../mod.ts";

/** The task: `n` squared, or a segfault when `n` is 7. */
export function squareOrCrash(n: number): number {
  if (n === 7) {
    const p = Deno.UnsafePointer.create(8n);
    if (p !== null) new Deno.UnsafePointerView(p).getUint8(); // SIGSEGV
  }
  return n * n;
}

if (import.meta.main) {
  await using pool = ProcessPool.create(import.meta.url, { size: 3, output: "null" });
  const items = Array.from({ length: 20 }, (_, i) => i);
  const results = await Promise.allSettled(items.map((n) => pool.run("squareOrCrash", [n])));
  results.forEach((r, n) => {
    if (r.status === "fulfilled") return;
    const e = r.reason;
    console.log(
      `item ${n}: ${e instanceof WorkerExitError ? "WorkerExitError" : e?.name}: ${e?.message}`,
    );
  });
  const ok = results.filter((r) => r.status === "fulfilled").map((r) => r.value as number);
  const s = pool.stat();
  console.log(`${ok.length} of ${items.length} completed: ${ok.join(" ")}`);
  console.log(`workers started to replace one that died: ${s.restarts}`);
  console.log(`and the pool goes on: squareOrCrash(12) = ${await pool.run("squareOrCrash", [12])}`);
}

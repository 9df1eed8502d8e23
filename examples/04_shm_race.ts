/**
 * 04 · A race condition on a shared counter, and the atomic fix
 *
 * Two processes each add 1 to the same shared counter N times. With a plain `counter[0] += 1`
 * (load, add, store) their updates interleave and some are lost: both read 41, both write 42.
 * With `Atomics.add` the read-modify-write is one indivisible CPU instruction (lock xadd) and
 * none are lost. Both children start at the same moment: they wait on a futex "gate" word that
 * the parent opens once both are ready.
 *
 * Run: deno run --allow-ffi examples/04_shm_race.ts [N]
 *
 * @module
 */

import { futexWaitSync, futexWake, SharedMemory } from "../mod.ts";
import { awaitCount, startChild } from "./_child.ts";

const COUNTER = 0; // word 0: the shared counter
const GATE = 1; // word 1: 0 until the parent lets both children start
const READY = 2; // word 2: how many children are ready

if (Deno.args[0] === "child") {
  const [, name, mode, n] = Deno.args;
  using shm = SharedMemory.open(name ?? "");
  const words = shm.int32();
  const times = Number(n);
  Atomics.add(words, READY, 1);
  futexWake(words, READY);
  while (Atomics.load(words, GATE) === 0) futexWaitSync(words, GATE, 0);
  if (mode === "plain") {
    for (let i = 0; i < times; i++) words[COUNTER] = (words[COUNTER] ?? 0) + 1;
  } else {
    for (let i = 0; i < times; i++) Atomics.add(words, COUNTER, 1);
  }
} else {
  const n = Number(Deno.args[0] ?? 2_000_000);
  for (const mode of ["plain", "atomic"]) {
    using shm = SharedMemory.temporary({ size: 64 });
    const words = shm.int32();
    const children = [1, 2].map(() =>
      startChild(import.meta.url, ["child", shm.name, mode, String(n)])
    );
    await awaitCount(words, READY, 2);
    Atomics.store(words, GATE, 1);
    futexWake(words, GATE);
    for (const c of children) {
      if (!(await c.status).success) throw new Error("a child failed");
    }
    const got = Atomics.load(words, COUNTER);
    const lost = 2 * n - got;
    const how = mode === "plain" ? "counter[0] += 1  " : "Atomics.add(...) ";
    console.log(
      `${how} 2 × ${n}: expected ${2 * n}, got ${got}, lost ${lost} ` +
        `(${(100 * lost / (2 * n)).toFixed(1)}%)`,
    );
  }
}

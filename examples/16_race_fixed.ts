/**
 * 16 · The race of example 04, fixed three ways: a mutex, a semaphore, atomics
 *
 * Two processes each add 1 to a shared counter N times. Unprotected, `counter += 1` (load, add,
 * store) loses updates when the two interleave. A race shows only when a process is interrupted
 * between its load and its store, which on a quiet machine may happen rarely; so every 1000th
 * unprotected increment here pauses for 50 µs at exactly that point, as a process preempted
 * there would, and the other process's increments in that window are lost in every run. Three fixes make the read-modify-write a
 * critical section or an indivisible instruction: a SharedMutex (lock, add, unlock), a POSIX
 * semaphore with value 1 living in the same shared memory (wait, add, post), and Atomics.add.
 * Each run prints how many updates were lost and how long it took: mutual exclusion costs
 * something, and the cheapest fix is the one that needs no lock at all.
 *
 * Run: deno run --allow-ffi examples/16_race_fixed.ts
 *
 * @module
 */

import {
  futexWaitSync,
  futexWake,
  Semaphore,
  SharedMemory,
  SharedMutex,
  spawnDeno,
} from "../mod.ts";
import { awaitCount } from "./_child.ts";

// Layout of the shared memory: a mutex, a semaphore, then the counter and two control words.
const MUTEX_AT = 0; // 16 bytes
const SEM_AT = 16; // 32 bytes (sem_t)
const COUNTER = 12; // word 12 (byte 48): the shared counter
const GATE = 13; // word 13: 0 until the parent lets both children start
const READY = 14; // word 14: how many children are ready
const STILL = 15; // word 15: always 0, slept on for the pause between load and store
type Mode = "unprotected" | "mutex" | "semaphore" | "atomics";

if (Deno.args[0] === "child") {
  const [, name = "", mode, n] = Deno.args;
  using shm = SharedMemory.open(name);
  const w = shm.int32();
  const mutex = SharedMutex.at(shm, MUTEX_AT);
  using sem = Semaphore.at(shm, SEM_AT);
  const times = Number(n);
  Atomics.add(w, READY, 1);
  futexWake(w, READY);
  while (Atomics.load(w, GATE) === 0) futexWaitSync(w, GATE, 0);
  for (let i = 0; i < times; i++) {
    if (mode === "unprotected") {
      const seen = w[COUNTER] ?? 0; // load
      if (i % 1000 === 0) futexWaitSync(w, STILL, 0, 0.05); // preempted here, for 50 µs
      w[COUNTER] = seen + 1; // store: whatever the other process added meanwhile is lost
    } else if (mode === "mutex") {
      using _locked = mutex.lockSync();
      w[COUNTER] = (w[COUNTER] ?? 0) + 1;
    } else if (mode === "semaphore") {
      sem.waitSync();
      w[COUNTER] = (w[COUNTER] ?? 0) + 1;
      sem.post();
    } else {
      Atomics.add(w, COUNTER, 1);
    }
  }
} else {
  const n = Number(Deno.args[0] ?? 2_000_000);
  console.log(`two processes each add 1 to a shared counter ${n} times:`);
  for (const mode of ["unprotected", "mutex", "semaphore", "atomics"] as Mode[]) {
    using shm = SharedMemory.temporary({ size: 64 });
    SharedMutex.init(shm, MUTEX_AT);
    using _sem = Semaphore.init(shm, SEM_AT, { value: 1 });
    const w = shm.int32();
    const children = [1, 2].map(() =>
      spawnDeno(import.meta.url, { args: ["child", shm.name, mode, String(n)] })
    );
    await awaitCount(w, READY, 2);
    const start = performance.now();
    Atomics.store(w, GATE, 1);
    futexWake(w, GATE);
    for (const c of children) {
      if (!(await c.status).success) throw new Error("a child failed");
    }
    const ms = performance.now() - start;
    const got = Atomics.load(w, COUNTER);
    const lost = 2 * n - got;
    console.log(
      `  ${mode.padEnd(11)} expected ${2 * n}, got ${got}, lost ${lost} ` +
        `(${(100 * lost / (2 * n)).toFixed(2)}%) in ${ms.toFixed(0)} ms`,
    );
  }
}

/**
 * 05 · Waiting instead of polling: a futex sleep on a shared word (polling versus interrupts)
 *
 * Two children wait for the same event, a word in shared memory changing from 0 to 1. The
 * poller re-reads the word in a loop (polling: it is always running). The sleeper calls
 * futexWait: the kernel puts it to sleep and the parent's futexWake makes it runnable again
 * (like an interrupt: nothing runs until the event). The parent fires the event after 300 ms;
 * each child reports the CPU time it spent waiting (getrusage).
 *
 * Run: deno run --allow-ffi examples/05_futex.ts
 *
 * @module
 */

import { futexWait, futexWake, SharedMemory } from "../mod.ts";
import { awaitCount, show, startChild } from "./_child.ts";
import { cpuUsage } from "node:process";

const EVENT = 0; // word 0: the event flag
const READY = 1; // word 1: children ready

/** User + system CPU time of this process in ms (getrusage, through node:process). */
function cpuMs(): number {
  const { user, system } = cpuUsage();
  return (user + system) / 1000;
}

if (Deno.args[0] === "child") {
  const [, name, how] = Deno.args;
  using shm = SharedMemory.open(name ?? "");
  const words = shm.int32();
  const cpu0 = cpuMs();
  const t0 = performance.now();
  Atomics.add(words, READY, 1);
  futexWake(words, READY);
  if (how === "poll") {
    while (Atomics.load(words, EVENT) === 0) { /* spin: check again, and again */ }
  } else {
    while (Atomics.load(words, EVENT) === 0) await futexWait(words, EVENT, 0);
  }
  const waited = performance.now() - t0;
  const cpu = cpuMs() - cpu0;
  console.log(
    `${how}: saw the event after ${waited.toFixed(0)} ms, using ${cpu.toFixed(1)} ms of CPU`,
  );
} else {
  using shm = SharedMemory.temporary({ size: 64 });
  const words = shm.int32();
  const children = ["poll", "sleep"].map((how) =>
    startChild(import.meta.url, ["child", shm.name, how])
  );
  await awaitCount(words, READY, 2);
  await new Promise((r) => setTimeout(r, 300));
  Atomics.store(words, EVENT, 1);
  console.log(`parent: event fired, futexWake woke ${futexWake(words, EVENT)} sleeper(s)`);
  for (const [i, c] of children.entries()) {
    const out = await c.output();
    if (!out.status.success) throw new Error("a child failed");
    show(i === 0 ? "poller" : "sleeper", new TextDecoder().decode(out.stdout));
  }
}

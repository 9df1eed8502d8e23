/**
 * 20 · Polling versus interrupts: what waiting costs in CPU time
 *
 * Two processes wait for the same event, a flag in shared memory that the parent sets after
 * half a second. The poller asks again and again ("is it set yet?"), like a CPU polling a
 * device; the sleeper asks the kernel to wake it when the flag changes (a futex wait), like a
 * device raising an interrupt. Both notice the flag; the CPU time the kernel accounted to each
 * (from wait4) shows the price of polling: a whole core for the whole wait, against almost
 * nothing (each figure includes some 40 ms of Deno starting up). What polling buys is a
 * reaction without a kernel wake-up in between, which matters only for waits of microseconds.
 *
 * Run: deno run --allow-ffi examples/20_polling_vs_interrupts.ts
 *
 * @module
 */

import { futexWaitSync, futexWake, SharedMemory, spawnDeno } from "../mod.ts";
import { awaitCount } from "./_child.ts";

const FLAG = 0; // word 0: 0 until the event
const READY = 1; // word 1: children ready to wait
const WAIT_MS = 500;

if (Deno.args[0] === "poller" || Deno.args[0] === "sleeper") {
  const [role, name = ""] = Deno.args;
  using shm = SharedMemory.open(name);
  const w = shm.int32(0, 2);
  Atomics.add(w, READY, 1);
  futexWake(w, READY);
  if (role === "poller") {
    while (Atomics.load(w, FLAG) === 0) { /* is it set yet? */ }
  } else {
    while (Atomics.load(w, FLAG) === 0) futexWaitSync(w, FLAG, 0);
  }
} else {
  using shm = SharedMemory.temporary({ size: 64 });
  const w = shm.int32(0, 2);
  const poller = spawnDeno(import.meta.url, { args: ["poller", shm.name] });
  const sleeper = spawnDeno(import.meta.url, { args: ["sleeper", shm.name] });
  await awaitCount(w, READY, 2);
  await new Promise((r) => setTimeout(r, WAIT_MS));
  Atomics.store(w, FLAG, 1);
  futexWake(w, FLAG);
  const [p, s] = [await poller.status, await sleeper.status];
  if (!p.success || !s.success) throw new Error("a child failed");
  console.log(`both waited about ${WAIT_MS} ms for a flag in shared memory:`);
  const cpu = (st: typeof p): number => st.cpuTime.user + st.cpuTime.system;
  for (const [label, st] of [["poller ", p], ["sleeper", s]] as const) {
    console.log(
      `  ${label} CPU time ${cpu(st).toFixed(0).padStart(4)} ms ` +
        `(user ${st.cpuTime.user.toFixed(0)}, system ${st.cpuTime.system.toFixed(0)})`,
    );
  }
  console.log(
    `polling used ${(cpu(p) / Math.max(cpu(s), 1)).toFixed(1)}× the CPU time of sleeping`,
  );
}

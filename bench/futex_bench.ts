/**
 * Futex wake-to-wake round trip between two processes: this process stores an odd value in a
 * shared word and wakes the peer; the peer (bench/_futex_peer.ts) stores value + 1 and wakes
 * back. The C yardstick is the baseline's `shmfutex lat` (bench/c/baseline.c);
 * `deno task bench:c` runs both and prints the ratio.
 *
 * Run: deno bench -A bench/futex_bench.ts
 *
 * @module
 */

import { futexWait, futexWaitSync, futexWake, SharedMemory } from "../mod.ts";

const shm = SharedMemory.temporary({ size: 64 });
const w = shm.int32();
const peer = new Deno.Command(Deno.execPath(), {
  args: ["run", "--allow-ffi", new URL("./_futex_peer.ts", import.meta.url).pathname, shm.name],
}).spawn();
while (Atomics.load(w, 1) === 0) await futexWait(w, 1, 0, { timeout: 10_000 });
shm.unlink(); // the peer has it mapped: nothing is left if the run dies
peer.unref();

let seq = 0;

Deno.bench({
  group: "futex round trip",
  name: "futexWaitSync (blocking, like C)",
  baseline: true,
  fn(): void {
    const v = seq + 1;
    Atomics.store(w, 0, v);
    futexWake(w, 0, 1);
    for (let x = Atomics.load(w, 0); x === v; x = Atomics.load(w, 0)) futexWaitSync(w, 0, v);
    seq = v + 1;
  },
});

Deno.bench({
  group: "futex round trip",
  name: "futexWait (async: spin, then the wait core)",
  async fn(): Promise<void> {
    const v = seq + 1;
    Atomics.store(w, 0, v);
    futexWake(w, 0, 1);
    for (let x = Atomics.load(w, 0); x === v; x = Atomics.load(w, 0)) await futexWait(w, 0, v);
    seq = v + 1;
  },
});

Deno.bench({
  group: "futex round trip",
  name: "busy poll on this side (no futex wait here)",
  fn(): void {
    const v = seq + 1;
    Atomics.store(w, 0, v);
    futexWake(w, 0, 1);
    while (Atomics.load(w, 0) === v) { /* spin */ }
    seq = v + 1;
  },
});

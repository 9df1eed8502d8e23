// The other process of the futex benchmark: answers every odd value of word 0 with value + 1
// and a wake, sleeping with futexWaitSync in between (a pure futex ping-pong, like the C
// harness's shmfutex). Exits after 3 s without a ping, so it never outlives the benchmark.
import { futexWaitSync, futexWake, SharedMemory } from "../mod.ts";

using shm = SharedMemory.open(Deno.args[0] ?? "");
const w = shm.int32();
Atomics.store(w, 1, 1); // ready
futexWake(w, 1);
for (;;) {
  const v = Atomics.load(w, 0);
  if (v % 2 === 1) {
    Atomics.store(w, 0, v + 1);
    futexWake(w, 0, 1);
    continue;
  }
  if (futexWaitSync(w, 0, v, 3000) === "timed-out" && Atomics.load(w, 0) === v) break;
}

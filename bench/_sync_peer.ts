// The answering side of bench/_sync_io.ts: usage _sync_peer.ts KIND SHM SYSV_ID. Runs until
// killed, or exits after 60 s without a ping (benchmarks of other groups run in between).
import { Semaphore, SharedCondition, SharedMemory, SharedMutex, SysVSemaphoreSet } from "../mod.ts";
import { LAYOUT } from "./_sync_io.ts";

const [kind, name = "", id = "0"] = Deno.args;
using shm = SharedMemory.open(name);
const w = shm.int32();
using ab = Semaphore.at(shm, LAYOUT.semAB);
using ba = Semaphore.at(shm, LAYOUT.semBA);
using set = SysVSemaphoreSet.openId(Number(id));
const mutex = SharedMutex.at(shm, LAYOUT.mutex);
const cond = SharedCondition.at(shm, LAYOUT.cond);
Atomics.store(w, LAYOUT.ready, 1);
/** Runs `wait`; false when its timeout passed (the benchmarks are over). */
const waited = (wait: () => void): boolean => {
  try {
    wait();
    return true;
  } catch (e) {
    if (e instanceof DOMException && e.name === "TimeoutError") return false;
    throw e;
  }
};
if (kind === "psem") {
  while (waited(() => ab.waitSync({ timeout: 60_000 }))) ba.post();
} else if (kind === "sysv") {
  while (waited(() => set.opSync([{ index: 0, op: -1 }], { timeout: 60_000 }))) set.post(1);
} else {
  let turn = 2;
  for (;;) {
    using g = await mutex.lock();
    while (w[LAYOUT.turn] !== turn) await cond.wait(g, { timeout: 60_000 });
    w[LAYOUT.turn] = turn + 1;
    turn += 2;
    cond.notify();
  }
}

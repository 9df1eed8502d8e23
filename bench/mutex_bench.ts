/**
 * Mutexes: the cost of an uncontended lock + unlock (SharedMutex `tryLock`, `lockSync`, async
 * `lock` with `using`; the robust pthread mutex, locked on this thread), and the contended
 * hand-off round trip between two processes: a monitor ping-pong (SharedMutex + SharedCondition
 * + a turn word), where each side takes the lock, hands the turn over, notifies and waits for
 * it back. `deno task bench:c` prints its ratio to C's `shmfutex` and `shmsem` round trips.
 *
 * Run: deno bench -A bench/mutex_bench.ts
 *
 * @module
 */

import { PthreadMutex, SharedMemory, SharedMutex, WOULD_BLOCK } from "../mod.ts";
import { startPingPong } from "./_sync_io.ts";

const shm = SharedMemory.temporary({ size: 128 });
const mutex = SharedMutex.init(shm, 0);
const robust = PthreadMutex.init(shm, 64);

Deno.bench({
  group: "uncontended lock + unlock",
  name: "SharedMutex: tryLock + unlock",
  baseline: true,
  fn(): void {
    const g = mutex.tryLock();
    if (g !== WOULD_BLOCK) g.unlock();
  },
});
Deno.bench({
  group: "uncontended lock + unlock",
  name: "SharedMutex: lockSync + unlock (using)",
  fn(): void {
    using _g = mutex.lockSync();
  },
});
Deno.bench({
  group: "uncontended lock + unlock",
  name: "SharedMutex: await lock() + unlock (using)",
  async fn(): Promise<void> {
    using _g = await mutex.lock();
  },
});
Deno.bench({
  group: "uncontended lock + unlock",
  name: "PthreadMutex (robust, C-compatible): lockSync + unlock",
  fn(): void {
    using _g = robust.lockSync();
  },
});
Deno.bench({
  group: "uncontended lock + unlock",
  name: "PthreadMutex: tryLock + unlock",
  fn(): void {
    const g = robust.tryLock();
    if (g !== WOULD_BLOCK) g.unlock();
  },
});

const monitor = await startPingPong("monitor");
Deno.bench({
  group: "hand-off round trip between two processes",
  name: "monitor ping-pong (SharedMutex + SharedCondition), async both sides",
  baseline: true,
  fn: monitor.roundTrip,
});

globalThis.addEventListener("unload", () => {
  shm.close();
  monitor.close();
});

/**
 * Semaphores: the cost of an uncontended take-and-give (POSIX `tryWait` + `post`, System V
 * `tryWait` + `post`, a POSIX permit with `using`), and the post → wait round trip between two
 * processes (ping-pong through two semaphores; the peer blocks in `waitSync`/`opSync`). C's
 * `shmsem` round trip, against which `deno task bench:c` prints the ratio, is the same ping-pong.
 *
 * Run: deno bench -A bench/semaphore_bench.ts
 *
 * @module
 */

import { Semaphore, SharedMemory, SysVSemaphoreSet } from "../mod.ts";
import { startPingPong } from "./_sync_io.ts";

const shm = SharedMemory.temporary({ size: 64 });
const sem = Semaphore.init(shm, 0, { value: 1 });
const named = Semaphore.temporary({ value: 1 });
const set = SysVSemaphoreSet.temporary({ count: 1, initial: 1 });

Deno.bench({
  group: "uncontended take + give",
  name: "POSIX semaphore in shm: tryWait + post",
  baseline: true,
  fn(): void {
    sem.tryWait();
    sem.post();
  },
});
Deno.bench({
  group: "uncontended take + give",
  name: "named POSIX semaphore: tryWait + post",
  fn(): void {
    named.tryWait();
    named.post();
  },
});
Deno.bench({
  group: "uncontended take + give",
  name: "POSIX semaphore: await acquire() + release (a permit)",
  async fn(): Promise<void> {
    using _p = await sem.acquire();
  },
});
Deno.bench({
  group: "uncontended take + give",
  name: "System V set: tryWait + post",
  fn(): void {
    set.tryWait(0);
    set.post(0);
  },
});

const psem = await startPingPong("psem");
const sysv = await startPingPong("sysv");
Deno.bench({
  group: "post → wait round trip between two processes",
  name: "POSIX: waitSync here ⇄ waitSync (both block, like C)",
  baseline: true,
  fn: psem.roundTripSync,
});
Deno.bench({
  group: "post → wait round trip between two processes",
  name: "POSIX: await wait() here ⇄ waitSync",
  fn: psem.roundTrip,
});
Deno.bench({
  group: "post → wait round trip between two processes",
  name: "System V: opSync here ⇄ opSync",
  fn: sysv.roundTripSync,
});
Deno.bench({
  group: "post → wait round trip between two processes",
  name: "System V: await wait() here ⇄ opSync",
  fn: sysv.roundTrip,
});

globalThis.addEventListener("unload", () => {
  sem.close();
  named.close();
  set.close();
  shm.close();
  psem.close();
  sysv.close();
});

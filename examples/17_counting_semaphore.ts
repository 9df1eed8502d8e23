/**
 * 17 · A counting semaphore lets at most 3 of 10 processes into a section at once
 *
 * A binary semaphore is a lock; a counting semaphore with value 3 is a room with three chairs.
 * Ten processes each wait on one named semaphore, stay inside for a moment, and post on the way
 * out. Every entry and exit is logged in shared memory with the number inside at that instant;
 * the parent prints the timeline and the most that were ever inside together.
 *
 * Run: deno run --allow-ffi examples/17_counting_semaphore.ts
 *
 * @module
 */

import { Semaphore, SharedMemory, spawnDeno } from "../mod.ts";

const INSIDE = 0; // word 0: how many are inside now
const EVENTS = 1; // word 1: how many events are logged
const LOG = 2; // words 2..: one event each: (who + 1) * 100 + inside, negative on the way out
const PROCESSES = 10;
const CHAIRS = 3;

if (Deno.args[0] === "child") {
  const [, semName = "", shmName = "", who = "0"] = Deno.args;
  using sem = Semaphore.open(semName);
  using shm = SharedMemory.open(shmName);
  const w = shm.int32();
  const me = Number(who) + 1;
  const log = (event: number): void => {
    Atomics.store(w, LOG + Atomics.add(w, EVENTS, 1), event);
  };
  {
    using _chair = await sem.acquire({ timeout: 30_000 });
    log(me * 100 + Atomics.add(w, INSIDE, 1) + 1);
    await new Promise((r) => setTimeout(r, 20 + 10 * (me % 3)));
    log(-(me * 100 + Atomics.sub(w, INSIDE, 1) - 1));
  }
} else {
  using sem = Semaphore.temporary({ value: CHAIRS });
  using shm = SharedMemory.temporary({ size: 4 * (LOG + 2 * PROCESSES) });
  const w = shm.int32();
  console.log(`${PROCESSES} processes, a semaphore with value ${CHAIRS}:`);
  const children = Array.from(
    { length: PROCESSES },
    (_, i) => spawnDeno(import.meta.url, { args: ["child", sem.name, shm.name, String(i)] }),
  );
  for (const c of children) {
    if (!(await c.status).success) throw new Error("a child failed");
  }
  let most = 0;
  for (let i = 0; i < Atomics.load(w, EVENTS); i++) {
    const e = w[LOG + i] ?? 0;
    const who = Math.floor(Math.abs(e) / 100);
    const inside = Math.abs(e) % 100;
    most = Math.max(most, inside);
    const bar = "#".repeat(inside).padEnd(CHAIRS + 1);
    console.log(`  ${bar} P${who} ${e > 0 ? "enters" : "leaves"} (${inside} inside)`);
  }
  console.log(`at most ${most} inside at once (limit ${CHAIRS}); semaphore value now ${sem.value}`);
}

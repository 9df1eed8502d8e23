/**
 * 19 · A lock holder killed with SIGKILL, and the next process recovering
 *
 * A process that dies inside a critical section cannot unlock. With a plain lock everyone else
 * would wait forever. Here a child takes a SharedMutex, starts moving 100 from account A to
 * account B in shared memory, and is killed (SIGKILL) half-way: A is debited, B not credited.
 * The next locker is told `ownerDied: true`, repairs the data from a journal entry the holder
 * wrote first, and marks the mutex consistent. The same happens with the C-compatible robust
 * pthread mutex, where the kernel itself reports the death (EOWNERDEAD).
 *
 * Run: deno run --allow-ffi examples/19_owner_death.ts
 *
 * @module
 */

import { futexWake, PthreadMutex, SharedMemory, SharedMutex, spawnDeno } from "../mod.ts";
import { awaitCount } from "./_child.ts";

const MUTEX_AT = 0; // SharedMutex: 16 bytes
const PTHREAD_AT = 64; // pthread_mutex_t: 40 or 48 bytes
// Words from byte 128 on:
const A = 32; // balance of account A
const B = 33; // balance of account B
const JOURNAL = 34; // the amount of a transfer in progress (0: none)
const STAGE = 35; // 1 once the child holds the lock and has debited A

if (Deno.args[0] === "child") {
  const [, name = "", kind] = Deno.args;
  using shm = SharedMemory.open(name);
  const w = shm.int32();
  if (kind === "shared") await SharedMutex.at(shm, MUTEX_AT).lock();
  else PthreadMutex.at(shm, PTHREAD_AT).lockSync();
  Atomics.store(w, JOURNAL, 100); // journal first: "moving 100 from A to B"
  Atomics.sub(w, A, 100);
  Atomics.store(w, STAGE, 1); // …and here it is killed, before crediting B
  futexWake(w, STAGE);
  await new Promise(() => setInterval(() => {}, 1 << 30));
} else {
  using shm = SharedMemory.temporary({ size: 256 });
  const w = shm.int32();
  const shared = SharedMutex.init(shm, MUTEX_AT);
  const robust = PthreadMutex.init(shm, PTHREAD_AT);
  for (const kind of ["shared", "pthread"] as const) {
    Atomics.store(w, A, 1000);
    Atomics.store(w, B, 1000);
    Atomics.store(w, STAGE, 0);
    const child = spawnDeno(import.meta.url, { args: ["child", shm.name, kind] });
    await awaitCount(w, STAGE, 1);
    console.log(`${kind === "shared" ? "SharedMutex" : "PthreadMutex (robust, C-compatible)"}:`);
    console.log(`  child ${child.pid} holds the lock, mid-transfer: A=${w[A]} B=${w[B]}`);
    child.kill("SIGKILL");
    console.log(`  child killed: ${(await child.status).signal}`);
    using guard = kind === "shared"
      ? await shared.lock({ timeout: 10_000 })
      : await robust.lock({ timeout: 10_000 });
    console.log(`  next locker: ownerDied ${guard.ownerDied}`);
    if (guard.ownerDied) {
      const amount = Atomics.load(w, JOURNAL);
      if (amount !== 0 && (w[A] ?? 0) + (w[B] ?? 0) !== 2000) Atomics.add(w, B, amount);
      Atomics.store(w, JOURNAL, 0);
      guard.markConsistent();
      console.log(
        `  repaired from the journal: A=${w[A]} B=${w[B]} (total ${(w[A] ?? 0) + (w[B] ?? 0)})`,
      );
    }
  }
  console.log(`SharedMutex state: ${shared.state}`);
}

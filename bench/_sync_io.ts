// Ping-pong between two processes through each synchronization primitive, for the benchmarks
// and `deno task bench:c`. This process "pings", the peer (bench/_sync_peer.ts) answers:
//   psem     two unnamed POSIX semaphores in shared memory: post A→B, wait B→A (C: shmsem)
//   sysv     a System V set of two: +1 on 0, −1 on 1
//   monitor  a SharedMutex, a SharedCondition and a turn word: hand the turn over, wait for it
// The peer always waits the blocking way (waitSync / opSync) except for the monitor, whose
// condition waits are async only.
import { Semaphore, SharedCondition, SharedMemory, SharedMutex, SysVSemaphoreSet } from "../mod.ts";

/** The primitives a ping-pong can go through. */
export type SyncKind = "psem" | "sysv" | "monitor";

/** Where things live in the shared memory. */
export const LAYOUT = { semAB: 0, semBA: 32, mutex: 64, cond: 80, turn: 24, ready: 25 } as const;

const PEER = new URL("./_sync_peer.ts", import.meta.url).pathname;

/** One side of a running ping-pong. */
export interface PingPong {
  /** One round trip, this side waiting without blocking the event loop. */
  roundTrip(): Promise<void>;
  /** One round trip, this side blocking (as C does); not for the monitor. */
  roundTripSync(): void;
  /** Frees everything and stops the peer (synchronous, so it can run at unload). */
  close(): void;
}

/** Starts a peer process for `kind` and returns this side's round trip. */
export async function startPingPong(kind: SyncKind): Promise<PingPong> {
  const shm = SharedMemory.temporary({ size: 128 });
  const w = shm.int32();
  const ab = Semaphore.init(shm, LAYOUT.semAB, { value: 0 });
  const ba = Semaphore.init(shm, LAYOUT.semBA, { value: 0 });
  const mutex = SharedMutex.init(shm, LAYOUT.mutex);
  const cond = SharedCondition.init(shm, LAYOUT.cond);
  const set = SysVSemaphoreSet.temporary({ count: 2 });
  const peer = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", PEER, kind, shm.name, String(set.id)],
  }).spawn();
  while (Atomics.load(w, LAYOUT.ready) === 0) await new Promise((r) => setTimeout(r, 2));
  let turn = 1;
  const roundTrip = async (): Promise<void> => {
    if (kind === "psem") {
      ab.post();
      await ba.wait({ timeout: 10_000 });
    } else if (kind === "sysv") {
      set.post(0);
      await set.wait(1, { timeout: 10_000 });
    } else {
      using g = await mutex.lock({ timeout: 10_000 });
      w[LAYOUT.turn] = turn + 1; // the peer's turn
      cond.notify();
      while (w[LAYOUT.turn] !== turn + 2) await cond.wait(g, { timeout: 10_000 });
      turn += 2;
    }
  };
  const roundTripSync = (): void => {
    if (kind === "psem") {
      ab.post();
      ba.waitSync({ timeout: 10_000 }); // TimeoutError: the peer stopped answering
    } else if (kind === "sysv") {
      set.post(0);
      set.opSync([{ index: 1, op: -1 }], { timeout: 10_000 }); // TimeoutError: the peer stopped
    } else {
      throw new Error("the monitor has no blocking condition wait");
    }
  };
  return {
    roundTrip,
    roundTripSync,
    close(): void {
      try {
        peer.kill();
      } catch { /* already gone */ }
      ab.close();
      ba.close();
      set.close();
      shm.close();
    },
  };
}

/**
 * 25 · Trust no peer: garbage, escaped buffers and a thousand waits
 *
 * Shared memory is shared with whoever can open it, so dipc reads every word there as untrusted
 * input. First a child process takes a ring channel and writes garbage over its records while
 * this process receives: the receiver reports ErrnoError EPROTO, naming the word it refused,
 * once, and then end of stream; it never hands out a stale or impossible message and never loops
 * forever. Then a buffer over shared memory escapes (transferred away, as a BYOB stream read or a
 * postMessage does) and the memory is closed: the escaped buffer reads zeros instead of killing
 * the process. Last, a thousand idle waits are pending at once, and a 100 ms timeout still fires
 * on time: every wait in the process shares a few threads of the wait core.
 *
 * Run: deno run --allow-ffi examples/25_trust_no_peer.ts
 *
 * @module
 */

import { ErrnoError, futexWait, futexWake, RingChannel, SharedMemory } from "../mod.ts";
import { runSelf } from "./_child.ts";

if (Deno.args[0] === "vandal") {
  // The hostile peer: opens the channel's memory and writes lengths no record can have.
  using shm = SharedMemory.open(Deno.args[1] ?? "");
  const words = shm.int32();
  for (let i = 4096 / 4; i < words.length; i += 2) words[i] = 0x3fff_fff0; // "1 GiB messages"
  console.log("wrote garbage over every record word");
} else {
  console.log("1. a ring channel whose records a peer overwrote");
  using channel = RingChannel.temporary({ capacity: 4096 });
  using rx = channel.receiver();
  using tx = channel.sender();
  for (let i = 0; i < 5; i++) tx.trySend(new TextEncoder().encode(`message ${i}`));
  const first = rx.tryReceive();
  console.log(`  received ${JSON.stringify(new TextDecoder().decode(first as Uint8Array))}`);
  for (
    const line of (await runSelf(import.meta.url, ["vandal", channel.name]))
      .trim().split("\n")
  ) console.log(`  [peer] ${line}`);
  try {
    rx.tryReceive();
    console.log("  the receiver trusted the garbage (this should not happen)");
  } catch (e) {
    if (!(e instanceof ErrnoError)) throw e;
    console.log(
      `  ${e.code}: ${e.message.replace(/^.*: ring failed with EPROTO \(Protocol error\): /, "")}`,
    );
  }
  console.log(
    `  next receive: ${String(rx.tryReceive())} (the channel is not trusted any more)`,
  );

  console.log("2. a buffer that escaped from shared memory, then the memory closed");
  const shm = SharedMemory.temporary({ size: 4096 });
  shm.bytes.fill(7);
  const escaped = new Uint8Array(shm.bytes.buffer.transfer()); // as a BYOB read would take it
  console.log(`  before close the escaped buffer reads ${escaped[0]}`);
  shm.close();
  escaped[1] = 1; // would be SIGSEGV over unmapped memory
  console.log(
    `  after close it reads ${escaped[0]}: private zero pages stand where the mapping was`,
  );

  console.log("3. a thousand idle waits, and a timer still on time");
  using words = SharedMemory.temporary({ size: 4096 });
  const w = words.int32();
  const idle = Array.from({ length: 1000 }, (_, i) => futexWait(w, i, 0));
  const t0 = performance.now();
  const r = await futexWait(w, 1000 % w.length, 0, { timeout: 100 });
  const ms = performance.now() - t0;
  console.log(`  with 1,000 waits pending, a 100 ms wait ended "${r}" after ${Math.round(ms)} ms`);
  for (let i = 0; i < 1000; i++) {
    Atomics.store(w, i, 1);
    futexWake(w, i);
  }
  const results = await Promise.all(idle);
  console.log(`  then all ${results.filter((x) => x === "ok").length} woke`);
}

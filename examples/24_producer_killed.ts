/**
 * 24 · A producer killed mid-stream
 *
 * A shared-memory channel has no kernel object to notice that a process died, so dipc does it:
 * a receiver that has waited in vain for 20 ms checks, through `/proc`, that its senders are
 * still alive. Here a child sends numbered messages as fast as it can and is killed with SIGKILL
 * in the middle. The parent still gets every message the child had committed, each one whole,
 * and then an ErrnoError ECONNRESET ("a sender died") instead of waiting forever. In a second
 * round, with several senders allowed, the child dies holding a half-written reservation: the
 * receiver skips it and never hands out a partial message.
 *
 * Run: deno run --allow-ffi examples/24_producer_killed.ts
 *
 * @module
 */

import { END_OF_STREAM, ErrnoError, RingChannel, spawnDeno, WOULD_BLOCK } from "../mod.ts";

const SIZE = 256;

if (Deno.args[0] === "producer") {
  const [, name = "", how] = Deno.args;
  using channel = RingChannel.open(name);
  using tx = channel.sender();
  const m = new Uint8Array(SIZE);
  for (let n = 0;; n++) {
    m.fill(n & 255);
    new DataView(m.buffer).setUint32(0, n, true);
    if (how === "reserve" && n === 1000) {
      tx.reserveSync(SIZE).fill(0xee, 0, 100); // half written, never committed
      console.log("holding a half-written reservation");
      await new Promise((r) => setTimeout(r, 60_000));
    }
    if (tx.trySend(m) === WOULD_BLOCK) tx.sendSync(m);
  }
} else {
  for (const how of ["send", "reserve"]) {
    using channel = RingChannel.temporary({ capacity: 1 << 16, multiProducer: how === "reserve" });
    using rx = channel.receiver();
    const child = spawnDeno(import.meta.url, {
      args: ["producer", channel.name, how],
      stdout: "piped",
    });
    const into = new Uint8Array(SIZE);
    let received = 0;
    let whole = 0;
    let ending = "";
    let atKill = 0;
    for (;;) {
      let n: number | typeof END_OF_STREAM;
      try {
        n = await rx.receiveInto(into, { timeout: 30_000 });
      } catch (e) {
        if (!(e instanceof ErrnoError)) throw e;
        ending = `${e.code} (${e.message.includes("a sender died") ? "a sender died" : e.message})`;
        break;
      }
      if (n === END_OF_STREAM) break;
      const k = new DataView(into.buffer).getUint32(0, true);
      if (n === SIZE && k === received && into.subarray(4).every((b) => b === (k & 255))) whole++;
      received++;
      if (received === 2000 && how === "send") {
        atKill = received + Math.floor(channel.stat().used / (SIZE + 8)); // still in the ring
        child.kill("SIGKILL");
      }
      if (received === 1000 && how === "reserve") {
        await new Promise((r) => setTimeout(r, 100)); // let it reserve, then kill it
        atKill = received;
        child.kill("SIGKILL");
      }
    }
    await child.status;
    const label = how === "send" ? "killed while sending" : "killed holding a reservation";
    console.log(
      `${label}: received ${received} messages (at least ${atKill} were committed before the ` +
        `kill), ${whole} whole and in order, then ${ending}`,
    );
  }
}

/**
 * 23 · A large transfer, copied and zero-copy: where each wins
 *
 * 1 MiB messages go from a child to the parent through a 64 MiB ring, four ways.
 * Copying: the child builds each message in a buffer of its own and `send` copies it into the
 * ring; the parent's `receiveInto` copies it out into a buffer of its own. Zero-copy: the child
 * `reserve`s room in the ring and builds the message there; the parent `peek`s at it where it
 * lies and `release`s it. Zero-copy saves two 1 MiB copies per message, and nothing else.
 *
 * So it wins when the two copies are most of the work: here, messages whose receiver reads
 * only a small header (a frame number, say) and whose sender writes only that header. It
 * gains little, and can lose, when both sides touch every byte anyway (here a hash of every
 * 32-bit word on both sides): the copies then cost less than the hashing, and hashing memory
 * the other process is writing next to is slower than hashing a private buffer that stays in
 * this core's cache. Both ends hash what they hashed, so every run also shows the bytes
 * arrived intact. Times run from the first message to the last (the child's start-up is not
 * counted).
 *
 * Run: deno run --allow-ffi examples/23_zero_copy.ts
 *
 * @module
 */

import { END_OF_STREAM, RingChannel } from "../mod.ts";
import { runSelf } from "./_child.ts";

const MESSAGE = 1 << 20;
type Work = "header" | "every word";
/** Messages a run sends: 4 GiB when only headers are touched, 256 MiB when every word is. */
const COUNT: Record<Work, number> = { "header": 4096, "every word": 256 };
/** The ring: 64 MiB, room for 63 messages in flight, so neither side waits for the other much. */
const CAPACITY = 64 << 20;

/** A multiply-add hash of the 32-bit words of a message (all of them, or the 8-byte header). */
function checksum(m: Uint8Array, work: Work): number {
  const n = work === "header" ? 2 : m.length >> 2;
  const words = new Int32Array(m.buffer, m.byteOffset, n);
  let x = 0;
  for (let i = 0; i < n; i++) x = (Math.imul(x, 31) + (words[i] ?? 0)) | 0;
  return x >>> 0;
}

/** Writes message `k`: its header, and with "every word" its whole body too. */
function build(m: Uint8Array, k: number, work: Work): void {
  if (work === "every word") m.fill((k * 37) & 255);
  const view = new DataView(m.buffer, m.byteOffset, 8);
  view.setUint32(0, k, true);
  view.setUint32(4, MESSAGE, true);
}

if (Deno.args[0] === "send") {
  const [, name = "", how, work = "header"] = Deno.args as [string, string, string, Work];
  using channel = RingChannel.open(name);
  using tx = channel.sender();
  let x = 0;
  const own = new Uint8Array(MESSAGE);
  for (let k = 0; k < COUNT[work]; k++) {
    if (how === "zero") {
      const room = tx.reserveSync(MESSAGE, { timeout: 10_000 }); // built in the ring
      build(room, k, work);
      x ^= checksum(room, work);
      tx.commit();
    } else {
      build(own, k, work); // built in a buffer of our own, then copied in
      x ^= checksum(own, work);
      tx.sendSync(own, { timeout: 10_000 });
    }
  }
  console.log(x);
} else {
  const ms: Record<string, number> = {};
  for (const work of ["header", "every word"] as Work[]) {
    for (const how of ["copy", "zero"]) {
      using channel = RingChannel.temporary({ capacity: CAPACITY });
      using rx = channel.receiver();
      const sending = runSelf(import.meta.url, ["send", channel.name, how, work]);
      let x = 0;
      let n = 0;
      let t0 = 0;
      if (how === "zero") {
        for (let m = await rx.peek(); m !== END_OF_STREAM; m = await rx.peek()) {
          if (n++ === 0) t0 = performance.now();
          x ^= checksum(m, work); // read where it lies
          rx.release();
        }
      } else {
        const own = new Uint8Array(MESSAGE);
        for (
          let len = await rx.receiveInto(own);
          len !== END_OF_STREAM;
          len = await rx.receiveInto(own)
        ) {
          if (n++ === 0) t0 = performance.now();
          x ^= checksum(own, work); // copied out first
        }
      }
      const took = performance.now() - t0;
      ms[`${work} ${how}`] = took;
      const sent = Number((await sending).trim());
      const label = how === "zero"
        ? "zero-copy (reserve/commit, peek/release)"
        : "copy (send, receiveInto)";
      console.log(
        `reading ${work === "header" ? "the header" : "every word"}, ${label}: ${n} messages of ` +
          `1 MiB in ${took.toFixed(0)} ms (${(n * MESSAGE / took / 1e3).toFixed(0)} MB/s); ` +
          `checksum ${(x >>> 0).toString(16)}, ${x === sent ? "the same as sent" : "DIFFERENT"}`,
      );
    }
  }
  const ratio = (work: Work): string =>
    ((ms[`${work} copy`] ?? 0) / (ms[`${work} zero`] ?? 1)).toFixed(1);
  console.log(
    `zero-copy ran ${ratio("header")}× as fast as copying when only headers are read, and ` +
      `${ratio("every word")}× when every word is read: it pays where the copies are the work`,
  );
}

/**
 * 23 · A large transfer, copied and zero-copy
 *
 * 256 MiB go from a child to the parent in 1 MiB messages through a 4 MiB ring, twice. First
 * the usual way: the child fills a buffer of its own and `send` copies it into the ring; the
 * parent's `receiveInto` copies it out into a buffer of its own. Then zero-copy: the child
 * `reserve`s room in the ring and fills it there, the parent `peek`s at the message where it
 * lies, checks it, and `release`s it. Both ends hash every 32-bit word: the
 * bytes are the same, with two memory copies fewer per message.
 *
 * Run: deno run --allow-ffi examples/23_zero_copy.ts
 *
 * @module
 */

import { END_OF_STREAM, RingChannel } from "../mod.ts";
import { runSelf } from "./_child.ts";

const MESSAGE = 1 << 20;
const COUNT = 256;

/** A multiply-add hash of the 32-bit words of an 8-byte aligned message. */
function checksum(m: Uint8Array): number {
  const words = new Int32Array(m.buffer, m.byteOffset, m.length >> 2);
  let x = 0;
  for (let i = 0; i < words.length; i++) x = (Math.imul(x, 31) + (words[i] ?? 0)) | 0;
  return x >>> 0;
}
const stamp = (m: Uint8Array, k: number): void => {
  m.fill((k * 37) & 255);
  new DataView(m.buffer, m.byteOffset).setUint32(0, k, true);
};

if (Deno.args[0] === "send") {
  const [, name = "", how] = Deno.args;
  using channel = RingChannel.open(name);
  using tx = channel.sender();
  let x = 0;
  const own = new Uint8Array(MESSAGE);
  for (let k = 0; k < COUNT; k++) {
    if (how === "zero") {
      const room = tx.reserveSync(MESSAGE, { timeout: 10_000 }); // the message is built in the ring
      stamp(room, k);
      x ^= checksum(room);
      tx.commit();
    } else {
      stamp(own, k); // built in a buffer of our own, then copied in
      x ^= checksum(own);
      tx.sendSync(own, { timeout: 10_000 });
    }
  }
  console.log(x);
} else {
  for (const how of ["copy", "zero"]) {
    using channel = RingChannel.temporary({ capacity: 4 << 20 });
    using rx = channel.receiver();
    const t0 = performance.now();
    const sending = runSelf(import.meta.url, ["send", channel.name, how]);
    let x = 0;
    let n = 0;
    if (how === "zero") {
      for (let m = await rx.peek(); m !== END_OF_STREAM; m = await rx.peek()) {
        x ^= checksum(m); // read where it lies
        rx.release();
        n++;
      }
    } else {
      const own = new Uint8Array(MESSAGE);
      for (
        let len = await rx.receiveInto(own);
        len !== END_OF_STREAM;
        len = await rx.receiveInto(own)
      ) {
        x ^= checksum(own); // copied out first
        n++;
      }
    }
    const ms = performance.now() - t0;
    const sent = Number((await sending).trim());
    console.log(
      `${
        how === "zero" ? "zero-copy (reserve/commit, peek/release)" : "copy (send, receiveInto)"
      }: ` +
        `${n} messages of 1 MiB in ${ms.toFixed(0)} ms; checksum ${x.toString(16)}, ` +
        `${x === sent ? "the same as sent" : "DIFFERENT from the sender's"}`,
    );
  }
}

/**
 * 21 · The bounded buffer, built for real: a producer and a consumer process (seed 002)
 *
 * Seed 002's buffer is an array with two indexes: the producer writes at `in`, the consumer
 * reads at `out`; `in == out` means empty and `((in + 1) % BUFFER_SIZE) == out` means full, so
 * one slot always stays unused (otherwise full and empty would look alike). dipc's ring channel
 * counts `in` and `out` in bytes forever instead and reduces them modulo the size only to index
 * the ring: `in == out` is still empty, and full is `in − out + record > capacity`, so every
 * slot can be used. Here the ring has 64 bytes and each item (8 bytes plus an 8-byte record
 * header) takes 16: four items fit. The consumer starts slowly, so the producer finds the
 * buffer full; then the producer slows down, so the consumer finds it empty. Neither spins:
 * each sleeps on a futex until the other side wakes it.
 *
 * Run: deno run --allow-ffi examples/21_bounded_buffer.ts
 *
 * @module
 */

import { END_OF_STREAM, RingChannel, WOULD_BLOCK } from "../mod.ts";
import { runSelf, show } from "./_child.ts";

const ITEMS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function item(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

if (Deno.args[0] === "producer") {
  using channel = RingChannel.open(Deno.args[1] ?? "");
  using tx = channel.sender();
  for (let n = 1; n <= ITEMS; n++) {
    if (n > 14) await sleep(30); // the second half: a slow producer
    if (tx.trySend(item(n)) === WOULD_BLOCK) {
      const { tail, head } = channel.stats();
      console.log(
        `item ${n}: full (in − out + 16 = ${
          tail - head + 16
        } > 64, in=${tail} out=${head}); waiting`,
      );
      await tx.send(item(n), { timeout: 10_000 });
    }
  }
  console.log(`produced ${ITEMS} items`);
} else {
  using channel = RingChannel.temporary({ capacity: 64 });
  using rx = channel.receiver();
  console.log("seed 002: empty when in == out, full when ((in + 1) % BUFFER_SIZE) == out");
  console.log("here:     empty when in == out, full when in − out + record > capacity (64 bytes)");
  const producing = runSelf(import.meta.url, ["producer", channel.name]);
  const got: number[] = [];
  let empties = 0;
  for (;;) {
    if (got.length < 8) await sleep(30); // the first half: a slow consumer
    let m = rx.tryReceive();
    if (m === WOULD_BLOCK) {
      const { tail, head } = channel.stats();
      console.log(
        `consumer: empty (in == out == ${tail === head ? tail : `${tail}/${head}`}); waiting`,
      );
      empties++;
      m = await rx.receive({ timeout: 10_000 });
    }
    if (m === END_OF_STREAM) break;
    got.push(new DataView(m.buffer).getUint32(0, true));
  }
  show("producer", await producing);
  const inOrder = got.every((n, i) => n === i + 1);
  console.log(
    `consumer took ${got.length} items, sum ${got.reduce((a, b) => a + b, 0)}, ` +
      `${inOrder ? "in order" : "OUT OF ORDER"}; found the buffer empty ${empties} times`,
  );
}

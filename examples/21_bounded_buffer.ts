/**
 * 21 · The bounded buffer, built for real: a producer and a consumer process
 *
 * The textbook bounded buffer is an array with two indexes: the producer writes at `in`, the consumer
 * reads at `out`; `in == out` means empty and `((in + 1) % BUFFER_SIZE) == out` means full, so
 * one slot always stays unused (otherwise full and empty would look alike). dipc's ring channel
 * counts `in` and `out` in bytes forever instead and reduces them modulo the size only to index
 * the ring: `in == out` is still empty, and full is `in − out + record > capacity`, so every
 * slot can be used. Here the ring has 64 bytes and each item (8 bytes plus an 8-byte record
 * header) takes 16: four items fit. The consumer starts slowly, so the producer finds the
 * buffer full; then the producer slows down, so the consumer finds it empty. Neither spins:
 * each sleeps on a futex until the other side wakes it. Both processes number what they see from
 * one shared counter (an atomic add in shared memory, so a take is always numbered after the send
 * it took), and the parent prints one timeline of the two, in the order things happened.
 *
 * Run: deno run --allow-ffi examples/21_bounded_buffer.ts
 *
 * @module
 */

import { END_OF_STREAM, RingChannel, SharedMemory, WOULD_BLOCK } from "../mod.ts";
import { runSelf } from "./_child.ts";

const ITEMS = 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The timeline's shared event counter (word 0) and clock start (words 2–3), set per run. */
let events: Int32Array = new Int32Array(4);
/** A line of the timeline: its place in the shared order, when, and who saw what. */
const stamp = (who: string, text: string): string => {
  const seq = Atomics.add(events, 0, 1);
  const ms = performance.timeOrigin + performance.now() - (new Float64Array(events.buffer)[1] ?? 0);
  return `${seq}\t${ms.toFixed(1)}\t${who}\t${text}`;
};

function item(n: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

if (Deno.args[0] === "producer") {
  using channel = RingChannel.open(Deno.args[1] ?? "");
  using clock = SharedMemory.open(Deno.args[2] ?? "");
  events = clock.int32(0, 4);
  using tx = channel.sender();
  for (let n = 1; n <= ITEMS; n++) {
    if (n > 14) await sleep(30); // the second half: a slow producer
    console.log(stamp("producer", `sends item ${n}`));
    if (tx.trySend(item(n)) === WOULD_BLOCK) {
      const { tail, head } = channel.stat();
      const rule = `in − out + 16 = ${tail - head + 16} > 64, in=${tail} out=${head}`;
      console.log(stamp("producer", `item ${n}: full (${rule}); waiting`));
      await tx.send(item(n), { timeout: 10_000 });
    }
  }
  console.log(stamp("producer", `produced ${ITEMS} items`));
} else {
  using channel = RingChannel.temporary({ capacity: 64 });
  using rx = channel.receiver();
  console.log("the textbook rule: empty when in == out, full when ((in + 1) % BUFFER_SIZE) == out");
  console.log("here:     empty when in == out, full when in − out + record > capacity (64 bytes)");
  using clock = SharedMemory.temporary({ size: 16 });
  events = clock.int32(0, 4);
  new Float64Array(events.buffer)[1] = performance.timeOrigin + performance.now();
  const producing = runSelf(import.meta.url, ["producer", channel.name, clock.name]);
  const got: number[] = [];
  const timeline: string[] = [];
  let empties = 0;
  for (;;) {
    if (got.length < 8) await sleep(30); // the first half: a slow consumer
    let m = rx.tryReceive();
    if (m === WOULD_BLOCK) {
      const { tail, head } = channel.stat();
      const at = tail === head ? `${tail}` : `${tail}/${head}`;
      timeline.push(stamp("consumer", `empty (in == out == ${at}); waiting`));
      empties++;
      m = await rx.receive({ timeout: 10_000 });
    }
    if (m === END_OF_STREAM) break;
    got.push(new DataView(m.buffer).getUint32(0, true));
    timeline.push(stamp("consumer", `took item ${got.at(-1)}`));
  }
  timeline.push(...(await producing).trimEnd().split("\n"));
  // One timeline, in the order things happened in the two processes.
  const order = timeline.map((l) => l.split("\t")).map(([seq, ms, who, text]) => ({
    seq: Number(seq),
    ms: ms ?? "",
    who: who ?? "",
    text: text ?? "",
  })).sort((a, b) => a.seq - b.seq);
  for (const e of order) {
    console.log(
      `  ${String(e.seq).padStart(3)}  +${e.ms.padStart(5)} ms  ${e.who.padEnd(8)}  ${e.text}`,
    );
  }
  const inOrder = got.every((n, i) => n === i + 1);
  console.log(
    `consumer took ${got.length} items, sum ${got.reduce((a, b) => a + b, 0)}, ` +
      `${inOrder ? "in order" : "OUT OF ORDER"}; found the buffer empty ${empties} times`,
  );
}

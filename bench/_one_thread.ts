// What a message costs in one thread that is both ends, the same work as bench/c/baseline.c's
// `one` mode: no CPU-to-CPU traffic and no waiting, only the code's own cost, which holds still
// from run to run where a cross-process figure on two vCPUs does not. The thread is pinned to
// the first CPU this process may use, as C's is.
//
// usage: _one_thread.ts MECH SIZE [SECONDS]
//   ring          trySend one message, tryReceiveInto it
//   ring-batch    trySendBatch 64 messages (fewer when 65 do not fit), tryReceiveBatch them
//   pipe          tryWrite SIZE bytes on a pipe, tryRead them
//   pmq           POSIX queue trySend, tryReceiveInto (receipt kept)
//   sysvmq        System V queue trySend, tryReceiveInto (receipt kept)
// Prints: RESULT lang=deno mech=… mode=one size=… batch=… ns_per_msg=… msgps=…
import { MessageQueue, Pipe, RingChannel, SysVMessageQueue, WOULD_BLOCK } from "../mod.ts";
import { clockNs, cpuAffinity, pinToCpus } from "../ffi/util.ts";

const [mech = "ring", sizeArg = "64", secondsArg = "0.5"] = Deno.args;
const size = Number(sizeArg);
const seconds = Number(secondsArg);
if (!Number.isInteger(size) || size < 1 || size > 1 << 20) throw new RangeError("SIZE: 1 to 1 MiB");

/** Runs `once` (moving `per` messages) in rounds of 64 until `seconds` pass; ns a message. */
function measure(per: number, once: () => void): number {
  const warm = clockNs() + 0.1e9;
  while (clockNs() < warm) for (let i = 0; i < 64; i++) once();
  let messages = 0;
  const t0 = clockNs();
  const until = t0 + seconds * 1e9;
  let t1 = t0;
  do {
    for (let i = 0; i < 64; i++) once();
    messages += 64 * per;
  } while ((t1 = clockNs()) < until);
  return (t1 - t0) / messages;
}

const fail = (what: string): never => {
  throw new Error(`${mech}: ${what}`);
};
const cpu = cpuAffinity()[0];
if (cpu !== undefined) pinToCpus([cpu]);
const msg = new Uint8Array(size).fill(0x6f);
const into = new Uint8Array(size);
let batch = 1;
let ns: number;
if (mech === "ring" || mech === "ring-batch") {
  // The C ring's capacity rule: 1 MiB, or the smallest power of two a message fits in.
  let capacity = 1 << 20;
  while (capacity / 2 - 8 < size) capacity *= 2;
  using ch = RingChannel.temporary({ capacity });
  using rx = ch.receiver();
  using tx = ch.sender();
  if (mech === "ring") {
    ns = measure(1, () => {
      if (tx.trySend(msg) === WOULD_BLOCK) fail("the ring is full");
      if (rx.tryReceiveInto(into) !== size) fail("the ring lost a message");
    });
  } else {
    batch = 64;
    const record = 8 + ((size + 7) & ~7);
    while (batch > 1 && Math.floor(capacity / record) < batch + 1) batch >>= 1;
    const messages = Array.from({ length: batch }, () => new Uint8Array(size).fill(0x6f));
    const all = new Uint8Array(batch * size);
    const lengths = new Uint32Array(batch);
    ns = measure(batch, () => {
      if (tx.trySendBatch(messages) !== batch) fail("the ring is full");
      if (rx.tryReceiveBatch(all, lengths) !== batch) fail("the ring lost a message");
    });
  }
} else if (mech === "pipe") {
  using pipe = Pipe.create();
  if (size > 65536) pipe.writer.setCapacity(1 << 21); // a whole message fits, as in C (writes loop there)
  ns = measure(1, () => {
    if (pipe.writer.tryWrite(msg) !== size) fail("short write");
    for (let got = 0; got < size;) {
      const n = pipe.reader.tryRead(got === 0 ? into : into.subarray(got));
      if (typeof n !== "number") fail("nothing to read");
      got += n as number;
    }
  });
} else if (mech === "pmq") {
  if (size > 8192) fail("a queue message is at most 8192 bytes here");
  using mq = MessageQueue.temporary({ maxMessages: 2, messageSize: size });
  const receipt = { length: 0, priority: 0 };
  ns = measure(1, () => {
    if (mq.trySend(msg) === WOULD_BLOCK) fail("the queue is full");
    const r = mq.tryReceiveInto(into, receipt);
    if (r === WOULD_BLOCK || r.length !== size) fail("the queue lost a message");
  });
} else if (mech === "sysvmq") {
  if (size > 8192) fail("a queue message is at most 8192 bytes here");
  using q = SysVMessageQueue.temporary();
  const options = { receipt: { length: 0, type: 0 as number | bigint } };
  ns = measure(1, () => {
    if (q.trySend(msg) === WOULD_BLOCK) fail("the queue is full");
    const r = q.tryReceiveInto(into, options);
    if (r === WOULD_BLOCK || r.length !== size) fail("the queue lost a message");
  });
} else {
  throw new TypeError(`unknown mechanism ${mech}: ring, ring-batch, pipe, pmq, sysvmq`);
}
console.log(
  `RESULT lang=deno mech=${mech} mode=one size=${size} pin=${cpu === undefined ? "none" : "one"} ` +
    `batch=${batch} ns_per_msg=${ns.toFixed(2)} msgps=${(1e9 / ns).toFixed(0)}`,
);

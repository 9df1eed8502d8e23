/**
 * 15 · Blocking and non-blocking send and receive on a full and an empty queue
 *
 * The textbook definitions: a blocking send waits until the message can be delivered, a blocking
 * receive waits until a message arrives; a non-blocking send or receive returns at once, and a
 * non-blocking receive on an empty mailbox returns "nothing" (dipc's WOULD_BLOCK, the same
 * value from every `try…` form). This queue holds two
 * messages. The try forms are the non-blocking calls (O_NONBLOCK / IPC_NOWAIT); the async forms
 * block this program's flow, not its event loop, until a second process acts about 300 ms later,
 * and a timeout bounds them without losing anything.
 *
 * Run: deno run --allow-ffi examples/15_blocking.ts
 *
 * @module
 */

import { MessageQueue, spawnDeno, SysVMessageQueue, WOULD_BLOCK } from "../mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const ms = (t0: number): string => `${Math.round(performance.now() - t0)} ms`;

if (Deno.args[0] === "later") {
  // The other process: after 300 ms, send one message or take one.
  using q = MessageQueue.open(Deno.args[2] ?? "");
  await new Promise((r) => setTimeout(r, 300));
  if (Deno.args[1] === "send") q.trySend(enc.encode("hello from pid " + Deno.pid));
  else q.tryReceive();
} else {
  using q = MessageQueue.temporary({ maxMessages: 2, messageSize: 64 });

  let t0 = performance.now();
  console.log(
    `non-blocking receive, empty queue: ${String(q.tryReceive())} after ${ms(t0)}`,
  );

  let other = spawnDeno(import.meta.url, { args: ["later", "send", q.name] });
  t0 = performance.now();
  const m = await q.receive({ timeout: 10_000 });
  console.log(`blocking receive, empty queue: waited ${ms(t0)}, got "${dec.decode(m.data)}"`);
  await other.status;

  q.trySend(enc.encode("one"));
  q.trySend(enc.encode("two"));
  t0 = performance.now();
  console.log(
    `non-blocking send, full queue (2 of 2): ${String(q.trySend(enc.encode("three")))} after ${
      ms(t0)
    }`,
  );

  other = spawnDeno(import.meta.url, { args: ["later", "receive", q.name] });
  t0 = performance.now();
  await q.send(enc.encode("three"), { timeout: 10_000 });
  console.log(`blocking send, full queue: waited ${ms(t0)} until the other process took one`);
  await other.status;

  t0 = performance.now();
  const err = await q.send(enc.encode("four"), { timeout: 100 }).catch((e: Error) => e.name);
  console.log(`blocking send with a 100 ms timeout, full queue: ${err} after ${ms(t0)}`);
  const left = [1, 2, 3].map(() => {
    const r = q.tryReceive();
    return r === WOULD_BLOCK ? "WOULD_BLOCK" : dec.decode(r.data);
  });
  console.log(`what the queue held afterwards: ${left.join(", ")} (nothing lost, nothing extra)`);

  using sq = SysVMessageQueue.temporary();
  sq.setPermissions({ maxBytes: 8 });
  sq.trySend(enc.encode("12345678")); // fills its 8 bytes
  console.log(
    `System V, IPC_NOWAIT: send into a full queue → ${String(sq.trySend(enc.encode("x")))},` +
      ` receive type 2 from a queue with none → ${String(sq.tryReceive({ type: 2 }))}`,
  );
}

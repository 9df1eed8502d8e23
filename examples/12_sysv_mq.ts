/**
 * 12 · The classic System V message queue: A sends with IPC_NOWAIT on key 1234, B takes type 1
 *
 * Process A gets the queue of key 1234 (msgget with IPC_CREAT, mode 0600), sends two messages
 * with msgsnd(…, IPC_NOWAIT), a type 2 and a type 1, and exits. The messages outlive it: they
 * wait in the kernel. Process B, started afterwards and unrelated to A, gets the same queue by
 * the same key and calls msgrcv(…, type 1, 0): it takes the type 1 message and leaves the other.
 * Unlike a pipe, neither process had to exist while the other did.
 *
 * Run: deno run --allow-ffi examples/12_sysv_mq.ts
 *
 * @module
 */

import { SysVMessageQueue, WOULD_BLOCK } from "../mod.ts";
import { runSelf, show } from "./_child.ts";

const KEY = 1234;
const enc = new TextEncoder();
const dec = new TextDecoder();

if (Deno.args[0] === "A") {
  using q = SysVMessageQueue.create(KEY, { exclusive: false }); // msgget(1234, IPC_CREAT | 0600)
  for (const [type, text] of [[2, "a note of type 2"], [1, "hello B, from A"]] as const) {
    const sent = q.trySend(enc.encode(text), { type }); // msgsnd(msqid, &sbuf, len, IPC_NOWAIT)
    const how = sent === WOULD_BLOCK ? "queue full" : "sent";
    console.log(`msgsnd type ${type} "${text}" with IPC_NOWAIT: ${how}`);
  }
  console.log(`pid ${Deno.pid} exits; msqid ${q.id} holds ${q.stat().messages} messages`);
} else if (Deno.args[0] === "B") {
  using q = SysVMessageQueue.open(KEY); // msgget(1234, 0): the same key, the same queue
  const m = await q.receive({ type: 1, timeout: 10_000 }); // msgrcv(msqid, &rbuf, MSGSZ, 1, 0)
  console.log(`msqid ${q.id}: msgrcv type 1 got "${dec.decode(m.data)}"`);
  const st = q.stat();
  console.log(`left in the queue: ${st.messages} message (last sender pid ${st.lastSendPid})`);
} else {
  show("A", await runSelf(import.meta.url, ["A"]));
  console.log("A has exited; its messages are still in the kernel's queue");
  show("B", await runSelf(import.meta.url, ["B"]));
  using q = SysVMessageQueue.open(KEY);
  const left = q.tryReceive();
  console.log(
    `the parent takes what B left: ${left === WOULD_BLOCK ? "nothing" : `type ${left.type}`}`,
  );
  q.remove(); // msgctl(msqid, IPC_RMID, NULL): a queue lives until someone removes it
  console.log(`queue ${q.id} removed with IPC_RMID`);
}

/**
 * 13 · A mailbox shared by three processes: who gets each message?
 *
 * The textbook question about indirect communication: P1, P2 and P3 share mailbox A; P1 sends;
 * which of P2 and P3 receives? Here P1
 * is this process, P2 and P3 are two children, and the mailbox is a POSIX message queue.
 * 1. Plain: P2 and P3 both wait on the mailbox and each message goes to exactly one of them,
 *    whichever the kernel wakes first. Nobody gets a copy; nobody can say in advance who gets it.
 * 2. Priorities: P1 queues five messages at once with priorities; whoever receives next always
 *    takes the most urgent one left, so the order is settled even if the receiver is not.
 * 3. Types as addresses: a System V queue where each message's type names its receiver (2 for
 *    P2, 3 for P3); each child asks only for its own type, so the ambiguity is gone.
 *
 * Run: deno run --allow-ffi examples/13_mailbox.ts
 *
 * @module
 */

import { MessageQueue, spawnDeno, SysVMessageQueue } from "../mod.ts";
import { show } from "./_child.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const [role, target = "", who = ""] = Deno.args;

if (role === "take") {
  // A receiver on the POSIX mailbox: print each message until "stop".
  using box = MessageQueue.open(target, { readOnly: true });
  for (;;) {
    const m = await box.receive({ timeout: 10_000 });
    const text = dec.decode(m.data);
    if (text === "stop") break;
    console.log(`${who} got "${text}" (priority ${m.priority})`);
    await new Promise((r) => setTimeout(r, 5)); // some work, so the other one gets a turn
  }
} else if (role === "addr") {
  // A receiver on the System V mailbox that takes only messages addressed to its type.
  using box = SysVMessageQueue.openId(Number(target));
  const type = Number(who.slice(1));
  for (;;) {
    const m = await box.receive({ type, timeout: 10_000 });
    const text = dec.decode(m.data);
    if (text === "stop") break;
    console.log(`${who} got "${text}" (type ${m.type})`);
  }
} else {
  const children = async (args: (p: string) => string[]): Promise<void> => {
    const kids = ["P2", "P3"].map((p) =>
      spawnDeno(import.meta.url, { args: args(p), stdout: "piped" })
    );
    const outs = await Promise.all(kids.map((k) => k.output()));
    // Each child's lines in the order it received them.
    const lines = outs.flatMap((o) => dec.decode(o.stdout).trim().split("\n")).filter(Boolean);
    for (const l of lines) show("child", l);
    for (const p of ["P2", "P3"]) {
      console.log(`  ${p} received ${lines.filter((l) => l.startsWith(p)).length} message(s)`);
    }
  };

  console.log("1. mailbox A shared by P2 and P3; P1 sends six messages, one every 10 ms:");
  {
    using box = MessageQueue.temporary({ maxMessages: 10, messageSize: 64 });
    const done = children((p) => ["take", box.name, p]);
    await new Promise((r) => setTimeout(r, 300)); // both are waiting now
    for (let i = 1; i <= 6; i++) {
      await box.send(enc.encode(`message ${i}`));
      await new Promise((r) => setTimeout(r, 10));
    }
    for (let i = 0; i < 2; i++) await box.send(enc.encode("stop"));
    await done;
    console.log("  every message went to exactly one receiver; which one was up to the kernel");
  }

  console.log("2. the same mailbox with priorities; P1 queues five messages before anyone reads:");
  {
    using box = MessageQueue.temporary({ maxMessages: 10, messageSize: 64 });
    const sent: Array<[string, number]> = [["routine A", 1], ["alarm", 9], ["routine B", 1], [
      "warning",
      5,
    ], ["log line", 0]];
    for (const [text, priority] of sent) box.trySend(enc.encode(text), { priority });
    box.trySend(enc.encode("stop"));
    box.trySend(enc.encode("stop"));
    await children((p) => ["take", box.name, p]);
    console.log(
      "  each receiver's messages came most urgent first; equal priorities in FIFO order",
    );
  }

  console.log("3. a System V mailbox where the message type is the address (2 → P2, 3 → P3):");
  {
    using box = SysVMessageQueue.temporary();
    for (
      const [type, text] of [[2, "for P2 #1"], [3, "for P3 #1"], [3, "for P3 #2"], [2, "stop"], [
        3,
        "stop",
      ]] as const
    ) {
      box.trySend(enc.encode(text), { type });
    }
    await children((p) => ["addr", String(box.id), p]);
    console.log("  each receiver got exactly what was addressed to it");
  }
}

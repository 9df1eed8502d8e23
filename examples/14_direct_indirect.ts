/**
 * 14 · Direct versus indirect communication, side by side
 *
 * Direct: every process has its own queue, and a sender must name the receiver ("send to P2").
 * P1 sends one task to P2's queue and one to P3's: each gets exactly what was meant for it, but
 * P1 had to know both, and n receivers need n queues. Indirect: one shared mailbox; P1 puts six
 * tasks in it without knowing who will do them, and P2 and P3 take whatever comes next, so a
 * busier worker simply takes fewer. In both cases the workers reply on P1's own queue.
 *
 * Run: deno run --allow-ffi examples/14_direct_indirect.ts
 *
 * @module
 */

import { MessageQueue, spawnDeno } from "../mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const [role, inbox = "", replies = "", me = "", delay = "0"] = Deno.args;

if (role === "worker") {
  // Takes tasks from `inbox` (its own queue, or the shared mailbox) until "stop".
  using tasks = MessageQueue.open(inbox, { readOnly: true });
  using out = MessageQueue.open(replies, { writeOnly: true });
  for (;;) {
    const task = dec.decode((await tasks.receive({ timeout: 10_000 })).data);
    if (task === "stop") break;
    await new Promise((r) => setTimeout(r, Number(delay))); // the work
    await out.send(enc.encode(`${me} did "${task}"`), { timeout: 10_000 });
  }
} else {
  using p1 = MessageQueue.temporary({ prefix: "dipc-P1", maxMessages: 10, messageSize: 64 });
  const collect = async (n: number): Promise<string[]> => {
    const got: string[] = [];
    for (let i = 0; i < n; i++) got.push(dec.decode((await p1.receive({ timeout: 10_000 })).data));
    return got;
  };

  console.log("direct: P1 → P2's queue, P1 → P3's queue (P1 names each receiver)");
  {
    using p2 = MessageQueue.temporary({ prefix: "dipc-P2", maxMessages: 10, messageSize: 64 });
    using p3 = MessageQueue.temporary({ prefix: "dipc-P3", maxMessages: 10, messageSize: 64 });
    const kids = [["P2", p2], ["P3", p3]].map(([name, q]) =>
      spawnDeno(import.meta.url, {
        args: ["worker", (q as MessageQueue).name, p1.name, name as string],
      })
    );
    await p2.send(enc.encode("task for P2"));
    await p3.send(enc.encode("task for P3"));
    for (const line of (await collect(2)).sort()) console.log(`  ${line}`);
    await p2.send(enc.encode("stop"));
    await p3.send(enc.encode("stop"));
    await Promise.all(kids.map((k) => k.status));
    console.log("  2 receivers, 2 queues; each got exactly its own task");
  }

  console.log("indirect: P1 → mailbox A, shared by P2 (slow) and P3 (fast)");
  {
    using box = MessageQueue.temporary({ prefix: "dipc-A", maxMessages: 10, messageSize: 64 });
    const kids = [["P2", "60"], ["P3", "5"]].map(([name, ms]) =>
      spawnDeno(import.meta.url, { args: ["worker", box.name, p1.name, name ?? "", ms ?? "0"] })
    );
    for (let i = 1; i <= 6; i++) await box.send(enc.encode(`task ${i}`));
    const done = await collect(6);
    for (const line of done) console.log(`  ${line}`);
    await box.send(enc.encode("stop"));
    await box.send(enc.encode("stop"));
    await Promise.all(kids.map((k) => k.status));
    const count = (p: string): number => done.filter((l) => l.startsWith(p)).length;
    console.log(
      `  1 mailbox; P1 never named a worker; P2 did ${count("P2")}, P3 did ${count("P3")}`,
    );
  }
}

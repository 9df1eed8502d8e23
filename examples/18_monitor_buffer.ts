/**
 * 18 · The bounded buffer as a monitor: producers and consumers in four processes
 *
 * A monitor bundles shared data with the lock that guards it and the conditions processes wait
 * on. Here the data is a ring of 5 slots in shared memory; two producer processes put numbers
 * in, two consumer processes take them out. A producer finding the ring full waits on
 * "notFull", a consumer finding it empty waits on "notEmpty"; each wakes the other side after
 * changing the ring. Nobody busy-waits, nothing is lost or taken twice: the consumers' totals
 * add up to exactly what the producers made.
 *
 * Run: deno run --allow-ffi examples/18_monitor_buffer.ts
 *
 * @module
 */

import { Monitor, SharedMemory, spawnDeno } from "../mod.ts";

const SLOTS = 5;
const ITEMS = 200; // per producer
// The monitor's data, as 32-bit words:
const HEAD = 0; // next slot to take
const TAIL = 1; // next slot to fill
const COUNT = 2; // items in the ring
const FULL_WAITS = 3; // times a producer found the ring full
const EMPTY_WAITS = 4; // times a consumer found it empty
const RING = 5; // SLOTS words
const OPTIONS = { conditions: ["notFull", "notEmpty"] as const, dataBytes: 4 * (RING + SLOTS) };

async function produce(monitor: Monitor<"notFull" | "notEmpty">, first: number): Promise<void> {
  for (let i = 0; i < ITEMS; i++) {
    await monitor.enter(async (m) => {
      const d = m.int32;
      if (d[COUNT] === SLOTS) d[FULL_WAITS] = (d[FULL_WAITS] ?? 0) + 1;
      while (d[COUNT] === SLOTS) await m.wait("notFull", { timeout: 30_000 });
      const tail = d[TAIL] ?? 0;
      d[RING + tail] = first + i;
      d[TAIL] = (tail + 1) % SLOTS;
      d[COUNT] = (d[COUNT] ?? 0) + 1;
      m.notify("notEmpty");
    });
  }
}

async function consume(monitor: Monitor<"notFull" | "notEmpty">, n: number): Promise<number[]> {
  const got: number[] = [];
  for (let i = 0; i < n; i++) {
    got.push(
      await monitor.enter(async (m) => {
        const d = m.int32;
        if (d[COUNT] === 0) d[EMPTY_WAITS] = (d[EMPTY_WAITS] ?? 0) + 1;
        while (d[COUNT] === 0) await m.wait("notEmpty", { timeout: 30_000 });
        const head = d[HEAD] ?? 0;
        const item = d[RING + head] ?? -1;
        d[HEAD] = (head + 1) % SLOTS;
        d[COUNT] = (d[COUNT] ?? 0) - 1;
        m.notify("notFull");
        return item;
      }),
    );
  }
  return got;
}

if (Deno.args[0] === "producer" || Deno.args[0] === "consumer") {
  const [role, name = "", arg = "0"] = Deno.args;
  using shm = SharedMemory.open(name);
  const monitor = Monitor.at(shm, 0, OPTIONS);
  if (role === "producer") await produce(monitor, Number(arg));
  else {
    const got = await consume(monitor, ITEMS);
    const sum = got.reduce((a, b) => a + b, 0);
    console.log(`${got.length} items, sum ${sum}, first ${got.slice(0, 4).join(" ")} …`);
  }
} else {
  using shm = SharedMemory.temporary({ size: Monitor.size(OPTIONS) });
  const monitor = Monitor.init(shm, 0, OPTIONS);
  const consumers = [1, 2].map(() =>
    spawnDeno(import.meta.url, { args: ["consumer", shm.name], stdout: "piped" }).output()
  );
  const producers = [0, 1000].map((first) =>
    spawnDeno(import.meta.url, { args: ["producer", shm.name, String(first)] })
  );
  for (const p of producers) if (!(await p.status).success) throw new Error("a producer failed");
  let total = 0;
  for (const [i, c] of (await Promise.all(consumers)).entries()) {
    if (!c.status.success) throw new Error("a consumer failed");
    const line = new TextDecoder().decode(c.stdout).trim();
    console.log(`consumer ${i + 1}: ${line}`);
    total += Number(/sum (\d+)/.exec(line)?.[1]);
  }
  const expected = [0, 1000].reduce((s, f) => s + ITEMS * f + (ITEMS * (ITEMS - 1)) / 2, 0);
  const d = await monitor.enter((m) => Array.from(m.int32));
  console.log(`producers made ${2 * ITEMS} items summing to ${expected}; consumers took ${total}`);
  console.log(
    `ring of ${SLOTS}: producers found it full ${d[FULL_WAITS]} times, consumers found it ` +
      `empty ${d[EMPTY_WAITS]} times, and ${d[COUNT]} items are left`,
  );
}

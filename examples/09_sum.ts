/**
 * 09 · Summing 1..10000 over ten child processes
 *
 * The textbook thought experiment: fork ten processes, let each add 1000 numbers, and collect
 * the ten partial sums, which needs inter-process communication. Here the parent starts ten
 * children with posix_spawn, gives each its range as arguments and its own pipe back as
 * descriptor 3, and adds up what comes back. 1 + 2 + … + 10000 = 50005000.
 *
 * Run: deno run --allow-ffi examples/09_sum.ts
 *
 * @module
 */

import { Pipe, PipeWriter, spawnDeno } from "../mod.ts";

if (Deno.args[0] === "child") {
  const from = Number(Deno.args[1]);
  const to = Number(Deno.args[2]);
  let sum = 0;
  for (let i = from; i <= to; i++) sum += i;
  using back = PipeWriter.fromFd(3);
  await back.write(new TextEncoder().encode(`${sum}`));
} else {
  const jobs = Array.from({ length: 10 }, (_, k) => {
    const from = k * 1000 + 1;
    const to = (k + 1) * 1000;
    const pipe = Pipe.create();
    const child = spawnDeno(import.meta.url, {
      args: ["child", `${from}`, `${to}`],
      fds: { 3: pipe.writer },
    });
    pipe.writer.close(); // only the child writes; EOF comes when it exits
    return { from, to, pipe, child };
  });
  let total = 0;
  for (const { from, to, pipe, child } of jobs) {
    const part = Number(await pipe.reader.text({ timeout: 20_000 }));
    await child.status;
    pipe.close();
    console.log(`pid ${child.pid}: ${String(from).padStart(5)}..${String(to).padEnd(5)} = ${part}`);
    total += part;
  }
  console.log(`total: ${total} (expected ${(10000 * 10001) / 2})`);
}

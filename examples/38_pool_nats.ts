/**
 * 38 · The same map with its workers on a NATS work queue
 *
 * Example 36's kind of job, with the pool's tasks in a NATS JetStream work queue instead of
 * this machine's rings: two workers started by the pool and one started as a command
 * (`dipc worker --nats URL --name squares examples/38_pool_nats.ts`, which could run on any
 * machine that reaches the server) take tasks from one stream. Mid-map the first local worker
 * is SIGKILLed: the task it held was never acknowledged, so the server gives it to another worker
 * after `ackWait`, the pool starts a new local worker, and every result arrives exactly once.
 * Uses `DIPC_NATS_URL` or starts a private `nats-server` on loopback (skipped, saying so, when
 * neither is there).
 *
 * Run: deno run --allow-ffi --allow-run --allow-env --allow-net=127.0.0.1 --allow-read --allow-write examples/38_pool_nats.ts
 *
 * @module
 */

import { natsPool } from "../src/nats_pool.ts";

/** The task: `n` squared, after `ms` (work that takes a moment), and who did it. */
export async function slowSquare(
  n: number,
  ms: number,
): Promise<{ n: number; sq: number; pid: number }> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { n, sq: n * n, pid: Deno.pid };
}

if (import.meta.main) {
  // Imported here, not at the top: the workers import this file for its task, and need none of it.
  const { NATS_SERVER, natsServer } = await import("../tools/nats_server.ts");
  const given = Deno.env.get("DIPC_NATS_URL");
  if (given === undefined && NATS_SERVER === undefined) {
    console.log("NATS pool skipped: set DIPC_NATS_URL or install nats-server");
    Deno.exit(0);
  }
  await using server = given === undefined ? await natsServer() : undefined;
  const url = given ?? server?.url ?? "";
  await using pool = await natsPool(url, {
    name: "squares",
    module: import.meta.url,
    workers: 2,
    ackWait: 1000,
  });
  const cli = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-ffi",
      "--allow-read",
      "--allow-env",
      new URL("../cli/dipc.ts", import.meta.url).pathname,
      "worker",
      "--nats",
      url,
      "--name",
      "squares",
      new URL(import.meta.url).pathname,
    ],
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    // Before the map: wait until the command's worker has taken a task (it connects on its own).
    const local = pool.stat().workers;
    const deadline = Date.now() + 30_000;
    for (;;) {
      const pids = await Promise.all(
        Array.from({ length: 8 }, () => pool.run<{ pid: number }>("slowSquare", [0, 5])),
      );
      if (pids.some((r) => !local.includes(r.pid))) break;
      if (Date.now() > deadline) throw new Error("the dipc worker command took no task in 30 s");
    }
    console.log("the command's worker is serving too");
    const [victim] = pool.stat().workers;
    const byPid = new Map<number, number>();
    let sum = 0;
    let count = 0;
    const items = Array.from({ length: 60 }, (_, i) => i);
    for await (
      const r of pool.map<Awaited<ReturnType<typeof slowSquare>>>(
        "slowSquare",
        items.map((n) => [n, 20][0]),
        {
          concurrency: 6,
        },
      )
    ) {
      byPid.set(r.pid, (byPid.get(r.pid) ?? 0) + 1);
      sum += r.sq;
      if (++count === 20 && victim !== undefined) {
        Deno.kill(victim, "SIGKILL");
        console.log(`killed local worker ${victim} mid-map`);
      }
    }
    const s = pool.stat();
    console.log(
      `${count} results, sum of squares ${sum} (expected ${items.reduce((a, n) => a + n * n, 0)})`,
    );
    console.log(
      `served by ${byPid.size} workers: ${
        [...byPid.values()].sort((a, b) => b - a).join(", ")
      } tasks`,
    );
    console.log(
      `local workers started again: ${s.restarts}; answers dropped as duplicates: ${s.duplicates}`,
    );
  } finally {
    cli.kill("SIGTERM");
    await cli.status;
  }
}

// The process pool over a NATS JetStream work queue, against a real nats-server (one per test):
// tasks and results, errors, a worker SIGKILLed mid-task (its task redelivered to another, the
// result delivered once), a `dipc worker` started from the command line serving the same pool
// as local workers, and bad input before anything connects.
import assert from "node:assert/strict";
import { ClosedError, Pipe } from "../mod.ts";
import { natsPool } from "../src/nats_pool.ts";
import { NATS_SERVER, natsServer } from "../tools/nats_server.ts";
import { natsTest, processAlive as alive, ROOT, within } from "./_helpers.ts";

const TASKS = new URL("./fixtures/pool_tasks.ts", import.meta.url);
const BOUND = 60_000;

if (NATS_SERVER === undefined) {
  console.error("NATS pool tests skipped: nats-server is not installed");
}

natsTest("a NATS pool runs tasks on local workers: results, errors, map", async () => {
  await using server = await natsServer();
  await using pool = await natsPool(server.url, {
    name: "basic",
    module: TASKS,
    workers: 2,
    output: "null",
  });
  assert.equal(await pool.run("add", [2, 3], { timeout: BOUND }), 5);
  const v = { m: new Map([[1, new Set([2n])]]), d: new Date(5), u: new Uint16Array([7]) };
  assert.deepStrictEqual(await pool.run("echo", [v], { timeout: BOUND }), v);
  const e: unknown = await pool.run("fail", ["boom"]).catch((x) => x);
  assert.ok(e instanceof TypeError);
  assert.equal(e.message, "boom");
  assert.equal((e as unknown as { detail: number }).detail, 42);
  const got: number[] = [];
  for await (const r of pool.map<number>("square", Array.from({ length: 100 }, (_, i) => i))) {
    got.push(r);
  }
  assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => i * i));
  const pids = new Set(await Promise.all(Array.from({ length: 40 }, () => pool.run("pid"))));
  for (const pid of pids) assert.ok(pool.stat().workers.includes(pid as number));
  const pipe = Pipe.create();
  const handle = await pool.run("echo", [pipe.reader]).then(() => undefined, (x: Error) => x);
  pipe.close();
  assert.equal(handle?.name, "DataCloneError");
  assert.equal(pool.stat().pending, 0);
});

natsTest(
  "a worker SIGKILLed mid-task: another worker runs it, the caller gets one result",
  async () => {
    await using server = await natsServer();
    const dir = await Deno.makeTempDir({ prefix: "dipc-nats-pool-" });
    try {
      await using pool = await natsPool(server.url, {
        name: "redeliver",
        module: TASKS,
        workers: 2,
        ackWait: 1000,
        output: "null",
        permissions: { read: [dir], write: [dir] },
      });
      await pool.run("add", [1, 1], { timeout: BOUND }); // both workers up
      const marker = `${dir}/pid`;
      const result = pool.run<number>("holdFile", [marker, 1500], { timeout: BOUND });
      let first = 0;
      await within(
        BOUND,
        "the task starts",
        (async () => {
          for (;;) {
            const text = await Deno.readTextFile(marker).catch(() => "");
            if (text !== "") return void (first = Number(text));
            await new Promise((r) => setTimeout(r, 10));
          }
        })(),
      );
      Deno.kill(first, "SIGKILL");
      const second = await result;
      assert.notEqual(second, first);
      assert.ok(!alive(first));
      // One answer reached the caller; the local worker was started again.
      await new Promise((r) => setTimeout(r, 300));
      const s = pool.stat();
      assert.equal(s.done, 2);
      assert.equal(s.pending, 0);
      assert.ok(s.restarts >= 1);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

natsTest("`dipc worker --nats` serves the pool beside local workers", async () => {
  await using server = await natsServer();
  await using pool = await natsPool(server.url, {
    name: "mixed",
    module: TASKS,
    workers: 1,
    output: "null",
  });
  const cli = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-ffi",
      "--allow-read",
      "--allow-env",
      `${ROOT}cli/dipc.ts`,
      "worker",
      "--nats",
      server.url,
      "--name",
      "mixed",
      TASKS.pathname,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    const local = pool.stat().workers;
    const seen = new Set<number>();
    await within(
      BOUND,
      "a task on the command's worker",
      (async () => {
        while (![...seen].some((p) => !local.includes(p))) {
          const pids = await Promise.all(
            Array.from(
              { length: 20 },
              () => pool.run<number>("sleep", [5]).then(() => pool.run<number>("pid")),
            ),
          );
          for (const p of pids) seen.add(p);
        }
      })(),
    );
    assert.ok([...seen].some((p) => local.includes(p)), "the local worker served too");
  } finally {
    cli.kill("SIGTERM");
    const status = await within(BOUND, "the command stops", cli.status);
    await cli.stderr.cancel().catch(() => {});
    assert.ok(status.success || status.signal === "SIGTERM", JSON.stringify(status));
  }
});

natsTest(
  "a NATS pool refuses bad input before it connects, and fails clearly without a server",
  async () => {
    for (
      const o of [
        { name: "bad name" },
        { workers: -1 },
        { workers: 1 },
        { module: TASKS },
        { ackWait: 5 },
        { output: "piped" },
        { colour: 1 },
      ]
    ) {
      await assert.rejects(
        natsPool("127.0.0.1:1", o as never),
        (e) => e instanceof TypeError || e instanceof RangeError,
      );
    }
    await assert.rejects(natsPool("not a url at all", {}), TypeError);
    const e = await natsPool("127.0.0.1:1", { timeout: 2000 }).catch((x) => x as Error);
    assert.ok(e instanceof Error || e instanceof DOMException);
    assert.match(String((e as Error).message), /127\.0\.0\.1:1/);
    await using server = await natsServer();
    const pool = await natsPool(server.url, { name: "closing" });
    const late = pool.run("add", [1, 2], { timeout: 200 }).then(() => undefined, (x: Error) => x);
    // (a test of its own pool name: no worker serves it)
    assert.equal((await late)?.name, "TimeoutError"); // no worker: the timeout rule
    await pool.close();
    assert.ok((await pool.run("add", [1, 2]).catch((x) => x)) instanceof ClosedError);
  },
);

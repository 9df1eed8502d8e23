import assert from "node:assert/strict";
import {
  ClosedError,
  ErrnoError,
  Pipe,
  SharedMemory,
  UnixSocket,
  WorkerExitError,
} from "../mod.ts";
import { cloneCodec, ProcessPool } from "../src/pool.ts";
import { decodeClone, encodeClone, MAX_CLONE_DEPTH } from "../src/_clone_codec.ts";
import { ipcTest, processAlive as alive, ROOT, testRandom, thrown, within } from "./_helpers.ts";

/** What a call failed with (or returned, for a test that expects it to). */
type Failure = Error & { [field: string]: unknown };
function failure(p: Promise<unknown>): Promise<Failure> {
  return p.then((v) => v as Failure, (e) => e as Failure);
}

const TASKS = new URL("./fixtures/pool_tasks.ts", import.meta.url);
const BAD = new URL("./fixtures/pool_bad_module.ts", import.meta.url);
/** Every wait on the pool's workers is bounded. */
const BOUND = 60_000;

/** The pids of this process's children. */
function children(): number[] {
  try {
    return Deno.readTextFileSync(`/proc/self/task/${Deno.pid}/children`).trim().split(/\s+/)
      .filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function gone(pids: number[], ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (pids.some(alive)) {
    if (Date.now() > end) throw new Error(`still running: ${pids.filter(alive).join(", ")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- the codec ---------------------------------------------------------------------------

/** A value of every kind the codec carries, with a shared reference and a cycle. */
function everything(): Record<string, unknown> {
  const shared = { s: "shared" };
  const o: Record<string, unknown> = {
    undef: undefined,
    nul: null,
    t: true,
    f: false,
    int: -7,
    float: 3.25,
    negZero: -0,
    nan: NaN,
    inf: -Infinity,
    big: -(2n ** 100n) + 3n,
    zeroBig: 0n,
    ascii: "hello",
    unicode: "héllo ✓ 𝄞 日本",
    long: "x".repeat(70_000),
    date: new Date(1_700_000_000_000),
    regexp: /a+b/giu,
    array: [1, "two", [3]],
    // deno-lint-ignore no-sparse-arrays
    holes: [1, , 3],
    map: new Map<unknown, unknown>([[1, "one"], ["k", { v: 2 }]]),
    set: new Set([1, "a", 2n]),
    buffer: new Uint8Array([1, 2, 3]).buffer,
    u8: new Uint8Array([250, 251]),
    i16: new Int16Array([-2, 3]),
    f64: new Float64Array([1.5, -2.5]),
    b64: new BigUint64Array([2n ** 63n]),
    dv: new DataView(new Uint8Array([9, 8, 7]).buffer),
    view: new Uint8Array([0, 1, 2, 3, 4]).subarray(1, 3),
    boxed: [Object(1), Object("s"), Object(true)],
    a: shared,
    b: shared,
    proto: JSON.parse('{"__proto__": {"polluted": true}}'),
  };
  o.self = o;
  return o;
}

Deno.test("the clone codec carries what structuredClone carries, cycles and shared references", () => {
  const v = everything();
  const back = decodeClone(encodeClone(v)) as Record<string, unknown>;
  assert.deepStrictEqual(back, structuredClone(v));
  assert.equal(back.self, back);
  assert.equal(back.a, back.b);
  assert.ok(Object.is(back.negZero, -0));
  assert.deepEqual([...(back.view as Uint8Array)], [1, 2]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(Object.getPrototypeOf(back.proto), Object.prototype);
  assert.equal(cloneCodec.name, "clone");
  assert.deepStrictEqual(cloneCodec.decode(cloneCodec.encode([1, new Map()])), [1, new Map()]);
});

Deno.test("the clone codec keeps errors' class, cause, stack and fields", () => {
  const e = new ErrnoError(17, "shm_open", { action: "create", object: "/x" });
  const agg = new AggregateError([new TypeError("inner")], "outer", { cause: e });
  const back = decodeClone(encodeClone(agg)) as AggregateError;
  assert.ok(back instanceof AggregateError);
  assert.equal(back.message, "outer");
  assert.ok(back.cause instanceof ErrnoError);
  const cause = back.cause as ErrnoError;
  assert.equal(cause.code, "EEXIST");
  assert.equal(cause.errno, 17);
  assert.equal(cause.syscall, "shm_open");
  assert.equal(cause.message, e.message);
  assert.equal(cause.stack, e.stack);
  assert.ok(back.errors[0] instanceof TypeError);
  const custom = Object.assign(new Error("mine"), { name: "MyError" });
  const c = decodeClone(encodeClone(custom)) as Error;
  assert.equal(c.name, "MyError");
  assert.ok(c instanceof Error);
  const dom = decodeClone(encodeClone(new DOMException("late", "TimeoutError"))) as DOMException;
  assert.ok(dom instanceof DOMException);
  assert.equal(dom.name, "TimeoutError");
});

Deno.test("the clone codec refuses what structuredClone refuses, before anything is sent", () => {
  for (const v of [() => 1, Symbol("s"), { f: () => 1 }, new WeakMap(), Promise.resolve()]) {
    const e = thrown(() => encodeClone(v));
    assert.ok(e instanceof DOMException, String(e));
    assert.equal(e.name, "DataCloneError");
  }
  let deep: unknown[] = [];
  const top = deep;
  for (let i = 0; i < MAX_CLONE_DEPTH + 5; i++) deep = (deep[0] = []) as unknown[];
  assert.equal((thrown(() => encodeClone(top)) as DOMException).name, "DataCloneError");
});

Deno.test("the clone codec decodes garbage as a TypeError, never a crash or a huge allocation", () => {
  const good = encodeClone(everything());
  const rnd = testRandom;
  for (let i = 0; i < 3000; i++) {
    let bytes: Uint8Array;
    if (i % 3 === 0) {
      bytes = new Uint8Array(Math.floor(rnd() * 64));
      for (let k = 0; k < bytes.length; k++) bytes[k] = Math.floor(rnd() * 256);
      bytes[0] = 1;
    } else if (i % 3 === 1) {
      bytes = good.slice(0, Math.floor(rnd() * good.length));
    } else {
      bytes = good.slice();
      for (let k = 0; k < 4; k++) bytes[Math.floor(rnd() * bytes.length)] = Math.floor(rnd() * 256);
    }
    try {
      decodeClone(bytes);
    } catch (e) {
      assert.ok(e instanceof TypeError || e instanceof RangeError, String(e));
    }
  }
  // A count that claims more than the bytes hold is refused before it is allocated.
  const claim = new Uint8Array([1, 9, 0xff, 0xff, 0xff, 0x7f]);
  assert.match(String(thrown(() => decodeClone(claim))), /claimed|count/);
  // Nesting past the bound.
  const nested = new Uint8Array(2 + 5 * (MAX_CLONE_DEPTH + 2));
  nested[0] = 1;
  for (let k = 0; k <= MAX_CLONE_DEPTH + 1; k++) nested.set([9, 1, 0, 0, 0], 1 + 5 * k);
  assert.match(String(thrown(() => decodeClone(nested))), /nesting/);
});

// ---- the pool ----------------------------------------------------------------------------

ipcTest("a pool runs tasks, and what travels equals the direct call", async () => {
  await using pool = ProcessPool.create(TASKS, { size: 2, output: "null" });
  await pool.ready({ timeout: BOUND });
  assert.equal(await pool.run("add", [2, 3]), 5);
  assert.equal(await pool.run("sleep", [5]), 5);
  const v = everything();
  assert.deepStrictEqual(await pool.run("echo", [v]), structuredClone(v));
  const big = await pool.run<Uint8Array>("bytes", [3 << 20]); // longer than a ring carries
  assert.equal(big.length, 3 << 20);
  assert.equal(big[(3 << 20) - 1], ((3 << 20) - 1) & 255);
  assert.equal(await pool.run("length", [new Uint8Array(5 << 20)]), 5 << 20);
  const pids = new Set(await Promise.all(Array.from({ length: 20 }, () => pool.run("pid"))));
  const stats = pool.stat();
  assert.equal(stats.workers.length, 2);
  for (const pid of pids) assert.ok(stats.workers.some((w) => w.pid === pid));
  assert.equal(stats.queued, 0);
  assert.equal(stats.running, 0);
  assert.equal(stats.failed, 0);
  assert.equal(stats.done, 25);
});

ipcTest("a task's error arrives whole: class, message, cause, fields", async () => {
  await using pool = ProcessPool.create(TASKS, { size: 1, output: "null" });
  const e = await failure(pool.run("fail", ["boom"]));
  assert.ok(e instanceof TypeError);
  assert.equal(e.message, "boom");
  assert.ok(e.cause instanceof RangeError);
  assert.equal(e.detail, 42);
  assert.match(String(e.stack), /fail/);
  const errno = await failure(pool.run("errno"));
  assert.ok(errno instanceof ErrnoError);
  assert.equal(errno.code, "ENOENT");
  assert.equal(errno.syscall, "shm_open");
  assert.equal(errno.object, "/nowhere");
  assert.equal(await failure(pool.run("throwString")), "just a string");
  const unclonable = await failure(pool.run("unclonable"));
  assert.equal(unclonable.name, "DataCloneError");
  const missing = await failure(pool.run("noSuchTask"));
  assert.ok(missing instanceof TypeError);
  assert.match(missing.message, /noSuchTask/);
  assert.equal(pool.stat().restarts, 0);
});

ipcTest("a crash fails only its task: the others complete, the worker is replaced", async () => {
  await using pool = ProcessPool.create(TASKS, { size: 2, output: "null" });
  await pool.ready({ timeout: BOUND });
  const before = pool.stat().workers.map((w) => w.pid);
  const results = await within(
    BOUND,
    "a map with a crash",
    Promise.allSettled([
      ...Array.from({ length: 10 }, (_, i) => pool.run("square", [i])),
      pool.run("segfault"),
      ...Array.from({ length: 10 }, (_, i) => pool.run("square", [i + 10])),
      pool.run("exit", [3]),
      pool.run("sleep", [1]),
    ]),
  );
  const failed = results.filter((r) => r.status === "rejected").map((r) => r.reason);
  assert.equal(failed.length, 2);
  const [segv, exit] = failed as WorkerExitError[];
  assert.ok(segv instanceof WorkerExitError);
  assert.equal(segv.signal, "SIGSEGV");
  assert.equal(segv.code, null);
  assert.equal(segv.task, "segfault");
  assert.ok(before.includes(segv.pid));
  assert.ok(exit instanceof WorkerExitError);
  assert.equal(exit.code, 3);
  assert.equal(exit.signal, null);
  const values = results.filter((r) => r.status === "fulfilled").map((r) => r.value);
  assert.deepEqual(values.slice(0, 20), Array.from({ length: 20 }, (_, i) => i * i));
  assert.equal(pool.stat().restarts, 2);
  assert.ok(!alive(segv.pid));
  assert.equal(await pool.run("add", [1, 1]), 2);
});

ipcTest("an exhausted heap fails its task with WorkerExitError", async () => {
  await using pool = ProcessPool.create(TASKS, {
    size: 1,
    output: "null",
    denoFlags: ["--v8-flags=--max-old-space-size=32"],
  });
  const e = await within(BOUND, "out of memory", failure(pool.run("exhaustHeap")));
  assert.ok(e instanceof WorkerExitError, String(e));
  assert.equal(await pool.run("add", [1, 2]), 3);
});

ipcTest("retries run a task again after its worker died", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dipc-pool-" });
  try {
    await using pool = ProcessPool.create(TASKS, {
      size: 1,
      output: "null",
      permissions: { read: [dir], write: [dir] },
    });
    const marker = `${dir}/marker`;
    assert.equal(await pool.run("crashOnce", [marker], { retries: 1 }), "second time");
    await Deno.remove(marker);
    const e = await failure(pool.run("crashOnce", [marker]));
    assert.ok(e instanceof WorkerExitError);
    assert.equal(pool.stat().restarts, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

ipcTest("a timeout or abort kills a running task's worker, and drops a queued one", async () => {
  await using pool = ProcessPool.create(TASKS, { size: 1, prefetch: 1, output: "null" });
  await pool.ready({ timeout: BOUND });
  const [first] = pool.stat().workers.map((w) => w.pid);
  const running = pool.run("spin", [600_000], { timeout: 200 });
  const queued = pool.run("add", [1, 1], { timeout: 100 });
  const q = await within(BOUND, "queued timeout", failure(queued));
  assert.equal(q.name, "TimeoutError");
  const r = await within(BOUND, "running timeout", failure(running));
  assert.equal(r.name, "TimeoutError");
  await gone([first as number]);
  const ac = new AbortController();
  const spun = pool.run("spin", [600_000], { signal: ac.signal });
  // Running on a worker that is ready (the first one's replacement may still be starting).
  while (!pool.stat().workers.some((w) => w.ready && w.tasks === 1)) {
    await new Promise((res) => setTimeout(res, 5));
  }
  await new Promise((res) => setTimeout(res, 50));
  ac.abort(new Error("stop it"));
  assert.equal((await failure(spun)).message, "stop it");
  assert.equal(await within(BOUND, "after the kills", pool.run("add", [2, 2])), 4);
  assert.ok(pool.stat().restarts >= 2);
  const pre = AbortSignal.abort(new Error("already"));
  assert.equal((await failure(pool.run("add", [1, 1], { signal: pre }))).message, "already");
});

ipcTest(
  "a module that fails to load fails create's first call with its error, never hangs",
  async () => {
    await using pool = ProcessPool.create(BAD, { size: 2, output: "null" });
    const e = await within(BOUND, "a bad module", failure(pool.run("anything")));
    assert.ok(e instanceof RangeError);
    assert.equal(e.message, "this task module refuses to load");
    const r = await within(BOUND, "ready", failure(pool.ready()));
    assert.equal(r, e);
    const missing = ProcessPool.create(`${ROOT}tests/fixtures/no_such_module.ts`, {
      output: "null",
    });
    const m = await within(BOUND, "a missing module", failure(missing.ready()));
    assert.ok(m instanceof Error);
    assert.match(m.message, /no_such_module/);
    await missing.close();
  },
);

ipcTest("map: ordered, unordered, bounded in flight, early end drops what is queued", async () => {
  await using pool = ProcessPool.create(TASKS, { size: 2, output: "null" });
  const items = Array.from({ length: 300 }, (_, i) => i);
  const ordered: number[] = [];
  for await (const r of pool.map<number>("square", items)) ordered.push(r);
  assert.deepEqual(ordered, items.map((i) => i * i));
  const unordered: number[] = [];
  for await (const r of pool.map<number>("sleep", [30, 1, 20, 2], { ordered: false })) {
    unordered.push(r);
  }
  assert.deepEqual([...unordered].sort((a, b) => a - b), [1, 2, 20, 30]);
  assert.notDeepEqual(unordered, [30, 1, 20, 2]);
  // Pulled lazily: never more than `concurrency` ahead of what was taken.
  let pulled = 0;
  let taken = 0;
  function* lazy(): Generator<number> {
    for (let i = 0; i < 1000; i++) {
      pulled++;
      assert.ok(pulled - taken <= 9, `pulled ${pulled}, taken ${taken}`);
      yield i;
    }
  }
  for await (const _ of pool.map("square", lazy(), { concurrency: 8 })) {
    taken++;
    if (taken === 100) break;
  }
  assert.ok(pulled < 120);
  await within(
    BOUND,
    "settled",
    (async () => {
      while (pool.stat().running + pool.stat().queued > 0) {
        await new Promise((r) => setTimeout(r, 10));
      }
    })(),
  );
  // An async iterable, and an error at its place.
  async function* gen(): AsyncGenerator<unknown> {
    yield 1;
    yield "boom";
  }
  const got: unknown[] = [];
  const e = await failure((async () => {
    for await (const r of pool.map("fail", gen())) got.push(r);
  })());
  assert.ok(e instanceof TypeError);
});

ipcTest(
  "a shared region arrives mapped, not copied; pipes and sockets arrive as descriptors",
  async () => {
    await using pool = ProcessPool.create(TASKS, { size: 1, output: "null" });
    using shm = SharedMemory.anonymous({ size: 1 << 20 });
    shm.bytes.fill(1);
    assert.equal(await pool.run("sumRegion", [shm.region(0, 1000)]), 1000);
    assert.equal(await pool.run("fillRegion", [shm.region(4096, 10), 7]), 10);
    assert.deepEqual([...shm.bytes.subarray(4094, 4108)], [1, 1, ...Array(10).fill(7), 1, 1]);
    assert.equal(await pool.run("sumRegion", [shm.region()]), (1 << 20) + 60);
    const pipe = Pipe.create();
    try {
      const wrote = pool.run("writePipe", [pipe.writer, "through a pipe"]);
      pipe.writer.close();
      assert.equal(await pipe.reader.text({ timeout: BOUND }), "through a pipe");
      assert.equal(await wrote, 14);
    } finally {
      pipe.close();
    }
    const [a, b] = UnixSocket.pair({ type: "seqpacket" });
    try {
      await pool.run("sendOn", [b, "hello"]);
      b.close();
      const into = new Uint8Array(16);
      const r = await a.receive(into, { timeout: BOUND });
      assert.ok(typeof r === "object");
      assert.equal(new TextDecoder().decode(into.subarray(0, r.length)), "hello");
    } finally {
      a.close();
      b.close();
    }
    const handleBack = await failure(pool.run("echo", [shm]));
    assert.equal(handleBack.name, "DataCloneError");
  },
);

ipcTest("close finishes what was submitted; terminate rejects it; no worker is left", async () => {
  const pool = ProcessPool.create(TASKS, { size: 2, output: "null" });
  await pool.ready({ timeout: BOUND });
  const pids = pool.stat().workers.map((w) => w.pid);
  const pending = Array.from({ length: 6 }, (_, i) => pool.run("sleep", [20 + i]));
  const closing = pool.close();
  assert.ok((await failure(pool.run("add", [1, 1]))) instanceof ClosedError);
  await within(BOUND, "close", closing);
  assert.deepEqual(await Promise.all(pending), [20, 21, 22, 23, 24, 25]);
  await gone(pids);
  await pool.close(); // again: nothing

  const t = ProcessPool.create(TASKS, { size: 2, output: "null" });
  await t.ready({ timeout: BOUND });
  const tPids = t.stat().workers.map((w) => w.pid);
  const spinning = failure(t.run("spin", [600_000]));
  const waiting = failure(t.run("add", [1, 2]));
  await within(BOUND, "terminate", t.terminate());
  assert.ok((await spinning) instanceof ClosedError);
  const w = await waiting;
  assert.ok((w as unknown) === 3 || w instanceof ClosedError);
  await gone(tPids);
  for (const pid of [...pids, ...tPids]) assert.ok(!children().includes(pid));
});

ipcTest("an exception in the caller still closes the pool (await using)", async () => {
  let pids: number[] = [];
  await assert.rejects(async () => {
    await using pool = ProcessPool.create(TASKS, { size: 2, output: "null" });
    await pool.ready({ timeout: BOUND });
    pids = pool.stat().workers.map((w) => w.pid);
    throw new Error("the caller fails");
  }, /the caller fails/);
  await gone(pids);
});

ipcTest("workers die with a caller that is SIGKILLed, even mid-task", async () => {
  const script = `
    import { ProcessPool } from ${JSON.stringify(new URL("../src/pool.ts", import.meta.url).href)};
    const pool = ProcessPool.create(${JSON.stringify(TASKS.href)}, { size: 2, output: "null" });
    await pool.ready();
    void pool.run("spin", [600000]);
    void pool.run("spin", [600000]);
    await new Promise((r) => setTimeout(r, 200));
    console.log(JSON.stringify(pool.stat().workers.map((w) => w.pid)));
    await new Promise(() => {});
  `;
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, script);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", file],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const line = await within(BOUND, "the caller's worker pids", reader.read());
    const pids = JSON.parse(String(line.value).trim()) as number[];
    assert.equal(pids.length, 2);
    assert.ok(pids.every(alive));
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    await gone(pids);
  } finally {
    await Deno.remove(file);
  }
});

ipcTest("bad input throws before any worker starts", async () => {
  const before = children().length;
  const bad: Array<[unknown, unknown]> = [
    [42, {}],
    ["", {}],
    [TASKS, { size: 0 }],
    [TASKS, { size: 1.5 }],
    [TASKS, { prefetch: -1 }],
    [TASKS, { ringCapacity: 5000 }],
    [TASKS, { output: "piped" }],
    [TASKS, { permissions: { fly: true } }],
    [TASKS, { permissions: { read: 3 } }],
    [TASKS, { denoFlags: ["not-a-flag"] }],
    [TASKS, { sise: 2 }],
    [TASKS, null],
  ];
  for (const [m, o] of bad) {
    const e = thrown(() => ProcessPool.create(m as string, o as Record<string, never>));
    assert.ok(
      e instanceof TypeError || e instanceof RangeError,
      `${String(m)} ${JSON.stringify(o)}: ${e}`,
    );
  }
  assert.equal(children().length, before);
  await using pool = ProcessPool.create(TASKS, { size: 1, output: "null" });
  for (
    const [name, args, opts] of [
      ["", [], undefined],
      [3, [], undefined],
      ["add", "not an array", undefined],
      ["add", [], { timeout: -1 }],
      ["add", [], { signal: "no" }],
      ["add", [], { retries: 1.5 }],
      ["add", [], { colour: 1 }],
      ["x".repeat(300), [], undefined],
    ] as const
  ) {
    const e = await failure(pool.run(name as string, args as unknown as unknown[], opts as never));
    assert.ok(e instanceof TypeError || e instanceof RangeError, String(e));
  }
  assert.equal((await failure(pool.run("echo", [() => 1]))).name, "DataCloneError");
  assert.throws(() => pool.map("square", 5 as never), TypeError);
  assert.throws(() => pool.map("square", [], { concurrency: 0 }), RangeError);
  assert.equal(pool.stat().done, 0);
});

ipcTest("a million-item map runs in bounded memory (a 64 MiB heap)", async () => {
  // In a process of its own whose heap cannot grow past 64 MiB: a map that kept its items, its
  // results or its tasks (a million of each) would die of it. The bound is V8's, not a reading
  // of the resident size, which swings with when the collector runs.
  const script = `
    import { ProcessPool } from ${JSON.stringify(new URL("../src/pool.ts", import.meta.url).href)};
    await using pool = ProcessPool.create(${
    JSON.stringify(TASKS.href)
  }, { size: 2, output: "null" });
    const n = 1_000_000;
    let pulled = 0;
    function* items() { for (let i = 0; i < n; i++) { pulled++; yield i; } }
    let sum = 0, count = 0, ahead = 0;
    for await (const r of pool.map("echo", items(), { ordered: false })) {
      sum += r;
      ahead = Math.max(ahead, pulled - ++count);
    }
    console.log(JSON.stringify({ count, sum, ahead, rss: Deno.memoryUsage().rss }));
  `;
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, script);
    const out = await within(
      BOUND * 3,
      "a million-item map",
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--v8-flags=--max-old-space-size=64", file],
        stdout: "piped",
        stderr: "piped",
      }).output(),
    );
    const text = new TextDecoder().decode(out.stdout);
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const r = JSON.parse(text.trim().split("\n").at(-1) ?? "{}");
    const n = 1_000_000;
    assert.equal(r.count, n);
    assert.equal(r.sum, (n * (n - 1)) / 2);
    // Never more in flight than the map's bound (size × 128 by default).
    assert.ok(r.ahead <= 2 * 128, `${r.ahead} items were taken ahead of the results`);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("WorkerExitError checks its arguments and names the worker", () => {
  const e = new WorkerExitError(12, null, "SIGKILL", "hash");
  assert.equal(e.message, `the pool's worker 12 was killed by SIGKILL while running "hash"`);
  assert.throws(() => new WorkerExitError("1" as never, 0, null, "x"), TypeError);
});

// SharedMutex, SharedCondition and Monitor across processes: exact counts from 4 processes, a
// holder SIGKILLed at random moments (recovery every time, never a hang), consistent and
// not-recoverable states, condition waits across processes, timeouts and aborts that take
// nothing, memory closed under a wait, and bad input.
import assert from "node:assert/strict";
import {
  ClosedError,
  ErrnoError,
  Monitor,
  MutexGuard,
  SharedCondition,
  SharedMemory,
  SharedMutex,
  WOULD_BLOCK,
} from "../mod.ts";
import {
  firstLine,
  HAVE_GCC,
  ipcTest,
  ROOT,
  runDeno,
  skipIf,
  testRandom,
  thrown,
} from "./_helpers.ts";
import { underAttack } from "./_hostile.ts";

const CHILD = `${ROOT}tests/fixtures/sync_child.ts`;

function spawnChild(...args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", CHILD, ...args],
    stdout: "piped",
  }).spawn();
}

ipcTest("exact count from 4 processes and 3 tasks here, 3,000 locks each", async () => {
  using shm = SharedMemory.temporary({ size: 128 });
  const mutex = SharedMutex.init(shm, 0);
  const w = shm.int32();
  const kids = [1, 2, 3, 4].map(() => runDeno(CHILD, ["mutex-count", shm.name, "3000"]));
  const here = [1, 2, 3].map(async () => {
    for (let i = 0; i < 3000; i++) {
      using _g = await mutex.lock({ timeout: 60_000 });
      const v = w[16] ?? 0;
      if (i % 50 === 0) await null;
      w[16] = v + 1;
    }
  });
  await Promise.all(here);
  for (const r of await Promise.all(kids)) assert.equal(r.code, 0, r.stderr);
  assert.equal(w[16], 21_000);
  assert.equal(mutex.holder, 0);
  assert.equal(mutex.state, "consistent");
});

ipcTest("a holder SIGKILLed at random moments: the next locker recovers every time", async () => {
  using shm = SharedMemory.temporary({ size: 128 });
  const mutex = SharedMutex.init(shm, 0);
  const w = shm.int32();
  let died = 0;
  for (let round = 0; round < 6; round++) {
    const child = spawnChild("mutex-churn", shm.name);
    assert.equal(await firstLine(child), "churning");
    const before = Atomics.load(w, 17);
    while (Atomics.load(w, 17) < before + 50) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, testRandom() * 20));
    child.kill("SIGKILL");
    // No await on the child's status first: a zombie holder must count as dead too.
    using g = await mutex.lock({ timeout: 60_000 });
    if (g.ownerDied) {
      died++;
      assert.equal(mutex.state, "inconsistent");
      Atomics.store(w, 17, Atomics.load(w, 16)); // repair the invariant
      g.markConsistent();
      assert.equal(mutex.state, "consistent");
    }
    assert.equal(Atomics.load(w, 16), Atomics.load(w, 17), "the data is consistent");
    g.unlock();
    await child.status;
  }
  assert.equal(mutex.state, "consistent");
  // The child is inside its critical section almost all the time; a kill outside finds it free.
  assert.ok(died >= 1, `the kills should mostly land inside the critical section, ${died} did`);
});

ipcTest("a holder that dies: ownerDied, then consistent or not recoverable", async () => {
  using shm = SharedMemory.temporary({ size: 64 });
  const mutex = SharedMutex.init(shm, 0);
  const child = spawnChild("mutex-hold", shm.name);
  assert.equal(await firstLine(child), "locked");
  assert.equal(mutex.holder, child.pid);
  assert.equal(mutex.tryLock(), WOULD_BLOCK, "a live holder keeps it");
  const waiting = mutex.lock({ timeout: 60_000 });
  child.kill("SIGKILL");
  await child.status;
  const g = await waiting;
  assert.equal(g.ownerDied, true);
  assert.equal(mutex.holder, Deno.pid);
  g.unlock(); // without markConsistent: nobody vouches for the data
  assert.equal(mutex.state, "not-recoverable");
  const e = thrown(() => mutex.tryLock());
  assert.ok(e instanceof ErrnoError && e.code === "ENOTRECOVERABLE", `${e}`);
  await assert.rejects(mutex.lock(), ErrnoError);
  assert.equal(mutex.holder, 0, "a refused lock is not kept");
  // A dead holder that was already reaped is found by tryLock at once.
  const again = SharedMutex.init(shm, 32);
  const c2 = new Deno.Command("true").spawn();
  await c2.status;
  Atomics.store(shm.int32(32, 4), 0, c2.pid); // as if it had locked and exited
  const g2 = again.tryLock();
  assert.ok(g2 !== WOULD_BLOCK && g2.ownerDied);
  g2.markNotRecoverable();
  assert.equal(again.state, "not-recoverable");
});

ipcTest("timeouts and aborts take nothing; closing the memory ends a wait", async () => {
  using shm = SharedMemory.temporary({ size: 64 });
  const mutex = SharedMutex.init(shm, 0);
  const held = await mutex.lock();
  let aborted = 0;
  let timedOut = 0;
  for (let i = 0; i < 100; i++) {
    const ac = new AbortController();
    if (i % 4 === 0) ac.abort();
    try {
      await mutex.lock({ signal: ac.signal, timeout: i % 2 ? 2 : 0 });
      assert.fail("the lock is held");
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") aborted++;
      else if (e instanceof DOMException && e.name === "TimeoutError") timedOut++;
      else throw e;
    }
  }
  assert.deepEqual([aborted, timedOut], [25, 75]);
  assert.equal(mutex.holder, Deno.pid);
  const ac = new AbortController();
  const p = mutex.lock({ signal: ac.signal });
  setTimeout(() => ac.abort(new Error("enough")), 5);
  await assert.rejects(p, /enough/);
  assert.throws(() => mutex.lockSync({ timeout: 3 }), DOMException);
  held.unlock();
  held.unlock();
  assert.equal(mutex.holder, 0);
  using _g = mutex.lockSync({ timeout: 1000 });
  const q = mutex.lock({ timeout: 60_000 });
  await new Promise((r) => setTimeout(r, 5));
  shm.close();
  await assert.rejects(q, ClosedError);
  assert.ok(thrown(() => mutex.tryLock()) instanceof ClosedError);
});

ipcTest(
  "condition variables: notify one and all, across processes, relocking after timeout",
  async () => {
    using shm = SharedMemory.temporary({ size: 128 });
    const mutex = SharedMutex.init(shm, 0);
    const cond = SharedCondition.init(shm, 16);
    const w = shm.int32();
    {
      using g = await mutex.lock();
      await assert.rejects(cond.wait(g, { timeout: 2 }), DOMException);
      assert.equal(g.held && mutex.holder === Deno.pid, true, "held again after the timeout");
    }
    // Three waiters here; another process sets the flag and notifies all.
    const waiters = [1, 2, 3].map(async () => {
      using g = await mutex.lock();
      while (Atomics.load(w, 20) === 0) await cond.wait(g, { timeout: 60_000 });
      return Atomics.load(w, 20);
    });
    await new Promise((r) => setTimeout(r, 20));
    const code = `
    import { SharedCondition, SharedMemory, SharedMutex } from "${ROOT}mod.ts";
    using shm = SharedMemory.open(Deno.args[0]);
    const m = SharedMutex.at(shm, 0), c = SharedCondition.at(shm, 16);
    using g = await m.lock();
    Atomics.store(shm.int32(), 20, 42);
    c.notifyAll();`;
    const file = await Deno.makeTempFile({ suffix: ".ts" });
    await Deno.writeTextFile(file, code);
    try {
      const r = await runDeno(file, [shm.name]);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await Deno.remove(file);
    }
    assert.deepEqual(await Promise.all(waiters), [42, 42, 42]);
    const ac = new AbortController();
    using g = await mutex.lock();
    const p = cond.wait(g, { signal: ac.signal });
    ac.abort();
    await assert.rejects(p);
    assert.equal(mutex.holder, Deno.pid, "an aborted wait holds the mutex again");
  },
);

ipcTest(
  "a monitor bounded buffer: 2 producer processes, consumers here, every item once",
  async () => {
    const opts = { conditions: ["notFull", "notEmpty"] as const, dataBytes: 4 * 12 };
    using shm = SharedMemory.temporary({ size: Monitor.size(opts) });
    const monitor = Monitor.init(shm, 0, opts);
    const code = `
    import { Monitor, SharedMemory } from "${ROOT}mod.ts";
    using shm = SharedMemory.open(Deno.args[0]);
    const base = Number(Deno.args[1]);
    const m = Monitor.at(shm, 0, { conditions: ["notFull", "notEmpty"], dataBytes: 48 });
    for (let i = 0; i < 500; i++) {
      await m.enter(async (s) => {
        // data: [head, tail, count, 8 slots, spare]
        while (s.int32[2] === 8) await s.wait("notFull", { timeout: 60000 });
        s.int32[3 + (s.int32[1] ?? 0)] = base + i;
        s.int32[1] = ((s.int32[1] ?? 0) + 1) % 8;
        s.int32[2] = (s.int32[2] ?? 0) + 1;
        s.notify("notEmpty");
      });
    }`;
    const file = await Deno.makeTempFile({ suffix: ".ts" });
    await Deno.writeTextFile(file, code);
    try {
      const producers = [0, 1000].map((base) => runDeno(file, [shm.name, String(base)]));
      const seen: number[] = [];
      for (let n = 0; n < 1000; n++) {
        seen.push(
          await monitor.enter(async (s) => {
            while (s.int32[2] === 0) await s.wait("notEmpty", { timeout: 60_000 });
            const v = s.int32[3 + (s.int32[0] ?? 0)] ?? -1;
            s.int32[0] = ((s.int32[0] ?? 0) + 1) % 8;
            s.int32[2] = (s.int32[2] ?? 0) - 1;
            s.notify("notFull");
            return v;
          }),
        );
      }
      for (const r of await Promise.all(producers)) assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(
        seen.toSorted((a, b) => a - b),
        [
          ...Array.from({ length: 500 }, (_, i) => i),
          ...Array.from({ length: 500 }, (_, i) => 1000 + i),
        ],
      );
      const fromEach = (lo: number): number[] => seen.filter((v) => v >= lo && v < lo + 500);
      assert.deepEqual(fromEach(0), fromEach(0).toSorted((a, b) => a - b), "FIFO per producer");
    } finally {
      await Deno.remove(file);
    }
    await assert.rejects(monitor.enter((s) => s.notify("nope" as "notFull")), TypeError);
    assert.equal(monitor.mutex.holder, 0, "a throwing body leaves the monitor");
  },
);

ipcTest("bad input on mutexes, conditions and monitors", async (t) => {
  using shm = SharedMemory.temporary({ size: 64 });
  const mutex = SharedMutex.init(shm, 0);
  const cond = SharedCondition.init(shm, 16);
  // deno-lint-ignore no-explicit-any
  const A = SharedMutex as any;
  // deno-lint-ignore no-explicit-any
  const C = cond as any;
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["init on a Uint8Array", () => A.init(new Uint8Array(64), 0), TypeError],
    ["init offset unaligned", () => SharedMutex.init(shm, 2), RangeError],
    [
      "init offset past the end",
      () => SharedMutex.init(shm, 64 - SharedMutex.size() + 4),
      RangeError,
    ],
    ["init offset a string", () => A.init(shm, "0"), TypeError],
    ["at uninitialised memory", () => SharedMutex.at(shm, 32), TypeError],
    ["condition at uninitialised memory", () => SharedCondition.at(shm, 40), TypeError],
    ["lockSync timeout negative", () => mutex.lockSync({ timeout: -1 }), RangeError],
    ["monitor without conditions", () => Monitor.size({} as never), TypeError],
    ["monitor duplicate conditions", () => Monitor.size({ conditions: ["a", "a"] }), TypeError],
    [
      "monitor dataBytes negative",
      () => Monitor.size({ conditions: [], dataBytes: -4 }),
      RangeError,
    ],
    [
      "monitor too big for memory",
      () => Monitor.init(shm, 0, { conditions: ["a"], dataBytes: 64 }),
      RangeError,
    ],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => {
      const e = thrown(fn);
      assert.ok(e instanceof type, `${label}: got ${e}`);
    });
  }
  await assert.rejects(mutex.lock({ timeout: NaN }), RangeError);
  await assert.rejects(C.wait({}), TypeError, "a guard is required");
  const g = await mutex.lock();
  g.unlock();
  await assert.rejects(cond.wait(g), TypeError, "an unlocked guard");
  assert.ok(thrown(() => g.markConsistent()) instanceof ClosedError);
  assert.ok(g instanceof MutexGuard);
  assert.equal(mutex.holder, 0);
});

ipcTest(
  "hostile peer: garbage in a mutex, a condition, a semaphore and futex words never crashes or hangs",
  async (t) => {
    if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
    const report = await underAttack("sync", 512, 1500);
    const met = Object.keys(report.errors).filter((k) => k.startsWith("ErrnoError"));
    assert.ok(met.length > 0, `the corruption was met: ${JSON.stringify(report.errors)}`);
  },
);

ipcTest(
  "a state word that is not 0 or 1 is not recoverable, for every way of locking",
  async () => {
    using shm = SharedMemory.temporary({ size: 64 });
    const mutex = SharedMutex.init(shm, 0);
    shm.int32()[1] = 7;
    assert.equal(mutex.state, "not-recoverable");
    const notRecoverable = (e: unknown): boolean =>
      e instanceof ErrnoError && e.code === "ENOTRECOVERABLE";
    assert.ok(notRecoverable(thrown(() => mutex.tryLock())));
    assert.ok(notRecoverable(thrown(() => mutex.lockSync({ timeout: 100 }))));
    await assert.rejects(mutex.lock({ timeout: 100 }), notRecoverable);
    assert.equal(mutex.holder, 0, "each refusal left the lock free");
  },
);

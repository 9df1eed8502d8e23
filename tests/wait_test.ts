// The wait core (src/_wait.ts, src/_reactor.ts) that every blocking operation reuses: spin,
// sleep through the shared reactors that only wait, settle on this thread. Its promises: a
// cancelled wait took nothing, and no number of pending waits can freeze the process.
import assert from "node:assert/strict";
import {
  ClosedError,
  futexWait,
  futexWake,
  Pipe,
  Semaphore,
  SharedMemory,
  spawn,
  SysVMessageQueue,
} from "../mod.ts";
import { FUTEX_GROUPS, reactorThreads } from "../src/_reactor.ts";
import {
  AdaptiveSpins,
  boundsOf,
  deadlineFor,
  futexSleeper,
  TIMED_OUT,
  UNBOUNDED,
  waitUntil,
  waitUntilSync,
  WOULD_BLOCK,
} from "../src/_wait.ts";
import { ipcTest, ROOT, run, runDeno, within } from "./_helpers.ts";

/** Takes one item from a shared counter of items, on this thread, or says it would block. */
function take(words: Int32Array): number | typeof WOULD_BLOCK {
  for (;;) {
    const n = Atomics.load(words, 0);
    if (n === 0) return WOULD_BLOCK;
    if (Atomics.compareExchange(words, 0, n, n - 1) === n) return n;
  }
}

ipcTest("waitUntil returns what the attempt took, or TIMED_OUT", async () => {
  using shm = SharedMemory.temporary({ size: 64 });
  const w = shm.int32();
  const sleeper = futexSleeper(w, 0);
  assert.equal(await waitUntil(() => take(w), sleeper, boundsOf({ timeout: 5 })), TIMED_OUT);
  assert.equal(await waitUntil(() => take(w), sleeper, boundsOf({ timeout: 0 })), TIMED_OUT);
  w[0] = 1;
  assert.equal(await waitUntil(() => take(w), sleeper, UNBOUNDED), 1);
  const later = waitUntil(() => take(w), sleeper, boundsOf({ timeout: 20_000 }));
  setTimeout(() => {
    Atomics.add(w, 0, 1);
    futexWake(w, 0);
  }, 5);
  assert.equal(await later, 1);
  assert.equal(w[0], 0);
});

ipcTest(
  "cancelled waits take nothing: thousands of aborted waits while another process produces",
  async () => {
    using shm = SharedMemory.temporary({ size: 64 });
    const w = shm.int32(); // word 0: items available; word 1: items produced (written by the child)
    const produced = 20_000;
    const child = runDeno(`${ROOT}tests/fixtures/producer.ts`, [shm.name, String(produced)]);
    let taken = 0;
    let aborted = 0;
    let preAborted = 0;
    let finished = false;
    child.finally(() => finished = true);
    const sleeper = futexSleeper(w, 0);
    for (let k = 0; !finished || Atomics.load(w, 0) > 0; k++) {
      // Every fourth wait starts aborted and every fourth is aborted in a microtask, racing the
      // producer; a cancelled wait must not have taken an item.
      const ac = new AbortController();
      if (k % 4 === 0 && preAborted < 2000) {
        ac.abort();
        preAborted++;
      } else if (k % 4 === 1) queueMicrotask(() => ac.abort());
      try {
        const r = await waitUntil(
          () => take(w),
          sleeper,
          boundsOf({ signal: ac.signal, timeout: 50 }),
          0,
        );
        if (r !== TIMED_OUT) taken++;
      } catch (e) {
        assert.equal((e as Error).name, "AbortError");
        aborted++;
      }
    }
    const r = await child;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(Atomics.load(w, 1), produced);
    assert.equal(taken + Atomics.load(w, 0), produced, "every item taken exactly once");
    assert.ok(aborted >= preAborted && preAborted >= 1000, `${aborted} cancelled`);
  },
);

ipcTest(
  "1,000 idle waits of mixed kinds hold at most 5 pool threads; a 100 ms timeout and a file read still settle",
  async () => {
    using shm = SharedMemory.temporary({ size: 4096 });
    const words = shm.int32();
    const pipes = Array.from({ length: 200 }, () => Pipe.create());
    const sems = Array.from({ length: 10 }, () => Semaphore.temporary());
    using q = SysVMessageQueue.temporary();
    const stop = new AbortController();
    const waits: Promise<unknown>[] = [];
    // 580 futex words (more than the 508 the futex groups hold in the kernel), 20 child status
    // waits, 200 pipe reads, 100 semaphore waits, 100 System V receives: 1,000 in all.
    for (let i = 0; i < 580; i++) waits.push(futexWait(words, i, 0));
    const children = Array.from({ length: 20 }, () => spawn("sleep", { args: ["60"] }));
    for (const c of children) waits.push(c.status.then((s) => s.signal));
    for (const p of pipes) waits.push(p.reader.read(new Uint8Array(4)));
    for (let i = 0; i < 100; i++) waits.push(sems[i % 10]?.wait() ?? Promise.resolve());
    for (let i = 0; i < 100; i++) {
      waits.push(q.receive({ signal: stop.signal }).catch((e) => e.name));
    }
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(reactorThreads() <= 1 + FUTEX_GROUPS, `${reactorThreads()} reactor calls pending`);
    // With one pool thread per wait, these would never settle (Deno's pool has ~32 threads).
    const late = await within(
      10_000,
      "a 100 ms futex timeout",
      futexWait(words, 1000, 0, { timeout: 100 }),
    );
    assert.equal(late, "timed-out");
    const text = await within(10_000, "Deno.readTextFile", Deno.readTextFile("/proc/self/stat"));
    assert.ok(text.length > 0);
    // Release every wait and check each settles with what released it.
    for (let i = 0; i < 580; i++) {
      Atomics.store(words, i, 1);
      futexWake(words, i);
    }
    for (const c of children) c.kill("SIGTERM");
    for (const p of pipes) p.writer.tryWrite(new Uint8Array([7]));
    for (const s of sems) for (let i = 0; i < 10; i++) s.post();
    stop.abort();
    const results = await within(20_000, "releasing 1,000 waits", Promise.all(waits));
    assert.deepEqual(new Set(results.slice(0, 580)), new Set(["ok"]));
    assert.deepEqual(new Set(results.slice(580, 600)), new Set(["SIGTERM"]));
    assert.deepEqual(new Set(results.slice(600, 800)), new Set([1]));
    assert.deepEqual(new Set(results.slice(900)), new Set(["AbortError"]));
    for (const p of pipes) p.close();
    for (const s of sems) s.close();
    await within(
      5_000,
      "the reactors going idle",
      (async () => {
        while (reactorThreads() > 0) await new Promise((r) => setTimeout(r, 5));
      })(),
    );
  },
);

ipcTest("10,000 pending futex waits hold at most 5 pool threads and all settle", async () => {
  using shm = SharedMemory.temporary({ size: 40_000 });
  const words = shm.int32();
  const waits = Array.from({ length: 10_000 }, (_, i) => futexWait(words, i, 0));
  await new Promise((r) => setTimeout(r, 50));
  const threads = reactorThreads();
  console.log(`reactor calls pending with 10,000 waits: ${threads}`);
  assert.ok(threads <= 1 + FUTEX_GROUPS);
  for (let i = 0; i < 10_000; i++) {
    Atomics.store(words, i, 1);
    futexWake(words, i);
  }
  const results = await within(30_000, "10,000 waits", Promise.all(waits));
  assert.equal(results.filter((r) => r === "ok").length, 10_000);
});

ipcTest("a wait whose memory is closed in the same tick ends with ClosedError", async () => {
  const shm = SharedMemory.temporary({ size: 64 });
  const pending = futexWait(shm.int32(), 0, 0);
  shm.close();
  await assert.rejects(within(5_000, "futexWait after close", pending), ClosedError);
  const sem = Semaphore.temporary();
  const waiting = sem.wait();
  sem.close();
  await assert.rejects(within(5_000, "Semaphore.wait after close", waiting), ClosedError);
  // The word's old address is no longer watched: a new mapping there is not disturbed.
  using again = SharedMemory.temporary({ size: 64 });
  assert.equal(await futexWait(again.int32(), 0, 0, { timeout: 20 }), "timed-out");
});

Deno.test("adaptive spins: longer after a quick wake-up, shorter after a slow one, in bounds", () => {
  const a = new AdaptiveSpins(16, 1000, 100);
  a.slept(30_000); // woken 30 µs after falling asleep: a longer spin would have caught it
  assert.equal(a.current, 200);
  for (let i = 0; i < 10; i++) a.slept(50_000);
  assert.equal(a.current, 1000, "never above the ceiling");
  a.slept(500_000); // neither soon nor late: unchanged
  assert.equal(a.current, 1000);
  for (let i = 0; i < 20; i++) a.slept(10_000_000); // a slow peer
  assert.equal(a.current, 16, "never below the floor");
  a.hit(300); // needed 300 tries: room for twice that
  assert.equal(a.current, 616);
  for (let i = 0; i < 200; i++) a.hit(10); // fast again: drifts down toward 2 × 10 + 16
  assert.ok(a.current >= 36 && a.current < 60, String(a.current));

  // Through the wait loops: a success while spinning is a hit, one after a sleep is a sleep.
  const b = new AdaptiveSpins(16, 10_000, 64);
  let left = 5;
  const r = waitUntilSync(
    () => (--left === 0 ? "done" : WOULD_BLOCK),
    {
      snapshot: () => 0,
      sleepSync: () => {},
    },
    deadlineFor(1000),
    b,
  );
  assert.equal(r, "done");
  // It succeeded at try 3 (counting from 0): 2 × 3 + 16 = 22 is below 64, a small step down.
  assert.equal(b.current, 62);
});

ipcTest(
  "the suite's watchdog fails a test past its bound, says what it waits on, goes on",
  async () => {
    const r = await run(Deno.execPath(), ["test", "-A", `${ROOT}/tests/fixtures/hang_fixture.ts`], {
      env: { DIPC_TEST_BOUND_MS: "1500", NO_COLOR: "1" },
      boundMs: 60_000,
    });
    const out = r.stdout + r.stderr;
    assert.notEqual(r.code, 0, out);
    assert.match(out, /watchdog: test "waits forever on a child" still running after 1500 ms/);
    assert.match(
      out,
      /child \d+: \S*sleep 1000\n\s+thread \d+ sleep: state \S+, in \S+\n\s+\(killed\)/,
    );
    assert.match(out, /thread \d+ deno: state/, "this process's threads are listed");
    assert.match(out, /passes \.\.\. ok/, "the next test still runs");
    assert.match(out, /1 passed \| 1 failed/);
  },
);

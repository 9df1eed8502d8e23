// The wait core (src/_wait.ts) that every blocking operation reuses: spin, sleep on a pool
// thread that only waits, settle on this thread. Its promise: a cancelled wait took nothing.
import assert from "node:assert/strict";
import { futexWake, SharedMemory } from "../mod.ts";
import { futexSleeper, TIMED_OUT, waitUntil, WOULD_BLOCK } from "../src/_wait.ts";
import { ipcTest, ROOT, runDeno } from "./_helpers.ts";

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
  assert.equal(await waitUntil(() => take(w), sleeper, { timeout: 5 }), TIMED_OUT);
  assert.equal(await waitUntil(() => take(w), sleeper, { timeout: 0 }), TIMED_OUT);
  w[0] = 1;
  assert.equal(await waitUntil(() => take(w), sleeper, {}), 1);
  const later = waitUntil(() => take(w), sleeper, { timeout: 20_000 });
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
        const r = await waitUntil(() => take(w), sleeper, { signal: ac.signal, timeout: 50 }, 0);
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

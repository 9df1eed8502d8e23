import assert from "node:assert/strict";
import {
  ClosedError,
  futexWait,
  futexWaitSync,
  futexWake,
  SharedMemory,
  SysVSharedMemory,
} from "../mod.ts";
import { compileC, HAVE_GCC, ipcTest, ROOT, runDeno, runOk, skipIf, thrown } from "./_helpers.ts";

const PEER = `${ROOT}tests/fixtures/futex_peer.ts`;

const FUTEX_C = `
#include <fcntl.h>
#include <linux/futex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
/* usage: futex_peer wait NAME (sleeps while word 0 is 0, prints it) | wake NAME VALUE */
int main(int argc, char **argv) {
  int fd = shm_open(argv[2], O_RDWR, 0);
  if (fd < 0) { perror("shm_open"); return 1; }
  uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (w == MAP_FAILED) { perror("mmap"); return 1; }
  if (!strcmp(argv[1], "wait")) {
    __atomic_store_n(&w[1], 1, __ATOMIC_SEQ_CST); /* tell the test we are about to sleep */
    syscall(SYS_futex, &w[1], FUTEX_WAKE, 1, NULL, NULL, 0);
    while (__atomic_load_n(&w[0], __ATOMIC_SEQ_CST) == 0)
      syscall(SYS_futex, &w[0], FUTEX_WAIT, 0, NULL, NULL, 0);
    printf("%u\\n", w[0]);
  } else {
    __atomic_store_n(&w[0], (uint32_t)atoi(argv[3]), __ATOMIC_SEQ_CST);
    printf("%ld\\n", syscall(SYS_futex, &w[0], FUTEX_WAKE, 1, NULL, NULL, 0));
  }
  return 0;
}
`;

ipcTest("not-equal, timed-out and timeout 0 without sleeping", async () => {
  using shm = SharedMemory.temporary({ size: 64 });
  const w = shm.int32();
  w[0] = 5;
  assert.equal(await futexWait(w, 0, 4), "not-equal");
  assert.equal(await futexWait(w, 0, 5, { timeout: 0 }), "timed-out");
  assert.equal(await futexWait(w, 0, 5, { timeout: 15 }), "timed-out");
  assert.equal(futexWaitSync(w, 0, 4), "not-equal");
  assert.equal(futexWaitSync(w, 0, 5, 5), "timed-out");
  assert.equal(futexWaitSync(w, 0, 5, 0), "timed-out");
  // Absurdly long timeouts mean "no limit", not an overflowed timespec (EINVAL).
  assert.equal(futexWaitSync(w, 0, 4, 1e22), "not-equal"); // 1e19 s: past 2^63 in a timespec
  assert.equal(futexWaitSync(w, 0, 4, Number.MAX_SAFE_INTEGER), "not-equal");
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 5);
  await assert.rejects(futexWait(w, 0, 5, { timeout: 1e300, signal: ac.signal }), {
    name: "AbortError",
  });
});

ipcTest("wake in the same process: the waiter returns ok and sees the new value", async () => {
  using shm = SharedMemory.temporary({ size: 64 });
  const w = shm.int32();
  const waiting = futexWait(w, 3, 0, { timeout: 20_000 });
  setTimeout(() => {
    Atomics.store(w, 3, 9);
    futexWake(w, 3);
  }, 5);
  assert.equal(await waiting, "ok");
  assert.equal(Atomics.load(w, 3), 9);
});

ipcTest("wake across processes: another Deno process stores and wakes", async () => {
  using shm = SharedMemory.temporary({ size: 64 });
  const w = shm.int32();
  const waiting = futexWait(w, 2, 0, { timeout: 20_000 });
  const r = await runDeno(PEER, ["wake", shm.name, "2", "77"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await waiting, "ok");
  assert.equal(Atomics.load(w, 2), 77);
});

ipcTest("a blocked waiter in another process is woken by futexWake here", async () => {
  using shm = SharedMemory.temporary({ size: 64 });
  const w = shm.int32();
  const child = runDeno(PEER, ["wait", shm.name, "1"]);
  // Wake repeatedly until the child reports: it may not be asleep yet at the first wake.
  let done = false;
  const result = child.finally(() => done = true);
  Atomics.store(w, 1, 123);
  while (!done) {
    futexWake(w, 1);
    await new Promise((r) => setTimeout(r, 5));
  }
  const r = await result;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "123");
});

ipcTest("no lost wake-up: 5,000 ping-pong rounds between two processes", async () => {
  using shm = SharedMemory.temporary({ size: 64 });
  const w = shm.int32();
  const rounds = 5000;
  const child = runDeno(PEER, ["pingpong", shm.name, String(rounds)]);
  for (let i = 0; i < rounds; i++) {
    Atomics.store(w, 0, 2 * i + 1);
    futexWake(w, 0);
    const want = 2 * i + 2;
    for (let v = Atomics.load(w, 0); v !== want; v = Atomics.load(w, 0)) {
      const r = await futexWait(w, 0, v, { timeout: 20_000 });
      assert.notEqual(r, "timed-out", `lost wake-up in round ${i}`);
    }
  }
  const r = await child;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), "done");
  assert.equal(Atomics.load(w, 0), 2 * rounds);
});

ipcTest(
  "abort: a pending wait rejects with the signal's reason and leaves no pool thread",
  async () => {
    using shm = SharedMemory.temporary({ size: 64 });
    const w = shm.int32();
    const ac = new AbortController();
    const waiting = futexWait(w, 0, 0, { signal: ac.signal });
    setTimeout(() => ac.abort(new Error("stop")), 10);
    await assert.rejects(waiting, /stop/);
    // Deno's op sanitizer fails this test if the pool-thread futex call were still pending.
  },
);

ipcTest("abort before the call rejects at once; abort of one waiter leaves the other", async () => {
  using shm = SharedMemory.temporary({ size: 64 });
  const w = shm.int32();
  await assert.rejects(futexWait(w, 0, 0, { signal: AbortSignal.abort() }), {
    name: "AbortError",
  });
  const ac = new AbortController();
  const a = futexWait(w, 0, 0, { signal: ac.signal });
  const b = futexWait(w, 0, 0, { timeout: 20_000 });
  setTimeout(() => ac.abort(), 5);
  await assert.rejects(a, { name: "AbortError" });
  Atomics.store(w, 0, 1);
  futexWake(w, 0);
  assert.equal(await b, "ok");
});

ipcTest(
  "closing the memory ends a pending wait with ClosedError, leaving no pool thread",
  async () => {
    const shm = SharedMemory.temporary({ size: 64 });
    const w = shm.int32();
    const waits = [futexWait(w, 0, 0), futexWait(w, 1, 0), futexWait(w, 1, 0, { timeout: 60_000 })];
    await new Promise((r) => setTimeout(r, 10)); // let them reach the pool threads
    shm.close();
    // Handlers on all three at once: they reject together, and one left unhandled for a tick
    // would be reported as an uncaught rejection.
    await Promise.all(waits.map((p) => assert.rejects(p, ClosedError)));
    // Deno's op sanitizer fails this test if a pool-thread futex call were still pending.
  },
);

ipcTest("AbortSignal.timeout and many concurrent aborted waits", async () => {
  using shm = SharedMemory.temporary({ size: 64 });
  const w = shm.int32();
  const waits = Array.from(
    { length: 50 },
    (_, i) => futexWait(w, i % 4, 0, { signal: AbortSignal.timeout(5 + i % 7) }),
  );
  const results = await Promise.allSettled(waits);
  assert.ok(results.every((r) => r.status === "rejected" && r.reason.name === "TimeoutError"));
});

ipcTest(
  "futexWake counts: 0 with no waiters; one process's waits on a word share one",
  async () => {
    using shm = SharedMemory.temporary({ size: 64 });
    const w = shm.int32();
    assert.equal(futexWake(w, 0), 0);
    const waits = [0, 1, 2].map(() => futexWait(w, 0, 0, { timeout: 20_000 }));
    // Each waiter first spins on this thread, then sleeps; wake one at a time until all are done.
    let woken = 0;
    let settled = 0;
    waits.forEach((p) => p.then(() => settled++));
    while (settled < 3) {
      woken += futexWake(w, 0, 1);
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.deepEqual(await Promise.all(waits), ["ok", "ok", "ok"]);
    // The three waits sleep as one kernel waiter of the wait core: one wake settles them all.
    assert.equal(woken, 1);
    // With nobody waiting any more, the kernel has no waiter left on the word either.
    assert.equal(futexWake(w, 0), 0);
  },
);

ipcTest("works on System V shared memory and Uint32Array words too", async () => {
  using shm = SysVSharedMemory.temporary({ size: 64 });
  const u = shm.view(Uint32Array);
  u[0] = 0xffffffff;
  assert.equal(await futexWait(u, 0, 0xffffffff, { timeout: 1 }), "timed-out");
  assert.equal(await futexWait(u, 0, -1, { timeout: 1 }), "timed-out", "-1 is the same 32 bits");
  assert.equal(await futexWait(u, 0, 0), "not-equal");
});

ipcTest(
  "interop: a C program sleeping in FUTEX_WAIT is woken by dipc, and wakes dipc",
  async (t) => {
    if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
    const peer = await compileC("futex_peer", FUTEX_C);
    using shm = SharedMemory.temporary({ size: 4096 });
    const w = shm.int32();
    const child = runOk(peer, ["wait", shm.name]);
    while (Atomics.load(w, 1) === 0) await futexWait(w, 1, 0, { timeout: 20_000 });
    Atomics.store(w, 0, 31);
    let done = false;
    const out = child.finally(() => done = true);
    while (!done) {
      futexWake(w, 0);
      await new Promise((r) => setTimeout(r, 2));
    }
    assert.equal((await out).trim(), "31");

    Atomics.store(w, 0, 0);
    const waiting = futexWait(w, 0, 0, { timeout: 20_000 });
    await runOk(peer, ["wake", shm.name, "8"]);
    assert.equal(await waiting, "ok");
    assert.equal(Atomics.load(w, 0), 8);
  },
);

ipcTest("bad input: arrays, indexes, values, counts and options", async (t) => {
  using shm = SharedMemory.temporary({ size: 64 });
  const w = shm.int32();
  // deno-lint-ignore no-explicit-any
  const W = futexWait as any;
  // deno-lint-ignore no-explicit-any
  const K = futexWake as any;
  // deno-lint-ignore no-explicit-any
  const S = futexWaitSync as any;
  const detached = SharedMemory.temporary({ size: 64 });
  const stale = detached.int32();
  detached.close();
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["Uint8Array", () => K(shm.bytes, 0), TypeError],
    ["Float64Array", () => K(new Float64Array(2), 0), TypeError],
    ["plain array", () => K([0], 0), TypeError],
    ["index -1", () => futexWake(w, -1), RangeError],
    ["index past the end", () => futexWake(w, 16), RangeError],
    ["index fractional", () => futexWake(w, 0.5), RangeError],
    ["index as string", () => K(w, "0"), TypeError],
    ["count 0", () => futexWake(w, 0, 0), RangeError],
    ["count negative", () => futexWake(w, 0, -2), RangeError],
    ["count NaN", () => futexWake(w, 0, NaN), RangeError],
    ["array of a closed mapping", () => futexWake(stale, 0), TypeError],
    ["expected fractional", () => futexWaitSync(w, 0, 0.5), TypeError],
    ["expected beyond 32 bits", () => futexWaitSync(w, 0, 2 ** 33), RangeError],
    ["expected as string", () => S(w, 0, "0"), TypeError],
    ["sync timeout negative", () => futexWaitSync(w, 0, 0, -1), RangeError],
    ["sync timeout NaN", () => futexWaitSync(w, 0, 0, NaN), RangeError],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => assert.ok(thrown(fn) instanceof type, label));
  }
  const asyncCases: Array<[string, () => Promise<unknown>, new (...a: never[]) => Error]> = [
    ["timeout negative", () => futexWait(w, 0, 0, { timeout: -1 }), RangeError],
    ["timeout as string", () => W(w, 0, 0, { timeout: "5" }), TypeError],
    ["signal not an AbortSignal", () => W(w, 0, 0, { signal: {} }), TypeError],
    ["options not an object", () => W(w, 0, 0, 5), TypeError],
    ["async on a closed mapping", () => futexWait(stale, 0, 0), TypeError],
  ];
  for (const [label, fn, type] of asyncCases) {
    await t.step(label, () => assert.rejects(fn, type));
  }
});

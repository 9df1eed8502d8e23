// POSIX semaphores against glibc and the kernel: /dev/shm/sem.NAME and its mode, C peers on
// named and unnamed semaphores both ways, exact counts from 4 processes, waits that time out
// or are aborted and take nothing, close under a wait, glibc's sem_t layout, and bad input.
import assert from "node:assert/strict";
import {
  ClosedError,
  ErrnoError,
  ForeignOwnerError,
  SEM_VALUE_MAX,
  Semaphore,
  SharedMemory,
  WOULD_BLOCK,
} from "../mod.ts";
import {
  compileTestC,
  HAVE_GCC,
  ipcTest,
  ROOT,
  run,
  runDeno,
  runOk,
  skipIf,
  thrown,
  uniqueName,
} from "./_helpers.ts";

const CHILD = `${ROOT}tests/fixtures/sync_child.ts`;

ipcTest(
  "named: exclusive creation, mode 0600 exact whatever the umask, open by name, unlink",
  async (t) => {
    const name = uniqueName("sem");
    using a = Semaphore.create(name, { value: 3 });
    assert.equal(a.created, true);
    const st = Deno.statSync(`/dev/shm/sem.${name.slice(1)}`);
    assert.equal((st.mode ?? 0) & 0o777, 0o600);
    const e = thrown(() => Semaphore.create(name));
    assert.ok(e instanceof ErrnoError && e.code === "EEXIST" && e.syscall === "sem_open", `${e}`);
    assert.match(String(e), new RegExp(name));
    using b = Semaphore.create(name, { value: 9, exclusive: false }); // exists: keeps its value
    assert.deepEqual([b.created, b.value], [false, 3]);
    using c = Semaphore.temporary({ mode: 0o640 });
    assert.equal((Deno.statSync(`/dev/shm/sem.${c.name?.slice(1)}`).mode ?? 0) & 0o777, 0o640);
    if (!await skipIf(t, !HAVE_GCC && "gcc is not installed")) {
      const peer = await compileTestC("sync_peer");
      assert.equal((await runOk(peer, ["psem-value", name])).trim(), "3 600");
    }
    a.unlink();
    const gone = thrown(() => Semaphore.open(name));
    assert.ok(gone instanceof ErrnoError && gone.code === "ENOENT", `${gone}`);
    assert.equal(b.value, 3, "an unlinked semaphore lives on while open");
  },
);

ipcTest("a semaphore owned by another user is refused unless allowForeignOwner", async () => {
  using a = Semaphore.temporary();
  if (Deno.uid() !== 0) return; // only root can give one away
  await runOk("chown", ["65534:65534", `/dev/shm/sem.${a.name?.slice(1)}`]);
  const e = thrown(() => Semaphore.open(a.name ?? ""));
  assert.ok(e instanceof ForeignOwnerError && e.owner === 65534, `${e}`);
  const e2 = thrown(() => Semaphore.create(a.name ?? "", { exclusive: false }));
  assert.ok(e2 instanceof ForeignOwnerError, "create without exclusive must not adopt it");
  using b = Semaphore.open(a.name ?? "", { allowForeignOwner: true });
  b.post();
  assert.equal(a.value, 1);
});

ipcTest("C and Deno on one named semaphore, both ways", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc is not installed")) return;
  const peer = await compileTestC("sync_peer");
  using sem = Semaphore.temporary();
  const name = sem.name ?? "";
  // C waits (blocking sem_wait) for three posts from Deno.
  const waiter = run(peer, ["psem-wait", name, "3"]);
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 5));
    sem.post();
  }
  assert.equal((await waiter).stdout.trim(), "waited");
  // Deno waits (async) for posts from C: each wait must be woken by sem_post.
  const waits = Promise.all([1, 2, 3, 4].map(() => sem.wait({ timeout: 20_000 })));
  assert.equal((await runOk(peer, ["psem-post", name, "4"])).trim(), "posted");
  await waits;
  assert.equal(sem.value, 0);
});

ipcTest(
  "unnamed semaphores in shared memory: Deno init with C posting, C init with Deno waiting",
  async (t) => {
    if (await skipIf(t, !HAVE_GCC && "gcc is not installed")) return;
    const peer = await compileTestC("sync_peer");
    using shm = SharedMemory.temporary({ size: 128 });
    using mine = Semaphore.init(shm, 0, { value: 0 });
    const waiting = mine.wait({ timeout: 20_000 });
    await runOk(peer, ["usem-post", shm.name, "0", "1"]);
    await waiting;
    assert.equal((await runOk(peer, ["usem-init", shm.name, "64", "2"])).trim(), "ready");
    using theirs = Semaphore.at(shm, 64);
    assert.equal(theirs.value, 2);
    assert.deepEqual(
      [theirs.tryWait(), theirs.tryWait(), theirs.tryWait()],
      [undefined, undefined, WOULD_BLOCK],
    );
    assert.equal(theirs.name, undefined);
    assert.ok(thrown(() => theirs.unlink()) instanceof TypeError);
  },
);

ipcTest(
  "glibc's sem_t layout: value in word 0, sleepers in word 1 while a wait sleeps",
  async () => {
    using shm = SharedMemory.temporary({ size: 64 });
    using sem = Semaphore.init(shm, 0, { value: 5 });
    const w = shm.int32(0, Semaphore.size() / 4);
    // Word 2 is the flag glibc XORs into its futex calls: 128 cancels FUTEX_PRIVATE_FLAG.
    assert.deepEqual([w[0], w[1], w[2]], [5, 0, 128], "value 5, no sleepers, process-shared");
    for (let i = 0; i < 5; i++) assert.equal(sem.tryWait(), undefined);
    const waiting = sem.wait({ timeout: 20_000 });
    while (Atomics.load(w, 1) === 0) await new Promise((r) => setTimeout(r, 1));
    assert.equal(Atomics.load(w, 1), 1, "the sleeping wait counts itself as glibc's sem_wait does");
    sem.post();
    await waiting;
    assert.deepEqual([w[0], w[1]], [0, 0]);
  },
);

ipcTest("exact count from 4 processes taking a binary semaphore 2,000 times each", async () => {
  using sem = Semaphore.temporary({ value: 1 });
  using shm = SharedMemory.temporary({ size: 64 });
  const kids = [1, 2, 3, 4].map(() =>
    runDeno(CHILD, ["psem-count", sem.name ?? "", shm.name, "2000"])
  );
  for (const r of await Promise.all(kids)) assert.equal(r.code, 0, r.stderr);
  assert.equal(shm.int32()[0], 8000);
  assert.equal(sem.value, 1);
});

ipcTest(
  "timeouts and aborts take nothing: 400 cancelled waits, then every unit is still there",
  async () => {
    using sem = Semaphore.temporary();
    let aborted = 0;
    let timedOut = 0;
    for (let i = 0; i < 400; i++) {
      const ac = new AbortController();
      // Every 4th wait is aborted before it starts; the others race a post against a timeout.
      if (i % 4 === 0) ac.abort(new Error("stop"));
      const p = sem.wait({ signal: ac.signal, timeout: i % 2 === 0 ? 0 : 1 });
      try {
        await p;
        assert.fail("no unit was ever posted");
      } catch (e) {
        if (e instanceof DOMException && e.name === "TimeoutError") timedOut++;
        else if (e instanceof Error && e.message === "stop") aborted++;
        else throw e;
      }
    }
    assert.equal(aborted, 100);
    assert.equal(timedOut, 300);
    assert.equal(sem.value, 0);
    // Units posted while waits come and go are all taken exactly once.
    let got = 0;
    const takers = Array.from({ length: 50 }, async (_, i) => {
      const ac = new AbortController();
      if (i % 4 === 0) ac.abort();
      try {
        await sem.wait({ signal: ac.signal, timeout: 20_000 });
        got++;
      } catch (e) {
        if (!(e instanceof DOMException && e.name === "AbortError")) throw e;
      }
    });
    for (let i = 0; i < 37; i++) sem.post();
    await Promise.all(takers);
    assert.equal(got, 37);
    assert.equal(sem.value, 0);
  },
);

ipcTest("closing under a wait ends it with ClosedError; use after close throws", async () => {
  const sem = Semaphore.temporary();
  const p = sem.wait({ timeout: 20_000 });
  await new Promise((r) => setTimeout(r, 5));
  sem.close();
  await assert.rejects(p, ClosedError);
  sem.close(); // idempotent
  assert.ok(thrown(() => sem.post()) instanceof ClosedError);
  assert.ok(thrown(() => sem.value) instanceof ClosedError);
  await assert.rejects(sem.acquire(), ClosedError);
  const shm = SharedMemory.temporary({ size: 64 });
  const u = Semaphore.init(shm, 0);
  const q = u.wait({ timeout: 20_000 });
  shm.close();
  await assert.rejects(q, ClosedError);
  assert.ok(thrown(() => u.post()) instanceof ClosedError, "memory gone: no call reaches C");
});

ipcTest(
  "permits: release once, using releases, tryAcquire; waitSync; EOVERFLOW at the maximum",
  async () => {
    using sem = Semaphore.temporary({ value: 1 });
    const p = sem.tryAcquire();
    assert.ok(p !== WOULD_BLOCK && sem.tryAcquire() === WOULD_BLOCK);
    p.release();
    p.release();
    assert.equal(sem.value, 1);
    {
      using _q = await sem.acquire();
      assert.equal(sem.value, 0);
    }
    assert.equal(sem.value, 1);
    sem.waitSync({ timeout: 0 });
    assert.equal(sem.value, 0, "waitSync took the unit");
    const timedOut = thrown(() => sem.waitSync({ timeout: 5 }));
    assert.ok(timedOut instanceof DOMException && timedOut.name === "TimeoutError", `${timedOut}`);
    assert.ok(thrown(() => sem.waitSync({ timeout: 0 })) instanceof DOMException);
    sem.post();
    using full = Semaphore.temporary({ value: SEM_VALUE_MAX });
    const e = thrown(() => full.post());
    assert.ok(
      e instanceof ErrnoError && e.code === "EOVERFLOW" && e.syscall === "sem_post",
      `${e}`,
    );
  },
);

ipcTest("bad input on semaphores: every case throws before any system call", async (t) => {
  // deno-lint-ignore no-explicit-any
  const S = Semaphore as any;
  using shm = SharedMemory.temporary({ size: 64 });
  using live = Semaphore.temporary();
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["name without /", () => Semaphore.open("jobs"), TypeError],
    ["name with another /", () => Semaphore.open("/a/b"), TypeError],
    ["name over 251 bytes", () => Semaphore.open("/" + "x".repeat(251)), RangeError],
    ["name a number", () => S.open(7), TypeError],
    ["value negative", () => Semaphore.temporary({ value: -1 }), RangeError],
    ["value above SEM_VALUE_MAX", () => Semaphore.temporary({ value: 2 ** 31 }), RangeError],
    ["value fractional", () => Semaphore.temporary({ value: 0.5 }), RangeError],
    [
      "allowForeignOwner with exclusive create",
      () => Semaphore.create("/s", { allowForeignOwner: true }),
      TypeError,
    ],
    ["create value a string", () => S.create("/s", { value: "1" }), TypeError],
    ["mode 0o1000", () => Semaphore.temporary({ mode: 0o1000 }), RangeError],
    ["options an array", () => S.open("/s", []), TypeError],
    ["init on a plain array", () => S.init(new Uint8Array(64), 0), TypeError],
    ["init offset unaligned", () => Semaphore.init(shm, 4), RangeError],
    ["init offset past the end", () => Semaphore.init(shm, 64), RangeError],
    ["at a private semaphore", () => {
      shm.int32(8, 8)[2] = 0; // what sem_init with pshared 0 leaves
      return Semaphore.at(shm, 8);
    }, TypeError],
    ["waitSync timeout NaN", () => live.waitSync({ timeout: NaN }), RangeError],
    ["waitSync timeout a string", () => live.waitSync({ timeout: "5" as never }), TypeError],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => {
      const e = thrown(fn);
      assert.ok(e instanceof type, `${label}: got ${e}`);
    });
  }
  await assert.rejects(live.wait({ timeout: -1 }), RangeError);
  // deno-lint-ignore no-explicit-any
  await assert.rejects(live.wait({ signal: "stop" as any }), TypeError);
});

ipcTest("an empty or short sem.NAME left by a peer is refused (EINVAL), not a SIGBUS", () => {
  for (const size of [0, 16]) {
    const name = uniqueName("sem-short");
    const file = `/dev/shm/sem.${name.slice(1)}`;
    Deno.writeFileSync(file, new Uint8Array(size), { mode: 0o600 });
    try {
      const e = thrown(() => Semaphore.open(name));
      assert.ok(e instanceof ErrnoError && e.code === "EINVAL", `${e}`);
      assert.match(e.message, new RegExp(`holds ${size} bytes, less than a sem_t`));
    } finally {
      Deno.removeSync(file);
    }
  }
});

ipcTest(
  "a value word above SEM_VALUE_MAX (a peer's garbage) is EPROTO, never an abort",
  async () => {
    using shm = SharedMemory.temporary({ size: 64 });
    const sem = Semaphore.init(shm, 0, { value: 1 });
    shm.int32()[0] = -5;
    for (
      const op of [
        () => sem.value,
        () => sem.tryWait(),
        () => sem.post(),
        () => sem.waitSync({ timeout: 1 }),
      ]
    ) {
      const e = thrown(op);
      assert.ok(e instanceof ErrnoError && e.code === "EPROTO", `${e}`);
    }
    await assert.rejects(
      sem.wait({ timeout: 10 }),
      (e) => e instanceof ErrnoError && e.code === "EPROTO",
    );
    shm.int32()[0] = 2;
    assert.equal(sem.value, 2);
    assert.equal(sem.tryWait(), undefined);
    sem.close();
  },
);

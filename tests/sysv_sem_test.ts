// System V semaphore sets against the kernel: what ipcs reports, a set made by ipcmk, C and
// Python (sysv_ipc) peers, atomic multi-operation semop, wait-for-zero, SEM_UNDO releasing what
// a killed process held, GETPID/GETNCNT/GETZCNT, safe initialisation racing openers, removal
// under a waiter, cancelled waits that change nothing, 4 processes counting, and bad input.
import assert from "node:assert/strict";
import {
  ClosedError,
  ErrnoError,
  ForeignOwnerError,
  IPC_PRIVATE,
  SharedMemory,
  SYSV_SEM_VALUE_MAX,
  SysVSemaphoreSet,
  WOULD_BLOCK,
} from "../mod.ts";
import {
  CAN_DROP_CAPS,
  compileTestC,
  firstLine,
  HAVE_GCC,
  HAVE_SYSV_IPC,
  ipcTest,
  python,
  ROOT,
  runDeno,
  runOk,
  skipIf,
  squat,
  thrown,
} from "./_helpers.ts";
import { nothingTakenAfterWait, shareWithKernelWaiter } from "./_fairness.ts";

const CHILD = `${ROOT}tests/fixtures/sync_child.ts`;
const randomKey = (): number => 0x5e000000 + Math.floor(Math.random() * 0xffffff);

/** The `ipcs -s` row of `id`: key, semid, owner, perms, nsems. */
async function ipcsRow(id: number): Promise<string[] | undefined> {
  const out = await runOk("ipcs", ["-s"]);
  return out.split("\n").map((l) => l.trim().split(/\s+/)).find((c) => c[1] === String(id));
}

/** Waits until `check()` holds (polling; the tests never assert on timing). */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 20_000 && !check(); i++) await new Promise((r) => setTimeout(r, 1));
  assert.ok(check(), `gave up waiting for ${what}`);
}

ipcTest("create by key: exclusive, initial values, mode 0600, ipcs -s shows it", async () => {
  const key = randomKey();
  using a = SysVSemaphoreSet.create(key, { count: 3, initial: [1, 2, 3] });
  assert.equal(a.created, true);
  const e = thrown(() => SysVSemaphoreSet.create(key, { count: 3 }));
  assert.ok(e instanceof ErrnoError && e.code === "EEXIST" && e.syscall === "semget", `${e}`);
  using b = SysVSemaphoreSet.open(key);
  assert.deepEqual([b.id, b.count, b.created], [a.id, 3, false]);
  assert.deepEqual(b.getAll(), [1, 2, 3]);
  const row = await ipcsRow(a.id);
  assert.ok(row, "ipcs -s lists the set");
  assert.deepEqual([Number(row[0]), row[3], row[4]], [key >>> 0, "600", "3"]);
  const st = a.stat();
  assert.deepEqual([st.count, st.mode, st.key], [3, 0o600, key]);
  assert.ok(st.operated instanceof Date, "the creator's first semop marks it initialised");
  const tooMany = thrown(() => SysVSemaphoreSet.create(key, { count: 4, exclusive: false }));
  assert.ok(tooMany instanceof ErrnoError && tooMany.code === "EINVAL", `${tooMany}`);
  a.remove();
  const gone = thrown(() => SysVSemaphoreSet.open(key));
  assert.ok(gone instanceof ErrnoError && gone.code === "ENOENT", `${gone}`);
});

ipcTest(
  "a set made by ipcmk: never operated on, opened as it is once its young time has passed",
  async () => {
    const out = await runOk("ipcmk", ["-S", "2", "-p", "0600"]);
    const id = Number(/(\d+)/.exec(out)?.[1]);
    try {
      // Young (changed less than readyTimeout + 1 s ago): waited for, then taken as it is,
      // never a TimeoutError. The wait is bounded by readyTimeout plus sem_ctime's rounding.
      using first = SysVSemaphoreSet.openId(id, { readyTimeout: 20 });
      assert.deepEqual(first.getAll(), [0, 0]);
      const changed = first.stat().changed.getTime();
      assert.ok(
        Date.now() >= changed + 1000 + 20,
        "returned only once the set was no longer young",
      );
      assert.equal(first.stat().operated, null, "opening does not operate on the set");
      using set = SysVSemaphoreSet.openId(id, { readyTimeout: 0 });
      assert.deepEqual([set.count, ...set.getAll()], [2, 0, 0]);
      set.post(1);
      assert.equal(set.stat().operated instanceof Date, true);
      using again = SysVSemaphoreSet.openId(id); // now initialised: no wait
      assert.deepEqual(again.getAll(), [0, 1]);
    } finally {
      await runOk("ipcrm", ["-s", String(id)]);
    }
  },
);

ipcTest(
  "safe initialisation: 6 processes race to create one key; all see the initial values",
  async () => {
    const key = randomKey();
    const code = `
    import { SysVSemaphoreSet } from "${ROOT}mod.ts";
    using s = SysVSemaphoreSet.create(${key}, { count: 2, initial: [7, 9], exclusive: false });
    console.log(s.created, s.getAll().join(","));
    s.tryWait(0);`;
    const file = await Deno.makeTempFile({ suffix: ".ts" });
    await Deno.writeTextFile(file, code);
    try {
      const results = await Promise.all([1, 2, 3, 4, 5, 6].map(() => runDeno(file, [])));
      const lines = results.map((r) => (assert.equal(r.code, 0, r.stderr), r.stdout.trim()));
      assert.equal(lines.filter((l) => l.startsWith("true")).length, 1, lines.join("\n"));
      // Each saw the values before any tryWait, or after some: never the zeros of an
      // uninitialised set.
      for (const l of lines) assert.match(l, /^(true|false) [1-7],9$/);
      using s = SysVSemaphoreSet.open(key);
      assert.deepEqual(s.getAll(), [1, 9]);
      s.remove();
    } finally {
      await Deno.remove(file);
    }
  },
);

ipcTest("several operations apply atomically: all or none; wait-for-zero; ERANGE", async () => {
  using set = SysVSemaphoreSet.temporary({ count: 3, initial: [1, 0, 5] });
  assert.equal(set.tryOp([{ index: 0, op: -1 }, { index: 1, op: -1 }]), WOULD_BLOCK);
  assert.deepEqual(set.getAll(), [1, 0, 5], "the first operation was not applied alone");
  const both = set.op([{ index: 0, op: -1 }, { index: 1, op: -1 }, { index: 2, op: -5 }], {
    timeout: 20_000,
  });
  set.post(1);
  await both;
  assert.deepEqual(set.getAll(), [0, 0, 0]);
  set.set(2, 2);
  const zero = set.op([{ index: 2, op: 0 }], { timeout: 20_000 });
  assert.deepEqual([set.tryWait(2), set.tryWait(2)], [undefined, undefined]);
  await zero;
  set.set(0, SYSV_SEM_VALUE_MAX);
  const e = thrown(() => set.post(0));
  assert.ok(e instanceof ErrnoError && e.code === "ERANGE" && e.syscall === "semop", `${e}`);
  set.opSync([{ index: 1, op: 1 }]);
  const late = thrown(() => set.opSync([{ index: 2, op: -1 }], { timeout: 5 }));
  assert.ok(late instanceof DOMException && late.name === "TimeoutError", "timed out");
  assert.deepEqual(set.getAll(), [SYSV_SEM_VALUE_MAX, 1, 0]);
});

ipcTest(
  "SEM_UNDO: a Deno child and a C child killed while holding give their units back",
  async (t) => {
    using set = SysVSemaphoreSet.temporary({ count: 1, initial: 1 });
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-ffi", CHILD, "sysv-hold", String(set.id)],
      stdout: "piped",
    }).spawn();
    assert.equal(await firstLine(child), "held");
    assert.equal(set.get(0), 0);
    assert.equal(set.lastPid(0), child.pid);
    const waiting = set.wait(0, { timeout: 60_000 });
    child.kill("SIGKILL");
    await child.status;
    await waiting; // the kernel undid the child's -1
    assert.equal(set.get(0), 0);
    set.post(0);
    if (await skipIf(t, !HAVE_GCC && "gcc is not installed")) return;
    const peer = await compileTestC("sync_peer");
    const c = new Deno.Command(peer, { args: ["sysv-undo", String(set.id), "0"], stdout: "piped" })
      .spawn();
    assert.equal(await firstLine(c), "held");
    assert.equal(set.get(0), 0);
    c.kill("SIGKILL");
    await c.status;
    await until(() => set.get(0) === 1, "the undo of the C child");
  },
);

ipcTest(
  "C peers: GETNCNT/GETZCNT count blocked C waiters; C and Deno hand units both ways",
  async (t) => {
    if (await skipIf(t, !HAVE_GCC && "gcc is not installed")) return;
    const peer = await compileTestC("sync_peer");
    using set = SysVSemaphoreSet.temporary({ count: 2 });
    const c = new Deno.Command(peer, {
      args: ["sysv-wait", String(set.id), "1", "3"],
      stdout: "piped",
    })
      .spawn();
    await until(() => set.waitingCount(1) === 1, "the C waiter to block in semop");
    assert.equal(set.zeroWaitingCount(1), 0);
    for (let i = 0; i < 3; i++) set.post(1);
    assert.equal((await c.output()).stdout.length > 0, true);
    assert.equal(set.get(1), 0);
    const waits = Promise.all([set.wait(0, { timeout: 20_000 }), set.wait(0, { timeout: 20_000 })]);
    assert.equal((await runOk(peer, ["sysv-post", String(set.id), "0", "2"])).trim(), "posted");
    await waits;
    assert.deepEqual(set.getAll(), [0, 0]);
  },
);

ipcTest("Python sysv_ipc on a dipc set and dipc on a sysv_ipc set", async (t) => {
  if (await skipIf(t, !HAVE_SYSV_IPC && "python3-sysv-ipc is not installed")) return;
  const key = randomKey();
  using set = SysVSemaphoreSet.create(key, { count: 1, initial: 2 });
  const out = await python(
    `import sys, sysv_ipc
s = sysv_ipc.Semaphore(int(sys.argv[1]))
s.acquire(); s.acquire()
print(s.value, oct(s.mode), s.last_pid)
s.release()`,
    String(key),
  );
  const [value, mode, pid] = out.trim().split(" ");
  assert.deepEqual([value, mode], ["0", "0o600"]);
  assert.notEqual(Number(pid), Deno.pid);
  assert.equal(set.get(0), 1);
  set.remove();
  const key2 = randomKey();
  await python(
    `import sys, sysv_ipc
s = sysv_ipc.Semaphore(int(sys.argv[1]), sysv_ipc.IPC_CREX, 0o600, 4)
s.acquire()`,
    String(key2),
  );
  using theirs = SysVSemaphoreSet.open(key2);
  assert.equal(theirs.get(0), 3);
  theirs.remove();
  // A sysv_ipc set never operated on (no acquire): opened as it is, never a TimeoutError.
  const key3 = randomKey();
  await python(
    `import sys, sysv_ipc
sysv_ipc.Semaphore(int(sys.argv[1]), sysv_ipc.IPC_CREX, 0o600, 5)`,
    String(key3),
  );
  using fresh = SysVSemaphoreSet.open(key3, { readyTimeout: 10 });
  assert.equal(fresh.get(0), 5);
  assert.equal(fresh.stat().operated, null);
  fresh.remove();
});

ipcTest("removing the set under a waiting op fails it with EIDRM or EINVAL", async () => {
  using set = SysVSemaphoreSet.temporary();
  const p = set.wait(0, { timeout: 60_000 });
  await new Promise((r) => setTimeout(r, 10));
  SysVSemaphoreSet.remove(set.id);
  const e = await p.then(() => undefined, (e) => e);
  assert.ok(e instanceof ErrnoError && ["EIDRM", "EINVAL"].includes(e.code), `${e}`);
});

ipcTest("cancelled waits change nothing; close ends a wait; use after close throws", async () => {
  using set = SysVSemaphoreSet.temporary({ count: 2 });
  let aborted = 0;
  let timedOut = 0;
  for (let i = 0; i < 200; i++) {
    const ac = new AbortController();
    if (i % 4 === 0) ac.abort();
    try {
      await set.op([{ index: 0, op: 1 }, { index: 1, op: -1 }], {
        signal: ac.signal,
        timeout: i % 2 ? 1 : 0,
      });
      assert.fail("semaphore 1 was never posted");
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") aborted++;
      else if (e instanceof DOMException && e.name === "TimeoutError") timedOut++;
      else throw e;
    }
  }
  assert.deepEqual([aborted, timedOut], [50, 150]);
  assert.deepEqual(set.getAll(), [0, 0], "the +1 on semaphore 0 never happened alone");
  const other = SysVSemaphoreSet.openId(set.id);
  const p = other.wait(1, { timeout: 60_000 });
  await new Promise((r) => setTimeout(r, 5));
  other.close();
  other.close();
  await assert.rejects(p, ClosedError);
  assert.ok(thrown(() => other.get(0)) instanceof ClosedError);
  assert.equal(set.get(1), 0);
});

ipcTest("exact count from 4 processes (3 Deno, 1 C) under one SEM_UNDO lock", async () => {
  using set = SysVSemaphoreSet.temporary({ count: 1, initial: 1 });
  using shm = SharedMemory.temporary({ size: 64 });
  const runs = [1, 2, 3].map(() =>
    runDeno(CHILD, ["sysv-count", String(set.id), shm.name, "1500"])
  );
  let expected = 4500;
  if (HAVE_GCC) {
    const peer = await compileTestC("sync_peer");
    runs.push(
      runOk(peer, ["sysv-count", String(set.id), shm.name, "1500"]).then((stdout) => ({
        code: 0,
        stdout,
        stderr: "",
      })),
    );
    expected += 1500;
  }
  for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.stderr);
  assert.equal(shm.int32()[0], expected);
  assert.equal(set.get(0), 1);
});

ipcTest("permits take with SEM_UNDO and release once", async () => {
  using set = SysVSemaphoreSet.temporary({ count: 2, initial: [1, 1] });
  const p = await set.acquire(1);
  assert.equal(set.get(1), 0);
  p.release();
  p.release();
  assert.equal(set.get(1), 1);
  {
    using _q = await set.acquire(0, { timeout: 100 });
    await assert.rejects(set.acquire(0, { timeout: 0 }), DOMException);
  }
  assert.deepEqual(set.getAll(), [1, 1]);
  set.setPermissions({ mode: 0o640 });
  assert.equal(set.stat().mode, 0o640);
  set.setAll([3, 4]);
  assert.deepEqual(set.getAll(), [3, 4]);
});

ipcTest(
  "bad input on System V semaphore sets: every case throws before any system call",
  async (t) => {
    // deno-lint-ignore no-explicit-any
    const S = SysVSemaphoreSet as any;
    using set = SysVSemaphoreSet.temporary({ count: 2 });
    // deno-lint-ignore no-explicit-any
    const L = set as any;
    const { perSet, perCall } = SysVSemaphoreSet.limits;
    const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
      ["key a string", () => S.open("1234"), TypeError],
      ["key too big", () => SysVSemaphoreSet.open(2 ** 33), RangeError],
      ["create without count", () => S.create(123, { exclusive: false }), TypeError],
      ["count 0", () => SysVSemaphoreSet.temporary({ count: 0 }), RangeError],
      ["count above SEMMSL", () => SysVSemaphoreSet.temporary({ count: perSet + 1 }), RangeError],
      [
        "initial too long",
        () => SysVSemaphoreSet.temporary({ count: 1, initial: [1, 2] }),
        RangeError,
      ],
      ["initial above max", () => SysVSemaphoreSet.temporary({ initial: 40000 }), RangeError],
      ["initial negative", () => SysVSemaphoreSet.temporary({ initial: [-1] }), RangeError],
      ["initial a string", () => S.temporary({ initial: "1" }), TypeError],
      ["open with creation options", () => S.open(123, { count: 2, exclusive: "x" }), TypeError],
      ["IPC_PRIVATE without create", () => SysVSemaphoreSet.open(IPC_PRIVATE), TypeError],
      ["readyTimeout negative", () => SysVSemaphoreSet.open(123, { readyTimeout: -1 }), RangeError],
      ["openId negative", () => SysVSemaphoreSet.openId(-1), RangeError],
      ["index out of range", () => set.get(2), RangeError],
      ["index fractional", () => set.post(0.5), RangeError],
      ["set value above max", () => set.set(0, 32768), RangeError],
      ["setAll wrong length", () => set.setAll([1]), RangeError],
      ["operations not an array", () => L.tryOp({ index: 0, op: 1 }), TypeError],
      ["operations empty", () => set.tryOp([]), RangeError],
      [
        "operations over SEMOPM",
        () => set.tryOp(Array.from({ length: perCall + 1 }, () => ({ index: 0, op: 1 }))),
        RangeError,
      ],
      ["op out of range", () => set.tryOp([{ index: 0, op: 40000 }]), RangeError],
      ["op index out of range", () => set.tryOp([{ index: 5, op: 1 }]), RangeError],
      ["op undo a string", () => L.tryOp([{ index: 0, op: 1, undo: "yes" }]), TypeError],
      ["operation null", () => L.tryOp([null]), TypeError],
      ["permissions mode too big", () => set.setPermissions({ mode: 0o7777 }), RangeError],
      ["opSync timeout NaN", () => set.opSync([{ index: 0, op: 1 }], { timeout: NaN }), RangeError],
    ];
    for (const [label, fn, type] of cases) {
      await t.step(label, () => {
        const e = thrown(fn);
        assert.ok(e instanceof type, `${label}: got ${e}`);
      });
    }
    await assert.rejects(set.op([{ index: 0, op: -1 }], { timeout: -5 }), RangeError);
    assert.deepEqual(set.getAll(), [0, 0], "no bad call changed anything");
  },
);

ipcTest("squatting: a set another user created and handed to us is refused (cuid)", async (t) => {
  if (await skipIf(t, (!HAVE_GCC || !CAN_DROP_CAPS) && "needs gcc, root and setpriv")) return;
  const key = 0x5d000000 + Math.floor(Math.random() * 0xffffff);
  const id = await squat("sem", key);
  try {
    for (
      const open of [
        () => SysVSemaphoreSet.open(key),
        () => SysVSemaphoreSet.create(key, { count: 1, exclusive: false }),
        () => SysVSemaphoreSet.openId(id),
      ]
    ) {
      const e = thrown(open);
      assert.ok(e instanceof ForeignOwnerError && e.owner === 65534, `${e}`);
    }
    using set = SysVSemaphoreSet.openId(id, { allowForeignOwner: true });
    assert.equal(set.stat().cuid, 65534);
  } finally {
    SysVSemaphoreSet.remove(id);
  }
});

ipcTest("every operation after close throws ClosedError, opSync too", async () => {
  const set = SysVSemaphoreSet.temporary({ count: 1, initial: 1 });
  set.close();
  for (
    const op of [
      () => set.tryOp([{ index: 0, op: -1 }]),
      () => set.opSync([{ index: 0, op: -1 }], { timeout: 10 }),
    ]
  ) {
    assert.ok(thrown(op) instanceof ClosedError);
  }
  await assert.rejects(set.op([{ index: 0, op: -1 }], { timeout: 10 }), ClosedError);
});

ipcTest("a fair share against a C process blocked in semop on the same set", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
  using set = SysVSemaphoreSet.temporary({ count: 1, initial: 0 });
  await shareWithKernelWaiter(
    "sysv-sem",
    String(set.id),
    () => set.post(0),
    (o) => set.wait(0, o),
  );
  assert.equal(set.getAll()[0], 0, "every unit was taken once, none given twice");
});

ipcTest(
  "a wait that timed out or was aborted takes no unit: a C process gets what comes after (200 rounds)",
  async (t) => {
    if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
    using set = SysVSemaphoreSet.temporary({ count: 1, initial: 0 });
    await nothingTakenAfterWait(
      "sysv-sem",
      String(set.id),
      () => set.post(0),
      (o) => set.wait(0, o),
      () => set.tryOp([{ index: 0, op: -1 }]),
    );
    assert.equal(set.getAll()[0], 0);
  },
);

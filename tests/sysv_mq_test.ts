// System V message queues against the kernel: what ipcs and /proc report, a queue made by
// ipcmk, C and Python (sysv_ipc) peers both ways, type selectors, MSG_COPY, IPC_SET, a removed
// queue under a waiting receiver, cancelled receives that take nothing, 4 processes × 100,000
// messages with checksums, and bad input.
import assert from "node:assert/strict";
import {
  ClosedError,
  ErrnoError,
  ForeignOwnerError,
  ftok,
  IPC_PRIVATE,
  MAX_MESSAGE_TYPE_BIG,
  SysVMessageQueue,
  WOULD_BLOCK,
} from "../mod.ts";
import {
  CAN_DROP_CAPS,
  compileTestC,
  HAVE_GCC,
  HAVE_SYSV_IPC,
  ipcTest,
  python,
  ROOT,
  run,
  runOk,
  skipIf,
  squat,
  thrown,
  within,
} from "./_helpers.ts";
import { nothingTakenAfterWait, shareWithKernelWaiter } from "./_fairness.ts";
import { fromFourSenders, receiveWithCancels } from "./_queue_check.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const randomKey = (): number => 0x6d000000 + Math.floor(Math.random() * 0xffffff);

/** The `ipcs -q` row of `id`: key, owner, perms, used-bytes, messages. */
async function ipcsRow(id: number): Promise<string[] | undefined> {
  const out = await runOk("ipcs", ["-q"]);
  return out.split("\n").map((l) => l.trim().split(/\s+/)).find((c) => c[1] === String(id));
}

ipcTest("create by key: exclusive, open again, mode 0600, ipcs -q shows the counts", async () => {
  const key = randomKey();
  using a = SysVMessageQueue.create(key);
  assert.equal(a.created, true);
  const e = thrown(() => SysVMessageQueue.create(key));
  assert.ok(e instanceof ErrnoError && e.code === "EEXIST" && e.syscall === "msgget", `${e}`);
  using b = SysVMessageQueue.open(key);
  assert.equal(b.id, a.id);
  assert.equal(b.created, false);
  a.trySend(enc.encode("12345"), { type: 1 });
  a.trySend(enc.encode("678"), { type: 2 });
  const row = await ipcsRow(a.id);
  assert.ok(row, "ipcs -q lists the queue");
  assert.equal(Number(row[0]), key >>> 0);
  assert.equal(row[3], "600");
  assert.deepEqual([row[4], row[5]], ["8", "2"], "used-bytes and messages");
  const st = a.stat();
  assert.deepEqual([st.messages, st.bytes, st.mode, st.key], [2, 8, 0o600, key]);
  assert.equal(st.lastSendPid, Deno.pid);
  assert.ok(st.sent instanceof Date && st.received === null);
  a.remove();
  const gone = thrown(() => SysVMessageQueue.open(key));
  assert.ok(gone instanceof ErrnoError && gone.code === "ENOENT");
  assert.equal(await ipcsRow(a.id), undefined);
});

ipcTest("a queue made by ipcmk -Q is used by its key; ftok keys work", async () => {
  const out = await runOk("ipcmk", ["-Q", "-p", "0600"]);
  const id = Number(/(\d+)\s*$/.exec(out.trim())?.[1]);
  assert.ok(Number.isInteger(id), out);
  try {
    const st = SysVMessageQueue.statId(id);
    using q = SysVMessageQueue.open(st.key);
    assert.equal(q.id, id);
    q.trySend(enc.encode("via ipcmk"), { type: 4 });
    assert.equal((await ipcsRow(id))?.[5], "1");
  } finally {
    await runOk("ipcrm", ["-q", String(id)]);
  }
  const key = ftok(ROOT, Math.floor(Math.random() * 200) + 20);
  using f = SysVMessageQueue.create(key, { exclusive: false });
  assert.equal(f.key, key);
  f.remove();
});

ipcTest("type selectors: first, by type, lowest up to |n|, except; FIFO within a type", () => {
  using q = SysVMessageQueue.temporary();
  for (
    const [t, s] of [[3, "c1"], [1, "a1"], [2, "b1"], [1, "a2"], [3, "c2"], [5, "e1"]] as const
  ) {
    assert.equal(q.trySend(enc.encode(s), { type: t }), undefined);
  }
  const take = (o?: Parameters<typeof q.tryReceive>[0]): string | typeof WOULD_BLOCK => {
    const m = q.tryReceive(o);
    return m === WOULD_BLOCK ? m : `${m.type}:${dec.decode(m.data)}`;
  };
  assert.equal(take({ type: 1 }), "1:a1");
  assert.equal(take({ type: -2 }), "1:a2", "lowest type up to 2");
  assert.equal(take({ type: 3, except: true }), "2:b1", "first message not of type 3");
  assert.equal(take({ type: 4 }), WOULD_BLOCK);
  assert.equal(take(), "3:c1", "type 0: the first message");
  assert.equal(take({ type: -10 }), "3:c2");
  assert.equal(take({ type: 5 }), "5:e1");
  assert.equal(take(), WOULD_BLOCK);
});

ipcTest(
  "E2BIG leaves the message queued; truncate cuts it; peek copies without taking",
  async (t) => {
    using q = SysVMessageQueue.temporary();
    q.trySend(enc.encode("hello world"), { type: 7 });
    q.trySend(new Uint8Array(0), { type: 8 });
    const small = new Uint8Array(5);
    const e = thrown(() => q.tryReceiveInto(small));
    assert.ok(e instanceof ErrnoError && e.code === "E2BIG", `${e}`);
    assert.equal(q.stat().messages, 2);
    let peeked: ReturnType<typeof q.tryPeek> | undefined;
    try {
      peeked = q.tryPeek(1);
    } catch (err) {
      if (!(err instanceof ErrnoError && err.code === "ENOSYS")) throw err;
    }
    if (peeked !== undefined) {
      assert.deepEqual(peeked, { type: 8, data: new Uint8Array(0) });
      assert.equal(q.tryPeek(2), WOULD_BLOCK);
      assert.equal(q.stat().messages, 2, "peek took nothing");
    }
    assert.deepEqual(q.tryReceiveInto(small, { truncate: true }), { length: 5, type: 7 });
    assert.equal(dec.decode(small), "hello");
    assert.deepEqual(q.tryReceiveInto(small), { length: 0, type: 8 });
    await skipIf(t, peeked === undefined && "this kernel has no MSG_COPY (ENOSYS)");
  },
);

ipcTest("interop: C sends to dipc and receives from dipc by type", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
  const peer = await compileTestC("mq_peer");
  using q = SysVMessageQueue.temporary();
  await runOk(peer, ["sysv-send", String(q.id), "42", "from C", "again"]);
  const m = await q.receive({ type: 42, timeout: 1000 });
  assert.deepEqual([m.type, dec.decode(m.data)], [42, "from C"]);
  assert.equal(dec.decode((await q.receive({ timeout: 1000 })).data), "again");
  q.trySend(enc.encode("one"), { type: 1 });
  q.trySend(enc.encode("two"), { type: 2 });
  assert.equal(await runOk(peer, ["sysv-recv", String(q.id), "2", "1"]), "2 3 two\n");
  assert.equal(await runOk(peer, ["sysv-recv", String(q.id), "0", "1"]), "1 3 one\n");
  // A C receiver blocked in msgrcv gets what dipc sends later.
  const blocked = run(peer, ["sysv-recv", String(q.id), "9", "1"]);
  await new Promise((r) => setTimeout(r, 50));
  q.trySend(enc.encode("wake up"), { type: 9 });
  assert.equal((await blocked).stdout, "9 7 wake up\n");
  assert.equal(q.stat().lastReceivePid !== Deno.pid, true);
});

ipcTest("interop: Python's sysv_ipc sends to and receives from dipc", async (t) => {
  if (await skipIf(t, !HAVE_SYSV_IPC && "Debian's python3-sysv-ipc is not installed")) return;
  // sysv_ipc addresses queues by key: use a keyed queue for the round trip.
  const key = randomKey();
  using k = SysVMessageQueue.create(key);
  try {
    await python(
      "import sys, sysv_ipc\nq = sysv_ipc.MessageQueue(int(sys.argv[1]))\n" +
        "q.send(b'from python', type=3)\nq.send(bytes([0, 255, 1]), type=4)",
      String(key),
    );
    const a = await k.receive({ timeout: 1000 });
    assert.deepEqual([a.type, dec.decode(a.data)], [3, "from python"]);
    const b = await k.receive({ type: 4, timeout: 1000 });
    assert.deepEqual([...b.data], [0, 255, 1]);
    k.trySend(enc.encode("to python"), { type: 6 });
    const out = await python(
      "import sys, sysv_ipc\nq = sysv_ipc.MessageQueue(int(sys.argv[1]))\n" +
        "m, t = q.receive(type=6)\nprint(t, m.decode())\nprint(q.current_messages, oct(q.mode))",
      String(key),
    );
    assert.equal(out, "6 to python\n0 0o600\n");
  } finally {
    k.remove();
  }
});

ipcTest(
  "IPC_SET: mode and byte limit, as ipcs and stat report; beyond msgmnb is EPERM",
  async () => {
    using q = SysVMessageQueue.temporary();
    q.setPermissions({ mode: 0o640, maxBytes: 1024 });
    const st = q.stat();
    assert.deepEqual([st.mode, st.maxBytes], [0o640, 1024]);
    assert.equal((await ipcsRow(q.id))?.[3], "640");
    // A message longer than the byte limit can never fit: EMSGSIZE at once, nothing sent.
    await assert.rejects(
      q.send(new Uint8Array(2000), { type: 1 }),
      (e) => e instanceof ErrnoError && e.code === "EMSGSIZE",
    );
    assert.equal(q.stat().messages, 0);
    const msgmnb = Number(Deno.readTextFileSync("/proc/sys/kernel/msgmnb").trim());
    try {
      q.setPermissions({ maxBytes: msgmnb * 4 });
      assert.equal(q.stat().maxBytes, msgmnb * 4, "allowed: this process has CAP_SYS_RESOURCE");
    } catch (e) {
      assert.ok(e instanceof ErrnoError && e.code === "EPERM", `${e}`);
    }
  },
);

ipcTest("full and empty: try forms say so, async forms wait, oversize is EMSGSIZE", async () => {
  using q = SysVMessageQueue.temporary();
  q.setPermissions({ maxBytes: 100 });
  assert.equal(q.tryReceive(), WOULD_BLOCK);
  assert.equal(q.trySend(new Uint8Array(60), { type: 1 }), undefined);
  assert.equal(q.trySend(new Uint8Array(60), { type: 1 }), WOULD_BLOCK, "60 + 60 > 100 bytes");
  const big = thrown(() =>
    q.trySend(new Uint8Array(SysVMessageQueue.maxMessageSize + 1), { type: 1 })
  );
  assert.ok(big instanceof ErrnoError && big.code === "EMSGSIZE", `${big}`);
  const pending = q.send(new Uint8Array(60), { type: 2, timeout: 10_000 });
  await new Promise((r) => setTimeout(r, 10));
  assert.equal((await q.receive({ timeout: 1000 })).type, 1);
  await pending;
  assert.equal((await q.receive({ timeout: 1000 })).type, 2);
  q.trySend(new Uint8Array(60), { type: 3 });
  await assert.rejects(
    q.send(new Uint8Array(60), { type: 4, timeout: 10 }),
    (e) => e instanceof DOMException && e.name === "TimeoutError",
  );
  assert.equal(q.stat().messages, 1, "a send that timed out sent nothing");
});

ipcTest("a receiver waiting on a queue that is removed learns it promptly", async () => {
  const q = SysVMessageQueue.temporary();
  const waiting = q.receive({ timeout: 60_000 });
  setTimeout(() => SysVMessageQueue.remove(q.id), 20);
  await assert.rejects(
    waiting,
    (e) => e instanceof ErrnoError && ["EIDRM", "EINVAL"].includes(e.code) && e.object === q.id,
  );
  q.close(); // its temporary removal finds nothing left: no error
  const gone = thrown(() => q.stat()); // stat works after close: the kernel says it is gone
  assert.ok(gone instanceof ErrnoError && ["EIDRM", "EINVAL"].includes(gone.code), `${gone}`);
});

ipcTest("timeouts and aborts take nothing; closing the handle ends a wait", async () => {
  using q = SysVMessageQueue.temporary();
  await assert.rejects(q.receive({ timeout: 5 }), { name: "TimeoutError" });
  const ac = new AbortController();
  const p = q.receive({ signal: ac.signal, type: 3 });
  setTimeout(() => ac.abort(new Error("stop")), 10);
  await assert.rejects(p, /stop/);
  q.trySend(enc.encode("kept"), { type: 3 });
  assert.equal(dec.decode((await q.receive({ timeout: 1000 })).data), "kept");
  const waiting = q.receive();
  setTimeout(() => q.close(), 10);
  await assert.rejects(waiting, ClosedError);
  assert.ok(thrown(() => q.trySend(new Uint8Array(1), { type: 1 })) instanceof ClosedError);
  assert.ok(thrown(() => q.tryReceive()) instanceof ClosedError);
  q.close();
  q.remove(); // the object outlives the handle: remove() works after close (using, too)
  q.remove(); // and a second time does nothing
  const gone = thrown(() => SysVMessageQueue.statId(q.id));
  assert.ok(gone instanceof ErrnoError && ["EIDRM", "EINVAL"].includes(gone.code), `${gone}`);
});

ipcTest(
  "stress: thousands of cancelled receives while a process sends; every message counted",
  async () => {
    using q = SysVMessageQueue.temporary();
    await receiveWithCancels("sysv", String(q.id), (b, o) => q.receiveInto(b, o), 6000);
    assert.equal(q.tryReceive(), WOULD_BLOCK, "nothing extra, nothing duplicated");
  },
);

ipcTest(
  "4 processes × 100,000 messages: nothing lost, duplicated, reordered or corrupt",
  async () => {
    using q = SysVMessageQueue.temporary();
    await fromFourSenders("sysv", String(q.id), q, 100_000);
    assert.equal(q.tryReceive(), WOULD_BLOCK);
  },
);

ipcTest("a queue owned by another user is refused unless allowForeignOwner", async (t) => {
  if (await skipIf(t, Deno.uid() !== 0 && "needs root to give a queue away")) return;
  using q = SysVMessageQueue.create(randomKey());
  try {
    q.setPermissions({ uid: 65534, gid: 65534 });
    const e = thrown(() => SysVMessageQueue.open(q.key));
    assert.ok(e instanceof ForeignOwnerError && e.owner === 65534, `${e}`);
    assert.ok(thrown(() => SysVMessageQueue.openId(q.id)) instanceof ForeignOwnerError);
    using b = SysVMessageQueue.openId(q.id, { allowForeignOwner: true });
    assert.equal(b.stat().uid, 65534);
  } finally {
    q.remove();
  }
});

Deno.test("bad input on System V queues: every case throws before any system call", async (t) => {
  // deno-lint-ignore no-explicit-any
  const S = SysVMessageQueue as any;
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["key as string", () => S.open("1234"), TypeError],
    ["key as bigint", () => S.open(1234n), TypeError],
    ["key fractional", () => SysVMessageQueue.open(1.5), RangeError],
    ["key NaN", () => SysVMessageQueue.open(NaN), RangeError],
    ["key beyond 32 bits", () => SysVMessageQueue.open(2 ** 32), RangeError],
    ["IPC_PRIVATE without create", () => SysVMessageQueue.open(IPC_PRIVATE), TypeError],
    [
      "IPC_PRIVATE with create is fine, allowForeignOwner with exclusive is not",
      () => SysVMessageQueue.create(IPC_PRIVATE, { allowForeignOwner: true }),
      TypeError,
    ],
    ["create exclusive a string", () => S.create(1234, { exclusive: "no" }), TypeError],
    ["mode 0o1000", () => SysVMessageQueue.temporary({ mode: 0o1000 }), RangeError],
    ["options a number", () => S.open(1234, 5), TypeError],
    ["id negative", () => SysVMessageQueue.openId(-1), RangeError],
    ["id as string", () => S.openId("3"), TypeError],
    ["remove id fractional", () => SysVMessageQueue.remove(0.5), RangeError],
    ["statId too large", () => SysVMessageQueue.statId(2 ** 31), RangeError],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => {
      const e = thrown(fn);
      assert.ok(e instanceof type, `${label}: got ${e}`);
    });
  }
});

ipcTest("bad input on a live queue", async (t) => {
  using q = SysVMessageQueue.temporary();
  // deno-lint-ignore no-explicit-any
  const Q = q as any;
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["send type 0", () => q.trySend(new Uint8Array(1), { type: 0 }), RangeError],
    ["send type negative", () => q.trySend(new Uint8Array(1), { type: -3 }), RangeError],
    ["send type fractional", () => q.trySend(new Uint8Array(1), { type: 1.5 }), RangeError],
    ["send type beyond 2^53", () => q.trySend(new Uint8Array(1), { type: 2 ** 53 }), RangeError],
    ["send type as string", () => Q.trySend(new Uint8Array(1), { type: "1" }), TypeError],
    ["send data a string", () => Q.trySend("text", { type: 1 }), TypeError],
    ["send data an array", () => Q.trySend([1, 2], { type: 1 }), TypeError],
    ["send the old (type, data) form", () => Q.trySend(1, new Uint8Array(1)), TypeError],
    ["send options a number", () => Q.trySend(new Uint8Array(1), 1), TypeError],
    ["receive type fractional", () => q.tryReceive({ type: 0.5 }), RangeError],
    ["receive except without a positive type", () => q.tryReceive({ except: true }), TypeError],
    ["receive truncate a string", () => Q.tryReceive({ truncate: "yes" }), TypeError],
    ["receive into a string", () => Q.tryReceiveInto("buf"), TypeError],
    ["peek index negative", () => q.tryPeek(-1), RangeError],
    ["set mode 0o7777", () => q.setPermissions({ mode: 0o7777 }), RangeError],
    ["set maxBytes 0", () => q.setPermissions({ maxBytes: 0 }), RangeError],
    ["set not an object", () => Q.setPermissions(5), TypeError],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => assert.ok(thrown(fn) instanceof type, `${label}: ${thrown(fn)}`));
  }
  for (
    const [label, p] of [
      ["send: timeout negative", () => q.send(new Uint8Array(1), { type: 1, timeout: -1 })],
      ["receive: signal not an AbortSignal", () => Q.receive({ signal: {} })],
      ["receive: type as string", () => Q.receive({ type: "1" })],
    ] as const
  ) {
    await t.step(
      label,
      () => assert.rejects(p(), (e) => e instanceof TypeError || e instanceof RangeError),
    );
  }
  assert.equal(q.stat().messages, 0, "no bad call sent anything");
  assert.equal(q.stat().mode, 0o600);
});

ipcTest("squatting: a queue another user created and handed to us is refused (cuid)", async (t) => {
  if (await skipIf(t, (!HAVE_GCC || !CAN_DROP_CAPS) && "needs gcc, root and setpriv")) return;
  const key = 0x5d000000 + Math.floor(Math.random() * 0xffffff);
  const id = await squat("msg", key);
  try {
    for (
      const open of [
        () => SysVMessageQueue.open(key),
        () => SysVMessageQueue.create(key, { exclusive: false }),
        () => SysVMessageQueue.openId(id),
      ]
    ) {
      const e = thrown(open);
      assert.ok(e instanceof ForeignOwnerError && e.owner === 65534, `${e}`);
    }
    using q = SysVMessageQueue.openId(id, { allowForeignOwner: true });
    assert.equal(q.stat().cuid, 65534);
  } finally {
    SysVMessageQueue.remove(id);
  }
});

ipcTest("a fair share against a C receiver blocked in msgrcv on the same queue", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
  using q = SysVMessageQueue.temporary();
  await shareWithKernelWaiter(
    "sysv-msg",
    String(q.id),
    () => assert.equal(q.trySend(new Uint8Array([1]), { type: 1 }), undefined),
    (o) => q.receive(o),
  );
});

ipcTest(
  "a receive that timed out or was aborted takes nothing: a C receiver gets what comes after (200 rounds)",
  async (t) => {
    if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
    using q = SysVMessageQueue.temporary();
    await nothingTakenAfterWait(
      "sysv-msg",
      String(q.id),
      () => assert.equal(q.trySend(new Uint8Array([1]), { type: 1 }), undefined),
      (o) => q.receive(o),
      () => q.tryReceive(),
    );
    assert.equal(q.stat().messages, 0);
  },
);

ipcTest(
  "receiveSync blocks in msgrcv until a C process sends; a timeout throws TimeoutError",
  async (t) => {
    if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
    const peer = await compileTestC("mq_peer");
    using q = SysVMessageQueue.temporary();
    const e = thrown(() => q.receiveSync({ timeout: 20 }));
    assert.ok(e instanceof DOMException && e.name === "TimeoutError", `${e}`);
    const sender = new Deno.Command("sh", {
      args: ["-c", `sleep 0.2; exec "${peer}" sysv-send ${q.id} 9 hello`],
    }).spawn();
    const m = q.receiveSync({ type: 9 });
    assert.equal(new TextDecoder().decode(m.data), "hello");
    assert.equal(m.type, 9);
    assert.ok((await within(10_000, "the C sender", sender.status)).success);
    assert.equal(q.trySend(new Uint8Array([1, 2, 3]), { type: 2 }), undefined);
    const into = new Uint8Array(8);
    assert.deepEqual(q.receiveIntoSync(into, { timeout: 1000 }), { length: 3, type: 2 });
    q.close();
    assert.ok(thrown(() => q.receiveSync({ timeout: 1 })) instanceof ClosedError);
  },
);

ipcTest(
  "sendSync blocks in msgsnd until a C process makes room; a timeout sends nothing",
  async (t) => {
    if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
    const peer = await compileTestC("mq_peer");
    using q = SysVMessageQueue.temporary();
    const limit = q.stat().maxBytes;
    const piece = new Uint8Array(Math.min(8192, limit)).fill(0x70);
    let queued = 0;
    while (q.trySend(piece, { type: 3 }) === undefined) queued++;
    const e = thrown(() => q.sendSync(new Uint8Array([1]), { type: 4, timeout: 20 }));
    assert.ok(e instanceof DOMException && e.name === "TimeoutError", `${e}`);
    assert.equal(q.stat().messages, queued, "the timed-out send sent nothing");
    // No timeout: blocked in the kernel until the C receiver takes the type-3 pieces. Should it
    // never come, the watchdog removes the queue, and msgsnd fails with EIDRM: a bound.
    const receiver = new Deno.Command("sh", {
      args: ["-c", `sleep 0.2; exec "${peer}" sysv-recv ${q.id} 3 ${queued}`],
      stdout: "null",
    }).spawn();
    const watchdog = new Deno.Command("sh", {
      args: ["-c", `sleep 60; ipcrm -q ${q.id}`],
    }).spawn();
    try {
      q.sendSync(new TextEncoder().encode("last"), { type: 4 });
    } finally {
      watchdog.kill();
      await watchdog.status;
    }
    assert.ok((await within(10_000, "the C receiver", receiver.status)).success);
    const m = q.receiveSync({ type: 4, timeout: 1000 });
    assert.equal(new TextDecoder().decode(m.data), "last");
    for (
      const bad of [
        () => q.sendSync(new Uint8Array(1), { type: 0 }),
        () => q.sendSync(new Uint8Array(1), { timeout: Number.NaN }),
        () => q.sendSync(new Uint8Array(1), { kind: 1 } as never),
        () => q.sendSync(null as unknown as Uint8Array),
      ]
    ) {
      const err = thrown(bad);
      assert.ok(err instanceof TypeError || err instanceof RangeError, `${err}`);
    }
    q.close();
    assert.ok(thrown(() => q.sendSync(new Uint8Array(1))) instanceof ClosedError);
  },
);

ipcTest("types beyond 2^53 travel exactly, as bigints, both ways with C", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
  const peer = await compileTestC("mq_peer");
  using q = SysVMessageQueue.temporary();
  const big = (1n << 60n) + 3n; // a double would round it to 2^60
  await runOk(peer, ["sysv-send", String(q.id), String(big), "from-c"]);
  const m = q.tryReceive();
  assert.ok(m !== WOULD_BLOCK);
  assert.equal(m.type, big);
  assert.equal(
    q.trySend(new TextEncoder().encode("from-deno"), { type: MAX_MESSAGE_TYPE_BIG }),
    undefined,
  );
  const out = await runOk(peer, ["sysv-recv", String(q.id), String(MAX_MESSAGE_TYPE_BIG), "1"]);
  assert.equal(out.trim(), `${MAX_MESSAGE_TYPE_BIG} 9 from-deno`);
  assert.equal(q.trySend(new Uint8Array([1]), { type: 7 }), undefined);
  assert.equal(
    (q.tryReceive({ type: 7n }) as { type: unknown }).type,
    7,
    "small types stay numbers",
  );
  assert.ok(thrown(() => q.trySend(new Uint8Array(1), { type: 0n })) instanceof RangeError);
  assert.ok(thrown(() => q.trySend(new Uint8Array(1), { type: 1n << 63n })) instanceof RangeError);
});

ipcTest("a kept receipt and kept options: filled in place; changed options are seen", () => {
  using q = SysVMessageQueue.temporary();
  const into = new Uint8Array(16);
  const options: { type?: number; receipt: { length: number; type: number | bigint } } = {
    receipt: { length: -1, type: -1 },
  };
  q.trySend(new Uint8Array([1]), { type: 3 });
  q.trySend(new Uint8Array([2, 2]), { type: 5 });
  assert.equal(q.tryReceiveInto(into, options), options.receipt);
  assert.deepEqual(options.receipt, { length: 1, type: 3 });
  // The same options object with another selector: the new type is honoured, not a cached one.
  q.trySend(new Uint8Array([3, 3, 3]), { type: 3 });
  options.type = 3;
  assert.equal(q.tryReceiveInto(into, options), options.receipt);
  assert.deepEqual(options.receipt, { length: 3, type: 3 });
  options.type = 4;
  assert.equal(q.tryReceiveInto(into, options), WOULD_BLOCK);
  options.type = 5;
  assert.deepEqual(q.tryReceiveInto(into, options), { length: 2, type: 5 });
  // deno-lint-ignore no-explicit-any
  assert.ok(thrown(() => q.tryReceiveInto(into, { receipt: 7 } as any)) instanceof TypeError);
});

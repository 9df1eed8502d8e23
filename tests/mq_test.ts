// POSIX message queues against the kernel: creation and modes as the system reports them, C
// peers on the same queue both ways, priorities, limits, would-block and EMSGSIZE, cancelled
// receives that take nothing (under stress), 4 processes × 100,000 messages with checksums,
// descriptor passing to a child, and bad input.
import assert from "node:assert/strict";
import {
  ClosedError,
  ErrnoError,
  ForeignOwnerError,
  MAX_PRIORITY,
  MessageQueue,
  messageQueueCharge,
  messageQueueLimits,
  spawn,
  WOULD_BLOCK,
} from "../mod.ts";
import {
  compileTestC,
  hasCommand,
  HAVE_GCC,
  HAVE_MQUEUE_FS,
  ipcTest,
  ROOT,
  runOk,
  skipIf,
  thrown,
  uniqueName,
  within,
} from "./_helpers.ts";
import { nothingTakenAfterWait, shareWithKernelWaiter } from "./_fairness.ts";
import { fromFourSenders, receiveWithCancels } from "./_queue_check.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

ipcTest(
  "create: mode 0600 exactly, exclusive, open existing, what C's mq_getattr reports",
  async (t) => {
    const name = uniqueName("mq");
    using a = MessageQueue.create(name, { maxMessages: 4, messageSize: 100 });
    assert.equal(a.created, true);
    assert.deepEqual(a.stat(), {
      maxMessages: 4,
      messageSize: 100,
      currentMessages: 0,
      nonblocking: true,
    });
    const e = thrown(() => MessageQueue.create(name)); // exclusive by default
    assert.ok(e instanceof ErrnoError && e.code === "EEXIST" && e.syscall === "mq_open", `${e}`);
    assert.match(e.message, new RegExp(`"${name}"`));
    using b = MessageQueue.create(name, { exclusive: false }); // opens the existing queue
    assert.equal(b.created, false);
    assert.equal(b.maxMessages, 4);
    a.trySend(enc.encode("x"));
    if (HAVE_MQUEUE_FS) {
      const st = Deno.statSync(`/dev/mqueue${name}`);
      assert.equal((st.mode ?? 0) & 0o777, 0o600);
      assert.match(Deno.readTextFileSync(`/dev/mqueue${name}`), /^QSIZE:1 /);
    }
    if (await skipIf(t, !HAVE_GCC && "gcc not found")) return a.unlink();
    const peer = await compileTestC("mq_peer");
    const out = await runOk(peer, ["pmq-stat", name]);
    assert.equal(out.trim(), `4 100 1 600 ${Deno.uid()}`);
    a.unlink();
    const gone = thrown(() => MessageQueue.open(name));
    assert.ok(gone instanceof ErrnoError && gone.code === "ENOENT");
  },
);

ipcTest("the umask does not widen or narrow the mode; other modes are exact too", () => {
  using q = MessageQueue.temporary({ mode: 0o640, maxMessages: 2, messageSize: 64 });
  assert.ok(!q.closed);
  if (HAVE_MQUEUE_FS) {
    assert.equal((Deno.statSync(`/dev/mqueue${q.name}`).mode ?? 0) & 0o777, 0o640);
  }
});

ipcTest("priorities: highest first, FIFO within a priority; empty messages", async () => {
  using q = MessageQueue.temporary({ maxMessages: 8, messageSize: 16 });
  const sent: Array<[string, number]> = [["a", 1], ["b", 5], ["c", 1], ["d", 0], ["e", 5], [
    "",
    MAX_PRIORITY,
  ]];
  for (const [s, p] of sent) assert.equal(q.trySend(enc.encode(s), { priority: p }), undefined);
  assert.equal(q.stat().currentMessages, 6);
  const got: string[] = [];
  for (let i = 0; i < 6; i++) {
    const m = await q.receive({ timeout: 1000 });
    got.push(`${dec.decode(m.data)}${m.priority}`);
  }
  assert.deepEqual(got, [`${MAX_PRIORITY}`, "b5", "e5", "a1", "c1", "d0"]);
  assert.equal(q.tryReceive(), WOULD_BLOCK);
});

ipcTest("interop: C sends to dipc, dipc sends to C, dipc opens a queue C made", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
  const peer = await compileTestC("mq_peer");
  using q = MessageQueue.temporary({ maxMessages: 10, messageSize: 64 });
  await runOk(peer, ["pmq-send", q.name, "7", "from C", "twice"]);
  const m1 = q.tryReceive();
  assert.ok(m1 !== WOULD_BLOCK);
  assert.deepEqual([dec.decode(m1.data), m1.priority], ["from C", 7]);
  const into = new Uint8Array(64);
  assert.deepEqual(q.tryReceiveInto(into), { length: 5, priority: 7 });
  assert.equal(dec.decode(into.subarray(0, 5)), "twice");

  q.trySend(enc.encode("low"), { priority: 1 });
  q.trySend(enc.encode("high"), { priority: 30 });
  assert.equal(await runOk(peer, ["pmq-recv", q.name, "2"]), "30 4 high\n1 3 low\n");

  const name = uniqueName("cmade");
  await runOk(peer, ["pmq-create", name, "3", "40"]);
  try {
    using c = MessageQueue.open(name);
    assert.equal(c.created, false);
    assert.deepEqual([c.maxMessages, c.messageSize], [3, 40]);
  } finally {
    MessageQueue.unlink(name);
  }
});

ipcTest("descriptor passing: a spawned C program receives from the queue as fd 3", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
  const peer = await compileTestC("mq_peer");
  using q = MessageQueue.temporary({ maxMessages: 2, messageSize: 32 });
  q.trySend(enc.encode("handed down"), { priority: 3 });
  await using child = spawn(peer, { args: ["pmq-fd", "3"], fds: { 3: q }, stdout: "piped" });
  const { status, stdout } = await child.output();
  assert.equal(status.code, 0);
  assert.equal(dec.decode(stdout), "3 11 handed down\n");
  assert.equal(q.stat().nonblocking, true, "our descriptor keeps O_NONBLOCK");
});

ipcTest("descriptor passing: a Deno child adopts the queue with fromFd(3)", async () => {
  using q = MessageQueue.temporary({ maxMessages: 4, messageSize: 48 });
  q.trySend(enc.encode("to the child"), { priority: 2 });
  const script = `import { MessageQueue, WOULD_BLOCK } from "${ROOT}mod.ts";
    using q = MessageQueue.fromFd(3);
    const m = q.tryReceive();
    const got = m === WOULD_BLOCK ? m : new TextDecoder().decode(m.data) + " " + m.priority;
    q.trySend(new TextEncoder().encode(got + " / size " + q.messageSize), { priority: 4 });
    try { q.unlink(); } catch (e) { q.trySend(new TextEncoder().encode(e.name)); }`;
  await using child = spawn(Deno.execPath(), { args: ["eval", script], fds: { 3: q } });
  assert.equal((await child.status).code, 0);
  const reply = q.tryReceive();
  assert.ok(reply !== WOULD_BLOCK);
  assert.deepEqual([dec.decode(reply.data), reply.priority], ["to the child 2 / size 48", 4]);
  const err = q.tryReceive();
  assert.ok(err !== WOULD_BLOCK && dec.decode(err.data) === "TypeError");
});

ipcTest("full and empty: try forms say so, async forms wait, EMSGSIZE sends nothing", async () => {
  using q = MessageQueue.temporary({ maxMessages: 2, messageSize: 8 });
  assert.equal(q.tryReceive(), WOULD_BLOCK);
  assert.equal(q.trySend(enc.encode("1")), undefined);
  assert.equal(q.trySend(enc.encode("2")), undefined);
  assert.equal(q.trySend(enc.encode("3")), WOULD_BLOCK);
  const big = thrown(() => q.trySend(new Uint8Array(9)));
  assert.ok(big instanceof ErrnoError && big.code === "EMSGSIZE", `${big}`);
  await assert.rejects(
    q.send(new Uint8Array(9)),
    (e) => e instanceof ErrnoError && e.code === "EMSGSIZE",
  );
  assert.equal(q.stat().currentMessages, 2);
  // A send waits for room; a receive frees one.
  const pending = q.send(enc.encode("3"), { timeout: 10_000 });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(dec.decode((await q.receive()).data), "1");
  await pending;
  assert.deepEqual(
    [dec.decode((await q.receive()).data), dec.decode((await q.receive()).data)],
    ["2", "3"],
  );
  assert.equal(q.trySend(enc.encode("4")), undefined);
  assert.equal(q.trySend(enc.encode("5")), undefined);
  await assert.rejects(
    q.send(enc.encode("6"), { timeout: 10 }),
    (e) => e instanceof DOMException && e.name === "TimeoutError",
  );
  assert.equal(q.stat().currentMessages, 2, "a send that timed out sent nothing");
});

ipcTest("limits: beyond /proc/sys/fs/mqueue is an EINVAL that names them", async (t) => {
  const limits = messageQueueLimits();
  assert.equal(
    limits.maxMessages,
    Number(Deno.readTextFileSync("/proc/sys/fs/mqueue/msg_max").trim()),
  );
  let e: unknown;
  try {
    MessageQueue.temporary({ maxMessages: limits.maxMessages + 1 }).close();
  } catch (err) {
    e = err;
  }
  if (await skipIf(t, e === undefined && "this process may exceed the limits (CAP_SYS_RESOURCE)")) {
    return;
  }
  assert.ok(e instanceof ErrnoError && e.code === "EINVAL", `${e}`);
  assert.match(e.message, new RegExp(`limits here: ${limits.maxMessages} × ${limits.messageSize}`));
  const e2 = thrown(() => MessageQueue.temporary({ messageSize: limits.messageSize + 1 }));
  assert.ok(e2 instanceof ErrnoError && e2.code === "EINVAL");
  // Each limit reached alone (both at once would reserve what ten default queues do).
  using most = MessageQueue.temporary({ maxMessages: limits.maxMessages, messageSize: 16 });
  assert.equal(most.maxMessages, limits.maxMessages);
  using largest = MessageQueue.temporary({ maxMessages: 1, messageSize: limits.messageSize });
  assert.equal(largest.messageSize, limits.messageSize);
});

ipcTest("EMFILE from mq_open says which limit: RLIMIT_MSGQUEUE or RLIMIT_NOFILE", async (t) => {
  if (await skipIf(t, !hasCommand("prlimit") && "prlimit (util-linux)")) return;
  const fixture = `${ROOT}/tests/fixtures/mq_emfile.ts`;
  const deno = [Deno.execPath(), "run", "-A", fixture];
  // The charge, as the kernel counts it: 10 × 8192-byte queues fit 819,200 bytes 9 times.
  assert.equal(messageQueueCharge(10, 8192), 82_880);
  assert.ok(Number.isFinite(messageQueueLimits().userBytes) || messageQueueLimits().userBytes > 0);
  assert.equal(
    messageQueueLimits().userBytes,
    Number(/^Max msgqueue size\s+(\S+)/m.exec(Deno.readTextFileSync("/proc/self/limits"))?.[1]),
  );
  // A user budget of 20,000 bytes: two queues of 8 × 1024 fit, the third does not. (The limit
  // counts this user's queues everywhere; a second suite beside this one may make it fail
  // sooner, which changes how many were made, never what the error says.)
  const charge = messageQueueCharge(8, 1024);
  const bytes = JSON.parse(
    await runOk("prlimit", ["--msgqueue=20000", "--", ...deno, "bytes", "8", "1024"]),
  );
  assert.equal(bytes.error, "EMFILE", JSON.stringify(bytes));
  assert.equal(bytes.syscall, "mq_open");
  assert.ok(bytes.made <= 2, JSON.stringify(bytes));
  assert.match(bytes.message, /RLIMIT_MSGQUEUE \(20000 bytes; this queue needs (\d+)\)/);
  assert.match(bytes.message, new RegExp(`needs ${charge}\\)`));
  assert.doesNotMatch(bytes.message, /RLIMIT_NOFILE/);
  // Out of descriptors: the same errno, the other limit.
  const fds = JSON.parse(
    await runOk("prlimit", ["--nofile=256", "--", ...deno, "fds", "2", "64"]),
  );
  assert.equal(fds.error, "EMFILE", JSON.stringify(fds));
  assert.match(fds.message, /RLIMIT_NOFILE \(256\)/);
  assert.doesNotMatch(fds.message, /RLIMIT_MSGQUEUE/);
  // Bad arguments to the charge are refused.
  assert.ok(thrown(() => messageQueueCharge(0, 8)) instanceof RangeError);
  assert.ok(thrown(() => messageQueueCharge(1, 1.5)) instanceof RangeError);
  assert.ok(thrown(() => messageQueueCharge("1" as unknown as number, 8)) instanceof TypeError);
});

ipcTest("timeouts and aborts of receive take nothing; closing ends a wait", async () => {
  using q = MessageQueue.temporary({ maxMessages: 4, messageSize: 8 });
  await assert.rejects(
    q.receive({ timeout: 5 }),
    (e) => e instanceof DOMException && e.name === "TimeoutError",
  );
  assert.equal(await q.receive({ timeout: 0 }).catch((e) => e.name), "TimeoutError");
  const ac = new AbortController();
  const p = q.receive({ signal: ac.signal });
  setTimeout(() => ac.abort(new Error("stop")), 10);
  await assert.rejects(p, /stop/);
  await assert.rejects(q.receive({ signal: AbortSignal.abort() }));
  q.trySend(enc.encode("kept"));
  assert.equal(dec.decode((await q.receive({ timeout: 1000 })).data), "kept");
  const waiting = q.receive();
  setTimeout(() => q.close(), 10);
  await assert.rejects(waiting, ClosedError);
  assert.ok(thrown(() => q.trySend(enc.encode("x"))) instanceof ClosedError);
  assert.ok(thrown(() => q.stat()) instanceof ClosedError);
  assert.ok(thrown(() => q.unsafeFd) instanceof ClosedError);
  q.close(); // again: nothing
  assert.equal(q.closed, true);
});

ipcTest(
  "stress: thousands of cancelled receives while a process sends; every message counted",
  async () => {
    using q = MessageQueue.temporary({ maxMessages: 10, messageSize: 128 });
    await receiveWithCancels("posix", q.name, (b, o) => q.receiveInto(b, o), 6000);
    assert.equal(q.tryReceive(), WOULD_BLOCK, "nothing extra, nothing duplicated");
  },
);

ipcTest(
  "4 processes × 100,000 messages: nothing lost, duplicated, reordered or corrupt",
  async () => {
    using q = MessageQueue.temporary({ maxMessages: 10, messageSize: 128 });
    await fromFourSenders("posix", q.name, q, 100_000);
    assert.equal(q.tryReceive(), WOULD_BLOCK);
  },
);

ipcTest("async iteration ends on abort; a read-only handle cannot send (EBADF)", async () => {
  using q = MessageQueue.temporary({ maxMessages: 4, messageSize: 8 });
  using r = MessageQueue.open(q.name, { readOnly: true });
  using w = MessageQueue.open(q.name, { writeOnly: true });
  for (const s of ["a", "b", "c"]) w.trySend(enc.encode(s));
  const ac = new AbortController();
  const seen: string[] = [];
  for await (const m of r.messages({ signal: ac.signal })) {
    seen.push(dec.decode(m.data));
    if (seen.length === 3) setTimeout(() => ac.abort(), 5);
  }
  assert.deepEqual(seen, ["a", "b", "c"]);
  const e = thrown(() => r.trySend(enc.encode("x")));
  assert.ok(e instanceof ErrnoError && e.code === "EBADF");
  const e2 = thrown(() => w.tryReceive());
  assert.ok(e2 instanceof ErrnoError && e2.code === "EBADF");
});

ipcTest("a queue owned by another user is refused unless allowForeignOwner", async (t) => {
  const why = Deno.uid() !== 0
    ? "needs root to give a queue away"
    : !HAVE_MQUEUE_FS && "needs /dev/mqueue mounted to chown a queue";
  if (await skipIf(t, why)) return;
  using q = MessageQueue.temporary({ maxMessages: 2, messageSize: 64 });
  await runOk("chown", ["65534:65534", `/dev/mqueue${q.name}`]);
  const e = thrown(() => MessageQueue.open(q.name));
  assert.ok(e instanceof ForeignOwnerError && e.owner === 65534, `${e}`);
  const e2 = thrown(() => MessageQueue.create(q.name, { exclusive: false }));
  assert.ok(e2 instanceof ForeignOwnerError, "create without exclusive must not adopt it");
  const e3 = thrown(() => MessageQueue.create(q.name));
  assert.ok(e3 instanceof ErrnoError && e3.code === "EEXIST", "create is exclusive by default");
  using b = MessageQueue.open(q.name, { allowForeignOwner: true });
  assert.equal(b.created, false);
});

ipcTest("unlink: by name and by handle; a temporary queue is gone after dispose", async () => {
  let name: string;
  {
    using q = MessageQueue.temporary({ maxMessages: 2, messageSize: 64 });
    name = q.name;
    using again = MessageQueue.open(name);
    assert.equal(again.created, false);
  }
  assert.equal((thrown(() => MessageQueue.open(name)) as ErrnoError).code, "ENOENT");
  const n2 = uniqueName("unl");
  using q2 = MessageQueue.create(n2, { exclusive: true, maxMessages: 2, messageSize: 64 });
  q2.unlink();
  q2.trySend(enc.encode("still usable"));
  assert.equal(dec.decode((await q2.receive()).data), "still usable");
  assert.equal((thrown(() => q2.unlink()) as ErrnoError).code, "ENOENT");
  assert.equal((thrown(() => MessageQueue.unlink(n2)) as ErrnoError).code, "ENOENT");
});

Deno.test("bad input on POSIX queues: every case throws before any system call", async (t) => {
  // deno-lint-ignore no-explicit-any
  const M = MessageQueue as any;
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["name without /", () => MessageQueue.open("jobs"), TypeError],
    ["name with another /", () => MessageQueue.open("/a/b"), TypeError],
    ["name empty", () => MessageQueue.open(""), TypeError],
    ["name only /", () => MessageQueue.open("/"), TypeError],
    ["name with NUL", () => MessageQueue.open("/a\0b"), TypeError],
    ["name over 255 bytes", () => MessageQueue.open("/" + "x".repeat(255)), RangeError],
    ["name a number", () => M.open(5), TypeError],
    ["options a string", () => M.open("/q", "create"), TypeError],
    ["create options a string", () => M.create("/q", "big"), TypeError],
    ["create exclusive a string", () => M.create("/q", { exclusive: "no" }), TypeError],
    [
      "allowForeignOwner with exclusive create",
      () => MessageQueue.create("/q", { allowForeignOwner: true }),
      TypeError,
    ],
    ["open allowForeignOwner a number", () => M.open("/q", { allowForeignOwner: 1 }), TypeError],
    [
      "readOnly and writeOnly",
      () => MessageQueue.open("/q", { readOnly: true, writeOnly: true }),
      TypeError,
    ],
    ["mode 0o1000", () => MessageQueue.temporary({ mode: 0o1000 }), RangeError],
    ["mode negative", () => MessageQueue.temporary({ mode: -1 }), RangeError],
    ["maxMessages 0", () => MessageQueue.temporary({ maxMessages: 0 }), RangeError],
    ["maxMessages fractional", () => MessageQueue.temporary({ maxMessages: 1.5 }), RangeError],
    ["messageSize NaN", () => MessageQueue.temporary({ messageSize: NaN }), RangeError],
    ["messageSize a string", () => M.temporary({ messageSize: "8" }), TypeError],
    ["readOnly a string", () => M.open("/q", { readOnly: "yes" }), TypeError],
    ["prefix with /", () => MessageQueue.temporary({ prefix: "a/b" }), TypeError],
    ["unlink bad name", () => MessageQueue.unlink("nope"), TypeError],
    ["fromFd negative", () => MessageQueue.fromFd(-1), RangeError],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => {
      const e = thrown(fn);
      assert.ok(e instanceof type, `${label}: got ${e}`);
    });
  }
});

ipcTest("bad input on a live queue", async (t) => {
  using q = MessageQueue.temporary({ maxMessages: 2, messageSize: 16 });
  // deno-lint-ignore no-explicit-any
  const Q = q as any;
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["send a string", () => Q.trySend("text"), TypeError],
    ["send an ArrayBuffer", () => Q.trySend(new ArrayBuffer(4)), TypeError],
    [
      "trySend options a number (the old priority form)",
      () => Q.trySend(new Uint8Array(1), 3),
      TypeError,
    ],
    ["priority negative", () => q.trySend(new Uint8Array(1), { priority: -1 }), RangeError],
    [
      "priority too high",
      () => q.trySend(new Uint8Array(1), { priority: MAX_PRIORITY + 1 }),
      RangeError,
    ],
    ["priority fractional", () => q.trySend(new Uint8Array(1), { priority: 1.5 }), RangeError],
    ["receive into too small", () => q.tryReceiveInto(new Uint8Array(15)), RangeError],
    ["receive into a string", () => Q.tryReceiveInto("buf"), TypeError],
    ["fromFd of a pipe", () => MessageQueue.fromFd(0), ErrnoError],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => assert.ok(thrown(fn) instanceof type, label));
  }
  for (
    const [label, p] of [
      ["send: timeout negative", () => q.send(new Uint8Array(1), { timeout: -1 })],
      ["send: signal not an AbortSignal", () => Q.send(new Uint8Array(1), { signal: {} })],
      ["receive: timeout a string", () => Q.receive({ timeout: "1" })],
      ["receive: priority in wait options", () => Q.send(new Uint8Array(1), { priority: 1e6 })],
    ] as const
  ) {
    await t.step(
      label,
      () => assert.rejects(p(), (e) => e instanceof TypeError || e instanceof RangeError),
    );
  }
  assert.equal(q.stat().currentMessages, 0, "no bad call sent anything");
});

ipcTest("a fair share against a C receiver blocked in mq_receive on the same queue", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
  using q = MessageQueue.temporary({ maxMessages: 10, messageSize: 64 });
  await shareWithKernelWaiter(
    "pmq",
    q.name,
    () => assert.equal(q.trySend(new Uint8Array([1])), undefined),
    (o) => q.receive(o),
  );
});

ipcTest("a message sent after a receive timed out or was aborted stays on the queue", async () => {
  using q = MessageQueue.temporary({ maxMessages: 4, messageSize: 16 });
  using other = MessageQueue.open(q.name);
  for (let i = 0; i < 20; i++) {
    if (i % 2 === 0) {
      await assert.rejects(
        q.receive({ timeout: 20 + i }),
        (e) => (e as Error).name === "TimeoutError",
      );
    } else {
      await assert.rejects(q.receive({ signal: AbortSignal.timeout(20 + i) }));
    }
    assert.equal(other.trySend(new Uint8Array([i])), undefined);
    // Long enough for any call still in the kernel to have taken it (it must not be there).
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(other.stat().currentMessages, 1, `round ${i}: the message is still queued`);
    const m = other.tryReceive();
    assert.ok(m !== WOULD_BLOCK && m.data[0] === i);
  }
  assert.equal(q.tryReceive(), WOULD_BLOCK, "nothing kept for this handle");
});

ipcTest(
  "a receive that timed out or was aborted takes nothing: a C receiver gets what comes after (200 rounds)",
  async (t) => {
    if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
    using q = MessageQueue.temporary({ maxMessages: 4, messageSize: 16 });
    await nothingTakenAfterWait(
      "pmq",
      q.name,
      () => assert.equal(q.trySend(new Uint8Array([1])), undefined),
      (o) => q.receive(o),
      () => q.tryReceive(),
    );
    assert.equal(q.stat().currentMessages, 0);
  },
);

ipcTest(
  "receiveSync blocks in the kernel until a C process sends; a timeout throws TimeoutError",
  async (t) => {
    if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
    const peer = await compileTestC("mq_peer");
    using q = MessageQueue.temporary({ maxMessages: 4, messageSize: 64 });
    const e = thrown(() => q.receiveSync({ timeout: 20 }));
    assert.ok(e instanceof DOMException && e.name === "TimeoutError", `${e}`);
    // The sender starts after this thread is already blocked in mq_timedreceive.
    const sender = new Deno.Command("sh", {
      args: ["-c", `sleep 0.2; exec "${peer}" pmq-send "${q.name}" 6 hello`],
    }).spawn();
    const m = q.receiveSync({ timeout: 10_000 });
    assert.equal(new TextDecoder().decode(m.data), "hello");
    assert.equal(m.priority, 6);
    assert.ok((await within(10_000, "the C sender", sender.status)).success);
    const into = new Uint8Array(q.messageSize);
    assert.equal(q.trySend(new Uint8Array([4, 5]), { priority: 1 }), undefined);
    assert.deepEqual(q.receiveIntoSync(into), { length: 2, priority: 1 });
    assert.ok(thrown(() => q.receiveIntoSync(new Uint8Array(1))) instanceof RangeError);
    q.close();
    assert.ok(thrown(() => q.receiveSync({ timeout: 1 })) instanceof ClosedError);
  },
);

ipcTest(
  "sendSync blocks in the kernel until a C process makes room; a timeout sends nothing",
  async (t) => {
    if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
    const peer = await compileTestC("mq_peer");
    using q = MessageQueue.temporary({ maxMessages: 1, messageSize: 64 });
    q.sendSync(new Uint8Array([0x61]), { priority: 2 }); // room: at once
    const e = thrown(() => q.sendSync(new Uint8Array([0x62]), { timeout: 20 }));
    assert.ok(e instanceof DOMException && e.name === "TimeoutError", `${e}`);
    assert.equal(q.stat().currentMessages, 1, "the timed-out send sent nothing");
    // The receiver starts after this thread is blocked in mq_timedsend.
    const receiver = new Deno.Command("sh", {
      args: ["-c", `sleep 0.2; exec "${peer}" pmq-recv "${q.name}" 2`],
      stdout: "piped",
    }).spawn();
    q.sendSync(new TextEncoder().encode("cc"), { priority: 1, timeout: 10_000 });
    const out = await within(10_000, "the C receiver", receiver.output());
    assert.ok(out.success);
    assert.deepEqual(new TextDecoder().decode(out.stdout).trim().split("\n"), ["2 1 a", "1 2 cc"]);
    // Bad arguments throw before any call; a signal is refused (a blocked thread cannot see it).
    for (
      const bad of [
        () => q.sendSync("x" as unknown as Uint8Array),
        () => q.sendSync(new Uint8Array(1), { priority: -1 }),
        () => q.sendSync(new Uint8Array(1), { timeout: -1 }),
        () => q.sendSync(new Uint8Array(1), { prio: 1 } as never),
        () => q.sendSync(new Uint8Array(1), { signal: AbortSignal.timeout(1) } as never),
      ]
    ) {
      const err = thrown(bad);
      assert.ok(err instanceof TypeError || err instanceof RangeError, `${err}`);
    }
    const big = thrown(() => q.sendSync(new Uint8Array(65)));
    assert.ok(big instanceof RangeError || big instanceof ErrnoError, `${big}`);
    q.close();
    assert.ok(thrown(() => q.sendSync(new Uint8Array(1))) instanceof ClosedError);
  },
);

ipcTest("a receipt the caller keeps is filled and returned, not a new one", () => {
  using q = MessageQueue.temporary({ maxMessages: 4, messageSize: 16 });
  const into = new Uint8Array(16);
  const receipt = { length: -1, priority: -1 };
  assert.equal(q.tryReceiveInto(into, receipt), WOULD_BLOCK);
  assert.deepEqual(receipt, { length: -1, priority: -1 }, "untouched when nothing came");
  q.trySend(new Uint8Array([1, 2, 3]), { priority: 7 });
  assert.equal(q.tryReceiveInto(into, receipt), receipt);
  assert.deepEqual(receipt, { length: 3, priority: 7 });
  q.trySend(new Uint8Array([4]));
  // deno-lint-ignore no-explicit-any
  assert.ok(thrown(() => q.tryReceiveInto(into, 5 as any)) instanceof TypeError);
  // deno-lint-ignore no-explicit-any
  assert.ok(thrown(() => q.tryReceiveInto(into, null as any)) instanceof TypeError);
  assert.deepEqual(
    q.tryReceiveInto(into),
    { length: 1, priority: 0 },
    "the bad calls took nothing",
  );
});

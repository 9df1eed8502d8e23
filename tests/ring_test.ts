// The ring channel against real processes: millions of checksummed messages of random sizes
// (one byte, exactly the largest, sizes that wrap) from one and from three producers, zero-copy
// both ways, producers and consumers SIGKILLed at random moments, waits that time out or are
// aborted and take nothing, end of stream, C peers reading and writing the documented layout,
// Workers, Web Streams, and bad input.
import assert from "node:assert/strict";
import {
  ClosedError,
  END_OF_STREAM,
  ErrnoError,
  MAX_SENDERS,
  RING_HEADER_SIZE,
  RingChannel,
  RingReceiver,
  RingSender,
  SharedMemory,
  spawn,
  spawnDeno,
  SysVSharedMemory,
  WOULD_BLOCK,
} from "../mod.ts";
import { expected, fill, sizeOf, Tally } from "./_ring_check.ts";
import { underAttack } from "./_hostile.ts";
import {
  compileTestC,
  firstLine,
  HAVE_GCC,
  ipcTest,
  ROOT,
  runOk,
  skipIf,
  testRandom,
  thrown,
  uniqueName,
  within,
} from "./_helpers.ts";

const CHILD = `${ROOT}tests/fixtures/ring_child.ts`;

function child(...args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-ffi", "--allow-read", CHILD, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

async function output(p: Deno.ChildProcess): Promise<string[]> {
  const out = await p.output();
  if (!out.success) throw new Error(`child exited ${out.code}`);
  return new TextDecoder().decode(out.stdout).trim().split("\n");
}

/** Receives everything into a Tally (async or blocking), until end of stream. */
async function drain(rx: RingReceiver, tally: Tally, sync = false): Promise<void> {
  const into = new Uint8Array(tally.max);
  for (;;) {
    const n = sync ? rx.receiveIntoSync(into) : await rx.receiveInto(into);
    if (n === END_OF_STREAM) return;
    tally.add(into.subarray(0, n));
  }
}

ipcTest("layout: mode 0600, header words as documented, exclusive creation, unlink", async (t) => {
  const name = uniqueName("ring");
  using ch = RingChannel.create(name, { capacity: 8192 });
  try {
    assert.equal((Deno.statSync(`/dev/shm/${name.slice(1)}`).mode ?? 0) & 0o777, 0o600);
    assert.equal(Deno.statSync(`/dev/shm/${name.slice(1)}`).size, RING_HEADER_SIZE + 8192);
    const e = thrown(() => RingChannel.create(name, { capacity: 8192 }));
    assert.ok(e instanceof ErrnoError && e.code === "EEXIST", `create is exclusive: ${e}`);
    using again = RingChannel.create(name, { exclusive: false }); // opens the existing channel
    assert.equal(again.created, false);
    assert.equal(again.capacity, 8192);
    using shm = SharedMemory.open(name);
    const w = new DataView(shm.bytes.buffer, 0, 64);
    assert.deepEqual(
      [0, 4, 8, 12, 32].map((o) => w.getUint32(o, true)),
      [0x676e6972, 1, 8192, 0, 1],
    );
    assert.equal(new TextDecoder().decode(shm.bytes.subarray(0, 4)), "ring");
    {
      using rx = ch.receiver();
      using tx = ch.sender();
      assert.equal(w.getUint32(24, true), Deno.pid, "receiver pid at byte 24");
      assert.equal(new DataView(shm.bytes.buffer).getUint32(320, true), Deno.pid, "sender slot");
      tx.trySend(new Uint8Array([1, 2, 3]));
      const rec = new DataView(shm.bytes.buffer, RING_HEADER_SIZE, 16);
      assert.deepEqual([rec.getUint32(0, true), rec.getUint32(4, true)], [3, Deno.pid]);
      assert.deepEqual([...shm.bytes.subarray(RING_HEADER_SIZE + 8, RING_HEADER_SIZE + 11)], [
        1,
        2,
        3,
      ]);
      assert.equal(new DataView(shm.bytes.buffer).getUint32(128, true), 16, "tail at byte 128");
      assert.deepEqual(ch.stat(), {
        capacity: 8192,
        used: 16,
        head: 0,
        tail: 16,
        senders: [Deno.pid],
        receiver: Deno.pid,
        deaths: 0,
      });
      assert.deepEqual(rx.tryReceive(), new Uint8Array([1, 2, 3]));
      assert.equal(new DataView(shm.bytes.buffer).getUint32(64, true), 16, "head at byte 64");
    }
    if (!await skipIf(t, !HAVE_GCC && "gcc is not installed")) {
      const peer = await compileTestC("ring_peer");
      assert.equal((await runOk(peer, ["header", name])).trim(), "676e6972 1 8192 0 1");
    }
  } finally {
    RingChannel.unlink(name);
  }
  const gone = thrown(() => RingChannel.open(name));
  assert.ok(gone instanceof ErrnoError && gone.code === "ENOENT", `${gone}`);
  using m = RingChannel.temporary({ capacity: 1024, multiProducer: true, mode: 0o640 });
  assert.equal((Deno.statSync(`/dev/shm/${m.name?.slice(1)}`).mode ?? 0) & 0o777, 0o640);
  assert.equal(m.multiProducer, true);
});

ipcTest("SPSC: 2,000,000 checksummed messages of random sizes from another process", async () => {
  using ch = RingChannel.temporary({ capacity: 16384 });
  using rx = ch.receiver();
  const seed = 0x5eed;
  const count = 2_000_000;
  const p = child("produce", ch.name ?? "", "3", String(count), String(seed));
  const tally = new Tally(seed, ch.maxMessageSize);
  await drain(rx, tally, true);
  const [line] = await output(p);
  assert.equal(tally.total, count);
  assert.equal(line, `3 ${count} ${tally.sums.get(3)}`, "the producer's checksum matches");
  assert.equal(tally.sums.get(3), expected(seed, 3, count, ch.maxMessageSize));
  // 1 in 1000 messages is exactly the largest (8184 bytes), which in a 16 KiB ring cannot
  // follow itself without wrapping: thousands of records were placed at position 0 again.
  assert.equal(sizeOf(seed, 3, 7, ch.maxMessageSize), 8184);
  assert.equal(sizeOf(seed, 3, 8, ch.maxMessageSize), 1);
});

ipcTest("MPSC: three producers, 2,100,000 messages, order per producer, checksums", async () => {
  using ch = RingChannel.temporary({ capacity: 32768, multiProducer: true });
  using rx = ch.receiver();
  const seed = 77;
  const count = 700_000;
  using hold = ch.sender(); // keeps the stream open until every producer has attached
  const kids = [0, 1, 2].map((id) =>
    child(
      "produce",
      ch.name ?? "",
      String(id + 1),
      String(count),
      String(seed),
      ["copy", "zero", "async"][id] ?? "",
    )
  );
  const tally = new Tally(seed, ch.maxMessageSize);
  const done = Promise.all(kids.map(output));
  const receiving = drain(rx, tally);
  const lines = await done;
  hold.close();
  await receiving;
  assert.equal(tally.total, 3 * count);
  for (const [line] of lines) {
    const [id, n, sum] = (line ?? "").split(" ").map(Number);
    assert.equal(n, count);
    assert.equal(tally.next.get(id ?? -1), count, `producer ${id}: all messages, in order`);
    assert.equal(tally.sums.get(id ?? -1), sum, `producer ${id}: checksum`);
  }
});

ipcTest("zero-copy: reserve/commit in place, peek/release in place, shorter commits", async () => {
  using ch = RingChannel.temporary({ capacity: 65536 });
  using rx = ch.receiver();
  const seed = 9;
  const count = 200_000;
  const p = child("produce", ch.name ?? "", "5", String(count), String(seed), "zero");
  const tally = new Tally(seed, ch.maxMessageSize);
  for (;;) {
    const view = await rx.peek();
    if (view === END_OF_STREAM) break;
    tally.add(view);
    rx.release();
  }
  const [line] = await output(p);
  assert.equal(line, `5 ${count} ${tally.sums.get(5)}`);
  for (const multiProducer of [false, true]) {
    using m = RingChannel.temporary({ capacity: 256, multiProducer });
    using r = m.receiver();
    using tx = m.sender();
    const room = tx.tryReserve(100);
    assert.ok(room instanceof Uint8Array && room.length === 100);
    assert.equal(r.tryPeek(), WOULD_BLOCK, "nothing visible before the commit");
    room.set([1, 2, 3, 4, 5]);
    tx.commit(5);
    const again = tx.tryReserve(10);
    assert.ok(again instanceof Uint8Array);
    tx.discard();
    tx.trySend(new Uint8Array([9]));
    assert.deepEqual(r.tryPeek(), new Uint8Array([1, 2, 3, 4, 5]));
    assert.deepEqual(r.tryPeek(), new Uint8Array([1, 2, 3, 4, 5]), "peeking again: same");
    r.release();
    assert.deepEqual(r.tryReceive(), new Uint8Array([9]), "the discarded one never shows");
    assert.equal(r.tryReceive(), WOULD_BLOCK);
    assert.equal(m.stat().used, 0);
  }
});

ipcTest("producers SIGKILLed at random moments: whole messages, then ECONNRESET", async () => {
  for (let round = 0; round < 6; round++) {
    const multiProducer = round % 2 === 1;
    using ch = RingChannel.temporary({ capacity: 4096, multiProducer });
    using rx = ch.receiver();
    const seed = 1000 + round;
    const victims = [
      child("produce", ch.name ?? "", "1", "0", String(seed), round % 3 === 2 ? "zero" : "copy"),
    ];
    if (multiProducer) {
      victims.push(child("produce", ch.name ?? "", "2", "0", String(seed), "zero"));
    }
    for (const v of victims) assert.equal(await firstLine(v), "ready");
    const tally = new Tally(seed, ch.maxMessageSize);
    const into = new Uint8Array(ch.maxMessageSize);
    const until = tally.total + 2000 + Math.floor(testRandom() * 20000);
    while (tally.total < until) {
      const n = await rx.receiveInto(into);
      assert.ok(n !== END_OF_STREAM);
      tally.add(into.subarray(0, n));
    }
    for (const v of victims) v.kill("SIGKILL");
    let error: unknown;
    try {
      await drain(rx, tally);
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof ErrnoError && error.code === "ECONNRESET", `${error}`);
    assert.match(String(error), /a sender died/);
    assert.equal(await rx.receive({ timeout: 1000 }), END_OF_STREAM, "reported once, then end");
    assert.equal(ch.stat().deaths, victims.length);
    assert.deepEqual(ch.stat().senders, []);
    for (const v of victims) await v.status;
  }
});

ipcTest(
  "one of three producers killed: the others finish, the death is reported at the end",
  async () => {
    using ch = RingChannel.temporary({ capacity: 8192, multiProducer: true });
    using rx = ch.receiver();
    const seed = 4242;
    using hold = ch.sender();
    const forever = child("produce", ch.name ?? "", "9", "0", String(seed), "copy");
    assert.equal(await firstLine(forever), "ready");
    const finite = [1, 2].map((id) =>
      child("produce", ch.name ?? "", String(id), "50000", String(seed))
    );
    const tally = new Tally(seed, ch.maxMessageSize);
    const receiving = drain(rx, tally).catch((e) => e);
    await new Promise((r) => setTimeout(r, 50 + testRandom() * 200));
    forever.kill("SIGKILL");
    await forever.status;
    const lines = await Promise.all(finite.map(output));
    hold.close();
    const error = await receiving;
    assert.ok(error instanceof ErrnoError && error.code === "ECONNRESET", `${error}`);
    for (const [line] of lines) {
      const [id, , sum] = (line ?? "").split(" ").map(Number);
      assert.equal(tally.next.get(id ?? -1), 50000);
      assert.equal(tally.sums.get(id ?? -1), sum);
    }
    assert.ok((tally.next.get(9) ?? 0) > 0, "the killed producer's whole messages arrived");
  },
);

ipcTest("consumer SIGKILLed: a sender waiting for room gets EPIPE, never hangs", async () => {
  for (const how of ["async", "sync"] as const) {
    using ch = RingChannel.temporary({ capacity: 1024 });
    const holder = child("hold", ch.name ?? "");
    assert.equal(await firstLine(holder), "ready");
    using tx = ch.sender();
    const msg = new Uint8Array(100);
    while (tx.trySend(msg) !== WOULD_BLOCK) { /* fill it */ }
    // A blocking send blocks this thread's timers too: kill the holder first for it (a zombie
    // must count as dead); kill it during the wait for the async one.
    if (how === "sync") holder.kill("SIGKILL");
    else setTimeout(() => holder.kill("SIGKILL"), testRandom() * 50);
    const e = how === "async" ? await tx.send(msg).then(() => "sent", (e) => e) : (() => {
      try {
        tx.sendSync(msg);
        return "sent";
      } catch (e) {
        return e;
      }
    })();
    assert.ok(e instanceof ErrnoError && e.code === "EPIPE", `${e}`);
    await holder.status;
    assert.equal(ch.stat().receiver, 0);
    // A new receiver can attach, and the ring still holds what was sent before.
    using rx = ch.receiver();
    assert.ok(rx.tryReceive() instanceof Uint8Array);
  }
});

ipcTest("a receiver that closes: EPIPE at once; a second receiver or sender: EBUSY", () => {
  using ch = RingChannel.temporary({ capacity: 1024 });
  const rx = ch.receiver();
  const e1 = thrown(() => ch.receiver());
  assert.ok(e1 instanceof ErrnoError && e1.code === "EBUSY", `${e1}`);
  using tx = ch.sender();
  const e2 = thrown(() => ch.sender());
  assert.ok(e2 instanceof ErrnoError && e2.code === "EBUSY", `${e2}`);
  assert.match(String(e2), /attach a second sender/);
  rx.close();
  rx.close();
  const e3 = thrown(() => tx.trySend(new Uint8Array(1)));
  assert.ok(e3 instanceof ErrnoError && e3.code === "EPIPE" && e3.syscall === "send", `${e3}`);
  using m = RingChannel.temporary({ capacity: 1024, multiProducer: true });
  const senders: RingSender[] = [];
  for (let i = 0; i < MAX_SENDERS; i++) senders.push(m.sender());
  const e4 = thrown(() => m.sender());
  assert.ok(e4 instanceof ErrnoError && e4.code === "EBUSY", `${e4}`);
  senders.pop()?.close();
  senders.push(m.sender());
  for (const s of senders) s.close();
  assert.deepEqual(m.stat().senders, []);
});

ipcTest(
  "end of stream: every message, then END_OF_STREAM, for every way of receiving",
  async () => {
    using ch = RingChannel.temporary({ capacity: 4096 });
    using rx = ch.receiver();
    assert.equal(rx.tryReceive(), WOULD_BLOCK, "no sender yet: empty, not ended");
    {
      using tx = ch.sender();
      for (let i = 0; i < 10; i++) tx.trySend(new Uint8Array([i]));
    }
    const got: number[] = [];
    for await (const m of rx) got.push(m[0] ?? -1);
    assert.deepEqual(got, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(rx.tryReceive(), END_OF_STREAM);
    assert.equal(rx.tryReceiveInto(new Uint8Array(1)), END_OF_STREAM);
    assert.equal(rx.tryPeek(), END_OF_STREAM);
    assert.equal(await rx.receive(), END_OF_STREAM);
    assert.equal(rx.receiveSync(), END_OF_STREAM);
    assert.equal(await rx.peek(), END_OF_STREAM);
  },
);

ipcTest("abort and timeout: a cancelled receive or send takes and sends nothing", async () => {
  using ch = RingChannel.temporary({ capacity: 256 });
  using rx = ch.receiver();
  using tx = ch.sender();
  const e = await rx.receive({ timeout: 20 }).catch((e) => e);
  assert.ok(e instanceof DOMException && e.name === "TimeoutError", `${e}`);
  assert.throws(() => rx.receiveSync({ timeout: 0 }), (e: Error) => e.name === "TimeoutError");
  // Thousands of receives cancelled at every moment while a sender races them: each message
  // arrives exactly once.
  let sent = 0;
  let received = 0;
  let cancelled = 0;
  const next = new Uint8Array(4);
  const sending = (async () => {
    for (let i = 0; i < 3000; i++) {
      new DataView(next.buffer).setUint32(0, i, true);
      await tx.send(next);
      sent++;
      if (i % 7 === 0) await new Promise((r) => setTimeout(r, 0));
    }
  })();
  let want = 0;
  for (let k = 0; received < 3000; k++) {
    const ac = new AbortController();
    if (k % 4 === 0) ac.abort();
    const p = rx.receive({ signal: ac.signal });
    if (k % 4 === 1) queueMicrotask(() => ac.abort());
    if (k % 4 === 2) setTimeout(() => ac.abort(), 0);
    try {
      const m = await p;
      assert.ok(m !== END_OF_STREAM);
      assert.equal(new DataView(m.buffer).getUint32(0, true), want++, "in order, none lost");
      received++;
    } catch (e) {
      assert.equal((e as Error).name, "AbortError");
      cancelled++;
    }
  }
  await sending;
  assert.equal(sent, 3000);
  assert.ok(cancelled >= 750, `every fourth receive was aborted before it began (${cancelled})`);
  // A send that times out on a full ring has sent nothing.
  while (tx.trySend(new Uint8Array(20)) !== WOULD_BLOCK) { /* fill */ }
  const used = ch.stat().used;
  const t = await tx.send(new Uint8Array(20), { timeout: 10 }).catch((e) => e);
  assert.equal((t as Error).name, "TimeoutError");
  const ac = new AbortController();
  const a = tx.send(new Uint8Array(20), { signal: ac.signal }).catch((e) => e);
  ac.abort();
  assert.equal((await a as Error).name, "AbortError");
  assert.throws(
    () => tx.sendSync(new Uint8Array(20), { timeout: 5 }),
    (e: Error) => e.name === "TimeoutError",
  );
  assert.equal(ch.stat().used, used, "nothing was added by the cancelled sends");
});

ipcTest("closing under a wait ends it with ClosedError; use after close throws", async () => {
  using ch = RingChannel.temporary({ capacity: 256 });
  const rx = ch.receiver();
  const pending = rx.receive().catch((e) => e);
  await new Promise((r) => setTimeout(r, 30));
  rx.close();
  assert.ok(await pending instanceof ClosedError);
  assert.ok(thrown(() => rx.tryReceive()) instanceof ClosedError);
  const tx = ch.sender();
  ch.close();
  ch.close();
  assert.equal(tx.closed, true);
  assert.ok(thrown(() => tx.trySend(new Uint8Array(1))) instanceof ClosedError);
  assert.ok(thrown(() => ch.sender()) instanceof ClosedError);
  assert.ok(thrown(() => ch.stat()) instanceof ClosedError);
  // Memory closed under a channel made in it: ClosedError, never a crash.
  const shm = SharedMemory.temporary({ size: RingChannel.size({ capacity: 1024 }) });
  const inner = RingChannel.init(shm, 0);
  const r2 = inner.receiver();
  const waiting = r2.receive().catch((e) => e);
  await new Promise((r) => setTimeout(r, 30));
  shm.close();
  assert.ok(await waiting instanceof ClosedError);
  assert.ok(thrown(() => r2.tryReceive()) instanceof ClosedError);
  inner.close();
});

ipcTest("C peers: a C consumer reads what dipc wrote; dipc reads what C wrote", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc is not installed")) return;
  const peer = await compileTestC("ring_peer");
  for (const multiProducer of [false, true]) {
    using ch = RingChannel.temporary({ capacity: 8192, multiProducer });
    // No wait for "ready": what is sent waits in the ring for the consumer to attach.
    const c = new Deno.Command(peer, { args: ["consume", ch.name ?? ""], stdout: "piped" })
      .spawn();
    const seed = 31;
    const count = 100_000;
    {
      using tx = ch.sender();
      const buf = new Uint8Array(ch.maxMessageSize);
      for (let seq = 0; seq < count; seq++) {
        const m = buf.subarray(0, sizeOf(seed, 4, seq, ch.maxMessageSize));
        fill(m, 4, seq);
        if (seq % 2 === 0) await tx.send(m);
        else {
          const room = await tx.reserve(m.length);
          room.set(m);
          tx.commit();
        }
      }
    }
    const lines = new TextDecoder().decode((await c.output()).stdout).trim().split("\n");
    assert.deepEqual(lines.slice(-2), [
      String(count),
      `4 ${count} ${expected(seed, 4, count, ch.maxMessageSize)}`,
    ]);
  }
  using ch = RingChannel.temporary({ capacity: 4096 });
  using rx = ch.receiver();
  const c = new Deno.Command(peer, {
    args: ["produce", ch.name ?? "", "6", "300000", "12345"],
    stdout: "piped",
  }).spawn();
  const tally = new Tally(12345, ch.maxMessageSize);
  await drain(rx, tally);
  const line = new TextDecoder().decode((await c.output()).stdout).trim();
  assert.equal(line, `6 300000 ${tally.sums.get(6)}`);
  assert.equal(tally.total, 300000);
});

ipcTest(
  "C consumer against three Deno producers (multi-producer lock and busy records)",
  async (t) => {
    if (await skipIf(t, !HAVE_GCC && "gcc is not installed")) return;
    const peer = await compileTestC("ring_peer");
    using ch = RingChannel.temporary({ capacity: 16384, multiProducer: true });
    const c = new Deno.Command(peer, { args: ["consume", ch.name ?? ""], stdout: "piped" }).spawn();
    using hold = ch.sender();
    const kids = [1, 2, 3].map((id) => child("produce", ch.name ?? "", String(id), "100000", "8"));
    const lines = await Promise.all(kids.map(output));
    hold.close();
    const got = new TextDecoder().decode((await c.output()).stdout).trim().split("\n");
    assert.equal(got.at(-4), "300000");
    assert.deepEqual(got.slice(-3), lines.map((l) => l[0]));
  },
);

ipcTest("a channel in System V memory between Workers; Web Streams adapters", async () => {
  using shm = SysVSharedMemory.temporary({ size: RingChannel.size({ capacity: 4096 }) });
  using ch = RingChannel.init(shm, 0, { capacity: 4096 });
  using rx = ch.receiver();
  const worker = new Worker(new URL("./fixtures/ring_worker.ts", import.meta.url), {
    type: "module",
  });
  const done = new Promise((r) => worker.onmessage = r);
  worker.postMessage(shm.id);
  let i = 0;
  for await (const m of rx.readable) {
    assert.deepEqual([...m], [i & 255, i >> 8]);
    i++;
  }
  assert.equal(i, 5000);
  await done;
  worker.terminate();
  // A WritableStream into a ReadableStream through one channel.
  using ch2 = RingChannel.temporary({ capacity: 1024 });
  using rx2 = ch2.receiver();
  const tx2 = ch2.sender();
  const parts = Array.from({ length: 200 }, (_, k) => new Uint8Array(k % 50 + 1).fill(k));
  const writing = ReadableStream.from(parts).pipeTo(tx2.writable);
  const got: Uint8Array[] = [];
  for await (const m of rx2.readable) got.push(m);
  await writing;
  assert.deepEqual(got, parts);
  assert.equal(tx2.closed, true, "closing the stream closed the sender");
});

ipcTest("bad input throws TypeError/RangeError/ErrnoError before touching the ring", () => {
  using ch = RingChannel.temporary({ capacity: 1024 });
  using rx = ch.receiver();
  using tx = ch.sender();
  using shm = SharedMemory.temporary({ size: 8192 });
  const used = ch.stat().used;
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["capacity not a power of two", () => RingChannel.temporary({ capacity: 1000 }), RangeError],
    ["capacity too small", () => RingChannel.temporary({ capacity: 32 }), RangeError],
    ["capacity too large", () => RingChannel.temporary({ capacity: 2 ** 31 }), RangeError],
    ["capacity a string", () => RingChannel.temporary({ capacity: "4096" as never }), TypeError],
    ["capacity fractional", () => RingChannel.temporary({ capacity: 1024.5 }), RangeError],
    [
      "multiProducer not boolean",
      () => RingChannel.temporary({ multiProducer: 1 as never }),
      TypeError,
    ],
    ["options not an object", () => RingChannel.temporary(5 as never), TypeError],
    ["name without slash", () => RingChannel.create("ring"), TypeError],
    ["name with two slashes", () => RingChannel.create("/a/b"), TypeError],
    ["mode out of range", () => RingChannel.create(uniqueName(), { mode: 0o10000 }), RangeError],
    ["sizeFor bad capacity", () => RingChannel.size({ capacity: 100 }), RangeError],
    ["init on non-memory", () => RingChannel.init({} as never, 0), TypeError],
    ["init offset not multiple of 64", () => RingChannel.init(shm, 8), RangeError],
    ["init offset negative", () => RingChannel.init(shm, -64), RangeError],
    [
      "init capacity too large for memory",
      () => RingChannel.init(shm, 0, { capacity: 8192 }),
      RangeError,
    ],
    ["at on memory with no channel", () => RingChannel.at(shm, 0), TypeError],
    ["at offset beyond the memory", () => RingChannel.at(shm, 8192), RangeError],
    ["send a string", () => tx.trySend("hi" as never), TypeError],
    ["send an ArrayBuffer", () => tx.trySend(new ArrayBuffer(4) as never), TypeError],
    ["send too long", () => tx.trySend(new Uint8Array(505)), ErrnoError],
    ["reserve negative", () => tx.tryReserve(-1), RangeError],
    ["reserve fractional", () => tx.tryReserve(1.5), RangeError],
    ["reserve too long", () => tx.tryReserve(10_000), ErrnoError],
    ["commit with nothing reserved", () => tx.commit(), TypeError],
    ["discard with nothing reserved", () => tx.discard(), TypeError],
    ["release with nothing peeked", () => rx.release(), TypeError],
    ["receive into a non-buffer", () => rx.tryReceiveInto([] as never), TypeError],
    ["negative timeout", () => rx.receiveSync({ timeout: -1 }), RangeError],
    [
      "timeout not a number",
      () => tx.sendSync(new Uint8Array(1), { timeout: "1" as never }),
      TypeError,
    ],
    ["signal not an AbortSignal", () => rx.messages({ signal: {} as never }).next(), TypeError],
  ];
  for (const [label, fn, type] of cases) {
    let e: unknown;
    try {
      const r = fn();
      if (r instanceof Promise) r.catch(() => {});
    } catch (x) {
      e = x;
    }
    assert.ok(e instanceof type, `${label}: expected ${type.name}, got ${e}`);
  }
  const big = thrown(() => tx.trySend(new Uint8Array(505)));
  assert.ok(big instanceof ErrnoError && big.code === "EMSGSIZE", `${big}`);
  assert.match(String(big), /at most 504/);
  tx.trySend(new Uint8Array(300));
  const small = thrown(() => rx.tryReceiveInto(new Uint8Array(10)));
  assert.ok(small instanceof ErrnoError && small.code === "EMSGSIZE", `${small}`);
  const stayed = rx.tryReceive();
  assert.ok(stayed instanceof Uint8Array && stayed.length === 300, "it stayed for a bigger buffer");
  const room = tx.tryReserve(4);
  assert.ok(thrown(() => tx.tryReserve(4)) instanceof TypeError, "one reservation at a time");
  assert.ok(thrown(() => tx.trySend(new Uint8Array(1))) instanceof TypeError);
  assert.ok(room instanceof Uint8Array);
  assert.ok(thrown(() => tx.commit(5)) instanceof RangeError, "commit more than reserved");
  tx.discard();
  assert.equal(ch.stat().used, used);
  const e = thrown(() =>
    RingChannel.init(shm, 0, { capacity: 1024 }).close() ?? RingChannel.init(shm, 0)
  );
  assert.ok(e instanceof ErrnoError && e.code === "EEXIST", `${e}`);
});

for (const mode of ["ring-spsc", "ring-mpsc"] as const) {
  ipcTest(
    `hostile peer (${mode}): garbage in every header and record word never crashes or hangs`,
    async (t) => {
      if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
      const report = await underAttack(mode, RING_HEADER_SIZE + 4096, 1500);
      // The corruption was met and reported as such, so this run proves something.
      assert.ok((report.errors["ErrnoError EPROTO"] ?? 0) > 0, JSON.stringify(report.errors));
    },
  );
}

/** The channel's words as a peer sees them (byte offset ÷ 4). */
const HEAD_WORD = 16;
const TAIL_WORD = 32;
const LOCK_WORD = 33;
const RECORDS = RING_HEADER_SIZE / 4;

/** Expects ErrnoError EPROTO naming `word`. */
function assertCorrupt(e: unknown, word: RegExp): void {
  assert.ok(e instanceof ErrnoError && e.code === "EPROTO", `${e}`);
  assert.match(e.message, word);
}

ipcTest(
  "corrupt words: EPROTO naming the word, once; then end of stream, nothing stale",
  async () => {
    const cases: Array<[string, (w: Int32Array) => void, RegExp]> = [
      ["a length beyond the longest message", (w) => w[RECORDS] = 4088, /record word .* 4088/],
      [
        "a skip past the ring's end",
        (w) => w[RECORDS] = 0x40000000 | 8000,
        /runs past the ring's end/,
      ],
      ["busy and skip at once", (w) => w[RECORDS] = 0xc0000000 | 8, /busy and skip/],
      ["a tail beyond capacity", (w) => w[TAIL_WORD] = 4096 + 64, /tail holds 4160/],
      ["a tail not at a record", (w) => w[TAIL_WORD] = 13, /tail holds 13/],
    ];
    for (const [what, corrupt, word] of cases) {
      using shm = SharedMemory.temporary({ size: RingChannel.size({ capacity: 4096 }) });
      using channel = RingChannel.init(shm, 0, { capacity: 4096 });
      using tx = channel.sender();
      using rx = channel.receiver();
      assert.equal(tx.trySend(new Uint8Array(16).fill(7)), undefined, what);
      corrupt(shm.int32());
      assertCorrupt(thrown(() => rx.tryReceiveInto(new Uint8Array(8192))), word);
      // Reported once; afterwards the stream has ended, never a phantom or stale message.
      for (let i = 0; i < 3; i++) assert.equal(rx.tryReceive(), END_OF_STREAM, what);
      assert.equal(await rx.receive({ timeout: 1000 }), END_OF_STREAM, what);
      const seen = [];
      for await (const m of rx) seen.push(m);
      assert.deepEqual(seen, [], what);
    }
  },
);

ipcTest("a head or tail out of range is refused at attach, and the slot is left free", () => {
  using shm = SharedMemory.temporary({ size: RingChannel.size({ capacity: 4096 }) });
  using channel = RingChannel.init(shm, 0, { capacity: 4096 });
  const w = shm.int32();
  w[HEAD_WORD] = 3;
  assertCorrupt(thrown(() => channel.receiver()), /head holds 3/);
  assertCorrupt(thrown(() => channel.sender()), /head holds 3/);
  w[HEAD_WORD] = 0;
  w[TAIL_WORD] = 1 << 20;
  assertCorrupt(thrown(() => channel.sender()), /tail holds 1048576/);
  w[TAIL_WORD] = 0;
  using _rx = channel.receiver();
  using _tx = channel.sender();
  assert.equal(channel.stat().senders.length, 1);
});

ipcTest(
  "a sender meeting a head beyond its tail fails with EPROTO, and keeps failing",
  async () => {
    using shm = SharedMemory.temporary({ size: RingChannel.size({ capacity: 4096 }) });
    using channel = RingChannel.init(shm, 0, { capacity: 4096, multiProducer: true });
    using tx = channel.sender();
    shm.int32()[HEAD_WORD] = 800; // a receiver cannot have read what was never sent
    assertCorrupt(thrown(() => tx.trySend(new Uint8Array(8))), /tail holds 0/);
    assertCorrupt(await tx.send(new Uint8Array(8), { timeout: 1000 }).catch((e) => e), /tail/);
    assert.equal(shm.int32()[LOCK_WORD], 0, "the failure left the lock free");
  },
);

ipcTest("a busy record whose writer is gone is stepped over; later messages arrive", async () => {
  using shm = SharedMemory.temporary({ size: RingChannel.size({ capacity: 4096 }) });
  using channel = RingChannel.init(shm, 0, { capacity: 4096, multiProducer: true });
  using rx = channel.receiver();
  using tx = channel.sender();
  assert.equal(tx.trySend(new Uint8Array(24)), undefined);
  const w = shm.int32();
  // Turn that record into a reservation by a pid that holds no sender slot.
  w[RECORDS] = (0x80000000 | 24) | 0;
  w[RECORDS + 1] = 0x3ffffff0;
  assert.equal(tx.trySend(new Uint8Array([1, 2, 3])), undefined);
  assert.equal(rx.tryReceive(), WOULD_BLOCK, "a busy record is waited for");
  const m = await rx.receive({ timeout: 5000 });
  assert.deepEqual(m instanceof Uint8Array && [...m], [1, 2, 3]);
});

ipcTest(
  "the multi-producer lock: a stray pid is taken over; a stopped holder means wait, bounded",
  async () => {
    const name = uniqueName("ring-lock");
    using channel = RingChannel.create(name, { capacity: 4096, multiProducer: true });
    using shm = SharedMemory.open(name);
    const w = shm.int32();
    try {
      using tx = channel.sender();
      w[LOCK_WORD] = 1; // init is alive, but no sender: a peer's garbage
      assert.equal(
        tx.trySend(new Uint8Array(8)),
        undefined,
        "a lock word naming a non-sender is taken over",
      );
      assert.equal(w[LOCK_WORD], 0);
      const holder = new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", "--allow-ffi", "--allow-read", CHILD, "attach", name],
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      try {
        assert.equal(await within(20_000, "the holder attaching", firstLine(holder)), "ready");
        w[LOCK_WORD] = holder.pid;
        Deno.kill(holder.pid, "SIGSTOP");
        assert.equal(
          tx.trySend(new Uint8Array(8)),
          WOULD_BLOCK,
          "a live, stopped holder keeps the lock",
        );
        const e = await within(
          10_000,
          "send under a stopped holder",
          tx.send(new Uint8Array(8), { timeout: 100 }).catch((x) => x),
        );
        assert.ok(e instanceof DOMException && e.name === "TimeoutError", `${e}`);
        const stop = new AbortController();
        const aborted = tx.send(new Uint8Array(8), { signal: stop.signal }).catch((x) => x);
        setTimeout(() => stop.abort(new Error("stop")), 50);
        assert.equal((await within(10_000, "an aborted send", aborted)).message, "stop");
        Deno.kill(holder.pid, "SIGKILL");
        await holder.status;
        // Dead now (by pid and start time): taken over.
        await within(
          10_000,
          "send after the holder died",
          tx.send(new Uint8Array(8), { timeout: 5000 }),
        );
      } finally {
        try {
          Deno.kill(holder.pid, "SIGKILL");
        } catch {
          // gone
        }
        await holder.status;
      }
    } finally {
      RingChannel.unlink(name);
    }
  },
);

ipcTest(
  "failed sends leave nothing busy; a closed channel's endpoints throw ClosedError",
  async () => {
    using shm = SharedMemory.temporary({ size: RingChannel.size({ capacity: 4096 }) });
    const channel = RingChannel.init(shm, 0, { capacity: 4096, multiProducer: true });
    const tx = channel.sender();
    const detached = new Uint8Array(16);
    detached.buffer.transfer();
    assert.ok(thrown(() => tx.trySend(detached)) instanceof TypeError);
    assert.equal(channel.stat().used, 0, "nothing was reserved");
    assert.equal(tx.trySend(new Uint8Array(4)), undefined);
    channel.close();
    assert.ok(thrown(() => tx.tryReserve(8)) instanceof ClosedError);
    await assert.rejects(tx.reserve(8, { timeout: 10 }), ClosedError);
    assert.ok(thrown(() => tx.reserveSync(8, { timeout: 10 })) instanceof ClosedError);
    tx.close();
  },
);

ipcTest("a first sender that never comes: tied to the child, or to a timeout", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dipc-test-first-" });
  try {
    const script = `${dir}/sender.ts`;
    await Deno.writeTextFile(
      script,
      `import { RingChannel } from "${ROOT}mod.ts";
      using ch = RingChannel.open(Deno.args[0] ?? "");
      using tx = ch.sender();
      for (const m of ["a", "b"]) tx.sendSync(new TextEncoder().encode(m));`,
    );
    // A child without --allow-ffi dies before it attaches: the wait ends with ECONNREFUSED.
    {
      using ch = RingChannel.temporary({ capacity: 4096 });
      await using sender = spawnDeno(script, {
        args: [ch.name],
        permissions: { read: [dir, ROOT] },
        stderr: "null",
      });
      using rx = ch.receiver({ senderProcess: sender });
      const got: string[] = [];
      const e = await within(
        30_000,
        "the receive",
        (async (): Promise<unknown> => {
          try {
            for await (const m of rx) got.push(new TextDecoder().decode(m));
          } catch (err) {
            return err;
          }
          return "the stream ended normally";
        })(),
      );
      assert.ok(e instanceof ErrnoError && e.code === "ECONNREFUSED", `${e}`);
      assert.match(e.message, new RegExp(`process ${sender.pid}, the expected sender, exited`));
      assert.deepEqual(got, []);
    }
    // The same child with the permission it needs: every message, then the end of the stream.
    {
      using ch = RingChannel.temporary({ capacity: 4096 });
      await using sender = spawnDeno(script, {
        args: [ch.name],
        permissions: { ffi: true, read: [dir, ROOT] },
      });
      using rx = ch.receiver({ senderProcess: sender, senderTimeout: 60_000 });
      const got: string[] = [];
      await within(
        60_000,
        "the stream",
        (async () => {
          for await (const m of rx) got.push(new TextDecoder().decode(m));
        })(),
      );
      assert.deepEqual(got, ["a", "b"]);
    }
    // Nobody at all: senderTimeout ends the receive, async and sync, and the try form too.
    {
      using ch = RingChannel.temporary({ capacity: 4096 });
      using rx = ch.receiver({ senderTimeout: 50 });
      await assert.rejects(within(30_000, "the receive", rx.receive()), { name: "TimeoutError" });
      assert.ok(thrown(() => rx.receiveSync()) instanceof DOMException);
      assert.ok(thrown(() => rx.tryReceive()) instanceof DOMException);
    }
    // Bad options are refused before anything waits.
    using ch = RingChannel.temporary({ capacity: 4096 });
    // deno-lint-ignore no-explicit-any
    const C = ch as any;
    assert.ok(thrown(() => C.receiver({ senderProcess: 5 })) instanceof TypeError);
    assert.ok(thrown(() => C.receiver({ senderTimeout: -1 })) instanceof RangeError);
    assert.ok(thrown(() => C.receiver({ senderTimeout: "1" })) instanceof TypeError);
    assert.ok(thrown(() => C.receiver({ senderprocess: 1 })) instanceof TypeError, "a typo");
    assert.ok(thrown(() => C.sender({ senderTimeout: 1 })) instanceof TypeError, "not a sender's");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
ipcTest(
  "a sender waiting for a receiver that never comes: receiverProcess, receiverTimeout",
  async () => {
    // A child that dies before attaching as the receiver: a send on the full ring ends with
    // ECONNREFUSED naming it.
    {
      using ch = RingChannel.temporary({ capacity: 4096 });
      await using child = spawn("sh", { args: ["-c", "exit 3"] });
      using tx = ch.sender({ receiverProcess: child });
      const big = new Uint8Array(1000);
      // Fill it; once the child is known to have exited, a full ring refuses instead.
      const fill = () => {
        while (tx.trySend(big) !== WOULD_BLOCK) { /* fill it */ }
      };
      try {
        fill();
      } catch (e) {
        assert.ok(e instanceof ErrnoError && e.code === "ECONNREFUSED", `${e}`);
      }
      await child.wait({ timeout: 10_000 });
      const e = await within(30_000, "the send", tx.send(big).then(() => "sent", (err) => err));
      assert.ok(e instanceof ErrnoError && e.code === "ECONNREFUSED", `${e}`);
      assert.match(e.message, new RegExp(`process ${child.pid}, the expected receiver, exited`));
      assert.ok(thrown(() => tx.sendSync(big)) instanceof ErrnoError);
    }
    // Nobody at all: receiverTimeout ends the wait, async and sync, and the try form too.
    {
      using ch = RingChannel.temporary({ capacity: 4096 });
      using tx = ch.sender({ receiverTimeout: 50 });
      const big = new Uint8Array(1000);
      while (tx.trySend(big) !== WOULD_BLOCK) { /* fill it */ }
      await assert.rejects(within(30_000, "the send", tx.send(big)), { name: "TimeoutError" });
      assert.ok(thrown(() => tx.sendSync(big)) instanceof DOMException);
      assert.ok(thrown(() => tx.trySend(big)) instanceof DOMException);
    }
    // A receiver that did attach: the bound no longer applies (a full ring just waits).
    {
      using ch = RingChannel.temporary({ capacity: 4096 });
      using tx = ch.sender({ receiverTimeout: 1 });
      using rx = ch.receiver();
      const big = new Uint8Array(1000);
      while (tx.trySend(big) !== WOULD_BLOCK) { /* fill it */ }
      await new Promise((r) => setTimeout(r, 5));
      assert.equal(tx.trySend(big), WOULD_BLOCK);
      assert.ok(rx.tryReceive() !== WOULD_BLOCK);
    }
    using ch = RingChannel.temporary({ capacity: 4096 });
    // deno-lint-ignore no-explicit-any
    const C = ch as any;
    assert.ok(thrown(() => C.sender({ receiverProcess: 5 })) instanceof TypeError);
    assert.ok(thrown(() => C.sender({ receiverTimeout: -1 })) instanceof RangeError);
    assert.ok(thrown(() => C.receiver({ receiverTimeout: 1 })) instanceof TypeError);
  },
);

ipcTest(
  "named channels: the name is typed and there; unlink by handle; blocking waits refuse a signal",
  () => {
    using ch = RingChannel.temporary({ capacity: 4096 });
    const name: string = ch.name; // NamedRingChannel: a string, not string | undefined
    using opened = RingChannel.open(name);
    assert.equal(opened.created, false);
    opened.unlink();
    assert.ok(thrown(() => RingChannel.open(name)) instanceof ErrnoError);
    using shm = SharedMemory.temporary({ size: RingChannel.size({ capacity: 4096 }) });
    using placed = RingChannel.init(shm, 0, { capacity: 4096 });
    assert.equal(placed.name, undefined);
    assert.ok(thrown(() => placed.unlink()) instanceof TypeError, "nothing to unlink");
    using rx = ch.receiver();
    // deno-lint-ignore no-explicit-any
    const R = rx as any;
    const e = thrown(() => R.receiveSync({ signal: new AbortController().signal }));
    assert.ok(e instanceof TypeError && /takes no signal/.test(e.message), `${e}`);
  },
);

ipcTest("batches: 500,000 messages sent and received in batches across processes", async () => {
  using ch = RingChannel.temporary({ capacity: 16384 });
  using rx = ch.receiver();
  const seed = 0xba7c;
  const count = 500_000;
  const p = child("produce", ch.name ?? "", "4", String(count), String(seed), "batch");
  const tally = new Tally(seed, ch.maxMessageSize);
  const into = new Uint8Array(4 * ch.maxMessageSize);
  const lengths = new Uint32Array(256);
  let calls = 0;
  for (;;) {
    const k = await rx.receiveBatch(into, lengths, { timeout: 60_000 });
    if (k === END_OF_STREAM) break;
    calls++;
    tally.addBatch(into, lengths, k);
  }
  const [line] = await output(p);
  assert.equal(tally.total, count);
  assert.equal(line, `4 ${count} ${tally.sums.get(4)}`, "the producer's checksum matches");
  assert.ok(calls < count, "messages came several to a call");
});

ipcTest("batches from three producers at once, taken in batches by another process", async () => {
  using ch = RingChannel.temporary({ capacity: 32768, multiProducer: true });
  const seed = 4242;
  const count = 200_000;
  // No wait for "ready": what is sent waits in the ring for the consumer to attach.
  const consumer = child("consume", ch.name ?? "", String(seed), "batch");
  using hold = ch.sender(); // keeps the stream open until every producer has attached
  const kids = ["batch", "batch", "copy"].map((how, id) =>
    child("produce", ch.name ?? "", String(id + 1), String(count), String(seed), how)
  );
  const lines = await Promise.all(kids.map(output));
  hold.close();
  const got = new TextDecoder().decode((await consumer.output()).stdout).trim().split("\n");
  assert.equal(got[0], "ready");
  assert.equal(got[1], String(3 * count));
  for (const [line] of lines) {
    const [id, n, sum] = (line ?? "").split(" ").map(Number);
    assert.equal(n, count);
    assert.ok(got.includes(`${id} ${count} ${sum}`), `producer ${id}: all, in order, checksum`);
  }
});

ipcTest("batch edges: partial fits, a bad message mid-batch, room for the first only", () => {
  using ch = RingChannel.temporary({ capacity: 256 });
  using rx = ch.receiver();
  using tx = ch.sender();
  const m = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);
  assert.equal(tx.trySendBatch([]), 0);
  assert.equal(tx.trySendBatch([m(1, 1)], 1), 0, "start at the end: nothing to send");
  // 256 bytes hold 16 records of an 8-byte message: 20 are offered.
  const twenty = Array.from({ length: 20 }, (_, i) => m(8, i));
  assert.equal(tx.trySendBatch(twenty), 16);
  assert.equal(tx.trySendBatch(twenty, 16), WOULD_BLOCK, "full: nothing sent");
  const into = new Uint8Array(40);
  const lengths = new Uint32Array(8);
  assert.equal(rx.tryReceiveBatch(into, lengths), 5, "into holds five 8-byte messages");
  assert.deepEqual([...into.subarray(0, 40)], [0, 1, 2, 3, 4].flatMap((v) => Array(8).fill(v)));
  assert.equal(rx.tryReceiveBatch(new Uint8Array(1024), lengths), 8, "lengths holds eight");
  assert.deepEqual([...lengths], Array(8).fill(8));
  assert.equal(rx.tryReceiveBatch(new Uint8Array(1024), lengths), 3);
  assert.equal(rx.tryReceiveBatch(new Uint8Array(1024), lengths), WOULD_BLOCK);
  // A message that is not valid ends the batch before it; the next call (from it) throws.
  const bad = [m(4, 1), m(4, 2), "three" as unknown as Uint8Array, m(4, 4)];
  assert.equal(tx.trySendBatch(bad), 2);
  assert.ok(thrown(() => tx.trySendBatch(bad, 2)) instanceof TypeError);
  assert.equal(tx.trySendBatch(bad, 3), 1);
  const tooLong = [m(4, 5), m(200, 6)];
  assert.equal(tx.trySendBatch(tooLong), 1, "stops before the one too long");
  const e = thrown(() => tx.trySendBatch(tooLong, 1));
  assert.ok(e instanceof ErrnoError && e.code === "EMSGSIZE", String(e));
  // A first message longer than `into`: EMSGSIZE, and it stays for a bigger buffer.
  assert.equal(rx.tryReceiveBatch(new Uint8Array(64), new Uint32Array(2)), 2);
  assert.equal(rx.tryReceiveBatch(new Uint8Array(64), new Uint32Array(8)), 2);
  tx.trySend(m(100, 9));
  const small = thrown(() => rx.tryReceiveBatch(new Uint8Array(10), lengths));
  assert.ok(small instanceof ErrnoError && small.code === "EMSGSIZE");
  assert.equal(rx.tryReceiveBatch(new Uint8Array(100), lengths), 1);
  assert.equal(lengths[0], 100);
});

ipcTest(
  "a batch never loses what it took: ECONNRESET and EPROTO come on the next call",
  async () => {
    {
      using ch = RingChannel.temporary({ capacity: 65536 });
      using rx = ch.receiver();
      const p = child("produce", ch.name ?? "", "6", "0", "9"); // sends until killed
      assert.equal(await firstLine(p), "ready");
      await new Promise((r) => setTimeout(r, 50));
      p.kill("SIGKILL");
      await within(30_000, "the killed producer", p.status);
      const tally = new Tally(9, ch.maxMessageSize);
      const into = new Uint8Array(4 * ch.maxMessageSize);
      const lengths = new Uint32Array(64);
      let reset = 0;
      for (let rounds = 0; rounds < 1_000_000; rounds++) {
        let k: number | typeof END_OF_STREAM;
        try {
          // The try form never waits, so it never looks for dead senders: the async one does.
          k = await rx.receiveBatch(into, lengths, { timeout: 30_000 });
        } catch (e) {
          assert.ok(e instanceof ErrnoError && e.code === "ECONNRESET", String(e));
          reset++;
          continue;
        }
        if (k === END_OF_STREAM) break;
        tally.addBatch(into, lengths, k);
      }
      assert.equal(reset, 1, "ECONNRESET once, after every whole message");
      assert.ok(tally.total > 0);
    }
    {
      using ch = RingChannel.temporary({ capacity: 4096 });
      using rx = ch.receiver();
      using tx = ch.sender();
      tx.trySendBatch([new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3])]);
      // A peer turns the third record's word into garbage (busy and skip at once).
      using shm = SharedMemory.open(ch.name ?? "");
      const w = shm.int32(RING_HEADER_SIZE + 32, 1);
      w[0] = 0xc0000001 | 0;
      const lengths = new Uint32Array(8);
      assert.equal(rx.tryReceiveBatch(new Uint8Array(64), lengths), 2, "the good ones first");
      const e = thrown(() => rx.tryReceiveBatch(new Uint8Array(64), lengths));
      assert.ok(e instanceof ErrnoError && e.code === "EPROTO", String(e));
      assert.equal(rx.tryReceiveBatch(new Uint8Array(64), lengths), END_OF_STREAM);
    }
  },
);

Deno.test("bad input on batches throws before touching the ring", async (t) => {
  using ch = RingChannel.temporary({ capacity: 4096 });
  using rx = ch.receiver();
  using tx = ch.sender();
  // deno-lint-ignore no-explicit-any
  const T = tx as any;
  // deno-lint-ignore no-explicit-any
  const R = rx as any;
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["send a string", () => T.trySendBatch("abc"), TypeError],
    ["send null", () => T.trySendBatch(null), TypeError],
    ["send numbers", () => T.trySendBatch([1, 2]), TypeError],
    ["send start negative", () => T.trySendBatch([new Uint8Array(1)], -1), RangeError],
    ["send start fractional", () => T.trySendBatch([new Uint8Array(1)], 0.5), RangeError],
    ["send start past the end", () => T.trySendBatch([new Uint8Array(1)], 2), RangeError],
    ["send start a string", () => T.trySendBatch([new Uint8Array(1)], "0"), TypeError],
    ["receive into a string", () => R.tryReceiveBatch("x", new Uint32Array(1)), TypeError],
    [
      "receive lengths bytes",
      () => R.tryReceiveBatch(new Uint8Array(8), new Uint8Array(4)),
      TypeError,
    ],
    [
      "receive lengths empty",
      () => R.tryReceiveBatch(new Uint8Array(8), new Uint32Array(0)),
      TypeError,
    ],
    [
      "sync timeout negative",
      () => T.sendBatchSync([new Uint8Array(1)], { timeout: -1 }),
      RangeError,
    ],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => {
      const e = thrown(fn);
      assert.ok(e instanceof type, `${label}: got ${e}`);
    });
  }
  await t.step(
    "async send with a bad signal",
    () => assert.rejects(T.sendBatch([new Uint8Array(1)], { signal: "stop" }), TypeError),
  );
  assert.equal(rx.tryReceive(), WOULD_BLOCK, "nothing was sent by any of them");
});

ipcTest("no garbage in steady state: the copying forms allocate nothing per message", async () => {
  const probe = async (form: string): Promise<number> => {
    const out = await runOk(Deno.execPath(), [
      "run",
      "--quiet",
      "--allow-ffi",
      "--v8-flags=--max-semi-space-size=1024,--min-semi-space-size=1024",
      `${ROOT}tests/fixtures/alloc_probe.ts`,
      form,
    ]);
    return Number(out.trim());
  };
  // The probe sees allocation where there is some: a copy of each 64-byte message.
  assert.ok((await probe("ring-copying")) > 32, "tryReceive's copies are counted");
  // A bound of 8 bytes a message, against the copying form's 200: what remains in some runs is
  // the engine's own (code and feedback for re-optimised functions), not an object per message.
  for (
    const form of [
      "ring-try",
      "ring-sync",
      "ring-batch",
      "pipe-try",
      "mq-try-receipt",
      "sysv-try-receipt",
    ]
  ) {
    const bytes = await probe(form);
    assert.ok(bytes <= 8, `${form}: ${bytes} bytes allocated per message`);
  }
});

ipcTest(
  "fast paths: a reused send buffer, unaligned and shrinking receive buffers, every length",
  () => {
    using ch = RingChannel.temporary({ capacity: 4096 });
    using rx = ch.receiver();
    using tx = ch.sender();
    // One array sent again and again (the sender keeps a view of it), rewritten between sends.
    const msg = new Uint8Array(300);
    const into = new Uint8Array(300);
    for (let round = 0; round < 2000; round++) {
      for (let j = 0; j < msg.length; j++) msg[j] = (round * 31 + j) & 255;
      assert.equal(tx.trySend(msg), undefined);
      assert.equal(rx.tryReceiveInto(into), msg.length);
      assert.deepEqual(into, msg, `round ${round}`);
    }
    // Every length from 1 to 300 (wrapping many times), into buffers 0 to 3 bytes off alignment.
    const backing = new Uint8Array(304);
    for (let n = 1; n <= 300; n++) {
      const m = new Uint8Array(n).map((_, j) => (n + j * 7) & 255);
      assert.equal(tx.trySend(m), undefined);
      const off = n & 3;
      const dst = backing.subarray(off, off + 300);
      assert.equal(rx.tryReceiveInto(dst), n);
      assert.deepEqual(dst.subarray(0, n), m, `length ${n}, offset ${off}`);
    }
    // A receive buffer over a resizable buffer that shrinks after the receiver kept a view of it,
    // and a send buffer whose buffer shrinks after the sender kept one: both copies stay right.
    const rab = new ArrayBuffer(256, { maxByteLength: 256 });
    const grow = new Uint8Array(rab); // length-tracking
    const small = new Uint8Array(64).fill(9);
    tx.trySend(small);
    assert.equal(rx.tryReceiveInto(grow), 64);
    rab.resize(100);
    tx.trySend(small);
    assert.equal(rx.tryReceiveInto(grow), 64);
    assert.deepEqual(grow.subarray(0, 64), small);
    const sab = new ArrayBuffer(128, { maxByteLength: 128 });
    const out = new Uint8Array(sab);
    out.fill(5);
    tx.trySend(out);
    tx.trySend(out); // twice: the sender now keeps a view
    const back = new Uint8Array(128);
    assert.equal(rx.tryReceiveInto(back), 128);
    assert.equal(rx.tryReceiveInto(back), 128);
    sab.resize(40);
    out.fill(6);
    assert.equal(tx.trySend(out), undefined);
    assert.equal(rx.tryReceiveInto(back), 40);
    assert.deepEqual(back.subarray(0, 40), new Uint8Array(40).fill(6));
    // A detached receive buffer is refused before anything is taken.
    tx.trySend(small);
    const gone = new Uint8Array(64);
    structuredClone(gone.buffer, { transfer: [gone.buffer] });
    assert.throws(() => rx.tryReceiveInto(gone), TypeError);
    assert.equal(rx.tryReceiveInto(into), 64, "the message stayed");
  },
);

ipcTest("ordering: a sleeping receiver asks for ordered publication, and lets go", async () => {
  using ch = RingChannel.temporary({ capacity: 4096 });
  using shm = SharedMemory.open(ch.name ?? "");
  const word = (byte: number): number => new DataView(shm.bytes.buffer).getUint32(byte, true);
  const DATA_ORDERED = 196;
  const SPACE_ORDERED = 264;
  using rx = ch.receiver({ spins: 0 });
  using tx = ch.sender({ spins: 0 });
  assert.equal(word(DATA_ORDERED), 0);
  const into = new Uint8Array(64);
  // With no spins the wait raises its flag, and asks, before the call returns its promise.
  const waiting = rx.receiveInto(into, { timeout: 10_000 });
  // On x86-64 (plain publication) the sleeping receiver has asked; elsewhere nobody needs to.
  const plain = Deno.build.arch === "x86_64";
  assert.equal(word(DATA_ORDERED), plain ? 1 : 0);
  tx.trySend(new Uint8Array(8).fill(1));
  assert.equal(await waiting, 8);
  // Thousands of messages taken without a sleep: the receiver lets the sender go back.
  for (let i = 0; i < 5000; i++) {
    tx.trySend(into.subarray(0, 8));
    assert.equal(rx.tryReceiveInto(into), 8);
  }
  assert.equal(word(DATA_ORDERED), 0);
  // A sender that sleeps for room asks the receiver the same way; a new sender takes it over.
  while (tx.trySend(into) !== WOULD_BLOCK) { /* fill */ }
  const sending = tx.send(into, { timeout: 10_000 });
  assert.equal(word(SPACE_ORDERED), plain ? 1 : 0);
  while (rx.tryReceiveInto(into) !== WOULD_BLOCK) { /* drain */ }
  await sending;
  tx.close();
  using tx2 = ch.sender();
  assert.equal(word(SPACE_ORDERED), 0, "a new sender takes its word over");
  assert.equal(tx2.trySend(into), undefined);
});

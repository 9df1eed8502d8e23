// Waiting on many handles: poll over 100 handles of mixed kinds, a Poller serving clients in a
// loop, hang-ups and closed handles, an eventfd across processes (and as a semaphore), waits
// that time out or are aborted, and bad input; no descriptor leaks.
import assert from "node:assert/strict";
import {
  EventFd,
  MessageQueue,
  mkfifo,
  openFifoReader,
  Pipe,
  poll,
  Poller,
  spawnDeno,
  UnixSocket,
  WOULD_BLOCK,
} from "../mod.ts";
import {
  fdCheckedTest,
  openFds,
  ROOT,
  testRandom,
  thrown,
  warmWaitCore,
  within,
} from "./_helpers.ts";

fdCheckedTest(
  "poll over 100 handles of five kinds: exactly the ready ones are reported",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "dipc-test-poll-" });
    await warmWaitCore(); // opened once per process: not a leak
    const before = openFds();
    const closers: Array<() => void> = [];
    try {
      const handles: Array<{ name: string; handle: { unsafeFd: number }; fire: () => void }> = [];
      for (let i = 0; i < 20; i++) {
        const p = Pipe.create();
        closers.push(() => p.close());
        handles.push({
          name: `pipe ${i}`,
          handle: p.reader,
          fire: () => void p.writer.tryWrite(new Uint8Array([1])),
        });
        const [a, b] = UnixSocket.pair({ type: i % 2 ? "seqpacket" : "stream" });
        closers.push(() => (a.close(), b.close()));
        handles.push({
          name: `socket ${i}`,
          handle: b,
          fire: () => void a.trySend(new Uint8Array([2])),
        });
        const ev = EventFd.create();
        closers.push(() => ev.close());
        handles.push({ name: `eventfd ${i}`, handle: ev, fire: () => ev.write(1n) });
        const q = MessageQueue.temporary({ maxMessages: 1, messageSize: 8 });
        closers.push(() => q.close());
        handles.push({
          name: `queue ${i}`,
          handle: q,
          fire: () => void q.trySend(new Uint8Array([3])),
        });
        const path = `${dir}/f${i}`;
        mkfifo(path);
        const r = openFifoReader(path);
        const w = Deno.openSync(path, { write: true });
        closers.push(() => (r.close(), w.close()));
        handles.push({
          name: `fifo ${i}`,
          handle: r,
          fire: () => void w.writeSync(new Uint8Array([4])),
        });
      }
      assert.equal(handles.length, 100);
      assert.deepEqual(await poll(handles.map((h) => ({ handle: h.handle })), { timeout: 0 }), []);
      // Fire a random tenth of them; a wait sees exactly those.
      const fired = new Set<string>();
      while (fired.size < 10) {
        const h = handles[Math.floor(testRandom() * handles.length)];
        if (h && !fired.has(h.name)) {
          fired.add(h.name);
          setTimeout(h.fire, 5);
        }
      }
      const seen = new Set<string>();
      while (seen.size < fired.size) {
        const ready = await within(
          20_000,
          "poll",
          poll(handles.map((h) => ({ handle: h.handle })), { timeout: 20_000 }),
        );
        for (const r of ready) {
          const h = handles.find((x) => x.handle === r.handle);
          assert.ok(h && fired.has(h.name), `${h?.name} was not fired`);
          assert.ok(r.readable && !r.error);
          seen.add(h.name);
        }
        if (seen.size < fired.size) await new Promise((r) => setTimeout(r, 1));
      }
      // Writable: every pipe end that has room is writable.
      const p = Pipe.create();
      closers.push(() => p.close());
      const w = await poll([{ handle: p.writer, write: true, read: false }], { timeout: 1000 });
      assert.deepEqual(w.map((x) => [x.writable, x.readable]), [[true, false]]);
    } finally {
      for (const c of closers) c();
      await Deno.remove(dir, { recursive: true });
    }
    assert.equal(openFds(), before, "no descriptor leaked");
  },
);

fdCheckedTest(
  "a Poller serves many clients in one loop; hang-ups and closed handles are reported",
  async () => {
    using poller = new Poller<UnixSocket>();
    const pairs = Array.from({ length: 8 }, () => UnixSocket.pair());
    for (const [, server] of pairs) poller.add(server);
    assert.equal(poller.size as number, 8, "eight watched");
    assert.equal(poller.tryWait(), WOULD_BLOCK);
    for (const [i, [client]] of pairs.entries()) {
      client.trySend(
        new TextEncoder().encode(`client ${i}`),
      );
    }
    const served: string[] = [];
    const into = new Uint8Array(64);
    const ac = new AbortController();
    for await (const ready of poller.events({ signal: ac.signal })) {
      for (const { handle } of ready) {
        const r = handle.tryReceive(into);
        if (typeof r === "object") {
          served.push(
            new TextDecoder().decode(into.subarray(0, r.length)),
          );
        }
        poller.delete(handle);
      }
      if (poller.size === 0) ac.abort();
    }
    assert.deepEqual(served.sort(), pairs.map((_, i) => `client ${i}`).sort());
    // A peer that closes: the server end reads as hung up; a closed handle is in error.
    const [a, b] = pairs[0] ?? [];
    if (!a || !b) throw new Error("no pair");
    poller.add(b);
    a.close();
    const hung = await poller.wait({ timeout: 20_000 });
    assert.ok(hung[0]?.hangup || hung[0]?.readable, "the peer's close is seen");
    b.close();
    const closed = poller.tryWait();
    assert.ok(closed !== WOULD_BLOCK && closed[0]?.error, "a closed handle is reported in error");
    for (const [c, s] of pairs) (c.close(), s.close());
    await assert.rejects(new Poller().wait({ timeout: 10 }), { name: "TimeoutError" });
    const ac2 = new AbortController();
    const e = EventFd.create();
    const waiting = poll([{ handle: e }], { signal: ac2.signal });
    ac2.abort(new Error("stop"));
    await assert.rejects(waiting, /stop/);
    e.close();
    poller.close();
    poller.close();
    assert.ok(thrown(() => poller.add(b)) instanceof Error, "closed");
  },
);

fdCheckedTest("an eventfd across processes, and as a semaphore", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dipc-test-efd-" });
  try {
    const script = `${dir}/child.ts`;
    await Deno.writeTextFile(
      script,
      `import { EventFd } from "${ROOT}mod.ts";
      using ev = EventFd.fromFd(3);
      for (let i = 0; i < 5; i++) ev.write(2n);`,
    );
    using ev = EventFd.create();
    await using child = spawnDeno(script, {
      permissions: { ffi: true, read: [dir, ROOT] },
      fds: { 3: ev },
    });
    let total = 0n;
    while (total < 10n) total += await ev.read({ timeout: 20_000 });
    assert.equal(total, 10n, "every add reached this process");
    assert.equal((await within(30_000, "the child", child.status)).code, 0);
    assert.equal(ev.tryRead(), WOULD_BLOCK);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  using sem = EventFd.create({ initial: 3, semaphore: true });
  assert.deepEqual([sem.tryRead(), sem.tryRead(), sem.tryRead(), sem.tryRead()], [
    1n,
    1n,
    1n,
    WOULD_BLOCK,
  ]);
  await assert.rejects(sem.read({ timeout: 10 }), { name: "TimeoutError" });
  sem.write(2);
  assert.equal(await sem.read({ timeout: 1000 }), 1n);
  const e = EventFd.fromFd(sem.unsafeFd, { semaphore: true });
  assert.equal(e.tryRead(), 1n, "the same counter through an adopted descriptor");
  // (e shares sem's descriptor: closing sem closes it)
  using pipe = Pipe.create();
  assert.ok(
    thrown(() => EventFd.fromFd(pipe.reader.unsafeFd)) instanceof TypeError,
    "not an eventfd",
  );
});

Deno.test("bad input on poll and eventfds: every case throws before any system call", async (t) => {
  // deno-lint-ignore no-explicit-any
  const P = poll as any;
  // deno-lint-ignore no-explicit-any
  const E = EventFd as any;
  const poller = new Poller();
  // deno-lint-ignore no-explicit-any
  const Q = poller as any;
  const ev = EventFd.create();
  // deno-lint-ignore no-explicit-any
  const V = ev as any;
  const cases: Array<[string, () => unknown, new (...x: never[]) => Error]> = [
    ["add a string", () => Q.add("3"), TypeError],
    ["add a negative descriptor", () => Q.add(-1), RangeError],
    ["add an object without a descriptor", () => Q.add({}), TypeError],
    ["add neither read nor write", () => Q.add(0, { read: false }), TypeError],
    ["add read a string", () => Q.add(0, { read: "yes" }), TypeError],
    ["add an unknown option", () => Q.add(0, { hangup: true }), TypeError],
    ["eventfd initial negative", () => E.create({ initial: -1 }), RangeError],
    ["eventfd initial too big", () => E.create({ initial: 2 ** 33 }), RangeError],
    ["eventfd semaphore a string", () => E.create({ semaphore: "y" }), TypeError],
    ["eventfd unknown option", () => E.create({ value: 1 }), TypeError],
    ["eventfd fromFd negative", () => E.fromFd(-1), RangeError],
    ["eventfd write 0", () => V.write(0), RangeError],
    ["eventfd write a string", () => V.write("1"), RangeError],
    ["eventfd write too much", () => V.write(2n ** 64n), RangeError],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => {
      const e = thrown(fn);
      assert.ok(e instanceof type, `${label}: got ${e}`);
    });
  }
  for (
    const [label, fn] of [
      ["poll not an array", () => P({})],
      ["poll an entry a number", () => P([5])],
      ["poll a bad handle", () => P([{ handle: "x" }])],
      ["poll a bad timeout", () => P([], { timeout: -1 })],
      ["eventfd read a bad signal", () => V.read({ signal: 1 })],
    ] as Array<[string, () => Promise<unknown>]>
  ) {
    await t.step(
      label,
      () => assert.rejects(fn(), (e) => e instanceof TypeError || e instanceof RangeError),
    );
  }
  ev.close();
  poller.close();
});

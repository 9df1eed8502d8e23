// The Channel interface over every local transport: the same messages in the same order, the
// same end of stream, the same timeout and cancel rules; codecs; hostile bytes on the framed
// transports; a sending process killed mid-stream; C and Python programs on the same objects.
import assert from "node:assert/strict";
import {
  bytesCodec,
  Channel,
  ClosedError,
  END_OF_STREAM,
  ErrnoError,
  jsonCodec,
  MessageQueue,
  mkfifo,
  openFifoReader,
  Pipe,
  RingChannel,
  spawn,
  SysVMessageQueue,
  textCodec,
  UnixSocket,
  WOULD_BLOCK,
} from "../mod.ts";
import {
  compileTestC,
  HAVE_GCC,
  HAVE_PYTHON,
  ipcTest,
  PYTHON,
  ROOT,
  skipIf,
  thrown,
  within,
} from "./_helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const PEER = `${ROOT}tests/fixtures/channel_peer.ts`;

/** A sending end and a receiving end (the same channel where the transport goes both ways). */
interface Pair {
  tx: Channel;
  rx: Channel;
  empty: boolean; // whether empty messages can be sent
  sync: boolean; // whether …Sync forms exist both ways
  close(): void;
}

const PAIRS: Record<string, () => Pair> = {
  ring: () => {
    const ring = RingChannel.temporary({ capacity: 1 << 16 });
    const tx = Channel.ring(ring, "send");
    const rx = Channel.ring(RingChannel.open(ring.name), "receive");
    return { tx, rx, empty: true, sync: true, close: () => (tx.close(), rx.close()) };
  },
  "posix queue": () => {
    const ch = Channel.posixQueue(MessageQueue.temporary({ maxMessages: 3, messageSize: 4096 }));
    return { tx: ch, rx: ch, empty: false, sync: true, close: () => ch.close() };
  },
  "sysv queue": () => {
    const ch = Channel.sysvQueue(SysVMessageQueue.temporary(), { type: 7, maxMessage: 4096 });
    return { tx: ch, rx: ch, empty: false, sync: true, close: () => ch.close() };
  },
  "seqpacket socket": () => {
    const [a, b] = UnixSocket.pair({ type: "seqpacket" });
    const tx = Channel.socket(a, { maxMessage: 4096 });
    const rx = Channel.socket(b, { maxMessage: 4096 });
    return { tx, rx, empty: false, sync: false, close: () => (tx.close(), rx.close()) };
  },
  "stream socket": () => {
    const [a, b] = UnixSocket.pair();
    const tx = Channel.socket(a, { maxMessage: 4096 });
    const rx = Channel.socket(b, { maxMessage: 4096 });
    return { tx, rx, empty: true, sync: false, close: () => (tx.close(), rx.close()) };
  },
  pipe: () => {
    const p = Pipe.create();
    const tx = Channel.pipe({ writer: p.writer }, { maxMessage: 4096 });
    const rx = Channel.pipe({ reader: p.reader }, { maxMessage: 4096 });
    return { tx, rx, empty: true, sync: false, close: () => (tx.close(), rx.close()) };
  },
};

for (const [name, make] of Object.entries(PAIRS)) {
  ipcTest(`${name}: in order, WOULD_BLOCK when empty, END_OF_STREAM after end()`, async () => {
    const { tx, rx, empty, sync, close } = make();
    try {
      assert.equal(rx.tryReceive(), WOULD_BLOCK);
      const sizes = [1, 2, 100, 4096, 7, 3000, 1];
      if (empty) sizes.push(0);
      for (let round = 0; round < 3; round++) {
        for (const [i, n] of sizes.entries()) {
          const m = new Uint8Array(n).fill((round * 31 + i) & 255);
          if (i % 2 === 0) await tx.send(m, { timeout: 10_000 });
          else assert.equal(tx.trySend(m), undefined);
          const got = i % 3 === 0 && sync
            ? rx.receiveSync({ timeout: 10_000 })
            : await rx.receive({ timeout: 10_000 });
          assert.ok(got !== END_OF_STREAM);
          assert.deepEqual(got, m, `${name}: message ${i} of round ${round}`);
        }
      }
      assert.deepEqual(rx.sync, { send: false || (tx === rx && sync), receive: sync });
      // A message sent and not yet received, then the end: the message first.
      await tx.send(enc.encode("last"));
      await tx.end();
      await tx.end(); // a second end does nothing
      assert.ok(thrown(() => tx.trySend(new Uint8Array(1))) instanceof TypeError);
      assert.equal(dec.decode(await rx.receive({ timeout: 10_000 }) as Uint8Array), "last");
      assert.equal(await rx.receive({ timeout: 10_000 }), END_OF_STREAM);
      assert.equal(rx.tryReceive(), END_OF_STREAM, "the end is sticky");
    } finally {
      close();
    }
    // Closed: idempotent, and every use after it is a ClosedError.
    tx.close();
    assert.ok(thrown(() => rx.tryReceive()) instanceof ClosedError);
    await assert.rejects(tx.send(new Uint8Array(1)), ClosedError);
  });

  ipcTest(`${name}: a timed-out or aborted receive takes nothing`, async () => {
    const { tx, rx, close } = make();
    try {
      const e = await rx.receive({ timeout: 20 }).catch((x: unknown) => x);
      assert.ok(e instanceof DOMException && e.name === "TimeoutError", `${e}`);
      const ac = new AbortController();
      const pending = rx.receive({ signal: ac.signal });
      ac.abort(new Error("stop"));
      await assert.rejects(pending, /stop/);
      await tx.send(enc.encode("kept"));
      assert.equal(dec.decode(await rx.receive({ timeout: 10_000 }) as Uint8Array), "kept");
      // Closing ends a pending receive: a ClosedError, not a wait for ever.
      const waiting = rx.receive({ timeout: 30_000 }).catch((x: unknown) => x);
      rx.close();
      const ended = await waiting;
      assert.ok(ended instanceof ClosedError, `${name}: ${String(ended)}`);
    } finally {
      close();
    }
  });

  ipcTest(`${name}: async iteration and Web Streams end at the end of the stream`, async () => {
    const { tx, rx, close } = make();
    try {
      const writer = tx.writable.getWriter();
      const sending = (async () => {
        for (let i = 1; i <= 20; i++) await writer.write(enc.encode(`m${i}`));
        await writer.close(); // end()
      })();
      const got: string[] = [];
      if (name === "ring" || name === "pipe") {
        for await (const m of rx) got.push(dec.decode(m));
      } else {
        for await (const m of rx.readable) got.push(dec.decode(m));
      }
      await sending;
      assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => `m${i + 1}`));
    } finally {
      close();
    }
  });
}

ipcTest("codecs: text and JSON round trip; bad values and bytes throw", async () => {
  using q = MessageQueue.temporary({ maxMessages: 10, messageSize: 1024 });
  const raw = Channel.posixQueue(MessageQueue.open(q.name));
  const text = Channel.posixQueue(MessageQueue.open(q.name), { codec: textCodec });
  const json = Channel.posixQueue(MessageQueue.open(q.name), { codec: jsonCodec });
  try {
    await text.send("héllo, 世界");
    assert.equal(await text.receive(), "héllo, 世界");
    const value = { a: [1, 2, { b: null }], s: "x", n: 1.5, t: true };
    await json.send(value);
    assert.deepEqual(await json.receive(), value);
    assert.equal(json.codec, "json");
    // Values a codec cannot carry are refused before anything is sent.
    assert.ok(thrown(() => text.trySend(42 as unknown as string)) instanceof TypeError);
    assert.ok(thrown(() => json.trySend(undefined)) instanceof TypeError);
    assert.ok(thrown(() => json.trySend(() => 1)) instanceof TypeError);
    assert.ok(thrown(() => json.trySend(1n)) instanceof TypeError, "JSON has no bigint");
    assert.ok(thrown(() => text.trySend("")) instanceof RangeError, "empty is the end mark");
    assert.ok(thrown(() => raw.trySend(new Uint8Array(1025))) instanceof RangeError);
    assert.equal(q.stat().currentMessages, 0);
    // Bytes from a peer that are not a valid encoding: an error, the message taken, the channel
    // still good.
    const garbage = [
      new Uint8Array([0xff, 0xfe, 0x80]),
      new Uint8Array([0xff, 0x0f, 0x6f, 0xff, 0xff, 0xff, 0xff, 0x0f]),
    ];
    for (const ch of [text, json]) {
      for (const g of garbage) {
        raw.trySend(g);
        // Not UTF-8 is a TypeError (text, JSON), not JSON a SyntaxError.
        await assert.rejects(ch.receive({ timeout: 1000 }), Error);
      }
    }
    raw.trySend(enc.encode("{not json"));
    await assert.rejects(json.receive({ timeout: 1000 }), SyntaxError);
    raw.trySend(enc.encode('"fine"'));
    assert.equal(await json.receive({ timeout: 1000 }), "fine");
    // Deep nesting from a peer is an error, not a crash.
    raw.trySend(enc.encode("[".repeat(500) + "]".repeat(500)));
    assert.ok(Array.isArray(await json.receive({ timeout: 1000 })));
  } finally {
    for (const c of [raw, text, json]) c.close();
  }
});

ipcTest("bad arguments throw TypeError or RangeError before any call", async () => {
  using ring = RingChannel.temporary({ capacity: 4096 });
  const bad: Array<() => unknown> = [
    () => Channel.ring({} as RingChannel, "send"),
    () => Channel.ring(ring, "both" as "send"),
    () => Channel.ring(ring, "send", { codec: {} as never }),
    () => Channel.ring(ring, "send", { colour: 1 } as never),
    () => Channel.posixQueue("q" as unknown as MessageQueue),
    () => Channel.sysvQueue({} as SysVMessageQueue),
    () => Channel.sysvQueue(null as unknown as SysVMessageQueue, { type: 0 }),
    () => Channel.socket(7 as unknown as UnixSocket),
    () => Channel.socket(null as unknown as UnixSocket, { maxMessage: 0 }),
    () => Channel.pipe({}),
    () => Channel.pipe(null as never),
    () => Channel.pipe({ reader: {} as never }),
    () => Channel.from({} as never),
    () => Channel.from(null as never),
  ];
  for (const f of bad) {
    const e = thrown(f);
    assert.ok(e instanceof TypeError || e instanceof RangeError, `${f}: ${e}`);
  }
  const [a, b] = UnixSocket.pair({ type: "datagram" });
  assert.ok(thrown(() => Channel.socket(a)) instanceof TypeError);
  a.close();
  b.close();
  // Roles and missing forms.
  using tx = Channel.ring(RingChannel.open(ring.name), "send");
  assert.ok(thrown(() => tx.tryReceive()) instanceof TypeError);
  assert.ok(thrown(() => tx.readable) instanceof TypeError);
  assert.ok(
    thrown(() =>
      tx.sendSync(new Uint8Array(1), { signal: AbortSignal.abort() } as never)
    ) instanceof TypeError,
  );
  await assert.rejects(tx.send(new Uint8Array(1), { timeout: -1 }), RangeError);
  await assert.rejects(tx.send("x" as never), TypeError);
  const [s1, s2] = UnixSocket.pair({ type: "seqpacket" });
  using sc = Channel.socket(s1);
  assert.ok(thrown(() => sc.receiveSync()) instanceof TypeError, "sockets have no blocking form");
  assert.ok(thrown(() => sc.sendSync(new Uint8Array(1))) instanceof TypeError);
  s2.close();
});

ipcTest(
  "a frame claiming more than maxMessage poisons the channel; nothing is allocated for it",
  async () => {
    for (const claim of [0xffffffff, 4097]) {
      const p = Pipe.create();
      using rx = Channel.pipe({ reader: p.reader }, { maxMessage: 4096 });
      const header = new Uint8Array(4);
      new DataView(header.buffer).setUint32(0, claim, true);
      await p.writer.write(header);
      const e = await rx.receive({ timeout: 1000 }).catch((x: unknown) => x);
      assert.ok(e instanceof ErrnoError && e.code === "EPROTO" && /claims/.test(e.message), `${e}`);
      assert.ok(thrown(() => rx.tryReceive()) instanceof ErrnoError, "every later receive too");
      p.writer.close();
    }
  },
);

ipcTest(
  "half a frame then a timeout loses nothing; a stream cut mid-frame is an error",
  async () => {
    const p = Pipe.create();
    using rx = Channel.pipe({ reader: p.reader });
    const frame = new Uint8Array(4 + 5);
    new DataView(frame.buffer).setUint32(0, 5, true);
    frame.set(enc.encode("hello"), 4);
    await p.writer.write(frame.subarray(0, 6));
    const e = await rx.receive({ timeout: 30 }).catch((x: unknown) => x);
    assert.ok(e instanceof DOMException && e.name === "TimeoutError", `${e}`);
    await p.writer.write(frame.subarray(6));
    assert.equal(dec.decode(await rx.receive({ timeout: 1000 }) as Uint8Array), "hello");
    await p.writer.write(frame.subarray(0, 7));
    p.writer.close();
    const cut = await rx.receive({ timeout: 1000 }).catch((x: unknown) => x);
    assert.ok(
      cut instanceof ErrnoError && cut.code === "EPROTO" &&
        /ended inside a message/.test(cut.message),
      `${cut}`,
    );
  },
);

ipcTest("concurrent receives take whole messages, one each, in the order asked", async () => {
  for (const stream of Object.keys(PAIRS)) {
    const { tx, rx, close } = (PAIRS[stream] as () => Pair)();
    try {
      const waiting = Array.from({ length: 8 }, () => rx.receive({ timeout: 10_000 }));
      assert.equal(rx.tryReceive(), WOULD_BLOCK, "a read is in flight");
      for (let i = 0; i < 8; i++) await tx.send(new Uint8Array(1000 + i).fill(i + 1));
      const got = await Promise.all(waiting);
      assert.deepEqual(
        got.map((m) => m === END_OF_STREAM ? -1 : (m as Uint8Array).length),
        Array.from({ length: 8 }, (_, i) => 1000 + i),
      );
      for (const [i, m] of got.entries()) {
        assert.ok((m as Uint8Array).every((b) => b === i + 1), `${stream}: message ${i} intact`);
      }
    } finally {
      close();
    }
  }
});

ipcTest("a partial trySend on a pipe completes before the next message", async () => {
  const p = Pipe.create({ capacity: 4096 });
  using tx = Channel.pipe({ writer: p.writer }, { maxMessage: 1 << 16 });
  using rx = Channel.pipe({ reader: p.reader }, { maxMessage: 1 << 16 });
  const big = new Uint8Array(10_000).fill(9);
  assert.equal(tx.trySend(big), undefined, "part of it went; the rest is the channel's");
  assert.equal(tx.trySend(new Uint8Array([1])), WOULD_BLOCK, "nothing of a second one yet");
  // The rest goes in the background as the reader makes room; a send waits its turn.
  const sending = tx.send(new Uint8Array([2]), { timeout: 10_000 });
  assert.deepEqual(await rx.receive({ timeout: 10_000 }), big);
  await sending;
  assert.deepEqual(await rx.receive({ timeout: 1000 }), new Uint8Array([2]));
});

ipcTest("a sending process killed mid-stream: the receiver ends or errs, never hangs", async () => {
  for (const transport of ["ring", "pipe"]) {
    using ring = RingChannel.temporary({ capacity: 1 << 16 });
    const p = Pipe.create();
    await using child = spawn(Deno.execPath(), {
      args: ["run", "--quiet", "--allow-ffi", PEER, transport, ring.name, "forever"],
      fds: { 3: p.writer },
    });
    p.writer.close();
    using rx = transport === "ring"
      ? Channel.ring(RingChannel.open(ring.name), "receive", { codec: jsonCodec })
      : Channel.pipe({ reader: p.reader }, { codec: jsonCodec });
    let n = 0;
    for (; n < 100; n++) {
      const m = await rx.receive({ timeout: 30_000 });
      assert.deepEqual(m, { n }, `${transport}: message ${n}`);
    }
    child.kill("SIGKILL");
    await within(30_000, "the killed child", child.status);
    // What was in flight may still come, in order; then the end (or a cut-frame error).
    for (;;) {
      let m: unknown;
      try {
        m = await rx.receive({ timeout: 30_000 });
      } catch (e) {
        // A ring reports a sender that died (not an orderly end); a pipe, a frame cut short.
        if (transport === "ring") {
          assert.ok(e instanceof ErrnoError && e.code === "ECONNRESET", `${e}`);
        } else assert.ok(/ended inside a message/.test(String(e)), `${e}`);
        break;
      }
      if (m === END_OF_STREAM) break;
      assert.deepEqual(m, { n: n++ });
    }
    p.reader.close();
  }
});

ipcTest("the same program over ring, queues, socket and pipe, in another process", async () => {
  for (const transport of ["ring", "posix", "sysv", "socket", "pipe"]) {
    using ring = RingChannel.temporary({ capacity: 1 << 16 });
    using q = MessageQueue.temporary({ maxMessages: 10, messageSize: 256 });
    using sysv = SysVMessageQueue.temporary();
    const [mine, theirs] = UnixSocket.pair({ type: "seqpacket" });
    const p = Pipe.create();
    const address = transport === "ring"
      ? ring.name
      : transport === "posix"
      ? q.name
      : transport === "sysv"
      ? String(sysv.id)
      : "3";
    await using child = spawn(Deno.execPath(), {
      args: ["run", "--quiet", "--allow-ffi", PEER, transport, address, "50"],
      fds: { 3: transport === "socket" ? theirs : p.writer },
    });
    theirs.close();
    p.writer.close();
    using rx = transport === "ring"
      ? Channel.ring(RingChannel.open(ring.name), "receive", { codec: jsonCodec })
      : transport === "posix"
      ? Channel.posixQueue(MessageQueue.open(q.name), { codec: jsonCodec })
      : transport === "sysv"
      ? Channel.sysvQueue(SysVMessageQueue.openId(sysv.id), { codec: jsonCodec })
      : transport === "socket"
      ? Channel.socket(mine, { codec: jsonCodec })
      : Channel.pipe({ reader: p.reader }, { codec: jsonCodec });
    const got: unknown[] = [];
    for (let m = await rx.receive({ timeout: 30_000 }); m !== END_OF_STREAM;) {
      got.push(m);
      m = await rx.receive({ timeout: 30_000 });
    }
    assert.deepEqual(got, Array.from({ length: 50 }, (_, n) => ({ n })), transport);
    assert.equal((await within(30_000, "the sender", child.status)).code, 0);
    if (transport !== "socket") mine.close();
    if (transport !== "pipe") p.reader.close();
  }
});

ipcTest(
  "a C program's POSIX queue messages come through the channel; its end mark goes back",
  async (t) => {
    if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
    const peer = await compileTestC("mq_peer");
    using q = MessageQueue.temporary({ maxMessages: 10, messageSize: 64 });
    using ch = Channel.posixQueue(MessageQueue.open(q.name), { codec: textCodec });
    const sender = new Deno.Command(peer, { args: ["pmq-send", q.name, "3", "one", "two"] });
    assert.ok((await within(10_000, "the C sender", sender.output())).success);
    assert.equal(await ch.receive({ timeout: 1000 }), "one");
    assert.equal(await ch.receive({ timeout: 1000 }), "two");
    await ch.send("three");
    await ch.end();
    const out = await within(
      10_000,
      "the C receiver",
      new Deno.Command(peer, { args: ["pmq-recv", q.name, "2"], stdout: "piped" }).output(),
    );
    assert.deepEqual(dec.decode(out.stdout).trim().split("\n").map((l) => l.trim()), [
      "0 5 three",
      "0 0",
    ]);
  },
);

ipcTest("Python writes length-prefixed frames into a FIFO; the channel reads them", async (t) => {
  if (await skipIf(t, !HAVE_PYTHON && "python3 not found")) return;
  const dir = Deno.makeTempDirSync({ prefix: "dipc-channel-" });
  try {
    mkfifo(`${dir}/f`);
    const reader = openFifoReader(`${dir}/f`);
    using rx = Channel.pipe({ reader }, { codec: jsonCodec, maxMessage: 1 << 16 });
    const py = new Deno.Command(PYTHON, {
      args: [
        "-c",
        [
          "import json, os, struct, sys",
          "fd = os.open(sys.argv[1], os.O_WRONLY)",
          "for i in range(30):",
          "    b = json.dumps({'i': i, 'pad': 'x' * (i * 97)}).encode()",
          "    os.write(fd, struct.pack('<I', len(b)) + b)",
          "os.close(fd)",
        ].join("\n"),
        `${dir}/f`,
      ],
    }).spawn();
    const got: unknown[] = [];
    for await (const m of rx) got.push(m);
    assert.deepEqual(got, Array.from({ length: 30 }, (_, i) => ({ i, pad: "x".repeat(i * 97) })));
    assert.ok((await within(10_000, "python", py.status)).success);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

ipcTest("bytesCodec hands out copies the caller owns", async () => {
  const { tx, rx, close } = (PAIRS.ring as () => Pair)();
  try {
    await tx.send(new Uint8Array([1, 2, 3]));
    await tx.send(new Uint8Array([4, 5, 6]));
    const a = await rx.receive();
    const b = await rx.receive();
    assert.deepEqual([a, b], [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5, 6])]);
    assert.equal(bytesCodec.name, "bytes");
  } finally {
    close();
  }
});

ipcTest(
  "a big send nobody reads ends at its timeout or abort, on a pipe and a stream socket",
  async () => {
    const makers: Record<string, () => { tx: Channel; rx: Channel }> = {
      pipe: () => {
        const p = Pipe.create();
        return {
          tx: Channel.pipe({ writer: p.writer }, { maxMessage: 2_000_000 }),
          rx: Channel.pipe({ reader: p.reader }, { maxMessage: 2_000_000 }),
        };
      },
      "stream socket": () => {
        const [a, b] = UnixSocket.pair();
        return {
          tx: Channel.socket(a, { maxMessage: 2_000_000 }),
          rx: Channel.socket(b, { maxMessage: 2_000_000 }),
        };
      },
    };
    for (const [name, make] of Object.entries(makers)) {
      const { tx, rx } = make();
      try {
        const big = new Uint8Array(900_000).fill(7);
        // Nobody reads: the send begins (part of it fits) and times out, saying how much went.
        const e = await within(
          30_000,
          `${name}: the send`,
          tx.send(big, { timeout: 300 }).then(
            () => "sent",
            (err) => err,
          ),
        );
        assert.ok(e instanceof DOMException && e.name === "TimeoutError", `${name}: ${e}`);
        const m = /: (\d+) of its 900004 bytes/.exec(e.message);
        assert.ok(m !== null && Number(m[1]) > 0 && Number(m[1]) < 900_004, e.message);
        // The next send waits behind the begun one: an abort ends it, nothing of it sent.
        const ac = new AbortController();
        setTimeout(() => ac.abort(new Error("stop")), 100);
        await assert.rejects(
          within(
            30_000,
            `${name}: the aborted send`,
            tx.send(Uint8Array.of(1), { signal: ac.signal }),
          ),
          /stop/,
        );
        // A reader now gets the big message whole, and nothing of the aborted one.
        const got = await rx.receive({ timeout: 30_000 });
        assert.ok(got !== END_OF_STREAM && got.length === 900_000 && got.every((x) => x === 7));
        assert.equal(rx.tryReceive(), WOULD_BLOCK, `${name}: the aborted send sent nothing`);
      } finally {
        tx.close();
        rx.close();
      }
    }
  },
);

ipcTest(
  "a System V channel: a peer's message beyond maxMessage is reported once, then the rest",
  async () => {
    using q = SysVMessageQueue.temporary();
    using peer = SysVMessageQueue.openId(q.id);
    const ch = Channel.sysvQueue(SysVMessageQueue.openId(q.id), { type: 5, maxMessage: 64 });
    try {
      peer.trySend(new Uint8Array(200).fill(9), { type: 5 }); // too long for the channel
      peer.trySend(Uint8Array.of(1, 2, 3), { type: 5 });
      peer.trySend(new Uint8Array(150), { type: 5 }); // too long again, for the async form
      peer.trySend(Uint8Array.of(4), { type: 5 });
      peer.trySend(new Uint8Array(100), { type: 5 }); // and the sync form
      peer.trySend(Uint8Array.of(5), { type: 5 });
      const e = thrown(() => ch.tryReceive());
      assert.ok(e instanceof ErrnoError && e.code === "E2BIG", `${e}`);
      assert.match(e.message, /longer than maxMessage \(64 bytes\) was taken off the queue/);
      assert.deepEqual(ch.tryReceive(), Uint8Array.of(1, 2, 3), "the good message behind it");
      await assert.rejects(
        ch.receive({ timeout: 10_000 }),
        (x) => x instanceof ErrnoError && x.code === "E2BIG",
      );
      assert.deepEqual(await ch.receive({ timeout: 10_000 }), Uint8Array.of(4));
      assert.throws(
        () => ch.receiveSync({ timeout: 10_000 }),
        (x: unknown) => x instanceof ErrnoError && x.code === "E2BIG",
      );
      assert.deepEqual(ch.receiveSync({ timeout: 10_000 }), Uint8Array.of(5));
      assert.equal(ch.tryReceive(), WOULD_BLOCK);
      assert.equal(q.stat().messages, 0, "nothing left on the queue");
    } finally {
      ch.close();
    }
  },
);

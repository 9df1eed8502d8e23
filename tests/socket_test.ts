// Unix domain sockets: every type, message boundaries, end of stream, descriptor passing between
// Deno processes and with a C peer written from the man pages, truncated control messages and
// descriptors sent unasked, peer credentials checked against /proc, listeners on paths (mode,
// stale files) and abstract names, and bad input. Every test counts this process's open
// descriptors before and after (nothing may leak) and leaves no socket file behind.
import assert from "node:assert/strict";
import {
  END_OF_STREAM,
  ErrnoError,
  MessageQueue,
  Pipe,
  PipeReader,
  spawnDeno,
  TcpListener,
  UnixListener,
  UnixSocket,
  WOULD_BLOCK,
} from "../mod.ts";
import {
  compileTestC,
  fdCheckedTest,
  HAVE_GCC,
  openFds,
  ROOT,
  skipIf,
  thrown,
  within,
} from "./_helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "dipc-test-sock-" });
}

/** Receives one message into a fresh buffer: its text and descriptors. */
async function take(s: UnixSocket, maxFds = 0): Promise<{ text: string; fds: number[] }> {
  const into = new Uint8Array(4096);
  const r = await s.receive(into, { maxFds, timeout: 20_000 });
  if (r === END_OF_STREAM) throw new Error("unexpected end of stream");
  return { text: dec.decode(into.subarray(0, r.length)), fds: r.fds };
}

fdCheckedTest("pairs of every type: bytes, message boundaries, end of stream", async () => {
  {
    const [a, b] = UnixSocket.pair({ type: "stream" });
    assert.equal(a.type, "stream");
    await a.send(enc.encode("hello "));
    await a.send(enc.encode("world"));
    a.close();
    const chunks: string[] = [];
    for await (const m of b) chunks.push(dec.decode(m.data));
    assert.equal(chunks.join(""), "hello world", "a stream keeps bytes, not boundaries");
    assert.equal(await b.receive(new Uint8Array(8)).catch((e) => e), END_OF_STREAM);
    b.close();
  }
  for (const type of ["seqpacket", "datagram"] as const) {
    const [a, b] = UnixSocket.pair({ type });
    const sizes = [1, 0, 700, 64, 3000];
    for (const n of sizes) assert.equal(a.trySend(new Uint8Array(n).fill(n & 255)), n);
    const into = new Uint8Array(4096);
    for (const n of sizes) {
      const r = b.tryReceive(into);
      assert.ok(typeof r === "object", `${type}: a message of ${n}`);
      assert.equal(r.length, n, `${type}: boundaries are kept`);
      assert.ok(into.subarray(0, n).every((x) => x === (n & 255)));
    }
    assert.equal(b.tryReceive(into), WOULD_BLOCK);
    // A message longer than the buffer is cut, and says so.
    a.trySend(new Uint8Array(100));
    const cut = b.tryReceive(new Uint8Array(10));
    assert.ok(typeof cut === "object" && cut.length === 10 && cut.truncated);
    a.close();
    if (type === "seqpacket") {
      assert.equal(await b.receive(into, { timeout: 20_000 }), END_OF_STREAM);
    } else {
      assert.equal(b.tryReceive(into), WOULD_BLOCK, "a datagram socket has no end of stream");
    }
    b.close();
  }
});

fdCheckedTest(
  "descriptors between Deno processes, both ways: a pipe, a queue, a socket",
  async () => {
    const dir = await tempDir();
    try {
      const script = `${dir}/child.ts`;
      await Deno.writeTextFile(
        script,
        `import { MessageQueue, Pipe, PipeWriter, UnixSocket } from "${ROOT}mod.ts";
      using s = UnixSocket.fromFd(3);
      const into = new Uint8Array(256);
      const r = await s.receive(into, { maxFds: 2, timeout: 20000 });
      if (typeof r !== "object") throw new Error("no message");
      using w = PipeWriter.fromFd(r.fds[0] ?? -1);
      using q = MessageQueue.fromFd(r.fds[1] ?? -1);
      await w.write(new TextEncoder().encode("child wrote into the parent's pipe"));
      q.trySend(new TextEncoder().encode("child sent on the parent's queue"));
      using back = Pipe.create();
      await s.send(new TextEncoder().encode("a pipe of mine"), { fds: [back.reader] });
      await back.writer.write(new TextEncoder().encode("through the child's pipe"));`,
      );
      const [mine, theirs] = UnixSocket.pair();
      using pipe = Pipe.create();
      using q = MessageQueue.temporary({ maxMessages: 2, messageSize: 64 });
      await using child = spawnDeno(script, {
        permissions: { ffi: true, read: [dir, ROOT] },
        fds: { 3: theirs },
      });
      theirs.close();
      await mine.send(enc.encode("here"), { fds: [pipe.writer, q] });
      pipe.writer.close();
      assert.equal(
        await pipe.reader.text({ timeout: 20_000 }),
        "child wrote into the parent's pipe",
      );
      const m = await q.receive({ timeout: 20_000 });
      assert.equal(dec.decode(m.data), "child sent on the parent's queue");
      const back = await take(mine, 1);
      assert.equal(back.text, "a pipe of mine");
      assert.equal(back.fds.length, 1);
      using reader = PipeReader.fromFd(back.fds[0] ?? -1);
      assert.equal(await reader.text({ timeout: 20_000 }), "through the child's pipe");
      assert.equal((await within(30_000, "the child", child.status)).code, 0);
      mine.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

fdCheckedTest("descriptors with a C peer written from the man pages, both ways", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
  const peer = await compileTestC("socket_peer");
  {
    const [mine, theirs] = UnixSocket.pair();
    using pipe = Pipe.create();
    const { spawn } = await import("../mod.ts");
    await using c = spawn(peer, {
      args: ["recv-fd", "3", "c wrote this"],
      fds: { 3: theirs },
      stdout: "piped",
    });
    theirs.close();
    await mine.send(enc.encode("take it"), { fds: [pipe.writer] });
    pipe.writer.close();
    assert.equal(await pipe.reader.text({ timeout: 20_000 }), "c wrote this");
    const out = await c.output();
    assert.equal(dec.decode(out.stdout), "got 7 take it fds=1\n");
    mine.close();
  }
  {
    const [mine, theirs] = UnixSocket.pair({ type: "seqpacket" });
    const { spawn } = await import("../mod.ts");
    await using c = spawn(peer, { args: ["send-fd", "3"], fds: { 3: theirs } });
    theirs.close();
    const got = await take(mine, 1);
    assert.equal(got.text, "from c");
    using reader = PipeReader.fromFd(got.fds[0] ?? -1);
    assert.equal(await reader.text({ timeout: 20_000 }), "through c's pipe");
    assert.equal((await c.status).code, 0);
    mine.close();
  }
});

fdCheckedTest(
  "too many descriptors: unasked ones are closed; a cut control message is an error",
  () => {
    const [a, b] = UnixSocket.pair({ type: "seqpacket" });
    using pipe = Pipe.create();
    const before = openFds();
    a.trySend(enc.encode("three"), { fds: [pipe.reader, pipe.reader, pipe.reader] });
    const r = b.tryReceive(new Uint8Array(16), { maxFds: 1 });
    assert.ok(typeof r === "object");
    assert.deepEqual([r.fds.length, r.closedFds], [1, 2], "one taken, two closed at once");
    for (const fd of r.fds) PipeReader.fromFd(fd).close(); // it is a pipe end: adopt, close
    // 40 descriptors do not fit the control message a receive of one allows room for.
    a.trySend(enc.encode("forty"), { fds: new Array(40).fill(pipe.reader) });
    const e = thrown(() => b.tryReceive(new Uint8Array(16), { maxFds: 1 }));
    assert.ok(e instanceof ErrnoError && e.code === "EMSGSIZE", `${e}`);
    assert.match(String(e), /MSG_CTRUNC/);
    assert.equal(openFds(), before, "whatever arrived was closed");
    // The message itself is not lost: the next receive returns it (without descriptors).
    const held = new Uint8Array(16);
    const f = b.tryReceive(held, { maxFds: 1 });
    assert.ok(typeof f === "object" && f.fds.length === 0 && !f.truncated, String(f));
    assert.equal(new TextDecoder().decode(held.subarray(0, f.length)), "forty");
    // Descriptors nobody asked for are closed too.
    a.trySend(enc.encode("unasked"), { fds: [pipe.writer] });
    const u = b.tryReceive(new Uint8Array(16));
    assert.ok(typeof u === "object" && u.fds.length === 0 && u.closedFds === 1);
    assert.equal(openFds(), before);
    a.close();
    b.close();
  },
);

fdCheckedTest(
  "a stream socket: data cut from its descriptors still arrives; no descriptors without data",
  async () => {
    const [a, b] = UnixSocket.pair();
    using pipe = Pipe.create();
    const before = openFds();
    // Descriptors with zero bytes would never travel on a stream: refused, nothing sent.
    assert.ok(
      thrown(() => a.trySend(new Uint8Array(0), { fds: [pipe.reader] })) instanceof RangeError,
    );
    await assert.rejects(a.send(new Uint8Array(0), { fds: [pipe.reader] }), RangeError);
    assert.equal(b.tryReceive(new Uint8Array(8)), WOULD_BLOCK, "nothing was sent");
    // Too many descriptors for the receive's control buffer: EMSGSIZE, and the bytes that came
    // with them are the next receive's, in order, then what followed.
    a.trySend(enc.encode("hello"), { fds: new Array(60).fill(pipe.reader) });
    a.trySend(enc.encode(" world"));
    const e = thrown(() => b.tryReceive(new Uint8Array(64)));
    assert.ok(e instanceof ErrnoError && e.code === "EMSGSIZE", `${e}`);
    assert.match(e.message, /5 bytes of data that came with them are the next receive's/);
    assert.equal(openFds(), before, "whatever arrived was closed");
    const small = new Uint8Array(3); // smaller than what is held: the rest stays, in order
    let text = "";
    for (;;) {
      const r = await b.receive(small, { timeout: 10_000 });
      assert.ok(r !== END_OF_STREAM);
      text += new TextDecoder().decode(small.subarray(0, r.length));
      if (text.length >= 11) break;
    }
    assert.equal(text, "hello world");
    a.close();
    b.close();
  },
);

fdCheckedTest("message sockets: an empty receive buffer is refused, the message kept", async () => {
  for (const type of ["seqpacket", "datagram"] as const) {
    const [a, b] = UnixSocket.pair({ type });
    using pipe = Pipe.create();
    a.trySend(enc.encode("kept"));
    assert.ok(thrown(() => b.tryReceive(new Uint8Array(0))) instanceof RangeError, type);
    await assert.rejects(b.receive(new Uint8Array(0), { timeout: 1000 }), RangeError);
    const into = new Uint8Array(8);
    const r = b.tryReceive(into);
    assert.ok(typeof r === "object" && r.length === 4, `${type}: the message is still there`);
    // An empty message does carry descriptors on a message socket.
    a.trySend(new Uint8Array(0), { fds: [pipe.reader] });
    const f = b.tryReceive(into, { maxFds: 1 });
    assert.ok(typeof f === "object" && f.length === 0 && f.fds.length === 1, `${type}`);
    for (const fd of f.fds) PipeReader.fromFd(fd).close();
    a.close();
    b.close();
  }
});

fdCheckedTest("peer credentials: a connecting child's pid and uid, as /proc says", async (t) => {
  const dir = await tempDir();
  try {
    const path = `${dir}/creds.sock`;
    using listener = UnixListener.listen(path);
    assert.equal((Deno.statSync(path).mode ?? 0) & 0o777, 0o600, "mode 0600 by default");
    const script = `${dir}/client.ts`;
    await Deno.writeTextFile(
      script,
      `import { UnixSocket } from "${ROOT}mod.ts";
      using s = await UnixSocket.connect(Deno.args[0] ?? "", { timeout: 20000 });
      const c = s.peerCredentials();
      await s.send(new TextEncoder().encode(c.pid + " " + c.uid));`,
    );
    await using child = spawnDeno(script, {
      args: [path],
      permissions: { ffi: true, read: [dir, ROOT] },
    });
    using server = await listener.accept({ timeout: 20_000 });
    const cred = server.peerCredentials();
    assert.equal(cred.pid, child.pid);
    const status = await Deno.readTextFile(`/proc/${child.pid}/status`).catch(() => "");
    const uid = /^Uid:\s+\d+\s+(\d+)/m.exec(status)?.[1];
    if (uid !== undefined) assert.equal(cred.uid, Number(uid), "the effective uid /proc shows");
    assert.equal(cred.gid, Deno.gid() ?? cred.gid);
    const said = await take(server);
    assert.equal(said.text, `${Deno.pid} ${Deno.uid()}`, "and the client saw the listener's");
    assert.equal((await child.status).code, 0);
    if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
    const peer = await compileTestC("socket_peer");
    const [mine, theirs] = UnixSocket.pair();
    const { spawn } = await import("../mod.ts");
    await using c = spawn(peer, { args: ["creds", "3"], fds: { 3: theirs }, stdout: "piped" });
    theirs.close();
    const out = dec.decode((await c.output()).stdout).trim();
    assert.equal(out, `${Deno.pid} ${Deno.uid()} ${Deno.gid()}`, "a pair's creds are its maker's");
    mine.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

fdCheckedTest(
  "listeners: paths (mode, stale files reported, removed at close), abstract names",
  async () => {
    const dir = await tempDir();
    try {
      const path = `${dir}/a.sock`;
      {
        using l = UnixListener.listen(path, { mode: 0o640, type: "seqpacket" });
        assert.equal((Deno.statSync(path).mode ?? 0) & 0o777, 0o640);
        const busy = thrown(() => UnixListener.listen(path));
        assert.ok(busy instanceof ErrnoError && busy.code === "EADDRINUSE", `${busy}`);
        assert.match(String(busy), /a listener is there/);
        const connecting = UnixSocket.connect(path, { type: "seqpacket", timeout: 20_000 });
        using s = await l.accept({ timeout: 20_000 });
        using c = await connecting;
        c.trySend(enc.encode("one"));
        c.trySend(enc.encode("two"));
        assert.equal((await take(s)).text, "one");
        assert.equal((await take(s)).text, "two");
      }
      assert.throws(() => Deno.statSync(path), "closing removed the socket file");
      // A listener that is gone leaves its file (here: a link to it survives its close).
      const gone = UnixListener.listen(path);
      Deno.linkSync(path, `${path}.left`);
      gone.close();
      Deno.renameSync(`${path}.left`, path);
      const stale = thrown(() => UnixListener.listen(path));
      assert.ok(stale instanceof ErrnoError && stale.code === "EADDRINUSE");
      assert.match(String(stale), /listener that is gone/);
      const refused = await UnixSocket.connect(path).catch((e) => e);
      assert.ok(refused instanceof ErrnoError && refused.code === "ECONNREFUSED", `${refused}`);
      {
        using again = UnixListener.listen(path, { replaceStale: true });
        assert.equal(again.closed, false);
      }
      Deno.writeTextFileSync(path, "not a socket");
      const other = thrown(() => UnixListener.listen(path, { replaceStale: true }));
      assert.ok(other instanceof ErrnoError && /another file/.test(String(other)));
      Deno.removeSync(path);
      // Abstract names: no file at all.
      const name = `dipc-test-${crypto.randomUUID()}`;
      using abs = UnixListener.listen({ abstract: name });
      const c2 = UnixSocket.connect({ abstract: name });
      using s2 = await abs.accept({ timeout: 20_000 });
      using cc2 = await c2;
      await cc2.send(enc.encode("abstract"));
      assert.equal((await take(s2)).text, "abstract");
      assert.deepEqual(abs.address, { abstract: name });
      const accepting = abs.accept({ timeout: 10 });
      await assert.rejects(accepting, { name: "TimeoutError" });
      assert.equal(abs.tryAccept(), WOULD_BLOCK);
      assert.deepEqual([...Deno.readDirSync(dir)], [], "no socket file left behind");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

fdCheckedTest(
  "waits: a timeout and an abort take nothing; close ends a wait; Web Streams",
  async () => {
    const [a, b] = UnixSocket.pair();
    await assert.rejects(b.receive(new Uint8Array(8), { timeout: 10 }), { name: "TimeoutError" });
    const ac = new AbortController();
    const p = b.receive(new Uint8Array(8), { signal: ac.signal });
    ac.abort(new Error("stop"));
    await assert.rejects(p, /stop/);
    a.trySend(enc.encode("kept"));
    assert.equal((await take(b)).text, "kept", "the aborted receive took nothing");
    const waiting = b.receive(new Uint8Array(8));
    setTimeout(() => b.close(), 10);
    await assert.rejects(waiting);
    a.close();
    const [c, d] = UnixSocket.pair();
    const writer = c.writable.getWriter();
    await writer.write(enc.encode("via "));
    await writer.write(enc.encode("streams"));
    await writer.close(); // shuts c down for writing: d sees the end
    const text = await new Response(d.readable).text();
    assert.equal(text, "via streams");
    c.close();
    d.close();
    const [e, f] = UnixSocket.pair({ type: "seqpacket" });
    assert.ok(thrown(() => e.readable) instanceof TypeError, "a message socket has no byte stream");
    e.close();
    f.close();
  },
);

fdCheckedTest(
  "TCP listener: a port of its own, Deno's client, descriptors checked on adoption",
  async () => {
    using listener = TcpListener.listen({ port: 0 });
    const port = listener.port;
    assert.ok(port > 0 && port < 65536);
    // The kernel reports it listening on that port (/proc/net/tcp, state 0A).
    const hex = port.toString(16).toUpperCase().padStart(4, "0");
    const tcp = await Deno.readTextFile("/proc/net/tcp");
    assert.match(tcp, new RegExp(`^ *\\d+: 0100007F:${hex} 00000000:0000 0A `, "m"));
    // A second listener on the same port is refused.
    const busy = thrown(() => TcpListener.listen({ port }));
    assert.ok(busy instanceof ErrnoError && busy.code === "EADDRINUSE", String(busy));
    assert.equal(listener.tryAccept(), WOULD_BLOCK);

    const client = await Deno.connect({ hostname: "127.0.0.1", port });
    using server = await within(5000, "accept", listener.accept());
    await client.write(enc.encode("ping"));
    const buf = new Uint8Array(16);
    const got = await server.receive(buf, { timeout: 5000 });
    assert.ok(got !== END_OF_STREAM);
    assert.equal(dec.decode(buf.subarray(0, got.length)), "ping");
    await server.send(enc.encode("pong"));
    const n = await client.read(buf);
    assert.equal(dec.decode(buf.subarray(0, n ?? 0)), "pong");
    client.close();
    assert.equal(await server.receive(buf, { timeout: 5000 }), END_OF_STREAM);

    // Adoption checks the family and that the socket listens.
    const [x, y] = UnixSocket.pair();
    const notListening = thrown(() => TcpListener.fromFd(x.unsafeFd));
    assert.ok(notListening instanceof ErrnoError && notListening.code === "EINVAL");
    assert.ok((thrown(() => UnixListener.fromFd(x.unsafeFd)) as ErrnoError).code === "EINVAL");
    x.close();
    y.close();
    using unix = UnixListener.listen({ abstract: `dipc-test-${crypto.randomUUID()}` });
    const wrongFamily = thrown(() => TcpListener.fromFd(unix.unsafeFd));
    assert.ok(wrongFamily instanceof ErrnoError && /not a TCP/.test(wrongFamily.message));
    assert.ok(
      (thrown(() => UnixListener.fromFd(listener.unsafeFd)) as ErrnoError).code === "EINVAL",
    );

    listener.close();
    listener.close();
    assert.ok(listener.closed);
    assert.ok(thrown(() => listener.port) instanceof Error);
    await assert.rejects(listener.accept(), /closed/i);
  },
);

Deno.test("bad input on sockets: every case throws before any system call", async (t) => {
  // deno-lint-ignore no-explicit-any
  const S = UnixSocket as any;
  // deno-lint-ignore no-explicit-any
  const L = UnixListener as any;
  // deno-lint-ignore no-explicit-any
  const T = TcpListener as any;
  const [a, b] = UnixSocket.pair();
  // deno-lint-ignore no-explicit-any
  const A = a as any;
  const cases: Array<[string, () => unknown, new (...x: never[]) => Error]> = [
    ["pair options a string", () => S.pair("stream"), TypeError],
    ["pair type unknown", () => S.pair({ type: "raw" }), TypeError],
    ["pair type a number", () => S.pair({ type: 1 }), TypeError],
    ["pair unknown option", () => S.pair({ kind: "stream" }), TypeError],
    ["listen path empty", () => L.listen(""), TypeError],
    ["listen path with NUL", () => L.listen("/tmp/a\0b"), TypeError],
    ["listen path too long", () => L.listen("/tmp/" + "x".repeat(120)), RangeError],
    ["listen address a number", () => L.listen(5), TypeError],
    ["listen abstract empty", () => L.listen({ abstract: "" }), TypeError],
    ["listen abstract too long", () => L.listen({ abstract: "x".repeat(120) }), RangeError],
    ["listen abstract not a string", () => L.listen({ abstract: 5 }), TypeError],
    ["listen datagram", () => L.listen({ abstract: "x" }, { type: "datagram" }), TypeError],
    ["listen backlog 0", () => L.listen({ abstract: "x" }, { backlog: 0 }), RangeError],
    [
      "listen mode on an abstract name",
      () => L.listen({ abstract: "x" }, { mode: 0o600 }),
      TypeError,
    ],
    ["listen mode 0o1000", () => L.listen("/tmp/x.sock", { mode: 0o1000 }), RangeError],
    [
      "listen replaceStale a string",
      () => L.listen("/tmp/x.sock", { replaceStale: "y" }),
      TypeError,
    ],
    ["listen unknown option", () => L.listen("/tmp/x.sock", { create: true }), TypeError],
    ["fromFd negative", () => S.fromFd(-1), RangeError],
    ["fromFd a string", () => S.fromFd("3"), TypeError],
    ["fromFd not a socket", () => S.fromFd(0), ErrnoError],
    ["send a string", () => A.trySend("text"), TypeError],
    ["send fds not an array", () => A.trySend(new Uint8Array(1), { fds: 3 }), TypeError],
    ["send fds with a string", () => A.trySend(new Uint8Array(1), { fds: ["3"] }), TypeError],
    ["send fds negative", () => A.trySend(new Uint8Array(1), { fds: [-1] }), RangeError],
    [
      "send fds too many",
      () => A.trySend(new Uint8Array(1), { fds: new Array(254).fill(0) }),
      RangeError,
    ],
    [
      "send fds a bad handle",
      () => A.trySend(new Uint8Array(1), { fds: [{ unsafeFd: "x" }] }),
      TypeError,
    ],
    ["receive into a string", () => A.tryReceive("buf"), TypeError],
    ["receive maxFds negative", () => A.tryReceive(new Uint8Array(1), { maxFds: -1 }), RangeError],
    ["receive maxFds too many", () => A.tryReceive(new Uint8Array(1), { maxFds: 254 }), RangeError],
    [
      "receive maxFds fractional",
      () => A.tryReceive(new Uint8Array(1), { maxFds: 1.5 }),
      RangeError,
    ],
    ["messages size 0", () => A.messages({ size: 0 }), RangeError],
    ["tcp listen no options", () => T.listen(), TypeError],
    ["tcp listen no port", () => T.listen({}), TypeError],
    ["tcp listen port 65536", () => T.listen({ port: 65536 }), RangeError],
    ["tcp listen port a string", () => T.listen({ port: "80" }), TypeError],
    ["tcp listen hostname a name", () => T.listen({ port: 0, hostname: "localhost" }), TypeError],
    ["tcp listen hostname 256", () => T.listen({ port: 0, hostname: "1.2.3.256" }), TypeError],
    ["tcp listen hostname IPv6", () => T.listen({ port: 0, hostname: "::1" }), TypeError],
    ["tcp listen backlog 0", () => T.listen({ port: 0, backlog: 0 }), RangeError],
    ["tcp listen unknown option", () => T.listen({ port: 0, reuse: true }), TypeError],
    ["tcp fromFd negative", () => T.fromFd(-1), RangeError],
    ["messages unknown option", () => A.messages({ signals: 1 }), TypeError],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => {
      const e = thrown(fn);
      assert.ok(e instanceof type, `${label}: got ${e}`);
    });
  }
  const asyncCases: Array<[string, () => Promise<unknown>]> = [
    ["connect to a number", () => S.connect(5)],
    ["connect type unknown", () => S.connect({ abstract: "x" }, { type: "raw" })],
    ["connect bad timeout", () => S.connect({ abstract: "x" }, { timeout: -1 })],
    ["receive bad timeout", () => A.receive(new Uint8Array(1), { timeout: -1 })],
    ["send bad signal", () => A.send(new Uint8Array(1), { signal: "stop" })],
  ];
  for (const [label, fn] of asyncCases) {
    await t.step(
      label,
      () => assert.rejects(fn(), (e) => e instanceof TypeError || e instanceof RangeError),
    );
  }
  a.close();
  b.close();
  assert.ok(thrown(() => a.trySend(new Uint8Array(1))) instanceof Error, "closed: ClosedError");
});

fdCheckedTest(
  "receive() and tryReceive() return copies; receiveInto() fills a buffer",
  async () => {
    const [a, b] = UnixSocket.pair({ type: "seqpacket" });
    try {
      assert.equal(b.tryReceive(), WOULD_BLOCK);
      await a.send(new TextEncoder().encode("first"));
      await a.send(new TextEncoder().encode("second, longer"));
      await a.send(new TextEncoder().encode("third"));
      const m1 = await b.receive({ timeout: 10_000 });
      assert.ok(m1 !== END_OF_STREAM);
      assert.equal(new TextDecoder().decode(m1.data), "first");
      assert.deepEqual([m1.fds, m1.truncated], [[], false]);
      // A copy of its own: the next receive does not change it.
      const m2 = b.tryReceive({ size: 6 });
      assert.ok(m2 !== WOULD_BLOCK && m2 !== END_OF_STREAM);
      assert.equal(new TextDecoder().decode(m2.data), "second");
      assert.equal(m2.truncated, true);
      const into = new Uint8Array(16);
      const r = await b.receiveInto(into, { timeout: 10_000 });
      assert.ok(r !== END_OF_STREAM);
      assert.equal(new TextDecoder().decode(into.subarray(0, r.length)), "third");
      assert.equal(new TextDecoder().decode(m1.data), "first");
      // Concurrent copying receives each get their own message.
      const both = Promise.all([b.receive({ timeout: 10_000 }), b.receive({ timeout: 10_000 })]);
      await a.send(new Uint8Array([1]));
      await a.send(new Uint8Array([2]));
      const got = (await both).map((m) => m === END_OF_STREAM ? -1 : m.data[0]).sort();
      assert.deepEqual(got, [1, 2]);
      assert.throws(() => b.tryReceive({ size: 0 }), RangeError);
      assert.throws(() => b.tryReceive({ bogus: 1 } as never), TypeError);
      a.close();
      assert.equal(await b.receive({ timeout: 10_000 }), END_OF_STREAM);
    } finally {
      a.close();
      b.close();
    }
  },
);

import assert from "node:assert/strict";
import {
  ClosedError,
  END_OF_STREAM,
  ErrnoError,
  Pipe,
  PipeReader,
  PipeWriter,
  spawn,
  WOULD_BLOCK,
} from "../mod.ts";
import { ipcTest, ROOT, thrown } from "./_helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

async function sha256(data: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
  return [...d].map((x) => x.toString(16).padStart(2, "0")).join("");
}

function randomBytes(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

ipcTest("100 MiB through a pipe to sha256sum, checksum matches", async () => {
  const data = randomBytes(100 << 20);
  await using child = spawn("sha256sum", { stdin: "piped", stdout: "piped" });
  const writing = (async () => {
    await child.stdin?.write(data);
    child.stdin?.close();
  })();
  const out = await child.output();
  await writing;
  assert.equal(out.status.code, 0);
  assert.equal(dec.decode(out.stdout).split(" ")[0], await sha256(data));
});

ipcTest("100 MiB from a child through a pipe, counted and checksummed here", async () => {
  using pipe = Pipe.create({ capacity: 1 << 20 });
  await using child = spawn("sh", {
    args: ["-c", "head -c 104857600 /dev/zero | tr '\\0' 'x' >&3"],
    fds: { 3: pipe.writer },
  });
  pipe.writer.close();
  const buf = new Uint8Array(1 << 20);
  let total = 0;
  let bad = 0;
  for (let n = await pipe.reader.read(buf); n !== END_OF_STREAM; n = await pipe.reader.read(buf)) {
    for (let i = 0; i < n; i++) if (buf[i] !== 0x78) bad++;
    total += n;
  }
  assert.equal(total, 100 << 20);
  assert.equal(bad, 0);
  assert.equal((await child.status).code, 0);
});

ipcTest("EOF only when every writer is closed, a child's copy included", async () => {
  using pipe = Pipe.create();
  await using child = spawn("sh", {
    args: ["-c", "read x <&4; echo late >&3"],
    fds: { 3: pipe.writer, 4: Pipe.create().reader },
  });
  pipe.writer.close(); // ours is closed, the child's copy is open
  assert.equal(pipe.reader.tryRead(new Uint8Array(8)), WOULD_BLOCK, "not EOF yet");
  child.kill("SIGKILL");
  await child.status;
  assert.equal(
    await pipe.reader.read(new Uint8Array(8), { timeout: 20_000 }),
    END_OF_STREAM,
    "EOF now",
  );
});

ipcTest("writing with no reader left is EPIPE, and the process lives", async () => {
  using pipe = Pipe.create();
  pipe.reader.close();
  const e = thrown(() => pipe.writer.tryWrite(enc.encode("x")));
  assert.ok(e instanceof ErrnoError);
  assert.equal(e.code, "EPIPE");
  assert.equal(e.syscall, "write");
  await assert.rejects(
    pipe.writer.write(enc.encode("y")),
    (x: unknown) => x instanceof ErrnoError && x.code === "EPIPE",
  );
  // A child that dies closes its read end: the next write fails the same way.
  using p2 = Pipe.create();
  {
    await using child = spawn("true", { stdin: p2.reader });
    await child.status;
  }
  p2.reader.close();
  assert.ok(thrown(() => p2.writer.tryWrite(enc.encode("z"))) instanceof ErrnoError);
});

ipcTest("capacity: query and set (F_GETPIPE_SZ / F_SETPIPE_SZ)", () => {
  using pipe = Pipe.create();
  assert.equal(pipe.reader.capacity, 65536);
  assert.equal(pipe.writer.setCapacity(4096), 4096);
  assert.equal(pipe.reader.capacity, 4096);
  assert.equal(pipe.writer.setCapacity(5000), 8192, "rounded up to a power of two of pages");
  const max = Number(Deno.readTextFileSync("/proc/sys/fs/pipe-max-size"));
  assert.equal(pipe.writer.setCapacity(max), max);
  using big = Pipe.create({ capacity: 1 << 20 });
  assert.equal(big.writer.capacity, 1 << 20);
  // Shrinking below what the pipe holds is EBUSY.
  using full = Pipe.create();
  full.writer.tryWrite(new Uint8Array(20000));
  const e = thrown(() => full.writer.setCapacity(4096));
  assert.ok(e instanceof ErrnoError && e.code === "EBUSY", String(e));
});

ipcTest("try forms: would-block on empty and on full; partial writes", () => {
  using pipe = Pipe.create({ capacity: 4096 });
  assert.equal(pipe.reader.tryRead(new Uint8Array(10)), WOULD_BLOCK);
  const n = pipe.writer.tryWrite(new Uint8Array(10000));
  assert.equal(n, 4096, "a partial write fills the pipe");
  assert.equal(pipe.writer.tryWrite(new Uint8Array(1)), WOULD_BLOCK);
  assert.equal(pipe.writer.tryWrite(new Uint8Array(0)), 0);
  assert.equal(pipe.reader.tryRead(new Uint8Array(5000)), 4096);
});

ipcTest("timeouts and aborts on reads and writes; a cancelled read took nothing", async () => {
  using pipe = Pipe.create({ capacity: 4096 });
  await assert.rejects(pipe.reader.read(new Uint8Array(4), { timeout: 10 }), {
    name: "TimeoutError",
  });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 10);
  await assert.rejects(pipe.reader.read(new Uint8Array(4), { signal: ac.signal }), {
    name: "AbortError",
  });
  await assert.rejects(pipe.reader.read(new Uint8Array(4), { signal: AbortSignal.abort() }), {
    name: "AbortError",
  });
  pipe.writer.tryWrite(enc.encode("kept"));
  assert.equal(
    dec.decode(await readExactly(pipe.reader, 4)),
    "kept",
    "the data came after the cancels",
  );
  pipe.writer.tryWrite(new Uint8Array(4096));
  await assert.rejects(pipe.writer.write(new Uint8Array(10), { timeout: 10 }), {
    name: "TimeoutError",
  });
  const ac2 = new AbortController();
  setTimeout(() => ac2.abort(), 10);
  await assert.rejects(pipe.writer.write(new Uint8Array(10), { signal: ac2.signal }), {
    name: "AbortError",
  });
});

async function readExactly(r: PipeReader, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let at = 0;
  while (at < n) {
    const k = await r.read(out.subarray(at), { timeout: 20_000 });
    if (k === END_OF_STREAM) throw new Error("early EOF");
    at += k;
  }
  return out;
}

ipcTest("thousands of cancelled reads while a child writes: nothing lost", async () => {
  using pipe = Pipe.create();
  const lines = 3000;
  await using child = spawn("sh", {
    args: ["-c", `i=0; while [ $i -lt ${lines} ]; do echo "line $i"; i=$((i+1)); done >&3`],
    fds: { 3: pipe.writer },
  });
  pipe.writer.close();
  const buf = new Uint8Array(64);
  let text = "";
  let cancelled = 0;
  let preAborted = 0;
  for (let k = 0;; k++) {
    // Every fourth read starts aborted; the others are aborted in a microtask, racing the child.
    const ac = new AbortController();
    if (k % 4 === 0 && preAborted < 1000) {
      ac.abort();
      preAborted++;
    } else if (cancelled < 5000) queueMicrotask(() => ac.abort());
    try {
      const n = await pipe.reader.read(buf, { signal: ac.signal });
      if (n === END_OF_STREAM) break;
      text += dec.decode(buf.subarray(0, n));
    } catch (e) {
      assert.equal((e as Error).name, "AbortError");
      cancelled++;
    }
  }
  const got = text.trim().split("\n");
  assert.equal(got.length, lines);
  got.forEach((l, i) => assert.equal(l, `line ${i}`));
  assert.ok(cancelled >= preAborted && preAborted > 0);
  await child.status;
});

ipcTest("Web Streams on both ends", async () => {
  using pipe = Pipe.create();
  const writing = ReadableStream.from(["a", "b", "c"].map((s) => enc.encode(s.repeat(100_000))))
    .pipeTo(pipe.writer.writable);
  let text = "";
  for await (const chunk of pipe.reader.readable.pipeThrough(new TextDecoderStream())) {
    text += chunk;
  }
  await writing;
  assert.equal(text, "a".repeat(100_000) + "b".repeat(100_000) + "c".repeat(100_000));
  assert.equal(pipe.reader.closed, true, "the stream closed its end at EOF");
});

ipcTest(
  "use after close throws ClosedError; double close is a no-op; a pending read ends",
  async () => {
    const pipe = Pipe.create();
    const pending = pipe.reader.read(new Uint8Array(4));
    await new Promise((r) => setTimeout(r, 5));
    pipe.close();
    pipe.close();
    pipe[Symbol.dispose]();
    await assert.rejects(pending, ClosedError);
    for (
      const use of [
        () => pipe.reader.tryRead(new Uint8Array(1)),
        () => pipe.writer.tryWrite(new Uint8Array(1)),
        () => pipe.reader.capacity,
        () => pipe.writer.setCapacity(4096),
        () => pipe.reader.unsafeFd,
      ]
    ) assert.ok(thrown(use) instanceof ClosedError);
    await assert.rejects(pipe.writer.write(new Uint8Array(1)), ClosedError);
  },
);

ipcTest("fromFd: a Deno child opens its inherited descriptors as pipe ends", async () => {
  using input = Pipe.create();
  using output = Pipe.create();
  await using child = spawn(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-ffi", `${ROOT}tests/fixtures/fd_child.ts`],
    fds: { 3: input.reader, 4: output.writer },
  });
  input.reader.close();
  output.writer.close();
  await input.writer.write(enc.encode("hello from the parent"));
  input.writer.close();
  assert.equal(await output.reader.text(), "deno child got: HELLO FROM THE PARENT");
  assert.equal((await child.status).code, 0);
  const bad = thrown(() => PipeReader.fromFd(987));
  assert.ok(bad instanceof ErrnoError && bad.code === "EBADF", String(bad));
});

Deno.test("bad input on pipes", async (t) => {
  using pipe = Pipe.create();
  // deno-lint-ignore no-explicit-any
  const R = pipe.reader as any;
  // deno-lint-ignore no-explicit-any
  const W = pipe.writer as any;
  // deno-lint-ignore no-explicit-any
  const P = Pipe as any;
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["tryRead into an array", () => R.tryRead([0, 0]), TypeError],
    ["tryRead into an empty buffer", () => pipe.reader.tryRead(new Uint8Array(0)), RangeError],
    ["tryWrite a string", () => W.tryWrite("text"), TypeError],
    ["setCapacity 0", () => pipe.writer.setCapacity(0), RangeError],
    ["setCapacity NaN", () => pipe.writer.setCapacity(NaN), RangeError],
    ["create with capacity -1", () => Pipe.create({ capacity: -1 }), RangeError],
    ["create with options a string", () => P.create("big"), TypeError],
    ["fromFd -1", () => PipeReader.fromFd(-1), RangeError],
    ["fromFd 1.5", () => PipeWriter.fromFd(1.5), RangeError],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => assert.ok(thrown(fn) instanceof type, label));
  }
  await t.step(
    "read with a bad timeout",
    () => assert.rejects(pipe.reader.read(new Uint8Array(1), { timeout: -5 }), RangeError),
  );
  await t.step("write a number", () => assert.rejects(W.write(5), TypeError));
});

ipcTest("writeBatch: small and large chunks coalesced, read whole by a child; limits", async () => {
  // Chunks of 1 to 300 bytes and, now and then, one of 100 KiB (written as it is).
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let total = 0;
  for (let i = 0; total < 4 << 20; i++) {
    const c = randomBytes(i % 97 === 0 ? 100 * 1024 : 1 + (i * 7919) % 300);
    chunks.push(c);
    total += c.length;
  }
  const all = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.length;
  }
  using pipe = Pipe.create();
  await using child = spawn("sh", {
    args: ["-c", "sha256sum <&3"],
    fds: { 3: pipe.reader },
    stdout: "piped",
  });
  pipe.reader.close();
  await pipe.writer.writeBatch(chunks, { timeout: 60_000 });
  pipe.writer.close();
  const out = await child.stdout?.text({ timeout: 60_000 });
  assert.equal(out?.split(" ")[0], await sha256(all), "the child read exactly those bytes");

  // Bad input before any write; EPIPE without a reader; a timeout when nobody reads.
  using lone = Pipe.create();
  // deno-lint-ignore no-explicit-any
  const W = lone.writer as any;
  await assert.rejects(W.writeBatch("abc"), TypeError);
  await assert.rejects(W.writeBatch([new Uint8Array(1), "x"]), TypeError);
  await assert.rejects(W.writeBatch([new Uint8Array(1)], { timeout: -1 }), RangeError);
  assert.equal(lone.reader.tryRead(new Uint8Array(8)), WOULD_BLOCK, "nothing was written");
  const stuck = await lone.writer.writeBatch([new Uint8Array(1 << 20)], { timeout: 100 })
    .then(() => "written", (e) => e);
  assert.ok(stuck instanceof DOMException && stuck.name === "TimeoutError", String(stuck));
  lone.reader.close();
  const broken = await lone.writer.writeBatch([new Uint8Array(10)]).then(() => "written", (e) => e);
  assert.ok(broken instanceof ErrnoError && broken.code === "EPIPE", String(broken));
});

/**
 * 27 · Passing open objects to another process over a socket: a file, a pipe, shared memory
 *
 * A descriptor is a process's handle on an open object. Over a Unix socket a process can give
 * another its handles (`SCM_RIGHTS`): the receiver gets new descriptors for the very same open
 * objects, not copies of their contents, without knowing any name or path. Here a child that
 * was started with nothing but a socket (and no file permission) receives three: an open file
 * (and maps it to read what it holds), a pipe's write end (and writes to the parent through it) and a
 * shared memory object (and adds to a counter the parent then reads).
 *
 * Run: deno run --allow-ffi --allow-read --allow-write examples/27_pass_fds.ts
 *
 * @module
 */

import { LockFile, Pipe, PipeWriter, SharedMemory, spawnDeno, UnixSocket } from "../mod.ts";

const enc = new TextEncoder();

if (Deno.args[0] === "child") {
  using socket = UnixSocket.fromFd(3);
  const into = new Uint8Array(64);
  const got = await socket.receiveInto(into, { maxFds: 3, timeout: 10_000 });
  if (typeof got !== "object" || got.fds.length !== 3) {
    throw new Error("expected three descriptors");
  }
  const [file, pipe, memory] = got.fds as [number, number, number];
  console.log(
    `received "${new TextDecoder().decode(into.subarray(0, got.length))}" and descriptors ${
      got.fds.join(", ")
    }`,
  );
  // 1. the open file: the same file, mapped through the descriptor (no path was sent)
  {
    using mapped = SharedMemory.fromFd(file, { readOnly: true });
    const text = new TextDecoder().decode(mapped.read());
    console.log(`the file holds ${JSON.stringify(text.trim())}`);
  }
  // 2. the pipe's write end: a way back to the parent
  using writer = PipeWriter.fromFd(pipe);
  await writer.write(enc.encode(`hello through the parent's own pipe, from process ${Deno.pid}`));
  // 3. shared memory: the same pages the parent has mapped
  using shm = SharedMemory.fromFd(memory);
  Atomics.add(shm.int32(0, 1), 0, 41);
} else {
  const dir = await Deno.makeTempDir({ prefix: "dipc-example-" });
  try {
    await Deno.writeTextFile(`${dir}/note.txt`, "a file opened by the parent\n");
    using file = LockFile.open(`${dir}/note.txt`, { create: false });
    using pipe = Pipe.create();
    using shm = SharedMemory.temporary({ size: 4096 });
    Atomics.store(shm.int32(0, 1), 0, 1);
    const [mine, theirs] = UnixSocket.pair();
    await using child = spawnDeno(import.meta.url, {
      args: ["child"],
      fds: { 3: theirs },
      stdout: "inherit",
    });
    theirs.close();
    await mine.send(enc.encode("three handles"), { fds: [file, pipe.writer, shm] });
    pipe.writer.close(); // the child's copy keeps the pipe open until it is done
    console.log(`parent read from its pipe: "${await pipe.reader.text({ timeout: 10_000 })}"`);
    await child.wait({ timeout: 10_000 });
    console.log(
      `parent's counter in shared memory: ${Atomics.load(shm.int32(0, 1), 0)} (1 + the child's 41)`,
    );
    mine.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

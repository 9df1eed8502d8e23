/**
 * 06 · "Hello Child Process!" through a pipe, fork-free
 *
 * The classic C program calls pipe(), then fork(): the parent writes "Hello Child Process!" into
 * fd[1] and the child reads it from fd[0] and prints the byte count and the text. Deno cannot
 * fork, so the parent makes the pipe and starts the child with posix_spawn, handing it the read
 * end as descriptor 3 (what fork + dup2 would do). The child reads fd 3 and prints
 * "nbytes msg" exactly like the C original's printf("%d %s\n", nbytes, buf).
 *
 * Run: deno run --allow-ffi examples/06_pipe.ts
 *
 * @module
 */

import { END_OF_STREAM, Pipe, PipeReader, spawnDeno } from "../mod.ts";
import { show } from "./_child.ts";

const MSG = "Hello Child Process!";

if (Deno.args[0] === "child") {
  using fd0 = PipeReader.fromFd(3); // the read end, handed down as descriptor 3
  const buf = new Uint8Array(255);
  const got = await fd0.read(buf); // nbytes = read(fd[0], buf, MSGSIZE)
  const nbytes = got === END_OF_STREAM ? 0 : got;
  console.log(`${nbytes} ${new TextDecoder().decode(buf.subarray(0, nbytes))}`);
} else {
  using pipe = Pipe.create(); // pipe(fd)
  await using child = spawnDeno(import.meta.url, {
    args: ["child"],
    fds: { 3: pipe.reader },
    stdout: "piped",
  });
  pipe.reader.close(); // the parent only writes
  await pipe.writer.write(new TextEncoder().encode(MSG)); // write(fd[1], msg, MSGSIZE)
  pipe.writer.close();
  const { status, stdout } = await child.output();
  console.log(`parent: wrote ${MSG.length} bytes to pid ${child.pid} through descriptor 3`);
  show("child", new TextDecoder().decode(stdout));
  console.log(`child exited with code ${status.code}`);
}

/**
 * 26 · A socket pair between a parent and its child: messages both ways, boundaries kept
 *
 * `socketpair` makes two connected sockets in one process; the parent keeps one and hands the
 * other to a child it starts (descriptor 3, the way fork would leave it). Over a "seqpacket"
 * pair every send arrives as one message, whole, in order: the parent sends three questions of
 * different lengths, the child answers each, and when the parent closes its end the child sees
 * the end of the stream and exits. A Unix socket is two-way, unlike a pipe.
 *
 * Run: deno run --allow-ffi examples/26_socketpair.ts
 *
 * @module
 */

import { spawnDeno, UnixSocket } from "../mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

if (Deno.args[0] === "child") {
  using socket = UnixSocket.fromFd(3);
  for await (const m of socket.messages()) {
    const question = dec.decode(m.data);
    await socket.send(
      enc.encode(`${question.length} bytes, reversed: ${[...question].reverse().join("")}`),
    );
  }
  console.log("child: end of stream, exiting");
} else {
  const [mine, theirs] = UnixSocket.pair({ type: "seqpacket" });
  await using child = spawnDeno(import.meta.url, { args: ["child"], fds: { 3: theirs } });
  theirs.close(); // the child has its own copy now
  const into = new Uint8Array(256);
  for (const question of ["ping", "what is a socket pair?", "x"]) {
    await mine.send(enc.encode(question));
    const answer = await mine.receiveInto(into, { timeout: 10_000 });
    if (typeof answer !== "object") throw new Error("the child went away");
    console.log(
      `parent asked "${question}", child answered "${dec.decode(into.subarray(0, answer.length))}"`,
    );
  }
  mine.close(); // the child's messages() loop ends
  console.log(`child exited with code ${(await child.wait({ timeout: 10_000 })).code}`);
}

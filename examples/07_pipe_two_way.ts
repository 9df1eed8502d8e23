/**
 * 07 · A two-way conversation over two pipes (one pipe is one direction)
 *
 * A pipe carries bytes one way only, so a conversation needs two: parent → child on one,
 * child → parent on the other. The child gets them as descriptors 3 (questions) and 4
 * (answers); the parent asks for five squares, one line at a time, waiting for each answer.
 *
 * Run: deno run --allow-ffi examples/07_pipe_two_way.ts
 *
 * @module
 */

import { END_OF_STREAM, Pipe, PipeReader, PipeWriter, spawnDeno } from "../mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Reads one line (without its "\n") from a pipe, or END_OF_STREAM. */
async function readLine(
  from: PipeReader,
  pending: { text: string },
): Promise<string | typeof END_OF_STREAM> {
  const buf = new Uint8Array(256);
  while (!pending.text.includes("\n")) {
    const n = await from.read(buf, { timeout: 10_000 });
    if (n === END_OF_STREAM) return n;
    pending.text += dec.decode(buf.subarray(0, n));
  }
  const at = pending.text.indexOf("\n");
  const line = pending.text.slice(0, at);
  pending.text = pending.text.slice(at + 1);
  return line;
}

if (Deno.args[0] === "child") {
  using questions = PipeReader.fromFd(3);
  using answers = PipeWriter.fromFd(4);
  const pending = { text: "" };
  for (
    let q = await readLine(questions, pending);
    q !== END_OF_STREAM;
    q = await readLine(questions, pending)
  ) {
    const n = Number(q);
    await answers.write(enc.encode(`${n * n}\n`));
  }
} else {
  using down = Pipe.create(); // parent → child
  using up = Pipe.create(); // child → parent
  await using child = spawnDeno(import.meta.url, {
    args: ["child"],
    fds: { 3: down.reader, 4: up.writer },
  });
  down.reader.close();
  up.writer.close();
  const pending = { text: "" };
  for (let n = 1; n <= 5; n++) {
    await down.writer.write(enc.encode(`${n}\n`));
    const answer = await readLine(up.reader, pending);
    console.log(`parent → child: ${n}    child → parent: ${String(answer)}`);
  }
  down.writer.close(); // EOF ends the child's loop
  console.log(`child exited with code ${(await child.status).code}`);
}

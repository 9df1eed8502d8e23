// The other process of the pipe benchmarks. usage: _pipe_peer.ts MODE SIZE [PATH]
//   dipc-sink      read descriptor 3, SIZE bytes at most per read, until EOF (dipc PipeReader,
//                  try first, then wait); with
//                  PATH given as a byte count, write one byte to descriptor 4 once that many
//                  bytes have come (the end mark of a timed run)
//   dipc-echo      read SIZE bytes from descriptor 3, write them back to descriptor 4, repeat
//   stdio-sink     read stdin until EOF (Deno.stdin)
//   stdio-echo     read SIZE bytes from stdin, write them to stdout, repeat
//   unix-sink      connect to the Unix socket PATH and read until EOF
//   unix-echo      connect to the Unix socket PATH and echo SIZE-byte messages
import { END_OF_STREAM, type EndOfStream, PipeReader, PipeWriter, WOULD_BLOCK } from "../mod.ts";

const [mode = "", sizeArg = "64", path = ""] = Deno.args;
const size = Number(sizeArg);
const buf = new Uint8Array(Math.max(size, 1 << 20));

async function readFull(
  read: (b: Uint8Array) => Promise<number | null | EndOfStream>,
  into: Uint8Array,
): Promise<boolean> {
  let at = 0;
  while (at < into.length) {
    const n = await read(into.subarray(at));
    if (n === null || n === END_OF_STREAM) return false;
    at += n;
  }
  return true;
}

if (mode === "dipc-sink") {
  using r = PipeReader.fromFd(3);
  const mark = path === "" ? Infinity : Number(path);
  // One message per read, as the C harness reads: bigger gulps make the reader sleep more
  // often, and the writer then pays for more wake-ups (measured: 55 against 91 MB/s at 64 B,
  // in C as in Deno).
  const one = buf.subarray(0, size);
  let total = 0;
  for (;;) {
    const got = r.tryRead(one);
    const n = got === WOULD_BLOCK ? await r.read(one) : got;
    if (n === END_OF_STREAM) break;
    total += n;
    if (total >= mark) {
      using done = PipeWriter.fromFd(4);
      await done.write(new Uint8Array([1]));
      total = -Infinity;
    }
  }
} else if (mode === "dipc-echo") {
  using r = PipeReader.fromFd(3);
  using w = PipeWriter.fromFd(4);
  const msg = buf.subarray(0, size);
  const read = (b: Uint8Array): Promise<number | EndOfStream> => {
    const n = r.tryRead(b);
    return n === WOULD_BLOCK ? r.read(b) : Promise.resolve(n);
  };
  while (await readFull(read, msg)) {
    const n = w.tryWrite(msg);
    if (n !== msg.length) await w.write(msg.subarray(n === WOULD_BLOCK ? 0 : n));
  }
} else if (mode === "stdio-sink") {
  while ((await Deno.stdin.read(buf)) !== null) { /* drain */ }
} else if (mode === "stdio-echo") {
  const msg = buf.subarray(0, size);
  while (await readFull((b) => Deno.stdin.read(b), msg)) {
    let at = 0;
    while (at < size) at += await Deno.stdout.write(msg.subarray(at));
  }
} else if (mode === "unix-sink" || mode === "unix-echo") {
  const conn = await Deno.connect({ transport: "unix", path });
  if (mode === "unix-sink") {
    // One message per read, as the C harness and dipc's socket sink read.
    const one = buf.subarray(0, size);
    while ((await conn.read(one)) !== null) { /* drain */ }
  } else {
    const msg = buf.subarray(0, size);
    while (await readFull((b) => conn.read(b), msg)) {
      let at = 0;
      while (at < size) at += await conn.write(msg.subarray(at));
    }
  }
  conn.close();
}

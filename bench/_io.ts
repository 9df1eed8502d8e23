// Hot-loop helpers for the pipe benchmarks: the synchronous try forms first, a wait only when
// the pipe is full or empty (what a throughput-minded caller of dipc does).
import { END_OF_STREAM, type PipeReader, type PipeWriter, WOULD_BLOCK } from "../mod.ts";

/** Writes all of `msg`; returns a promise only when it had to wait. */
export function send(w: PipeWriter, msg: Uint8Array): Promise<void> | undefined {
  const n = w.tryWrite(msg);
  if (n === msg.length) return undefined;
  return w.write(msg.subarray(n === WOULD_BLOCK ? 0 : n));
}

/** Reads exactly `into.length` bytes; throws at end of stream. */
export async function receive(r: PipeReader, into: Uint8Array): Promise<void> {
  let at = 0;
  while (at < into.length) {
    const got = r.tryRead(into.subarray(at));
    const n = got === WOULD_BLOCK ? await r.read(into.subarray(at)) : got;
    if (n === END_OF_STREAM) throw new Error("peer closed");
    at += n;
  }
}

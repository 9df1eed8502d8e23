// Hot-loop helpers for the pipe benchmarks: the synchronous try forms first, a wait only when
// the pipe is full or empty (what a throughput-minded caller of dipc does).
import {
  END_OF_STREAM,
  type PipeReader,
  type PipeWriter,
  type UnixSocket,
  WOULD_BLOCK,
} from "../mod.ts";

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

/** Sends all of `msg` on a stream socket; returns a promise only when it had to wait. */
export function sendAll(s: UnixSocket, msg: Uint8Array): Promise<void> | undefined {
  const n = s.trySend(msg);
  if (n === msg.length) return undefined;
  return s.send(msg.subarray(n === WOULD_BLOCK ? 0 : n));
}

/** Receives exactly `into.length` bytes from a stream socket; false at end of stream. */
export async function receiveExactly(s: UnixSocket, into: Uint8Array): Promise<boolean> {
  for (let at = 0; at < into.length;) {
    const rest = into.subarray(at);
    const got = s.tryReceive(rest);
    const r = got === WOULD_BLOCK ? await s.receive(rest) : got;
    if (r === END_OF_STREAM) return false;
    at += r.length;
  }
  return true;
}

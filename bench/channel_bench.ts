// What the Channel interface costs over each transport used directly: a 4 KiB message sent and
// received in one process (so the figure is the interface's own work, not the noise of two
// processes), the direct form taking a caller-owned copy as Channel's bytes codec does (and, on a
// pipe, framing its messages as any program must). Each group's baseline is the transport used
// directly. Run: deno bench -A bench/channel_bench.ts
import {
  Channel,
  MessageQueue,
  Pipe,
  RingChannel,
  SysVMessageQueue,
  UnixSocket,
  WOULD_BLOCK,
} from "../mod.ts";

const SIZE = 4096;
// Everything made here is closed (temporary objects removed) when the bench process ends.
const made: Disposable[] = [];
const keep = <T extends Disposable>(x: T): T => (made.push(x), x);
globalThis.addEventListener("unload", () => {
  for (const x of made.reverse()) x[Symbol.dispose]();
});
const msg = new Uint8Array(SIZE).fill(3);
const into = new Uint8Array(SIZE + 16);
const check = (x: unknown): void => {
  if (x === WOULD_BLOCK) throw new Error("the message did not come");
};

{
  const ring = keep(RingChannel.temporary({ capacity: 1 << 16 }));
  const tx = keep(ring.sender());
  const rx = keep(ring.receiver());
  const chRing = RingChannel.temporary({ capacity: 1 << 16 });
  keep(chRing);
  const ctx = keep(Channel.ring(RingChannel.open(chRing.name), "send"));
  const crx = keep(Channel.ring(RingChannel.open(chRing.name), "receive"));
  Deno.bench("ring, direct (trySend ⇄ tryReceive)", { group: "ring 4 KiB", baseline: true }, () => {
    tx.trySend(msg);
    check(rx.tryReceive());
  });
  Deno.bench("ring, through Channel", { group: "ring 4 KiB" }, () => {
    ctx.trySend(msg);
    check(crx.tryReceive());
  });
}
{
  const q = keep(MessageQueue.temporary({ maxMessages: 4, messageSize: SIZE }));
  const ch = keep(
    Channel.posixQueue(MessageQueue.temporary({ maxMessages: 4, messageSize: SIZE })),
  );
  Deno.bench("POSIX queue, direct", { group: "POSIX queue 4 KiB", baseline: true }, () => {
    q.trySend(msg);
    check(q.tryReceive());
  });
  Deno.bench("POSIX queue, through Channel", { group: "POSIX queue 4 KiB" }, () => {
    ch.trySend(msg);
    check(ch.tryReceive());
  });
}
{
  const q = keep(SysVMessageQueue.temporary());
  const ch = keep(Channel.sysvQueue(SysVMessageQueue.temporary()));
  const type = { type: 1 };
  Deno.bench("System V queue, direct", { group: "System V queue 4 KiB", baseline: true }, () => {
    q.trySend(msg, type);
    check(q.tryReceive(type));
  });
  Deno.bench("System V queue, through Channel", { group: "System V queue 4 KiB" }, () => {
    ch.trySend(msg);
    check(ch.tryReceive());
  });
}
{
  const [a, b] = UnixSocket.pair({ type: "seqpacket" });
  keep(a);
  keep(b);
  const [c, d] = UnixSocket.pair({ type: "seqpacket" });
  const ctx = keep(Channel.socket(c, { maxMessage: SIZE }));
  const crx = keep(Channel.socket(d, { maxMessage: SIZE }));
  Deno.bench("seqpacket socket, direct", { group: "socket 4 KiB", baseline: true }, () => {
    a.trySend(msg);
    const r = b.tryReceive(into);
    if (typeof r !== "object") throw new Error("the message did not come");
    into.slice(0, r.length);
  });
  Deno.bench("seqpacket socket, through Channel", { group: "socket 4 KiB" }, () => {
    ctx.trySend(msg);
    check(crx.tryReceive());
  });
}
{
  const p = keep(Pipe.create({ capacity: 1 << 16 }));
  const q = Pipe.create({ capacity: 1 << 16 });
  const ctx = keep(Channel.pipe({ writer: q.writer }, { maxMessage: SIZE }));
  const crx = keep(Channel.pipe({ reader: q.reader }, { maxMessage: SIZE }));
  // Directly, a program that wants messages over a pipe frames them itself: the same 4-byte
  // length, written with the message in one write, read back whole.
  Deno.bench("pipe, direct (framed by hand)", { group: "pipe 4 KiB", baseline: true }, () => {
    const frame = new Uint8Array(4 + SIZE);
    frame[0] = SIZE & 0xff; // little-endian, as Channel writes it
    frame[1] = SIZE >>> 8;
    frame.set(msg, 4);
    p.writer.tryWrite(frame);
    const n = p.reader.tryRead(into.subarray(0, 4 + SIZE));
    if (n !== 4 + SIZE) throw new Error("the frame did not come whole");
    into.slice(4, 4 + ((into[0] ?? 0) | (into[1] ?? 0) << 8));
  });
  Deno.bench("pipe, through Channel (framed)", { group: "pipe 4 KiB" }, () => {
    ctx.trySend(msg);
    check(crx.tryReceive());
  });
}

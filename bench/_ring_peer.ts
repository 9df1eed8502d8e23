// The other process of the ring benchmarks (bench/_ring_io.ts). Usage:
//   _ring_peer.ts produce NAME SIZE COUNT copy|zero|batch
//                        send COUNT messages of SIZE bytes, then close (COUNT 0: until the
//                        receiver goes); batch: sendBatchSync of up to 64 KiB of them at a time
//   _ring_peer.ts echo DOWN UP SIZE SPINS              send back every message until end of stream,
//                                                      waiting with SPINS tries (-1: the default)
import { END_OF_STREAM, ErrnoError, RingChannel } from "../mod.ts";

const [mode, a = "", b = "", c = "", d = ""] = Deno.args;
if (mode === "produce") {
  using channel = RingChannel.open(a);
  using tx = channel.sender();
  const size = Number(b);
  const count = Number(c) || Infinity;
  try {
    if (d === "zero") {
      for (let i = 0; i < count; i++) {
        tx.reserveSync(size)[0] = i & 255;
        tx.commit();
      }
    } else if (d === "batch") {
      const msg = new Uint8Array(size).fill(1);
      const per = Math.max(1, Math.floor(65536 / size));
      const batch = Array.from({ length: per }, () => msg);
      for (let i = 0; i < count; i += per) {
        tx.sendBatchSync(i + per <= count ? batch : batch.slice(0, count - i));
      }
    } else {
      const msg = new Uint8Array(size).fill(1);
      for (let i = 0; i < count; i++) tx.sendSync(msg);
    }
  } catch (e) {
    if (!(e instanceof ErrnoError && e.code === "EPIPE")) throw e; // the receiver went: done
  }
} else if (mode === "echo") {
  using down = RingChannel.open(a);
  using up = RingChannel.open(b);
  const opts = Number(d) >= 0 ? { spins: Number(d) } : {};
  using rx = down.receiver(opts);
  using tx = up.sender(opts);
  const buf = new Uint8Array(Number(c));
  for (let n = rx.receiveIntoSync(buf); n !== END_OF_STREAM; n = rx.receiveIntoSync(buf)) {
    tx.sendSync(buf.subarray(0, n));
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}

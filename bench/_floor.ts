// The floor under a dipc message, measured in one Deno process with no peer: what a bare FFI
// call, the atomics of a publication, a clock read and a copy of each size cost, beside a ring
// message sent and received in the same process (so no waiting and no cache line moving between
// cores). The suite prints these beside its ratios, as what stands between dipc and C.
// Prints RESULT lines: what=… ns=… (per operation, the median of 5 timed stretches).
import { RingChannel } from "../mod.ts";
import { libc, libpthread } from "../ffi/load.ts";
import { clockNs } from "../ffi/util.ts";

const N = 2_000_000;
function ns(what: string, once: () => void, n = N): void {
  for (let i = 0; i < n / 10; i++) once(); // warm-up: compiled
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) once();
    runs.push((performance.now() - t0) * 1e6 / n);
  }
  runs.sort((a, b) => a - b);
  console.log(`RESULT what=${what} ns=${runs[2]?.toFixed(2)}`);
}

const c = libc();
const attr = new Uint8Array(64);
ns("ffi-call-no-arguments", () => void c.__errno_location());
const p = libpthread();
ns("ffi-call-one-buffer", () => void p.pthread_mutexattr_init(attr));
ns("ffi-syscall-getpid", () => void c.getpid());
const words = new Int32Array(new SharedArrayBuffer(64));
let sink = 0;
ns("atomics-load-store", () => {
  sink += Atomics.load(words, 1);
  Atomics.store(words, 0, sink);
});
ns("performance-now", () => void (sink += performance.now()));
ns("clock-gettime-through-ffi", () => void (sink += clockNs()));
for (const size of [64, 4096, 65536, 1 << 20]) {
  const from = new Uint8Array(size).fill(1);
  const to = new Uint8Array(size);
  ns(`copy-${size}`, () => to.set(from), size >= 65536 ? N / 1000 : N / (size / 64));
}
{
  using ring = RingChannel.temporary({ capacity: 1 << 16 });
  using tx = ring.sender();
  using rx = ring.receiver();
  const msg = new Uint8Array(64).fill(7);
  const into = new Uint8Array(64);
  ns("ring-64-same-process", () => {
    tx.trySend(msg);
    rx.tryReceiveInto(into);
  });
  const batch = Array.from({ length: 64 }, () => msg);
  const big = new Uint8Array(65536);
  const lengths = new Uint32Array(1024);
  ns("ring-64-batch-of-64-same-process", () => {
    tx.trySendBatch(batch);
    rx.tryReceiveBatch(big, lengths);
  }, N / 64);
}
if (sink === -1) console.log(sink);

/**
 * The ring channel between two processes, at 64 B, 4 KiB, 64 KiB and 1 MiB: throughput (256 KiB
 * per iteration, in messages of the group's size, taken from a child that sends without pause;
 * MB/s = 256 KiB ÷ time per iteration), copied and zero-copy, and round trip (a message to a
 * child that echoes it back), spinning before it parks (the default) and parking at once
 * (`spins: 0`). Deno's Unix socket to a Deno child is the baseline of every group.
 * `deno task bench:suite` runs the same against the C harness and prints the ratios.
 *
 * Run: deno bench -A bench/ring_bench.ts
 *
 * @module
 */

import { END_OF_STREAM, RingChannel, WOULD_BLOCK } from "../mod.ts";
import { ringEcho } from "./_measure.ts";

const SIZES: Array<[string, number]> = [
  ["64 B", 64],
  ["4 KiB", 4096],
  ["64 KiB", 65536],
  ["1 MiB", 1 << 20],
];
const PEER = new URL("./_ring_peer.ts", import.meta.url).pathname;
const PIPE_PEER = new URL("./_pipe_peer.ts", import.meta.url).pathname;
const BATCH = 256 << 10;
const cleanup: Array<() => void> = [];
const dir = await Deno.makeTempDir({ prefix: "dipc-bench-" });
globalThis.addEventListener("unload", () => {
  for (const c of cleanup) c();
  Deno.removeSync(dir, { recursive: true });
});
const peer = (...args: string[]): Deno.ChildProcess =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-ffi", PEER, ...args],
  }).spawn();

for (const [label, size] of SIZES) {
  const perBatch = Math.max(1, BATCH / size);
  for (const how of ["copy", "zero"] as const) {
    const ch = RingChannel.temporary({ capacity: 4 << 20 });
    const rx = ch.receiver();
    peer("produce", ch.name ?? "", String(size), "0", how); // 0: until the receiver goes
    cleanup.push(() => ch.close());
    const into = new Uint8Array(size);
    Deno.bench({
      group: `ring throughput ${label}`,
      name: how === "copy" ? "ring: sendSync ⇄ receiveIntoSync" : "ring zero-copy: reserve ⇄ peek",
      fn(): void {
        for (let i = 0; i < perBatch; i++) {
          if (how === "copy") rx.receiveIntoSync(into, { timeout: 10_000 });
          else {
            const m = rx.tryPeek();
            if (m === WOULD_BLOCK || m === END_OF_STREAM) {
              i--;
              continue;
            }
            rx.release();
          }
        }
      },
    });
  }
  {
    const path = `${dir}/thr-${size}.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "-A", PIPE_PEER, "unix-sink", String(size), path],
    }).spawn();
    const conn = await listener.accept();
    cleanup.push(() => conn.close());
    const msg = new Uint8Array(size).fill(7);
    Deno.bench({
      group: `ring throughput ${label}`,
      name: "Deno Unix socket",
      baseline: true,
      async fn(): Promise<void> {
        for (let i = 0; i < perBatch; i++) {
          let at = 0;
          while (at < size) at += await conn.write(msg.subarray(at));
        }
      },
    });
  }
  for (const spins of [undefined, 0]) {
    const { tx, rx, [Symbol.dispose]: close } = ringEcho(size, spins);
    cleanup.push(close);
    const msg = new Uint8Array(size).fill(3);
    const back = new Uint8Array(size);
    Deno.bench({
      group: `ring round trip ${label}`,
      name: spins === 0 ? "ring, park at once (spins: 0)" : "ring, spin then park",
      fn(): void {
        tx.sendSync(msg, { timeout: 10_000 });
        rx.receiveIntoSync(back, { timeout: 10_000 });
      },
    });
  }
  {
    const path = `${dir}/rt-${size}.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "-A", PIPE_PEER, "unix-echo", String(size), path],
    }).spawn();
    const conn = await listener.accept();
    cleanup.push(() => conn.close());
    const msg = new Uint8Array(size).fill(5);
    const back = new Uint8Array(size);
    Deno.bench({
      group: `ring round trip ${label}`,
      name: "Deno Unix socket",
      baseline: true,
      async fn(): Promise<void> {
        let at = 0;
        while (at < size) at += await conn.write(msg.subarray(at));
        for (let got = 0; got < size;) {
          const r = await conn.read(back.subarray(got));
          if (r === null) throw new Error("peer closed");
          got += r;
        }
      },
    });
  }
}

/**
 * Pipes between two processes: throughput (256 KiB per iteration, in messages of the group's
 * size, written to a child that drains them; MB/s = 256 KiB ÷ time per iteration) and
 * round trip (a message to a child that echoes it back), at 64 B, 4 KiB, 64 KiB and 1 MiB,
 * for dipc's pipes against `Deno.Command`'s stdio pipes and Deno's Unix sockets (the
 * baselines). The peer is a Deno process in every case (bench/_pipe_peer.ts). The C harness's
 * `pipe` and `pipe1m` figures come from `deno task bench:c`.
 *
 * Run: deno bench -A bench/pipe_bench.ts
 *
 * @module
 */

import { END_OF_STREAM, type EndOfStream, Pipe, spawn } from "../mod.ts";
import { receive, send } from "./_io.ts";

const SIZES: Array<[string, number]> = [
  ["64 B", 64],
  ["4 KiB", 4096],
  ["64 KiB", 65536],
  ["1 MiB", 1 << 20],
];
const PEER = new URL("./_pipe_peer.ts", import.meta.url).pathname;
const deno = (mode: string, size: number, ...rest: string[]): string[] => [
  "run",
  "--quiet",
  "--allow-ffi",
  "--allow-read",
  "--allow-write",
  "--allow-net",
  PEER,
  mode,
  String(size),
  ...rest,
];

async function exactly(
  read: (b: Uint8Array) => Promise<number | null | EndOfStream>,
  into: Uint8Array,
): Promise<void> {
  let at = 0;
  while (at < into.length) {
    const n = await read(into.subarray(at));
    if (n === null || n === END_OF_STREAM) throw new Error("peer closed");
    at += n;
  }
}

const dir = await Deno.makeTempDir({ prefix: "dipc-bench-" });
const cleanup: Array<() => void | Promise<void>> = [];
globalThis.addEventListener("unload", () => {
  for (const c of cleanup) c();
  Deno.removeSync(dir, { recursive: true });
});

/** Throughput iterations write this much, in messages of the group's size. */
const BATCH = 256 << 10;

for (const [label, size] of SIZES) {
  const msg = new Uint8Array(size).fill(7);
  const back = new Uint8Array(size);
  const perBatch = Math.max(1, BATCH / size);

  // ---- throughput: one message per iteration into a draining child ----
  {
    const pipe = Pipe.create({ capacity: 1 << 20 });
    const child = spawn(Deno.execPath(), {
      args: deno("dipc-sink", size),
      fds: { 3: pipe.reader },
    });
    pipe.reader.close();
    cleanup.push(() => pipe.writer.close());
    Deno.bench({
      group: `throughput ${label}`,
      name: `dipc pipe (1 MiB capacity)`,
      async fn(): Promise<void> {
        for (let i = 0; i < perBatch; i++) {
          const wait = send(pipe.writer, msg);
          if (wait) await wait;
        }
      },
    });
    void child;
  }
  {
    const cmd = new Deno.Command(Deno.execPath(), {
      args: deno("stdio-sink", size),
      stdin: "piped",
    }).spawn();
    const writer = cmd.stdin.getWriter();
    cleanup.push(() => void writer.close().catch(() => {}));
    Deno.bench({
      group: `throughput ${label}`,
      name: "Deno.Command stdin pipe",
      baseline: true,
      async fn(): Promise<void> {
        for (let i = 0; i < perBatch; i++) await writer.write(msg);
      },
    });
  }
  {
    const path = `${dir}/thr-${size}.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    new Deno.Command(Deno.execPath(), { args: deno("unix-sink", size, path) }).spawn();
    const conn = await listener.accept();
    cleanup.push(() => conn.close());
    Deno.bench({
      group: `throughput ${label}`,
      name: "Deno Unix socket",
      async fn(): Promise<void> {
        for (let i = 0; i < perBatch; i++) {
          let at = 0;
          while (at < size) at += await conn.write(msg.subarray(at));
        }
      },
    });
  }

  // ---- round trip: a message to an echoing child and back ----
  {
    const down = Pipe.create({ capacity: 1 << 20 });
    const up = Pipe.create({ capacity: 1 << 20 });
    spawn(Deno.execPath(), {
      args: deno("dipc-echo", size),
      fds: { 3: down.reader, 4: up.writer },
    });
    down.reader.close();
    up.writer.close();
    cleanup.push(() => down.writer.close());
    Deno.bench({
      group: `round trip ${label}`,
      name: "dipc pipes",
      async fn(): Promise<void> {
        await Promise.all([send(down.writer, msg), receive(up.reader, back)]);
      },
    });
  }
  {
    const cmd = new Deno.Command(Deno.execPath(), {
      args: deno("stdio-echo", size),
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const writer = cmd.stdin.getWriter();
    const reader = cmd.stdout.getReader({ mode: "byob" });
    cleanup.push(() => void writer.close().catch(() => {}));
    let spare = new Uint8Array(size);
    Deno.bench({
      group: `round trip ${label}`,
      name: "Deno.Command stdin/stdout",
      baseline: true,
      async fn(): Promise<void> {
        const w = writer.write(msg);
        let got = 0;
        while (got < size) {
          const { value } = await reader.read(spare.subarray(got));
          if (!value) throw new Error("peer closed");
          spare = new Uint8Array(value.buffer);
          got += value.length;
        }
        await w;
      },
    });
  }
  {
    const path = `${dir}/rt-${size}.sock`;
    const listener = Deno.listen({ transport: "unix", path });
    new Deno.Command(Deno.execPath(), { args: deno("unix-echo", size, path) }).spawn();
    const conn = await listener.accept();
    cleanup.push(() => conn.close());
    Deno.bench({
      group: `round trip ${label}`,
      name: "Deno Unix socket",
      async fn(): Promise<void> {
        const w = (async () => {
          let at = 0;
          while (at < size) at += await conn.write(msg.subarray(at));
        })();
        await exactly((b) => conn.read(b), back);
        await w;
      },
    });
  }
}

/**
 * Unix stream sockets between two processes: throughput (256 KiB per iteration, in messages of
 * the group's size, sent to a child that drains them) and round trip (a message to a child that
 * echoes it back), at 64 B, 4 KiB, 64 KiB and 1 MiB, for dipc's socket pair and a dipc
 * connection through a listener against Deno's own Unix sockets (`Deno.listen`, the baseline).
 * The peer is a Deno process in every case (bench/_socket_peer.ts, bench/_pipe_peer.ts). The C
 * harness's `uds` figures (a socket pair) come from `deno task bench:c`; `deno task bench:suite`
 * puts all of them side by side.
 *
 * Run: deno bench -A bench/socket_bench.ts
 *
 * @module
 */

import { spawn, UnixListener, UnixSocket } from "../mod.ts";
import { receiveExactly, sendAll } from "./_io.ts";

const SIZES: Array<[string, number]> = [
  ["64 B", 64],
  ["4 KiB", 4096],
  ["64 KiB", 65536],
  ["1 MiB", 1 << 20],
];
const SOCKET_PEER = new URL("./_socket_peer.ts", import.meta.url).pathname;
const PIPE_PEER = new URL("./_pipe_peer.ts", import.meta.url).pathname;
const BATCH = 256 << 10;

const dir = await Deno.makeTempDir({ prefix: "dipc-bench-" });
const cleanup: Array<() => void> = [];
globalThis.addEventListener("unload", () => {
  for (const c of cleanup) c();
  Deno.removeSync(dir, { recursive: true });
});

/** A dipc socket to a child running the socket peer in `mode`, over a pair or a listener. */
async function dipcPeer(
  mode: "sink" | "echo",
  size: number,
  how: "pair" | "path",
): Promise<UnixSocket> {
  const args = ["run", "--quiet", "--allow-ffi", SOCKET_PEER, mode, String(size)];
  if (how === "pair") {
    const [mine, theirs] = UnixSocket.pair();
    spawn(Deno.execPath(), { args, fds: { 3: theirs } });
    theirs.close();
    cleanup.push(() => mine.close());
    return mine;
  }
  const listener = UnixListener.listen(`${dir}/${mode}-${size}.sock`);
  spawn(Deno.execPath(), { args: [...args, `${dir}/${mode}-${size}.sock`] });
  const socket = await listener.accept({ timeout: 30_000 });
  cleanup.push(() => {
    socket.close();
    listener.close();
  });
  return socket;
}

/** A Deno Unix socket connection to the pipe peer's unix-sink or unix-echo. */
async function denoPeer(mode: "unix-sink" | "unix-echo", size: number): Promise<Deno.UnixConn> {
  const path = `${dir}/deno-${mode}-${size}.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-ffi",
      "--allow-read",
      "--allow-write",
      "--allow-net",
      PIPE_PEER,
      mode,
      String(size),
      path,
    ],
  }).spawn();
  const conn = await listener.accept();
  cleanup.push(() => {
    conn.close();
    listener.close();
  });
  return conn;
}

async function denoWrite(conn: Deno.Conn, msg: Uint8Array): Promise<void> {
  let at = 0;
  while (at < msg.length) at += await conn.write(msg.subarray(at));
}

for (const [label, size] of SIZES) {
  const msg = new Uint8Array(size).fill(7);
  const back = new Uint8Array(size);
  const perBatch = Math.max(1, BATCH / size);

  for (const how of ["pair", "path"] as const) {
    const socket = await dipcPeer("sink", size, how);
    Deno.bench({
      group: `throughput ${label}`,
      name: how === "pair" ? "dipc socket pair" : "dipc socket through a listener",
      async fn(): Promise<void> {
        for (let i = 0; i < perBatch; i++) {
          const wait = sendAll(socket, msg);
          if (wait) await wait;
        }
      },
    });
  }
  {
    const conn = await denoPeer("unix-sink", size);
    Deno.bench({
      group: `throughput ${label}`,
      name: "Deno Unix socket",
      baseline: true,
      async fn(): Promise<void> {
        for (let i = 0; i < perBatch; i++) await denoWrite(conn, msg);
      },
    });
  }

  for (const how of ["pair", "path"] as const) {
    const socket = await dipcPeer("echo", size, how);
    Deno.bench({
      group: `round trip ${label}`,
      name: how === "pair" ? "dipc socket pair" : "dipc socket through a listener",
      async fn(): Promise<void> {
        const wait = sendAll(socket, msg);
        if (!(await receiveExactly(socket, back))) throw new Error("peer closed");
        if (wait) await wait;
      },
    });
  }
  {
    const conn = await denoPeer("unix-echo", size);
    Deno.bench({
      group: `round trip ${label}`,
      name: "Deno Unix socket",
      baseline: true,
      async fn(): Promise<void> {
        const w = denoWrite(conn, msg);
        for (let got = 0; got < size;) {
          const n = await conn.read(back.subarray(got));
          if (n === null) throw new Error("peer closed");
          got += n;
        }
        await w;
      },
    });
  }
}

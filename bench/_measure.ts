// Measurements shared by tools/bench_report.ts and tools/bench_suite.ts, each made the way the
// C baseline (bench/c/baseline.c) makes its own: throughput is the bytes a receiver
// took over the time it took them; a round trip is a message to an echoing peer and back, each
// one timed, the first 2% dropped as warm-up. The peer is always a separate Deno process.
import {
  END_OF_STREAM,
  mkfifo,
  openFifoReader,
  Pipe,
  type PipeReader,
  type PipeWriter,
  RingChannel,
  type RingReceiver,
  type RingSender,
  spawn,
  tryOpenFifoWriter,
  UnixListener,
  UnixSocket,
  WOULD_BLOCK,
} from "../mod.ts";
import { childrenCpuNs, clockNs, cpuAffinity, cpuTimeNs, pinToCpus } from "../ffi/util.ts";
import { makeQueue, startPeer } from "./_mq_io.ts";
import { receive, receiveExactly, send, sendAll } from "./_io.ts";

const PIPE_PEER = new URL("./_pipe_peer.ts", import.meta.url).pathname;
const RING_PEER = new URL("./_ring_peer.ts", import.meta.url).pathname;
const SOCKET_PEER = new URL("./_socket_peer.ts", import.meta.url).pathname;
const NATS_PEER = new URL("./_nats_peer.ts", import.meta.url).pathname;

/** Runs a program; returns its standard output, or throws with its standard error. */
export async function output(
  cmd: string,
  args: string[],
  timeoutMs: number = 300_000,
): Promise<string> {
  // Bounded: a measurement that hangs (a peer that never answers) is killed, and says so.
  const signal = AbortSignal.timeout(timeoutMs);
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped", signal })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (signal.aborted) throw new Error(`${cmd} ${args.join(" ")} took over ${timeoutMs} ms`);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/** RESULT lines of the C harness as key=value records. */
export function results(text: string): Array<Record<string, string>> {
  return text.split("\n").filter((l) => l.startsWith("RESULT ")).map((l) =>
    Object.fromEntries(l.slice(7).split(" ").map((kv) => kv.split("=") as [string, string]))
  );
}

/**
 * Times `n` round trips one by one, as the C harness does (`CLOCK_MONOTONIC` read around each),
 * and returns them in µs, sorted, with the first 2% (warm-up) dropped. A synchronous `once` is
 * not awaited, so it pays no microtask.
 */
export async function timeEach(n: number, once: () => void | Promise<void>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = clockNs(); // the C harness's clock: CLOCK_MONOTONIC, not performance.now()'s
    const pending = once();
    if (pending) await pending;
    times.push((clockNs() - t0) / 1000);
  }
  return times.slice(Math.floor(n * 0.02)).sort((a, b) => a - b);
}

let lastCpu = NaN;

/**
 * CPU time per message (µs) of the last measurement, both processes together, over the measured
 * stretch: this process's clock and the peer's (`clock_getcpuclockid`) read at its start and end;
 * a peer that had exited by the end counts until its exit (its total from
 * `getrusage(RUSAGE_CHILDREN)` once reaped). NaN when it could not be read.
 */
export const cpuPerMessage = (): number => lastCpu;

/**
 * The two CPUs a measured pair runs on (this process's main thread on the first, the peer's on
 * the second), or undefined when this process may use fewer than two or `DIPC_BENCH_PIN=0`
 * asks for none. C's pairs are pinned the same way (bench/c/baseline.c, `split`).
 */
export const PAIR_CPUS: readonly [number, number] | undefined = (() => {
  if (Deno.env.get("DIPC_BENCH_PIN") === "0") return undefined;
  const cpus = cpuAffinity();
  return cpus.length >= 2 ? [cpus[0] ?? 0, cpus[1] ?? 1] : undefined;
})();
/** The CPUs this process may use, given back to its main thread after each measurement. */
const ALL_CPUS = cpuAffinity();

/**
 * Starts metering the CPU of this process and of the child `pid` (not yet reaped, and the only
 * child reaped until `done`), and pins this process's main thread to the pair's first CPU and
 * the child's to the second, until `done`. `stop(messages)` ends the stretch; `done()`, called
 * once the child has been reaped, sets what `cpuPerMessage()` returns.
 */
function cpuMeter(pid: number): { stop(messages: number): void; done(): void } {
  // Only the two main threads: children spawned later still start free to run anywhere.
  if (PAIR_CPUS !== undefined) {
    pinToCpus([PAIR_CPUS[0]]);
    pinToCpus([PAIR_CPUS[1]], pid);
  }
  const children0 = childrenCpuNs();
  const peer0 = cpuTimeNs(pid);
  const self0 = cpuTimeNs();
  let used = NaN;
  let peer = NaN;
  let messages = NaN;
  lastCpu = NaN;
  return {
    stop(n: number): void {
      used = cpuTimeNs() - self0;
      peer = cpuTimeNs(pid) - peer0; // NaN if it has exited already
      messages = n;
    },
    done(): void {
      if (PAIR_CPUS !== undefined && ALL_CPUS.length > 0) pinToCpus(ALL_CPUS);
      if (Number.isNaN(peer)) peer = childrenCpuNs() - children0 - peer0;
      lastCpu = (used + peer) / messages / 1e3;
    },
  };
}

/** The `p` quantile of sorted figures. */
export const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
/** The median of unsorted figures. */
export const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const pipePeer = (mode: string, size: number, extra = ""): string[] => [
  "run",
  "--quiet",
  "--allow-ffi",
  ...(mode.startsWith("unix") ? ["--allow-read", "--allow-write", "--allow-net"] : []),
  PIPE_PEER,
  mode,
  String(size),
  ...(extra ? [extra] : []),
];

/** A pipe, or a FIFO in a temporary directory (default capacity), as a reader and a writer. */
function byteStream(kind: "pipe" | "fifo", capacity: number): {
  reader: PipeReader;
  writer: PipeWriter;
  close(): void;
} {
  if (kind === "pipe") {
    const p = Pipe.create({ capacity });
    return { reader: p.reader, writer: p.writer, close: () => p.close() };
  }
  const dir = Deno.makeTempDirSync({ prefix: "dipc-fifo-" });
  mkfifo(`${dir}/f`);
  const reader = openFifoReader(`${dir}/f`);
  const writer = tryOpenFifoWriter(`${dir}/f`);
  if (writer === WOULD_BLOCK) throw new Error("the FIFO has no reader");
  return {
    reader,
    writer,
    close: () => {
      reader.close();
      writer.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

/** MB/s of `total` bytes sent in `size`-byte messages to a draining Deno child over a pipe/FIFO. */
export async function pipeThroughput(
  size: number,
  capacity: number,
  total: number,
  kind: "pipe" | "fifo" = "pipe",
  coalesce = false,
): Promise<number> {
  const data = byteStream(kind, capacity);
  using done = Pipe.create();
  try {
    await using child = spawn(Deno.execPath(), {
      // Coalesced, the reader takes what is there too (64 KiB a read), as a stream reader does.
      args: pipePeer("dipc-sink", coalesce ? Math.max(size, 65536) : size, String(total)),
      fds: { 3: data.reader, 4: done.writer },
    });
    data.reader.close();
    done.writer.close();
    await new Promise((r) => setTimeout(r, 300)); // let the child start
    const msg = new Uint8Array(size).fill(1);
    const per = Math.max(1, Math.floor(65536 / size));
    const batch = Array.from({ length: per }, () => msg);
    const cpu = cpuMeter(child.pid);
    const t0 = performance.now();
    for (let sent = 0; sent < total;) {
      if (coalesce) {
        const k = Math.min(per, Math.ceil((total - sent) / size));
        await data.writer.writeBatch(k === per ? batch : batch.slice(0, k));
        sent += k * size;
        continue;
      }
      const wait = send(data.writer, msg);
      if (wait) await wait;
      sent += size;
    }
    await done.reader.read(new Uint8Array(1), { timeout: 60_000 });
    const seconds = (performance.now() - t0) / 1000;
    cpu.stop(total / size);
    data.writer.close();
    await child.status;
    cpu.done();
    return total / seconds / 1e6;
  } finally {
    data.close();
  }
}

/** Sorted round-trip times (µs) of `n` messages echoed by a Deno child over two pipes/FIFOs. */
export async function pipeRoundTrips(
  size: number,
  n: number,
  kind: "pipe" | "fifo" = "pipe",
): Promise<number[]> {
  const down = byteStream(kind, 1 << 20);
  const up = byteStream(kind, 1 << 20);
  try {
    await using child = spawn(Deno.execPath(), {
      args: pipePeer("dipc-echo", size),
      fds: { 3: down.reader, 4: up.writer },
    });
    down.reader.close();
    up.writer.close();
    const msg = new Uint8Array(size).fill(2);
    const back = new Uint8Array(size);
    const cpu = cpuMeter(child.pid);
    const times = await timeEach(n, async () => {
      const wait = send(down.writer, msg);
      await receive(up.reader, back);
      if (wait) await wait;
    });
    cpu.stop(n);
    down.writer.close();
    await child.status;
    cpu.done();
    return times;
  } finally {
    down.close();
    up.close();
  }
}

/** The largest message either queue kind takes on these machines; bigger ones go in pieces. */
export const QUEUE_PIECE = 8192;

/**
 * MB/s of `total` bytes in `size`-byte messages (in 8 KiB pieces above 8 KiB, as the C harness
 * sends them) to a Deno child draining a dipc queue. Both sides try first and then wait
 * asynchronously, or (`sync`) block in the kernel as C's sides do (`sendSync` here,
 * `receiveIntoSync` there).
 */
export async function queueThroughput(
  kind: "posix" | "sysv",
  size: number,
  total: number,
  sync = false,
): Promise<number> {
  const piece = Math.min(size, QUEUE_PIECE);
  const [q, address, close] = makeQueue(kind, piece);
  const [done, doneAddress, closeDone] = makeQueue(kind, 8);
  try {
    const mode = sync ? "sink-sync" : "sink";
    const child = startPeer(kind, [mode, address, doneAddress, String(total)]);
    await new Promise((r) => setTimeout(r, 300)); // let the child start
    const msg = new Uint8Array(piece).fill(1);
    const cpu = cpuMeter(child.pid);
    const t0 = performance.now();
    for (let sent = 0; sent < total; sent += piece) {
      if (sync) q.sendSync(msg);
      else if (q.trySend(msg) === WOULD_BLOCK) await q.send(msg);
    }
    await done.receive(new Uint8Array(8));
    const seconds = (performance.now() - t0) / 1000;
    cpu.stop(total / size);
    await q.send(new Uint8Array(0));
    await child.status;
    cpu.done();
    return total / seconds / 1e6;
  } finally {
    close();
    closeDone();
  }
}

/**
 * Sorted round-trip times (µs) of `n` messages of `size` bytes (8 KiB pieces above 8 KiB: all
 * pieces go, all come back) echoed by a Deno child over two dipc queues.
 */
export async function queueRoundTrips(
  kind: "posix" | "sysv",
  size: number,
  n: number,
): Promise<number[]> {
  const piece = Math.min(size, QUEUE_PIECE);
  const pieces = Math.ceil(size / piece);
  const [down, downAddress, closeDown] = makeQueue(kind, piece);
  const [up, upAddress, closeUp] = makeQueue(kind, piece);
  try {
    const child = startPeer(kind, ["echo", downAddress, upAddress]);
    const msg = new Uint8Array(piece).fill(2);
    const back = new Uint8Array(piece);
    const sendAll = async (): Promise<void> => {
      for (let i = 0; i < pieces; i++) if (down.trySend(msg) === WOULD_BLOCK) await down.send(msg);
    };
    const receiveAll = async (): Promise<void> => {
      for (let i = 0; i < pieces; i++) {
        if (up.tryReceive(back) === WOULD_BLOCK) await up.receive(back);
      }
    };
    const cpu = cpuMeter(child.pid);
    const times = await timeEach(
      n,
      pieces === 1
        ? async () => {
          if (down.trySend(msg) === WOULD_BLOCK) await down.send(msg);
          if (up.tryReceive(back) === WOULD_BLOCK) await up.receive(back);
        }
        : async () => void await Promise.all([sendAll(), receiveAll()]),
    );
    cpu.stop(n);
    await down.send(new Uint8Array(0));
    await child.status;
    cpu.done();
    return times;
  } finally {
    closeDown();
    closeUp();
  }
}

/**
 * MB/s of `count` messages of `size` bytes from a Deno child to this process through a ring
 * channel: blocking sends there, blocking receives here, as the C harness's `shmring` does
 * (copy in, copy out); or, with `zeroCopy`, reserve/commit there and peek/release here.
 */
export async function ringThroughput(
  size: number,
  count: number,
  how: "copy" | "zero" | "batch" = "copy",
): Promise<number> {
  const zeroCopy = how === "zero";
  // The C ring's size (1 MiB), or the smallest power of two that takes a message of `size`.
  let capacity = 1 << 20;
  while (capacity / 2 - 8 < size) capacity *= 2;
  using ch = RingChannel.temporary({ capacity });
  using rx = ch.receiver();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-ffi",
      RING_PEER,
      "produce",
      ch.name ?? "",
      String(size),
      String(count),
      how,
    ],
  }).spawn();
  const into = new Uint8Array(how === "batch" ? Math.max(size, 65536) : size);
  const lengths = new Uint32Array(Math.max(1, Math.floor(65536 / size)));
  // The clock starts at the first message, once the child is running.
  let first = rx.receiveIntoSync(into, { timeout: 30_000 });
  const cpu = cpuMeter(child.pid);
  const t0 = performance.now();
  let bytes = 0;
  if (zeroCopy) {
    for (let m = rx.tryPeek(); m !== END_OF_STREAM; m = rx.tryPeek()) {
      if (m === WOULD_BLOCK) {
        m = await rx.peek({ timeout: 30_000 });
        if (m === END_OF_STREAM) break;
      }
      bytes += m.length;
      rx.release();
    }
  } else if (how === "batch") {
    const wait = { timeout: 30_000 };
    for (let k = rx.receiveBatchSync(into, lengths, wait); k !== END_OF_STREAM;) {
      for (let j = 0; j < k; j++) bytes += lengths[j] ?? 0;
      const now = rx.tryReceiveBatch(into, lengths);
      k = now === WOULD_BLOCK ? rx.receiveBatchSync(into, lengths, wait) : now;
    }
  } else {
    for (
      first = rx.receiveIntoSync(into, { timeout: 30_000 });
      first !== END_OF_STREAM;
      first = rx.receiveIntoSync(into, { timeout: 30_000 })
    ) {
      bytes += first;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  cpu.stop(bytes / size);
  await child.status;
  cpu.done();
  return bytes / seconds / 1e6;
}

/**
 * Sorted round-trip times (µs): a message of `size` bytes to a Deno child that echoes it back
 * through a second ring channel. Both sides wait with `spins` tries before a futex sleep: 0 is
 * a futex wake-up every time (the C harness's `shmfutex`), the default spins first.
 */
export async function ringRoundTrips(size: number, n: number, spins?: number): Promise<number[]> {
  using echo = ringEcho(size, spins);
  const msg = new Uint8Array(size).fill(3);
  const back = new Uint8Array(size);
  const cpu = cpuMeter(echo.child.pid);
  const times = await timeEach(n, () => {
    echo.tx.sendSync(msg, { timeout: 30_000 });
    echo.rx.receiveIntoSync(back, { timeout: 30_000 });
  });
  cpu.stop(n);
  echo.tx.close();
  await echo.child.status;
  cpu.done();
  return times;
}

/**
 * Two ring channels to a Deno child that sends back every message of up to `size` bytes, both
 * ends waiting with `spins` tries before a futex sleep (default: the channel's own).
 */
export function ringEcho(size: number, spins?: number): Disposable & {
  tx: RingSender;
  rx: RingReceiver;
  child: Deno.ChildProcess;
} {
  const capacity = Math.max(4096, 2 ** Math.ceil(Math.log2(2 * (size + 16))));
  const down = RingChannel.temporary({ capacity });
  const up = RingChannel.temporary({ capacity });
  const opts = spins === undefined ? {} : { spins };
  const args = [
    RING_PEER,
    "echo",
    down.name ?? "",
    up.name ?? "",
    String(size),
    String(spins ?? -1),
  ];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-ffi", ...args],
  }).spawn();
  return {
    tx: down.sender(opts),
    rx: up.receiver(opts),
    child,
    [Symbol.dispose]: () => {
      down.close();
      up.close();
    },
  };
}

/** A Deno child connected over a Unix socket in a temporary directory (`mode` of the pipe peer). */
async function unixPeer(mode: "unix-sink" | "unix-echo", size: number): Promise<{
  conn: Deno.Conn;
  child: Deno.ChildProcess;
  close(): Promise<void>;
}> {
  const dir = await Deno.makeTempDir({ prefix: "dipc-sock-" });
  const listener = Deno.listen({ transport: "unix", path: `${dir}/s` });
  const child = new Deno.Command(Deno.execPath(), { args: pipePeer(mode, size, `${dir}/s`) })
    .spawn();
  const conn = await listener.accept();
  return {
    conn,
    child,
    close: async () => {
      listener.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A Unix socket to a Deno child (the baseline): MB/s of `total` bytes written in `size` pieces. */
export async function socketThroughput(size: number, total: number): Promise<number> {
  const { conn, child, close } = await unixPeer("unix-sink", size);
  const msg = new Uint8Array(size).fill(4);
  const cpu = cpuMeter(child.pid);
  const t0 = performance.now();
  for (let sent = 0; sent < total; sent += size) {
    let at = 0;
    while (at < size) at += await conn.write(msg.subarray(at));
  }
  conn.close();
  cpu.stop(total / size);
  await child.status; // the child has read everything
  const seconds = (performance.now() - t0) / 1000;
  cpu.done();
  await close();
  return total / seconds / 1e6;
}

/** Round trips (µs, sorted) over a Unix socket to an echoing Deno child (the baseline). */
export async function socketRoundTrips(size: number, n: number): Promise<number[]> {
  const { conn, child, close } = await unixPeer("unix-echo", size);
  const msg = new Uint8Array(size).fill(5);
  const back = new Uint8Array(size);
  const cpu = cpuMeter(child.pid);
  const times = await timeEach(n, async () => {
    let at = 0;
    while (at < size) at += await conn.write(msg.subarray(at));
    for (let got = 0; got < size;) {
      const r = await conn.read(back.subarray(got));
      if (r === null) throw new Error("peer closed");
      got += r;
    }
  });
  cpu.stop(n);
  conn.close();
  await child.status;
  cpu.done();
  await close();
  return times;
}

/**
 * A dipc stream socket to a Deno child running bench/_socket_peer.ts in `mode`: one end of a
 * socket pair handed down as descriptor 3 ("pair"), or a connection the child makes to a
 * listener on a path ("path").
 */
async function dipcSocketPeer(mode: "sink" | "echo", size: number, how: "pair" | "path"): Promise<{
  socket: UnixSocket;
  pid: number;
  exited: Promise<unknown>;
  close(): Promise<void>;
}> {
  const args = ["run", "--quiet", "--allow-ffi", SOCKET_PEER, mode, String(size)];
  if (how === "pair") {
    const [socket, theirs] = UnixSocket.pair();
    const child = spawn(Deno.execPath(), { args, fds: { 3: theirs } });
    theirs.close();
    return {
      socket,
      pid: child.pid,
      exited: child.status,
      close: async () => {
        socket.close();
        await child.status;
      },
    };
  }
  const dir = await Deno.makeTempDir({ prefix: "dipc-sock-" });
  const listener = UnixListener.listen(`${dir}/s`);
  const child = spawn(Deno.execPath(), { args: [...args, `${dir}/s`] });
  const socket = await listener.accept({ timeout: 30_000 });
  return {
    socket,
    pid: child.pid,
    exited: child.status,
    close: async () => {
      socket.close();
      listener.close();
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A dipc stream socket to a draining Deno child: MB/s of `total` bytes sent in `size` pieces. */
export async function dipcSocketThroughput(
  size: number,
  total: number,
  how: "pair" | "path",
): Promise<number> {
  const { socket, pid, exited, close } = await dipcSocketPeer("sink", size, how);
  const msg = new Uint8Array(size).fill(4);
  const cpu = cpuMeter(pid);
  const t0 = performance.now();
  for (let sent = 0; sent < total; sent += size) {
    const wait = sendAll(socket, msg);
    if (wait) await wait;
  }
  socket.shutdownWrite();
  cpu.stop(total / size);
  await exited; // the child has read everything
  const seconds = (performance.now() - t0) / 1000;
  cpu.done();
  await close();
  return total / seconds / 1e6;
}

/** Round trips (µs, sorted) over a dipc stream socket to an echoing Deno child. */
export async function dipcSocketRoundTrips(
  size: number,
  n: number,
  how: "pair" | "path",
): Promise<number[]> {
  const { socket, pid, close } = await dipcSocketPeer("echo", size, how);
  const msg = new Uint8Array(size).fill(5);
  const back = new Uint8Array(size);
  const cpu = cpuMeter(pid);
  const times = await timeEach(n, async () => {
    const wait = sendAll(socket, msg);
    if (!(await receiveExactly(socket, back))) throw new Error("peer closed");
    if (wait) await wait;
  });
  cpu.stop(n);
  await close();
  cpu.done();
  return times;
}

/** `Deno.Command`'s stdin pipe to a draining child (the other baseline): MB/s. */
export async function commandThroughput(size: number, total: number): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: pipePeer("stdio-sink", size),
    stdin: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const msg = new Uint8Array(size).fill(6);
  const cpu = cpuMeter(child.pid);
  const t0 = performance.now();
  for (let sent = 0; sent < total; sent += size) await writer.write(msg);
  await writer.close();
  cpu.stop(total / size);
  await child.status;
  cpu.done();
  return total / ((performance.now() - t0) / 1000) / 1e6;
}

/** Round trips (µs, sorted) through `Deno.Command`'s stdin and stdout to an echoing child. */
export async function commandRoundTrips(size: number, n: number): Promise<number[]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: pipePeer("stdio-echo", size),
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const reader = child.stdout.getReader({ mode: "byob" });
  const msg = new Uint8Array(size).fill(7);
  let back = new Uint8Array(size);
  const cpu = cpuMeter(child.pid);
  const times = await timeEach(n, async () => {
    await writer.write(msg);
    for (let got = 0; got < size;) {
      const { value, done } = await reader.read(back.subarray(got));
      if (done || value === undefined) throw new Error("peer closed");
      got += value.length;
      back = new Uint8Array(value.buffer);
    }
  });
  cpu.stop(n);
  await writer.close();
  reader.releaseLock();
  await child.stdout.cancel();
  await child.status;
  cpu.done();
  return times;
}

/** What `wrk` measured against one HTTP server. */
export interface WebLoad {
  /** Requests per second. */
  rps: number;
  /** The 99th percentile latency, µs. */
  p99: number;
  /** Requests that failed: socket errors (connect, read, write, timeout) and non-2xx answers. */
  errors: number;
}

/**
 * The web servers of the suite: example 31 in each mode (`prefork-restart`: the prefork mode,
 * with every worker restarted gracefully, SIGHUP to its parent, half-way through the load), or
 * one `Deno.serve` process.
 */
export type WebServer = "inherit" | "handover" | "prefork" | "prefork-restart" | "deno-serve";

/**
 * Starts `server` on a free loopback port, loads it with `wrk` (2 threads, 64 connections,
 * `seconds` long, `--latency`), stops it, and returns requests per second and p99 latency.
 * Throws if `wrk` is not installed (Debian's package `wrk`).
 */
export async function webServerLoad(
  server: WebServer,
  workers: number,
  seconds: number,
): Promise<WebLoad> {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const example = new URL("../examples/31_web_server.ts", import.meta.url).pathname;
  const http = new URL("./_http_peer.ts", import.meta.url).pathname;
  const args = server === "deno-serve"
    ? ["run", "--quiet", "--allow-net=127.0.0.1", http, String(port)]
    : [
      "run",
      "--quiet",
      "--allow-ffi",
      "--allow-net=127.0.0.1",
      "--allow-read=/proc",
      example,
      "serve",
      String(port),
      String(workers),
      server === "prefork-restart" ? "prefork" : server,
    ];
  const child = new Deno.Command(Deno.execPath(), { args, stdout: "null" }).spawn();
  try {
    for (let tries = 0;; tries++) {
      try {
        (await Deno.connect({ hostname: "127.0.0.1", port })).close();
        break;
      } catch (e) {
        if (tries > 300) throw e;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    await new Promise((r) => setTimeout(r, 300)); // every worker up
    const restart = server === "prefork-restart"
      ? setTimeout(() => child.kill("SIGHUP"), seconds * 500)
      : undefined;
    const text = await output("wrk", [
      "-t2",
      "-c64",
      `-d${seconds}s`,
      "--latency",
      `http://127.0.0.1:${port}/`,
    ]);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1]);
    const p99 = /^\s*99%\s+([\d.]+)(us|ms|s)\b/m.exec(text);
    const unit = { us: 1, ms: 1000, s: 1e6 }[p99?.[2] ?? "us"] ?? NaN;
    clearTimeout(restart);
    const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/
      .exec(text);
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
    const errors = non2xx + (socket?.slice(1).reduce((a, b) => a + Number(b), 0) ?? 0);
    return { rps, p99: Number(p99?.[1]) * unit, errors };
  } finally {
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await child.status;
  }
}

/** A median and 99th percentile round trip, µs. */
export interface RoundTrip {
  median: number;
  p99: number;
}

/**
 * Node's Unix sockets, measured by Node on both ends (bench/_node_sockets.mjs): MB/s for
 * "thr" (`amount` bytes), the median and p99 round trip in µs for "lat" (`amount` messages).
 * NaN when Node is not installed. Sets `cpuPerMessage()` from what both Node processes report.
 */
export function nodeSockets(mode: "thr", size: number, amount: number): Promise<number>;
export function nodeSockets(mode: "lat", size: number, amount: number): Promise<RoundTrip>;
export function nodeSockets(
  mode: "thr" | "lat",
  size: number,
  amount: number,
): Promise<number | RoundTrip> {
  return inNode("./_node_sockets.mjs", [], mode, size, amount);
}

/**
 * Runs a Node measuring script of bench/ (`script` relative to this file) with `lead` and then
 * MODE SIZE AMOUNT; reads its `RESULT value=… p99=… cpu_us_per_msg=…` line (NaN without Node)
 * and sets `cpuPerMessage()` from it.
 */
async function inNode(
  script: string,
  lead: string[],
  mode: "thr" | "lat",
  size: number,
  amount: number,
): Promise<number | RoundTrip> {
  const path = new URL(script, import.meta.url).pathname;
  lastCpu = NaN;
  let r: Record<string, string> | undefined;
  try {
    [r] = results(await output("node", [path, ...lead, mode, String(size), String(amount)]));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  lastCpu = Number(r?.cpu_us_per_msg ?? NaN);
  const value = Number(r?.value ?? NaN);
  return mode === "thr" ? value : { median: value, p99: Number(r?.p99 ?? NaN) };
}

/**
 * ZeroMQ from npm (zeromq 6.5.0) measured by Node on both ends (bench/_zmq_node.mjs; in Deno
 * its waits hang, see bench/_zmq_deno_probe.ts): PUSH/PULL MB/s for "thr" (`amount` bytes),
 * REQ/REP median and p99 round trip in µs for "lat" (`amount` messages), over `ipc://`. `dir`
 * holds node_modules/zeromq. NaN when Node or the package is missing. Sets `cpuPerMessage()`.
 */
export function zeromqInNode(
  dir: string,
  mode: "thr",
  size: number,
  amount: number,
): Promise<number>;
export function zeromqInNode(
  dir: string,
  mode: "lat",
  size: number,
  amount: number,
): Promise<RoundTrip>;
export function zeromqInNode(
  dir: string,
  mode: "thr" | "lat",
  size: number,
  amount: number,
): Promise<number | RoundTrip> {
  return inNode("./_zmq_node.mjs", [dir], mode, size, amount);
}

/**
 * A NATS subject on a loopback nats-server at `url`: MB/s of `count` messages of `size` bytes
 * a Deno child publishes and this process receives, through `Channel` or with the NATS client
 * directly (`how`). The clock starts at the first message.
 */
export async function natsThroughput(
  url: string,
  size: number,
  count: number,
  how: "channel" | "direct",
): Promise<number> {
  const { connect } = await import("../src/_nats_client.ts");
  const { natsSubjectChannel } = await import("../src/nats.ts");
  const subject = `dipc.bench.${crypto.randomUUID()}`;
  const args = ["run", "--quiet", "-A", NATS_PEER, "produce", url, subject, String(size)];
  let bytes = 0;
  let t0 = 0;
  let cpu: ReturnType<typeof cpuMeter> | undefined;
  let child: Deno.ChildProcess;
  if (how === "channel") {
    await using rx = await natsSubjectChannel(url, subject, "receive");
    child = new Deno.Command(Deno.execPath(), { args: [...args, String(count), how] }).spawn();
    const wait = { timeout: 60_000 };
    for (let m = await rx.receive(wait); m !== END_OF_STREAM;) {
      if (t0 === 0) [t0, cpu] = [performance.now(), cpuMeter(child.pid)];
      bytes += m.length;
      const now = rx.tryReceive(); // take what is there, wait only when nothing is
      m = now === WOULD_BLOCK ? await rx.receive(wait) : now;
    }
  } else {
    const nc = await connect({ servers: url });
    const sub = nc.subscribe(subject);
    await nc.flush();
    child = new Deno.Command(Deno.execPath(), { args: [...args, String(count), how] }).spawn();
    for await (const m of sub) {
      if (t0 === 0) [t0, cpu] = [performance.now(), cpuMeter(child.pid)];
      if (m.data.length === 0) break;
      bytes += m.data.length;
    }
    await nc.close();
  }
  const seconds = (performance.now() - t0) / 1000;
  cpu?.stop(bytes / size);
  await child.status;
  cpu?.done();
  return bytes / seconds / 1e6;
}

/** Round trips (µs, sorted) over NATS subjects to an echoing Deno child, `how` as above. */
export async function natsRoundTrips(
  url: string,
  size: number,
  n: number,
  how: "channel" | "direct",
): Promise<number[]> {
  const { connect } = await import("../src/_nats_client.ts");
  const { natsSubjectChannel } = await import("../src/nats.ts");
  const id = crypto.randomUUID();
  const [down, up] = [`dipc.bench.${id}.down`, `dipc.bench.${id}.up`];
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "-A", NATS_PEER, "echo", url, down, up, String(size), how],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.getReader();
  await reader.read(); // "ready": subscribed
  reader.releaseLock();
  const msg = new Uint8Array(size).fill(6);
  let times: number[];
  let cpu: ReturnType<typeof cpuMeter>;
  if (how === "channel") {
    // One connection for both ends, as the direct form has.
    const nc = await connect({ servers: url });
    using tx = await natsSubjectChannel(nc, down, "send");
    using rx = await natsSubjectChannel(nc, up, "receive");
    cpu = cpuMeter(child.pid);
    // No timeout, as the direct form has none: a timer per wait is what one costs.
    times = await timeEach(n, async () => {
      if (tx.trySend(msg) !== undefined) await tx.send(msg);
      if ((await rx.receive()) === END_OF_STREAM) throw new Error("ended");
    });
    cpu.stop(n);
    await tx.end();
    await nc.close();
  } else {
    const nc = await connect({ servers: url });
    const sub = nc.subscribe(up);
    await nc.flush();
    const it = sub[Symbol.asyncIterator]();
    cpu = cpuMeter(child.pid);
    times = await timeEach(n, async () => {
      nc.publish(down, msg);
      await it.next();
    });
    cpu.stop(n);
    nc.publish(down, new Uint8Array(0));
    await nc.flush();
    await nc.close();
  }
  await child.stdout.cancel();
  await child.status;
  cpu.done();
  return times;
}

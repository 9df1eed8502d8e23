// One face for both queue kinds in the benchmarks: try first, wait only when needed. System V
// messages go with type 1 and are received by type 0 (the first).
import { MessageQueue, SysVMessageQueue, WOULD_BLOCK } from "../mod.ts";

/** A queue as the benchmark loops use it. */
export interface Endpoint {
  /** Sends now (undefined), or returns WOULD_BLOCK when full. */
  trySend(msg: Uint8Array): undefined | typeof WOULD_BLOCK;
  /** Sends, waiting for room. */
  send(msg: Uint8Array): Promise<void>;
  /** The length received now, or WOULD_BLOCK when empty. */
  tryReceive(into: Uint8Array): number | typeof WOULD_BLOCK;
  /** Receives, waiting for a message. */
  receive(into: Uint8Array): Promise<number>;
  /** Sends, blocking the thread while the queue is full (a kernel waiter, as C's). */
  sendSync(msg: Uint8Array): void;
  /** Receives, blocking the thread while the queue is empty. */
  receiveSync(into: Uint8Array): number;
  /** Closes the handle. */
  close(): void;
}

/** Wraps a POSIX or System V queue. */
export function endpoint(q: MessageQueue | SysVMessageQueue): Endpoint {
  if (q instanceof MessageQueue) {
    return {
      trySend: (m) => q.trySend(m),
      send: (m) => q.send(m, { timeout: 60_000 }),
      tryReceive: (b) => {
        const r = q.tryReceiveInto(b);
        return r === WOULD_BLOCK ? r : r.length;
      },
      receive: async (b) => (await q.receiveInto(b, { timeout: 60_000 })).length,
      sendSync: (m) => q.sendSync(m),
      receiveSync: (b) => q.receiveIntoSync(b).length,
      close: () => q.close(),
    };
  }
  return {
    trySend: (m) => q.trySend(m),
    send: (m) => q.send(m, { timeout: 60_000 }),
    tryReceive: (b) => {
      const r = q.tryReceiveInto(b);
      return r === WOULD_BLOCK ? r : r.length;
    },
    receive: async (b) => (await q.receiveInto(b, { timeout: 60_000 })).length,
    sendSync: (m) => q.sendSync(m),
    receiveSync: (b) => q.receiveIntoSync(b).length,
    close: () => q.close(),
  };
}

const PEER = new URL("./_mq_peer.ts", import.meta.url).pathname;
const PIPE_PEER = new URL("./_pipe_peer.ts", import.meta.url).pathname;

/** The sizes the queue benchmarks use: up to the machine's 8 KiB message limit. */
export const QUEUE_SIZES: Array<[string, number]> = [["64 B", 64], ["4 KiB", 4096], [
  "8 KiB",
  8192,
]];

/** Bytes sent per throughput iteration. */
const BATCH = 256 << 10;

/** A new queue of `kind` for messages of `size` bytes, its address for the peer, and its close. */
export function makeQueue(kind: "posix" | "sysv", size: number): [Endpoint, string, () => void] {
  if (kind === "posix") {
    const q = MessageQueue.temporary({ maxMessages: 10, messageSize: size });
    return [endpoint(q), q.name, () => q.close()];
  }
  const q = SysVMessageQueue.temporary();
  return [endpoint(q), String(q.id), () => q.close()];
}

/** Starts bench/_mq_peer.ts with `args`. */
export function startPeer(kind: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-ffi", PEER, kind, ...args],
  }).spawn();
}

/**
 * Registers throughput and round-trip benchmarks for one queue kind at every size, with Deno's
 * Unix sockets (a Deno peer) as the baseline of each group.
 */
export async function queueBenches(kind: "posix" | "sysv", label: string): Promise<void> {
  const cleanup: Array<() => void> = [];
  const dir = await Deno.makeTempDir({ prefix: "dipc-bench-" });
  globalThis.addEventListener("unload", () => {
    for (const c of cleanup) c();
    Deno.removeSync(dir, { recursive: true });
  });
  for (const [sizeLabel, size] of QUEUE_SIZES) {
    const msg = new Uint8Array(size).fill(3);
    const back = new Uint8Array(size);
    const perBatch = BATCH / size;
    {
      const [q, address, close] = makeQueue(kind, size);
      startPeer(kind, ["sink", address]);
      cleanup.push(() => {
        q.trySend(new Uint8Array(0));
        close();
      });
      Deno.bench({
        group: `${label} throughput ${sizeLabel}`,
        name: `dipc ${label}`,
        async fn(): Promise<void> {
          for (let i = 0; i < perBatch; i++) if (q.trySend(msg) === WOULD_BLOCK) await q.send(msg);
        },
      });
    }
    {
      const [down, downAddress, closeDown] = makeQueue(kind, size);
      const [up, upAddress, closeUp] = makeQueue(kind, size);
      startPeer(kind, ["echo", downAddress, upAddress]);
      cleanup.push(() => {
        down.trySend(new Uint8Array(0));
        closeDown();
        closeUp();
      });
      Deno.bench({
        group: `${label} round trip ${sizeLabel}`,
        name: `dipc ${label}`,
        async fn(): Promise<void> {
          if (down.trySend(msg) === WOULD_BLOCK) await down.send(msg);
          if (up.tryReceive(back) === WOULD_BLOCK) await up.receive(back);
        },
      });
    }
    for (const mode of ["sink", "echo"]) {
      const path = `${dir}/${kind}-${mode}-${size}.sock`;
      const listener = Deno.listen({ transport: "unix", path });
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          "--allow-read",
          "--allow-write",
          "--allow-net",
          PIPE_PEER,
          `unix-${mode}`,
          String(size),
          path,
        ],
      }).spawn();
      const conn = await listener.accept();
      cleanup.push(() => conn.close());
      const write = async (): Promise<void> => {
        let at = 0;
        while (at < size) at += await conn.write(msg.subarray(at));
      };
      Deno.bench({
        group: `${label} ${mode === "sink" ? "throughput" : "round trip"} ${sizeLabel}`,
        name: "Deno Unix socket",
        baseline: true,
        async fn(): Promise<void> {
          if (mode === "sink") {
            for (let i = 0; i < perBatch; i++) await write();
            return;
          }
          await write();
          let got = 0;
          while (got < size) {
            const n = await conn.read(back.subarray(got));
            if (n === null) throw new Error("peer closed");
            got += n;
          }
        },
      });
    }
  }
}

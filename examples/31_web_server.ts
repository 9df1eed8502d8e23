/**
 * 31 · A fork-free prefork web server, three ways, surviving a worker's death
 *
 * The classic forking server forks a process per request; a prefork server forks its workers
 * once and lets them take turns with the connections. Deno cannot fork, so the parent spawns its
 * workers and gives them what fork would have inherited:
 *
 * - **inherit**: every worker gets the listening TCP socket as descriptor 3 and accepts
 *   connections itself (the kernel hands each to one of them), and a socket to the parent whose
 *   end of stream tells it the parent has gone;
 * - **hand-over**: only the parent accepts; it passes each connection's descriptor to a worker
 *   over a Unix socket pair (`SCM_RIGHTS`), round robin;
 * - **prefork** (the one to deploy): every worker runs `Deno.serve` with `reusePort: true` on the
 *   same port (`SO_REUSEPORT`: Linux spreads the connections over the workers' listeners;
 *   `--unstable-net` in Deno 2.9), so the HTTP is Deno's own, in Rust, not parsed in JavaScript.
 *   dipc supervises: a worker that dies is replaced, workers exit with their parent (end of
 *   stream on their link), and `restart` replaces every worker in turn without dropping a
 *   request: the new worker listens first and says so, then the old one stops accepting and
 *   finishes what it has (`server.shutdown()`). Connections still queued on a closing listener
 *   move to another worker when the kernel is told to migrate them
 *   (`net.ipv4.tcp_migrate_req = 1`, Linux 5.14); the example says which it found.
 *
 * The first two answer HTTP/1.1 GET requests parsed here, keeping connections alive. While 300
 * requests are being served, the parent kills a worker with SIGKILL; a supervisor loop starts a
 * replacement. Requests queued in the kernel's listen queue go to the other workers; a request
 * that was on a killed worker's connection is retried on a new connection, as HTTP clients do for
 * a GET, so every request is answered. The prefork run also restarts every worker gracefully
 * after the 200th answer.
 *
 * Run: deno run --allow-ffi --allow-net=127.0.0.1 --allow-read=/proc examples/31_web_server.ts
 * (or, to serve until stopped: ... examples/31_web_server.ts serve PORT WORKERS
 * [inherit|handover|prefork])
 *
 * @module
 */

import {
  type ChildProcess,
  END_OF_STREAM,
  spawnDeno,
  TcpListener,
  UnixSocket,
  WOULD_BLOCK,
} from "../mod.ts";

const enc = new TextEncoder();
/** How long a stopping prefork worker keeps answering, each answer closing its connection. */
const DRAIN_MS = 500;
const dec = new TextDecoder();

/** Serves HTTP/1.1 on one connection until the client closes it. */
async function serveConnection(conn: UnixSocket): Promise<void> {
  const buf = new Uint8Array(16384);
  let pending = "";
  try {
    for (;;) {
      const r = await conn.receiveInto(buf, { timeout: 30_000 });
      if (r === END_OF_STREAM) return;
      pending += dec.decode(buf.subarray(0, r.length));
      for (let end = pending.indexOf("\r\n\r\n"); end >= 0; end = pending.indexOf("\r\n\r\n")) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        const path = head.split(" ")[1] ?? "/";
        const body = `hello from worker ${Deno.pid}, you asked for ${path}\n`;
        const close = /\r\nconnection: close/i.test(head);
        await conn.send(enc.encode(
          `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${
            enc.encode(body).length
          }\r\n${close ? "connection: close\r\n" : ""}\r\n${body}`,
        ));
        if (close) return;
      }
    }
  } catch {
    // the client went away, or stayed silent for 30 s: drop the connection
  } finally {
    conn.close();
  }
}

if (Deno.args[0] === "worker-inherit") {
  // Descriptor 3 is the listening socket, 4 the link to the parent: its end of stream means
  // the parent has gone, and a worker does not outlive its supervisor.
  using listener = TcpListener.fromFd(3);
  using parent = UnixSocket.fromFd(4);
  void parent.receiveInto(new Uint8Array(1)).finally(() => Deno.exit(0));
  for await (const conn of listener) void serveConnection(conn);
} else if (Deno.args[0] === "worker-handover") {
  using parent = UnixSocket.fromFd(3);
  const note = new Uint8Array(16);
  for (;;) {
    const r = await parent.receiveInto(note, { maxFds: 1 });
    if (r === END_OF_STREAM) Deno.exit(0); // the parent has gone
    for (const fd of r.fds) void serveConnection(UnixSocket.fromFd(fd));
  }
} else if (Deno.args[0] === "worker-prefork") {
  // Descriptor 3 is the link to the parent: a byte 1 back says "listening"; a byte 2 from it
  // says "stop gracefully"; its end of stream means the parent has gone.
  using parent = UnixSocket.fromFd(3);
  const port = Number(Deno.args[1]);
  let draining = false;
  const server = Deno.serve({
    port,
    hostname: "127.0.0.1",
    reusePort: true,
    onListen: () => void parent.send(new Uint8Array([1])),
  }, (req) => {
    const path = new URL(req.url).pathname;
    const headers: Record<string, string> = { "content-type": "text/plain" };
    // Stopping: every answer says the connection closes after it, so a client sends its next
    // request on a new connection (to another worker) instead of racing our close.
    if (draining) headers.connection = "close";
    return new Response(`hello from worker ${Deno.pid}, you asked for ${path}\n`, { headers });
  });
  const note = new Uint8Array(1);
  for (;;) {
    const r = await parent.receiveInto(note);
    if (r === END_OF_STREAM) Deno.exit(0); // the parent has gone: so does its worker
    if (note[0] === 2) break;
  }
  draining = true;
  await new Promise((r) => setTimeout(r, DRAIN_MS));
  await server.shutdown(); // stop accepting, finish every request in flight
  Deno.exit(0);
} else if (Deno.args[0] === "serve" && Deno.args[3] === "prefork" || Deno.args[0] === undefined) {
  await prefork(Deno.args[0] === "serve");
  if (Deno.args[0] === "serve") Deno.exit(0);
}

/**
 * GETs `url`, counting the answer under the worker that gave it; a request whose connection died
 * with its worker is sent again on a new one (a GET is safe to repeat), up to 5 times. Returns
 * how many times it was sent again.
 */
async function get(url: string, byWorker: Map<string, number>): Promise<number> {
  for (let attempt = 0;; attempt++) {
    try {
      const text = await (await fetch(url)).text();
      const worker = /worker (\d+)/.exec(text)?.[1] ?? "?";
      byWorker.set(worker, (byWorker.get(worker) ?? 0) + 1);
      return attempt;
    } catch (e) {
      if (attempt >= 5) throw e;
    }
  }
}

/** Whether the kernel moves connections queued on a closing `SO_REUSEPORT` listener. */
function migratesQueued(): boolean | undefined {
  const path = "/proc/sys/net/ipv4/tcp_migrate_req";
  if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") return undefined;
  try {
    return Deno.readTextFileSync(path).trim() === "1";
  } catch {
    return false; // no such setting: a kernel before 5.14
  }
}

/**
 * The prefork server: `count` supervised workers each running `Deno.serve` on one port. With
 * `serveOnly`, serves until killed (SIGHUP restarts every worker gracefully); otherwise runs the
 * demonstration load.
 */
async function prefork(serveOnly: boolean): Promise<void> {
  let port = serveOnly ? Number(Deno.args[1] ?? 8080) : 0;
  const count = serveOnly ? Number(Deno.args[2] ?? 2) : 2;
  if (port === 0) {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 }); // a free port for all of them
    port = (probe.addr as Deno.NetAddr).port;
    probe.close();
  }
  interface Worker {
    child: ChildProcess;
    link: UnixSocket;
    ready: Promise<void>;
    retiring: boolean;
  }
  const workers: Worker[] = [];
  let started = 0;
  let stopping = false;
  /** Starts a worker in `slot`; resolves once it listens. */
  const start = (slot: number): Worker => {
    started++;
    const [mine, theirs] = UnixSocket.pair({ type: "seqpacket" });
    const child = spawnDeno(import.meta.url, {
      args: ["worker-prefork", String(port)],
      fds: { 3: theirs },
      permissions: { ffi: true, net: ["127.0.0.1"] },
      denoFlags: ["--unstable-net"],
    });
    theirs.close();
    const ready = mine.receiveInto(new Uint8Array(1), { timeout: 30_000 }).then((r) => {
      if (r === END_OF_STREAM) throw new Error(`worker ${child.pid} exited before listening`);
    });
    const w: Worker = { child, link: mine, ready, retiring: false };
    workers[slot] = w;
    // The supervisor: a worker that dies (not one retired by a restart) is replaced.
    void child.status.then(() => {
      mine.close();
      if (!stopping && !w.retiring && workers[slot] === w) start(slot);
    });
    return w;
  };
  /** Replaces every worker in turn: the new one listens before the old one stops. */
  const restart = async (): Promise<void> => {
    for (let slot = 0; slot < workers.length; slot++) {
      const old = workers[slot];
      if (old === undefined) continue;
      old.retiring = true;
      await start(slot).ready;
      await old.link.send(new Uint8Array([2]));
      await old.child.status;
    }
  };
  for (let i = 0; i < count; i++) start(i);
  await Promise.all(workers.map((w) => w.ready));
  const migrate = migratesQueued();
  if (serveOnly) {
    console.log(`serving on http://127.0.0.1:${port}/ with ${count} Deno.serve workers (prefork)`);
    Deno.addSignalListener("SIGHUP", () => void restart());
    await new Promise(() => {}); // until killed
  }
  const url = `http://127.0.0.1:${port}`;
  let answered = 0;
  let retried = 0;
  let victim: ChildProcess | undefined;
  let restarting: Promise<void> | undefined;
  let restarted = false;
  const byWorker = new Map<string, number>();
  const client = async (c: number): Promise<void> => {
    // 300 requests at least, and on until the restart is over: it happens under load.
    for (let i = 0; answered < 300 || !restarted; i++) {
      retried += await get(`${url}/client-${c}/request-${i}`, byWorker);
      if (++answered === 100) {
        victim = workers[0]?.child;
        victim?.kill("SIGKILL");
      }
      if (answered === 200) restarting = restart().then(() => void (restarted = true));
    }
  };
  await Promise.all(Array.from({ length: 6 }, (_, c) => client(c)));
  await victim?.status;
  await restarting;
  stopping = true;
  for (const w of workers) w.link.close(); // end of stream: every worker exits with its parent
  for (const w of workers) await w.child.status;
  console.log(
    `prefork: all ${answered} requests answered by ${byWorker.size} Deno.serve worker ` +
      `processes (${started} started: one killed mid-load and replaced, then all ${count} ` +
      `restarted gracefully); ${retried} retried on a new connection; connections queued on a ` +
      `closing listener ${
        migrate === undefined
          ? "(not checked: no --allow-read=/proc)"
          : migrate
          ? "move to another worker"
          : "are not moved (tcp_migrate_req = 0)"
      }`,
  );
}

if (Deno.args[0] === undefined || Deno.args[0] === "serve") {
  const serveOnly = Deno.args[0] === "serve";
  const port = serveOnly ? Number(Deno.args[1] ?? 8080) : 0;
  const count = serveOnly ? Number(Deno.args[2] ?? 2) : 2;
  const ways = serveOnly ? [Deno.args[3] ?? "inherit"] : ["inherit", "handover"];
  for (const way of ways) {
    using listener = TcpListener.listen({ port, backlog: 1024 });
    const workers: Array<{ child: ChildProcess; link: UnixSocket }> = [];
    let started = 0;
    let stopping = false;
    const start = (slot: number): void => {
      started++;
      const [mine, theirs] = UnixSocket.pair({ type: "seqpacket" });
      const child = way === "inherit"
        ? spawnDeno(import.meta.url, { args: ["worker-inherit"], fds: { 3: listener, 4: theirs } })
        : spawnDeno(import.meta.url, { args: ["worker-handover"], fds: { 3: theirs } });
      theirs.close();
      workers[slot] = { child, link: mine };
      // The supervisor: a worker that dies is replaced.
      void workers[slot]?.child.status.then(() => {
        workers[slot]?.link.close();
        if (!stopping) start(slot);
      });
    };
    for (let i = 0; i < count; i++) start(i);
    let handedOver = 0;
    const accepting = way === "handover"
      ? (async () => {
        for await (const conn of listener) {
          for (let tries = 0; tries < workers.length; tries++) {
            const w = workers[handedOver++ % workers.length];
            try {
              if (w?.link.trySend(new Uint8Array([1]), { fds: [conn] }) !== WOULD_BLOCK) break;
            } catch {
              // that worker is gone: try the next
            }
          }
          conn.close(); // the worker has its own copy
        }
      })()
      : Promise.resolve();
    if (serveOnly) {
      console.log(`serving on http://127.0.0.1:${listener.port}/ with ${count} workers (${way})`);
      await new Promise(() => {}); // until killed
    }
    // The load: 300 GETs from 6 keep-alive clients; a worker is killed after the 100th answer.
    const url = `http://127.0.0.1:${listener.port}`;
    let answered = 0;
    let retried = 0;
    let victim: ChildProcess | undefined;
    const byWorker = new Map<string, number>();
    const client = async (c: number): Promise<void> => {
      for (let i = 0; i < 50; i++) {
        retried += await get(`${url}/client-${c}/request-${i}`, byWorker);
        if (++answered === 100) {
          victim = workers[0]?.child;
          victim?.kill("SIGKILL");
        }
      }
    };
    await Promise.all(Array.from({ length: 6 }, (_, c) => client(c)));
    await victim?.status; // its supervisor callback has started the replacement by now
    stopping = true;
    listener.close();
    await accepting.catch(() => {});
    for (const w of workers) {
      w?.child.kill("SIGTERM");
      w?.link.close();
      await w?.child.status;
    }
    console.log(
      `${way}: ${answered} of 300 requests answered by ${byWorker.size} worker processes ` +
        `(${started} started: one was killed mid-load and replaced); ${retried} retried on a new ` +
        `connection`,
    );
  }
}

/**
 * The transport benchmark suite: every dipc transport (ring channel, pipe, FIFO, POSIX and
 * System V queues, Unix sockets) and Deno's built-ins (Unix socket, `Deno.Command` pipes) against
 * the C baseline (bench/c/baseline.c, compiled here with gcc), at 64 B, 4 KiB, 64 KiB and 1 MiB, in one
 * run, measured so the figures hold still:
 *
 * - first, the headline: what a message costs in one thread that is both ends (bench/_one_thread.ts
 *   against the C harness's `one` mode), which involves no CPU-to-CPU traffic and repeats;
 * - every pair of processes is pinned to two distinct CPUs (C's with `sched_setaffinity` in the
 *   harness, dipc's through FFI: bench/_measure.ts), and before every measurement the suite waits
 *   for a quiet machine (a quarter second in which the CPUs were at least 90% idle; the load
 *   average is recorded beside it);
 * - C and dipc alternate, five times (DIPC_BENCH_REPS); each ratio is the median of the per-round
 *   ratios (a dipc figure over the C figure measured just before it), and each figure's spread
 *   (highest ÷ lowest of its runs) is shown: a cell whose spread, dipc's or C's, is over 1.3× is
 *   marked ‡ and is not a figure to quote.
 *
 * Prints Markdown tables of the figures and ratios, and writes the results as JSON
 * (bench/results/suite.json) and as an SVG chart (docs/bench.svg) for the README.
 *
 * Then the web servers of example 31 (2 workers; the seed-style modes and the prefork
 * `Deno.serve` mode) and one `Deno.serve` process under `wrk` (Debian's package; skipped when it
 * is not installed): requests per second and p99.
 *
 * Run: deno task bench:suite   (about 20 minutes; DIPC_BENCH_REPS=1 for a quick look)
 *
 * @module
 */

import { readProcText } from "../ffi/util.ts";
import { chart } from "./_chart.ts";
import { poolRuns, poolTable } from "../bench/_pool_peers.ts";
import {
  commandRoundTrips,
  commandThroughput,
  cpuPerMessage,
  dipcSocketRoundTrips,
  dipcSocketThroughput,
  median,
  natsRoundTrips,
  natsThroughput,
  nodeSockets,
  output,
  PAIR_CPUS,
  pct,
  pipeRoundTrips,
  pipeThroughput,
  queueRoundTrips,
  queueThroughput,
  results,
  ringRoundTrips,
  ringThroughput,
  type RoundTrip,
  socketRoundTrips,
  socketThroughput,
  type WebLoad,
  type WebServer,
  webServerLoad,
  zeromqInNode,
} from "../bench/_measure.ts";
import { ZEROMQ_PACKAGE } from "../bench/_zmq.ts";
import { ROOT } from "./examples.ts";
import { hasCommand, type Quiet, waitForQuiet } from "./_host.ts";
import { NATS_SERVER, type NatsServer, natsServer } from "./nats_server.ts";

// DIPC_BENCH_SIZES (comma-separated bytes) and DIPC_BENCH_ONLY (a substring of row names, or
// "web") narrow the run, as `dipc bench --size` and `--transport` ask.
const ALL_SIZES = [64, 4096, 65536, 1 << 20];
const SIZES = (Deno.env.get("DIPC_BENCH_SIZES") ?? "").split(",").filter(Boolean).map(Number)
  .filter((n) => ALL_SIZES.includes(n));
if (SIZES.length === 0) SIZES.push(...ALL_SIZES);
const ONLY = (Deno.env.get("DIPC_BENCH_ONLY") ?? "").toLowerCase();
const picked = (name: string): boolean => ONLY === "" || name.toLowerCase().includes(ONLY);
const LABEL: Record<number, string> = {
  64: "64 B",
  4096: "4 KiB",
  65536: "64 KiB",
  1048576: "1 MiB",
};
const REPS = Number(Deno.env.get("DIPC_BENCH_REPS") ?? 5);
const C_SECONDS = "0.5";

/**
 * One row of the suite: a dipc, Deno or Node measurement (MB/s, or a round trip's median and
 * p99) and the C mechanism it is compared with.
 */
interface Row<T> {
  name: string;
  c: string;
  measure: (size: number) => Promise<T>;
}
// ZeroMQ from npm, for Node (where its waits work): installed once under the user's cache.
const ZMQ_DIR = `${Deno.env.get("HOME") ?? "/tmp"}/.cache/dipc-bench/zeromq`;
async function installZeroMQ(): Promise<boolean> {
  try {
    Deno.statSync(`${ZMQ_DIR}/node_modules/zeromq/package.json`);
    return true;
  } catch { /* not yet */ }
  try {
    await output("npm", ["install", "--prefix", ZMQ_DIR, "--no-save", ZEROMQ_PACKAGE]);
    return true;
  } catch (e) {
    console.error(`ZeroMQ rows not run: npm install ${ZEROMQ_PACKAGE}: ${(e as Error).message}`);
    return false;
  }
}
const haveZmq = await installZeroMQ();
const zmq = <T>(run: () => Promise<T>, none: T): Promise<T> =>
  haveZmq ? run() : Promise.resolve(none);

// A loopback nats-server for the NATS rows (Debian's package), messages up to 4 MiB.
async function startNats(): Promise<NatsServer | undefined> {
  if (NATS_SERVER === undefined) {
    console.error("NATS rows not run: nats-server is not installed (apt-get install nats-server)");
    return undefined;
  }
  return await natsServer({ maxPayload: 4 << 20 });
}
const wantNats = ONLY === "" || "nats".includes(ONLY) || ONLY.includes("nats");
const nats = wantNats ? await startNats() : undefined;
const viaNats = <T>(run: (url: string) => Promise<T>, none: T): Promise<T> =>
  nats ? run(nats.url) : Promise.resolve(none);

const thrTotal = (size: number): number => size === 64 ? 16 << 20 : 256 << 20;
const rtCount = (size: number): number => size >= 1 << 20 ? 300 : size >= 65536 ? 2000 : 10_000;
const rt = async (p: Promise<number[]>): Promise<RoundTrip> => {
  const sorted = await p;
  return { median: pct(sorted, 0.5), p99: pct(sorted, 0.99) };
};

const THROUGHPUT_ROWS: Row<number>[] = [
  {
    name: "dipc ring channel (send ⇄ receiveInto)",
    c: "shmring",
    measure: (s) => ringThroughput(s, thrTotal(s) * 2 / s),
  },
  {
    name: "dipc ring channel, batches (sendBatch ⇄ receiveBatch)",
    c: "shmring-batch",
    measure: (s) => ringThroughput(s, thrTotal(s) * 2 / s, "batch"),
  },
  {
    name: "dipc ring channel, zero-copy (reserve ⇄ peek)",
    c: "shmring",
    measure: (s) => ringThroughput(s, thrTotal(s) * 2 / s, "zero"),
  },
  {
    name: "C byte ring, the earlier baseline (index loads, an exchange a message)",
    c: "shmring",
    measure: (s) =>
      c("bytering", "thr", s).then((r) => {
        lastCCpu = r.cpu;
        return r.value;
      }),
  },
  { name: "dipc pipe", c: "pipe", measure: (s) => pipeThroughput(s, 65536, thrTotal(s)) },
  {
    name: "dipc pipe, coalesced (writeBatch; 64 KiB reads)",
    c: "pipe-coalesced",
    measure: (s) => pipeThroughput(s, 65536, thrTotal(s), "pipe", true),
  },
  { name: "dipc FIFO", c: "pipe", measure: (s) => pipeThroughput(s, 65536, thrTotal(s), "fifo") },
  { name: "dipc POSIX mq", c: "pmq", measure: (s) => queueThroughput("posix", s, thrTotal(s) / 4) },
  {
    name: "dipc System V mq",
    c: "sysvmq",
    measure: (s) => queueThroughput("sysv", s, thrTotal(s) / 4),
  },
  {
    name: "dipc POSIX mq, blocking (sendSync ⇄ receiveIntoSync)",
    c: "pmq",
    measure: (s) => queueThroughput("posix", s, thrTotal(s) / 4, true),
  },
  {
    name: "dipc System V mq, blocking (sendSync ⇄ receiveIntoSync)",
    c: "sysvmq",
    measure: (s) => queueThroughput("sysv", s, thrTotal(s) / 4, true),
  },
  {
    name: "dipc socket pair",
    c: "uds",
    measure: (s) => dipcSocketThroughput(s, thrTotal(s), "pair"),
  },
  {
    name: "dipc Unix socket through a listener",
    c: "uds",
    measure: (s) => dipcSocketThroughput(s, thrTotal(s), "path"),
  },
  {
    name: "Deno Unix socket (baseline)",
    c: "uds",
    measure: (s) => socketThroughput(s, thrTotal(s)),
  },
  {
    name: "Node Unix socket (baseline)",
    c: "uds",
    measure: (s) => nodeSockets("thr", s, thrTotal(s)),
  },
  {
    name: "ZeroMQ PUSH ⇄ PULL, npm zeromq in Node (baseline)",
    c: "uds",
    measure: (s) => zmq(() => zeromqInNode(ZMQ_DIR, "thr", s, thrTotal(s)), NaN),
  },
  {
    name: "NATS subject through Channel (loopback broker)",
    c: "uds",
    measure: (s) => viaNats((url) => natsThroughput(url, s, thrTotal(s) / s, "channel"), NaN),
  },
  {
    name: "NATS subject, the client used directly (baseline)",
    c: "uds",
    measure: (s) => viaNats((url) => natsThroughput(url, s, thrTotal(s) / s, "direct"), NaN),
  },
  {
    name: "`Deno.Command` stdin (baseline)",
    c: "pipe",
    measure: (s) => commandThroughput(s, thrTotal(s)),
  },
];
const ROUND_TRIP_ROWS: Row<RoundTrip>[] = [
  {
    name: "dipc ring channel, futex wake-ups (`spins: 0`)",
    c: "shmfutex",
    measure: (s) => rt(ringRoundTrips(s, rtCount(s), 0)),
  },
  {
    name: "dipc ring channel, spin then park (default)",
    c: "shmspin",
    measure: (s) => rt(ringRoundTrips(s, rtCount(s))),
  },
  // dipc's pipe and queue waits try first, then block: C's `-spin` rows receive the same way.
  { name: "dipc pipe", c: "pipe-spin", measure: (s) => rt(pipeRoundTrips(s, rtCount(s))) },
  {
    name: "dipc FIFO",
    c: "pipe-spin",
    measure: (s) => rt(pipeRoundTrips(s, rtCount(s), "fifo")),
  },
  {
    name: "dipc POSIX mq",
    c: "pmq-spin",
    measure: (s) => rt(queueRoundTrips("posix", s, rtCount(s) / 4)),
  },
  {
    name: "dipc System V mq",
    c: "sysvmq-spin",
    measure: (s) => rt(queueRoundTrips("sysv", s, rtCount(s) / 4)),
  },
  {
    name: "dipc socket pair",
    c: "uds",
    measure: (s) => rt(dipcSocketRoundTrips(s, rtCount(s), "pair")),
  },
  {
    name: "dipc Unix socket through a listener",
    c: "uds",
    measure: (s) => rt(dipcSocketRoundTrips(s, rtCount(s), "path")),
  },
  {
    name: "Deno Unix socket (baseline)",
    c: "uds",
    measure: (s) => rt(socketRoundTrips(s, rtCount(s))),
  },
  {
    name: "Node Unix socket (baseline)",
    c: "uds",
    measure: (s) => nodeSockets("lat", s, rtCount(s)),
  },
  {
    name: "ZeroMQ REQ ⇄ REP, npm zeromq in Node (baseline)",
    c: "uds",
    measure: (s) =>
      zmq(() => zeromqInNode(ZMQ_DIR, "lat", s, rtCount(s)), { median: NaN, p99: NaN }),
  },
  {
    name: "NATS subject through Channel (loopback broker)",
    c: "uds",
    measure: (s) =>
      viaNats((url) => rt(natsRoundTrips(url, s, rtCount(s) / 4, "channel")), {
        median: NaN,
        p99: NaN,
      }),
  },
  {
    name: "NATS subject, the client used directly (baseline)",
    c: "uds",
    measure: (s) =>
      viaNats((url) => rt(natsRoundTrips(url, s, rtCount(s) / 4, "direct")), {
        median: NaN,
        p99: NaN,
      }),
  },
  {
    name: "`Deno.Command` stdin/stdout (baseline)",
    c: "pipe",
    measure: (s) => rt(commandRoundTrips(s, rtCount(s) / 4)),
  },
];
const THROUGHPUT = THROUGHPUT_ROWS.filter((r) => picked(r.name));
const ROUND_TRIP = ROUND_TRIP_ROWS.filter((r) => picked(r.name));

// ---- the C harness ------------------------------------------------------------------------------
/** The CPU time a message of the last C row that stands as a row of its own. */
let lastCCpu = NaN;
// C pairs run on the same two CPUs as dipc's (bench/_measure.ts).
const C_PIN = PAIR_CPUS === undefined ? "none" : `split:${PAIR_CPUS.join(",")}`;
const cDir = await Deno.makeTempDir({ prefix: "dipc-suite-" });
let haveC = true;
try {
  await output("gcc", [
    "-O2",
    "-o",
    `${cDir}/baseline`,
    `${ROOT}bench/c/baseline.c`,
    "-lrt",
    "-lpthread",
  ]);
} catch (e) {
  haveC = false;
  console.error(`C baseline not run: ${(e as Error).message.split("\n")[0]}`);
}
/**
 * What the C harness reports: MB/s, the median round trip, or ns a message in one thread; the
 * round trip's p99; and CPU µs a message. Pairs run pinned to two CPUs (`split`).
 */
const QUEUE_MESSAGE_MAX = Math.min(
  Number(readProcText("/proc/sys/fs/mqueue/msgsize_max").trim()) || 8192,
  8192, // System V's MSGMAX here
);

async function c(
  mech: string,
  mode: "thr" | "lat" | "one",
  size: number,
): Promise<{ value: number; p99: number; cpu: number }> {
  if (!haveC) return { value: NaN, p99: NaN, cpu: NaN };
  // A queue message is at most the system's limit (8 KiB here): no figure beyond it, rather
  // than a harness that waits for a send the kernel refuses.
  if (/mq/.test(mech) && size > QUEUE_MESSAGE_MAX) return { value: NaN, p99: NaN, cpu: NaN };
  const [r, cpu] = results(
    await output(`${cDir}/baseline`, [mech, mode, String(size), C_SECONDS, C_PIN]),
  );
  return {
    value: Number(mode === "thr" ? r?.MBps : mode === "one" ? r?.ns_per_msg : r?.median_us),
    p99: Number(r?.p99_us ?? NaN),
    cpu: Number(cpu?.cpu_us_per_msg ?? NaN),
  };
}

// ---- the runs -------------------------------------------------------------------------------------
// The web servers: example 31 (2 workers, each mode) against one Deno.serve process.
const WEB: Array<[WebServer, string]> = [
  ["deno-serve", "one `Deno.serve` process (baseline)"],
  ["inherit", "example 31, 2 workers inheriting the listener"],
  ["handover", "example 31, 2 workers, connections handed over (`SCM_RIGHTS`)"],
  ["prefork", "example 31, 2 supervised `Deno.serve` workers on one port (`reusePort`)"],
  ["prefork-restart", "the same, every worker restarted gracefully mid-run"],
];
type Figures = Record<string, Record<number, number[]>>;
const thr: Figures = {};
const lat: Figures = {};
const p99: Figures = {};
const cpuThr: Figures = {};
const cpuLat: Figures = {};
const cThr: Figures = {};
const cLat: Figures = {};
const cP99: Figures = {};
const cCpuThr: Figures = {};
const cCpuLat: Figures = {};
const add = (f: Figures, k: string, size: number, v: number): void =>
  void ((f[k] ??= {})[size] ??= []).push(v);
// Progress, one line a measurement, for `dipc bench`'s bar: "step N of M: what".
const cThrMechs = [...new Set(THROUGHPUT.map((r) => r.c))];
const cLatMechs = [...new Set(ROUND_TRIP.map((r) => r.c))];
const runWeb = ONLY === "" || "web server".includes(ONLY);

// ---- the headline: one thread, both ends --------------------------------------------------------
/** A one-thread row: dipc's bench/_one_thread.ts mechanism and the C harness's. */
interface OneRow {
  name: string;
  mech: string;
  c: string;
  /** The largest message it moves (queues: 8 KiB here). */
  max: number;
}
const ONE_ROWS: OneRow[] = [
  {
    name: "ring, a message at a time (`trySend` + `tryReceiveInto`)",
    mech: "ring",
    c: "shmring",
    max: 1 << 20,
  },
  {
    name: "ring, batches of 64 (`trySendBatch` + `tryReceiveBatch`), a message",
    mech: "ring-batch",
    c: "shmring-batch",
    max: 1 << 20,
  },
  // A pipe holds 64 KiB: one thread cannot write a larger message before reading it.
  { name: "pipe (`tryWrite` + `tryRead`)", mech: "pipe", c: "pipe", max: 65536 },
  { name: "POSIX mq (`trySend` + `tryReceiveInto`)", mech: "pmq", c: "pmq", max: 8192 },
  { name: "System V mq (`trySend` + `tryReceiveInto`)", mech: "sysvmq", c: "sysvmq", max: 8192 },
].filter((r) => ONLY === "" || "one thread".includes(ONLY) || picked(r.name));
const one: Figures = {};
const cOne: Figures = {};

const perSize = cThrMechs.length + THROUGHPUT.length + cLatMechs.length + ROUND_TRIP.length;
const oneSteps = ONE_ROWS.reduce((n, r) => n + 2 * SIZES.filter((s) => s <= r.max).length, 0);
const totalSteps = REPS * (SIZES.length * perSize + oneSteps + (runWeb ? WEB.length : 0));
let step = 0;
const progress = (what: string): void => console.error(`step ${++step} of ${totalSteps}: ${what}`);
// Before every measurement: a quiet machine. What was found is kept beside each figure.
const conditions: Array<Quiet & { what: string; size: number; rep: number }> = [];
async function quietly<T>(
  what: string,
  size: number,
  rep: number,
  run: () => Promise<T>,
): Promise<T> {
  const q = await waitForQuiet();
  conditions.push({ ...q, what, size, rep });
  if (!q.quiet) console.error(`  (not quiet: ${(100 * q.idle).toFixed(0)}% idle, load ${q.load})`);
  return await run();
}
for (let rep = 0; rep < REPS; rep++) {
  for (const size of SIZES) {
    console.error(`round ${rep + 1} of ${REPS}, ${LABEL[size]}`);
    for (const row of ONE_ROWS) {
      if (size > row.max) continue;
      progress(`C ${row.c} in one thread, ${LABEL[size]}`);
      add(
        cOne,
        row.name,
        size,
        (await quietly(row.c, size, rep, () => c(row.c, "one", size))).value,
      );
      progress(`${row.name} in one thread, ${LABEL[size]}`);
      const r = await quietly(row.name, size, rep, () =>
        output(Deno.execPath(), [
          "run",
          "-A",
          `${ROOT}bench/_one_thread.ts`,
          row.mech,
          String(size),
          C_SECONDS,
        ]));
      add(one, row.name, size, Number(results(r)[0]?.ns_per_msg ?? NaN));
    }
    for (const mech of cThrMechs) {
      progress(`C ${mech} throughput, ${LABEL[size]}`);
      const r = await quietly(mech, size, rep, () => c(mech, "thr", size));
      add(cThr, mech, size, r.value);
      add(cCpuThr, mech, size, r.cpu);
    }
    for (const row of THROUGHPUT) {
      progress(`${row.name} throughput, ${LABEL[size]}`);
      lastCCpu = NaN;
      add(thr, row.name, size, await quietly(row.name, size, rep, () => row.measure(size)));
      // (A C row, the earlier ring, reports its own CPU time.)
      add(cpuThr, row.name, size, row.name.startsWith("C ") ? lastCCpu : cpuPerMessage());
    }
    for (const mech of cLatMechs) {
      progress(`C ${mech} round trip, ${LABEL[size]}`);
      const r = await quietly(mech, size, rep, () => c(mech, "lat", size));
      add(cLat, mech, size, r.value);
      add(cP99, mech, size, r.p99);
      add(cCpuLat, mech, size, r.cpu);
    }
    for (const row of ROUND_TRIP) {
      progress(`${row.name} round trip, ${LABEL[size]}`);
      const r = await quietly(row.name, size, rep, () => row.measure(size));
      add(lat, row.name, size, r.median);
      add(p99, row.name, size, r.p99);
      add(cpuLat, row.name, size, cpuPerMessage());
    }
  }
}
await nats?.[Symbol.asyncDispose]();

// ---- the web server: example 31 (2 workers, each mode) against one Deno.serve process --------
const WEB_SECONDS = Number(Deno.env.get("DIPC_BENCH_WEB_SECONDS") ?? 5);
const web: Record<string, WebLoad[]> = {};
const haveWrk = hasCommand("wrk");
if (!haveWrk) console.error("web server rows not run: wrk is not installed (apt-get install wrk)");
for (let rep = 0; runWeb && rep < REPS; rep++) {
  console.error(`web server, round ${rep + 1} of ${REPS}`);
  for (const [server] of WEB) {
    progress(`web server ${server}`);
    if (!haveWrk) continue;
    (web[server] ??= []).push(
      await quietly(server, 0, rep, () => webServerLoad(server, 2, WEB_SECONDS)),
    );
  }
}

// ---- allocation per message, and the floor under a message ----------------------------------------
// Bytes allocated per 64-byte message (tests/fixtures/alloc_probe.ts: heapUsed over half a million
// messages, a young generation too big to be collected), and what the pieces of a message cost
// in one process (bench/_floor.ts), with C's memcpy beside the copies.
const ALLOC_FORMS: Array<[string, string]> = [
  ["ring-try", "ring `trySend` ⇄ `tryReceiveInto`"],
  ["ring-sync", "ring `sendSync` ⇄ `receiveIntoSync`"],
  ["ring-batch", "ring `trySendBatch` ⇄ `tryReceiveBatch` (per message)"],
  ["pipe-try", "pipe `tryWrite` ⇄ `tryRead`"],
  ["mq-try-receipt", "POSIX mq `trySend` ⇄ `tryReceiveInto` (receipt kept)"],
  ["sysv-try-receipt", "System V mq `trySend` ⇄ `tryReceiveInto` (receipt kept)"],
  ["mq-try", "POSIX mq `trySend` ⇄ `tryReceiveInto` (a receipt per call)"],
  ["sysv-try", "System V mq `trySend` ⇄ `tryReceiveInto` (a receipt per call)"],
  ["ring-async", "ring `trySend` ⇄ `await receiveInto` (no wait needed)"],
  ["pipe-async", "pipe `tryWrite` ⇄ `await read` (no wait needed)"],
  ["ring-copying", "ring `trySend` ⇄ `tryReceive` (a new array a message)"],
  ["deno-socket", "Deno Unix socket `await write` ⇄ `await read` (baseline)"],
];
// Whether ZeroMQ works in this Deno: tries of bench/_zmq_deno_probe.ts, each under a watchdog.
const ZMQ_TRIES = 10;
let zmqDenoSettled = NaN;
if (haveZmq && (ONLY === "" || "zeromq".includes(ONLY))) {
  zmqDenoSettled = 0;
  for (let i = 0; i < ZMQ_TRIES; i++) {
    console.error(`ZeroMQ in Deno, try ${i + 1} of ${ZMQ_TRIES}`);
    const child = new Deno.Command(Deno.execPath(), {
      // --no-lock: the probe's npm package stays out of the project's lock (bench-only).
      args: ["run", "--quiet", "--no-lock", "-A", `${ROOT}bench/_zmq_deno_probe.ts`],
      stdout: "null",
      stderr: "null",
    }).spawn();
    const watchdog = setTimeout(() => child.kill("SIGKILL"), 15_000);
    const status = await child.status;
    clearTimeout(watchdog);
    if (status.success) zmqDenoSettled++;
  }
}
const alloc: Record<string, number> = {};
const floor: Record<string, number> = {};
const cCopy: Record<number, number> = {};
if (ONLY === "" || "alloc".includes(ONLY)) {
  for (const [form] of ALLOC_FORMS) {
    console.error(`allocation probe: ${form}`);
    const out = await output(Deno.execPath(), [
      "run",
      "-A",
      "--v8-flags=--max-semi-space-size=1024,--min-semi-space-size=1024",
      `${ROOT}tests/fixtures/alloc_probe.ts`,
      form,
    ]);
    alloc[form] = Number(out.trim());
  }
  console.error("the floor: bare FFI calls, atomics, clocks, copies");
  for (const r of results(await output(Deno.execPath(), ["run", "-A", `${ROOT}bench/_floor.ts`]))) {
    floor[r.what ?? ""] = Number(r.ns);
  }
  if (haveC) {
    for (const r of results(await output(`${cDir}/baseline`, ["memcpy", "0.3"]))) {
      cCopy[Number(r.size)] = Number(r.ns_per_copy);
    }
  }
}
await Deno.remove(cDir, { recursive: true });

// ---- report ---------------------------------------------------------------------------------------
const runsOf = (f: Figures, k: string, size: number): number[] => f[k]?.[size] ?? [];
const mid = (f: Figures, k: string, size: number): number =>
  median(runsOf(f, k, size).filter(Number.isFinite));
const fmt = (x: number, digits: number): string =>
  Number.isFinite(x)
    ? x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "n/a";
/** Highest ÷ lowest of a figure's runs (NaN with fewer than two). */
const spreadOf = (xs: number[]): number => {
  const ok = xs.filter((x) => Number.isFinite(x) && x > 0);
  return ok.length < 2 ? NaN : Math.max(...ok) / Math.min(...ok);
};
const spread = (f: Figures, k: string, size: number): number => spreadOf(runsOf(f, k, size));
/** The median of the per-round ratios: each run over the C run of the same round. */
const ratio = (f: Figures, k: string, cf: Figures, ck: string, size: number): number => {
  const cs = runsOf(cf, ck, size);
  return median(
    runsOf(f, k, size).map((v, i) => v / (cs[i] ?? NaN)).filter(Number.isFinite),
  );
};
/** The spread over which a figure is not quoted. */
const SPREAD_LIMIT = 1.3;
let marked = 0;
const mark = (...spreads: number[]): string => {
  if (!spreads.some((x) => x > SPREAD_LIMIT)) return "";
  marked++;
  return " ‡";
};
const head = (title: string): void => {
  console.log(`\n| ${title} | ` + SIZES.map((s) => LABEL[s]).join(" | ") + " |");
  console.log("|---|" + SIZES.map(() => "---:").join("|") + "|");
};
const line = (label: string, cells: (size: number) => string): void =>
  console.log(`| ${label} | ` + SIZES.map(cells).join(" | ") + " |");

const loads = conditions.map((q) => q.load).filter(Number.isFinite);
const quietCount = conditions.filter((q) => q.quiet).length;
console.log(
  `\n${new Date().toISOString().slice(0, 10)}, ${Deno.build.target}, ` +
    `${navigator.hardwareConcurrency} CPUs, Deno ${Deno.version.deno}; ${REPS} alternating rounds, ` +
    `each pair pinned to CPUs ${PAIR_CPUS?.join(" and ") ?? "(not pinned: fewer than 2)"}; ` +
    `${quietCount} of ${conditions.length} measurements began after a quiet quarter second ` +
    `(CPUs ≥ 90% idle); one-minute load average ${fmt(Math.min(...loads), 2)}–` +
    `${fmt(Math.max(...loads), 2)}. Ratios are medians of per-round ratios; ‡ marks a cell whose ` +
    `spread (highest ÷ lowest run, dipc's or C's) is over ${SPREAD_LIMIT}×: not a figure to quote.`,
);
/** A table of figures and their ratios to C's, then C's own figures, then the spreads. */
function table(
  title: string,
  rows: Array<{ name: string; c: string }>,
  f: Figures,
  cf: Figures,
  digits: number,
  cLabel: string,
  cKey: (row: { name: string; c: string }) => string = (r) => r.c,
): void {
  head(title);
  for (const row of rows) {
    line(`${row.name} ÷ C \`${row.c}\``, (s) => {
      const v = mid(f, row.name, s);
      if (!Number.isFinite(v)) return "n/a";
      const r = ratio(f, row.name, cf, cKey(row), s);
      return `${fmt(v, digits)} (${fmt(r, 2)}×)${
        mark(spread(f, row.name, s), spread(cf, cKey(row), s))
      }`;
    });
  }
  const cRows = new Map(rows.map((r) => [cKey(r), r.c]));
  for (const [key, mech] of cRows) {
    line(`C \`baseline ${mech} ${cLabel}\``, (s) => fmt(mid(cf, key, s), digits));
  }
}
if (ONE_ROWS.length > 0) {
  table(
    "one thread, both ends: ns a message (dipc ÷ C in brackets; lower is better)",
    ONE_ROWS,
    one,
    cOne,
    1,
    "one",
    (r) => r.name,
  );
}
table("throughput, MB/s (dipc or Deno ÷ C in brackets)", THROUGHPUT, thr, cThr, 0, "thr");
table("round trip, median µs (dipc or Deno ÷ C in brackets)", ROUND_TRIP, lat, cLat, 1, "lat");
table("round trip, p99 µs (÷ C's p99 in brackets)", ROUND_TRIP, p99, cP99, 1, "lat");
table(
  "CPU time per message, throughput runs, µs, both processes (÷ C in brackets)",
  THROUGHPUT,
  cpuThr,
  cCpuThr,
  3,
  "thr",
);
table(
  "CPU time per round trip, µs, both processes (÷ C in brackets)",
  ROUND_TRIP,
  cpuLat,
  cCpuLat,
  2,
  "lat",
);

if (REPS > 1) {
  head(`spread of the ${REPS} runs, highest ÷ lowest: dipc's / C's (1.00× = identical runs)`);
  const both = (f: Figures, k: string, cf: Figures, ck: string) => (s: number): string =>
    `${fmt(spread(f, k, s), 2)}× / ${fmt(spread(cf, ck, s), 2)}×`;
  for (const row of ONE_ROWS) {
    line(`${row.name}, one thread`, both(one, row.name, cOne, row.name));
  }
  for (const row of THROUGHPUT) line(`${row.name}, throughput`, both(thr, row.name, cThr, row.c));
  for (const row of ROUND_TRIP) line(`${row.name}, round trip`, both(lat, row.name, cLat, row.c));
}
console.log(`\n${marked} cells marked ‡ (spread over ${SPREAD_LIMIT}×).`);

if (Object.keys(alloc).length > 0) {
  console.log("\n| bytes allocated per 64-byte message, steady state | bytes |\n|---|---:|");
  for (const [form, label] of ALLOC_FORMS) {
    console.log(`| ${label} | ${fmt(alloc[form] ?? NaN, 1)} |`);
  }
  const c64 = floor["copy-64"] ?? NaN;
  console.log("\n| the floor, one process, no peer (bench/_floor.ts) | ns |\n|---|---:|");
  const FLOOR: Array<[string, string]> = [
    ["ffi-call-no-arguments", "an FFI call, no arguments (`__errno_location`)"],
    ["ffi-call-one-buffer", "an FFI call with a buffer (`pthread_mutexattr_init`)"],
    ["ffi-syscall-getpid", "a system call through FFI (`getpid`)"],
    ["atomics-load-store", "`Atomics.load` + `Atomics.store` (a publication)"],
    ["performance-now", "`performance.now()`"],
    ["clock-gettime-through-ffi", "`clock_gettime` through FFI (the suite's clock)"],
    ["ring-64-same-process", "ring `trySend` + `tryReceiveInto`, 64 B, same process"],
    ["ring-64-batch-of-64-same-process", "ring batch of 64 × 64 B, same process, per message"],
  ];
  for (const [what, label] of FLOOR) {
    const v = (floor[what] ?? NaN) / (what.includes("batch") ? 64 : 1);
    console.log(`| ${label} | ${fmt(v, 1)} |`);
  }
  for (const size of ALL_SIZES) {
    const js = floor[`copy-${size}`] ?? NaN;
    console.log(
      `| a ${LABEL[size]} copy, \`Uint8Array.set\` (C \`memcpy\`: ${
        fmt(cCopy[size] ?? NaN, 1)
      }) | ` +
        `${fmt(js, 1)} |`,
    );
  }
  if (!Number.isFinite(c64)) console.error("the floor probe did not report");
}

if (Number.isFinite(zmqDenoSettled)) {
  console.log(
    `\nZeroMQ (npm ${ZEROMQ_PACKAGE}) in Deno ${Deno.version.deno}: ${zmqDenoSettled} of ` +
      `${ZMQ_TRIES} tries of 2,000 PUSH → PULL messages between two Deno processes finished; ` +
      "the others never settled a wait (killed after 15 s). The ZeroMQ rows are measured in Node.",
  );
}

const webMid = (server: string, key: keyof WebLoad): number =>
  median((web[server] ?? []).map((w) => w[key]));
if (haveWrk && runWeb) {
  console.log(
    `\n| web server (\`wrk -t2 -c64 -d${WEB_SECONDS}s\`, loopback) | requests/s | ÷ Deno.serve | ` +
      `p99 latency, ms | ÷ Deno.serve | failed requests |`,
  );
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const [server, label] of WEB) {
    const rps = webMid(server, "rps");
    const p99 = webMid(server, "p99");
    console.log(
      `| ${label} | ${fmt(rps, 0)} | ${fmt(rps / webMid("deno-serve", "rps"), 2)}× | ` +
        `${fmt(p99 / 1000, 2)} | ${fmt(p99 / webMid("deno-serve", "p99"), 2)}×${
          mark(spreadOf((web[server] ?? []).map((w) => w.rps)))
        } | ${(web[server] ?? []).reduce((a, w) => a + w.errors, 0)} |`,
    );
  }
}

// ---- process pools: dipc's, Deno Workers, Python's ProcessPoolExecutor, piscina --------------
const runPools = ONLY === "" || "pool".includes(ONLY) || ONLY.includes("pool");
const pools = runPools ? await quietly("process pools", 0, 0, () => poolRuns(REPS)) : undefined;
if (pools !== undefined) {
  console.log(`\n${poolTable(pools.median)}`);
  console.log(`\n(bench/_pool_peers.ts; median of ${REPS} runs, each peer in turn)`);
}

/** A row's per-size ratios to C, spreads (its own and C's) and every run, for the JSON. */
const versus = (f: Figures, k: string, cf: Figures, ck: string) => ({
  ratio: SIZES.map((s) => ratio(f, k, cf, ck, s)),
  spread: SIZES.map((s) => spread(f, k, s)),
  cSpread: SIZES.map((s) => spread(cf, ck, s)),
  runs: SIZES.map((s) => runsOf(f, k, s)),
  cRuns: SIZES.map((s) => runsOf(cf, ck, s)),
});
const json = {
  date: new Date().toISOString(),
  target: Deno.build.target,
  cpus: navigator.hardwareConcurrency,
  reps: REPS,
  sizes: SIZES,
  pairCpus: PAIR_CPUS ?? null,
  spreadLimit: SPREAD_LIMIT,
  conditions,
  oneThread: ONE_ROWS.map((r) => ({
    name: r.name,
    c: r.c,
    ns: SIZES.map((s) => mid(one, r.name, s)),
    cNs: SIZES.map((s) => mid(cOne, r.name, s)),
    ...versus(one, r.name, cOne, r.name),
  })),
  throughput: THROUGHPUT.map((r) => ({
    name: r.name,
    c: r.c,
    mbps: SIZES.map((s) => mid(thr, r.name, s)),
    cMbps: SIZES.map((s) => mid(cThr, r.c, s)),
    cpuUs: SIZES.map((s) => mid(cpuThr, r.name, s)),
    cCpuUs: SIZES.map((s) => mid(cCpuThr, r.c, s)),
    ...versus(thr, r.name, cThr, r.c),
  })),
  web: WEB.map(([server, name]) => ({
    server,
    name,
    rps: webMid(server, "rps"),
    p99Us: webMid(server, "p99"),
    errors: (web[server] ?? []).reduce((a, w) => a + w.errors, 0),
    runs: web[server] ?? [],
  })),
  roundTrip: ROUND_TRIP.map((r) => ({
    name: r.name,
    c: r.c,
    us: SIZES.map((s) => mid(lat, r.name, s)),
    cUs: SIZES.map((s) => mid(cLat, r.c, s)),
    ...versus(lat, r.name, cLat, r.c),
    p99Us: SIZES.map((s) => mid(p99, r.name, s)),
    cP99Us: SIZES.map((s) => mid(cP99, r.c, s)),
    cpuUs: SIZES.map((s) => mid(cpuLat, r.name, s)),
    cCpuUs: SIZES.map((s) => mid(cCpuLat, r.c, s)),
  })),
  pools: pools ?? null,
  allocBytesPerMessage: alloc,
  zeromqInDeno: { tries: ZMQ_TRIES, settled: zmqDenoSettled, package: ZEROMQ_PACKAGE },
  floorNs: floor,
  cMemcpyNs: cCopy,
};
// A partial run (some rows or sizes) writes its chart beside the full run's, never over it.
const partial = ONLY !== "" || SIZES.length < ALL_SIZES.length;
const jsonPath = partial ? "bench/results/suite-partial.json" : "bench/results/suite.json";
const svgPath = partial ? "bench/results/suite-partial.svg" : "docs/bench.svg";
await Deno.mkdir(`${ROOT}bench/results`, { recursive: true });
await Deno.writeTextFile(`${ROOT}${jsonPath}`, JSON.stringify(json, null, 2) + "\n");
await Deno.mkdir(`${ROOT}docs`, { recursive: true });
await Deno.writeTextFile(`${ROOT}${svgPath}`, chart(json));
console.log(`\n(wrote ${jsonPath} and ${svgPath})`);

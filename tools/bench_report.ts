/**
 * Runs dipc's benchmarks and the C baseline (bench/c/baseline.c, compiled with gcc) in the same run and
 * prints a Markdown table of the figures and the dipc ÷ C ratios, as the README shows it.
 *
 * - shared-memory bandwidth: `deno bench --json bench/shm_bench.ts` against C `memcpy_bw`;
 * - futex round trip between two processes: medians measured here exactly as the C harness
 *   measures them (each round trip timed, the first 2% dropped), against `baseline shmfutex`
 *   and `baseline shmspin`.
 *
 * Run: deno task bench:c
 *
 * @module
 */

import { futexWait, futexWaitSync, futexWake, SharedMemory, spawn } from "../mod.ts";
import {
  median,
  output,
  pct,
  pipeRoundTrips,
  pipeThroughput,
  queueRoundTrips,
  queueThroughput,
  results,
  timeEach,
} from "../bench/_measure.ts";
import { startPingPong, type SyncKind } from "../bench/_sync_io.ts";
import { ROOT } from "./examples.ts";

const BASELINE = `${ROOT}bench/c/baseline.c`;
const SIZES: Array<[string, number]> = [["64 B", 64], ["4 KiB", 4096], ["64 KiB", 65536], [
  "1 MiB",
  1 << 20,
]];
const fmt = (x: number, digits = 1): string =>
  x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

// ---- C harness -----------------------------------------------------------------------------
let haveC = true;
const cDir = await Deno.makeTempDir({ prefix: "dipc-bench-" });
const memcpy: Record<number, number> = {};
try {
  await output("gcc", [
    "-O2",
    "-o",
    `${cDir}/baseline`,
    BASELINE,
    "-lrt",
    "-lpthread",
  ]);
  for (const r of results(await output(`${cDir}/baseline`, ["memcpy", "0.5"]))) {
    if (r.mech === "memcpy") memcpy[Number(r.size)] = Number(r.MBps);
  }
} catch (e) {
  haveC = false;
  console.error(`C baseline not run: ${(e as Error).message.split("\n")[0]}`);
}

// ---- shared-memory bandwidth (deno bench) ----------------------------------------------------
const json = JSON.parse(
  await output(Deno.execPath(), ["bench", "-A", "--json", `${ROOT}bench/shm_bench.ts`]),
) as { benches: Array<{ group: string; name: string; results: Array<{ ok?: { avg: number } }> }> };
const mbps = (group: string, prefix: string, bytes: number): number => {
  const b = json.benches.find((x) => x.group === group && x.name.startsWith(prefix));
  const ns = b?.results[0]?.ok?.avg ?? NaN;
  return bytes / ns * 1e3; // bytes per ns = GB/s; × 1000 = MB/s
};

// ---- futex round trip, measured like the C harness -------------------------------------------
async function roundTrips(mode: "sync" | "async" | "spin", n: number): Promise<number[]> {
  using shm = SharedMemory.temporary({ size: 64 });
  const w = shm.int32();
  const peer = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", `${ROOT}bench/_futex_peer.ts`, shm.name],
  }).spawn();
  while (Atomics.load(w, 1) === 0) await futexWait(w, 1, 0, { timeout: 10_000 });
  let seq = 0;
  const ping = (): number => {
    const v = seq + 1;
    Atomics.store(w, 0, v);
    futexWake(w, 0, 1);
    seq = v + 1;
    return v;
  };
  // Only the async mode awaits: the blocking and spinning modes stay synchronous, like C.
  const times = await timeEach(
    n,
    mode === "async"
      ? async () => {
        const v = ping();
        for (let x = Atomics.load(w, 0); x === v; x = Atomics.load(w, 0)) await futexWait(w, 0, v);
      }
      : () => {
        const v = ping();
        if (mode === "sync") {
          for (let x = Atomics.load(w, 0); x === v; x = Atomics.load(w, 0)) futexWaitSync(w, 0, v);
        } else {
          while (Atomics.load(w, 0) === v) { /* spin */ }
        }
      },
  );
  Atomics.store(w, 0, -2); // even and never answered: the peer times out and exits
  peer.kill();
  await peer.status;
  return times;
}
/** One latency figure: the median over repetitions of each run's median and p99. */
interface Latency {
  median: number;
  p99: number;
}
const samples: Record<string, { medians: number[]; p99s: number[] }> = {};
function record(name: string, median: number, p99: number): void {
  const s = samples[name] ??= { medians: [], p99s: [] };
  s.medians.push(median);
  s.p99s.push(p99);
}
// The machine's noise drifts over seconds: alternate C and dipc runs, three times, and keep the
// median of each, so both are measured under the same conditions.
const REPS = 3;
for (let rep = 0; rep < REPS; rep++) {
  if (haveC) {
    for (const mech of ["shmfutex", "shmspin"]) {
      const [r] = results(await output(`${cDir}/baseline`, [mech, "lat", "64", "1"]));
      record(mech, Number(r?.median_us), Number(r?.p99_us));
    }
  }
  for (const [mode, n] of [["sync", 20_000], ["async", 15_000], ["spin", 20_000]] as const) {
    const t = await roundTrips(mode, n);
    record(mode, pct(t, 0.5), pct(t, 0.99));
  }
}
const lat = (name: string): Latency => ({
  median: median(samples[name]?.medians ?? []),
  p99: median(samples[name]?.p99s ?? []),
});

// ---- pipes and spawn, measured like the C harness ----------------------------------------------

/** Sorted spawn-to-reaped times (µs) of `true`. */
async function spawnTimes(how: "dipc" | "command", n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    if (how === "dipc") await spawn("true", { stdout: "null", stderr: "null" }).status;
    else await new Deno.Command("true", { stdout: "null", stderr: "null" }).output();
    times.push((performance.now() - t0) * 1000);
  }
  return times.sort((a, b) => a - b);
}

const pipeRows: Record<string, Record<number, number>> = {};
const put = (row: string, size: number, v: number): void => {
  (pipeRows[row] ??= {})[size] = v;
};
for (const [, size] of SIZES) {
  const total = size === 64 ? 16 << 20 : 256 << 20;
  const per: Record<string, number[]> = {};
  for (let rep = 0; rep < REPS; rep++) {
    if (haveC) {
      for (const mech of ["pipe", "pipe1m"]) {
        const [r] = results(await output(`${cDir}/baseline`, [mech, "thr", String(size), "1"]));
        (per[`C ${mech}`] ??= []).push(Number(r?.MBps ?? r?.mbps ?? NaN));
      }
      const [l] = results(await output(`${cDir}/baseline`, ["pipe", "lat", String(size), "1"]));
      (per["C lat"] ??= []).push(Number(l?.median_us));
    }
    (per["dipc 64k"] ??= []).push(await pipeThroughput(size, 65536, total));
    (per["dipc 1m"] ??= []).push(await pipeThroughput(size, 1 << 20, total));
    const rt = await pipeRoundTrips(size, size >= 1 << 20 ? 300 : size >= 65536 ? 3000 : 10_000);
    (per["dipc lat"] ??= []).push(pct(rt, 0.5));
  }
  for (const [k, v] of Object.entries(per)) put(k, size, median(v));
}
const spawnLat = { dipc: NaN, command: NaN };
{
  const d: number[] = [];
  const c: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    c.push(pct(await spawnTimes("command", 200), 0.5));
    d.push(pct(await spawnTimes("dipc", 200), 0.5));
  }
  spawnLat.dipc = median(d);
  spawnLat.command = median(c);
}

// ---- message queues, measured like the C harness ------------------------------------------------
const QUEUE_SIZES: Array<[string, number]> = [["64 B", 64], ["4 KiB", 4096], ["8 KiB", 8192]];
type QueueKind = "posix" | "sysv";

const queueRows: Record<string, Record<number, number>> = {};
for (const [, size] of QUEUE_SIZES) {
  const per: Record<string, number[]> = {};
  const add = (k: string, v: number): void => void (per[k] ??= []).push(v);
  for (let rep = 0; rep < REPS; rep++) {
    for (const [kind, mech] of [["posix", "pmq"], ["sysv", "sysvmq"]] as const) {
      if (haveC) {
        const [t] = results(await output(`${cDir}/baseline`, [mech, "thr", String(size), "1"]));
        add(`C ${mech} thr`, Number(t?.MBps ?? t?.mbps ?? NaN));
        const [l] = results(await output(`${cDir}/baseline`, [mech, "lat", String(size), "1"]));
        add(`C ${mech} lat`, Number(l?.median_us));
      }
      add(`dipc ${mech} thr`, await queueThroughput(kind, size, size === 64 ? 8 << 20 : 64 << 20));
      add(`dipc ${mech} lat`, pct(await queueRoundTrips(kind, size, 5000), 0.5));
    }
  }
  for (const [k, v] of Object.entries(per)) (queueRows[k] ??= {})[size] = median(v);
}
// ---- semaphores and mutexes: ping-pong round trips, measured like the C harness ---------------
/** Each round trip timed (µs), the first 2% dropped, sorted. */
async function syncRoundTrips(kind: SyncKind, sync: boolean, n: number): Promise<number[]> {
  const pp = await startPingPong(kind);
  try {
    return await timeEach(n, sync ? pp.roundTripSync : pp.roundTrip);
  } finally {
    pp.close();
  }
}
const SYNC_ROWS: Array<[string, SyncKind, boolean]> = [
  ["psem sync", "psem", true],
  ["psem async", "psem", false],
  ["sysv sync", "sysv", true],
  ["sysv async", "sysv", false],
  ["monitor", "monitor", false],
];
for (let rep = 0; rep < REPS; rep++) {
  if (haveC) {
    for (const mech of ["shmsem", "shmfutex"]) {
      const [r] = results(await output(`${cDir}/baseline`, [mech, "lat", "64", "1"]));
      record(`sync ${mech}`, Number(r?.median_us), Number(r?.p99_us));
    }
  }
  for (const [name, kind, sync] of SYNC_ROWS) {
    const t = await syncRoundTrips(kind, sync, kind === "sysv" && !sync ? 5_000 : 15_000);
    record(name, pct(t, 0.5), pct(t, 0.99));
  }
}

await Deno.remove(cDir, { recursive: true });

// ---- report ----------------------------------------------------------------------------------
const ratio = (a: number, b: number): string =>
  haveC && Number.isFinite(b) ? `${fmt(a / b, 2)}×` : "n/a";
console.log(
  `\n${
    new Date().toISOString().slice(0, 10)
  }, ${Deno.build.target}, ${navigator.hardwareConcurrency} CPUs\n`,
);
console.log("| shared-memory copy, MB/s | " + SIZES.map(([l]) => l).join(" | ") + " |");
console.log("|---|" + SIZES.map(() => "---:").join("|") + "|");
for (
  const [label, group, prefix] of [
    ["ordinary memory, `Uint8Array.set`", "write", "ordinary"],
    ["dipc POSIX shm, write (`bytes.set`)", "write", "POSIX"],
    ["dipc POSIX shm, read (copy out)", "read", "POSIX"],
    ["dipc System V shm, write", "write", "System V"],
    ["dipc System V shm, read", "read", "System V"],
  ] as const
) {
  console.log(
    `| ${label} | ` + SIZES.map(([l, n]) => fmt(mbps(`${group} ${l}`, prefix, n), 0)).join(" | ") +
      " |",
  );
}
console.log(
  "| C memcpy (bench/c baseline) | " +
    SIZES.map(([, n]) => haveC ? fmt(memcpy[n] ?? NaN, 0) : "n/a").join(" | ") + " |",
);
console.log(
  "| **dipc POSIX shm write ÷ C memcpy** | " +
    SIZES.map(([l, n]) => ratio(mbps(`write ${l}`, "POSIX", n), memcpy[n] ?? NaN)).join(" | ") +
    " |",
);
console.log(
  "| dipc POSIX shm write ÷ ordinary memory | " +
    SIZES.map(([l, n]) =>
      `${fmt(mbps(`write ${l}`, "POSIX", n) / mbps(`write ${l}`, "ordinary", n), 2)}×`
    ).join(" | ") + " |",
);

console.log(
  "\n| futex round trip between two processes (64 B slot in C) | median µs | p99 µs | ÷ C |",
);
console.log("|---|---:|---:|---:|");
const row = (label: string, l: Latency, c?: Latency): void =>
  console.log(
    `| ${label} | ${fmt(l.median, 2)} | ${fmt(l.p99, 2)} | ${c ? ratio(l.median, c.median) : ""} |`,
  );
row("dipc `futexWaitSync` ⇄ `futexWaitSync`", lat("sync"), lat("shmfutex"));
row(
  "dipc `futexWait` (async: spin, then the wait core) ⇄ `futexWaitSync`",
  lat("async"),
  lat("shmfutex"),
);
row("dipc busy poll ⇄ `futexWaitSync`", lat("spin"));
if (haveC) {
  row("C `baseline shmfutex lat 64`", lat("shmfutex"), lat("shmfutex"));
  row("C `baseline shmspin lat 64` (both sides spin)", lat("shmspin"));
}
console.log(`\n(latency: median of ${REPS} alternating runs of each)`);

console.log(
  "\n| semaphore and mutex round trips between two processes | median µs | p99 µs | ÷ C shmsem | ÷ C shmfutex |",
);
console.log("|---|---:|---:|---:|---:|");
const syncRow = (label: string, name: string): void => {
  const l = lat(name);
  const c = (mech: string): string => ratio(l.median, lat(`sync ${mech}`).median);
  console.log(
    `| ${label} | ${fmt(l.median, 2)} | ${fmt(l.p99, 2)} | ${c("shmsem")} | ${c("shmfutex")} |`,
  );
};
syncRow("dipc POSIX semaphore: `waitSync` ⇄ `waitSync` (both block, like C)", "psem sync");
syncRow("dipc POSIX semaphore: `await wait()` ⇄ `waitSync`", "psem async");
syncRow("dipc System V set: `opSync` ⇄ `opSync`", "sysv sync");
syncRow("dipc System V set: `await wait()` ⇄ `opSync`", "sysv async");
syncRow("dipc monitor hand-off: SharedMutex + SharedCondition, async ⇄ async", "monitor");
if (haveC) {
  syncRow("C `baseline shmsem lat 64` (sem_post ⇄ sem_wait)", "sync shmsem");
  syncRow("C `baseline shmfutex lat 64` (futex wake ⇄ wait)", "sync shmfutex");
}

const cell = (row: string, size: number, digits = 0): string => {
  const v = pipeRows[row]?.[size];
  return v === undefined || !Number.isFinite(v) ? "n/a" : fmt(v, digits);
};
const cellRatio = (a: string, b: string, size: number): string =>
  ratio(pipeRows[a]?.[size] ?? NaN, pipeRows[b]?.[size] ?? NaN);
console.log(
  "\n| pipe throughput, MB/s (Deno child drains) | " + SIZES.map(([l]) => l).join(" | ") + " |",
);
console.log("|---|" + SIZES.map(() => "---:").join("|") + "|");
console.log(
  "| dipc pipe, 64 KiB capacity | " + SIZES.map(([, n]) => cell("dipc 64k", n)).join(" | ") + " |",
);
console.log(
  "| C `baseline pipe thr` | " + SIZES.map(([, n]) => cell("C pipe", n)).join(" | ") + " |",
);
console.log(
  "| **dipc ÷ C pipe** | " + SIZES.map(([, n]) => cellRatio("dipc 64k", "C pipe", n)).join(" | ") +
    " |",
);
console.log(
  "| dipc pipe, 1 MiB capacity | " + SIZES.map(([, n]) => cell("dipc 1m", n)).join(" | ") + " |",
);
console.log(
  "| C `baseline pipe1m thr` | " + SIZES.map(([, n]) => cell("C pipe1m", n)).join(" | ") + " |",
);
console.log(
  "| **dipc ÷ C pipe1m** | " +
    SIZES.map(([, n]) => cellRatio("dipc 1m", "C pipe1m", n)).join(" | ") + " |",
);
console.log(
  "\n| pipe round trip, median µs (Deno child echoes) | " + SIZES.map(([l]) => l).join(" | ") +
    " |",
);
console.log("|---|" + SIZES.map(() => "---:").join("|") + "|");
console.log("| dipc pipes | " + SIZES.map(([, n]) => cell("dipc lat", n, 1)).join(" | ") + " |");
console.log(
  "| C `baseline pipe lat` | " + SIZES.map(([, n]) => cell("C lat", n, 1)).join(" | ") + " |",
);
console.log(
  "| dipc ÷ C | " + SIZES.map(([, n]) => cellRatio("dipc lat", "C lat", n)).join(" | ") + " |",
);
console.log("\n| spawn `true` to reaped, median µs | |\n|---|---:|");
console.log(`| \`Deno.Command("true").output()\` | ${fmt(spawnLat.command, 0)} |`);
console.log(`| dipc \`spawn("true").status\` | ${fmt(spawnLat.dipc, 0)} |`);
console.log(`| dipc ÷ Deno.Command | ${fmt(spawnLat.dipc / spawnLat.command, 2)}× |`);
console.log(
  "\n(Deno.Command and Unix-socket baselines for pipes: `deno bench -A bench/pipe_bench.ts`)",
);

const qcell = (row: string, size: number, digits = 0): string => {
  const v = queueRows[row]?.[size];
  return v === undefined || !Number.isFinite(v) ? "n/a" : fmt(v, digits);
};
const qratio = (a: string, b: string, size: number): string =>
  ratio(queueRows[a]?.[size] ?? NaN, queueRows[b]?.[size] ?? NaN);
const qline = (label: string, cells: (size: number) => string): void =>
  console.log(`| ${label} | ` + QUEUE_SIZES.map(([, n]) => cells(n)).join(" | ") + " |");
console.log(
  "\n| message queues (Deno child on the other end) | " + QUEUE_SIZES.map(([l]) => l).join(" | ") +
    " |",
);
console.log("|---|" + QUEUE_SIZES.map(() => "---:").join("|") + "|");
for (const [mech, name] of [["pmq", "POSIX mq"], ["sysvmq", "System V mq"]] as const) {
  qline(`dipc ${name} throughput, MB/s`, (n) => qcell(`dipc ${mech} thr`, n));
  qline(`C \`baseline ${mech} thr\`, MB/s`, (n) => qcell(`C ${mech} thr`, n));
  qline(`**dipc ÷ C throughput**`, (n) => qratio(`dipc ${mech} thr`, `C ${mech} thr`, n));
  qline(`dipc ${name} round trip, median µs`, (n) => qcell(`dipc ${mech} lat`, n, 1));
  qline(`C \`baseline ${mech} lat\`, median µs`, (n) => qcell(`C ${mech} lat`, n, 1));
  qline(`dipc ÷ C round trip`, (n) => qratio(`dipc ${mech} lat`, `C ${mech} lat`, n));
}

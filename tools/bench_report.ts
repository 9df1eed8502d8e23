/**
 * Runs dipc's benchmarks and the C reference harness (../shared/reference) in the same run and
 * prints a Markdown table of the figures and the dipc ÷ C ratios, as the README shows it.
 *
 * - shared-memory bandwidth: `deno bench --json bench/shm_bench.ts` against C `memcpy_bw`;
 * - futex round trip between two processes: medians measured here exactly as the C harness
 *   measures them (each round trip timed, the first 2% dropped), against `ipcbench shmfutex`
 *   and `ipcbench shmspin`.
 *
 * Run: deno task bench:c
 *
 * @module
 */

import { futexWait, futexWaitSync, futexWake, SharedMemory } from "../mod.ts";
import { ROOT } from "./examples.ts";

const REFERENCE = `${ROOT}../shared/reference`;
const SIZES: Array<[string, number]> = [["64 B", 64], ["4 KiB", 4096], ["64 KiB", 65536], [
  "1 MiB",
  1 << 20,
]];
const fmt = (x: number, digits = 1): string =>
  x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

async function output(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

/** RESULT lines of the C harness as key=value records. */
function results(text: string): Array<Record<string, string>> {
  return text.split("\n").filter((l) => l.startsWith("RESULT ")).map((l) =>
    Object.fromEntries(l.slice(7).split(" ").map((kv) => kv.split("=") as [string, string]))
  );
}

// ---- C harness -----------------------------------------------------------------------------
let haveC = true;
const cDir = await Deno.makeTempDir({ prefix: "dipc-bench-" });
const memcpy: Record<number, number> = {};
try {
  await output("gcc", [
    "-O2",
    "-o",
    `${cDir}/ipcbench`,
    `${REFERENCE}/ipcbench.c`,
    "-lrt",
    "-lpthread",
  ]);
  await output("gcc", ["-O2", "-o", `${cDir}/memcpy_bw`, `${REFERENCE}/memcpy_bw.c`]);
  for (const r of results(await output(`${cDir}/memcpy_bw`, ["0.5"]))) {
    if (r.mech === "memcpy") memcpy[Number(r.size)] = Number(r.MBps);
  }
} catch (e) {
  haveC = false;
  console.error(`C reference harness not run: ${(e as Error).message.split("\n")[0]}`);
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
  const times: number[] = [];
  let seq = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const v = seq + 1;
    Atomics.store(w, 0, v);
    futexWake(w, 0, 1);
    if (mode === "sync") {
      for (let x = Atomics.load(w, 0); x === v; x = Atomics.load(w, 0)) futexWaitSync(w, 0, v);
    } else if (mode === "async") {
      for (let x = Atomics.load(w, 0); x === v; x = Atomics.load(w, 0)) await futexWait(w, 0, v);
    } else {
      while (Atomics.load(w, 0) === v) { /* spin */ }
    }
    seq = v + 1;
    times.push((performance.now() - t0) * 1000);
  }
  Atomics.store(w, 0, -2); // even and never answered: the peer times out and exits
  peer.kill();
  await peer.status;
  return times.slice(Math.floor(n * 0.02)).sort((a, b) => a - b);
}
const pct = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

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
      const [r] = results(await output(`${cDir}/ipcbench`, [mech, "lat", "64", "1"]));
      record(mech, Number(r?.median_us), Number(r?.p99_us));
    }
  }
  for (const [mode, n] of [["sync", 20_000], ["async", 15_000], ["spin", 20_000]] as const) {
    const t = await roundTrips(mode, n);
    record(mode, pct(t, 0.5), pct(t, 0.99));
  }
}
await Deno.remove(cDir, { recursive: true });
const lat = (name: string): Latency => ({
  median: median(samples[name]?.medians ?? []),
  p99: median(samples[name]?.p99s ?? []),
});

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
  "| C memcpy (reference) | " +
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
  "dipc `futexWait` (async: spin, then pool thread) ⇄ `futexWaitSync`",
  lat("async"),
  lat("shmfutex"),
);
row("dipc busy poll ⇄ `futexWaitSync`", lat("spin"));
if (haveC) {
  row("C `ipcbench shmfutex lat 64`", lat("shmfutex"), lat("shmfutex"));
  row("C `ipcbench shmspin lat 64` (both sides spin)", lat("shmspin"));
}
console.log(`\n(latency: median of ${REPS} alternating runs of each)`);

/**
 * Process pools side by side in one run: dipc's `ProcessPool`, a pool of Deno Workers over
 * `postMessage`, Python's `concurrent.futures.ProcessPoolExecutor` (/usr/bin/python3) and
 * piscina in Node (npm, installed once under ~/.cache/dipc-bench/pool), each with the same
 * worker count and tasks: an empty task (the round-trip overhead), a 4 KiB argument and result,
 * a 1 MiB buffer copied and shared, the start-up of the pool, and (dipc) the time a crashed
 * worker's replacement takes to answer, CPU and allocation per empty task.
 *
 * Run: deno run -A bench/_pool_peers.ts   (prints the table; the suite uses {@linkcode poolRuns})
 *
 * @module
 */

import { hasCommand } from "../tools/_host.ts";
import { median, output, results } from "./_measure.ts";

/** The peers, in the table's order. */
export const POOL_PEERS = [
  "dipc ProcessPool",
  "Deno Workers (postMessage)",
  "Python ProcessPoolExecutor",
  "piscina (Node)",
] as const;
/** The rows, by the RESULT lines' `row`. */
export const POOL_ROWS: Record<string, string> = {
  "empty": "empty task, tasks/s",
  "4k": "4 KiB argument and result, tasks/s",
  "1m-copied": "1 MiB buffer, copied, tasks/s",
  "1m-shared": "1 MiB buffer, shared, tasks/s",
  "startup": "start-up of the pool, ms",
};

const PISCINA = "piscina@5.3.2";
const PISCINA_DIR = `${Deno.env.get("HOME") ?? "/tmp"}/.cache/dipc-bench/pool`;
const HERE = new URL(".", import.meta.url).pathname;

async function havePiscina(): Promise<boolean> {
  try {
    Deno.statSync(`${PISCINA_DIR}/node_modules/piscina/package.json`);
    return true;
  } catch { /* not yet */ }
  if (!hasCommand("npm")) return false;
  try {
    await output("npm", ["install", "--prefix", PISCINA_DIR, "--no-save", PISCINA]);
    return true;
  } catch (e) {
    console.error(`piscina not measured: npm install ${PISCINA}: ${(e as Error).message}`);
    return false;
  }
}

/** One run of every peer: peer → row → value (and dipc's extras under their own rows). */
export async function poolRun(workers = 4): Promise<Record<string, Record<string, number>>> {
  const out: Record<string, Record<string, number>> = {};
  const read = (peer: string, text: string): void => {
    const rows: Record<string, number> = {};
    for (const r of results(text)) {
      const row = r.row ?? "";
      rows[row] = Number(r.per_s ?? r.ms ?? r.us ?? r.bytes);
      if (r.parent_us !== undefined) rows[`${row}-parent`] = Number(r.parent_us);
    }
    out[peer] = rows;
  };
  const deno = (mode: string): Promise<string> =>
    output(Deno.execPath(), ["run", "-A", `${HERE}_pool_deno.ts`, mode, String(workers)]);
  read(POOL_PEERS[0], await deno("dipc"));
  read(POOL_PEERS[1], await deno("workers"));
  if (hasCommand("/usr/bin/python3")) {
    read(
      POOL_PEERS[2],
      await output("/usr/bin/python3", [`${HERE}_pool_python.py`, String(workers)]),
    );
  }
  if (hasCommand("node") && await havePiscina()) {
    read(
      POOL_PEERS[3],
      await output("node", [`${HERE}_pool_piscina.mjs`, PISCINA_DIR, String(workers)]),
    );
  }
  return out;
}

/** `reps` runs, alternating; each figure is the median, with its spread. */
export async function poolRuns(
  reps: number,
  workers = 4,
): Promise<
  { runs: Record<string, Record<string, number>>[]; median: Record<string, Record<string, number>> }
> {
  const runs: Record<string, Record<string, number>>[] = [];
  for (let i = 0; i < reps; i++) runs.push(await poolRun(workers));
  const med: Record<string, Record<string, number>> = {};
  for (const peer of new Set(runs.flatMap((r) => Object.keys(r)))) {
    med[peer] = {};
    for (const row of new Set(runs.flatMap((r) => Object.keys(r[peer] ?? {})))) {
      const xs = runs.map((r) => r[peer]?.[row]).filter((x): x is number => Number.isFinite(x));
      (med[peer] as Record<string, number>)[row] = xs.length ? median(xs) : NaN;
    }
  }
  return { runs, median: med };
}

/** The comparison as a Markdown table: figures, and dipc's ratio to each peer in brackets. */
export function poolTable(med: Record<string, Record<string, number>>, workers = 4): string {
  const fmt = (x: number | undefined): string =>
    x === undefined || !Number.isFinite(x)
      ? "—"
      : x >= 100
      ? Math.round(x).toLocaleString("en-US")
      : x.toFixed(1);
  const dipc = med[POOL_PEERS[0]] ?? {};
  const lines = [
    `| ${workers} workers | ${POOL_PEERS.join(" | ")} |`,
    `|---|${POOL_PEERS.map(() => "---:").join("|")}|`,
  ];
  for (const [row, label] of Object.entries(POOL_ROWS)) {
    const cells = POOL_PEERS.map((peer, i) => {
      const v = med[peer]?.[row];
      const d = dipc[row];
      if (i === 0 || v === undefined || d === undefined || !Number.isFinite(v)) return fmt(v);
      // Ratios say how dipc compares: higher is better for rates, lower for times.
      const ratio = row === "startup" ? v / d : d / v;
      return `${fmt(v)} (dipc ${ratio.toFixed(2)}×)`;
    });
    lines.push(`| ${label} | ${cells.join(" | ")} |`);
  }
  const extra = [
    ["crash-recovery", "a crashed worker's replacement answers, ms after the crash"],
    ["cpu-per-empty", "CPU per empty task, all processes, µs"],
    ["cpu-per-empty-parent", "of which the caller's, µs"],
    ["alloc-per-empty", "caller's heap allocation per empty task, bytes"],
  ];
  for (const [row, label] of extra) {
    lines.push(`| dipc: ${label} | ${fmt(dipc[row ?? ""])} | | | |`);
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const reps = Number(Deno.env.get("DIPC_BENCH_REPS") ?? 3);
  const { median: med } = await poolRuns(reps);
  console.log(poolTable(med));
  console.log(`\n(median of ${reps} runs; ${navigator.hardwareConcurrency} CPUs)`);
}

/**
 * The transport benchmark suite: every dipc transport (ring channel, pipe, FIFO, POSIX and
 * System V queues, Unix sockets) and Deno's built-ins (Unix socket, `Deno.Command` pipes) against
 * the C baseline (bench/c/baseline.c, compiled here with gcc), at 64 B, 4 KiB, 64 KiB and 1 MiB, in one
 * run: C and dipc alternate, three times, and each figure is the median of its three. Prints
 * Markdown tables of the figures and of the dipc ÷ C ratios, and writes the results as JSON
 * (bench/results/suite.json) and as an SVG chart (docs/bench.svg) for the README.
 *
 * Then the web server of example 31 (both modes, 2 workers) and one `Deno.serve` process under
 * `wrk` (Debian's package; skipped when it is not installed): requests per second and p99.
 *
 * Run: deno task bench:suite   (about 7 minutes; DIPC_BENCH_REPS=1 for a quick look)
 *
 * @module
 */

import {
  commandRoundTrips,
  commandThroughput,
  dipcSocketRoundTrips,
  dipcSocketThroughput,
  median,
  nodeSockets,
  output,
  pct,
  pipeRoundTrips,
  pipeThroughput,
  queueRoundTrips,
  queueThroughput,
  results,
  ringRoundTrips,
  ringThroughput,
  socketRoundTrips,
  socketThroughput,
  type WebLoad,
  type WebServer,
  webServerLoad,
} from "../bench/_measure.ts";
import { ROOT } from "./examples.ts";

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
const REPS = Number(Deno.env.get("DIPC_BENCH_REPS") ?? 3);
const C_SECONDS = "0.5";

/** One row of the suite: a dipc or Deno measurement and the C mechanism it is compared with. */
interface Row {
  name: string;
  c: string;
  measure: (size: number) => Promise<number>;
}
const thrTotal = (size: number): number => size === 64 ? 16 << 20 : 256 << 20;
const rtCount = (size: number): number => size >= 1 << 20 ? 300 : size >= 65536 ? 2000 : 10_000;
const rt = async (p: Promise<number[]>): Promise<number> => pct(await p, 0.5);

const THROUGHPUT_ROWS: Row[] = [
  {
    name: "dipc ring channel (send ⇄ receiveInto)",
    c: "shmring",
    measure: (s) => ringThroughput(s, thrTotal(s) * 2 / s),
  },
  {
    name: "dipc ring channel, batches (sendBatch ⇄ receiveBatch)",
    c: "shmring",
    measure: (s) => ringThroughput(s, thrTotal(s) * 2 / s, "batch"),
  },
  {
    name: "dipc ring channel, zero-copy (reserve ⇄ peek)",
    c: "shmring",
    measure: (s) => ringThroughput(s, thrTotal(s) * 2 / s, "zero"),
  },
  { name: "dipc pipe", c: "pipe", measure: (s) => pipeThroughput(s, 65536, thrTotal(s)) },
  {
    name: "dipc pipe, coalesced (writeBatch; 64 KiB reads)",
    c: "pipe",
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
    name: "`Deno.Command` stdin (baseline)",
    c: "pipe",
    measure: (s) => commandThroughput(s, thrTotal(s)),
  },
];
const ROUND_TRIP_ROWS: Row[] = [
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
  { name: "dipc pipe", c: "pipe", measure: (s) => rt(pipeRoundTrips(s, rtCount(s))) },
  { name: "dipc FIFO", c: "pipe", measure: (s) => rt(pipeRoundTrips(s, rtCount(s), "fifo")) },
  {
    name: "dipc POSIX mq",
    c: "pmq",
    measure: (s) => rt(queueRoundTrips("posix", s, rtCount(s) / 4)),
  },
  {
    name: "dipc System V mq",
    c: "sysvmq",
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
    name: "`Deno.Command` stdin/stdout (baseline)",
    c: "pipe",
    measure: (s) => rt(commandRoundTrips(s, rtCount(s) / 4)),
  },
];
const THROUGHPUT = THROUGHPUT_ROWS.filter((r) => picked(r.name));
const ROUND_TRIP = ROUND_TRIP_ROWS.filter((r) => picked(r.name));

// ---- the C harness ------------------------------------------------------------------------------
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
async function c(mech: string, mode: "thr" | "lat", size: number): Promise<number> {
  if (!haveC) return NaN;
  const [r] = results(await output(`${cDir}/baseline`, [mech, mode, String(size), C_SECONDS]));
  return Number(mode === "thr" ? r?.MBps : r?.median_us);
}

// ---- the runs -------------------------------------------------------------------------------------
type Figures = Record<string, Record<number, number[]>>;
const thr: Figures = {};
const lat: Figures = {};
const cThr: Figures = {};
const cLat: Figures = {};
const add = (f: Figures, k: string, size: number, v: number): void =>
  void ((f[k] ??= {})[size] ??= []).push(v);
// Progress, one line a measurement, for `dipc bench`'s bar: "step N of M: what".
const cThrMechs = [...new Set(THROUGHPUT.map((r) => r.c))];
const cLatMechs = [...new Set(ROUND_TRIP.map((r) => r.c))];
const runWeb = ONLY === "" || "web server".includes(ONLY);
const perSize = cThrMechs.length + THROUGHPUT.length + cLatMechs.length + ROUND_TRIP.length;
const totalSteps = REPS * (SIZES.length * perSize + (runWeb ? 3 : 0));
let step = 0;
const progress = (what: string): void => console.error(`step ${++step} of ${totalSteps}: ${what}`);
for (let rep = 0; rep < REPS; rep++) {
  for (const size of SIZES) {
    console.error(`round ${rep + 1} of ${REPS}, ${LABEL[size]}`);
    for (const mech of cThrMechs) {
      progress(`C ${mech} throughput, ${LABEL[size]}`);
      add(cThr, mech, size, await c(mech, "thr", size));
    }
    for (const row of THROUGHPUT) {
      progress(`${row.name} throughput, ${LABEL[size]}`);
      add(thr, row.name, size, await row.measure(size));
    }
    for (const mech of cLatMechs) {
      progress(`C ${mech} round trip, ${LABEL[size]}`);
      add(cLat, mech, size, await c(mech, "lat", size));
    }
    for (const row of ROUND_TRIP) {
      progress(`${row.name} round trip, ${LABEL[size]}`);
      add(lat, row.name, size, await row.measure(size));
    }
  }
}
await Deno.remove(cDir, { recursive: true });

// ---- the web server: example 31 (2 workers, each mode) against one Deno.serve process --------
const WEB: Array<[WebServer, string]> = [
  ["deno-serve", "one `Deno.serve` process (baseline)"],
  ["inherit", "example 31, 2 workers inheriting the listener"],
  ["handover", "example 31, 2 workers, connections handed over (`SCM_RIGHTS`)"],
];
const WEB_SECONDS = Number(Deno.env.get("DIPC_BENCH_WEB_SECONDS") ?? 5);
const web: Record<string, WebLoad[]> = {};
const haveWrk = (await new Deno.Command("sh", {
  args: ["-c", "command -v wrk"],
  stdout: "null",
}).output()).success;
if (!haveWrk) console.error("web server rows not run: wrk is not installed (apt-get install wrk)");
for (let rep = 0; runWeb && rep < REPS; rep++) {
  console.error(`web server, round ${rep + 1} of ${REPS}`);
  for (const [server] of WEB) {
    progress(`web server ${server}`);
    if (!haveWrk) continue;
    (web[server] ??= []).push(await webServerLoad(server, 2, WEB_SECONDS));
  }
}

// ---- report ---------------------------------------------------------------------------------------
const mid = (f: Figures, k: string, size: number): number => median(f[k]?.[size] ?? []);
const fmt = (x: number, digits: number): string =>
  Number.isFinite(x)
    ? x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : "n/a";
const head = (title: string): void => {
  console.log(`\n| ${title} | ` + SIZES.map((s) => LABEL[s]).join(" | ") + " |");
  console.log("|---|" + SIZES.map(() => "---:").join("|") + "|");
};
const line = (label: string, cells: (size: number) => string): void =>
  console.log(`| ${label} | ` + SIZES.map(cells).join(" | ") + " |");

console.log(
  `\n${new Date().toISOString().slice(0, 10)}, ${Deno.build.target}, ` +
    `${navigator.hardwareConcurrency} CPUs; medians of ${REPS} alternating runs`,
);
head("throughput, MB/s (dipc or Deno ÷ C in brackets)");
for (const row of THROUGHPUT) {
  line(`${row.name} ÷ C \`${row.c}\``, (s) => {
    const v = mid(thr, row.name, s);
    return `${fmt(v, 0)} (${fmt(v / mid(cThr, row.c, s), 2)}×)`;
  });
}
for (const mech of new Set(THROUGHPUT.map((r) => r.c))) {
  line(`C \`baseline ${mech} thr\``, (s) => fmt(mid(cThr, mech, s), 0));
}
head("round trip, median µs (dipc or Deno ÷ C in brackets)");
for (const row of ROUND_TRIP) {
  line(`${row.name} ÷ C \`${row.c}\``, (s) => {
    const v = mid(lat, row.name, s);
    return `${fmt(v, 1)} (${fmt(v / mid(cLat, row.c, s), 2)}×)`;
  });
}
for (const mech of new Set(ROUND_TRIP.map((r) => r.c))) {
  line(`C \`baseline ${mech} lat\``, (s) => fmt(mid(cLat, mech, s), 1));
}

// How far apart the repetitions were: the slowest ÷ the fastest of each figure's runs.
const spread = (f: Figures, k: string, size: number): number => {
  const xs = f[k]?.[size] ?? [];
  return xs.length < 2 ? NaN : Math.max(...xs) / Math.min(...xs);
};
if (REPS > 1) {
  head(`spread of the ${REPS} runs, highest ÷ lowest (1.00× = identical runs)`);
  for (const row of THROUGHPUT) {
    line(`${row.name}, throughput`, (s) => `${fmt(spread(thr, row.name, s), 2)}×`);
  }
  for (const row of ROUND_TRIP) {
    line(`${row.name}, round trip`, (s) => `${fmt(spread(lat, row.name, s), 2)}×`);
  }
}

const webMid = (server: string, key: keyof WebLoad): number =>
  median((web[server] ?? []).map((w) => w[key]));
if (haveWrk && runWeb) {
  console.log(
    `\n| web server (\`wrk -t2 -c64 -d${WEB_SECONDS}s\`, loopback) | requests/s | ÷ Deno.serve | ` +
      `p99 latency, ms | ÷ Deno.serve |`,
  );
  console.log("|---|---:|---:|---:|---:|");
  for (const [server, label] of WEB) {
    const rps = webMid(server, "rps");
    const p99 = webMid(server, "p99");
    console.log(
      `| ${label} | ${fmt(rps, 0)} | ${fmt(rps / webMid("deno-serve", "rps"), 2)}× | ` +
        `${fmt(p99 / 1000, 2)} | ${fmt(p99 / webMid("deno-serve", "p99"), 2)}× |`,
    );
  }
}

const json = {
  date: new Date().toISOString(),
  target: Deno.build.target,
  cpus: navigator.hardwareConcurrency,
  reps: REPS,
  sizes: SIZES,
  throughput: THROUGHPUT.map((r) => ({
    name: r.name,
    c: r.c,
    mbps: SIZES.map((s) => mid(thr, r.name, s)),
    cMbps: SIZES.map((s) => mid(cThr, r.c, s)),
    runs: SIZES.map((s) => thr[r.name]?.[s] ?? []),
  })),
  web: WEB.map(([server, name]) => ({
    server,
    name,
    rps: webMid(server, "rps"),
    p99Us: webMid(server, "p99"),
  })),
  roundTrip: ROUND_TRIP.map((r) => ({
    name: r.name,
    c: r.c,
    us: SIZES.map((s) => mid(lat, r.name, s)),
    cUs: SIZES.map((s) => mid(cLat, r.c, s)),
    runs: SIZES.map((s) => lat[r.name]?.[s] ?? []),
  })),
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

/** Two bar charts of dipc ÷ C per transport and size: throughput (higher is better) and round trip. */
function chart(r: typeof json): string {
  const colors = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"];
  const barH = 7;
  const rowH = SIZES.length * barH + 10;
  const left = 330;
  const width = 820;
  const scaleMax = 2;
  const x = (v: number): number => left + Math.min(v, scaleMax) / scaleMax * (width - left - 60);
  const esc = (t: string): string =>
    t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/`/g, "");
  const parts: string[] = [];
  let y = 40;
  const panel = (
    title: string,
    rows: Array<{ name: string; c: string; ratios: number[] }>,
  ): void => {
    parts.push(`<text x="10" y="${y}" font-weight="bold">${esc(title)}</text>`);
    y += 12;
    const top = y;
    for (const row of rows) {
      parts.push(
        `<text x="${left - 8}" y="${y + rowH / 2}" text-anchor="end">${esc(row.name)} ÷ C ${
          esc(row.c)
        }</text>`,
      );
      row.ratios.forEach((v, i) => {
        const by = y + 4 + i * barH;
        if (Number.isFinite(v)) {
          parts.push(
            `<rect x="${left}" y="${by}" width="${(x(v) - left).toFixed(1)}" height="${
              barH - 1
            }" fill="${colors[i]}"/>`,
            `<text x="${(x(v) + 3).toFixed(1)}" y="${by + barH - 1}" font-size="8">${
              v.toFixed(2)
            }×${v > scaleMax ? " →" : ""}</text>`,
          );
        }
      });
      y += rowH;
    }
    for (const v of [0, 0.5, 1, 1.5, 2]) {
      parts.push(
        `<line x1="${x(v)}" y1="${top}" x2="${x(v)}" y2="${y}" stroke="${
          v === 1 ? "#000" : "#ccc"
        }" stroke-dasharray="${v === 1 ? "" : "2,2"}"/>`,
        `<text x="${x(v)}" y="${y + 12}" text-anchor="middle" font-size="9">${v}×</text>`,
      );
    }
    y += 34;
  };
  panel(
    "Throughput ÷ C (higher is better)",
    r.throughput.map((t) => ({ ...t, ratios: t.mbps.map((v, i) => v / (t.cMbps[i] ?? NaN)) })),
  );
  panel(
    "Round trip ÷ C (lower is better)",
    r.roundTrip.map((t) => ({ ...t, ratios: t.us.map((v, i) => v / (t.cUs[i] ?? NaN)) })),
  );
  const legend = SIZES.map((s, i) =>
    `<rect x="${left + i * 90}" y="12" width="10" height="10" fill="${colors[i]}"/><text x="${
      left + 14 + i * 90
    }" y="21">${LABEL[s]}</text>`
  ).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="21" font-weight="bold">dipc ÷ C, ${
    esc(r.date.slice(0, 10))
  }, ${r.cpus} CPUs</text>${legend}
${parts.join("\n")}
</svg>
`;
}

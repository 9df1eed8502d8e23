/**
 * The suite's chart (docs/bench.svg), drawn from its results (bench/results/suite.json) alone:
 * three panels (the cost in one thread, throughput, round trips), each bar a ratio to C on a log
 * axis centred on 1× (no cap: 0.05× and 20× are both where they belong), its figure and the
 * absolute value in a column of their own to the right (so no two labels overlap), ‡ where the
 * runs spread over the suite's limit, and a left margin wide enough for the longest row name.
 *
 * Run: deno run --allow-read --allow-write tools/_chart.ts   (draws docs/bench.svg again from
 * bench/results/suite.json)
 *
 * @module
 */

/** What the chart reads of the suite's JSON. */
export interface ChartInput {
  date: string;
  cpus: number;
  sizes: number[];
  spreadLimit: number;
  oneThread: ChartRow[];
  throughput: ChartRow[];
  roundTrip: ChartRow[];
}

/** One row: a ratio a size, the absolute figures, and both spreads. */
export interface ChartRow {
  name: string;
  c: string;
  ratio: number[];
  spread: number[];
  cSpread: number[];
  ns?: number[];
  mbps?: number[];
  us?: number[];
}

const LABEL: Record<number, string> = {
  64: "64 B",
  4096: "4 KiB",
  65536: "64 KiB",
  1048576: "1 MiB",
};
const COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"];
/** Width of a character at the chart's font size (11 px sans-serif), generously. */
export const CHAR_PX = 6.6;
const SMALL_CHAR_PX = 5.2; // at 9 px
const LOG_MIN = 1 / 32;
const LOG_MAX = 32;

/** The SVG. */
export function chart(r: ChartInput): string {
  const esc = (t: string): string =>
    t.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/`/g, "");
  const label = (row: ChartRow): string => `${row.name} ÷ C ${row.c}`;
  const all = [...r.oneThread, ...r.throughput, ...r.roundTrip];
  const left = 16 + Math.ceil(Math.max(...all.map((row) => esc(label(row)).length)) * CHAR_PX);
  const plot = 420;
  const valueX = left + plot + 12;
  const valueW = 190;
  const width = valueX + valueW;
  const barH = 11;
  const rowH = r.sizes.length * barH + 8;
  const x = (v: number): number => {
    const c = Math.min(LOG_MAX, Math.max(LOG_MIN, v));
    return left + (Math.log(c / LOG_MIN) / Math.log(LOG_MAX / LOG_MIN)) * plot;
  };
  const abs = (v: number, unit: string): string =>
    Number.isFinite(v)
      ? `${v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toPrecision(3)} ${unit}`
      : "";
  const parts: string[] = [];
  let y = 44;
  const panel = (
    title: string,
    note: string,
    rows: ChartRow[],
    unit: string,
    values: (row: ChartRow) => number[] | undefined,
  ): void => {
    parts.push(`<text x="10" y="${y}" font-weight="bold">${esc(title)}</text>`);
    parts.push(`<text x="10" y="${y + 14}" font-size="9" fill="#555">${esc(note)}</text>`);
    y += 24;
    const top = y;
    for (const row of rows) {
      parts.push(
        `<text x="${left - 8}" y="${y + rowH / 2 + 3}" text-anchor="end">${esc(label(row))}</text>`,
      );
      row.ratio.forEach((v, i) => {
        const by = y + 4 + i * barH;
        if (!Number.isFinite(v)) return;
        const a = x(1);
        const b = x(v);
        const marked = (row.spread[i] ?? 0) > r.spreadLimit ||
          (row.cSpread[i] ?? 0) > r.spreadLimit;
        const beyond = v > LOG_MAX || v < LOG_MIN ? " (beyond the axis)" : "";
        parts.push(
          `<rect x="${Math.min(a, b).toFixed(1)}" y="${by}" width="${
            Math.max(1, Math.abs(b - a)).toFixed(1)
          }" height="${barH - 2}" fill="${COLORS[i % COLORS.length]}"${
            marked ? ' fill-opacity="0.45"' : ""
          }/>`,
          `<text x="${valueX}" y="${by + barH - 3}" font-size="9">${
            LABEL[r.sizes[i] ?? 0] ?? ""
          }: ${v.toFixed(2)}×${marked ? " ‡" : ""} · ${
            esc(abs(values(row)?.[i] ?? NaN, unit))
          }${beyond}</text>`,
        );
      });
      y += rowH;
    }
    for (const v of [1 / 16, 1 / 4, 1, 4, 16]) {
      const t = v < 1 ? `1/${1 / v}×` : `${v}×`;
      parts.push(
        `<line x1="${x(v).toFixed(1)}" y1="${top}" x2="${x(v).toFixed(1)}" y2="${y}" stroke="${
          v === 1 ? "#000" : "#ccc"
        }" stroke-dasharray="${v === 1 ? "" : "2,2"}"/>`,
        `<text x="${x(v).toFixed(1)}" y="${y + 12}" text-anchor="middle" font-size="9">${t}</text>`,
      );
    }
    y += 36;
  };
  panel(
    "The cost in one thread, both ends ÷ C (lower is better)",
    "ns a message; what the code itself costs, with no CPU-to-CPU traffic",
    r.oneThread,
    "ns",
    (row) => row.ns,
  );
  panel(
    "Throughput across two processes, pinned ÷ C (higher is better)",
    "MB/s; faded bars and ‡: the five runs spread over " + `${r.spreadLimit}× (dipc's or C's)`,
    r.throughput,
    "MB/s",
    (row) => row.mbps,
  );
  panel(
    "Round trip ÷ C (lower is better); C receives as dipc does (-spin: try, then block)",
    "µs, median; log axis, 1× = C's figure",
    r.roundTrip,
    "µs",
    (row) => row.us,
  );
  const legend = r.sizes.map((s, i) =>
    `<rect x="${left + i * 80}" y="28" width="10" height="10" fill="${
      COLORS[i % COLORS.length]
    }"/><text x="${left + 14 + i * 80}" y="37">${LABEL[s] ?? s}</text>`
  ).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${
    Math.ceil(width)
  }" height="${y}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="18" font-weight="bold">dipc ÷ C, ${
    esc(r.date.slice(0, 10))
  }, ${r.cpus} CPUs (deno task bench:suite)</text>${legend}
${parts.join("\n")}
</svg>
`;
}

/** Text that would not fit: `<text>` elements whose estimated extent leaves the SVG. */
export function overflowingText(svg: string): string[] {
  const width = Number(/<svg[^>]* width="(\d+)"/.exec(svg)?.[1] ?? 0);
  const out: string[] = [];
  for (
    const m of svg.matchAll(/<text x="([\d.]+)"[^>]*?(text-anchor="(\w+)")?[^>]*>([^<]*)<\/text>/g)
  ) {
    const at = Number(m[1]);
    const small = /font-size="9"/.test(m[0]);
    const w = (m[4] ?? "").replace(/&\w+;/g, "&").length * (small ? SMALL_CHAR_PX : CHAR_PX);
    const anchor = m[3] ?? "start";
    const from = anchor === "end" ? at - w : anchor === "middle" ? at - w / 2 : at;
    if (from < 0 || from + w > width) out.push(m[4] ?? "");
  }
  return out;
}

if (import.meta.main) {
  const root = new URL("..", import.meta.url).pathname;
  const json = JSON.parse(await Deno.readTextFile(`${root}bench/results/suite.json`)) as ChartInput;
  await Deno.writeTextFile(`${root}docs/bench.svg`, chart(json));
  console.log("wrote docs/bench.svg");
}

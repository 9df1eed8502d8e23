// Tables for the terminal, measured in display columns: a CJK character takes two, a combining
// mark or a zero-width character none, so rows with such names stay aligned. Columns marked
// truncatable are shortened, visibly (…), to fit the terminal's width.

/** The columns `dipc ls --output` takes. */
export const LS_COLUMNS = [
  "kind",
  "name",
  "ref",
  "owner",
  "uid",
  "mode",
  "size",
  "fill",
  "creator",
  "users",
  "last-use",
  "stale",
  "notes",
  "key",
  "id",
] as const;

// Zero width: combining marks, enclosing marks, format characters (ZWJ, bidi marks: printable()
// has already escaped what could steer the terminal), variation selectors.
const ZERO = /^[\p{Mn}\p{Me}\p{Cf}\u{FE00}-\u{FE0F}\u{E0100}-\u{E01EF}]$/u;

/** East Asian Wide and Fullwidth ranges (Unicode 15 EastAsianWidth.txt, W and F, merged). */
const WIDE: ReadonlyArray<readonly [number, number]> = [
  [0x1100, 0x115f],
  [0x231a, 0x231b],
  [0x2329, 0x232a],
  [0x23e9, 0x23ec],
  [0x23f0, 0x23f0],
  [0x23f3, 0x23f3],
  [0x25fd, 0x25fe],
  [0x2614, 0x2615],
  [0x2648, 0x2653],
  [0x267f, 0x267f],
  [0x2693, 0x2693],
  [0x26a1, 0x26a1],
  [0x26aa, 0x26ab],
  [0x26bd, 0x26be],
  [0x26c4, 0x26c5],
  [0x26ce, 0x26ce],
  [0x26d4, 0x26d4],
  [0x26ea, 0x26ea],
  [0x26f2, 0x26f3],
  [0x26f5, 0x26f5],
  [0x26fa, 0x26fa],
  [0x26fd, 0x26fd],
  [0x2705, 0x2705],
  [0x270a, 0x270b],
  [0x2728, 0x2728],
  [0x274c, 0x274c],
  [0x274e, 0x274e],
  [0x2753, 0x2755],
  [0x2757, 0x2757],
  [0x2795, 0x2797],
  [0x27b0, 0x27b0],
  [0x27bf, 0x27bf],
  [0x2b1b, 0x2b1c],
  [0x2b50, 0x2b50],
  [0x2b55, 0x2b55],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x16fe0, 0x16fe4],
  [0x17000, 0x18cd5],
  [0x1b000, 0x1b2fb],
  [0x1f004, 0x1f004],
  [0x1f0cf, 0x1f0cf],
  [0x1f18e, 0x1f18e],
  [0x1f191, 0x1f19a],
  [0x1f200, 0x1f251],
  [0x1f300, 0x1f64f],
  [0x1f680, 0x1f6ff],
  [0x1f7e0, 0x1f7eb],
  [0x1f90c, 0x1f9ff],
  [0x1fa70, 0x1faff],
  [0x20000, 0x3fffd],
];

function codeWidth(c: string): number {
  const cp = c.codePointAt(0) ?? 0;
  if (cp < 0x300) return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) ? 0 : 1;
  if (ZERO.test(c)) return 0;
  let lo = 0;
  let hi = WIDE.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = WIDE[mid] as readonly [number, number];
    if (cp < a) hi = mid - 1;
    else if (cp > b) lo = mid + 1;
    else return 2;
  }
  return 1;
}

/** How many terminal columns `s` takes. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const c of s) w += codeWidth(c);
  return w;
}

/** `s` padded with spaces to `width` display columns. */
export function padDisplay(s: string, width: number): string {
  const w = displayWidth(s);
  return w >= width ? s : s + " ".repeat(width - w);
}

/** `s` cut to at most `width` display columns, ending in "…" when anything was cut. */
export function truncateDisplay(s: string, width: number): string {
  if (displayWidth(s) <= width) return s;
  if (width <= 0) return "";
  let out = "";
  let w = 0;
  for (const c of s) {
    const cw = codeWidth(c);
    if (w + cw > width - 1) break;
    out += c;
    w += cw;
  }
  // Combining marks after the cut belong to the last character kept: keep none of them.
  return `${out}…`;
}

/** How a table is laid out. */
export interface TableOptions {
  /** Bold header (a terminal). */
  color: boolean;
  /** Print the header row (the first row). */
  headings: boolean;
  /** The width to fit, in display columns (Infinity: any). */
  width: number;
  /** Columns (by index) that may be shortened to fit, the first shortened first. */
  truncatable: readonly number[];
}

/**
 * Lays rows out in columns (the first row is the header). When the lines are wider than
 * `width`, the truncatable columns are shortened, each down to its header's width at least.
 */
export function table(rows: string[][], o: TableOptions): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => widths[i] = Math.max(widths[i] ?? 0, displayWidth(c)));
  const total = (): number => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  for (const i of o.truncatable) {
    const over = total() - o.width;
    if (over <= 0) break;
    const floor = Math.max(displayWidth(rows[0]?.[i] ?? ""), 8);
    widths[i] = Math.max(floor, (widths[i] ?? 0) - over);
  }
  const shown = o.headings ? rows : rows.slice(1);
  return shown.map((r, n) => {
    const line = r.map((c, i) => {
      const cut = truncateDisplay(c, widths[i] ?? 0);
      return i === r.length - 1 ? cut : padDisplay(cut, widths[i] ?? 0);
    }).join("  ").trimEnd();
    return n === 0 && o.headings && o.color ? `\x1b[1m${line}\x1b[22m` : line;
  }).join("\n");
}

/**
 * The width a table should fit: the terminal's when standard output is one (or `COLUMNS`, as
 * util-linux reads it), else unlimited.
 */
export function outputWidth(): number {
  const env = Deno.env.get("COLUMNS");
  if (env !== undefined && /^\d+$/.test(env) && Number(env) > 0) return Number(env);
  if (!Deno.stdout.isTerminal()) return Infinity;
  try {
    return Deno.consoleSize().columns;
  } catch {
    return Infinity;
  }
}

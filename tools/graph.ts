/**
 * The module graph's health, as docs/ARCHITECTURE.md states its rules: import circles, imports
 * that point up a floor, and files over 900 lines. Prints the figures; `--check` exits 1 when
 * there is a circle or an upward import (tests/graph_test.ts runs it so).
 *
 * ```sh
 * deno run --allow-read --allow-write --allow-run tools/graph.ts [--check]
 * ```
 *
 * @module
 */

import { ROOT } from "./_host.ts";

/** The floors, lowest first: a file may import its own floor and those below, never above. */
export const FLOORS: ReadonlyArray<{ name: string; files: (path: string) => boolean }> = [
  { name: "ffi", files: (p) => p.startsWith("ffi/") },
  { name: "core", files: (p) => CORE.has(p) },
  {
    name: "a technique's private half",
    files: (p) => /^src\/_/.test(p) && !CORE.has(p) && !COMPOSED.some((c) => p.startsWith(c)),
  },
  { name: "technique", files: (p) => /^src\/[a-z]/.test(p) && !CORE.has(p) && !TOP.has(p) },
  {
    name: "a composition's private half",
    files: (p) => COMPOSED.some((c) => p.startsWith(c)),
  },
  { name: "composition", files: (p) => TOP.has(p) },
  { name: "mod.ts", files: (p) => p === "mod.ts" },
  { name: "cli", files: (p) => p.startsWith("cli/") },
];

/**
 * The process-wide core every technique may use: errors, validation, the sentinels, the
 * module-private token, waiting (the futex, the reactor, the kernel waiters), liveness, mapped
 * memory and slots in it, opening named objects, System V identity, codecs, the tuning table.
 * Three of them are public too (errors.ts, mapped_memory.ts, sysv_key.ts).
 */
const CORE = new Set([
  "src/errors.ts",
  "src/mapped_memory.ts",
  "src/sysv_key.ts",
  "src/_errno.ts",
  "src/_internal.ts",
  "src/_sentinels.ts",
  "src/_validate.ts",
  "src/_printable.ts",
  "src/_tuning.ts",
  "src/_copy.ts",
  "src/_futex.ts",
  "src/_wait.ts",
  "src/_reactor.ts",
  "src/_kernel_wait.ts",
  "src/_kernel_waiter_worker.ts",
  "src/_fd.ts",
  "src/_liveness.ts",
  "src/_mapping.ts",
  "src/_slot.ts",
  "src/_posix_open.ts",
  "src/_sysv.ts",
  "src/_streams.ts",
  "src/_codec.ts",
  "src/_clone_codec.ts",
  "src/_ipc_kinds.ts",
  "src/_permit.ts",
]);

/** Private halves of the compositions (by prefix). */
const COMPOSED = ["src/_channel_", "src/_pool_", "src/_nats_", "src/_inventory_"];

/** The modules built of other techniques. */
const TOP = new Set([
  "src/channel.ts",
  "src/nats.ts",
  "src/inventory.ts",
  "src/pool.ts",
  "src/nats_pool.ts",
]);

/** The floor of `path`, or -1 for files outside the library (tools, tests, bench, examples). */
export function floorOf(path: string): number {
  return FLOORS.findIndex((f) => f.files(path));
}

/** One import: from, to, and whether only types cross it. */
export interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

/** Every import between the library's files (ffi/, src/, mod.ts, cli/). */
export async function edges(): Promise<Edge[]> {
  const roots = ["mod.ts", ...listTs("src"), ...listTs("cli"), ...listTs("ffi")];
  // One graph for all of them: a module that imports every root.
  const entry = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(entry, roots.map((r) => `import "file://${ROOT}${r}";\n`).join(""));
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } finally {
    await Deno.remove(entry);
  }
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  const docs = [JSON.parse(new TextDecoder().decode(out.stdout))] as Array<{
    modules: Array<{
      specifier: string;
      dependencies?: Array<{ code?: { specifier: string }; type?: { specifier: string } }>;
    }>;
  }>;
  const seen = new Map<string, Edge>();
  const rel = (s: string): string | undefined =>
    s.startsWith(`file://${ROOT}`) ? s.slice(`file://${ROOT}`.length) : undefined;
  for (const doc of docs) {
    for (const m of doc.modules) {
      const from = rel(m.specifier);
      if (from === undefined) continue;
      for (const d of m.dependencies ?? []) {
        const code = d.code ? rel(d.code.specifier) : undefined;
        const to = code ?? (d.type ? rel(d.type.specifier) : undefined);
        if (to === undefined || to.endsWith(".json")) continue;
        const key = `${from} ${to}`;
        const typeOnly = code === undefined;
        const had = seen.get(key);
        if (!had || (had.typeOnly && !typeOnly)) seen.set(key, { from, to, typeOnly });
      }
    }
  }
  return [...seen.values()];
}

function listTs(dir: string): string[] {
  return [...Deno.readDirSync(`${ROOT}${dir}`)]
    .filter((e) => e.isFile && e.name.endsWith(".ts"))
    .map((e) => `${dir}/${e.name}`)
    .sort();
}

/** The import circles (strongly connected components of more than one file). */
export function circles(all: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const e of all) next.set(e.from, [...(next.get(e.from) ?? []), e.to]);
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of next.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v) ?? 0, idx.get(w) ?? 0));
    }
    if (low.get(v) === idx.get(v)) {
      const c: string[] = [];
      for (let w = stack.pop(); w !== undefined; w = stack.pop()) {
        on.delete(w);
        c.push(w);
        if (w === v) break;
      }
      if (c.length > 1) found.push(c.sort());
    }
  };
  for (const v of new Set(all.flatMap((e) => [e.from, e.to]))) if (!idx.has(v)) visit(v);
  return found;
}

/** Imports from a lower floor to a higher one. */
export function upward(all: readonly Edge[]): Edge[] {
  return all.filter((e) => {
    const a = floorOf(e.from);
    const b = floorOf(e.to);
    return a >= 0 && b >= 0 && b > a;
  });
}

/** Library files over `limit` lines. */
export function long(limit = 900): Array<{ file: string; lines: number }> {
  return ["mod.ts", ...listTs("src"), ...listTs("cli"), ...listTs("ffi")]
    .map((file) => ({
      file,
      lines: Deno.readTextFileSync(`${ROOT}${file}`).split("\n").length - 1,
    }))
    .filter((f) => f.lines > limit)
    .sort((a, b) => b.lines - a.lines);
}

if (import.meta.main) {
  const all = await edges();
  const c = circles(all);
  const cTypes = circles(all.filter((e) => !e.typeOnly));
  const up = upward(all);
  const big = long();
  console.log(`${all.length} imports between ${new Set(all.map((e) => e.from)).size} files`);
  console.log(`import circles: ${c.length} (${cTypes.length} without type-only imports)`);
  for (const x of c) console.log(`  ${x.join(" ↔ ")}`);
  console.log(`imports that point up a floor: ${up.length}`);
  for (const e of up) {
    console.log(
      `  ${e.from} (${FLOORS[floorOf(e.from)]?.name}) → ${e.to} (${FLOORS[floorOf(e.to)]?.name})${
        e.typeOnly ? " [types]" : ""
      }`,
    );
  }
  console.log(`files over 900 lines: ${big.length}`);
  for (const f of big) console.log(`  ${f.file}: ${f.lines}`);
  if (Deno.args.includes("--check") && (c.length > 0 || up.length > 0)) Deno.exit(1);
}

/**
 * The list of examples and how each is run, read from the examples themselves: every numbered
 * script in examples/ has a title on its first doc line and a `Run:` line with its command.
 * The tour and the examples test both use this, so an example runs exactly as its header says.
 *
 * @module
 */

/** One example: its file, title, and the arguments to give `deno`. */
export interface Example {
  /** Path relative to the repository root, e.g. "examples/01_sysv_shm.ts". */
  file: string;
  /** The title from the header's first line. */
  title: string;
  /** The header text between the title and the Run: line. */
  summary: string;
  /** Arguments after `deno` from the Run: line. */
  args: string[];
}

export { ROOT } from "./_host.ts";
import { ROOT } from "./_host.ts";

/** Every numbered example, in order. */
export function listExamples(): Example[] {
  const files = [...Deno.readDirSync(`${ROOT}examples`)]
    .map((e) => e.name)
    .filter((n) => /^\d\d_.*\.ts$/.test(n))
    .sort();
  return files.map((name) => {
    const file = `examples/${name}`;
    const text = Deno.readTextFileSync(`${ROOT}${file}`);
    const header = text.slice(text.indexOf("/**"), text.indexOf("*/"))
      .split("\n").map((l) => l.replace(/^\s*\/?\*+ ?/, "")).slice(1);
    const title = header[0]?.trim() ?? name;
    const runAt = header.findIndex((l) => l.startsWith("Run: deno "));
    if (runAt < 0) throw new Error(`${file} has no "Run: deno …" line in its header`);
    const run = header[runAt]?.slice("Run: deno ".length).trim() ?? "";
    const args = run.split(/\s+/).filter((a) => !/^\[.*\]$/.test(a));
    const summary = header.slice(1, runAt).join("\n").trim();
    return { file, title, summary, args };
  });
}

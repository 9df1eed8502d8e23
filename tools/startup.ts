/**
 * How long the `dipc` command takes to start, against `deno run` of an empty file: each command
 * run `--runs` times (default 31), the three alternating so that a slow moment of the machine
 * falls on all of them; medians, and the ratios the command's targets are stated in.
 *
 * ```sh
 * deno run --allow-run --allow-read --allow-write tools/startup.ts [--runs 31]
 * ```
 *
 * @module
 */

const root = new URL("..", import.meta.url).pathname;
const runsAt = Deno.args.indexOf("--runs");
const runs = runsAt >= 0 ? Number(Deno.args[runsAt + 1]) : 31;
if (!Number.isSafeInteger(runs) || runs < 1) throw new TypeError("--runs must be a whole number");

const empty = await Deno.makeTempFile({ prefix: "dipc-startup-", suffix: ".ts" });
const cli = `${root}cli/dipc.ts`;
const perms = ["--allow-ffi", "--allow-env", "--allow-run"];
const commands: Record<string, string[]> = {
  "deno run (empty file)": ["run", empty],
  "dipc --version": ["run", ...perms, cli, "--version"],
  "dipc ls": ["run", ...perms, cli, "ls"],
};

async function once(args: string[]): Promise<number> {
  const start = performance.now();
  const r = await new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "null" })
    .output();
  const ms = performance.now() - start;
  if (!r.success) throw new Error(`deno ${args.join(" ")} failed (exit ${r.code})`);
  return ms;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

try {
  const times: Record<string, number[]> = {};
  for (const args of Object.values(commands)) await once(args); // warm the caches
  for (let i = 0; i < runs; i++) {
    for (const [name, args] of Object.entries(commands)) {
      (times[name] ??= []).push(await once(args));
    }
  }
  const base = median(times["deno run (empty file)"] ?? []);
  console.log(`| command | median (${runs} runs) | ÷ empty deno run |`);
  console.log("| --- | --- | --- |");
  for (const [name, xs] of Object.entries(times)) {
    const m = median(xs);
    console.log(`| ${name} | ${m.toFixed(1)} ms | ${(m / base).toFixed(2)}× |`);
  }
} finally {
  await Deno.remove(empty);
}

/**
 * What the examples share: running this same script again as a second process, with a role.
 *
 * An example is one file: run without arguments it plays the parent and starts itself again
 * with a role ("reader", "writer", …) for each child. The child gets only `--allow-ffi`
 * (and `--allow-read` where the example says so): what the technique needs.
 *
 * @module
 */

import { type ChildProcess, futexWait, spawn, type SpawnOptions } from "../mod.ts";

/** Runs `deno run <flags> <script> <args>` and returns its standard output; throws on failure. */
export async function runChild(
  script: string,
  args: string[],
  flags: string[] = ["--allow-ffi"],
): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...flags, script, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`child ${args.join(" ")} exited with ${out.code}`);
  return new TextDecoder().decode(out.stdout);
}

/** Starts a child the same way, without waiting, for children that run side by side. */
export function startChild(
  script: string,
  args: string[],
  flags: string[] = ["--allow-ffi"],
): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...flags, script, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

/**
 * Waits (sleeping on the futex word) until `words[index]` reaches `n`: how the examples' parents
 * wait for their children to be ready. Throws after 10 s, e.g. when a child died.
 */
export async function awaitCount(words: Int32Array, index: number, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (let r = Atomics.load(words, index); r < n; r = Atomics.load(words, index)) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`children did not get ready (${r} of ${n})`);
    await futexWait(words, index, r, { timeout: left });
  }
}

/**
 * Starts this same script again as a child with dipc's {@linkcode spawn}, so the child can be
 * handed descriptors; the child gets `--allow-ffi` only.
 */
export function spawnSelf(
  script: string,
  args: string[],
  options: SpawnOptions = {},
): ChildProcess {
  return spawn(Deno.execPath(), {
    ...options,
    args: ["run", "--quiet", "--allow-ffi", script, ...args],
  });
}

/** Prints a child's output indented under a label. */
export function show(label: string, text: string): void {
  for (const line of text.trimEnd().split("\n")) console.log(`  [${label}] ${line}`);
}

/**
 * Runs this same script again as a child with dipc's {@linkcode spawn} (so the parent needs
 * only `--allow-ffi`) and returns its standard output; throws if it fails.
 */
export async function runSelf(
  script: string,
  args: string[],
  options: SpawnOptions = {},
): Promise<string> {
  await using child = spawnSelf(script, args, { ...options, stdout: "piped" });
  const { status, stdout } = await child.output();
  if (!status.success) {
    throw new Error(`child ${args.join(" ")} ended with ${status.code ?? status.signal}`);
  }
  return new TextDecoder().decode(stdout);
}

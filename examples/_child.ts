/**
 * What the examples share: running this same script again as a second process, with a role,
 * through dipc's public {@linkcode spawnDeno} (so a program of your own can do the same in one
 * line: `spawnDeno(import.meta.url, { args: ["child"], permissions: { ffi: true } })`).
 *
 * An example is one file: run without arguments it plays the parent and starts itself again
 * with a role ("reader", "writer", …) for each child. A child gets exactly the permissions the
 * example names: `--allow-ffi` (what dipc needs), and `--allow-read` where it says so.
 *
 * @module
 */

import {
  type ChildProcess,
  type DenoPermissions,
  futexWait,
  spawnDeno,
  type SpawnDenoOptions,
} from "../mod.ts";

/** What a child gets unless an example says otherwise: dipc's one permission. */
const FFI_ONLY: DenoPermissions = { ffi: true };

/** Starts this same script again with `args`; its stdout is piped. */
export function startChild(
  script: string,
  args: string[],
  permissions: DenoPermissions = FFI_ONLY,
): ChildProcess {
  return spawnDeno(script, { args, permissions, stdout: "piped" });
}

/** Runs this same script again with `args` and returns its standard output; throws on failure. */
export async function runChild(
  script: string,
  args: string[],
  permissions: DenoPermissions = FFI_ONLY,
): Promise<string> {
  await using child = startChild(script, args, permissions);
  const { status, stdout } = await child.output();
  if (!status.success) {
    throw new Error(`child ${args.join(" ")} ended with ${status.code ?? status.signal}`);
  }
  return new TextDecoder().decode(stdout);
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

/** Prints a child's output indented under a label. */
export function show(label: string, text: string): void {
  for (const line of text.trimEnd().split("\n")) console.log(`  [${label}] ${line}`);
}

/**
 * Runs this same script again with {@linkcode spawnDeno} (descriptors, stdio and permissions as
 * `options` say; `--allow-ffi` by default) and returns its standard output; throws if it fails.
 */
export async function runSelf(
  script: string,
  args: string[],
  options: Omit<SpawnDenoOptions, "args"> = {},
): Promise<string> {
  await using child = spawnDeno(script, {
    permissions: FFI_ONLY,
    ...options,
    args,
    stdout: "piped",
  });
  const { status, stdout } = await child.output();
  if (!status.success) {
    throw new Error(`child ${args.join(" ")} ended with ${status.code ?? status.signal}`);
  }
  return new TextDecoder().decode(stdout);
}

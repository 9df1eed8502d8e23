/**
 * The `dipc` command: see, make, use and clean up every IPC object on the machine.
 *
 * ```sh
 * deno task dipc ls                      # every object, of every kind
 * deno task dipc ls --stale --json       # what nobody will come back for, as JSON
 * deno task dipc mk mq /jobs             # a POSIX queue, mode 0600
 * echo hello | deno task dipc send /jobs # one message per line
 * deno task dipc recv /jobs --count 1
 * deno task dipc rm --stale --dry-run
 * ```
 *
 * Install it as a command: `deno install -g --allow-ffi --allow-read --allow-write --allow-run
 * -n dipc cli/dipc.ts` (or the same with this file's URL). Exit codes: 0 success, 1 failure, 2
 * usage. `dipc help COMMAND` shows each command's options and an example; docs/cli.md has the
 * JSON schema.
 *
 * @module
 */

import { VERSION } from "./_version.ts";

/**
 * Runs the command line `args`; returns the exit code (0, 1 failure, 2 usage).
 *
 * @example The command, in a program
 * ```ts
 * import { main } from "@dipc/dipc/cli";
 *
 * const code = await main(["--version"]); // prints deno.json's version
 * console.log(code); // 0
 * ```
 */
export async function main(args: string[]): Promise<number> {
  // The version needs nothing else: answered before any module of the library is loaded.
  if (args.length === 1 && (args[0] === "--version" || args[0] === "-V")) {
    console.log(VERSION);
    return 0;
  }
  const program = await import("./_program.ts");
  return await program.main(args);
}

if (import.meta.main) Deno.exit(await main(Deno.args));

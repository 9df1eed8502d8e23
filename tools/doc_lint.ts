/**
 * `deno doc --lint` over every entry point deno.json exports: the list is read from deno.json,
 * so a new export is linted without being named twice. `deno task check` and tools/ci.ts run it.
 *
 * ```sh
 * deno run --allow-read --allow-run tools/doc_lint.ts
 * ```
 *
 * @module
 */

import config from "../deno.json" with { type: "json" };
import { ROOT } from "./_host.ts";

/** Every file deno.json exports, as deno.json names them. */
export const EXPORTS: string[] = [...new Set(Object.values(config.exports))].sort();

if (import.meta.main) {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", ...EXPORTS],
    cwd: ROOT,
  }).spawn().status;
  Deno.exit(code);
}

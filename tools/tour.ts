/**
 * The tour: runs every example in order, each introduced by what it shows.
 *
 * Run: deno task tour
 *
 * @module
 */

import { listExamples, ROOT } from "./examples.ts";

const bold = (s: string): string => Deno.noColor ? s : `\x1b[1m${s}\x1b[22m`;
let failed = 0;
for (const ex of listExamples()) {
  console.log(`\n${bold(ex.title)}\n${ex.summary}\n$ deno ${ex.args.join(" ")}\n`);
  const status = await new Deno.Command(Deno.execPath(), { args: ex.args, cwd: ROOT }).spawn()
    .status;
  if (!status.success) {
    failed++;
    console.log(`!! ${ex.file} exited with code ${status.code}`);
  }
}
console.log(failed === 0 ? "\nTour complete." : `\n${failed} example(s) failed.`);
Deno.exit(failed === 0 ? 0 : 1);

/**
 * What this machine has, asked one way for the tools and the tests.
 *
 * @module
 */

/** Whether `cmd` is a program on the PATH (or a path to one), as `sh`'s `command -v` finds. */
export function hasCommand(cmd: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" })
    .outputSync().success;
}

/**
 * 11 · A process group stopped with one signal
 *
 * A shell job (say `a | b | c`) is a process group: the terminal's Ctrl-C signals the whole
 * group at once. Here a shell is started as the leader of a new process group and starts three
 * workers of its own; they inherit the group. One killpg(pgid, SIGTERM) reaches all four, as
 * `pgrep -g` shows before and after.
 *
 * Run: deno run --allow-ffi examples/11_process_group.ts
 *
 * @module
 */

import { killProcessGroup, spawn } from "../mod.ts";

/** Pids of the live (not zombie) processes in group `pgid`, as `pgrep -g` lists them. */
async function members(pgid: number): Promise<number[]> {
  const live = ["-r", "R,S,D,T,t"]; // a killed orphan stays a zombie until its new parent reaps it
  await using pgrep = spawn("pgrep", { args: ["-g", String(pgid), ...live], stdout: "piped" });
  const { stdout } = await pgrep.output();
  return new TextDecoder().decode(stdout).split("\n").filter(Boolean).map(Number);
}

await using leader = spawn("sh", {
  args: ["-c", "sleep 30 & sleep 30 & sleep 30 & echo started; wait"],
  processGroup: true,
  stdout: "piped",
});
const pgid = leader.pgid ?? 0;
await leader.stdout?.read(new Uint8Array(16), { timeout: 20_000 }); // "started"
const before = await members(pgid);
console.log(
  `process group ${pgid} (leader: sh ${leader.pid}) has ${before.length} processes: ${
    before.join(", ")
  }`,
);
killProcessGroup(pgid, "SIGTERM");
const status = await leader.status;
let left = await members(pgid); // signals take a moment to land
for (let i = 0; i < 100 && left.length > 0; i++) {
  await new Promise((r) => setTimeout(r, 10));
  left = await members(pgid);
}
console.log(
  `killpg(${pgid}, SIGTERM): the leader ended by ${status.signal}; ` +
    `${left.length} processes left in the group`,
);

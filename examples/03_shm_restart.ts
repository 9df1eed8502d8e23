/**
 * 03 · Data that survives a restart of its process
 *
 * Shared memory is worth using even with a single process: a named object outlives the process
 * that made it. The same program is started three times in a row; each run opens the object
 * (creating it only the first time), reads what earlier runs left, adds a line and exits.
 * Nothing is written to disk: the data lives in /dev/shm (RAM) until unlinked or reboot.
 *
 * Run: deno run --allow-ffi examples/03_shm_restart.ts
 *
 * @module
 */

import { SharedMemory } from "../mod.ts";
import { runChild, show } from "./_child.ts";

const LOG = 64; // the boot counter is word 0; the log text starts at byte 64

if (Deno.args[0] === "boot") {
  using shm = SharedMemory.create(Deno.args[1] ?? "", { size: 4096, exclusive: false });
  const counter = shm.int32(0, 1);
  const boot = Atomics.add(counter, 0, 1) + 1;
  const log = shm.bytes.subarray(LOG);
  const used = log.indexOf(0);
  const before = new TextDecoder().decode(log.subarray(0, used));
  console.log(
    shm.created
      ? `boot #${boot}: created the object; nothing from earlier runs`
      : `boot #${boot}: found ${
        before.split("\n").filter(Boolean).length
      } line(s) from earlier runs`,
  );
  log.set(new TextEncoder().encode(`run ${boot} was pid ${Deno.pid}\n`), used);
} else {
  const name = `/dipc-restart-${crypto.randomUUID()}`;
  try {
    for (let run = 1; run <= 3; run++) {
      show(`run ${run}`, await runChild(import.meta.url, ["boot", name]));
    }
    using shm = SharedMemory.open(name);
    const log = shm.bytes.subarray(LOG);
    console.log("what the object holds after three separate processes:");
    show("shm", new TextDecoder().decode(log.subarray(0, log.indexOf(0))));
  } finally {
    SharedMemory.unlink(name);
  }
}

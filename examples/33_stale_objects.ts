/**
 * 33 · What is left behind: finding stale IPC objects and cleaning them up
 *
 * IPC objects outlive the processes that made them: a segment or a ring channel stays in the
 * kernel or in /dev/shm after its last user is killed, and nothing says whether anyone will come
 * back for it. The inventory (what `dipc ls` prints) can tell, where the object records who
 * used it. Here a child attaches to a ring channel as its sender and is killed; a second ring
 * keeps a live receiver in this process. The inventory lists both, with their ends and whether
 * each is alive; the first is stale (every recorded end is dead and nobody maps it), the second
 * is in use. Removing the stale one is what `dipc rm --stale` does; the live one is refused
 * without `force`.
 *
 * Run: deno run --allow-ffi examples/33_stale_objects.ts
 *
 * @module
 */

import {
  ErrnoError,
  listIpcObjects,
  removeIpcObject,
  RingChannel,
  spawnDeno,
  staleIpcObjects,
} from "../mod.ts";

if (Deno.args[0] === "sender") {
  using channel = RingChannel.open(Deno.args[1] ?? "");
  using sender = channel.sender();
  sender.trySend(new TextEncoder().encode("a message nobody will read"));
  console.log("attached");
  await new Promise((r) => setTimeout(r, 60_000)); // killed long before
} else {
  const abandoned = `/dipc-example-abandoned-${crypto.randomUUID()}`;
  const busy = `/dipc-example-busy-${crypto.randomUUID()}`;
  RingChannel.create(abandoned, { capacity: 4096 }).close();
  using live = RingChannel.create(busy, { capacity: 4096 });
  using _receiver = live.receiver();
  try {
    await using child = spawnDeno(import.meta.url, {
      args: ["sender", abandoned],
      stdout: "piped",
    });
    const first = new Uint8Array(16);
    await child.stdout?.read(first, { timeout: 10_000 }); // "attached"
    child.kill("SIGKILL");
    const status = await child.wait({ timeout: 10_000 });
    console.log(`the sender of the first ring was killed (${status.signal})`);

    const mine = listIpcObjects({ kinds: ["ring"] }).objects
      .filter((o) => o.name === abandoned || o.name === busy);
    for (const o of mine) {
      const ends = [
        ...(o.ring?.senders ?? []).map((p) => `sender ${p.alive ? "alive" : "dead"}`),
        ...(o.ring?.receiver ? [`receiver ${o.ring.receiver.alive ? "alive" : "dead"}`] : []),
      ];
      console.log(
        `${o.name === abandoned ? "first " : "second"} ring: ${o.ring?.used} bytes queued, ` +
          `${ends.join(", ") || "no ends"}, mapped by ${o.users} process(es): ` +
          (o.stale ? "stale" : "in use"),
      );
    }
    for (const o of staleIpcObjects({ kinds: ["ring"] })) {
      if (o.name !== abandoned) continue; // other stale objects are not this example's to remove
      removeIpcObject(o);
      console.log("removed the stale ring");
    }
    const inUse = mine.find((o) => o.name === busy);
    try {
      if (inUse) removeIpcObject(inUse);
    } catch (e) {
      if (!(e instanceof ErrnoError)) throw e;
      console.log(`the ring in use is refused: ${e.code}`);
    }
    const left = listIpcObjects({ kinds: ["ring"] }).objects
      .filter((o) => o.name === abandoned || o.name === busy).length;
    console.log(`rings of this example left: ${left} (the one in use)`);
  } finally {
    live.unlink();
    try {
      RingChannel.unlink(abandoned);
    } catch {
      // removed above
    }
  }
}

/**
 * 00 · Hello: two Deno processes talking through a ring channel in shared memory
 *
 * One file plays both parts. Started without arguments it is the parent: it makes a channel
 * (POSIX shared memory, mode 0600, removed when disposed), starts itself again as the child with
 * exactly `--allow-ffi`, and prints every message the child sends. The receiver is tied to the
 * child: had the child died before attaching (a missing permission is enough), the loop would
 * end with an error instead of waiting forever. It ends normally once the child has sent
 * everything and closed its end.
 *
 * Run: deno run --allow-ffi examples/00_hello.ts
 *
 * @module
 */

import { RingChannel, spawnDeno } from "../mod.ts";

if (Deno.args[0] === "child") {
  using channel = RingChannel.open(Deno.args[1] ?? "");
  using tx = channel.sender();
  for (const word of ["hello", "from", `process ${Deno.pid}`]) {
    await tx.send(new TextEncoder().encode(word));
  }
} else {
  using channel = RingChannel.temporary({ capacity: 4096 });
  await using child = spawnDeno(import.meta.url, {
    args: ["child", channel.name],
    permissions: { ffi: true },
  });
  using rx = channel.receiver({ senderProcess: child });
  for await (const message of rx) console.log(new TextDecoder().decode(message));
  console.log(`the child exited with code ${(await child.wait()).code}`);
}

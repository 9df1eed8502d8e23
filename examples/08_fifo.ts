/**
 * 08 · A FIFO server and its clients, as independent processes (named pipes)
 *
 * An anonymous pipe only joins processes that inherit it; a FIFO has a name in the file
 * system, so unrelated processes can meet on it. The server makes /tmp/…/server.fifo and
 * reads requests from it. Each client, started on its own with nothing but the server's path,
 * makes its own reply FIFO, sends "reply-path question" to the server and reads the answer
 * there. The parent here only starts the processes; they share no descriptor.
 *
 * Run: deno run --allow-ffi --allow-read --allow-write examples/08_fifo.ts
 *
 * @module
 */

import { mkfifo, openFifoReader, openFifoWriter, removeFifo, spawnDeno } from "../mod.ts";
import { show } from "./_child.ts";

const enc = new TextEncoder();

async function lines(
  reader: { text(o?: { timeout?: number }): Promise<string> },
): Promise<string[]> {
  return (await reader.text({ timeout: 20_000 })).split("\n").filter(Boolean);
}

const [role, serverPath = "", question = ""] = Deno.args;
if (role === "server") {
  // One reader for the server's lifetime; each client connects, writes a line, disconnects.
  let served = 0;
  while (served < 2) {
    using requests = openFifoReader(serverPath);
    for (const line of await lines(requests)) {
      const [reply = "", ...words] = line.split(" ");
      using answer = await openFifoWriter(reply, { timeout: 20_000 });
      await answer.write(
        enc.encode(`server pid ${Deno.pid} says: ${words.join(" ").toUpperCase()}\n`),
      );
      console.log(`served "${words.join(" ")}"`);
      served++;
    }
  }
} else if (role === "client") {
  const replyPath = `${serverPath}.reply-${Deno.pid}`;
  mkfifo(replyPath);
  try {
    using replies = openFifoReader(replyPath);
    {
      using server = await openFifoWriter(serverPath, { timeout: 20_000 });
      await server.write(enc.encode(`${replyPath} ${question}\n`));
    }
    console.log((await lines(replies)).join("\n"));
  } finally {
    removeFifo(replyPath);
  }
} else {
  const dir = await Deno.makeTempDir({ prefix: "dipc-fifo-" });
  const path = `${dir}/server.fifo`;
  mkfifo(path); // mode 0600: only this user may talk to the server
  const flags = { stdout: "piped" as const };
  try {
    const server = spawnDeno(import.meta.url, { args: ["server", path], ...flags });
    for (const q of ["hello fifo", "named pipes join strangers"]) {
      await using client = spawnDeno(import.meta.url, { args: ["client", path, q], ...flags });
      show(`client ${client.pid}`, new TextDecoder().decode((await client.output()).stdout));
    }
    show(`server ${server.pid}`, new TextDecoder().decode((await server.output()).stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

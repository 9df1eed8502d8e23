/**
 * 29 · Many clients served by one poll loop
 *
 * One process serves many connections without a thread or a pending read per connection: it
 * waits on all of them at once (a `Poller` over the listener and every connection, epoll
 * underneath) and serves whichever is ready. Six client processes connect and send several
 * requests each; the server answers every request as it comes, accepts newcomers in the same
 * loop, drops connections that hang up, and stops when everyone has gone.
 *
 * Run: deno run --allow-ffi examples/29_poll_server.ts
 *
 * @module
 */

import { END_OF_STREAM, Poller, spawnDeno, UnixListener, UnixSocket } from "../mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const CLIENTS = 6;
const REQUESTS = 5;

if (Deno.args[0] === "client") {
  using socket = await UnixSocket.connect({ abstract: Deno.args[1] ?? "" }, {
    type: "seqpacket",
    timeout: 10_000,
  });
  const into = new Uint8Array(128);
  for (let i = 1; i <= REQUESTS; i++) {
    await socket.send(enc.encode(`${Deno.args[2]}: request ${i}`));
    const reply = await socket.receiveInto(into, { timeout: 10_000 });
    if (typeof reply !== "object") throw new Error("the server hung up");
  }
} else {
  const name = `dipc-example-${crypto.randomUUID()}`;
  using listener = UnixListener.listen({ abstract: name }, { type: "seqpacket" });
  const clients = Array.from(
    { length: CLIENTS },
    (_, i) => spawnDeno(import.meta.url, { args: ["client", name, `client ${i + 1}`] }),
  );
  using poller = new Poller<UnixListener | UnixSocket>();
  poller.add(listener);
  let connected = 0;
  let answered = 0;
  let rounds = 0;
  const into = new Uint8Array(128);
  for await (const ready of poller) {
    rounds++;
    for (const { handle } of ready) {
      if (handle instanceof UnixListener) {
        const conn = handle.tryAccept();
        if (typeof conn === "object") {
          poller.add(conn);
          connected++;
        }
        continue;
      }
      const r = handle.tryReceiveInto(into);
      if (typeof r === "object") {
        handle.trySend(enc.encode(`answer to "${dec.decode(into.subarray(0, r.length))}"`));
        answered++;
      } else if (r === END_OF_STREAM) {
        poller.delete(handle); // hung up
        handle.close();
      }
    }
    if (connected === CLIENTS && poller.size === 1) break; // only the listener is left
  }
  for (const c of clients) await c.wait({ timeout: 10_000 });
  console.log(
    `${connected} clients, ${answered} requests answered in ${rounds} loop rounds by one process`,
  );
  console.log(`every request answered: ${answered === CLIENTS * REQUESTS}`);
}

/**
 * 28 · Peer credentials decide who may talk
 *
 * A Unix socket's listener learns, from the kernel, which process connected to it: its pid, uid
 * and gid (`SO_PEERCRED`), recorded at `connect` and impossible for the client to forge. Here a
 * server on a socket path (mode 0600: only this user can even connect) serves only the workers
 * it started itself: it starts two, then a third program it did not start tries its luck; the
 * server checks each connection's pid against its own list and answers or refuses accordingly.
 *
 * Run: deno run --allow-ffi --allow-read --allow-write examples/28_peer_credentials.ts
 *
 * @module
 */

import { type ChildProcess, spawnDeno, UnixListener, UnixSocket } from "../mod.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

if (Deno.args[0] === "client") {
  using socket = await UnixSocket.connect(Deno.args[1] ?? "", { timeout: 10_000 });
  await socket.send(enc.encode(`hello from ${Deno.args[2]}`));
  const into = new Uint8Array(128);
  const reply = await socket.receiveInto(into, { timeout: 10_000 });
  console.log(typeof reply === "object" ? dec.decode(into.subarray(0, reply.length)) : "(hung up)");
} else {
  const dir = await Deno.makeTempDir({ prefix: "dipc-example-" });
  const path = `${dir}/server.sock`;
  try {
    using listener = UnixListener.listen(path); // mode 0600
    const workers = new Map<number, string>();
    const start = (name: string, mine: boolean): ChildProcess => {
      const child = spawnDeno(import.meta.url, { args: ["client", path, name], stdout: "piped" });
      if (mine) workers.set(child.pid, name);
      return child;
    };
    const children = [start("worker 1", true), start("worker 2", true), start("a stranger", false)];
    for (let served = 0; served < children.length; served++) {
      using conn = await listener.accept({ timeout: 10_000 });
      const { pid, uid } = conn.peerCredentials();
      const into = new Uint8Array(128);
      const said = await conn.receiveInto(into, { timeout: 10_000 });
      const text = typeof said === "object" ? dec.decode(into.subarray(0, said.length)) : "";
      const name = workers.get(pid);
      console.log(
        `connection from pid ${pid} (uid ${uid}) saying "${text}": ${name ? "served" : "refused"}`,
      );
      if (name) await conn.send(enc.encode(`welcome, ${name}`));
      // a refused client is simply hung up on
    }
    for (const child of children) {
      const out = dec.decode((await child.output()).stdout).trim();
      console.log(`  [${workers.get(child.pid) ?? "the stranger"}] ${out}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

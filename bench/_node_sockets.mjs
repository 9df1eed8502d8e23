// Node's Unix sockets, for the suite's comparison with what a Node user would pick: one Node
// process measures, another is the peer, as every other row of the suite is measured.
//   node _node_sockets.mjs thr SIZE TOTAL   MB/s of TOTAL bytes written in SIZE pieces to a
//                                           draining child (time until it has read them all)
//   node _node_sockets.mjs lat SIZE COUNT   median round trip (µs) of COUNT SIZE-byte messages
//                                           echoed by a child (the first 2% dropped)
//   node _node_sockets.mjs peer sink|echo PATH   the child
// Prints one line: RESULT value=X.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const [mode, a, b] = process.argv.slice(2);

if (mode === "peer") {
  const conn = createConnection(b);
  if (a === "echo") {
    conn.on("data", (chunk) => conn.write(chunk));
  } else {
    conn.on("data", () => {});
  }
  conn.on("end", () => conn.end());
} else {
  const size = Number(a);
  const amount = Number(b);
  const dir = mkdtempSync(join(tmpdir(), "dipc-node-"));
  const path = join(dir, "s");
  const server = createServer();
  await new Promise((r) => server.listen(path, r));
  const child = spawn(process.execPath, [
    fileURLToPath(import.meta.url),
    "peer",
    mode === "thr" ? "sink" : "echo",
    path,
  ], { stdio: "inherit" });
  const conn = await new Promise((r) => server.once("connection", r));
  const msg = Buffer.alloc(size, 1);
  let value;
  if (mode === "thr") {
    const exited = new Promise((r) => child.on("exit", r));
    const t0 = performance.now();
    for (let sent = 0; sent < amount; sent += size) {
      if (!conn.write(msg)) await new Promise((r) => conn.once("drain", r));
    }
    conn.end();
    await exited;
    value = amount / ((performance.now() - t0) / 1000) / 1e6;
  } else {
    const times = [];
    let got = 0;
    let resolve;
    conn.on("data", (chunk) => {
      got += chunk.length;
      if (got >= size) {
        got -= size;
        resolve();
      }
    });
    for (let i = 0; i < amount; i++) {
      const t0 = performance.now();
      const back = new Promise((r) => (resolve = r));
      conn.write(msg);
      await back;
      times.push((performance.now() - t0) * 1000);
    }
    conn.end();
    await new Promise((r) => child.on("exit", r));
    const kept = times.slice(Math.floor(amount * 0.02)).sort((x, y) => x - y);
    value = kept[Math.floor(kept.length / 2)];
  }
  server.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(`RESULT value=${value}`);
}

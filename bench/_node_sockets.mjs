// Node's Unix sockets, for the suite's comparison with what a Node user would pick: one Node
// process measures, another is the peer, as every other row of the suite is measured.
//   node _node_sockets.mjs thr SIZE TOTAL   MB/s of TOTAL bytes written in SIZE pieces to a
//                                           draining child (time until it has read them all)
//   node _node_sockets.mjs lat SIZE COUNT   median and p99 round trip (µs) of COUNT SIZE-byte
//                                           messages echoed by a child (the first 2% dropped)
//   node _node_sockets.mjs peer sink|echo PATH   the child; at the end it prints the CPU time
//                                           (µs) it used from its first byte on
// Prints one line: RESULT value=X p99=Y cpu_us_per_msg=Z (p99 for lat only), the CPU time of
// both processes per message over the measured stretch.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const [mode, a, b] = process.argv.slice(2);

if (mode === "peer") {
  const conn = createConnection(b);
  let cpu0;
  const first = () => (cpu0 ??= process.cpuUsage());
  if (a === "echo") {
    conn.on("data", (chunk) => {
      first();
      conn.write(chunk);
    });
  } else {
    conn.on("data", first);
  }
  conn.on("end", () => {
    const used = process.cpuUsage(cpu0 ?? process.cpuUsage());
    process.stdout.write(`CPU ${used.user + used.system}\n`);
    conn.end();
  });
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
  ], { stdio: ["ignore", "pipe", "inherit"] });
  let peerOut = "";
  child.stdout.on("data", (chunk) => (peerOut += chunk));
  const conn = await new Promise((r) => server.once("connection", r));
  const msg = Buffer.alloc(size, 1);
  let value;
  let p99 = "";
  let cpu0;
  let messages;
  if (mode === "thr") {
    const exited = new Promise((r) => child.on("close", r));
    cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let sent = 0; sent < amount; sent += size) {
      if (!conn.write(msg)) await new Promise((r) => conn.once("drain", r));
    }
    conn.end();
    messages = amount / size;
    cpu0 = process.cpuUsage(cpu0);
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
    cpu0 = process.cpuUsage();
    for (let i = 0; i < amount; i++) {
      const t0 = performance.now();
      const back = new Promise((r) => (resolve = r));
      conn.write(msg);
      await back;
      times.push((performance.now() - t0) * 1000);
    }
    messages = amount;
    cpu0 = process.cpuUsage(cpu0);
    conn.end();
    await new Promise((r) => child.on("close", r));
    const kept = times.slice(Math.floor(amount * 0.02)).sort((x, y) => x - y);
    value = kept[Math.floor(kept.length / 2)];
    p99 = ` p99=${kept[Math.floor(kept.length * 0.99)]}`;
  }
  const peerCpu = Number(/CPU (\d+)/.exec(peerOut)?.[1] ?? NaN);
  const cpu = (cpu0.user + cpu0.system + peerCpu) / messages;
  server.close();
  rmSync(dir, { recursive: true, force: true });
  console.log(`RESULT value=${value}${p99} cpu_us_per_msg=${cpu}`);
}

// ZeroMQ (npm zeromq 6.5.0) measured by Node on both ends, for the suite's comparison with
// what users would pick: in Deno 2.9.6 its waits may never settle (bench/_zmq_deno_probe.ts),
// so Node hosts it, as a Node user would. DIR holds node_modules/zeromq.
//   node _zmq_node.mjs DIR thr SIZE TOTAL   PUSH → PULL: MB/s of TOTAL bytes in SIZE messages,
//                                           until the PULL process has had them all
//   node _zmq_node.mjs DIR lat SIZE COUNT   REQ → REP: median and p99 round trip (µs), the
//                                           first 2% dropped
//   node _zmq_node.mjs DIR peer sink|echo ENDPOINT TOTAL   the other process; at the end it
//                                           prints the CPU time (µs) it used from its first
//                                           message on
// Prints: RESULT value=X p99=Y cpu_us_per_msg=Z (p99 for lat only), the CPU of both processes
// per message over the measured stretch.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const [dir, mode, a, b, c] = process.argv.slice(2);
const zmq = createRequire(join(dir, "package.json"))("zeromq");

if (mode === "peer") {
  let cpu0;
  let got = 0;
  if (a === "sink") {
    const pull = new zmq.Pull();
    await pull.bind(b);
    process.stdout.write("ready\n");
    for (const total = Number(c); got < total;) {
      const [m] = await pull.receive();
      cpu0 ??= process.cpuUsage();
      got += m.length;
    }
    pull.close();
  } else {
    const rep = new zmq.Reply();
    await rep.bind(b);
    process.stdout.write("ready\n");
    for (;;) {
      const [m] = await rep.receive();
      cpu0 ??= process.cpuUsage();
      await rep.send(m);
      if (m.length === 0) break;
    }
    rep.close();
  }
  const used = process.cpuUsage(cpu0 ?? process.cpuUsage());
  process.stdout.write(`CPU ${used.user + used.system}\n`);
} else {
  const size = Number(a);
  const amount = Number(b);
  const tmp = mkdtempSync(join(tmpdir(), "dipc-zmq-"));
  const endpoint = `ipc://${join(tmp, "s")}`;
  const child = spawn(process.execPath, [
    fileURLToPath(import.meta.url),
    dir,
    "peer",
    mode === "thr" ? "sink" : "echo",
    endpoint,
    String(amount),
  ], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const ready = new Promise((r) =>
    child.stdout.on("data", (chunk) => {
      out += chunk;
      if (out.includes("ready")) r();
    })
  );
  const exited = new Promise((r) => child.on("close", r));
  await ready;
  const msg = Buffer.alloc(size, 1);
  let value;
  let p99 = "";
  let cpu0;
  let messages;
  if (mode === "thr") {
    const push = new zmq.Push();
    push.connect(endpoint);
    cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let sent = 0; sent < amount; sent += size) await push.send(msg);
    await exited;
    value = amount / ((performance.now() - t0) / 1000) / 1e6;
    messages = amount / size;
    cpu0 = process.cpuUsage(cpu0);
    push.close();
  } else {
    const req = new zmq.Request();
    req.connect(endpoint);
    const times = [];
    cpu0 = process.cpuUsage();
    for (let i = 0; i < amount; i++) {
      const t0 = performance.now();
      await req.send(msg);
      await req.receive();
      times.push((performance.now() - t0) * 1000);
    }
    messages = amount;
    cpu0 = process.cpuUsage(cpu0);
    await req.send(Buffer.alloc(0));
    await req.receive();
    req.close();
    await exited;
    const kept = times.slice(Math.floor(amount * 0.02)).sort((x, y) => x - y);
    value = kept[Math.floor(kept.length / 2)];
    p99 = ` p99=${kept[Math.floor(kept.length * 0.99)]}`;
  }
  rmSync(tmp, { recursive: true, force: true });
  const peerCpu = Number(/CPU (\d+)/.exec(out)?.[1] ?? NaN);
  console.log(
    `RESULT value=${value}${p99} cpu_us_per_msg=${(cpu0.user + cpu0.system + peerCpu) / messages}`,
  );
}

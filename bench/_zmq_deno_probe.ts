// Does ZeroMQ from npm work in this Deno? One try: PUSH here, PULL in a second Deno process
// (this script with "sink"), 2,000 messages of 64 bytes over ipc://; exits 0 once the sink has
// had them all. In Deno 2.9.6 a ZeroMQ wait (a send or a receive that cannot complete at once)
// may never settle, in either process: the suite runs this several times, each under a
// watchdog, and reports how many tries finished.
//   _zmq_deno_probe.ts            one try (spawns the sink)
//   _zmq_deno_probe.ts sink ENDPOINT TOTAL
import { ZEROMQ } from "./_zmq.ts";

// deno-lint-ignore no-explicit-any
const zmq: any = await import(ZEROMQ);
const [mode = "", endpoint = "", totalArg = "0"] = Deno.args;
const TOTAL = 2000 * 64;
if (mode === "sink") {
  // A sink whose probe was killed (a try that never settled) goes too, instead of waiting on a
  // receive that zeromq in Deno never wakes: the probe is its parent.
  const parent = Deno.ppid;
  const watch = setInterval(() => Deno.ppid !== parent && Deno.exit(3), 250);
  const pull = new zmq.Pull();
  await pull.bind(endpoint);
  console.log("ready");
  for (let got = 0; got < Number(totalArg);) got += (await pull.receive())[0].length;
  pull.close();
  clearInterval(watch);
} else {
  const dir = await Deno.makeTempDir({ prefix: "dipc-zmq-" });
  try {
    const endpoint = `ipc://${dir}/s`;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-lock",
        "-A",
        import.meta.filename ?? "",
        "sink",
        endpoint,
        String(TOTAL),
      ],
      stdout: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    await reader.read(); // bound
    reader.releaseLock();
    const push = new zmq.Push();
    push.connect(endpoint);
    const msg = new Uint8Array(64).fill(8);
    for (let sent = 0; sent < TOTAL; sent += 64) await push.send(msg);
    const status = await child.status;
    push.close();
    await child.stdout.cancel();
    if (!status.success) Deno.exit(1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  Deno.exit(0);
}

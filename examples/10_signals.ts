/**
 * 10 · Catching SIGINT for a graceful stop, and a child that ignores SIGINT
 *
 * A signal is the kernel's tap on a process's shoulder. The worker listens for SIGINT with
 * dipc's signals() iterator and, when it comes, finishes its work and exits cleanly instead of
 * dying mid-way (the default action). The second child is started with SIGINT ignored
 * (posix_spawn passes an ignored signal on): Ctrl-C would not stop it; SIGTERM does.
 *
 * Run: deno run --allow-ffi examples/10_signals.ts
 *
 * @module
 */

import { signals, spawn, spawnDeno } from "../mod.ts";
import { show } from "./_child.ts";

if (Deno.args[0] === "worker") {
  const stop = new AbortController();
  let ticks = 0;
  const work = setInterval(() => ticks++, 5);
  // Listening starts with the iterator's first next(): only then is it safe to say "ready".
  const incoming = signals(["SIGINT"], { signal: stop.signal });
  const first = incoming.next();
  console.log("worker: running; send SIGINT to stop me");
  for (let r = await first; !r.done; r = await incoming.next()) {
    clearInterval(work);
    console.log(
      `worker: caught ${r.value} after ${ticks > 0 ? "some" : "no"} work; saving and exiting`,
    );
    stop.abort();
  }
} else {
  {
    await using worker = spawnDeno(import.meta.url, { args: ["worker"], stdout: "piped" });
    const buf = new Uint8Array(256);
    const got = await worker.stdout?.read(buf, { timeout: 20_000 }); // wait until it listens
    const n = typeof got === "number" ? got : 0;
    show("worker", new TextDecoder().decode(buf.subarray(0, n)));
    worker.kill("SIGINT");
    const { status, stdout } = await worker.output();
    show("worker", new TextDecoder().decode(stdout));
    console.log(`worker ended with code ${status.code}, signal ${status.signal}: a graceful stop`);
  }
  {
    await using stubborn = spawn("sleep", { args: ["30"], ignoreSignals: ["SIGINT"] });
    stubborn.kill("SIGINT");
    const after = await stubborn.wait({ timeout: 200 }).catch(() => null);
    console.log(
      `sleep started with SIGINT ignored: after SIGINT it is ${after ? "gone" : "still running"}`,
    );
    stubborn.kill("SIGTERM");
    console.log(`after SIGTERM: ended by ${(await stubborn.status).signal}`);
  }
}

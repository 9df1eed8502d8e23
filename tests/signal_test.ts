import assert from "node:assert/strict";
import {
  END_OF_STREAM,
  ErrnoError,
  kill,
  killProcessGroup,
  REALTIME_SIGNALS,
  SIGNAL_NUMBERS,
  signalName,
  signalNumber,
  signals,
  sigqueue,
  spawn,
} from "../mod.ts";
import { compileTestC, HAVE_GCC, ipcTest, run, skipIf, thrown } from "./_helpers.ts";

ipcTest("the signal table agrees with the shell's kill -l", async () => {
  const numbers = Object.values(SIGNAL_NUMBERS);
  const r = await run("sh", ["-c", numbers.map((n) => `kill -l ${n}`).join("; ")]);
  const shell = r.stdout.trim().split("\n");
  Object.keys(SIGNAL_NUMBERS).forEach((name, i) => {
    const theirs = shell[i] ?? "";
    if (!/^[0-9]+$/.test(theirs)) assert.equal(`SIG${theirs}`, name, `signal ${numbers[i]}`);
  });
  assert.equal(signalNumber("SIGTERM"), 15);
  assert.equal(signalName(9), "SIGKILL");
  assert.equal(signalName(REALTIME_SIGNALS.min), "SIGRTMIN");
  assert.equal(signalName(40), "SIGRTMIN+6");
});

ipcTest("a signal to ourselves arrives through the async iterator", async () => {
  const ac = new AbortController();
  const got: string[] = [];
  setTimeout(() => kill(Deno.pid, "SIGUSR1"), 5);
  setTimeout(() => kill(Deno.pid, "SIGUSR2"), 20);
  for await (const sig of signals(["SIGUSR1", "SIGUSR2"], { signal: ac.signal })) {
    got.push(sig);
    if (got.length === 2) ac.abort();
  }
  assert.deepEqual(got, ["SIGUSR1", "SIGUSR2"]);
  const done: string[] = [];
  for await (const s of signals(["SIGUSR1"], { signal: AbortSignal.abort() })) done.push(s);
  assert.deepEqual(done, [], "an aborted signal ends the loop at once");
});

ipcTest("a signal to a child, and one to a whole process group", async () => {
  {
    await using child = spawn("sleep", { args: ["30"] });
    kill(child.pid, "SIGTERM");
    assert.equal((await child.status).signal, "SIGTERM");
  }
  {
    await using group = spawn("sh", {
      args: ["-c", "sleep 30 & echo $!; sleep 30 & echo $!; wait"],
      processGroup: true,
      stdout: "piped",
    });
    const buf = new Uint8Array(64);
    let text = "";
    while (text.split("\n").length < 3) {
      const n = await group.stdout?.read(buf.subarray(0), { timeout: 20_000 });
      if (n === undefined || n === END_OF_STREAM) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    const pids = text.trim().split("\n").map(Number);
    assert.equal(pids.length, 2);
    for (const pid of pids) {
      const stat = await Deno.readTextFile(`/proc/${pid}/stat`);
      assert.equal(Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]), group.pid);
    }
    killProcessGroup(group.pgid ?? 0, "SIGTERM");
    assert.equal((await group.status).signal, "SIGTERM");
    for (const pid of pids) {
      // the grandchildren were SIGTERMed too; init reaps them
      for (let i = 0; i < 200; i++) {
        const alive = await Deno.readTextFile(`/proc/${pid}/stat`).then(
          (s) => !s.includes(") Z"),
          () => false,
        );
        if (!alive) break;
        await new Promise((r) => setTimeout(r, 10));
      }
      const state = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "gone");
      assert.ok(state === "gone" || state.includes(") Z"), `${pid} still runs`);
    }
  }
});

ipcTest("sigqueue: a C program receives the integer payload with sigwaitinfo", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
  const peer = await compileTestC("proc_peer");
  await using child = spawn(peer, { args: ["sigwait"], stdout: "piped" });
  const buf = new Uint8Array(64);
  const n = await child.stdout?.read(buf, { timeout: 20_000 });
  assert.ok(typeof n === "number");
  assert.equal(new TextDecoder().decode(buf.subarray(0, n)), "ready\n");
  sigqueue(child.pid, REALTIME_SIGNALS.min, -123456);
  const out = await child.output();
  assert.equal(new TextDecoder().decode(out.stdout).trim(), `-123456 SI_QUEUE ${Deno.pid}`);
});

ipcTest("errors: no such process, exited child", async () => {
  await using child = spawn("true");
  const pid = child.pid;
  await child.status;
  const e = thrown(() => kill(pid, "SIGTERM"));
  assert.ok(e instanceof ErrnoError && e.code === "ESRCH" && e.syscall === "kill");
  const g = thrown(() => killProcessGroup(pid, "SIGTERM"));
  assert.ok(g instanceof ErrnoError && g.code === "ESRCH" && g.syscall === "killpg");
  const q = thrown(() => sigqueue(pid, "SIGUSR1", 1));
  assert.ok(q instanceof ErrnoError && q.code === "ESRCH" && q.syscall === "sigqueue");
});

Deno.test("bad input on signals", async (t) => {
  // deno-lint-ignore no-explicit-any
  const K = kill as any;
  // deno-lint-ignore no-explicit-any
  const S = signals as any;
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["kill pid 0 (own group)", () => kill(0), RangeError],
    ["kill pid -1 (everyone)", () => kill(-1), RangeError],
    ["kill pid 1.5", () => kill(1.5), RangeError],
    ["kill pid as string", () => K("1"), TypeError],
    ["unknown signal name", () => K(Deno.pid, "SIGFOO"), TypeError],
    ["lowercase name", () => K(Deno.pid, "sigterm"), TypeError],
    ["signal 0", () => kill(Deno.pid, 0), RangeError],
    ["signal 32 (reserved)", () => kill(Deno.pid, 32), RangeError],
    ["signal 33 (reserved)", () => kill(Deno.pid, 33), RangeError],
    ["signal 65", () => kill(Deno.pid, 65), RangeError],
    ["signal NaN", () => kill(Deno.pid, NaN), RangeError],
    ["signal an object", () => K(Deno.pid, {}), TypeError],
    ["killProcessGroup 0", () => killProcessGroup(0), RangeError],
    ["killProcessGroup -5", () => killProcessGroup(-5), RangeError],
    ["sigqueue value 2^31", () => sigqueue(Deno.pid, "SIGUSR1", 2 ** 31), RangeError],
    ["sigqueue value 1.5", () => sigqueue(Deno.pid, "SIGUSR1", 1.5), RangeError],
    ["signalName 0", () => signalName(0), RangeError],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => assert.ok(thrown(fn) instanceof type, label));
  }
  const iterCases: Array<[string, () => AsyncGenerator, new (...a: never[]) => Error]> = [
    ["signals of nothing", () => signals([]), TypeError],
    ["signals not an array", () => S("SIGINT"), TypeError],
    ["signals SIGKILL", () => signals(["SIGKILL"]), TypeError],
    ["signals SIGSTOP", () => signals(["SIGSTOP"]), TypeError],
    ["signals unknown", () => S(["SIGNOPE"]), TypeError],
    ["signals with a non-AbortSignal", () => S(["SIGINT"], { signal: {} }), TypeError],
  ];
  for (const [label, fn, type] of iterCases) {
    // At the call, before any listener is installed, not at the first next().
    await t.step(label, () => assert.ok(thrown(fn) instanceof type, label));
  }
});

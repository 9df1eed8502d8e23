import assert from "node:assert/strict";
import {
  ClosedError,
  ErrnoError,
  Pipe,
  PipeReader,
  SharedMemory,
  spawn,
  spawnDeno,
  WOULD_BLOCK,
} from "../mod.ts";
import {
  compileTestC,
  HAVE_GCC,
  ipcTest,
  openFds,
  ROOT,
  runDeno,
  skipIf,
  thrown,
} from "./_helpers.ts";

const dec = new TextDecoder();
const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");

/** Fields of /proc/PID/stat after the command name. */
function procStat(pid: number): string[] | null {
  try {
    const s = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return s.slice(s.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

ipcTest("a missing program, a non-executable file and a directory fail at spawn", () => {
  const missing = thrown(() => spawn("dipc-no-such-program"));
  assert.ok(missing instanceof ErrnoError);
  assert.equal(missing.code, "ENOENT");
  assert.equal(missing.syscall, "posix_spawnp");
  assert.equal(missing.object, "dipc-no-such-program");
  const notExec = thrown(() => spawn(`${ROOT}README.md`));
  assert.ok(notExec instanceof ErrnoError && notExec.code === "EACCES", String(notExec));
  assert.equal(notExec.syscall, "posix_spawn");
  const dir = thrown(() => spawn("/tmp"));
  assert.ok(dir instanceof ErrnoError && dir.code === "EACCES", String(dir));
  const noPath = thrown(() => spawn("./dipc-not-here"));
  assert.ok(noPath instanceof ErrnoError && noPath.code === "ENOENT");
});

ipcTest("odd arguments reach the program byte for byte", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
  const peer = await compileTestC("proc_peer");
  const args: Array<string | Uint8Array> = [
    "",
    "two words",
    "quote\"s and 'single'",
    "new\nline",
    "공유 메모리 ✓",
    "$HOME `x` $(y)",
    "-",
    "--",
    new Uint8Array([0xff, 0xfe, 0x80, 0x41]), // not UTF-8
  ];
  await using child = spawn(peer, { args: ["argv", ...args], stdout: "piped" });
  const out = await child.output();
  assert.equal(out.status.code, 0);
  const expected = args.map((a) => hex(typeof a === "string" ? new TextEncoder().encode(a) : a));
  assert.deepEqual(dec.decode(out.stdout).split("\n").slice(0, -1), expected);
});

ipcTest("environment: inherited, extended, replaced; odd values", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
  const peer = await compileTestC("proc_peer");
  const env = { DIPC_A: "x=y=z", DIPC_B: "", DIPC_C: "유니코드 \t tab", DIPC_D: "a\nb" };
  {
    await using child = spawn(peer, { args: ["env"], stdout: "piped", env });
    const lines = dec.decode((await child.output()).stdout);
    assert.match(lines, /^DIPC_A=x=y=z$/m);
    assert.match(lines, /^DIPC_B=$/m);
    assert.match(lines, /^DIPC_C=유니코드 \t tab$/m);
    assert.ok(lines.includes("DIPC_D=a\nb\n"));
    assert.match(lines, /^PATH=/m, "inherited");
  }
  {
    await using child = spawn(peer, {
      args: ["env"],
      stdout: "piped",
      env: { ONLY: "1" },
      clearEnv: true,
    });
    assert.equal(dec.decode((await child.output()).stdout), "ONLY=1\n");
  }
});

ipcTest("cwd, exit codes, and deaths by signal are reported right", async () => {
  {
    await using child = spawn("pwd", { cwd: "/tmp", stdout: "piped" });
    assert.equal(dec.decode((await child.output()).stdout), "/tmp\n");
  }
  for (const code of [0, 1, 42, 255]) {
    await using child = spawn("sh", { args: ["-c", `exit ${code}`] });
    const { cpuTime, ...st } = await child.status;
    assert.deepEqual(st, { success: code === 0, code, signal: null, coreDumped: false });
    assert.ok(cpuTime.user >= 0 && cpuTime.system >= 0);
  }
  for (const sig of ["SIGTERM", "SIGKILL", "SIGUSR1"] as const) {
    await using child = spawn("sleep", { args: ["30"] });
    child.kill(sig);
    const st = await child.status;
    assert.equal(st.signal, sig);
    assert.equal(st.code, null);
    assert.equal(st.success, false);
  }
  {
    await using child = spawn("sh", { args: ["-c", "kill -SEGV $$"] });
    assert.equal((await child.status).signal, "SIGSEGV");
  }
  const e = thrown(() => spawn("true", { cwd: "/dipc-no-such-directory" }));
  assert.ok(e instanceof ErrnoError && e.code === "ENOENT", "a bad cwd fails at spawn");
});

ipcTest(
  "wait4 reports the CPU time a child used: a busy child has seconds, a sleeper none",
  async () => {
    await using busy = spawn("sh", {
      args: ["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"],
    });
    await using idle = spawn("sleep", { args: ["0.2"] });
    const [b, s] = [await busy.status, await idle.status];
    assert.ok(b.cpuTime.user + b.cpuTime.system > 20, `busy used ${JSON.stringify(b.cpuTime)}`);
    assert.ok(s.cpuTime.user + s.cpuTime.system < b.cpuTime.user + b.cpuTime.system);
  },
);

ipcTest("no zombie is left: reaped after status, killed and reaped on dispose", async () => {
  let pid: number;
  {
    const child = spawn("true");
    pid = child.pid;
    await child.status;
    assert.equal(procStat(pid), null, "reaped: /proc has no entry");
    const status = child.tryStatus();
    assert.ok(status !== WOULD_BLOCK, "exited");
    const { cpuTime: _, ...st } = status;
    assert.deepEqual(st, { success: true, code: 0, signal: null, coreDumped: false });
    assert.equal(child.kill(), false, "an exited child: nothing sent, no error");
  }
  {
    await using child = spawn("sleep", { args: ["30"] });
    pid = child.pid;
    assert.ok(["R", "S"].includes(procStat(pid)?.[0] ?? ""), "running");
  }
  assert.equal(procStat(pid), null, "dispose killed and reaped it");
  {
    await using child = spawn("sh", { args: ["-c", "trap '' TERM; sleep 30"] });
    pid = child.pid;
    await new Promise((r) => setTimeout(r, 50)); // let the shell set its trap
  }
  assert.equal(procStat(pid), null, "a child ignoring SIGTERM is killed after the grace period");
});

ipcTest("wait() times out and aborts without touching the child", async () => {
  await using child = spawn("sleep", { args: ["30"] });
  await assert.rejects(child.wait({ timeout: 20 }), { name: "TimeoutError" });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 10);
  await assert.rejects(child.wait({ signal: ac.signal }), { name: "AbortError" });
  assert.equal(child.tryStatus(), WOULD_BLOCK, "still running");
  child.kill("SIGKILL");
  assert.equal((await child.wait({ timeout: 20_000 })).signal, "SIGKILL");
});

ipcTest("descriptors handed to a shell and to a C program; everything else closed", async (t) => {
  using out = Pipe.create();
  {
    await using child = spawn("sh", { args: ["-c", "echo hi >&3"], fds: { 3: out.writer } });
    assert.equal((await child.status).code, 0);
  }
  out.writer.close();
  assert.equal(await out.reader.text(), "hi\n");

  if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
  const peer = await compileTestC("proc_peer");
  using a = Pipe.create();
  using b = Pipe.create();
  using extra = Pipe.create(); // open here, must not reach the child
  {
    await using child = spawn(peer, { args: ["upper"], fds: { 3: a.reader, 4: b.writer } });
    await a.writer.write(new TextEncoder().encode("through c and back"));
    a.writer.close();
    b.writer.close();
    assert.equal(await b.reader.text(), "THROUGH C AND BACK");
    assert.equal((await child.status).code, 0);
  }
  {
    await using child = spawn(peer, { args: ["fds"], stdout: "piped", fds: { 7: extra.writer } });
    const lines = dec.decode((await child.output()).stdout).trim().split("\n");
    assert.deepEqual(lines.filter((l) => l.startsWith("fd ")), ["fd 7"], "only fd 7 beyond stdio");
  }
  {
    // A non-blocking pipe end reaches the child as a blocking descriptor.
    await using child = spawn(peer, { args: ["fds"], stdout: extra.writer, stdin: a.reader });
    extra.writer.close();
    const text = await extra.reader.text();
    assert.match(text, /^nonblock 0 0$/m);
    assert.match(text, /^nonblock 1 0$/m);
    await child.status;
  }
});

ipcTest("shared memory handed to a C program by descriptor", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
  const peer = await compileTestC("proc_peer");
  using shm = SharedMemory.temporary({ size: 4096 });
  await using child = spawn(peer, {
    args: ["shm", "4096", "written by C via fd 3"],
    fds: { 3: shm },
  });
  assert.equal((await child.status).code, 0);
  const b = shm.bytes;
  assert.equal(dec.decode(b.subarray(0, b.indexOf(0))), "written by C via fd 3");
});

ipcTest(
  "signal state: empty mask, default actions (not Deno's ignored SIGPIPE), or as asked",
  async () => {
    const status = async (
      options: Parameters<typeof spawn>[1],
    ): Promise<Record<string, bigint>> => {
      await using child = spawn("grep", {
        args: ["^Sig", "/proc/self/status"],
        stdout: "piped",
        ...options,
      });
      const text = dec.decode((await child.output()).stdout);
      return Object.fromEntries(
        [...text.matchAll(/^(Sig\w+):\s+([0-9a-f]+)$/gm)].map((
          m,
        ) => [m[1] ?? "", BigInt(`0x${m[2]}`)]),
      );
    };
    const plain = await status({});
    assert.equal(plain.SigBlk, 0n);
    assert.equal(plain.SigIgn, 0n, "SIGPIPE is back to default");
    const asked = await status({ ignoreSignals: ["SIGINT", "SIGHUP"], blockSignals: ["SIGUSR1"] });
    assert.equal(asked.SigIgn, (1n << 1n) | (1n << 0n));
    assert.equal(asked.SigBlk, 1n << 9n);
  },
);

ipcTest("a new process group and a new session", async () => {
  {
    await using child = spawn("sleep", { args: ["30"], processGroup: true });
    assert.equal(child.pgid, child.pid);
    assert.equal(Number(procStat(child.pid)?.[2]), child.pid, "pgrp field of /proc/PID/stat");
    child.kill("SIGKILL");
  }
  {
    await using child = spawn("sleep", { args: ["30"], newSession: true });
    const st = procStat(child.pid);
    assert.equal(Number(st?.[3]), child.pid, "session id");
    assert.equal(Number(st?.[2]), child.pid, "its own group");
    child.kill("SIGKILL");
  }
  {
    await using leader = spawn("sleep", { args: ["30"], processGroup: true });
    await using member = spawn("sleep", { args: ["30"], processGroup: leader.pid });
    assert.equal(Number(procStat(member.pid)?.[2]), leader.pid);
    member.kill("SIGKILL");
    leader.kill("SIGKILL");
  }
});

ipcTest("stdio: null, piped both ways, and stderr", async () => {
  {
    await using child = spawn("cat", { stdin: "null", stdout: "piped" });
    const out = await child.output();
    assert.equal(out.stdout.length, 0);
    assert.equal(out.status.code, 0);
  }
  {
    await using child = spawn("sh", {
      args: ["-c", "echo out; echo err >&2"],
      stdout: "piped",
      stderr: "piped",
    });
    const out = await child.output();
    assert.equal(dec.decode(out.stdout), "out\n");
    assert.equal(dec.decode(out.stderr), "err\n");
  }
  {
    await using child = spawn("cat", { stdin: "piped", stdout: "piped" });
    const text = child.stdout?.readable.pipeThrough(new TextDecoderStream());
    await ReadableStream.from([
      new TextEncoder().encode("web "),
      new TextEncoder().encode("streams"),
    ])
      .pipeTo(child.stdin?.writable ?? new WritableStream());
    let all = "";
    for await (const part of text ?? []) all += part;
    assert.equal(all, "web streams");
  }
});

Deno.test("bad input: every case throws before anything starts", async (t) => {
  // deno-lint-ignore no-explicit-any
  const S = spawn as any;
  const closed = Pipe.create();
  closed.close();
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["program empty", () => spawn(""), TypeError],
    ["program with NUL", () => spawn("a\0b"), TypeError],
    ["program not a string", () => S(42), TypeError],
    ["options not an object", () => S("true", "x"), TypeError],
    ["args not an array", () => S("true", { args: "a b" }), TypeError],
    ["arg a number", () => S("true", { args: [1] }), TypeError],
    ["arg with NUL", () => spawn("true", { args: ["a\0"] }), TypeError],
    ["byte arg with NUL", () => spawn("true", { args: [new Uint8Array([65, 0])] }), TypeError],
    ["argv0 with NUL", () => spawn("true", { argv0: "x\0" }), TypeError],
    ["env not an object", () => S("true", { env: "A=1" }), TypeError],
    ["env name empty", () => spawn("true", { env: { "": "1" } }), TypeError],
    ["env name with =", () => spawn("true", { env: { "A=B": "1" } }), TypeError],
    ["env value with NUL", () => spawn("true", { env: { A: "1\0" } }), TypeError],
    ["env value a number", () => S("true", { env: { A: 1 } }), TypeError],
    ["clearEnv not boolean", () => S("true", { clearEnv: 1 }), TypeError],
    ["cwd with NUL", () => spawn("true", { cwd: "/tmp\0" }), TypeError],
    ["cwd a number", () => S("true", { cwd: 1 }), TypeError],
    ["stdin typo", () => S("true", { stdin: "pipe" }), TypeError],
    ["stdout a number", () => S("true", { stdout: 1 }), TypeError],
    ["fds key not a number", () => S("true", { fds: { abc: closed.reader } }), TypeError],
    ["fds key 2 (stdio)", () => spawn("true", { fds: { 2: Pipe.create().reader } }), RangeError],
    ["fds key 1024", () => spawn("true", { fds: { 1024: Pipe.create().reader } }), RangeError],
    ["fds value without a descriptor", () => S("true", { fds: { 3: {} } }), TypeError],
    ["fds value closed", () => spawn("true", { fds: { 3: closed.reader } }), ClosedError],
    ["stdout closed", () => spawn("true", { stdout: closed.writer }), ClosedError],
    ["processGroup 0", () => spawn("true", { processGroup: 0 }), RangeError],
    ["processGroup -1", () => spawn("true", { processGroup: -1 }), RangeError],
    ["processGroup 1.5", () => spawn("true", { processGroup: 1.5 }), RangeError],
    ["processGroup a string", () => S("true", { processGroup: "yes" }), TypeError],
    [
      "newSession with processGroup",
      () => spawn("true", { newSession: true, processGroup: true }),
      TypeError,
    ],
    ["ignore SIGKILL", () => spawn("true", { ignoreSignals: ["SIGKILL"] }), TypeError],
    ["ignore an unknown signal", () => S("true", { ignoreSignals: ["SIGFOO"] }), TypeError],
    ["ignoreSignals not an array", () => S("true", { ignoreSignals: "SIGINT" }), TypeError],
    ["block signal 99", () => S("true", { blockSignals: [99] }), RangeError],
    ["closeOtherFds not boolean", () => S("true", { closeOtherFds: "no" }), TypeError],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => {
      const e = thrown(fn);
      assert.ok(e instanceof type, `${label}: got ${e}`);
    });
  }
});

ipcTest(
  "spawnDeno: exactly the permissions given, arguments, descriptors, never a prompt",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "dipc-test-spawn-" });
    try {
      const secret = `${dir}/secret.txt`;
      await Deno.writeTextFile(secret, "42");
      const script = `${dir}/child.ts`;
      await Deno.writeTextFile(
        script,
        `import { PipeWriter } from "${ROOT}mod.ts";
      const state = (d: Deno.PermissionDescriptor) => Deno.permissions.querySync(d).state;
      const facts = [Deno.args.join(","), state({ name: "ffi" }), state({ name: "net" }),
        state({ name: "read", path: Deno.args[0] ?? "" }), state({ name: "env" })];
      using out = PipeWriter.fromFd(3);
      await out.write(new TextEncoder().encode(facts.join(" ")));`,
      );
      const ask = async (options: Parameters<typeof spawnDeno>[1]): Promise<string> => {
        using pipe = Pipe.create();
        await using child = spawnDeno(script, { ...options, fds: { 3: pipe.writer } });
        pipe.writer.close();
        const text = await pipe.reader.text({ timeout: 60_000 });
        assert.equal((await child.wait({ timeout: 60_000 })).code, 0);
        return text;
      };
      // The child reads its own script: it needs read for that path, so grant read on the dir.
      assert.equal(
        await ask({ args: [secret, "b"], permissions: { ffi: true, read: [dir] } }),
        `${secret},b granted prompt granted prompt`,
      );
      assert.equal(
        await ask({ args: [secret], permissions: { ffi: true, read: true, env: ["HOME"] } }),
        `${secret} granted prompt granted prompt`,
        "an env list is not all of env",
      );
      // Without the ffi permission dipc cannot load: the child fails at once instead of prompting.
      await using denied = spawnDeno(script, {
        args: [secret],
        permissions: { read: [dir] },
        stderr: "piped",
      });
      const { status, stderr } = await denied.output();
      assert.notEqual(status.code, 0);
      assert.match(dec.decode(stderr), /ffi/i);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("spawnDeno: bad input throws before anything starts", async (t) => {
  // deno-lint-ignore no-explicit-any
  const S = spawnDeno as any;
  const cases: Array<[string, () => unknown]> = [
    ["script a number", () => S(5)],
    ["script empty", () => S("")],
    ["permissions a string", () => S("x.ts", { permissions: "all" })],
    ["an unknown permission", () => S("x.ts", { permissions: { hrtime: true } })],
    ["a permission a number", () => S("x.ts", { permissions: { read: 1 } })],
    ["a permission list with a comma", () => S("x.ts", { permissions: { read: ["a,b"] } })],
    ["an empty permission list", () => S("x.ts", { permissions: { read: [] } })],
    ["denoFlags not an array", () => S("x.ts", { denoFlags: "--quiet" })],
    ["a deno flag without a dash", () => S("x.ts", { denoFlags: ["quiet"] })],
    ["args not an array", () => S("x.ts", { args: "a" })],
  ];
  for (const [label, fn] of cases) {
    await t.step(label, () => assert.ok(thrown(fn) instanceof TypeError, label));
  }
});

ipcTest("spawn checks every handed descriptor number before any system call", () => {
  for (const bad of [1.5, NaN, "4", 2 ** 31, -1, undefined, null, {}]) {
    const h = { unsafeFd: bad } as unknown as { unsafeFd: number };
    assert.throws(() => spawn("true", { fds: { 3: h } }), TypeError, `fds unsafeFd ${String(bad)}`);
    assert.throws(() => spawn("true", { stdin: h }), TypeError, `stdin unsafeFd ${String(bad)}`);
  }
});

ipcTest("output() closes a piped stdin: no descriptor outlives the call", async () => {
  // Settle the runtime's own late descriptors first (see DESIGN.md).
  await new Promise((r) => setTimeout(r, 600));
  const before = openFds();
  for (let i = 0; i < 5; i++) {
    await using child = spawn("cat", { stdin: "piped", stdout: "piped" });
    const writing = child.stdin?.write(new TextEncoder().encode("x")).then(() =>
      child.stdin?.close()
    );
    const out = await child.output({ timeout: 10_000 });
    await writing;
    assert.equal(dec.decode(out.stdout), "x");
    assert.equal(child.stdin?.closed ?? true, true);
  }
  assert.equal(openFds(), before, "descriptors open before and after");
});

ipcTest("output() gives up at its timeout; the child is left running", async () => {
  await using child = spawn("sleep", { args: ["30"], stdout: "piped" });
  await assert.rejects(
    child.output({ timeout: 50 }),
    (e) => e instanceof DOMException && e.name === "TimeoutError",
  );
  assert.ok(child.kill("SIGKILL"), "still running until now");
});

ipcTest(
  "no fromFd adopts one of the runtime's own descriptors (its epoll, eventfd, signal pipe)",
  async () => {
    const r = await runDeno(`${ROOT}tests/fixtures/adopt_runtime_fds.ts`, [], {
      allow: ["--allow-read"],
    });
    assert.equal(r.code, 0, `the process survived: ${r.stderr}`);
    const [report, alive] = r.stdout.trim().split("\n");
    assert.equal(alive, "alive");
    const { tried, taken } = JSON.parse(report ?? "{}");
    assert.ok(tried >= 3, `there were runtime descriptors to try (${tried})`);
    assert.deepEqual(taken, [], "none adopted");
  },
);

ipcTest("fromFd still adopts what dipc made, and what a child inherited", async () => {
  using toChild = Pipe.create();
  using fromChild = Pipe.create();
  using again = PipeReader.fromFd(toChild.reader.unsafeFd);
  assert.equal(again.closed, false);
  // The child adopts descriptors 3 and 4 (inherited: not close-on-exec there).
  await using child = spawnDeno(`${ROOT}tests/fixtures/fd_child.ts`, {
    permissions: { ffi: true },
    fds: { 3: toChild.reader, 4: fromChild.writer },
  });
  toChild.reader.close();
  fromChild.writer.close();
  await toChild.writer.write(new TextEncoder().encode("hi"));
  toChild.writer.close();
  assert.equal(await fromChild.reader.text(), "deno child got: HI");
  assert.equal((await child.wait({ timeout: 30_000 })).code, 0);
});

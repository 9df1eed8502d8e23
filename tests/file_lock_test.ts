// Advisory file locks: shared and exclusive, byte ranges, open-file-description locks against
// Python's POSIX locks and flock(1), locks of a SIGKILLed holder released by the kernel,
// cancelled and timed-out waits, conflict reports, and bad input.
import assert from "node:assert/strict";
import { ErrnoError, ForeignOwnerError, LockFile, WOULD_BLOCK } from "../mod.ts";
import {
  fdCheckedTest,
  firstLine,
  hasCommand,
  HAVE_PYTHON,
  ipcTest,
  PYTHON,
  ROOT,
  skipIf,
  thrown,
  within,
} from "./_helpers.ts";

fdCheckedTest("shared and exclusive, whole file and ranges, between two handles", async () => {
  const path = await Deno.makeTempFile();
  try {
    using a = LockFile.open(path);
    using b = LockFile.open(path);
    const x = a.tryLock();
    assert.ok(x !== WOULD_BLOCK, "exclusive taken");
    assert.equal(b.tryLock({ shared: true }), WOULD_BLOCK, "a handle is its own owner");
    assert.deepEqual(b.conflict(), { shared: false, start: 0, length: 0 });
    x.unlock();
    x.unlock(); // idempotent
    assert.equal(b.conflict(), undefined);
    const s1 = a.tryLock({ shared: true });
    const s2 = b.tryLock({ shared: true });
    assert.ok(s1 !== WOULD_BLOCK && s2 !== WOULD_BLOCK, "shared locks share");
    assert.equal(b.tryLock(), WOULD_BLOCK, "no exclusive while another shares");
    s1.unlock();
    s2.unlock();
    const r1 = a.tryLock({ start: 0, length: 100 });
    const r2 = b.tryLock({ start: 100, length: 100 });
    assert.ok(r1 !== WOULD_BLOCK && r2 !== WOULD_BLOCK, "ranges that do not overlap");
    assert.equal(b.tryLock({ start: 50, length: 10 }), WOULD_BLOCK);
    r1.unlock();
    r2.unlock();
    // flock locks are a separate kind.
    const f = a.tryFlock();
    assert.ok(f !== WOULD_BLOCK);
    assert.equal(b.tryFlock({ shared: true }), WOULD_BLOCK);
    const ofd = b.tryLock();
    assert.ok(ofd !== WOULD_BLOCK, "OFD and flock locks do not see each other");
    ofd.unlock();
    f.unlock();
    // A wait: the second handle gets the lock once the first gives it up.
    const held = await a.lock({ timeout: 1000 });
    const waiting = b.lock({ timeout: 20_000 });
    setTimeout(() => held.unlock(), 20);
    (await waiting).unlock();
    // Closing releases.
    const c = LockFile.open(path);
    c.tryLock();
    c.close();
    c.close();
    assert.ok(a.tryLock() !== WOULD_BLOCK, "closing the file released its lock");
  } finally {
    await Deno.remove(path);
  }
});

fdCheckedTest(
  "a holder SIGKILLed with its lock: the kernel releases it, the waiter goes on",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "dipc-test-lock-" });
    try {
      const path = `${dir}/data`;
      const script = `${dir}/holder.ts`;
      await Deno.writeTextFile(
        script,
        `import { LockFile } from "${ROOT}mod.ts";
      const f = LockFile.open(Deno.args[0] ?? "");
      f.lockSync();
      (await f.flock()); // both kinds
      console.log("locked");
      setInterval(() => {}, 1 << 30);`,
      );
      using mine = LockFile.open(path);
      const holder = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-ffi", `--allow-read=${dir},${ROOT}`, script, path],
        stdout: "piped",
      }).spawn();
      assert.equal(await firstLine(holder), "locked");
      assert.equal(mine.tryLock(), WOULD_BLOCK);
      assert.equal(mine.tryFlock(), WOULD_BLOCK);
      const waiting = mine.lock({ timeout: 30_000 });
      holder.kill("SIGKILL");
      (await within(30_000, "the lock", waiting)).unlock();
      const f = mine.tryFlock();
      assert.ok(f !== WOULD_BLOCK, "the flock lock went with its holder too");
      f.unlock();
      await holder.status;
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

fdCheckedTest(
  "other programs: Python's POSIX locks conflict with ours, flock(1) shares flock's",
  async (t) => {
    const path = await Deno.makeTempFile();
    try {
      using mine = LockFile.open(path);
      if (!await skipIf(t, !HAVE_PYTHON && "python3 not found")) {
        const py = new Deno.Command(PYTHON, {
          args: [
            "-c",
            "import fcntl,sys,time\nf=open(sys.argv[1],'r+')\nfcntl.lockf(f,fcntl.LOCK_EX)\n" +
            "print('locked',flush=True)\ntime.sleep(60)",
            path,
          ],
          stdout: "piped",
        }).spawn();
        try {
          assert.equal(await firstLine(py), "locked");
          assert.equal(
            mine.tryLock({ shared: true }),
            WOULD_BLOCK,
            "a POSIX lock blocks an OFD one",
          );
        } finally {
          py.kill("SIGKILL");
          await py.status;
        }
        const after = mine.tryLock();
        assert.ok(after !== WOULD_BLOCK, "released when Python died");
        after.unlock();
      }
      if (await skipIf(t, !hasCommand("flock") && "flock(1) not found")) return;
      const held = mine.tryFlock();
      assert.ok(held !== WOULD_BLOCK);
      const r = await new Deno.Command("flock", { args: ["-n", "-x", path, "true"] }).output();
      assert.notEqual(r.code, 0, "flock(1) cannot take it while we hold it");
      held.unlock();
      const r2 = await new Deno.Command("flock", { args: ["-n", "-x", path, "true"] }).output();
      assert.equal(r2.code, 0, "and can once we let it go");
    } finally {
      await Deno.remove(path);
    }
  },
);

fdCheckedTest(
  "waits: a timeout and an abort take nothing; lockSync with a timeout; close ends a wait",
  async () => {
    const path = await Deno.makeTempFile();
    try {
      using a = LockFile.open(path);
      using b = LockFile.open(path);
      const held = a.tryLock();
      assert.ok(held !== WOULD_BLOCK);
      await assert.rejects(b.lock({ timeout: 20 }), { name: "TimeoutError" });
      const ac = new AbortController();
      const p = b.flock({ signal: ac.signal });
      const q = b.lock({ signal: ac.signal });
      ac.abort(new Error("stop"));
      await assert.rejects(q, /stop/);
      (await p).unlock(); // the flock was free: it was taken before the abort
      const e = thrown(() => b.lockSync({ timeout: 20 }));
      assert.ok(e instanceof DOMException && e.name === "TimeoutError", `${e}`);
      const c = LockFile.open(path);
      const waiting = c.lock();
      setTimeout(() => c.close(), 10);
      await assert.rejects(waiting);
      held.unlock();
      b.lockSync().unlock(); // free now: the kernel's blocking call returns at once
      assert.equal(b.conflict(), undefined);
    } finally {
      await Deno.remove(path);
    }
  },
);

Deno.test("bad input on file locks: every case throws before any system call", async (t) => {
  const path = await Deno.makeTempFile();
  // deno-lint-ignore no-explicit-any
  const L = LockFile as any;
  using f = LockFile.open(path);
  // deno-lint-ignore no-explicit-any
  const F = f as any;
  const cases: Array<[string, () => unknown, new (...x: never[]) => Error]> = [
    ["open an empty path", () => L.open(""), TypeError],
    ["open a number", () => L.open(5), TypeError],
    ["open a path with NUL", () => L.open("/tmp/a\0b"), TypeError],
    ["open create a string", () => L.open(path, { create: "y" }), TypeError],
    ["open mode 0o1000", () => L.open(path, { mode: 0o1000 }), RangeError],
    ["open an unknown option", () => L.open(path, { exclusive: true }), TypeError],
    [
      "open a symlink: ELOOP (O_NOFOLLOW)",
      () => L.open("/proc/self/exe", { create: false }),
      ErrnoError,
    ],
    ["fromFd negative", () => L.fromFd(-1), RangeError],
    ["lock start negative", () => F.tryLock({ start: -1 }), RangeError],
    ["lock length fractional", () => F.tryLock({ length: 1.5 }), RangeError],
    ["lock shared a string", () => F.tryLock({ shared: "y" }), TypeError],
    ["lock an unknown option", () => F.tryLock({ exclusive: true }), TypeError],
    ["flock a range", () => F.tryFlock({ start: 0 }), TypeError],
    ["lockSync a signal", () => F.lockSync({ signal: new AbortController().signal }), TypeError],
    ["lockSync timeout negative", () => F.lockSync({ timeout: -1 }), RangeError],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => {
      const e = thrown(fn);
      assert.ok(e instanceof type, `${label}: got ${e}`);
    });
  }
  await t.step("lock a bad timeout", () => assert.rejects(F.lock({ timeout: -1 }), RangeError));
  f.close();
  await Deno.remove(path);
});

ipcTest(
  "LockFile.open refuses a lock file another user made, unless allowForeignOwner",
  async (t) => {
    if (
      await skipIf(t, Deno.uid() !== 0 && "needs root (to make a file another user owns)")
    ) return;
    const dir = await Deno.makeTempDir({ prefix: "dipc-test-lock-" });
    try {
      const path = `${dir}/shared.lock`;
      await Deno.writeFile(path, new Uint8Array(0), { mode: 0o666 });
      await Deno.chmod(path, 0o666);
      await Deno.chown(path, 65534, 65534);
      const e = thrown(() => LockFile.open(path));
      assert.ok(e instanceof ForeignOwnerError, String(e));
      assert.equal(e.owner, 65534);
      using f = LockFile.open(path, { allowForeignOwner: true });
      const g = f.tryLock();
      assert.ok(g !== WOULD_BLOCK);
      g.unlock();
      // A file this user made itself, or one it creates now, is its own.
      using mine = LockFile.open(`${dir}/mine.lock`);
      assert.equal(mine.closed, false);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

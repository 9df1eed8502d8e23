import assert from "node:assert/strict";
import {
  ErrnoError,
  mkfifo,
  openFifoReader,
  openFifoWriter,
  removeFifo,
  spawn,
  tryOpenFifoWriter,
  WOULD_BLOCK,
} from "../mod.ts";
import {
  CAN_DROP_CAPS,
  compileTestC,
  HAVE_GCC,
  ipcTest,
  runOk,
  skipIf,
  thrown,
  within,
} from "./_helpers.ts";

const enc = new TextEncoder();

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dipc-fifo-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

ipcTest(
  "mkfifo: a FIFO of mode 0600 by default, exactly the mode asked otherwise",
  () =>
    withDir(async (dir) => {
      mkfifo(`${dir}/a`);
      assert.equal((await runOk("stat", ["-c", "%F %a", `${dir}/a`])).trim(), "fifo 600");
      mkfifo(`${dir}/b`, { mode: 0o666 });
      assert.equal((await runOk("stat", ["-c", "%a", `${dir}/b`])).trim(), "666", "umask ignored");
      const e = thrown(() => mkfifo(`${dir}/a`));
      assert.ok(e instanceof ErrnoError && e.code === "EEXIST");
      const n = thrown(() => mkfifo(`${dir}/missing/c`));
      assert.ok(n instanceof ErrnoError && n.code === "ENOENT");
      removeFifo(`${dir}/a`);
      assert.equal((await Deno.lstat(`${dir}/b`)).isFifo, true);
    }),
);

ipcTest("cat writes into our FIFO reader; our FIFO writer feeds cat", () =>
  withDir(async (dir) => {
    const path = `${dir}/fifo`;
    mkfifo(path);
    {
      using reader = openFifoReader(path);
      assert.equal(reader.tryRead(new Uint8Array(8)), WOULD_BLOCK, "no writer yet is not EOF");
      await using cat = spawn("sh", { args: ["-c", `printf 'from cat' > '${path}'`] });
      assert.equal(await reader.text({ timeout: 20_000 }), "from cat");
      await cat.status;
    }
    {
      await using cat = spawn("cat", { args: [path], stdout: "piped" });
      using writer = await openFifoWriter(path, { timeout: 20_000 });
      await writer.write(enc.encode("to cat"));
      writer.close();
      const out = await cat.output();
      assert.equal(new TextDecoder().decode(out.stdout), "to cat");
    }
    removeFifo(path);
  }));

ipcTest("a writer waits for a reader: timeout, abort, then success", () =>
  withDir(async (dir) => {
    const path = `${dir}/fifo`;
    mkfifo(path);
    assert.equal(tryOpenFifoWriter(path), WOULD_BLOCK);
    await assert.rejects(openFifoWriter(path, { timeout: 20 }), { name: "TimeoutError" });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 10);
    await assert.rejects(openFifoWriter(path, { signal: ac.signal }), { name: "AbortError" });
    const waiting = openFifoWriter(path, { timeout: 20_000 });
    await new Promise((r) => setTimeout(r, 10));
    using reader = openFifoReader(path);
    using writer = await waiting;
    await writer.write(enc.encode("x"));
    writer.close();
    assert.equal(await reader.text(), "x");
    removeFifo(path);
  }));

ipcTest("opening something that is not a FIFO, or nothing", () =>
  withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/plain`, "x");
    assert.ok(thrown(() => openFifoReader(`${dir}/plain`)) instanceof TypeError);
    assert.ok(thrown(() => tryOpenFifoWriter(`${dir}/plain`)) instanceof TypeError);
    assert.ok(thrown(() => removeFifo(`${dir}/plain`)) instanceof TypeError);
    assert.equal(await Deno.readTextFile(`${dir}/plain`), "x", "not removed");
    const e = thrown(() => openFifoReader(`${dir}/none`));
    assert.ok(e instanceof ErrnoError && e.code === "ENOENT" && e.object === `${dir}/none`);
    await assert.rejects(openFifoWriter(`${dir}/none`), ErrnoError);
  }));

Deno.test("bad input on FIFOs", async (t) => {
  // deno-lint-ignore no-explicit-any
  const M = mkfifo as any;
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["mkfifo empty path", () => mkfifo(""), TypeError],
    ["mkfifo path with NUL", () => mkfifo("/tmp/a\0b"), TypeError],
    ["mkfifo path a number", () => M(5), TypeError],
    ["mkfifo mode 0o1000", () => mkfifo("/tmp/x", { mode: 0o1000 }), RangeError],
    ["mkfifo options a string", () => M("/tmp/x", "0600"), TypeError],
    ["reader empty path", () => openFifoReader(""), TypeError],
    ["writer path with NUL", () => tryOpenFifoWriter("a\0"), TypeError],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => assert.ok(thrown(fn) instanceof type, label));
  }
  await t.step(
    "async writer with a bad timeout",
    () => assert.rejects(openFifoWriter("/tmp/x", { timeout: NaN }), RangeError),
  );
});

/**
 * Makes FIFOs at one path in a world-writable, non-sticky directory again and again while
 * another user keeps swapping that path for a symlink to a file of ours; `make` is the FIFO
 * maker under test. Returns the file's mode afterwards and how many FIFOs were made.
 */
async function raceFifoMode(make: (path: string) => void): Promise<{ mode: number; made: number }> {
  const dir = await Deno.makeTempDir({ prefix: "dipc-fifo-race-" });
  const open = `${dir}/open`;
  await Deno.mkdir(open);
  await Deno.chmod(open, 0o777); // not sticky: anyone may replace what is in it
  await Deno.chmod(dir, 0o755);
  const target = `${dir}/precious`;
  await Deno.writeTextFile(target, "mine");
  await Deno.chmod(target, 0o600);
  const swapperBin = `${dir}/swapper`;
  await Deno.copyFile(await compileTestC("swapper"), swapperBin);
  await Deno.chmod(swapperBin, 0o755);
  const path = `${open}/fifo`;
  const attacker = new Deno.Command("setpriv", {
    args: [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      "--",
      swapperBin,
      path,
      target,
      "1500",
    ],
    stdout: "piped",
  }).spawn();
  let made = 0;
  const until = performance.now() + 1200;
  try {
    while (performance.now() < until) {
      try {
        make(path);
        made++;
      } catch {
        // EEXIST (the symlink is there) or refused: what matters is the target's mode
      }
      try {
        Deno.removeSync(path);
      } catch {
        // the attacker's rename got there first
      }
    }
    await within(20_000, "the swapper", attacker.output());
    return { mode: (Deno.statSync(target).mode ?? 0) & 0o777, made };
  } finally {
    try {
      attacker.kill("SIGKILL");
    } catch {
      // done already
    }
    await Deno.remove(dir, { recursive: true });
  }
}

ipcTest(
  "mkfifo race: another user swapping in a symlink never changes another file's mode",
  async (t) => {
    if (await skipIf(t, (!HAVE_GCC || !CAN_DROP_CAPS) && "needs gcc, root and setpriv")) return;
    const { mode, made } = await raceFifoMode((path) => mkfifo(path, { mode: 0o666 }));
    assert.equal(mode, 0o600, "the symlink's target kept its mode");
    assert.ok(made > 0, "FIFOs were made during the race");
  },
);

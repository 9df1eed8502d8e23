import assert from "node:assert/strict";
import {
  ClosedError,
  END_OF_STREAM,
  type EndOfStream,
  ErrnoError,
  ForeignOwnerError,
  WOULD_BLOCK,
  type WouldBlock,
} from "../mod.ts";
import { E, ERRNO, errnoName, errnoText } from "../ffi/constants.ts";
import { LibraryLoadError, openGroup } from "../ffi/load.ts";
import { CORE, RT } from "../ffi/symbols.ts";
import { HAVE_GCC, run, skipIf, thrown } from "./_helpers.ts";

Deno.test("ErrnoError names the errno, the call and the object", () => {
  const e = new ErrnoError(17, "shm_open", { action: "open shared memory", object: "/jobs" });
  assert.equal(e.name, "ErrnoError");
  assert.equal(e.code, "EEXIST");
  assert.equal(e.errno, 17);
  assert.equal(e.syscall, "shm_open");
  assert.equal(e.object, "/jobs");
  assert.equal(
    e.message,
    `Cannot open shared memory "/jobs": shm_open failed with EEXIST (File exists)`,
  );
  assert.ok(e instanceof Error);
  const bare = new ErrnoError(9999, "futex");
  assert.equal(bare.code, "E?9999");
  assert.equal(bare.message, "futex failed with E?9999 (Unknown error)");
  assert.equal(
    new ErrnoError(2, "shmget", { action: "get", object: 42 }).message,
    "Cannot get 42: shmget failed with ENOENT (No such file or directory)",
  );
});

Deno.test("the errno table matches this system's headers, name and number", async (t) => {
  assert.equal(errnoName(2), "ENOENT");
  assert.equal(errnoText(13), "Permission denied");
  assert.equal(ERRNO.EOWNERDEAD, 130);
  for (const [name, n] of Object.entries(E)) assert.equal(ERRNO[name], n, name);
  if (await skipIf(t, !HAVE_GCC && "gcc not found: cpp cannot list the headers")) return;
  // Ask the C preprocessor for every E* macro errno.h defines and compare.
  const r = await run("sh", ["-c", "echo '#include <errno.h>' | cpp -dM"]);
  assert.equal(r.code, 0, r.stderr);
  let compared = 0;
  for (const line of r.stdout.split("\n")) {
    const m = /^#define (E[A-Z0-9]+) (\d+)$/.exec(line);
    if (!m) continue;
    assert.equal(ERRNO[m[1] ?? ""], Number(m[2]), `${m[1]} should be ${m[2]}`);
    compared++;
  }
  assert.ok(compared >= 120, `compared ${compared} errno names`);
});

Deno.test("the loader lists every library it tried when a symbol cannot be bound", () => {
  // Nothing is opened until a symbol is read; the read throws.
  const rt = openGroup("rt", ["/nonexistent/libc.so.6", "libdipc-missing.so.1"], RT);
  const e = thrown(() => rt.shm_open);
  assert.ok(e instanceof LibraryLoadError);
  assert.equal(e.group, "rt");
  assert.deepEqual(e.attempts.map((a) => a.library), [
    "/nonexistent/libc.so.6",
    "libdipc-missing.so.1",
  ]);
  assert.match(
    e.message,
    /tried:\n {2}\/nonexistent\/libc\.so\.6: .+\n {2}libdipc-missing\.so\.1: .+/,
  );
});

Deno.test("the loader falls back to the next library when a symbol is missing", () => {
  // libm has none of the rt symbols; libc.so.6 has them all (glibc >= 2.34) or librt does.
  const syms = openGroup("rt", ["libm.so.6", "libc.so.6", "librt.so.1"], RT);
  assert.equal(typeof syms.shm_open, "function");
  const core = openGroup("core", ["libc.so.6"], CORE);
  assert.equal(core.getpid(), Deno.pid);
});

Deno.test("ClosedError and ForeignOwnerError carry what they are about", () => {
  const c = new ClosedError('shared memory "/x"');
  assert.equal(c.name, "ClosedError");
  assert.equal(c.message, 'shared memory "/x" is closed');
  const f = new ForeignOwnerError("/x", 1000, 0);
  assert.equal(f.owner, 1000);
  assert.equal(f.expected, 0);
  assert.match(f.message, /allowForeignOwner/);
});

Deno.test("WOULD_BLOCK and END_OF_STREAM: one registered symbol each, from every module", async () => {
  const dipc = await import("../mod.ts");
  assert.equal(dipc.WOULD_BLOCK, Symbol.for("dipc.WOULD_BLOCK"));
  assert.equal(dipc.END_OF_STREAM, Symbol.for("dipc.END_OF_STREAM"));
  assert.notEqual(dipc.WOULD_BLOCK, dipc.END_OF_STREAM);
  for (const m of ["pipe", "fifo", "mq", "sysv_mq", "ring", "semaphore", "mutex", "spawn"]) {
    const mod = await import(`../src/${m}.ts`);
    assert.equal(mod.WOULD_BLOCK, dipc.WOULD_BLOCK, `${m} re-exports the one WOULD_BLOCK`);
  }
  for (const m of ["pipe", "fifo", "ring", "errors"]) {
    const mod = await import(`../src/${m}.ts`);
    assert.equal(mod.END_OF_STREAM, dipc.END_OF_STREAM, `${m} re-exports the one END_OF_STREAM`);
  }
});

Deno.test("confusing the two sentinels is a compile error (checked by deno check)", () => {
  // Each @ts-expect-error below fails `deno check` (run by `deno task check` and CI) if the line
  // under it type-checks: a try form that cannot end a stream compared with END_OF_STREAM, and a
  // blocking receive (which never returns WOULD_BLOCK) compared with WOULD_BLOCK.
  const probe = (
    lock: () => import("../mod.ts").MutexGuard | WouldBlock,
    receive: () => Uint8Array | EndOfStream,
  ): boolean[] => [
    // @ts-expect-error tryLock never returns END_OF_STREAM
    lock() === END_OF_STREAM,
    // @ts-expect-error a blocking receive never returns WOULD_BLOCK
    receive() === WOULD_BLOCK,
    lock() === WOULD_BLOCK && receive() === END_OF_STREAM,
  ];
  assert.deepEqual(probe(() => WOULD_BLOCK, () => END_OF_STREAM), [false, false, true]);
});

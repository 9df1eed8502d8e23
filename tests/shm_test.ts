import assert from "node:assert/strict";
import { ClosedError, ErrnoError, ForeignOwnerError, SharedMemory } from "../mod.ts";
import {
  CAN_DROP_CAPS,
  compileC,
  hasCommand,
  HAVE_GCC,
  HAVE_PYTHON,
  ipcTest,
  python,
  ROOT,
  run,
  runDeno,
  runOk,
  skipIf,
  thrown,
  uniqueName,
} from "./_helpers.ts";

const SHM_C = `
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
/* usage: shm_peer read NAME SIZE | write NAME SIZE TEXT | create NAME SIZE TEXT */
int main(int argc, char **argv) {
  if (argc < 4) return 2;
  int create = !strcmp(argv[1], "create");
  int fd = shm_open(argv[2], create ? O_RDWR | O_CREAT | O_EXCL : O_RDWR, 0600);
  if (fd < 0) { perror("shm_open"); return 1; }
  size_t size = (size_t)atol(argv[3]);
  if (create && ftruncate(fd, size)) { perror("ftruncate"); return 1; }
  char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) { perror("mmap"); return 1; }
  if (!strcmp(argv[1], "read")) printf("%s\\n", p);
  else strcpy(p, argv[4]);
  munmap(p, size);
  close(fd);
  return 0;
}
`.replace("#include <unistd.h>", "#include <unistd.h>\n#include <stdlib.h>");

const enc = new TextEncoder();
const dec = new TextDecoder();
const cstr = (b: Uint8Array): string => dec.decode(b.subarray(0, b.indexOf(0)));

ipcTest("create, open, write and read through two handles", () => {
  using a = SharedMemory.temporary({ size: 8192 });
  using b = SharedMemory.open(a.name);
  assert.equal(a.created, true);
  assert.equal(b.created, false);
  assert.equal(b.size, 8192);
  a.bytes.set(enc.encode("hello"), 100);
  assert.equal(dec.decode(b.bytes.subarray(100, 105)), "hello");
  const w = b.view(Float64Array, 8, 2);
  w[1] = 1.5;
  assert.equal(a.view(Float64Array)[2], 1.5);
});

ipcTest("new objects are mode 0600 by default and the mode is exact (umask ignored)", async () => {
  using a = SharedMemory.temporary({ size: 16 });
  assert.equal(a.stat().mode, 0o600);
  const ls = await runOk("stat", ["-c", "%a %s %u", `/dev/shm${a.name}`]);
  assert.equal(ls.trim(), `600 16 ${Deno.uid()}`);
  using b = SharedMemory.temporary({ size: 16, mode: 0o666 });
  assert.equal((await runOk("stat", ["-c", "%a", `/dev/shm${b.name}`])).trim(), "666");
});

ipcTest("stat reports what /dev/shm shows", async () => {
  using a = SharedMemory.temporary({ size: 12345, mode: 0o640 });
  const st = a.stat();
  const [mode, size, uid, gid] = (await runOk("stat", ["-c", "%a %s %u %g", `/dev/shm${a.name}`]))
    .trim().split(" ");
  assert.deepEqual([st.mode.toString(8), String(st.size), String(st.uid), String(st.gid)], [
    mode,
    size,
    uid,
    gid,
  ]);
  assert.ok(st.modified instanceof Date && st.changed.getTime() > 0);
});

ipcTest("exclusive create of an existing object is EEXIST; open of a missing one is ENOENT", () => {
  using a = SharedMemory.temporary({ size: 16 });
  const e = thrown(() => SharedMemory.create(a.name, { size: 16, exclusive: true }));
  assert.ok(e instanceof ErrnoError);
  assert.equal(e.code, "EEXIST");
  assert.equal(e.errno, 17);
  assert.equal(e.syscall, "shm_open");
  assert.equal(e.object, a.name);
  assert.match(e.message, /Cannot create shared memory ".*": shm_open failed with EEXIST/);
  const missing = uniqueName("missing");
  const n = thrown(() => SharedMemory.open(missing));
  assert.ok(n instanceof ErrnoError);
  assert.equal(n.code, "ENOENT");
  assert.equal(n.object, missing);
});

ipcTest("create without exclusive opens an existing object and keeps its size", () => {
  using a = SharedMemory.temporary({ size: 4096 });
  a.bytes[0] = 7;
  const e = thrown(() => SharedMemory.create(a.name, { size: 99 }));
  assert.ok(e instanceof ErrnoError && e.code === "EEXIST", "create is exclusive by default");
  using b = SharedMemory.create(a.name, { size: 99, exclusive: false });
  assert.equal(b.created, false);
  assert.equal(b.size, 4096);
  assert.equal(b.bytes[0], 7);
});

ipcTest(
  "an existing object of size 0 (creator not done yet) is sized by create, not by open",
  async () => {
    const name = uniqueName("empty");
    await runOk("touch", [`/dev/shm${name}`]); // what shm_open(O_CREAT) leaves before ftruncate
    try {
      using opened = SharedMemory.open(name);
      assert.equal(opened.size, 0);
      assert.equal(opened.bytes.length, 0);
      assert.equal(opened.unsafePointer, null);
      using created = SharedMemory.create(name, { size: 4096, exclusive: false });
      assert.equal(created.created, false);
      assert.equal(created.size, 4096);
      assert.equal(created.stat().size, 4096);
    } finally {
      SharedMemory.unlink(name);
    }
  },
);

ipcTest("resize grows and shrinks, detaching old views", () => {
  using a = SharedMemory.temporary({ size: 4096 });
  const old = a.bytes;
  old[10] = 42;
  a.resize(3 * 4096 + 5);
  assert.equal(old.length, 0);
  assert.equal(a.size, 3 * 4096 + 5);
  assert.equal(a.stat().size, 3 * 4096 + 5);
  assert.equal(a.bytes[10], 42);
  a.bytes[3 * 4096 + 4] = 9;
  a.resize(100);
  assert.equal(a.stat().size, 100);
  assert.equal(a.bytes[10], 42);
});

ipcTest("close detaches every view: stale views read as empty, never crash", () => {
  const a = SharedMemory.temporary({ size: 4096 });
  const bytes = a.bytes;
  const ints = a.int32(64, 4);
  const f = a.view(Float64Array);
  a.close();
  assert.equal(bytes.length, 0);
  assert.equal(ints.length, 0);
  assert.equal(f.length, 0);
  assert.equal(bytes[0], undefined);
  bytes[0] = 1; // a write to a detached view is a no-op, not a segfault
  assert.ok(thrown(() => Atomics.load(ints, 0)) instanceof TypeError);
  assert.ok(thrown(() => new Int32Array(bytes.buffer)) instanceof TypeError);
  assert.equal(a.closed, true);
  assert.equal(a.size, 0);
});

ipcTest("use after close throws ClosedError on every member; double close is a no-op", () => {
  const a = SharedMemory.temporary({ size: 64 });
  a.close();
  a.close();
  a[Symbol.dispose]();
  for (
    const use of [
      () => a.bytes,
      () => a.int32(),
      () => a.view(Uint8Array),
      () => a.stat(),
      () => a.resize(128),
      () => a.unsafeFd,
      () => a.unsafePointer,
    ]
  ) {
    assert.ok(thrown(use) instanceof ClosedError);
  }
  assert.equal(a.name.startsWith("/dipc-"), true);
});

ipcTest("temporary objects are unlinked on dispose; unlink then close also works", async () => {
  let name: string;
  {
    using a = SharedMemory.temporary({ size: 64 });
    name = a.name;
    assert.equal((await run("test", ["-e", `/dev/shm${name}`])).code, 0);
  }
  assert.equal((await run("test", ["-e", `/dev/shm${name}`])).code, 1);
  const b = SharedMemory.temporary({ size: 64 });
  b.unlink();
  b.bytes[0] = 1; // still mapped after unlink
  assert.equal(b.bytes[0], 1);
  b.close();
  const e = thrown(() => SharedMemory.unlink(b.name));
  assert.ok(e instanceof ErrnoError && e.code === "ENOENT");
});

ipcTest("after unlink the mapping stays usable and a new open finds nothing", () => {
  const name = uniqueName("unlinked");
  using a = SharedMemory.create(name, { size: 64, exclusive: true });
  SharedMemory.unlink(name);
  a.bytes[3] = 3;
  assert.equal(a.bytes[3], 3);
  const e = thrown(() => SharedMemory.open(name));
  assert.ok(e instanceof ErrnoError && e.code === "ENOENT");
  assert.ok(thrown(() => a.unlink()) instanceof ErrnoError);
});

ipcTest("readOnly handles see others' writes and their own writes never reach the object", () => {
  using w = SharedMemory.temporary({ size: 8192 });
  using r = SharedMemory.open(w.name, { readOnly: true });
  assert.equal(r.readOnly, true);
  w.bytes[5000] = 1;
  assert.equal(r.bytes[5000], 1);
  w.bytes[5000] = 2;
  assert.equal(r.bytes[5000], 2); // untouched page: still shared
  r.bytes[0] = 99; // lands in a private copy of page 0, no crash
  assert.equal(w.bytes[0], 0);
  assert.ok(thrown(() => r.resize(10)) instanceof TypeError);
});

ipcTest("an object owned by another user is refused unless allowForeignOwner", async () => {
  using a = SharedMemory.temporary({ size: 64 });
  if (Deno.uid() !== 0) return; // only root can give an object away; the check is still below
  await runOk("chown", ["65534:65534", `/dev/shm${a.name}`]);
  const e = thrown(() => SharedMemory.open(a.name));
  assert.ok(e instanceof ForeignOwnerError);
  assert.equal(e.owner, 65534);
  assert.equal(e.object, a.name);
  assert.match(e.message, /owned by uid 65534/);
  const e2 = thrown(() => SharedMemory.create(a.name, { size: 64, exclusive: false }));
  assert.ok(e2 instanceof ForeignOwnerError, "create without exclusive must not adopt it either");
  using b = SharedMemory.open(a.name, { allowForeignOwner: true });
  assert.equal(b.stat().uid, 65534);
});

ipcTest("permission denied is EACCES (checked without privileges)", async (t) => {
  const noCaps = (Deno.uid() !== 0 || !CAN_DROP_CAPS) &&
    "needs root and setpriv to drop capabilities";
  if (await skipIf(t, noCaps)) return;
  using a = SharedMemory.temporary({ size: 64, mode: 0o400 });
  const r = await runDeno(`${ROOT}tests/fixtures/shm_open.ts`, [a.name, "rw"], {
    setpriv: ["--bounding-set=-all"],
  });
  assert.equal(r.stdout.trim(), "ErrnoError EACCES shm_open", r.stderr);
  const ro = await runDeno(`${ROOT}tests/fixtures/shm_open.ts`, [a.name, "ro"], {
    setpriv: ["--bounding-set=-all"],
  });
  assert.equal(ro.stdout.trim(), "ok 64", ro.stderr);
});

ipcTest("names with non-ASCII characters work and are sized by UTF-8 bytes", () => {
  const name = `/dipc-test-공유메모리-${crypto.randomUUID()}`;
  using a = SharedMemory.create(name, { size: 32, exclusive: true });
  using b = SharedMemory.open(name);
  assert.equal(b.size, 32);
  a.unlink();
  // 254 bytes after "/" is the limit: 84 three-byte characters + 2 bytes = 254
  const long = "/" + "가".repeat(84) + "ab";
  using c = SharedMemory.create(long, { size: 8, exclusive: true });
  c.unlink();
});

Deno.test("bad input: every case throws a typed error before any system call", async (t) => {
  const name = uniqueName("bad");
  // deno-lint-ignore no-explicit-any
  const S = SharedMemory as any;
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["size 0", () => SharedMemory.create(name, { size: 0 }), RangeError],
    ["size negative", () => SharedMemory.create(name, { size: -1 }), RangeError],
    ["size NaN", () => SharedMemory.create(name, { size: NaN }), RangeError],
    ["size fractional", () => SharedMemory.create(name, { size: 1.5 }), RangeError],
    ["size Infinity", () => SharedMemory.create(name, { size: Infinity }), RangeError],
    ["size beyond 2^53", () => SharedMemory.create(name, { size: 2 ** 60 }), RangeError],
    ["size as string", () => S.create(name, { size: "64" }), TypeError],
    ["size as bigint", () => S.create(name, { size: 64n }), TypeError],
    ["create without size", () => S.open(name, { create: true }), TypeError],
    ["temporary without size", () => S.temporary({}), TypeError],
    ["name without leading /", () => SharedMemory.create("jobs", { size: 8 }), TypeError],
    ["name with another /", () => SharedMemory.create("/a/b", { size: 8 }), TypeError],
    ["name only /", () => SharedMemory.create("/", { size: 8 }), TypeError],
    ["empty name", () => SharedMemory.create("", { size: 8 }), TypeError],
    ["name with NUL", () => SharedMemory.create("/a\0b", { size: 8 }), TypeError],
    [
      "name of 255 bytes after /",
      () => SharedMemory.create("/" + "x".repeat(255), { size: 8 }),
      RangeError,
    ],
    ["name over 255 bytes in UTF-8", () => SharedMemory.open("/" + "가".repeat(90)), RangeError],
    ["name /.", () => SharedMemory.open("/."), TypeError],
    ["name /..", () => SharedMemory.open("/.."), TypeError],
    ["name as number", () => S.open(42), TypeError],
    ["name undefined", () => S.open(undefined), TypeError],
    ["unlink with bad name", () => SharedMemory.unlink("no-slash"), TypeError],
    ["mode above 0o777", () => SharedMemory.create(name, { size: 8, mode: 0o1777 }), RangeError],
    ["mode negative", () => SharedMemory.create(name, { size: 8, mode: -1 }), RangeError],
    ["mode as string", () => S.create(name, { size: 8, mode: "600" }), TypeError],
    ["create without a size", () => S.create(name, {}), TypeError],
    [
      "allowForeignOwner with exclusive create",
      () => SharedMemory.create(name, { size: 8, allowForeignOwner: true }),
      TypeError,
    ],
    [
      "create with readOnly",
      () => S.open(name, { create: true, size: 8, readOnly: true }),
      TypeError,
    ],
    ["options not an object", () => S.open(name, 5), TypeError],
    ["options an array", () => S.open(name, []), TypeError],
    ["create not boolean", () => S.open(name, { create: 1, size: 8 }), TypeError],
    ["prefix with /", () => SharedMemory.temporary({ size: 8, prefix: "a/b" }), TypeError],
    ["prefix not a string", () => S.temporary({ size: 8, prefix: 5 }), TypeError],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => {
      const e = thrown(fn);
      assert.ok(e instanceof type, `${label}: got ${e}`);
    });
  }
  assert.equal((await run("test", ["-e", `/dev/shm${name}`])).code, 1, "nothing was created");
});

ipcTest("bad input on a live handle: views and resize", async (t) => {
  using a = SharedMemory.temporary({ size: 64 });
  // deno-lint-ignore no-explicit-any
  const A = a as any;
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["view offset past the end", () => a.view(Uint8Array, 65), RangeError],
    ["view offset misaligned", () => a.int32(2), RangeError],
    ["view length too long", () => a.int32(0, 17), RangeError],
    ["view with a non-constructor", () => A.view(5), TypeError],
    ["resize to 0", () => a.resize(0), RangeError],
    ["resize to -5", () => a.resize(-5), RangeError],
    ["resize to NaN", () => a.resize(NaN), RangeError],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => assert.ok(thrown(fn) instanceof type));
  }
  assert.equal(a.size, 64, "failed calls left the handle as it was");
});

ipcTest("a size the system cannot map is a clear ErrnoError and leaves nothing", () => {
  const name = uniqueName("huge");
  const e = thrown(() => SharedMemory.create(name, { size: 2 ** 52, exclusive: true }));
  assert.ok(e instanceof ErrnoError, String(e));
  assert.ok(["ENOMEM", "EFBIG", "ENOSPC", "EINVAL"].includes(e.code), e.code);
});

ipcTest(
  "interop: Python's multiprocessing.shared_memory reads what dipc wrote, and back",
  async (t) => {
    if (await skipIf(t, !HAVE_PYTHON && "python3 not found")) return;
    using a = SharedMemory.temporary({ size: 1024 });
    a.bytes.set(enc.encode("from deno\0"));
    // Python before 3.13 registers opened segments with its resource tracker, which would unlink
    // ours at exit; unregister it.
    const out = await python(
      `import sys
from multiprocessing import shared_memory, resource_tracker
s = shared_memory.SharedMemory(name=sys.argv[1])
resource_tracker.unregister(s._name, "shared_memory")
print(bytes(s.buf[:9]).decode(), s.size)
s.buf[100:112] = b"from python\\0"
s.close()`,
      a.name.slice(1),
    );
    assert.equal(out.trim(), "from deno 1024");
    assert.equal(cstr(a.bytes.subarray(100)), "from python");

    const name = uniqueName("py");
    await python(
      `import sys
from multiprocessing import shared_memory, resource_tracker
s = shared_memory.SharedMemory(name=sys.argv[1], create=True, size=4096)
resource_tracker.unregister(s._name, "shared_memory")
s.buf[:7] = b"python\\0"
s.close()`,
      name.slice(1),
    );
    try {
      using b = SharedMemory.open(name);
      assert.equal(cstr(b.bytes), "python");
      assert.equal(b.stat().mode, 0o600);
    } finally {
      SharedMemory.unlink(name);
    }
  },
);

ipcTest("interop: a C program reads what dipc wrote and dipc reads what C wrote", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
  const peer = await compileC("shm_peer", SHM_C);
  using a = SharedMemory.temporary({ size: 4096 });
  a.bytes.set(enc.encode("written by deno\0"));
  assert.equal((await runOk(peer, ["read", a.name, "4096"])).trim(), "written by deno");
  await runOk(peer, ["write", a.name, "4096", "written by C"]);
  assert.equal(cstr(a.bytes), "written by C");

  const name = uniqueName("c");
  await runOk(peer, ["create", name, "8192", "C made this"]);
  try {
    using b = SharedMemory.open(name);
    assert.equal(b.size, 8192);
    assert.equal(cstr(b.bytes), "C made this");
  } finally {
    SharedMemory.unlink(name);
  }
});

ipcTest("two Deno processes share an object", async () => {
  using a = SharedMemory.temporary({ size: 64 });
  a.bytes[0] = 41;
  const r = await runDeno(`${ROOT}tests/fixtures/shm_open.ts`, [a.name, "incr"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(a.bytes[0], 42);
});

ipcTest(
  "escaped buffers (BYOB read, transfer, structuredClone, Worker, ring reservation, System V) survive close",
  async () => {
    // In a process of its own: without the fix its first touch after close is SIGSEGV.
    const r = await run(Deno.execPath(), [
      "run",
      "--quiet",
      "--allow-all", // reading /proc/self/maps needs it
      `${ROOT}tests/fixtures/escape_child.ts`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    // Every escaped buffer reads private zero pages, and nothing of the objects stays mapped
    // or attached.
    assert.equal(
      r.stdout.trim(),
      [
        "byob 0",
        "transfer 0",
        "structuredClone 0",
        "worker 0",
        "ring 0",
        "sysv 0 attachments 0",
        "left 0",
      ].join("\n"),
    );
  },
);

ipcTest("a nearly full /dev/shm: creation fails with ENOSPC, never SIGBUS later", async (t) => {
  const canUnshare = hasCommand("unshare") && Deno.uid() === 0;
  if (await skipIf(t, !canUnshare && "needs root and unshare for a private /dev/shm")) return;
  const code = `
    import { ErrnoError, RingChannel, SharedMemory } from "${ROOT}mod.ts";
    const out = [];
    for (const make of [
      () => SharedMemory.create("/dipc-full-a", { size: 8 << 20 }),
      () => RingChannel.create("/dipc-full-b", { capacity: 8 << 20 }),
      () => SharedMemory.create("/dipc-full-c", { size: 1 << 20 }).resize(16 << 20),
    ]) {
      try {
        const o = make();
        o.bytes?.fill(1); // without the reservation: SIGBUS here
        out.push("created");
      } catch (e) {
        out.push(e instanceof ErrnoError ? e.code + ":" + e.syscall : String(e));
      }
    }
    SharedMemory.unlink("/dipc-full-c");
    using fits = SharedMemory.create("/dipc-full-d", { size: 4096 });
    fits.bytes.fill(1);
    fits.unlink();
    console.log(out.join(" "), [...Deno.readDirSync("/dev/shm")].length);`;
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, code);
    // A mount namespace of its own, with a 4 MiB tmpfs on /dev/shm: nothing leaks out of it.
    const r = await run("unshare", [
      "-m",
      "sh",
      "-c",
      `mount -t tmpfs -o size=4m tmpfs /dev/shm && exec "${Deno.execPath()}" run -A --quiet "${file}"`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout.trim(),
      "ENOSPC:posix_fallocate ENOSPC:posix_fallocate ENOSPC:posix_fallocate 0",
    );
  } finally {
    await Deno.remove(file);
  }
});

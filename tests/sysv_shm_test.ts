import assert from "node:assert/strict";
import {
  ClosedError,
  ErrnoError,
  ForeignOwnerError,
  ftok,
  IPC_PRIVATE,
  SysVSharedMemory,
} from "../mod.ts";
import {
  CAN_DROP_CAPS,
  compileC,
  HAVE_GCC,
  HAVE_SYSV_IPC,
  ipcsShm,
  ipcTest,
  python,
  runOk,
  skipIf,
  squat,
  thrown,
} from "./_helpers.ts";

const SYSV_C = `
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
/* usage: sysv_peer read KEY | write KEY TEXT | create KEY SIZE TEXT (prints the id) */
int main(int argc, char **argv) {
  if (argc < 3) return 2;
  key_t key = (key_t)strtol(argv[2], NULL, 0);
  int create = !strcmp(argv[1], "create");
  int id = shmget(key, create ? (size_t)atol(argv[3]) : 0, create ? IPC_CREAT | IPC_EXCL | 0600 : 0);
  if (id < 0) { perror("shmget"); return 1; }
  char *p = shmat(id, NULL, 0);
  if (p == (void *)-1) { perror("shmat"); return 1; }
  if (!strcmp(argv[1], "read")) printf("%s\\n", p);
  else if (!strcmp(argv[1], "write")) strcpy(p, argv[3]);
  else { strcpy(p, argv[4]); printf("%d\\n", id); }
  shmdt(p);
  return 0;
}
`;

const enc = new TextEncoder();
const dec = new TextDecoder();
const cstr = (b: Uint8Array): string => dec.decode(b.subarray(0, b.indexOf(0)));

async function tempKey(id: number | string = "R"): Promise<[number, () => Promise<void>]> {
  const file = await Deno.makeTempFile({ prefix: "dipc-ftok-" });
  return [ftok(file, id), () => Deno.remove(file)];
}

ipcTest("ftok: same path and id give the same key; different ids differ; 'R' is 82", async () => {
  const file = await Deno.makeTempFile();
  try {
    assert.equal(ftok(file, "R"), ftok(file, 82));
    assert.notEqual(ftok(file, 1), ftok(file, 2));
    assert.equal((ftok(file, "R") >>> 24) & 0xff, 82, "the id is the key's top byte");
    const e = thrown(() => ftok(`${file}.missing`, 1));
    assert.ok(e instanceof ErrnoError);
    assert.equal(e.code, "ENOENT");
    assert.equal(e.syscall, "ftok");
  } finally {
    await Deno.remove(file);
  }
});

ipcTest("seed 000: ftok, shmget, shmat, write, shmdt, IPC_RMID; ipcs -m agrees", async () => {
  const [key, done] = await tempKey();
  try {
    const shm = SysVSharedMemory.create(key, { size: 4096 });
    assert.equal(shm.created, true);
    assert.equal(shm.key, key);
    shm.bytes.set(enc.encode("Linux Programming\0"));
    const row = (await ipcsShm()).get(shm.id);
    assert.ok(row, "ipcs -m lists the segment");
    assert.equal(row.key, key);
    assert.equal(row.bytes, 4096);
    assert.equal(row.perms, 0o600);
    assert.equal(row.nattch, 1);
    shm.close();
    assert.equal((await ipcsShm()).get(shm.id)?.nattch, 0, "detached, still there");
    using again = SysVSharedMemory.open(key, { readOnly: true });
    assert.equal(cstr(again.read()), "Linux Programming");
    again.remove();
    again.close();
    assert.equal((await ipcsShm()).has(shm.id), false, "removed");
  } finally {
    await done();
  }
});

ipcTest("IPC_STAT: size, attachments, pids, times, owner, mode", () => {
  using a = SysVSharedMemory.temporary({ size: 10000, mode: 0o640 });
  using b = SysVSharedMemory.openId(a.id);
  const st = a.stat();
  assert.equal(st.size, 10000);
  assert.equal(st.attachments, 2);
  assert.equal(st.creatorPid, Deno.pid);
  assert.equal(st.lastPid, Deno.pid);
  assert.equal(st.mode, 0o640);
  assert.equal(st.uid, Deno.uid());
  assert.equal(st.cuid, Deno.uid());
  assert.equal(st.key, 0);
  assert.ok(st.attached instanceof Date);
  assert.equal(st.detached, null);
  b.close();
  assert.equal(a.stat().attachments, 1);
  assert.ok(a.stat().detached instanceof Date);
});

ipcTest("IPC_SET changes mode and owner; ipcs shows it; foreign owner is refused", async () => {
  using a = SysVSharedMemory.temporary({ size: 64 });
  a.setPermissions({ mode: 0o644 });
  assert.equal(a.stat().mode, 0o644);
  assert.equal((await ipcsShm()).get(a.id)?.perms, 0o644);
  if (Deno.uid() === 0) {
    a.setPermissions({ uid: 65534, gid: 65534 });
    assert.equal(a.stat().uid, 65534);
    assert.equal(a.stat().cuid, 0, "the creator stays");
    const e = thrown(() => SysVSharedMemory.openId(a.id));
    assert.ok(e instanceof ForeignOwnerError);
    assert.equal(e.owner, 65534);
    using b = SysVSharedMemory.openId(a.id, { allowForeignOwner: true });
    assert.equal(b.size, 64);
  }
});

ipcTest("exclusive create of an existing key is EEXIST; a missing key is ENOENT", async () => {
  const [key, done] = await tempKey(7);
  try {
    using a = SysVSharedMemory.create(key, { size: 64 });
    const e = thrown(() => SysVSharedMemory.create(key, { size: 64 }));
    assert.ok(e instanceof ErrnoError);
    assert.equal(e.code, "EEXIST");
    assert.equal(e.syscall, "shmget");
    assert.match(e.message, /Cannot create System V shared memory with key -?\d+: shmget failed/);
    using b = SysVSharedMemory.create(key, { size: 64, exclusive: false });
    assert.equal(b.created, false);
    assert.equal(b.id, a.id);
    a.remove();
    const n = thrown(() => SysVSharedMemory.open(key));
    assert.ok(n instanceof ErrnoError && n.code === "ENOENT", String(n));
  } finally {
    await done();
  }
});

ipcTest("a size beyond what the system allows is a clear ErrnoError, nothing left", () => {
  const e = thrown(() => SysVSharedMemory.temporary({ size: 2 ** 52 }));
  assert.ok(e instanceof ErrnoError, String(e));
  assert.equal(e.syscall, "shmget");
  assert.ok(["EINVAL", "ENOSPC", "ENOMEM"].includes(e.code), e.code);
});

ipcTest("read-only attachments have no view (writing would crash) and read by copy", () => {
  using a = SysVSharedMemory.temporary({ size: 64 });
  a.bytes.set([1, 2, 3]);
  using r = SysVSharedMemory.openId(a.id, { readOnly: true });
  assert.equal(r.readOnly, true);
  assert.ok(thrown(() => r.bytes) instanceof TypeError);
  assert.ok(thrown(() => r.int32()) instanceof TypeError);
  assert.deepEqual([...r.read(0, 4)], [1, 2, 3, 0]);
  a.bytes[1] = 9;
  assert.equal(r.read(1, 1)[0], 9);
  assert.ok(thrown(() => r.read(60, 5)) instanceof RangeError);
});

ipcTest("close detaches views; use after close throws; double close is a no-op", () => {
  const a = SysVSharedMemory.temporary({ size: 4096 });
  const bytes = a.bytes;
  const ints = a.int32();
  a.close();
  a.close();
  a[Symbol.dispose]();
  assert.equal(bytes.length, 0);
  assert.equal(ints.length, 0);
  bytes[0] = 1;
  assert.equal(bytes[0], undefined);
  for (
    const use of [
      () => a.bytes,
      () => a.read(),
      () => a.unsafePointer,
    ]
  ) {
    assert.ok(thrown(use) instanceof ClosedError);
  }
  // The segment outlives the handle: stat, setPermissions and remove still reach the kernel,
  // which says the temporary segment is gone.
  for (const use of [() => a.stat(), () => a.setPermissions({ mode: 0o600 })]) {
    const e = thrown(use);
    assert.ok(e instanceof ErrnoError && ["EINVAL", "EIDRM"].includes(e.code), `${e}`);
  }
  a.remove(); // removed at close by this handle: nothing more to do
  assert.equal(a.closed, true);
  const e = thrown(() => SysVSharedMemory.statId(a.id));
  assert.ok(e instanceof ErrnoError && ["EINVAL", "EIDRM"].includes(e.code), "temporary removed");
});

ipcTest("after remove, the attachment works until closed; the id is then gone", () => {
  const a = SysVSharedMemory.create(IPC_PRIVATE, { size: 64 });
  const id = a.id;
  a.remove();
  a.bytes[0] = 5;
  assert.equal(a.bytes[0], 5);
  a.close();
  const e = thrown(() => SysVSharedMemory.openId(id));
  assert.ok(e instanceof ErrnoError && ["EINVAL", "EIDRM"].includes(e.code), String(e));
  const r = thrown(() => SysVSharedMemory.remove(id));
  assert.ok(r instanceof ErrnoError && r.syscall === "shmctl");
});

ipcTest("interop: a segment made by ipcmk -M is opened by key", async () => {
  const out = await runOk("ipcmk", ["-M", "8192", "-p", "0600"]);
  const id = Number(/(\d+)\s*$/.exec(out.trim())?.[1]);
  try {
    const row = (await ipcsShm()).get(id);
    assert.ok(row);
    using shm = SysVSharedMemory.open(row.key);
    assert.equal(shm.id, id);
    assert.equal(shm.size, 8192);
    assert.equal(shm.created, false);
    shm.bytes[0] = 1;
    assert.equal((await ipcsShm()).get(id)?.nattch, 1);
  } finally {
    await runOk("ipcrm", ["-m", String(id)]);
  }
});

ipcTest("interop: a C program reads what dipc wrote, and dipc what C wrote", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc not found")) return;
  const peer = await compileC("sysv_peer", SYSV_C);
  const [key, done] = await tempKey("C");
  try {
    using a = SysVSharedMemory.create(key, { size: 4096 });
    a.bytes.set(enc.encode("from deno\0"));
    assert.equal((await runOk(peer, ["read", String(key)])).trim(), "from deno");
    await runOk(peer, ["write", String(key), "from C"]);
    assert.equal(cstr(a.bytes), "from C");
    a.remove();
    const id = Number(await runOk(peer, ["create", String(key), "5000", "C created"]));
    using b = SysVSharedMemory.open(key);
    assert.equal(b.id, id);
    assert.equal(b.size, 5000);
    assert.equal(cstr(b.bytes), "C created");
    b.remove();
  } finally {
    await done();
  }
});

ipcTest("interop: Python's sysv_ipc attaches dipc's segment by key", async (t) => {
  if (await skipIf(t, !HAVE_SYSV_IPC && "python3-sysv-ipc not installed")) return;
  const [key, done] = await tempKey("P");
  try {
    using a = SysVSharedMemory.create(key, { size: 256 });
    a.bytes.set(enc.encode("hi python\0"));
    const out = await python(
      `import sys, sysv_ipc
m = sysv_ipc.SharedMemory(int(sys.argv[1]))
print(m.read(9).decode(), m.size)
m.write(b"hi deno\\0", 100)
m.detach()`,
      String(key),
    );
    assert.equal(out.trim(), "hi python 256");
    assert.equal(cstr(a.bytes.subarray(100)), "hi deno");
    a.remove();
  } finally {
    await done();
  }
});

Deno.test("bad input: keys, ids, sizes, modes and ftok arguments", async (t) => {
  // deno-lint-ignore no-explicit-any
  const S = SysVSharedMemory as any;
  // deno-lint-ignore no-explicit-any
  const F = ftok as any;
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["key as string", () => S.open("1234"), TypeError],
    ["key as bigint", () => S.open(1234n), TypeError],
    ["key fractional", () => SysVSharedMemory.open(1.5), RangeError],
    ["key NaN", () => SysVSharedMemory.open(NaN), RangeError],
    ["key beyond 32 bits", () => SysVSharedMemory.open(2 ** 32), RangeError],
    ["key below -2^31", () => SysVSharedMemory.open(-(2 ** 31) - 1), RangeError],
    ["IPC_PRIVATE without create", () => SysVSharedMemory.open(IPC_PRIVATE), TypeError],
    [
      "size 0",
      () => SysVSharedMemory.create(IPC_PRIVATE, { size: 0 }),
      RangeError,
    ],
    ["size negative", () => SysVSharedMemory.temporary({ size: -4 }), RangeError],
    ["size NaN", () => SysVSharedMemory.temporary({ size: NaN }), RangeError],
    ["size fractional", () => SysVSharedMemory.temporary({ size: 10.5 }), RangeError],
    ["create without size", () => S.open(1234, { create: true }), TypeError],
    ["mode 0o1000", () => SysVSharedMemory.temporary({ size: 8, mode: 0o1000 }), RangeError],
    ["create without a size", () => S.create(1234, {}), TypeError],
    [
      "allowForeignOwner with exclusive create",
      () => SysVSharedMemory.create(1234, { size: 8, allowForeignOwner: true }),
      TypeError,
    ],
    ["id negative", () => SysVSharedMemory.openId(-1), RangeError],
    ["id as string", () => S.openId("3"), TypeError],
    ["id fractional", () => SysVSharedMemory.remove(0.5), RangeError],
    ["statId too large", () => SysVSharedMemory.statId(2 ** 31), RangeError],
    ["ftok empty path", () => ftok("", 1), TypeError],
    ["ftok path with NUL", () => ftok("/tmp\0x", 1), TypeError],
    ["ftok path not a string", () => F(5, 1), TypeError],
    ["ftok id 0", () => ftok("/tmp", 0), RangeError],
    ["ftok id 256", () => ftok("/tmp", 256), RangeError],
    ["ftok id two characters", () => ftok("/tmp", "RX"), TypeError],
    ["ftok id empty string", () => ftok("/tmp", ""), TypeError],
    ["ftok id non-Latin-1 character", () => ftok("/tmp", "가"), RangeError],
    ["ftok id undefined", () => F("/tmp"), TypeError],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => {
      const e = thrown(fn);
      assert.ok(e instanceof type, `${label}: got ${e}`);
    });
  }
});

ipcTest("bad input on a live segment: set() arguments", async (t) => {
  using a = SysVSharedMemory.temporary({ size: 64 });
  // deno-lint-ignore no-explicit-any
  const A = a as any;
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["set mode 0o7777", () => a.setPermissions({ mode: 0o7777 }), RangeError],
    ["set uid negative", () => a.setPermissions({ uid: -1 }), RangeError],
    ["set gid as string", () => A.set({ gid: "0" }), TypeError],
    ["set not an object", () => A.set(5), TypeError],
  ];
  for (const [label, fn, type] of cases) {
    await t.step(label, () => assert.ok(thrown(fn) instanceof type));
  }
  assert.equal(a.stat().mode, 0o600);
});

ipcTest(
  "squatting: a segment another user created and handed to us is refused (cuid)",
  async (t) => {
    if (await skipIf(t, (!HAVE_GCC || !CAN_DROP_CAPS) && "needs gcc, root and setpriv")) return;
    const key = 0x5d000000 + Math.floor(Math.random() * 0xffffff);
    const id = await squat("shm", key);
    try {
      assert.equal(SysVSharedMemory.statId(id).uid, Deno.uid(), "it looks like ours");
      for (
        const open of [
          () => SysVSharedMemory.open(key),
          () => SysVSharedMemory.create(key, { size: 4096, exclusive: false }),
          () => SysVSharedMemory.openId(id),
        ]
      ) {
        const e = thrown(open);
        assert.ok(e instanceof ForeignOwnerError && e.owner === 65534, `${e}`);
        assert.match(e.message, /created by uid 65534/);
      }
      using shm = SysVSharedMemory.openId(id, { allowForeignOwner: true });
      assert.equal(shm.size, 4096);
    } finally {
      SysVSharedMemory.remove(id);
    }
  },
);

ipcTest("keys read back unsigned, as ipcs prints them (high bit set)", async () => {
  const key = 0xde000000 + Math.floor(Math.random() * 0xffffff); // above 2^31
  using shm = SysVSharedMemory.create(key, { size: 4096 });
  try {
    assert.equal(shm.key, key);
    assert.equal(shm.stat().key, key);
    assert.equal(SysVSharedMemory.statId(shm.id).key, key);
    const ipcs = await runOk("ipcs", ["-m"]);
    const row = ipcs.split("\n").find((l) => l.trim().split(/\s+/)[1] === String(shm.id));
    assert.equal(row?.trim().split(/\s+/)[0], `0x${key.toString(16).padStart(8, "0")}`);
    // The signed spelling of the same key_t names the same segment.
    using again = SysVSharedMemory.open(key | 0);
    assert.equal(again.id, shm.id);
    assert.equal(again.key, key);
  } finally {
    shm.remove();
  }
});

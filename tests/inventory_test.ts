// The inventory (src/inventory.ts): what it reports of objects this test makes, what it does
// with hostile contents, how removal refuses, and bad input.
import assert from "node:assert/strict";
import {
  boundUnixSockets,
  describeObject,
  ErrnoError,
  ForeignOwnerError,
  ipcObjectInUse,
  listIpcObjects,
  MessageQueue,
  mkfifo,
  removeIpcObject,
  RingChannel,
  SharedMemory,
  SharedMutex,
  staleIpcObjects,
  SysVSharedMemory,
  UnixListener,
} from "../mod.ts";
import { HAVE_MQUEUE_FS, ipcTest, thrown, uniqueName } from "./_helpers.ts";

ipcTest("a ring's receiver, a mutex's holder, a queue's messages, a listener, a FIFO", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dipc-test-inv-" });
  try {
    using ring = RingChannel.temporary({ capacity: 4096 });
    using rx = ring.receiver();
    {
      using tx = ring.sender();
      tx.trySend(new Uint8Array(100));
    }
    using shm = SharedMemory.temporary({ size: 4096 });
    const mutex = SharedMutex.init(shm, 256);
    using _guard = await mutex.lock({ timeout: 5000 });
    using q = MessageQueue.temporary({ maxMessages: 4, messageSize: 64 });
    q.trySend(new Uint8Array(10));
    q.trySend(new Uint8Array(20));
    using listener = UnixListener.listen(`${dir}/s`);
    mkfifo(`${dir}/f`);

    const { objects } = listIpcObjects({ dirs: [dir] });
    const find = (kind: string, name: string) =>
      objects.find((o) => o.kind === kind && o.name === name);
    const r = find("ring", ring.name);
    assert.ok(r?.ring, "the ring is recognised");
    assert.equal(r.ring.capacity, 4096);
    assert.equal(r.ring.used, 8 + 104); // one record: header and padded message
    assert.deepEqual(r.ring.receiver, { pid: Deno.pid, alive: true });
    assert.equal(r.users, 1);
    assert.equal(r.stale, false);
    assert.ok(ipcObjectInUse(r));
    const m = find("shm", shm.name);
    assert.deepEqual(m?.mutexes, [
      { offset: 256, holder: { pid: Deno.pid, alive: true }, state: "consistent" },
    ]);
    if (HAVE_MQUEUE_FS) {
      const mq = find("mq", q.name);
      assert.equal(mq?.count, 2);
      assert.equal(mq?.size, 30);
      assert.deepEqual(mq?.limits, { maxMessages: 4, messageSize: 64 });
    }
    const s = find("socket", `${dir}/s`);
    assert.equal(s?.socket?.listening, true);
    assert.equal(s?.mode, 0o600);
    assert.equal(s?.creator?.pid, Deno.pid);
    assert.ok(boundUnixSockets().some((b) => b.address === `${dir}/s` && b.listening));
    const f = find("fifo", `${dir}/f`);
    assert.equal(f?.users, 0);
    assert.equal(describeObject(f ?? r), `fifo ${dir}/f`);
    listener.close();
    void rx;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

ipcTest("hostile contents: a corrupt ring header is plain shared memory; nothing throws", () => {
  using shm = SharedMemory.temporary({ size: 8192 });
  const w = shm.int32(0);
  w[0] = 0x676e6972; // the ring magic, over a header that does not check out
  w[1] = 1;
  w[2] = 12345; // not a power of two
  for (let i = 3; i < 64; i++) w[i] = -1;
  w[100] = 0x6d757478; // a mutex magic word, with a garbage lock word before it
  w[97] = 0x7fffffff;
  const o = listIpcObjects({ kinds: ["shm", "ring"] }).objects.find((x) => x.name === shm.name);
  assert.equal(o?.kind, "shm");
  assert.equal(o?.ring, undefined);
  assert.equal(o?.mutexes?.length, 1);
  assert.equal(o?.mutexes?.[0]?.offset, 97 * 4);
});

ipcTest("removal refuses what is in use (EBUSY) and what another user owns", () => {
  const name = uniqueName("inv-busy");
  const shm = SharedMemory.create(name, { size: 4096 });
  try {
    const listed = listIpcObjects({ kinds: ["shm"] }).objects.find((o) => o.name === name);
    assert.ok(listed);
    const busy = thrown(() => removeIpcObject(listed));
    assert.ok(busy instanceof ErrnoError && busy.code === "EBUSY", String(busy));
    removeIpcObject(listed, { force: true });
    assert.ok(!listIpcObjects({ kinds: ["shm"] }).objects.some((o) => o.name === name));
  } finally {
    shm.close();
  }
  const seg = SysVSharedMemory.create(0, { size: 4096 });
  try {
    seg.setPermissions({ uid: 65534 });
    const o = listIpcObjects({ kinds: ["sysv-shm"] }).objects.find((x) => x.id === seg.id);
    assert.ok(o && o.uid === 65534 && o.creatorUid === Deno.uid());
    assert.ok(thrown(() => removeIpcObject(o, { force: true })) instanceof ForeignOwnerError);
    assert.ok(!staleIpcObjects({ kinds: ["sysv-shm"] }).some((x) => x.id === seg.id));
  } finally {
    seg.remove();
    seg.close();
  }
});

Deno.test("bad input on the inventory: every case throws before any system call", async (t) => {
  // deno-lint-ignore no-explicit-any
  const L = listIpcObjects as any;
  // deno-lint-ignore no-explicit-any
  const R = removeIpcObject as any;
  // deno-lint-ignore no-explicit-any
  const S = staleIpcObjects as any;
  // deno-lint-ignore no-explicit-any
  const F = SharedMutex.find as any;
  const ok = {
    kind: "shm",
    name: "/x",
    key: null,
    id: null,
    uid: 0,
    owner: "root",
    creatorUid: null,
    mode: 0o600,
    size: 0,
    count: null,
    creator: null,
    users: 0,
    lastUse: null,
    stale: false,
  };
  const cases: Array<[string, () => unknown, new (...a: never[]) => Error]> = [
    ["list options a string", () => L("all"), TypeError],
    ["list unknown option", () => L({ kind: ["shm"] }), TypeError],
    ["list kinds not an array", () => L({ kinds: "shm" }), TypeError],
    ["list unknown kind", () => L({ kinds: ["shm", "nope"] }), TypeError],
    ["list dirs with an empty path", () => L({ dirs: [""] }), TypeError],
    ["list dirs with a NUL", () => L({ dirs: ["/tmp\0x"] }), TypeError],
    ["list dirs a string", () => L({ dirs: "/tmp" }), TypeError],
    ["stale allowForeignOwner a number", () => S({ allowForeignOwner: 1 }), TypeError],
    ["stale unknown option", () => S({ force: true }), TypeError],
    ["remove null", () => R(null), TypeError],
    ["remove a string", () => R("/x"), TypeError],
    ["remove an unknown kind", () => R({ ...ok, kind: "pipe" }), TypeError],
    ["remove a bad id", () => R({ ...ok, id: 1.5 }), TypeError],
    ["remove a bad uid", () => R({ ...ok, uid: "0" }), TypeError],
    ["remove force a string", () => R(ok, { force: "yes" }), TypeError],
    ["remove unknown option", () => R(ok, { recursive: true }), TypeError],
    // deno-lint-ignore no-explicit-any
    ["describe an empty object", () => describeObject({} as any), TypeError],
    // deno-lint-ignore no-explicit-any
    ["in use of a number", () => ipcObjectInUse(5 as any), TypeError],
    ["find in null", () => F(null), TypeError],
    ["find in a Uint8Array", () => F(new Uint8Array(64)), TypeError],
  ];
  using shm = SharedMemory.temporary({ size: 64 });
  cases.push(
    ["find maxBytes negative", () => F(shm, { maxBytes: -1 }), RangeError],
    ["find unknown option", () => F(shm, { limit: 1 }), TypeError],
  );
  for (const [label, fn, type] of cases) {
    await t.step(label, () => {
      const e = thrown(fn);
      assert.ok(e instanceof type, `${label}: got ${e}`);
    });
  }
});

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
  printableName,
  removeIpcObject,
  RingChannel,
  SharedMemory,
  SharedMutex,
  staleIpcObjects,
  SysVSharedMemory,
  UnixListener,
} from "../mod.ts";
import {
  firstLine,
  hasCommand,
  HAVE_MQUEUE_FS,
  HAVE_PYTHON,
  ipcTest,
  python,
  ROOT,
  run,
  runOk,
  skipIf,
  thrown,
  uniqueName,
} from "./_helpers.ts";

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

// ---- hostile names, files and listings (anyone can write into /dev/shm) -------------------

/** What a terminal could obey: C0 and C1 controls, DEL, the right-to-left override. */
const controls = (s: string, newlines: boolean): boolean =>
  [...s].some((ch) => {
    const c = ch.codePointAt(0) ?? 0;
    return (c < 0x20 && (newlines || c !== 0x0a)) || (c >= 0x7f && c <= 0x9f) || c === 0x202e;
  });
const CONTROL = { test: (s: string): boolean => controls(s, true) };
const CONTROL_BUT_NEWLINE = { test: (s: string): boolean => controls(s, false) };

/** Makes a file in /dev/shm whose name is `tail` after a unique prefix, as exact bytes. */
async function hostileFile(tail: number[]): Promise<{ hex: string; remove: () => Promise<void> }> {
  const prefix = new TextEncoder().encode(`dipc-test-hostile-${crypto.randomUUID()}-`);
  const bytes = [...prefix, ...tail];
  const hex = bytes.map((b) => b.toString(16).padStart(2, "0")).join("");
  await python(
    "import sys; open(b'/dev/shm/' + bytes.fromhex(sys.argv[1]), 'wb').write(b'x' * 64)",
    hex,
  );
  return {
    hex: `2f${hex}`, // the object's name: "/" and the bytes
    remove: () =>
      python(
        "import os, sys\ntry: os.unlink(b'/dev/shm/' + bytes.fromhex(sys.argv[1]))\n" +
          "except FileNotFoundError: pass",
        hex,
      ).then(() => {}),
  };
}

ipcTest(
  "hostile names in /dev/shm: listed however named, shown escaped, removed by their bytes",
  async (t) => {
    if (await skipIf(t, !HAVE_PYTHON && "python3")) return;
    const ESC = 0x1b;
    const made: Array<{ hex: string; remove: () => Promise<void> }> = [];
    try {
      for (
        const tail of [
          [ESC, ...new TextEncoder().encode("[31mred"), ESC, 0x5b, 0x30, 0x6d],
          [...new TextEncoder().encode("a"), 0x0a, ...new TextEncoder().encode("shm -forged")],
          [0xff, 0xfe, 0x41], // not UTF-8
          [0xc2, 0x9b, 0x32, 0x4a], // U+009B: CSI on some terminals
          [0xe2, 0x80, 0xae, 0x41], // U+202E: right-to-left override
        ]
      ) made.push(await hostileFile(tail));
      const mine = listIpcObjects({ kinds: ["shm"] }).objects.filter((o) =>
        made.some((m) =>
          o.nameHex === m.hex ||
          (o.nameHex === undefined && toHex(new TextEncoder().encode(o.name ?? "")) === m.hex)
        )
      );
      assert.equal(mine.length, made.length, "every one is listed");
      const odd = mine.find((o) => o.nameHex !== undefined);
      assert.ok(odd, "the name that is not UTF-8 has its bytes in nameHex");
      assert.match(printableName(odd), /\\xff\\xfeA$/);
      for (const o of mine) {
        const shown = `${describeObject(o)} ${printableName(o)}`;
        assert.ok(!CONTROL.test(shown), `escaped: ${JSON.stringify(shown)}`);
      }
      // The command: one row each, nothing raw on the terminal, JSON exact.
      const r = await run(Deno.execPath(), [
        "run",
        "--quiet",
        "--allow-ffi",
        "--allow-env",
        "--allow-run",
        `${ROOT}cli/dipc.ts`,
        "ls",
        "--kind",
        "shm",
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!CONTROL_BUT_NEWLINE.test(r.stdout), "no control character");
      const rows = r.stdout.split("\n").filter((l) => l.includes("dipc-test-hostile-"));
      const ours = rows.filter((l) => made.some((m) => l.includes(hexPrefixId(m.hex))));
      assert.equal(ours.length, made.length, `one row each:\n${rows.join("\n")}`);
      assert.ok(!r.stdout.split("\n").some((l) => l.startsWith("shm -forged")), "no forged row");
      const j = await run(Deno.execPath(), [
        "run",
        "--quiet",
        "--allow-ffi",
        "--allow-env",
        "--allow-run",
        `${ROOT}cli/dipc.ts`,
        "ls",
        "--kind",
        "shm",
        "--json",
      ]);
      assert.ok(!/[\x7f-\x9f\u202e]/.test(j.stdout), "JSON escapes what a terminal obeys");
      const listed = JSON.parse(j.stdout).objects as Array<{ name: string; nameHex?: string }>;
      for (const m of made) {
        assert.ok(
          listed.some((o) =>
            o.nameHex === m.hex || toHex(new TextEncoder().encode(o.name)) === m.hex
          ),
          `JSON keeps ${m.hex} exactly`,
        );
      }
      // Removal, by the exact bytes, of every one (a JSON round trip of the listing will do).
      for (const o of mine) removeIpcObject(JSON.parse(JSON.stringify(o)));
      const left = listIpcObjects({ kinds: ["shm"] }).objects.filter((o) =>
        made.some((m) => o.nameHex === m.hex)
      );
      assert.equal(left.length, 0);
    } finally {
      for (const m of made) await m.remove();
    }
  },
);

/** The uuid part of a hostile file's hex name, as it shows (plain ASCII) in a listing. */
function hexPrefixId(hex: string): string {
  const text = new TextDecoder().decode(fromHexForTest(hex));
  return /hostile-([0-9a-f-]{36})-/.exec(text)?.[1] ?? "?";
}

function fromHexForTest(hex: string): Uint8Array {
  return new Uint8Array((hex.match(/../g) ?? []).map((h) => parseInt(h, 16)));
}

function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

ipcTest("a FIFO, a symlink and a directory in /dev/shm are noted, not skipped", () => {
  const base = `/dev/shm/dipc-test-odd-${crypto.randomUUID()}`;
  try {
    mkfifo(`${base}-fifo`);
    Deno.symlinkSync("/etc/passwd", `${base}-link`);
    Deno.mkdirSync(`${base}-dir`);
    const { notes } = listIpcObjects({ kinds: ["shm"] });
    for (
      const [suffix, what] of [
        ["fifo", "a FIFO"],
        ["link", "a symbolic link"],
        ["dir", "a directory"],
      ] as const
    ) {
      assert.ok(
        notes.some((n) => n.includes(`${base}-${suffix}`) && n.includes(what)),
        `${suffix} noted: ${notes.join("\n")}`,
      );
    }
  } finally {
    for (const s of ["fifo", "link", "dir"]) {
      try {
        Deno.removeSync(`${base}-${s}`);
      } catch {
        // not made
      }
    }
  }
});

const HAVE_UNSHARE = Deno.uid() === 0 && hasCommand("unshare");

ipcTest(
  "a sparse object on a full /dev/shm is listed, not read through a mapping (no SIGBUS)",
  async (t) => {
    if (await skipIf(t, !HAVE_UNSHARE && "needs root and unshare (a private /dev/shm)")) return;
    // In a mount namespace of its own: a 1 MiB tmpfs on /dev/shm, a 256 KiB object sized by
    // ftruncate alone (all holes, as most programs make them), then the rest filled up.
    const script = [
      "set -e",
      "mount -t tmpfs -o size=1m none /dev/shm",
      "truncate -s 262144 /dev/shm/sparse",
      "dd if=/dev/zero of=/dev/shm/fill bs=64k 2>/dev/null || true",
      `exec "${Deno.execPath()}" run --quiet --allow-ffi "${ROOT}tests/fixtures/inventory_list.ts"`,
    ].join("\n");
    const r = await run("unshare", ["--mount", "--propagation", "private", "sh", "-c", script]);
    assert.equal(r.code, 0, `the listing survived: ${r.stderr}`);
    const { names } = JSON.parse(r.stdout) as { names: string[] };
    assert.ok(names.includes("/sparse") && names.includes("/fill"), r.stdout);
  },
);

ipcTest(
  "POSIX queues without /dev/mqueue: found by name, and the command makes, uses and removes them",
  async (t) => {
    if (await skipIf(t, !HAVE_UNSHARE && "needs root and unshare (a private mount table)")) return;
    const name = uniqueName("nomq");
    const dipc =
      `"${Deno.execPath()}" run --quiet --allow-ffi --allow-env --allow-run "${ROOT}cli/dipc.ts"`;
    const script = [
      "set -e",
      "umount /dev/mqueue 2>/dev/null || true",
      "! grep -qs ' /dev/mqueue mqueue ' /proc/mounts",
      `${dipc} mk mq ${name} --max-messages 2 --message-size 64`,
      `${dipc} send ${name} hello`,
      `${dipc} stat ${name} --json`,
      `${dipc} recv ${name} --count 1`,
      `${dipc} rm ${name} --yes`,
      `"${Deno.execPath()}" run --quiet --allow-ffi "${ROOT}tests/fixtures/inventory_list.ts" ${name}`,
    ].join("\n");
    try {
      const r = await run("unshare", ["--mount", "--propagation", "private", "sh", "-c", script]);
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /"kind": "mq"/);
      assert.match(r.stdout, /^hello$/m);
      assert.match(r.stdout, /^removed mq /m);
      const last = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}");
      assert.ok(!last.names.includes(name), "gone after rm");
      assert.ok(last.notes.some((n: string) => n.includes("/dev/mqueue is not mounted")));
    } finally {
      try {
        MessageQueue.unlink(name);
      } catch {
        // removed by the command
      }
    }
  },
);

ipcTest(
  "a socket file bound by a relative path is not stale, and rm --stale keeps it",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "dipc-test-inv-rel-" });
    const link = `${dir}-link`;
    await Deno.symlink(dir, link);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--quiet", "--allow-ffi", `${ROOT}tests/fixtures/listen_waits.ts`, "rel.sock"],
      cwd: dir,
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    try {
      assert.equal(await firstLine(child), "listening");
      for (const d of [dir, link]) {
        const objs = listIpcObjects({ dirs: [d], kinds: ["socket"] }).objects;
        assert.ok(
          !objs.some((o) => o.stale && o.name?.endsWith("rel.sock")),
          `not stale under ${d}`,
        );
        assert.ok(
          !staleIpcObjects({ dirs: [d], kinds: ["socket"] }).some((o) =>
            o.name?.endsWith("rel.sock")
          ),
        );
      }
      // Even a listing that claims it is stale does not get it removed.
      const forged = {
        kind: "socket" as const,
        name: `${link}/rel.sock`,
        key: null,
        id: null,
        uid: Deno.uid() ?? 0,
        owner: "",
        creatorUid: null,
        mode: 0o600,
        size: null,
        count: null,
        creator: null,
        users: 0,
        lastUse: null,
        stale: true,
      };
      assert.throws(
        () => removeIpcObject(forged),
        (e) => e instanceof ErrnoError && e.code === "EBUSY",
      );
      assert.ok(Deno.lstatSync(`${dir}/rel.sock`).isSocket, "still there");
    } finally {
      child.kill("SIGKILL");
      await child.status;
      await child.stdout.cancel().catch(() => {});
      await Deno.remove(link);
      await Deno.remove(dir, { recursive: true });
    }
  },
);

ipcTest("removeIpcObject checks the owner of what is there now, not of the listing", async (t) => {
  if (await skipIf(t, Deno.uid() !== 0 && "needs root (to give an object away)")) return;
  using shm = SharedMemory.temporary({ size: 64 });
  const listed = listIpcObjects({ kinds: ["shm"] }).objects.find((o) => o.name === shm.name);
  assert.ok(listed && listed.uid === 0);
  // The name changes hands after it was listed (or is made again by another user).
  await runOk("chown", ["65534:65534", `/dev/shm${shm.name}`]);
  assert.throws(() => removeIpcObject(listed, { force: true }), ForeignOwnerError);
  assert.ok(Deno.lstatSync(`/dev/shm${shm.name}`).isFile, "not removed");
  // A listing that claims another uid is no way round it either.
  assert.throws(() => removeIpcObject({ ...listed, uid: 65534 }), ForeignOwnerError);
});

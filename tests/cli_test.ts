// The dipc command, run for real as a subprocess against objects made by ipcmk, Python, C and
// dipc itself: ls agrees with ipcs, --json matches stat, rm --stale removes exactly the stale
// objects, send/recv talk to a C peer, bad input exits 2 or 1 with one line, the completion
// scripts load. Every object a test makes, it removes; it never removes another's.
import assert from "node:assert/strict";
import { RingChannel, SysVSharedMemory, UnixListener } from "../mod.ts";
import {
  compileTestC,
  firstLine,
  hasCommand,
  HAVE_GCC,
  HAVE_SYSV_IPC,
  ipcTest,
  PYTHON,
  ROOT,
  run,
  runOk,
  type RunResult,
  serveRepository,
  skipIf,
  uniqueName,
  within,
} from "./_helpers.ts";

const CLI = `${ROOT}cli/dipc.ts`;
const ARGS = ["run", "--quiet", "--allow-ffi", "--allow-env", "--allow-run", CLI];

/** Runs `dipc ARGS`. */
function dipc(
  args: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  return run(Deno.execPath(), [...ARGS, ...args], { boundMs: 60_000, ...options });
}

/** Runs `dipc ARGS` and expects exit code 0; returns its stdout. */
async function dipcOk(args: string[], options: { stdin?: string } = {}): Promise<string> {
  const r = await dipc(args, options);
  assert.equal(r.code, 0, `dipc ${args.join(" ")} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

interface Listed {
  kind: string;
  name: string | null;
  key: number | null;
  id: number | null;
  owner: string;
  uid: number;
  mode: number;
  size: number | null;
  count: number | null;
  users: number | null;
  stale: boolean;
  creator: { pid: number; alive: boolean } | null;
  ring?: { senders: Array<{ pid: number; alive: boolean }> };
}

async function lsJson(...extra: string[]): Promise<Listed[]> {
  const doc = JSON.parse(await dipcOk(["ls", "--json", ...extra]));
  assert.equal(doc.schema, 1);
  assert.ok(Array.isArray(doc.objects) && Array.isArray(doc.notes));
  return doc.objects;
}

ipcTest(
  "ls --output, --noheadings, and wide names: aligned by display columns, cut visibly",
  async () => {
    const { displayWidth } = await import("../cli/_table.ts");
    // A CJK name (two columns a character), a combining accent (none), and a long plain one.
    const names = [
      uniqueName("cli-宽字符名"),
      uniqueName("cli-e\u0301\u0301"),
      uniqueName("cli-long-long-long-long-long"),
    ];
    try {
      for (const n of names) await dipcOk(["mk", "shm", n, "--size", "4K"]);
      const rows = (await dipcOk(["ls", "-o", "name,size,mode", "-n", "--kind", "shm"])).split(
        "\n",
      );
      assert.ok(!rows.some((r) => r.startsWith("NAME")), "no header with --noheadings");
      const mine = names.map((n) => rows.find((r) => r.startsWith(`${n} `)));
      for (const [i, r] of mine.entries()) assert.ok(r, `listed ${names[i]}:\n${rows.join("\n")}`);
      // The SIZE column starts at the same display column on every row.
      const at = mine.map((r) => displayWidth((r ?? "").slice(0, (r ?? "").indexOf("4 KiB"))));
      assert.equal(new Set(at).size, 1, `aligned: ${at.join(", ")}\n${mine.join("\n")}`);
      // -o ref: what the commands take; one a line, nothing else (what completions read).
      const refs = (await dipcOk(["ls", "-n", "-o", "ref", "--kind", "shm"])).trim().split("\n");
      for (const n of names) assert.ok(refs.includes(n), `${n} in ${refs.join(" ")}`);
      // Too wide for the terminal: names are shortened with an ellipsis, unless --notruncate.
      const narrow = await dipc(["ls", "-o", "name,size", "--kind", "shm"], {
        env: { COLUMNS: "40" },
      });
      assert.equal(narrow.code, 0, narrow.stderr);
      const cut = narrow.stdout.split("\n").filter((l) => l.startsWith("/dipc-test-cli-"));
      assert.ok(cut.length >= names.length, narrow.stdout);
      for (const l of cut) {
        assert.ok(displayWidth(l) <= 40, `fits 40 columns: ${l}`);
        assert.match(l, /… +4 KiB$/, l);
      }
      const full = await dipc(["ls", "-o", "name,size", "--notruncate", "--kind", "shm"], {
        env: { COLUMNS: "40" },
      });
      for (const n of names) assert.ok(full.stdout.includes(`${n} `), full.stdout);
      const bad = await dipc(["ls", "-o", "name,bogus"]);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /^dipc: unknown column "bogus"/);
    } finally {
      for (const n of names) await dipc(["rm", n, "--yes"]);
    }
  },
);

ipcTest("mk and rm speak JSON; rm is all or nothing unless --keep-going (as ipcrm)", async () => {
  const a = uniqueName("cli-all");
  const b = uniqueName("cli-all");
  const missing = uniqueName("cli-missing");
  try {
    const made = JSON.parse(await dipcOk(["mk", "shm", a, "--size", "1M", "--json"]));
    assert.equal(made.schema, 1);
    assert.deepEqual(made.made, { kind: "shm", name: a, key: null, id: null, mode: 0o600 });
    assert.equal(made.object.size, 1024 * 1024, "1M is 1 MiB, as ipcmk reads it");
    await dipcOk(["mk", "mq", b, "--max-messages", "2", "--message-size", "1K"]);
    assert.equal(
      (await lsJson("--kind", "mq")).find((o) => o.name === b)?.size !== undefined,
      true,
    );
    // One unknown name: nothing removed, exit 1, the unknown one named.
    const all = await dipc(["rm", a, b, missing, "--yes"]);
    assert.equal(all.code, 1, all.stderr);
    assert.ok(all.stderr.includes(missing), all.stderr);
    const still = await lsJson("--kind", "shm,mq");
    assert.ok(still.some((o) => o.name === a) && still.some((o) => o.name === b), "both kept");
    // --keep-going: what is there goes, the rest is reported (JSON too), exit 1.
    const some = await dipc(["rm", a, missing, b, "--yes", "--keep-going", "--json"]);
    assert.equal(some.code, 1, some.stderr);
    const doc = JSON.parse(some.stdout);
    assert.equal(doc.schema, 1);
    assert.deepEqual(doc.removed.map((o: Listed) => o.name).sort(), [a, b].sort());
    assert.deepEqual(doc.failed.map((f: { ref: string }) => f.ref), [missing]);
    const gone = await lsJson("--kind", "shm,mq");
    assert.ok(!gone.some((o) => o.name === a || o.name === b), "both removed");
    // A dry run in JSON says what would go and removes nothing.
    await dipcOk(["mk", "shm", a, "--size", "4096"]);
    const dry = JSON.parse(await dipcOk(["rm", a, "--dry-run", "--json"]));
    assert.equal(dry.dryRun, true);
    assert.deepEqual(dry.wouldRemove.map((o: Listed) => o.name), [a]);
    assert.ok((await lsJson("--kind", "shm")).some((o) => o.name === a), "dry run kept it");
  } finally {
    await dipc(["rm", a, b, "--yes", "--keep-going"]);
  }
});

ipcTest("stat shows each semaphore of a System V set, as ipcs -s -i does", async (t) => {
  if (await skipIf(t, !hasCommand("ipcs") && "ipcs not found")) return;
  const made = JSON.parse(
    await dipcOk(["mk", "sysv-sem", "--nsems", "3", "--value", "2", "--json"]),
  );
  const id = made.made.id as number;
  try {
    const st = JSON.parse(await dipcOk(["stat", `id:${id}`, "--json"]));
    const sems = st.semaphores as Array<{ index: number; value: number; pid: number }>;
    assert.deepEqual(sems.map((s) => s.value), [2, 2, 2]);
    // ipcs -s -i: "semnum value ncount zcount pid" rows.
    const rows = (await runOk("ipcs", ["-s", "-i", String(id)])).split("\n")
      .map((l) => l.trim().split(/\s+/)).filter((c) => c.length === 5 && /^\d+$/.test(c[0] ?? ""));
    assert.equal(rows.length, 3, "ipcs lists three");
    for (const [i, c] of rows.entries()) {
      assert.equal(Number(c[1]), sems[i]?.value, `value of ${i}`);
      assert.equal(Number(c[4]), sems[i]?.pid, `pid of ${i}`);
    }
    const plain = await dipcOk(["stat", `id:${id}`]);
    assert.match(plain, /SEMNUM +VALUE +NCOUNT +ZCOUNT +PID\n0 +2 +0 +0 +\d+/);
  } finally {
    await run("ipcrm", ["-s", String(id)]);
  }
});

ipcTest("limits agrees with ipcs -l and counts what is in use", async (t) => {
  if (await skipIf(t, !hasCommand("ipcs") && "ipcs not found")) return;
  const made = JSON.parse(await dipcOk(["mk", "sysv-mq", "--json"]));
  try {
    const doc = JSON.parse(await dipcOk(["limits", "--json"]));
    const row = (r: string): { limit: number | null; used: number | null } =>
      doc.limits.find((x: { resource: string }) => x.resource === r);
    const ipcs = await runOk("ipcs", ["-l"]);
    const said = (label: string): number =>
      Number(new RegExp(`${label} = (\\d+)`).exec(ipcs)?.[1] ?? NaN);
    assert.equal(row("MSGMNI").limit, said("max queues system wide"));
    assert.equal(row("MSGMAX").limit, said("max size of message \\(bytes\\)"));
    assert.equal(row("SHMMNI").limit, said("max number of segments"));
    assert.equal(row("SEMMNI").limit, said("max number of arrays"));
    assert.equal(row("SEMMSL").limit, said("max semaphores per array"));
    assert.equal(row("SEMOPM").limit, said("max ops per semop call"));
    assert.ok((row("MSGMNI").used ?? 0) >= 1, "the queue just made is counted");
    const plain = await dipcOk(["limits"]);
    assert.match(plain, /^RESOURCE +DESCRIPTION +LIMIT +USED +USE%/);
  } finally {
    await run("ipcrm", ["-q", String(made.made.id)]);
  }
});

/** `ipcs` rows of every System V object, keyed "kind id". */
async function ipcsAll(): Promise<Map<string, Record<string, string>>> {
  const rows = new Map<string, Record<string, string>>();
  const sections: Array<[string, string, string[]]> = [
    ["-m", "sysv-shm", ["key", "id", "owner", "perms", "bytes", "nattch"]],
    ["-q", "sysv-mq", ["key", "id", "owner", "perms", "bytes", "messages"]],
    ["-s", "sysv-sem", ["key", "id", "owner", "perms", "nsems"]],
  ];
  for (const [flag, kind, cols] of sections) {
    for (const line of (await runOk("ipcs", [flag])).split("\n")) {
      const c = line.trim().split(/\s+/);
      if (!c[0]?.startsWith("0x") || c.length < cols.length) continue;
      rows.set(`${kind} ${c[1]}`, Object.fromEntries(cols.map((k, i) => [k, c[i] ?? ""])));
    }
  }
  return rows;
}

async function ipcmk(flag: string[]): Promise<{ kind: string; id: number }> {
  const out = await runOk("ipcmk", flag);
  const id = Number(/id: (\d+)/.exec(out)?.[1]);
  const kind = flag[0] === "-M" ? "sysv-shm" : flag[0] === "-Q" ? "sysv-mq" : "sysv-sem";
  return { kind, id };
}

const ipcrmFlag: Record<string, string> = { "sysv-shm": "-m", "sysv-mq": "-q", "sysv-sem": "-s" };
async function ipcrm(made: Array<{ kind: string; id: number }>): Promise<void> {
  for (const m of made) await run("ipcrm", [ipcrmFlag[m.kind] ?? "-m", String(m.id)]);
}

const PY_SHM = `
import sysv_ipc, sys, time
m = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, size=4096, mode=0o600)
m.detach()
print(m.id, flush=True)
time.sleep(600)
`;

/** A Python process that creates a System V segment, detaches, prints its id and waits. */
async function pythonCreator(): Promise<{ child: Deno.ChildProcess; id: number }> {
  const child = new Deno.Command(PYTHON, { args: ["-c", PY_SHM], stdout: "piped" }).spawn();
  const id = Number(await firstLine(child));
  assert.ok(Number.isInteger(id) && id >= 0, `python printed an id, got ${id}`);
  return { child, id };
}

/** A fixture of tests/fixtures run as a Deno child with its stdout piped. */
function fixture(name: string, ...args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", "--allow-ffi", `${ROOT}tests/fixtures/${name}`, ...args],
    stdout: "piped",
  }).spawn();
}

async function killed(child: Deno.ChildProcess): Promise<void> {
  child.kill("SIGKILL");
  await within(30_000, "the killed child", child.status);
}

ipcTest("ls agrees with ipcs on every System V object (ipcmk, Python, dipc mk)", async (t) => {
  if (await skipIf(t, !hasCommand("ipcmk") && "ipcmk (util-linux)")) return;
  const made = [
    await ipcmk(["-M", "4096", "-p", "0640"]),
    await ipcmk(["-Q", "-p", "0600"]),
    await ipcmk(["-S", "2", "-p", "0644"]),
  ];
  let py: Deno.ChildProcess | undefined;
  try {
    if (HAVE_SYSV_IPC) {
      const p = await pythonCreator();
      py = p.child;
      made.push({ kind: "sysv-shm", id: p.id });
    }
    for (
      const [kind, extra] of [["sysv-shm", ["--size", "8192"]], ["sysv-sem", ["--nsems", "3"]]]
    ) {
      const out = await dipcOk(["mk", kind as string, ...(extra as string[])]);
      const m = /^key 0x[0-9a-f]{8} id:(\d+)$/.exec(out.trim());
      assert.ok(m, `mk prints the key and id, got ${out}`);
      made.push({ kind: kind as string, id: Number(m[1]) });
    }
    const before = await ipcsAll();
    const listed = await lsJson("--kind", "sysv-shm,sysv-mq,sysv-sem");
    const after = await ipcsAll();
    const byId = new Map(listed.map((o) => [`${o.kind} ${o.id}`, o]));
    // Every object ipcs showed before and after, unchanged, is listed with ipcs's figures.
    let compared = 0;
    for (const [k, row] of before) {
      if (JSON.stringify(after.get(k)) !== JSON.stringify(row)) continue; // changed meanwhile
      const o = byId.get(k);
      assert.ok(o, `ls lists ${k}`);
      assert.equal(`0x${(o.key ?? 0).toString(16).padStart(8, "0")}`, row.key, `${k} key`);
      assert.equal(o.mode, parseInt(row.perms ?? "", 8), `${k} perms`);
      assert.ok(o.owner.startsWith(row.owner ?? "?") || row.owner === String(o.uid), `${k} owner`);
      if (o.kind === "sysv-shm") {
        assert.equal(o.size, Number(row.bytes), `${k} bytes`);
        assert.equal(o.users, Number(row.nattch), `${k} nattch`);
      } else if (o.kind === "sysv-mq") {
        assert.equal(o.size, Number(row.bytes), `${k} used-bytes`);
        assert.equal(o.count, Number(row.messages), `${k} messages`);
      } else {
        assert.equal(o.count, Number(row.nsems), `${k} nsems`);
      }
      compared++;
    }
    // ls lists nothing ipcs never saw.
    for (const k of byId.keys()) assert.ok(before.has(k) || after.has(k), `ipcs knows ${k}`);
    for (const m of made) {
      assert.ok(before.has(`${m.kind} ${m.id}`), `ipcs shows ${m.kind} ${m.id}`);
    }
    assert.ok(compared >= made.length);
  } finally {
    if (py) await killed(py);
    await ipcrm(made);
  }
});

ipcTest("ls --json matches stat --json, for every kind dipc makes", async () => {
  const names = {
    shm: uniqueName("cli-shm"),
    ring: uniqueName("cli-ring"),
    mq: uniqueName("cli-mq"),
  };
  const dir = await Deno.makeTempDir({ prefix: "dipc-test-cli-" });
  const sysv: Array<{ kind: string; id: number }> = [];
  try {
    await dipcOk(["mk", "shm", names.shm, "--size", "65536", "--mode", "640"]);
    await dipcOk(["mk", "ring", names.ring, "--capacity", "4096"]);
    await dipcOk(["mk", "mq", names.mq, "--max-messages", "5", "--message-size", "128"]);
    await dipcOk(["mk", "fifo", `${dir}/f`]);
    const id = Number(/id:(\d+)/.exec(await dipcOk(["mk", "sysv-mq"]))?.[1]);
    sysv.push({ kind: "sysv-mq", id });
    await dipcOk(["send", names.mq, "one", "two"]);
    const listed = await lsJson("--dir", dir);
    for (
      const [ref, kind] of [
        [names.shm, "shm"],
        [names.ring, "ring"],
        [names.mq, "mq"],
        [`${dir}/f`, "fifo"],
        [`id:${id}`, "sysv-mq"],
      ] as const
    ) {
      const fromLs = listed.find((o) =>
        o.kind === kind && (kind === "sysv-mq" ? o.id === id : o.name === ref)
      );
      assert.ok(fromLs, `ls lists ${kind} ${ref}`);
      const st = JSON.parse(await dipcOk(["stat", ref, "--json"]));
      assert.deepEqual(st.object, fromLs, `${ref}: stat says what ls says`);
      if (kind === "sysv-mq") assert.equal(st.ipcStat.messages ?? st.ipcStat.count ?? 0, 0);
    }
    const shm = listed.find((o) => o.name === names.shm);
    assert.equal(shm?.mode, 0o640);
    assert.equal(shm?.size, 65536);
    assert.equal(listed.find((o) => o.name === names.mq)?.count, 2);
    assert.equal(listed.find((o) => o.name === names.ring)?.size, 4096);
    // Piped output is plain text: a header and no escape codes.
    const plain = await dipcOk(["ls", "--kind", "shm,ring,mq"]);
    assert.match(plain, /^KIND +NAME +OWNER +MODE/);
    assert.ok(!plain.includes("\x1b"), "no colour when piped");
    assert.match(plain, new RegExp(`ring +${names.ring} +\\S+ +0600 +4 KiB +0% `));
    assert.match(plain, new RegExp(`mq +${names.mq} +\\S+ +0600 +2 msgs, 6 B +40% `));
  } finally {
    for (const n of Object.values(names)) await dipc(["rm", n, "--yes", "--force"]);
    await ipcrm(sysv);
    await Deno.remove(dir, { recursive: true });
  }
});

ipcTest(
  "rm --stale removes exactly the objects whose creator is dead and nobody uses",
  async (t) => {
    if (await skipIf(t, !HAVE_SYSV_IPC && "Python's sysv_ipc")) return;
    const dir = await Deno.makeTempDir({ prefix: "dipc-test-cli-" });
    const children: Deno.ChildProcess[] = [];
    const sysv: Array<{ kind: string; id: number }> = [];
    const rings = [uniqueName("cli-dead-ring"), uniqueName("cli-live-ring")];
    let attached: SysVSharedMemory | undefined;
    let liveRing: RingChannel | undefined;
    let liveListener: UnixListener | undefined;
    try {
      // Segments: creator killed (stale); creator alive (kept); creator killed, still attached.
      const dead = await pythonCreator();
      const alive = await pythonCreator();
      const deadAttached = await pythonCreator();
      children.push(alive.child);
      sysv.push(
        { kind: "sysv-shm", id: dead.id },
        { kind: "sysv-shm", id: alive.id },
        { kind: "sysv-shm", id: deadAttached.id },
      );
      attached = SysVSharedMemory.openId(deadAttached.id);
      await killed(dead.child);
      await killed(deadAttached.child);
      // Rings: a sender killed (stale); a live receiver here (kept).
      RingChannel.create(rings[0] as string, { capacity: 4096 }).close();
      liveRing = RingChannel.create(rings[1] as string, { capacity: 4096 });
      const rx = liveRing.receiver();
      void rx;
      const sender = fixture("ring_sender_waits.ts", rings[0] as string);
      assert.equal(await firstLine(sender), "attached");
      await killed(sender);
      // Socket files: the listener killed (stale); a live listener (kept).
      const listener = fixture("listen_waits.ts", `${dir}/dead.sock`);
      assert.equal(await firstLine(listener), "listening");
      await killed(listener);
      liveListener = UnixListener.listen(`${dir}/live.sock`);

      // Provably abandoned: the ring and the socket file. The segment whose creator died is an
      // orphan: System V objects are made to outlive their creators.
      const stale = [rings[0] as string, `${dir}/dead.sock`];
      const kept = [
        `id:${dead.id}`,
        `id:${alive.id}`,
        `id:${deadAttached.id}`,
        rings[1] as string,
        `${dir}/live.sock`,
      ];
      // The machine-wide dry run names every one of ours that is stale, and none that is not.
      const dry = await dipcOk(["rm", "--stale", "--dry-run", "--dir", dir]);
      for (const s of [`ring ${rings[0]}`, `socket ${dir}/dead.sock`]) {
        assert.ok(dry.includes(`would remove ${s}`), `dry run names ${s}:\n${dry}`);
      }
      for (
        const k of [`id ${dead.id} `, `id ${alive.id} `, `id ${deadAttached.id} `, `${rings[1]}`]
      ) {
        assert.ok(!dry.includes(k), `dry run leaves ${k} alone:\n${dry}`);
      }
      assert.ok(!dry.includes("live.sock"), "dry run leaves the live socket alone");
      // With --include-orphans the orphan is named too, and still none in use.
      const dryOrphans = await dipcOk(["rm", "--stale", "--include-orphans", "--dry-run"]);
      assert.ok(dryOrphans.includes(`would remove sysv-shm id ${dead.id} `), dryOrphans);
      assert.ok(
        !dryOrphans.includes(`id ${alive.id} `) && !dryOrphans.includes(`id ${deadAttached.id} `),
      );
      // Removing by name with --stale takes exactly the stale ones.
      const out = await dipcOk(["rm", "--stale", "--yes", ...stale, ...kept]);
      assert.equal((out.match(/^removed /gm) ?? []).length, 2, out);
      assert.equal((out.match(/: not stale/gm) ?? []).length, 5, out);
      assert.match(out, /not stale \(an orphan: --include-orphans\)/);
      const orphaned = await dipcOk([
        "rm",
        "--stale",
        "--include-orphans",
        "--yes",
        `id:${dead.id}`,
      ]);
      assert.match(orphaned, /^removed sysv-shm id /m);
      const after = await lsJson("--dir", dir);
      const has = (kind: string, test: (o: Listed) => boolean): boolean =>
        after.some((o) => o.kind === kind && test(o));
      assert.ok(!has("sysv-shm", (o) => o.id === dead.id));
      assert.ok(has("sysv-shm", (o) => o.id === alive.id));
      assert.ok(has("sysv-shm", (o) => o.id === deadAttached.id));
      assert.ok(!has("ring", (o) => o.name === rings[0]));
      assert.ok(has("ring", (o) => o.name === rings[1]));
      assert.ok(!has("socket", (o) => o.name === `${dir}/dead.sock`));
      assert.ok(has("socket", (o) => o.name === `${dir}/live.sock`));
    } finally {
      attached?.close();
      liveRing?.close();
      liveListener?.close();
      for (const c of children) await killed(c);
      await ipcrm(sysv);
      for (const r of rings) await dipc(["rm", r, "--yes", "--force"]);
      await Deno.remove(dir, { recursive: true });
    }
  },
);

ipcTest(
  "rm --stale never removes a segment ipcmk made, nor staleIpcObjects() list it",
  async (t) => {
    if (await skipIf(t, !hasCommand("ipcmk") && "ipcmk not found")) return;
    const made = await runOk("ipcmk", ["-M", "4096"]);
    const id = Number(/(\d+)\s*$/.exec(made.trim())?.[1]);
    assert.ok(Number.isSafeInteger(id), made);
    try {
      // ipcmk has exited and nothing is attached: an orphan, not stale.
      const row = (await lsJson("--kind", "sysv-shm")).find((o) => o.id === id);
      assert.ok(row, "listed");
      assert.equal(row.stale, false);
      assert.equal((row as Listed & { orphan?: boolean }).orphan, true);
      const dry = await dipcOk(["rm", "--stale", "--dry-run", "--kind", "sysv-shm"]);
      assert.ok(!dry.includes(`id ${id} `), dry);
      await dipcOk(["rm", "--stale", "--yes", "--kind", "sysv-shm"]);
      assert.ok(
        (await runOk("ipcs", ["-m", "-i", String(id)])).includes(String(id)),
        "still there",
      );
      const { staleIpcObjects } = await import("../mod.ts");
      assert.ok(!staleIpcObjects({ kinds: ["sysv-shm"] }).some((o) => o.id === id));
      assert.ok(
        staleIpcObjects({ kinds: ["sysv-shm"], includeOrphans: true }).some((o) => o.id === id),
      );
    } finally {
      await run("ipcrm", ["-m", String(id)]);
    }
  },
);

ipcTest("send and recv with a C peer: POSIX and System V queues, FIFOs, pipes", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc")) return;
  const peer = await compileTestC("mq_peer");
  const name = uniqueName("cli-cq");
  let id = -1;
  const dir = await Deno.makeTempDir({ prefix: "dipc-test-cli-" });
  try {
    await dipcOk(["mk", "mq", name, "--max-messages", "4", "--message-size", "256"]);
    await dipcOk(["send", name, "hello", "world", "--priority", "4"]);
    assert.equal((await runOk(peer, ["pmq-recv", name, "2"])).trim(), "4 5 hello\n4 5 world");
    await runOk(peer, ["pmq-send", name, "7", "reply"]);
    assert.deepEqual(JSON.parse(await dipcOk(["recv", name, "--json"])), {
      text: "reply",
      priority: 7,
    });
    // Lines of standard input, each a message; JSON lines checked.
    await dipcOk(["send", name, "--json"], { stdin: '{"a":1}\n[2]\n' });
    assert.equal(await dipcOk(["recv", name, "--count", "2"]), '{"a":1}\n[2]\n');
    const bad = await dipc(["send", name, "--json"], { stdin: "{oops\n" });
    assert.equal(bad.code, 2);

    id = Number(/id:(\d+)/.exec(await dipcOk(["mk", "sysv-mq"]))?.[1]);
    await dipcOk(["send", `id:${id}`, "ping", "--type", "3"]);
    assert.equal((await runOk(peer, ["sysv-recv", String(id), "3", "1"])).trim(), "3 4 ping");
    await runOk(peer, ["sysv-send", String(id), "9", "pong"]);
    assert.deepEqual(JSON.parse(await dipcOk(["recv", `id:${id}`, "--type", "9", "--json"])), {
      text: "pong",
      type: 9,
    });

    // A FIFO: a shell writes lines, dipc reads them as messages.
    const fifo = `${dir}/f`;
    await dipcOk(["mk", "fifo", fifo]);
    const reading = dipc(["recv", fifo, "--count", "2", "--timeout", "30000"]);
    await runOk("sh", ["-c", `printf 'x\\ny\\n' > "${fifo}"`]);
    const got = await reading;
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout, "x\ny\n");
    // A pipe from the shell, as descriptor 0.
    const piped = await runOk("sh", [
      "-c",
      `printf 'a\\nb\\n' | "${Deno.execPath()}" ${
        ARGS.map((a) => `"${a}"`).join(" ")
      } recv fd:0 --count 2`,
    ]);
    assert.equal(piped, "a\nb\n");
  } finally {
    await dipc(["rm", name, "--yes", "--force"]);
    if (id >= 0) await run("ipcrm", ["-q", String(id)]);
    await Deno.remove(dir, { recursive: true });
  }
});

ipcTest("bad input: exit 2 for usage, 1 for failure, one line, no stack trace", async () => {
  const shm = uniqueName("cli-bad-shm");
  const mq = uniqueName("cli-bad-mq");
  let foreign: SysVSharedMemory | undefined;
  try {
    await dipcOk(["mk", "shm", shm, "--size", "4096"]);
    await dipcOk(["mk", "mq", mq, "--max-messages", "4", "--message-size", "256"]);
    const seg = foreign = SysVSharedMemory.create(0, { size: 4096 });
    seg.setPermissions({ uid: 65534 });
    const cases: Array<[string[], number]> = [
      [["frob"], 2],
      [["ls", "--kind", "nope"], 2],
      [["ls", "--sort", "sideways"], 2],
      [["ls", "--bogus"], 2],
      [["stat"], 2],
      [["stat", uniqueName("cli-none")], 1],
      [["stat", "id:abc"], 2],
      [["stat", "0xZZ"], 2],
      [["stat", "key:99999999999"], 2],
      [["stat", "relative-name"], 2],
      [["stat", shm, "--kind", "sysv-shm"], 1],
      [["mk", "shm", uniqueName("cli-x")], 2],
      [["mk", "shm", uniqueName("cli-x"), "--size", "12abc"], 2],
      [["mk", "shm", uniqueName("cli-x"), "--size", "1Q"], 2],
      [["ls", "--output", ""], 2],
      [["ls", "--sort", "colour"], 2],
      [["rm", uniqueName("cli-none"), "--keep-going"], 1],
      [["worker", "tasks.ts"], 2],
      [["nonsense"], 2],
      [["mk", "mq", uniqueName("cli-x"), "--mode", "999"], 2],
      [["mk", "bogus"], 2],
      [["mk", "socket", "/x"], 2],
      [["mk", "shm", shm, "--size", "4096"], 1],
      [["mk", "sysv-sem", "--nsems", "lots"], 2],
      [["recv", shm], 2],
      [["recv", mq, "--count", "x"], 2],
      [["recv", mq, "--timeout", "100"], 1],
      [["send", mq, "x", "--priority", "99999"], 2],
      [["send", `id:${seg.id}`, "x"], 2],
      [["rm"], 2],
      [["rm", `id:${seg.id}`, "--yes"], 1],
      [["completions", "tcsh"], 2],
      [["watch", "--interval", "abc"], 2],
      [["bench", "--reps", "many"], 2],
    ];
    for (const [args, code] of cases) {
      const r = await dipc(args);
      assert.equal(r.code, code, `dipc ${args.join(" ")}: exit ${r.code}, stderr ${r.stderr}`);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, `dipc ${args.join(" ")}: one line, got ${r.stderr}`);
      assert.match(lines[0] ?? "", /^dipc: \S/, `dipc ${args.join(" ")}`);
      assert.ok(!/\n\s+at /.test(r.stderr), `no stack trace: ${r.stderr}`);
    }
    // The foreign segment is still there, and so is everything else.
    assert.ok((await lsJson("--kind", "sysv-shm")).some((o) => o.id === seg.id));
  } finally {
    foreign?.remove();
    foreign?.close();
    await dipc(["rm", shm, mq, "--yes"]);
  }
});

ipcTest(
  "help for every command has an example; watch refreshes and ends; completions load",
  async (t) => {
    const help = await dipcOk(["--help"]);
    const commands = [...help.matchAll(/^ {2}(\w+) /gm)].map((m) => m[1] as string)
      .filter((c) => c !== "help");
    assert.ok(commands.length >= 10, help);
    for (const c of commands) {
      const h = await dipcOk(["help", c]);
      assert.match(h, /Example/, `dipc help ${c}`);
    }
    assert.match(help, /Exit codes: 0 success, 1 failure, 2 usage/);

    const watched = await dipcOk(["watch", "--count", "2", "--interval", "100", "--kind", "ring"]);
    assert.equal((watched.match(/^KIND +NAME/gm) ?? []).length, 2, watched);

    const bash = await dipcOk(["completions", "bash"]);
    const dir = await Deno.makeTempDir({ prefix: "dipc-test-cli-" });
    try {
      await Deno.writeTextFile(`${dir}/c.bash`, bash);
      const words = async (line: string): Promise<string> =>
        (await runOk("bash", [
          "-c",
          `source "${dir}/c.bash" && COMP_WORDS=(${line}) && COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )) && _dipc && echo "\${COMPREPLY[*]}"`,
        ])).trim();
      assert.equal(await words("dipc li"), "limits");
      assert.equal(await words("dipc l"), "ls limits");
      assert.match(await words("dipc ls --k"), /--kind/);
      assert.match(await words("dipc ls --kind ri"), /ring/);
      assert.match(await words("dipc mk sysv-s"), /sysv-shm sysv-sem/);
      // Only what the command accepts: mk makes no socket.
      assert.equal(await words("dipc mk so"), "");
      assert.equal(await words("dipc ls --sort si"), "size");
      assert.match(await words("dipc ls -o fi"), /fill/);
      // Object names, from dipc ls itself (the script runs the command it completes).
      const wrapper = `${dir}/dipc`;
      await Deno.writeTextFile(
        wrapper,
        `#!/bin/sh\nexec ${JSON.stringify(Deno.execPath())} ${
          ARGS.map((a) => JSON.stringify(a)).join(" ")
        } "$@"\n`,
      );
      await Deno.chmod(wrapper, 0o755);
      const q = uniqueName("cli-comp");
      const seg = uniqueName("cli-comp");
      await dipcOk(["mk", "mq", q, "--max-messages", "2", "--message-size", "64"]);
      await dipcOk(["mk", "shm", seg, "--size", "4K"]);
      try {
        const prefix = "/dipc-test-cli-comp-";
        const rmWords = (await words(`${wrapper} rm ${prefix}`)).split(" ");
        assert.ok(rmWords.includes(q) && rmWords.includes(seg), rmWords.join(" "));
        // send takes what carries messages: the queue, not the segment.
        const sendWords = (await words(`${wrapper} send ${prefix}`)).split(" ");
        assert.ok(sendWords.includes(q) && !sendWords.includes(seg), sendWords.join(" "));
        // A message argument after the object completes to nothing.
        assert.equal(await words(`${wrapper} send ${q} ${prefix}`), "");
      } finally {
        await dipc(["rm", q, seg, "--yes"]);
      }
      assert.match(
        await runOk("bash", ["-c", `source "${dir}/c.bash" && complete -p dipc`]),
        /_dipc/,
      );
      for (const shell of ["zsh", "fish"] as const) {
        const script = await dipcOk(["completions", shell]);
        assert.match(script, /ls/);
        if (await skipIf(t, !hasCommand(shell) && `${shell} (syntax check)`)) continue;
        await Deno.writeTextFile(`${dir}/c.${shell}`, script);
        await runOk(shell, ["-n", `${dir}/c.${shell}`]);
        if (shell === "fish") {
          const r = await run("fish", ["-c", `source ${dir}/c.fish; complete -C "dipc mk "`]);
          assert.equal(r.stderr, "", "fish takes every complete line");
          const offered = r.stdout.trim().split("\n").map((l) => l.split("\t")[0]);
          assert.ok(offered.includes("ring") && !offered.includes("socket"), offered.join(" "));
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

ipcTest("installs with deno install, from the repository and from a URL", async () => {
  const root = await Deno.makeTempDir({ prefix: "dipc-test-install-" });
  await using server = serveRepository();
  try {
    const perms = ["--allow-ffi", "--allow-env", "--allow-run"];
    for (
      const [name, from, extra] of [
        ["dipc-repo", CLI, []],
        ["dipc-url", `http://${server.host}/cli/dipc.ts`, [`--allow-import=${server.host}`]],
      ] as const
    ) {
      await runOk(Deno.execPath(), [
        "install",
        "--global",
        "--quiet",
        "--root",
        root,
        ...perms,
        ...extra,
        "--name",
        name,
        from,
      ]);
      const version = await runOk(`${root}/bin/${name}`, ["--version"]);
      assert.match(version, /^\d+\.\d+\.\d+$/m, name);
      const doc = JSON.parse(await runOk(`${root}/bin/${name}`, ["ls", "--json", "--kind", "shm"]));
      assert.equal(doc.schema, 1, name);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

ipcTest("Ctrl-C ends watch and recv --follow cleanly (exit 0)", async () => {
  const name = uniqueName("cli-int");
  try {
    await dipcOk(["mk", "mq", name, "--max-messages", "4", "--message-size", "256"]);
    for (const args of [["watch", "--interval", "100"], ["recv", name, "--follow"]]) {
      const child = new Deno.Command(Deno.execPath(), {
        args: [...ARGS, ...args],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      if (args[0] === "watch") {
        assert.match(await firstLine(child), /KIND|\d{4}-/, "watch printed its first table");
      } else {
        await dipcOk(["send", name, "first"]);
        assert.equal(await firstLine(child), "first");
      }
      child.kill("SIGINT");
      const status = await within(30_000, `dipc ${args[0]} after SIGINT`, child.status);
      const stderr = await new Response(child.stderr).text();
      assert.equal(status.code, 0, `dipc ${args.join(" ")}: ${stderr}`);
      assert.equal(stderr, "");
    }
  } finally {
    await dipc(["rm", name, "--yes"]);
  }
});

ipcTest("bench runs one transport at one size with progress; tour runs the examples", async (t) => {
  if (await skipIf(t, !HAVE_GCC && "gcc (the C baseline)")) return;
  const partial = [
    `${ROOT}bench/results/suite-partial.json`,
    `${ROOT}bench/results/suite-partial.svg`,
  ];
  try {
    const r = await dipc(["bench", "--transport", "dipc pipe", "--size", "4096", "--reps", "1"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\[#+\] (\d+)\/\1 /, "the progress bar reached the end");
    assert.match(r.stdout, /\| dipc pipe ÷ C `pipe` \| [\d,]+ \([\d.]+×\) \|/);
    assert.ok(!/ring channel|POSIX mq/.test(r.stdout), "only the transport asked for");
    const json = JSON.parse(await Deno.readTextFile(partial[0] as string));
    assert.deepEqual(json.sizes, [4096]);
  } finally {
    for (const f of partial) await Deno.remove(f).catch(() => {});
  }
  const tour = await dipc(["tour"]);
  assert.equal(tour.code, 0, tour.stderr.slice(-2000));
  assert.match(tour.stdout, /Tour complete\./);
});

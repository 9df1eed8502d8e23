// Every export of mod.ts called with generated arguments (tests/fixtures/fuzz_exports.ts), in a
// process of its own: it must exit normally within a bound, meet only dipc's documented errors
// (no engine TypeError from trusting an argument), and leave no IPC object behind.
import assert from "node:assert/strict";
import * as dipc from "../mod.ts";
import { ipcTest, ROOT, run, serveRepository, thrown, within } from "./_helpers.ts";
import { EXPORTS } from "../tools/doc_lint.ts";

for (const seed of [1, 2, 3]) {
  ipcTest(`every export survives generated arguments (seed ${seed})`, async () => {
    // In a directory of its own: a generated relative path ("x") makes a FIFO where it runs.
    const cwd = await Deno.makeTempDir({ prefix: "dipc-test-fuzz-" });
    const r = await within(
      120_000,
      "the fuzzer (a hang?)",
      run(Deno.execPath(), [
        "run",
        "--quiet",
        "--allow-all",
        `${ROOT}tests/fixtures/fuzz_exports.ts`,
        String(seed),
        "4",
      ], { cwd }),
    ).finally(() => Deno.remove(cwd, { recursive: true }));
    assert.equal(r.code, 0, `the fuzzer died: ${r.stderr.slice(-3000)}`);
    const report = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as {
      calls: number;
      errors: Record<string, number>;
      unexpected: string[];
    };
    assert.deepEqual(report.unexpected, [], JSON.stringify(report.errors));
    assert.ok(report.calls > 1000, `${report.calls} calls`);
    assert.ok((report.errors["TypeError"] ?? 0) > 0, "bad arguments were refused");
  });
}

Deno.test("the library loads no node: module (Node compatibility costs start-up)", async () => {
  // Loading Node compatibility costs every program that imports dipc start-up time (node:net
  // adds about 20 ms to an empty program here), and neither mod.ts nor the kernel waiters'
  // worker needs it. (An older note said a node: module broke robust mutexes' owner-death
  // reports; tests/pthread_mutex_test.ts shows it does not.)
  for (const root of ["mod.ts", "src/_kernel_waiter_worker.ts"]) {
    const r = await run(Deno.execPath(), ["info", "--json", `${ROOT}${root}`]);
    assert.equal(r.code, 0, r.stderr);
    const graph = JSON.parse(r.stdout) as { modules: { specifier: string }[] };
    const outside = graph.modules.map((m) => m.specifier).filter((s) => !s.startsWith("file:"));
    assert.deepEqual(outside, [], `${root} loads ${outside.join(", ")}`);
  }
});

ipcTest("one factory family: open opens, create is exclusive, unknown options are refused", () => {
  const name = (): string => `/dipc-test-fam-${crypto.randomUUID()}`;
  const posix: Array<[
    string,
    (n: string) => Disposable & { created: boolean; unlink(): void },
    (
      n: string,
      o?: Record<string, unknown>,
    ) => unknown,
    (n: string, o: Record<string, unknown>) => Disposable & { created: boolean },
  ]> = [
    [
      "SharedMemory",
      (n) => dipc.SharedMemory.create(n, { size: 64 }),
      (n, o) => dipc.SharedMemory.open(n, o),
      (n, o) => dipc.SharedMemory.create(n, { size: 64, ...o }),
    ],
    [
      "MessageQueue",
      (n) => dipc.MessageQueue.create(n, { maxMessages: 2, messageSize: 8 }),
      (n, o) => dipc.MessageQueue.open(n, o),
      (n, o) => dipc.MessageQueue.create(n, o),
    ],
    [
      "Semaphore",
      (n) => dipc.Semaphore.create(n, { value: 1 }),
      (n, o) => dipc.Semaphore.open(n, o),
      (n, o) => dipc.Semaphore.create(n, o),
    ],
    [
      "RingChannel",
      (n) => dipc.RingChannel.create(n, { capacity: 4096 }),
      (n, o) => dipc.RingChannel.open(n, o),
      (n, o) => dipc.RingChannel.create(n, { capacity: 4096, ...o }),
    ],
  ];
  for (const [kind, make, open, create] of posix) {
    const n = name();
    // deno-lint-ignore no-explicit-any
    const anyOpen = open as (n: string, o?: any) => unknown;
    for (const bad of [{ create: true }, { exclusive: true }, { mode: 0o600 }, { sizee: 1 }]) {
      const e = thrown(() => anyOpen(n, bad));
      assert.ok(e instanceof TypeError, `${kind}.open(${JSON.stringify(bad)}): ${e}`);
    }
    const gone = thrown(() => open(n));
    assert.ok(gone instanceof dipc.ErrnoError && gone.code === "ENOENT", `${kind}: ${gone}`);
    const first = make(n);
    try {
      assert.equal(first.created, true, kind);
      const again = thrown(() => make(n));
      assert.ok(again instanceof dipc.ErrnoError && again.code === "EEXIST", `${kind}: ${again}`);
      using shared = create(n, { exclusive: false });
      assert.equal(shared.created, false, `${kind}: exclusive: false opened the existing one`);
      const both = thrown(() => create(n, { allowForeignOwner: true }));
      assert.ok(both instanceof TypeError, `${kind}: allowForeignOwner needs exclusive: false`);
    } finally {
      first[Symbol.dispose]();
      first[Symbol.dispose](); // idempotent
      first.unlink(); // the name outlives the handle: unlink works after close
    }
  }
  const key = (): number => 0x5e000000 + Math.floor(Math.random() * 0xffffff);
  const sysv: Array<[string, (k: number) => Disposable & { created: boolean; remove(): void }]> = [
    ["SysVSharedMemory", (k) => dipc.SysVSharedMemory.create(k, { size: 64 })],
    ["SysVMessageQueue", (k) => dipc.SysVMessageQueue.create(k)],
    ["SysVSemaphoreSet", (k) => dipc.SysVSemaphoreSet.create(k, { count: 1 })],
  ];
  for (const [kind, make] of sysv) {
    const k = key();
    const first = make(k);
    try {
      const again = thrown(() => make(k));
      assert.ok(again instanceof dipc.ErrnoError && again.code === "EEXIST", `${kind}: ${again}`);
      // deno-lint-ignore no-explicit-any
      const K = (dipc as any)[kind];
      assert.ok(thrown(() => K.open(k, { create: true })) instanceof TypeError, kind);
      assert.ok(thrown(() => K.open(dipc.IPC_PRIVATE)) instanceof TypeError, kind);
      assert.equal((first as unknown as { key: number }).key, k >>> 0, `${kind}: key unsigned`);
    } finally {
      first[Symbol.dispose]();
      first.remove(); // works after close: using takes nothing away
      first.remove(); // a second time does nothing
    }
  }
});

ipcTest(
  "the README's import lines work: by name with subpaths, and by URL with --allow-import",
  async () => {
    const dir = await Deno.makeTempDir({ prefix: "dipc-test-import-" });
    await using server = serveRepository();
    try {
      const host = server.host;
      const program = (from: string, ring: string): string =>
        `import { WOULD_BLOCK } from "${from}";
      import { RingChannel } from "${ring}";
      using ch = RingChannel.temporary({ capacity: 4096 });
      using rx = ch.receiver();
      console.log(rx.tryReceive() === WOULD_BLOCK ? "imported and working" : "wrong");`;
      // By name: the user's deno.json links the clone, as the README says; the whole package and
      // one module by its entry point.
      await Deno.writeTextFile(
        `${dir}/deno.json`,
        JSON.stringify({ imports: { "@dipc/dipc": "jsr:@dipc/dipc@^0.1.0" }, links: [ROOT] }),
      );
      await Deno.writeTextFile(`${dir}/named.ts`, program("@dipc/dipc", "@dipc/dipc/ring"));
      const env = { DENO_DIR: `${dir}/cache`, NO_COLOR: "1" };
      const named = await run(
        Deno.execPath(),
        ["run", "--quiet", "--allow-ffi", `${dir}/named.ts`],
        {
          cwd: dir,
          env,
        },
      );
      assert.equal(named.stdout.trim(), "imported and working", named.stderr);
      // By URL: refused without --allow-import, working with it.
      await Deno.writeTextFile(
        `${dir}/url.ts`,
        program(`http://${host}/mod.ts`, `http://${host}/src/ring.ts`),
      );
      const args = ["run", "--quiet", "--no-prompt", "--no-config", "--allow-ffi"];
      const refused = await run(Deno.execPath(), [...args, `${dir}/url.ts`], { cwd: dir, env });
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /import/i, "the error says an import was refused");
      const allowed = await run(
        Deno.execPath(),
        [...args, `--allow-import=${host}`, `${dir}/url.ts`],
        { cwd: dir, env },
      );
      assert.equal(allowed.stdout.trim(), "imported and working", allowed.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("deno publish packs the library and its docs, nothing else", async () => {
  const r = await run(Deno.execPath(), ["publish", "--dry-run", "--allow-dirty"], {
    cwd: ROOT,
    env: { NO_COLOR: "1" },
  });
  const out = r.stdout + r.stderr;
  assert.match(out, /Dry run complete/, out);
  const files = [...out.matchAll(/file:\/\/(\S+) \(/g)].map((m) => m[1] ?? "");
  const packed = files.map((f) => f.startsWith(ROOT) ? f.slice(ROOT.length) : f);
  for (const must of ["mod.ts", "src/_kernel_waiter_worker.ts", "ffi/load.ts", "README.md"]) {
    assert.ok(packed.includes(must), `${must} is packed: ${packed.join(" ")}`);
  }
  // The examples ship (the README links them; example 38 starts a broker with the one tool
  // it imports); tests, benchmarks, the other tools and CI stay in the repository.
  const tools = new Set(["tools/nats_server.ts", "tools/_host.ts"]);
  const stray = packed.filter((f) => /^(tests|bench|tools|\.ci)\//.test(f) && !tools.has(f));
  assert.deepEqual(stray, [], "no tests, benchmarks or tools");
  assert.ok(packed.includes("examples/00_hello.ts") && packed.includes("examples/_child.ts"));
  // Every relative link of the README resolves to a file the package holds.
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1] ?? "")
    .filter((l) => !/^[a-z]+:/.test(l));
  assert.ok(links.length > 20, `${links.length} links`);
  const missing = links.filter((l) =>
    !packed.includes(l) && !packed.some((f) => f.startsWith(l.endsWith("/") ? l : `${l}/`))
  );
  assert.deepEqual(missing, [], "README links to files the package leaves out");
});

ipcTest(
  "after close (of the handle, or of what it came from), every async method is ClosedError",
  async () => {
    const r = await within(
      120_000,
      "the closed-handle fuzzer (a hang?)",
      run(Deno.execPath(), [
        "run",
        "--quiet",
        "--allow-all",
        `${ROOT}tests/fixtures/fuzz_closed.ts`,
      ]),
    );
    assert.equal(r.code, 0, `the fuzzer died: ${r.stderr.slice(-3000)}`);
    const report = JSON.parse(r.stdout.trim().split("\n").at(-1) ?? "{}") as {
      tried: number;
      bad: string[];
      left: string[];
    };
    assert.ok(report.tried > 100, `${report.tried} calls`);
    assert.deepEqual(report.bad, []);
    assert.deepEqual(report.left, [], "the fuzzer's rings are all gone from /dev/shm");
  },
);

Deno.test("every exported function and class of every entry point has an example", async () => {
  const files = EXPORTS.map((f) => `${ROOT}${f.slice(2)}`);
  const r = await run(Deno.execPath(), ["doc", "--json", ...files], { boundMs: 60_000 });
  assert.equal(r.code, 0, r.stderr);
  type Tag = { kind: string; doc?: string };
  type Doc = { kind: string; declarationKind?: string; jsDoc?: { tags?: Tag[] } };
  // An example runs as a doc test unless its fence says `ignore`.
  const runs = (t: Tag): boolean => t.kind === "example" && !/```\w*\s+ignore/.test(t.doc ?? "");
  const doc = JSON.parse(r.stdout) as {
    nodes: Record<string, { symbols: Array<{ name: string; declarations: Doc[] }> }>;
  };
  const checked = new Set<string>();
  const missing = new Set<string>();
  for (const { symbols } of Object.values(doc.nodes)) {
    for (const s of symbols) {
      for (const d of s.declarations) {
        if ((d.kind !== "function" && d.kind !== "class") || d.declarationKind !== "export") {
          continue;
        }
        checked.add(s.name);
        if (!(d.jsDoc?.tags ?? []).some(runs)) missing.add(s.name);
      }
    }
  }
  assert.ok(checked.size >= 60, `looked at ${checked.size} functions and classes`);
  console.log(`${checked.size} exported functions and classes, each with a runnable example`);
  assert.deepEqual([...missing].sort(), [], "each needs an @example that deno test --doc runs");
});

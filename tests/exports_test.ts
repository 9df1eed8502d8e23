// Every export of mod.ts called with generated arguments (tests/fixtures/fuzz_exports.ts), in a
// process of its own: it must exit normally within a bound, meet only dipc's documented errors
// (no engine TypeError from trusting an argument), and leave no IPC object behind.
import assert from "node:assert/strict";
import * as dipc from "../mod.ts";
import { ipcTest, ROOT, run, thrown, within } from "./_helpers.ts";

for (const seed of [1, 2, 3]) {
  ipcTest(`every export survives generated arguments (seed ${seed})`, async () => {
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
      ]),
    );
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

Deno.test("the library loads no node: module (one breaks robust mutex owner death)", async () => {
  // Measured on Deno 2.9.6: once any node: module is loaded in a process, the kernel no longer
  // marks the robust pthread mutexes that process held when it dies (waiters hang instead of
  // getting EOWNERDEAD). So neither mod.ts nor the kernel waiters' worker may pull one in.
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

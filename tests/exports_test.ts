// Every export of mod.ts called with generated arguments (tests/fixtures/fuzz_exports.ts), in a
// process of its own: it must exit normally within a bound, meet only dipc's documented errors
// (no engine TypeError from trusting an argument), and leave no IPC object behind.
import assert from "node:assert/strict";
import { ipcTest, ROOT, run, within } from "./_helpers.ts";

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

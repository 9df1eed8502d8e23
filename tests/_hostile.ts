// A hostile peer against dipc's structures in shared memory: tests/fixtures/hostile_victim.ts
// uses them in a process of its own while tests/c/scribbler.c writes garbage over every word.
// The victim must exit normally (no crash: a signal death fails the test), within a bound (no
// hang), having met only dipc's documented errors.
import assert from "node:assert/strict";
import { SharedMemory } from "../mod.ts";
import { compileTestC, ROOT, testRandom, within } from "./_helpers.ts";

/** What the victim reported. */
export interface HostileReport {
  ops: number;
  errors: Record<string, number>;
  unexpected: string[];
}

/**
 * Runs the victim in `mode` on fresh shared memory while the scribbler garbles its first
 * `bytes` bytes for `ms` ms; returns the victim's report after checking that it survived.
 */
export async function underAttack(
  mode: "ring-spsc" | "ring-mpsc" | "sync",
  bytes: number,
  ms: number,
): Promise<HostileReport> {
  const scribbler = await compileTestC("scribbler");
  using shm = SharedMemory.temporary({ size: 16384 });
  const victim = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-ffi",
      `${ROOT}tests/fixtures/hostile_victim.ts`,
      mode,
      shm.name,
      String(ms + 300),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(victim.stderr).text();
  const reader = victim.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const readAll = (async (): Promise<void> => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      out += value;
    }
  })();
  try {
    await within(
      20_000,
      `${mode} victim getting ready`,
      (async () => {
        while (!out.includes("ready\n")) await new Promise((r) => setTimeout(r, 5));
      })(),
    );
    const seed = String(1 + Math.floor(testRandom() * 2 ** 31));
    const attack = await within(
      ms + 20_000,
      "the scribbler",
      new Deno.Command(scribbler, { args: [shm.name, String(bytes), String(ms), seed] }).output(),
    );
    assert.ok(attack.success, new TextDecoder().decode(attack.stderr));
    const status = await within(30_000, `${mode} victim finishing (a hang?)`, victim.status);
    await readAll;
    assert.equal(status.signal, null, `the victim died of ${status.signal}: ${await stderr}`);
    assert.equal(status.code, 0, `victim failed: ${await stderr}`);
  } catch (e) {
    try {
      victim.kill("SIGKILL");
    } catch {
      // already gone
    }
    throw e;
  }
  const last = out.trim().split("\n").at(-1) ?? "";
  const report = JSON.parse(last) as HostileReport;
  assert.deepEqual(report.unexpected, [], "only dipc's documented errors may surface");
  assert.ok(report.ops > 0, "the victim did work under attack");
  return report;
}

/**
 * Spawn-to-exit latency: start `/bin/true` and wait until it has been reaped, with dipc's
 * `spawn` (posix_spawn, pidfd wait) against `Deno.Command` (the baseline).
 *
 * Run: deno bench -A bench/spawn_bench.ts
 *
 * @module
 */

import { spawn } from "../mod.ts";

Deno.bench({
  group: "spawn to exit",
  name: 'Deno.Command("true").output()',
  baseline: true,
  async fn(): Promise<void> {
    await new Deno.Command("true", { stdout: "null", stderr: "null" }).output();
  },
});

Deno.bench({
  group: "spawn to exit",
  name: 'dipc spawn("true").status',
  async fn(): Promise<void> {
    await spawn("true", { stdout: "null", stderr: "null" }).status;
  },
});

Deno.bench({
  group: "spawn to exit",
  name: 'dipc spawn("true"), clearEnv',
  async fn(): Promise<void> {
    await spawn("true", { stdout: "null", stderr: "null", clearEnv: true }).status;
  },
});

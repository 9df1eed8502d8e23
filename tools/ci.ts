/**
 * The whole check, as CI and the README run it: formatting, lint, type check, doc lint, the
 * test suite, the doc examples, and a final look at /dev/shm and `ipcs` to prove the run left
 * no IPC object behind (of the objects it made: another program's are not counted). Ends with
 * one line, `N passed, N failed`.
 *
 * Run: deno task ci
 *
 * @module
 */

import { ROOT } from "./examples.ts";
import { EXPORTS } from "./doc_lint.ts";
import { blockedIn, hasCommand } from "./_host.ts";
import { NATS_SERVER, natsServer } from "./nats_server.ts";
import { LEDGER_ENV, MQ_PEAK_PREFIX, posixEntry, sysvEntry } from "./_ledger.ts";

interface Step {
  name: string;
  args: string[];
  /** For test runs: read the counts from the runner's summary line. */
  tests?: boolean;
  /** The program (default: this Deno). */
  cmd?: string;
  /** More environment for it. */
  env?: Record<string, string>;
  /** Why it cannot run here (then it is reported and skipped, or failed when required). */
  missing?: string | false;
  /** Whether a missing prerequisite fails the run (CI sets DIPC_REQUIRE_AARCH64=1). */
  required?: boolean;
  /** Give it a private NATS broker's address in NATS_URL. */
  broker?: boolean;
}

/*
 * The aarch64 run: the tests that exercise every struct, constant and FFI signature, run by
 * Deno's arm64 build under qemu-aarch64 with Debian's arm64 libc (.ci/run installs both). In one
 * process each, since qemu-user cannot exec a second aarch64 Deno without binfmt_misc; without
 * type checking, which the x86_64 run has done.
 */
const ARM64_DENO = Deno.env.get("DIPC_DENO_ARM64") ??
  `${Deno.env.get("HOME") ?? "/root"}/.cache/dipc-ci/deno-arm64-2.9.6/package/deno`;
const ARM64_SYSROOT = "/usr/aarch64-linux-gnu";
const AARCH64_TESTS = [
  "tests/arch_test.ts",
  "tests/constants_test.ts",
  "tests/errors_test.ts",
  "tests/sysv_shm_test.ts",
];
const exists = (path: string): boolean => {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
};
const haveQemu = hasCommand("qemu-aarch64");
const aarch64Missing = !haveQemu
  ? "qemu-aarch64 is not installed (Debian: qemu-user)"
  : !exists(ARM64_DENO)
  ? `no arm64 Deno at ${ARM64_DENO} (npm pack @deno/linux-arm64-glibc@2.9.6; .ci/run fetches it)`
  : !exists(`${ARM64_SYSROOT}/lib/libc.so.6`)
  ? "no arm64 libc (Debian: libc6-arm64-cross)"
  : false;

const steps: Step[] = [
  { name: "deno fmt --check", args: ["fmt", "--check"] },
  { name: "deno lint", args: ["lint"] },
  {
    name: "deno check",
    args: ["check", "mod.ts", "ffi/", "src/", "cli/", "examples/", "tests/", "bench/", "tools/"],
  },
  { name: "deno doc --lint (every export of deno.json)", args: ["doc", "--lint", ...EXPORTS] },
  { name: "deno test", args: ["test", "-A", "tests/"], tests: true },
  {
    // The NATS modules' examples run against a private broker (NATS_URL, started below).
    name: "deno test --doc",
    args: ["test", "-A", "--doc", "mod.ts", "src/", "cli/", "README.md"],
    tests: true,
    broker: true,
  },
  {
    name: "aarch64: deno test under qemu-aarch64",
    cmd: "qemu-aarch64",
    args: ["-L", ARM64_SYSROOT, ARM64_DENO, "test", "-A", "--no-check", ...AARCH64_TESTS],
    env: { DIPC_EMULATOR: "qemu-aarch64" },
    tests: true,
    missing: aarch64Missing,
    required: Deno.env.get("DIPC_REQUIRE_AARCH64") === "1",
  },
];

/** How long one step may run before it is killed and fails, in ms. */
const STEP_BOUND_MS = 20 * 60_000;

/** What `ipcs` and /dev/shm show now, as a set of lines naming objects. */
async function ipcObjects(): Promise<Set<string>> {
  const found = new Set<string>();
  const ls = await new Deno.Command("ls", { args: ["-1", "/dev/shm"], stdout: "piped" }).output();
  for (const name of new TextDecoder().decode(ls.stdout).split("\n")) {
    if (name) found.add(`/dev/shm/${name}`);
  }
  try {
    for (const e of Deno.readDirSync("/dev/mqueue")) found.add(`/dev/mqueue/${e.name}`);
  } catch {
    // not mounted: POSIX queues are then checked by the test suite's own snapshot
  }
  const out = await new Deno.Command("ipcs", { stdout: "piped", stderr: "null" }).output();
  let section = "";
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    if (line.startsWith("------")) section = line.replace(/-/g, "").trim();
    const cols = line.trim().split(/\s+/);
    if (cols[0]?.startsWith("0x")) found.add(`${section}: key ${cols[0]} id ${cols[1]}`);
  }
  return found;
}

/*
 * The final leak check counts only objects this run made: the test helpers list them in a
 * ledger (POSIX names' UUIDs, System V ids), so another program of the same user creating
 * objects meanwhile (a second checkout testing side by side) is none of this run's business.
 */
const ledger = await Deno.makeTempFile({ prefix: "dipc-ledger-" });

/** Whether `obj` (as {@linkcode ipcObjects} names it) is in the ledger of this run. */
function madeByThisRun(obj: string, made: Set<string>): boolean {
  if (obj.startsWith("/dev/")) {
    const entry = posixEntry(obj);
    return entry !== undefined && made.has(entry);
  }
  const m = /^(.*): key \S+ id (\d+)$/.exec(obj);
  if (m === null) return false;
  const kind = /Shared Memory/.test(m[1] ?? "")
    ? "shm"
    : /Message/.test(m[1] ?? "")
    ? "msg"
    : "sem";
  return made.has(sysvEntry(kind, m[2] ?? ""));
}

let passed = 0;
let failed = 0;
const before = await ipcObjects();
await using broker = NATS_SERVER === undefined ? undefined : await natsServer();
for (const step of steps) {
  console.log(`\n=== ${step.name}`);
  if (step.missing) {
    console.log(`${step.required ? "!! cannot run" : "skipped"}: ${step.missing}`);
    if (step.required) failed++;
    continue;
  }
  const t0 = performance.now();
  const child = new Deno.Command(step.cmd ?? Deno.execPath(), {
    args: step.args,
    cwd: ROOT,
    env: {
      NO_COLOR: "1",
      [LEDGER_ENV]: ledger,
      ...(step.broker && broker ? { NATS_URL: broker.url } : {}),
      ...step.env,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  // A step past its bound (a test blocked where the per-test watchdog cannot see it, in a
  // synchronous call) is killed and fails, with what its threads were blocked in.
  let hung = "";
  const bound = setTimeout(() => {
    hung = `!! ${step.name}: still running after ${STEP_BOUND_MS / 60_000} min; killed\n` +
      blockedIn(child.pid).join("\n");
    try {
      child.kill("SIGKILL");
    } catch {
      // gone meanwhile
    }
  }, STEP_BOUND_MS);
  const [out, err, status] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.status,
  ]);
  clearTimeout(bound);
  if (hung !== "") {
    console.log(`${out}${err}`.trimEnd());
    console.log(hung);
    failed++;
    continue;
  }
  const text = `${out}${err}`;
  console.log(text.trimEnd());
  console.log(`(${step.name}: ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  if (!step.tests) {
    if (status.success) passed++;
    else failed++;
    continue;
  }
  const summary = /(ok|FAILED) \| (\d+) passed.*?\| (\d+) failed/.exec(text);
  if (!summary) {
    console.log(`!! ${step.name}: no summary line from the test runner`);
    failed++;
    continue;
  }
  passed += Number(summary[2]);
  failed += Number(summary[3]);
  if (!status.success && Number(summary[3]) === 0) failed++;
}

const made = new Set((await Deno.readTextFile(ledger)).split("\n").filter((l) => l !== ""));
await Deno.remove(ledger);

// What the suite needs of RLIMIT_MSGQUEUE (per user: a second suite beside this one, or the
// user's own queues, share it): the helpers refuse a test queue above 16 KiB and a test process
// holding more than a quarter of the limit; this says what the busiest one held.
console.log("\n=== POSIX queues against RLIMIT_MSGQUEUE");
const peaks = [...made].filter((l) => l.startsWith(MQ_PEAK_PREFIX))
  .map((l) => l.slice(MQ_PEAK_PREFIX.length).split("/").map(Number));
const peak = Math.max(0, ...peaks.map(([p]) => p ?? 0));
// RLIMIT_MSGQUEUE's soft value, as the test processes saw it (Infinity: unlimited).
const userBytes = peaks[0]?.[1] ?? Infinity;
const share = Number.isFinite(userBytes) ? peak / userBytes : 0;
console.log(
  `at most ${peak} bytes at once in one test process: ${(share * 100).toFixed(1)}% of ` +
    `RLIMIT_MSGQUEUE (${userBytes} bytes; the suite may use 25%)`,
);
if (share > 0.25) failed++;
else passed++;

console.log("\n=== IPC objects left behind");
const left = [...await ipcObjects()].filter((o) => !before.has(o) && madeByThisRun(o, made));
if (left.length === 0) {
  console.log("none: /dev/shm and ipcs show what they showed before the run");
  passed++;
} else {
  console.log(`the run left ${left.length} object(s):\n${left.join("\n")}`);
  failed++;
}

console.log(`\n${passed} passed, ${failed} failed`);
Deno.exit(failed === 0 ? 0 : 1);

/**
 * Test helpers for tests on kernel objects: fresh names, what the system shows, the leak-checked
 * test wrappers (objects, descriptors, queue bytes against RLIMIT_MSGQUEUE, the watchdog), the
 * ledger for CI's final check, and the checks tests share (skips, thrown errors, squatters).
 *
 * @module
 */

import assert from "node:assert/strict";
import {
  MessageQueue,
  messageQueueCharge,
  messageQueueLimits,
  Pipe,
  SysVMessageQueue,
  SysVSemaphoreSet,
  SysVSharedMemory,
} from "../mod.ts";
import { LEDGER_ENV, MQ_PEAK_PREFIX, posixEntry, sysvEntry } from "../tools/_ledger.ts";
import { NATS_SERVER } from "../tools/nats_server.ts";
import { childrenOf, commandOf, threadLines } from "../tools/_host.ts";
import { compileTestC, runOk, within } from "./_run.ts";

/** A fresh POSIX IPC name no other test uses. */
export function uniqueName(tag = "t"): string {
  return `/dipc-test-${tag}-${crypto.randomUUID()}`;
}

/**
 * The IPC objects of this user the system knows about: /dev/shm files, /dev/mqueue files (where
 * mqueuefs is mounted) and SysV ids.
 */
export interface IpcSnapshot {
  shm: Set<string>;
  sysv: Set<string>;
}

const uid = Deno.uid() ?? 0;

function sysvIds(kind: "shm" | "msg" | "sem"): string[] {
  let text: string;
  try {
    text = Deno.readTextFileSync(`/proc/sysvipc/${kind}`);
  } catch {
    return [];
  }
  // columns: key id perms ... uid gid cuid cgid ...; uid is column 8 for shm, 5 for msg/sem
  return text.trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/)).filter((c) =>
    Number(c[kind === "shm" ? 7 : kind === "msg" ? 7 : 4]) === uid
  ).map((c) => `${kind} id=${c[1]} key=${c[0]}`);
}

/** Reads what the system shows now. */
export function snapshotIpc(): IpcSnapshot {
  const shm = new Set<string>();
  for (const e of Deno.readDirSync("/dev/shm")) shm.add(`/dev/shm/${e.name}`);
  if (HAVE_MQUEUE_FS) {
    for (const e of Deno.readDirSync("/dev/mqueue")) shm.add(`/dev/mqueue/${e.name}`);
  }
  return { shm, sysv: new Set([...sysvIds("shm"), ...sysvIds("msg"), ...sysvIds("sem")]) };
}

/** Objects in `after` that were not in `before`. */
export function newObjects(before: IpcSnapshot, after: IpcSnapshot): string[] {
  return [
    ...[...after.shm].filter((x) => !before.shm.has(x)),
    ...[...after.sysv].filter((x) => !before.sysv.has(x)),
  ];
}

/*
 * Which objects this run made. Another program of the same user (a second checkout testing side
 * by side, the user's own work) may create objects while a test runs: those are none of our
 * business, so the leak check counts only what this process made. POSIX names carry a UUID from
 * `crypto.randomUUID` (uniqueName, and every `temporary()`): the UUIDs this process generated
 * are recorded. System V objects: the ids the factories report as `created` here, and segments
 * whose creator pid (`shm_cpid`) is this process or a child it started with Deno.Command.
 */
const madeHere = new Set<string>();
const ownSysV = new Set<string>();
const ownPids = new Set<number>([Deno.pid]);

{
  const randomUUID = crypto.randomUUID.bind(crypto);
  crypto.randomUUID = (): `${string}-${string}-${string}-${string}-${string}` => {
    const id = randomUUID();
    madeHere.add(id);
    return id;
  };
  const spawnChild = Deno.Command.prototype.spawn;
  Deno.Command.prototype.spawn = function (this: Deno.Command): Deno.ChildProcess {
    const child = spawnChild.call(this);
    ownPids.add(child.pid);
    return child;
  };
  const kinds: Array<["shm" | "msg" | "sem", Record<string, unknown>]> = [
    ["shm", SysVSharedMemory as unknown as Record<string, unknown>],
    ["msg", SysVMessageQueue as unknown as Record<string, unknown>],
    ["sem", SysVSemaphoreSet as unknown as Record<string, unknown>],
  ];
  for (const [kind, cls] of kinds) {
    for (const factory of ["open", "openId", "temporary"]) {
      const make = cls[factory] as (...a: unknown[]) => { id: number; created: boolean };
      cls[factory] = function (this: unknown, ...a: unknown[]): unknown {
        const made = make.apply(this, a);
        if (made.created || factory === "temporary") ownSysV.add(sysvEntry(kind, made.id));
        return made;
      };
    }
  }
}

/*
 * POSIX queues against RLIMIT_MSGQUEUE, which counts the bytes all of this user's queues reserve
 * (about ten default queues fill root's): a test suite beside this one, or the user's own queues,
 * must still fit. Every queue a test makes is sized to what it needs (at most
 * TEST_QUEUE_BYTES, as the kernel charges it), and the queues this process has made and not yet
 * closed stay within a quarter of the limit; tools/ci.ts reports the peak.
 */
/** The most a test's queue may be charged against RLIMIT_MSGQUEUE, in bytes. */
export const TEST_QUEUE_BYTES = 16_384;
/** The share of RLIMIT_MSGQUEUE the suite may hold at once. */
export const SUITE_QUEUE_SHARE = 0.25;
const liveQueues = new Map<MessageQueue, number>();
let queuePeak = 0;
let queuePeakWritten = 0;
{
  const Q = MessageQueue as unknown as Record<string, unknown>;
  for (const factory of ["create", "temporary"]) {
    const make = Q[factory] as (...a: unknown[]) => MessageQueue;
    Q[factory] = function (this: unknown, ...a: unknown[]): MessageQueue {
      const q = make.apply(this, a);
      if (!q.created) return q;
      const charge = messageQueueCharge(q.maxMessages, q.messageSize);
      if (charge > TEST_QUEUE_BYTES) {
        try {
          q.unlink();
        } finally {
          q.close();
        }
        throw new Error(
          `a test's queue reserves ${charge} bytes of RLIMIT_MSGQUEUE (${q.maxMessages} × ` +
            `${q.messageSize}); size it to what the test needs (at most ${TEST_QUEUE_BYTES})`,
        );
      }
      liveQueues.set(q, charge);
      const held = [...liveQueues.values()].reduce((x, y) => x + y, 0);
      queuePeak = Math.max(queuePeak, held);
      const budget = messageQueueLimits().userBytes * SUITE_QUEUE_SHARE;
      if (held > budget) {
        throw new Error(
          `this test process holds ${held} bytes of POSIX queues, more than ` +
            `${SUITE_QUEUE_SHARE * 100}% of RLIMIT_MSGQUEUE (${budget} bytes): close some first`,
        );
      }
      return q;
    };
  }
  const close = MessageQueue.prototype.close;
  MessageQueue.prototype.close = function (this: MessageQueue): void {
    liveQueues.delete(this);
    close.call(this);
  };
}

/*
 * The watchdog: every test of the suite (this module patches Deno.test, which every test file
 * reaches through these helpers) fails once it has run for TEST_BOUND_MS, naming itself and
 * what this process and its children are blocked in, and kills those children, instead of
 * hanging the suite. Waits inside a test have bounds of their own, far shorter; this is the
 * bound on everything they did not foresee.
 */
/** How long one test may run before the watchdog fails it, in ms (DIPC_TEST_BOUND_MS). */
export const TEST_BOUND_MS: number = (() => {
  try {
    return Number(Deno.env.get("DIPC_TEST_BOUND_MS") ?? "") || 180_000;
  } catch {
    return 180_000;
  }
})();

/** What the watchdog says about a test past its bound (and it kills the test's children). */
function hangReport(name: string): string {
  const lines = [
    `watchdog: test "${name}" still running after ${TEST_BOUND_MS} ms; what it waits on:`,
    `  this process (${Deno.pid}):`,
    ...threadLines(Deno.pid, "    "),
  ];
  for (const child of childrenOf(Deno.pid)) {
    lines.push(`  child ${child}: ${commandOf(child)}`, ...threadLines(child, "    "));
    try {
      Deno.kill(child, "SIGKILL");
      lines.push("    (killed)");
    } catch {
      // gone meanwhile
    }
  }
  return lines.join("\n");
}

type TestFn = (t: Deno.TestContext) => void | Promise<void>;

/** `fn`, failed by the watchdog once it has run for {@linkcode TEST_BOUND_MS}. */
function watched(name: string, fn: TestFn): TestFn {
  return async (t) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const dog = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(hangReport(name))), TEST_BOUND_MS);
    });
    try {
      await Promise.race([fn(t), dog]);
    } finally {
      clearTimeout(timer);
    }
  };
}

{
  const test = Deno.test;
  const patched = function (this: unknown, ...a: unknown[]): void {
    const last = a.length - 1;
    if (typeof a[last] === "function") {
      const fn = a[last] as TestFn;
      const first = a[0];
      const name = typeof first === "string"
        ? first
        : typeof first === "object" && first !== null && "name" in first
        ? String(first.name)
        : fn.name;
      a[last] = watched(name, fn);
    } else if (typeof a[0] === "object" && a[0] !== null) {
      const def = a[0] as Deno.TestDefinition;
      a[0] = { ...def, fn: watched(def.name, def.fn) };
    }
    return (test as (...x: unknown[]) => void).apply(this, a);
  };
  Object.assign(patched, test);
  // Read-only in the type declarations, an ordinary property at run time.
  (Deno as unknown as Record<string, unknown>).test = patched;
}

/** Whether `obj` (as {@linkcode snapshotIpc} names it) was made by this run. */
export function madeByThisRun(obj: string): boolean {
  if (obj.startsWith("/dev/")) {
    const id = posixEntry(obj);
    return id !== undefined && madeHere.has(id);
  }
  const sysv = /^(shm|msg|sem) id=(\d+)/.exec(obj);
  if (sysv === null) return false;
  if (ownSysV.has(sysvEntry(sysv[1] as "shm" | "msg" | "sem", sysv[2] ?? ""))) return true;
  return sysv[1] === "shm" && ownPids.has(shmCreator(Number(sysv[2])));
}

function shmCreator(id: number): number {
  try {
    for (const line of Deno.readTextFileSync("/proc/sysvipc/shm").split("\n").slice(1)) {
      const c = line.trim().split(/\s+/);
      if (Number(c[1]) === id) return Number(c[4]); // key shmid perms size cpid lpid …
    }
  } catch {
    // no /proc
  }
  return -1;
}

/** Where `tools/ci.ts` wants the objects this run made listed (one a line), if it does. */
const LEDGER = (() => {
  try {
    return Deno.env.get(LEDGER_ENV);
  } catch {
    return undefined;
  }
})();

const inLedger = new Set<string>();

/** Adds what this run made since the last call to the ledger, for the run's final leak check. */
function writeLedger(): void {
  if (LEDGER === undefined) return;
  const fresh = [...madeHere, ...ownSysV].filter((x) => !inLedger.has(x));
  if (queuePeak > queuePeakWritten) {
    fresh.push(`${MQ_PEAK_PREFIX}${queuePeak}/${messageQueueLimits().userBytes}`);
    queuePeakWritten = queuePeak;
  }
  if (fresh.length === 0) return;
  for (const x of fresh) inLedger.add(x);
  Deno.writeTextFileSync(LEDGER, fresh.join("\n") + "\n", { append: true });
}

/**
 * A test that must leave no IPC object behind: it compares /dev/shm and /proc/sysvipc before
 * and after and fails for every new object this run made (never for another program's, and it
 * removes nothing: what it reports is there to be looked at).
 */
export function ipcTest(
  name: string,
  fn: (t: Deno.TestContext) => void | Promise<void>,
  options: { ignore?: boolean } = {},
): void {
  Deno.test({
    name,
    ignore: options.ignore ?? false,
    async fn(t): Promise<void> {
      const before = snapshotIpc();
      let failure: unknown;
      try {
        await fn(t);
      } catch (e) {
        failure = e;
      }
      const leaked = newObjects(before, snapshotIpc()).filter(madeByThisRun);
      writeLedger();
      if (failure !== undefined) throw failure;
      if (leaked.length > 0) throw new Error(`test left IPC objects behind:\n${leaked.join("\n")}`);
    },
  });
}

/** How many descriptors this process has open (`/proc/self/fd`). */
export function openFds(): number {
  return [...Deno.readDirSync("/proc/self/fd")].length;
}

/**
 * Opens what dipc opens once per process (the wait core's epoll set and its eventfd), so that a
 * descriptor count taken after it does not see them as a leak. The read must park (its data
 * comes 30 ms later): a wait that times out while it is still trying may never reach the
 * reactor, which would then open during the test.
 */
export async function warmWaitCore(): Promise<void> {
  using warm = Pipe.create();
  setTimeout(() => warm.writer.tryWrite(new Uint8Array(1)), 30);
  await warm.reader.read(new Uint8Array(1), { timeout: 10_000 });
}

/**
 * An {@linkcode ipcTest} that also checks this process has as many descriptors open after the
 * test as before it: nothing the test opened, or had dipc open, may stay open.
 */
export function fdCheckedTest(
  name: string,
  fn: (t: Deno.TestContext) => void | Promise<void>,
): void {
  ipcTest(name, async (t) => {
    await warmWaitCore();
    const before = openFds();
    await fn(t);
    assert.equal(openFds(), before, "every descriptor opened was closed");
  });
}

/** Whether mqueuefs is mounted on /dev/mqueue, where POSIX queues show up as files. */
export const HAVE_MQUEUE_FS: boolean = (() => {
  try {
    return / \/dev\/mqueue mqueue /.test(Deno.readTextFileSync("/proc/mounts"));
  } catch {
    return false;
  }
})();

/** Parses `ipcs -m` into rows keyed by shmid. */
export async function ipcsShm(): Promise<
  Map<number, { key: number; perms: number; bytes: number; nattch: number; owner: string }>
> {
  const out = await runOk("ipcs", ["-m"]);
  const rows = new Map<
    number,
    { key: number; perms: number; bytes: number; nattch: number; owner: string }
  >();
  for (const line of out.split("\n")) {
    const c = line.trim().split(/\s+/);
    if (!c[0]?.startsWith("0x") || c.length < 6) continue;
    rows.set(Number(c[1]), {
      key: Number(c[0]) | 0,
      owner: c[2] ?? "",
      perms: parseInt(c[3] ?? "", 8),
      bytes: Number(c[4]),
      nattch: Number(c[5]),
    });
  }
  return rows;
}

/**
 * Skips the rest of a test visibly when `missing` names something absent: the reason shows as
 * an ignored step in the report. Returns true when the caller should return.
 */
export async function skipIf(t: Deno.TestContext, missing: string | false): Promise<boolean> {
  if (missing === false) return false;
  await t.step({ name: `skipped: ${missing}`, ignore: true, fn: () => {} });
  return true;
}

/** Runs `fn` and returns what it threw (fails if it did not throw). */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected an exception, but none was thrown");
}

/**
 * Has uid 65534 create a System V object with `key` (mode 0666) and then hand its ownership to
 * this process's uid with IPC_SET (tests/c/squatter.c): the object then *looks* like ours,
 * but its creator (cuid) is still 65534. Returns its id; the caller removes it.
 */
export async function squat(kind: "shm" | "msg" | "sem", key: number): Promise<number> {
  // A copy another user can reach and run.
  const dir = await Deno.makeTempDir({ prefix: "dipc-squat-" });
  await Deno.chmod(dir, 0o755);
  const squatter = `${dir}/squatter`;
  await Deno.copyFile(await compileTestC("squatter"), squatter);
  await Deno.chmod(squatter, 0o755);
  const me = String(Deno.uid() ?? 0);
  const out = await runOk("setpriv", [
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--",
    squatter,
    kind,
    `0x${key.toString(16)}`,
    me,
  ]).finally(() => Deno.remove(dir, { recursive: true }));
  return Number(out.trim());
}

let seed: number | undefined;
let state = 0;

/**
 * A number in [0, 1) for the random delays and choices of tests, from one seed a run: the seed
 * is printed at first use, and `DIPC_TEST_SEED=N` replays a run's choices.
 */
export function testRandom(): number {
  if (seed === undefined) {
    const given = Number(Deno.env.get("DIPC_TEST_SEED"));
    seed = Number.isInteger(given) && given > 0 ? given : 1 + Math.floor(Math.random() * 2 ** 31);
    state = seed;
    console.log(`test random seed: ${seed} (replay with DIPC_TEST_SEED=${seed})`);
  }
  // mulberry32
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
}

/** A NATS test: skipped (visibly) without nats-server; the client's own timers are allowed. */
export function natsTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name,
    ignore: NATS_SERVER === undefined,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => within(120_000, name, fn()),
  });
}

/** Whether process `pid` is running (it exists and is not a zombie), from /proc. */
export function processAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

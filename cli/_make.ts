// dipc rm and mk: removing and making objects. Loaded only by those commands (cli/_program.ts).
import {
  describeObject,
  type IpcObject,
  removeIpcObject,
  staleIpcObjects,
} from "../src/inventory.ts";
import { MessageQueue } from "../src/mq.ts";
import { RingChannel } from "../src/ring.ts";
import { Semaphore } from "../src/semaphore.ts";
import { SharedMemory } from "../src/shm.ts";
import { mkfifo } from "../src/fifo.ts";
import { SysVSharedMemory } from "../src/sysv_shm.ts";
import { SysVMessageQueue } from "../src/sysv_mq.ts";
import { SysVSemaphoreSet } from "../src/sysv_sem.ts";
import { ErrnoError } from "../src/errors.ts";
import {
  CommandError,
  json,
  oneLine,
  parseCount,
  parseKind,
  parseMode,
  parseSize,
  resolveOne,
  say,
  UsageError,
} from "./_refs.ts";

function confirm(question: string): boolean {
  if (!Deno.stdin.isTerminal()) return true;
  const answer = prompt(`${question} [y/N]`);
  return answer !== null && /^y(es)?$/i.test(answer.trim());
}

/** Why an object could not be had or removed, for --json. */
function failure(e: unknown): { message: string; code?: string } {
  return {
    message: oneLine(e),
    ...(e instanceof ErrnoError ? { code: e.code } : {}),
  };
}

/** dipc rm */
export function rm(refs: string[], o: {
  kind?: string;
  stale?: true;
  includeOrphans?: true;
  dryRun?: true;
  force?: true;
  yes?: true;
  keepGoing?: true;
  allowForeign?: true;
  dir?: string[];
  json?: true;
}): void {
  if (refs.length === 0 && !o.stale) throw new UsageError("name what to remove, or pass --stale");
  if (o.includeOrphans && !o.stale) throw new UsageError("--include-orphans goes with --stale");
  const kind = o.kind === undefined ? undefined : parseKind(o.kind);
  const orphans = o.includeOrphans === true;
  const targets: IpcObject[] = [];
  const kept: Array<{ object: IpcObject; reason: string }> = [];
  const failed: Array<{ ref: string; object?: IpcObject; error: ReturnType<typeof failure> }> = [];
  const report = (line: string): void => void (!o.json && say(line));
  for (const r of refs) {
    let x: IpcObject;
    try {
      x = resolveOne(r, kind);
    } catch (e) {
      // All or nothing unless --keep-going: one name that names nothing removes nothing.
      if (!o.keepGoing || e instanceof UsageError) throw e;
      failed.push({ ref: r, error: failure(e) });
      if (!o.json) console.error(`dipc: ${oneLine(e)}`);
      continue;
    }
    // With --stale, named objects are removed only if they are stale.
    if (o.stale && !x.stale && !(orphans && x.orphan)) {
      const reason = x.orphan ? "not stale (an orphan: --include-orphans)" : "not stale";
      kept.push({ object: x, reason });
      report(`kept ${describeObject(x)}: ${reason}`);
    } else targets.push(x);
  }
  if (o.stale && refs.length === 0) {
    const stale = staleIpcObjects({
      includeOrphans: orphans,
      allowForeignOwner: o.allowForeign === true,
      ...(kind ? { kinds: [kind] } : {}),
      ...(o.dir ? { dirs: o.dir } : {}),
    });
    const seen = new Set(targets.map(describeObject));
    for (const x of stale) if (!seen.has(describeObject(x))) targets.push(x);
  }
  const removed: IpcObject[] = [];
  const finish = (): void => {
    if (o.json) {
      say(json({
        schema: 1,
        dryRun: o.dryRun === true,
        ...(o.dryRun ? { wouldRemove: targets } : { removed }),
        kept,
        failed,
      }));
    }
    if (failed.length > 0) {
      throw new CommandError(`${failed.length} of ${refs.length || targets.length} not removed`, {
        cause: "reported",
      });
    }
  };
  if (targets.length === 0) {
    report("nothing to remove");
    return finish();
  }
  if (o.dryRun) {
    for (const t of targets) report(`would remove ${describeObject(t)}`);
    return finish();
  }
  if (!o.yes && !confirm(`remove ${targets.map(describeObject).join(", ")}?`)) {
    throw new CommandError("nothing removed");
  }
  for (const t of targets) {
    try {
      removeIpcObject(t, {
        force: o.force === true,
        allowForeignOwner: o.allowForeign === true,
        ...(o.stale ? { ifStale: true, includeOrphans: orphans } : {}),
      });
      removed.push(t);
      report(`removed ${describeObject(t)}`);
    } catch (e) {
      failed.push({ ref: describeObject(t), object: t, error: failure(e) });
      if (!o.json) console.error(`dipc: ${describeObject(t)}: ${oneLine(e)}`);
    }
  }
  finish();
}

function randomKey(): number {
  return (crypto.getRandomValues(new Uint32Array(1))[0] ?? 1) || 1;
}

/** What mk made. */
interface Made {
  kind: string;
  name: string | null;
  key: number | null;
  id: number | null;
  mode: number;
}

/** dipc mk */
export function mk(kind: string, name: string | undefined, o: {
  size?: string;
  mode: string;
  key?: string;
  maxMessages?: string;
  messageSize?: string;
  value?: string;
  nsems: string;
  capacity: string;
  multiProducer?: true;
  json?: true;
}): void {
  const made = make(parseKind(kind), name, o);
  if (!o.json) {
    return say(
      made.id === null
        ? made.name ?? ""
        : `key 0x${(made.key ?? 0).toString(16).padStart(8, "0")} id:${made.id}`,
    );
  }
  // The inventory's view of it too, when it can be found by what the commands take.
  let object: IpcObject | undefined;
  try {
    const ref = made.id !== null ? `id:${made.id}` : made.name ?? "";
    if (ref.startsWith("/") || ref.startsWith("id:")) {
      object = resolveOne(ref, made.kind as IpcObject["kind"]);
    }
  } catch {
    // Made, but not listable (a FIFO under a relative path): the record above says what it is.
  }
  say(json({ schema: 1, made, ...(object ? { object } : {}) }));
}

function make(k: IpcObject["kind"], name: string | undefined, o: Parameters<typeof mk>[2]): Made {
  const mode = parseMode(o.mode);
  const needName = (): string => {
    if (name === undefined) throw new UsageError(`mk ${k} needs a name`);
    return name;
  };
  const named = (n: string): Made => ({ kind: k, name: n, key: null, id: null, mode });
  const sysv = (s: { key: number; id: number }): Made => ({
    kind: k,
    name: null,
    key: s.key,
    id: s.id,
    mode,
  });
  const sysvKey = o.key === undefined ? randomKey() : parseCount(o.key, "--key", 0xffffffff);
  switch (k) {
    case "shm": {
      if (o.size === undefined) throw new UsageError("mk shm needs --size");
      SharedMemory.create(needName(), { size: parseSize(o.size, "--size"), mode }).close();
      return named(needName());
    }
    case "ring": {
      RingChannel.create(needName(), {
        capacity: parseSize(o.capacity, "--capacity"),
        multiProducer: o.multiProducer === true,
        mode,
      }).close();
      return named(needName());
    }
    case "sem":
      Semaphore.create(needName(), { value: parseCount(o.value ?? "0", "--value"), mode }).close();
      return named(needName());
    case "mq":
      MessageQueue.create(needName(), {
        mode,
        ...(o.maxMessages ? { maxMessages: parseCount(o.maxMessages, "--max-messages") } : {}),
        ...(o.messageSize ? { messageSize: parseSize(o.messageSize, "--message-size") } : {}),
      }).close();
      return named(needName());
    case "fifo":
      mkfifo(needName(), { mode });
      return named(needName());
    case "sysv-shm": {
      if (o.size === undefined) throw new UsageError("mk sysv-shm needs --size");
      using s = SysVSharedMemory.create(sysvKey, { size: parseSize(o.size, "--size"), mode });
      return sysv(s);
    }
    case "sysv-mq": {
      using q = SysVMessageQueue.create(sysvKey, { mode });
      return sysv(q);
    }
    case "sysv-sem": {
      using s = SysVSemaphoreSet.create(sysvKey, {
        count: parseCount(o.nsems, "--nsems", 32000),
        initial: parseCount(o.value ?? "0", "--value", 32767),
        mode,
      });
      return sysv(s);
    }
    case "socket":
      throw new UsageError("a socket is made by the program that listens on it (UnixListener)");
  }
}

// dipc ls, stat, limits and watch: what the system has, as tables or JSON. Loaded only by those
// commands (cli/_program.ts).
import { describeObject, type IpcObject, listIpcObjects } from "../src/_inventory_list.ts";
import { IPC_KINDS, type IpcKind } from "../src/_ipc_kinds.ts";
import { messageQueueCharge, messageQueueLimits } from "../src/mq.ts";
import { printable, printableLine } from "../src/_printable.ts";
import { readProcNumber, readProcNumbers } from "../ffi/util.ts";
import { libc } from "../ffi/load.ts";
import {
  ago,
  color,
  creatorText,
  fillText,
  json,
  nameText,
  notesText,
  parseCount,
  parseKind,
  refText,
  resolveOne,
  say,
  sizeOrCount,
  UsageError,
} from "./_refs.ts";
import { LS_COLUMNS, outputWidth, table } from "./_table.ts";

type Column = (typeof LS_COLUMNS)[number];

/** Each column's header and cell. */
const COLUMNS: Record<Column, { header: string; cell: (x: IpcObject) => string }> = {
  kind: { header: "KIND", cell: (x) => x.kind },
  name: { header: "NAME", cell: nameText },
  ref: { header: "REF", cell: refText },
  owner: { header: "OWNER", cell: (x) => printable(x.owner) },
  uid: { header: "UID", cell: (x) => String(x.uid) },
  mode: { header: "MODE", cell: (x) => x.mode.toString(8).padStart(4, "0") },
  size: { header: "SIZE/COUNT", cell: sizeOrCount },
  fill: { header: "FILL", cell: fillText },
  creator: { header: "CREATOR", cell: creatorText },
  users: { header: "USERS", cell: (x) => x.users === null ? "?" : String(x.users) },
  "last-use": { header: "LAST USE", cell: (x) => ago(x.lastUse) },
  stale: { header: "STALE", cell: (x) => x.stale ? "yes" : x.orphan ? "orphan" : "no" },
  notes: { header: "NOTES", cell: notesText },
  key: {
    header: "KEY",
    cell: (x) => x.key === null ? "" : `0x${x.key.toString(16).padStart(8, "0")}`,
  },
  id: { header: "ID", cell: (x) => x.id === null ? "" : String(x.id) },
};

const LS_DEFAULT: readonly Column[] = [
  "kind",
  "name",
  "owner",
  "mode",
  "size",
  "fill",
  "creator",
  "users",
  "last-use",
  "notes",
];

/** Shortened first when a table is too wide: the free text, then the names. */
const TRUNCATE_FIRST: readonly Column[] = ["notes", "name", "ref", "creator"];

function ownerMatches(o: IpcObject, owner: string | undefined): boolean {
  if (owner === undefined) return true;
  return /^\d+$/.test(owner) ? o.uid === Number(owner) : o.owner === owner;
}

function kindsOf(kinds: string[] | undefined): IpcKind[] | undefined {
  return kinds?.map(parseKind);
}

function listed(
  o: { kind?: string[]; dir?: string[] },
): { objects: IpcObject[]; notes: string[] } {
  const kinds = kindsOf(o.kind);
  return listIpcObjects({ ...(kinds ? { kinds } : {}), dirs: o.dir ?? [] });
}

const SORTS: Record<string, (a: IpcObject, b: IpcObject) => number> = {
  kind: (a, b) =>
    IPC_KINDS.indexOf(a.kind) - IPC_KINDS.indexOf(b.kind) || nameText(a).localeCompare(nameText(b)),
  name: (a, b) => nameText(a).localeCompare(nameText(b)),
  owner: (a, b) => a.owner.localeCompare(b.owner),
  size: (a, b) => (b.size ?? -1) - (a.size ?? -1),
  "last-use": (a, b) => (b.lastUse ?? "").localeCompare(a.lastUse ?? ""),
};

function columnsOf(output: string[] | undefined): Column[] {
  if (output === undefined) return [...LS_DEFAULT];
  const cols = output.map((c) => c.toLowerCase());
  for (const c of cols) {
    if (!(LS_COLUMNS as readonly string[]).includes(c)) {
      throw new UsageError(`unknown column ${JSON.stringify(c)}: ${LS_COLUMNS.join(", ")}`);
    }
  }
  if (cols.length === 0) throw new UsageError("--output needs at least one column");
  return cols as Column[];
}

/** Rows of `objects` in `cols`, laid out to fit the terminal unless told not to. */
function render(
  objects: readonly IpcObject[],
  cols: readonly Column[],
  o: { noheadings?: true; notruncate?: true },
): string {
  const rows = [cols.map((c) => COLUMNS[c].header)];
  for (const x of objects) rows.push(cols.map((c) => COLUMNS[c].cell(x)));
  return table(rows, {
    color: color(),
    headings: o.noheadings !== true,
    width: o.notruncate ? Infinity : outputWidth(),
    truncatable: TRUNCATE_FIRST.map((c) => cols.indexOf(c)).filter((i) => i >= 0),
  });
}

/** dipc ls */
export function ls(o: {
  kind?: string[];
  owner?: string;
  stale?: true;
  orphans?: true;
  sort: string;
  output?: string[];
  noheadings?: true;
  notruncate?: true;
  dir?: string[];
  json?: true;
}): void {
  const cols = columnsOf(o.output);
  const inv = listed(o);
  const objects = inv.objects
    .filter((x) =>
      ownerMatches(x, o.owner) && (!o.stale || x.stale || (o.orphans === true && x.orphan === true))
    )
    .sort(SORTS[o.sort]);
  if (o.json) {
    say(json({ schema: 1, objects, notes: inv.notes }));
    return;
  }
  if (objects.length === 0) {
    if (o.noheadings !== true) say("no IPC objects");
  } else say(render(objects, cols, o));
  for (const n of inv.notes) console.error(`note: ${printableLine(n)}`);
}

/** One semaphore of a System V set, as `ipcs -s -i` shows it. */
interface SemaphoreFacts {
  index: number;
  value: number;
  /** The last process to operate on it (0: none yet). */
  pid: number;
  /** Processes waiting for it to grow. */
  ncount: number;
  /** Processes waiting for it to be zero. */
  zcount: number;
}

function semaphores(
  SysVSemaphoreSet: typeof import("../src/sysv_sem.ts").SysVSemaphoreSet,
  id: number,
): SemaphoreFacts[] | string {
  try {
    using set = SysVSemaphoreSet.openId(id, { allowForeignOwner: true, readyTimeout: 0 });
    return Array.from({ length: set.count }, (_, index) => ({
      index,
      value: set.get(index),
      pid: set.lastPid(index),
      ncount: set.waitingCount(index),
      zcount: set.zeroWaitingCount(index),
    }));
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** dipc stat */
export async function stat(ref: string, o: { kind?: string; json?: true }): Promise<void> {
  const obj = resolveOne(ref, o.kind === undefined ? undefined : parseKind(o.kind));
  const system: Record<string, unknown> = {};
  // The System V modules are loaded for the objects that need them (not by ls).
  const sysv = obj.id === null ? undefined : await Promise.all([
    import("../src/sysv_shm.ts"),
    import("../src/sysv_mq.ts"),
    import("../src/sysv_sem.ts"),
  ]);
  if (sysv !== undefined && obj.id !== null) {
    const [{ SysVSharedMemory }, { SysVMessageQueue }, { SysVSemaphoreSet }] = sysv;
    const s = obj.kind === "sysv-shm"
      ? SysVSharedMemory.statId(obj.id)
      : obj.kind === "sysv-mq"
      ? SysVMessageQueue.statId(obj.id)
      : SysVSemaphoreSet.statId(obj.id);
    Object.assign(system, s);
  }
  const sems = obj.kind === "sysv-sem" && obj.id !== null && sysv !== undefined
    ? semaphores(sysv[2].SysVSemaphoreSet, obj.id)
    : undefined;
  if (o.json) {
    say(json({
      schema: 1,
      object: obj,
      ...(obj.id !== null ? { ipcStat: system } : {}),
      ...(Array.isArray(sems) ? { semaphores: sems } : {}),
    }));
    return;
  }
  const lines: Array<[string, string]> = [
    ["object", describeObject(obj)],
    ["owner", `${printable(obj.owner)} (uid ${obj.uid})`],
    ["mode", obj.mode.toString(8).padStart(4, "0")],
    ["size / count", sizeOrCount(obj) || "-"],
    ["creator", creatorText(obj)],
    ["users", obj.users === null ? "unknown" : String(obj.users)],
    ["last use", obj.lastUse ?? "never"],
    [
      "stale",
      obj.stale ? "yes" : obj.orphan ? "no (an orphan: creator dead, nothing attached)" : "no",
    ],
  ];
  if (obj.limits) {
    lines.push(["limits", `${obj.limits.maxMessages} messages of ${obj.limits.messageSize} bytes`]);
  }
  if (obj.ring) {
    lines.push([
      "ring",
      `capacity ${obj.ring.capacity}, ${obj.ring.used} bytes queued (${fillText(obj)} full), ` +
      `${obj.ring.deaths} sender deaths`,
    ]);
    for (const s of obj.ring.senders) {
      lines.push(["sender", `${s.pid} ${s.alive ? "alive" : "dead"}`]);
    }
    if (obj.ring.receiver) {
      lines.push([
        "receiver",
        `${obj.ring.receiver.pid} ${obj.ring.receiver.alive ? "alive" : "dead"}`,
      ]);
    }
  }
  for (const m of obj.mutexes ?? []) {
    lines.push([
      `mutex @${m.offset}`,
      `${
        m.holder ? `held by ${m.holder.pid}${m.holder.alive ? "" : " (dead)"}` : "free"
      }, ${m.state}`,
    ]);
  }
  for (const [k, v] of Object.entries(system)) {
    const text = v instanceof Date
      ? v.toISOString()
      : v === null
      ? "never"
      : k === "mode" && typeof v === "number"
      ? v.toString(8).padStart(4, "0")
      : k === "key" && typeof v === "number"
      ? `0x${v.toString(16).padStart(8, "0")}`
      : String(v);
    lines.push([k, printableLine(text)]);
  }
  const w = Math.max(...lines.map(([k]) => k.length));
  for (const [k, v] of lines) say(`${k.padEnd(w)}  ${v}`);
  if (typeof sems === "string") say(`semaphores  not readable: ${printableLine(sems)}`);
  else if (sems !== undefined) {
    say("");
    say(table(
      [
        ["SEMNUM", "VALUE", "NCOUNT", "ZCOUNT", "PID"],
        ...sems.map((s) => [s.index, s.value, s.ncount, s.zcount, s.pid].map(String)),
      ],
      { color: color(), headings: true, width: Infinity, truncatable: [] },
    ));
  }
}

/** One row of `dipc limits`, as lsipc --global has them. */
export interface LimitRow {
  resource: string;
  description: string;
  /** The limit (null: unlimited, past 2^53, or unreadable). */
  limit: number | null;
  /** What is in use, as far as this user can see (null: not counted). */
  used: number | null;
}

function limitRows(): LimitRow[] {
  const { objects } = listIpcObjects({ kinds: ["mq", "sysv-shm", "sysv-mq", "sysv-sem"] });
  const of = (k: IpcKind): IpcObject[] => objects.filter((x) => x.kind === k);
  const proc = (path: string): number | null => {
    // Past 2^53 a limit is "no limit" (shmall and shmmax default to ULONG_MAX - 2^24).
    const n = readProcNumber(path);
    return Number.isSafeInteger(n) ? n : null;
  };
  const [semmsl, semmns, semopm, semmni] = readProcNumbers("/proc/sys/kernel/sem");
  const page = libc().getpagesize();
  const shm = of("sysv-shm");
  const sems = of("sysv-sem");
  const queues = of("mq");
  const mq = messageQueueLimits();
  const uid = libc().geteuid();
  const charged = queues
    .filter((q) => (q.creatorUid ?? q.uid) === uid && q.limits)
    .reduce(
      (sum, q) => sum + messageQueueCharge(q.limits?.maxMessages ?? 1, q.limits?.messageSize ?? 1),
      0,
    );
  return [
    {
      resource: "MSGMNI",
      description: "Number of message queues",
      limit: proc("/proc/sys/kernel/msgmni"),
      used: of("sysv-mq").length,
    },
    {
      resource: "MSGMAX",
      description: "Max size of message (bytes)",
      limit: proc("/proc/sys/kernel/msgmax"),
      used: null,
    },
    {
      resource: "MSGMNB",
      description: "Default max size of queue (bytes)",
      limit: proc("/proc/sys/kernel/msgmnb"),
      used: null,
    },
    {
      resource: "SHMMNI",
      description: "Shared memory segments",
      limit: proc("/proc/sys/kernel/shmmni"),
      used: shm.length,
    },
    {
      resource: "SHMALL",
      description: "Shared memory pages",
      limit: proc("/proc/sys/kernel/shmall"),
      used: shm.reduce((n, s) => n + Math.ceil((s.size ?? 0) / page), 0),
    },
    {
      resource: "SHMMAX",
      description: "Max size of shared memory segment (bytes)",
      limit: proc("/proc/sys/kernel/shmmax"),
      used: null,
    },
    {
      resource: "SHMMIN",
      description: "Min size of shared memory segment (bytes)",
      limit: 1,
      used: null,
    },
    {
      resource: "SEMMNI",
      description: "Number of semaphore identifiers",
      limit: semmni ?? null,
      used: sems.length,
    },
    {
      resource: "SEMMNS",
      description: "Total number of semaphores",
      limit: semmns ?? null,
      used: sems.reduce((n, s) => n + (s.count ?? 0), 0),
    },
    {
      resource: "SEMMSL",
      description: "Max semaphores per semaphore set",
      limit: semmsl ?? null,
      used: null,
    },
    {
      resource: "SEMOPM",
      description: "Max number of operations per semop(2)",
      limit: semopm ?? null,
      used: null,
    },
    { resource: "SEMVMX", description: "Semaphore max value", limit: 32767, used: null },
    {
      resource: "MQ_QUEUES",
      description: "POSIX message queues (system-wide)",
      limit: proc("/proc/sys/fs/mqueue/queues_max"),
      used: queues.length,
    },
    {
      resource: "MQ_MSGMAX",
      description: "Max messages in a POSIX queue",
      limit: Number.isFinite(mq.maxMessages) ? mq.maxMessages : null,
      used: null,
    },
    {
      resource: "MQ_MSGSIZE",
      description: "Max size of a POSIX message (bytes)",
      limit: Number.isFinite(mq.messageSize) ? mq.messageSize : null,
      used: null,
    },
    {
      resource: "RLIMIT_MSGQUEUE",
      description: "Bytes this user's POSIX queues may reserve",
      limit: Number.isFinite(mq.userBytes) ? mq.userBytes : null,
      used: charged,
    },
  ];
}

/** dipc limits */
export function limits(o: { noheadings?: true; json?: true }): void {
  const rows = limitRows();
  if (o.json) {
    say(json({ schema: 1, limits: rows }));
    return;
  }
  const cells = [["RESOURCE", "DESCRIPTION", "LIMIT", "USED", "USE%"]];
  for (const r of rows) {
    const use = r.limit !== null && r.used !== null && r.limit > 0
      ? `${(100 * r.used / r.limit).toFixed(2)}%`
      : "-";
    cells.push([
      r.resource,
      r.description,
      r.limit === null ? "unlimited" : String(r.limit),
      r.used === null ? "-" : String(r.used),
      use,
    ]);
  }
  say(table(cells, {
    color: color(),
    headings: o.noheadings !== true,
    width: Infinity,
    truncatable: [],
  }));
  if (!o.noheadings) {
    say(
      "USED counts what this user can see; RLIMIT_MSGQUEUE, the queues this user made that " +
        "are still listed.",
    );
  }
}

/** dipc watch */
export async function watch(
  o: { kind?: string[]; dir?: string[]; interval: string; count?: string },
): Promise<void> {
  const interval = Math.max(100, parseCount(o.interval, "--interval"));
  const count = o.count === undefined ? Infinity : parseCount(o.count, "--count");
  const tty = Deno.stdout.isTerminal();
  let stopped = false;
  const onInt = (): void => void (stopped = true);
  Deno.addSignalListener("SIGINT", onInt);
  const last = new Map<string, { at: number; sent: number; count: number }>();
  try {
    for (let n = 0; n < count && !stopped; n++) {
      const now = performance.now();
      const { objects } = listed(o);
      const rows = [["KIND", "NAME", "OWNER", "SIZE/COUNT", "FILL", "RATE", "USERS", "LAST USE"]];
      for (const x of objects) {
        const id = `${x.kind} ${nameText(x)}`;
        const sent = x.ring ? x.ring.sent : 0;
        const prev = last.get(id);
        let rate = "";
        if (prev && now > prev.at) {
          const secs = (now - prev.at) / 1000;
          if (x.ring) rate = `${Math.round(((sent - prev.sent) >>> 0) / secs)} B/s`;
          else if (x.count !== null && (x.kind === "mq" || x.kind === "sysv-mq")) {
            rate = `${((x.count - prev.count) / secs).toFixed(1)} msg/s net`;
          }
        }
        last.set(id, { at: now, sent, count: x.count ?? 0 });
        const fill = fillText(x);
        rows.push([
          x.kind,
          nameText(x),
          printable(x.owner),
          sizeOrCount(x),
          fill,
          rate,
          x.users === null ? "?" : String(x.users),
          ago(x.lastUse),
        ]);
      }
      const text = table(rows, {
        color: color(),
        headings: true,
        width: outputWidth(),
        truncatable: [1],
      });
      if (tty) {
        Deno.stdout.writeSync(
          new TextEncoder().encode(
            `\x1b[H\x1b[2J${new Date().toLocaleTimeString()}  (Ctrl-C ends)\n${text}\n`,
          ),
        );
      } else say(`${new Date().toISOString()}\n${text}\n`);
      if (n + 1 < count) {
        for (let waited = 0; waited < interval && !stopped; waited += 50) {
          await new Promise((r) => setTimeout(r, Math.min(50, interval - waited)));
        }
      }
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onInt);
  }
}

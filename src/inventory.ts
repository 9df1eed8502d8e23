/**
 * Every IPC object this user can see, of every kind, in one list: POSIX shared memory (and the
 * dipc ring channels and mutexes recognised inside it), POSIX queues, named semaphores, the three
 * System V kinds, FIFOs and socket files under given directories, and bound Unix sockets. This
 * is what the `dipc` command prints with `dipc ls`; it is a module of its own so that programs
 * (a monitor, a test that checks it cleaned up) can use it too.
 *
 * Each object says who owns it, its mode, its size or count, who created it and whether that
 * process is still alive, how many processes have it open, and when it was last used; from
 * these follows whether it is **stale**: its creator is known to be dead and nobody has it open
 * or attached. Where the system keeps no creator (POSIX objects, System V queues and semaphore
 * sets), an object is never called stale, with two exceptions that record their peers
 * themselves: a ring channel whose recorded endpoints are all gone and that nobody has mapped,
 * and a socket file no listener is bound to.
 *
 * What it reads: `/dev/shm`, `/dev/mqueue` (when mounted), `/proc/sysvipc/*` (as `ipcs` does),
 * `/proc/net/unix`, `/proc/PID/fd` and `/proc/PID/maps` of the processes this user may look
 * into, and `/etc/passwd` for user names, all through FFI: it needs `--allow-ffi` only.
 * Everything it finds in shared memory is untrusted: a header that does not check out is
 * reported as plain shared memory.
 *
 * @module
 */

import { MessageQueue } from "./mq.ts";
import { SharedMemory } from "./shm.ts";
import { RingChannel } from "./ring.ts";
import { SharedMutex } from "./mutex.ts";
import { Semaphore } from "./semaphore.ts";
import { SysVSharedMemory } from "./sysv_shm.ts";
import { SysVMessageQueue } from "./sysv_mq.ts";
import { SysVSemaphoreSet } from "./sysv_sem.ts";
import { removeFifo } from "./fifo.ts";
import { boundUnixSockets } from "./socket.ts";
import { processGone } from "./_liveness.ts";
import {
  cString,
  listDirectory,
  lstatPath,
  type PathStat,
  readLinkText,
  readProcStat,
  readProcText,
} from "../ffi/util.ts";
import { errno, libc } from "../ffi/load.ts";
import { ErrnoError, ForeignOwnerError } from "./errors.ts";
import { E, S_IFDIR, S_IFIFO, S_IFMT, S_IFREG, S_IFSOCK } from "../ffi/constants.ts";
import { describe, validateBoolean, validateOptionKeys } from "./_validate.ts";

/** The kinds of object the inventory knows. */
export type IpcKind =
  | "shm"
  | "ring"
  | "sem"
  | "mq"
  | "sysv-shm"
  | "sysv-mq"
  | "sysv-sem"
  | "fifo"
  | "socket";

/** Every kind, in the order `dipc ls` lists them. */
export const IPC_KINDS: readonly IpcKind[] = [
  "shm",
  "ring",
  "sem",
  "mq",
  "sysv-shm",
  "sysv-mq",
  "sysv-sem",
  "fifo",
  "socket",
];

/** A process an object records (a creator, a ring's sender), and whether it is alive. */
export interface IpcProcess {
  /** Its pid. */
  pid: number;
  /** Whether it is alive now (a pid reused by a later process counts as dead where known). */
  alive: boolean;
}

/** A mutex found inside shared memory. */
export interface IpcMutex {
  /** Its byte offset. */
  offset: number;
  /** The holder, or null when free. */
  holder: IpcProcess | null;
  /** What it says of the data it protects. */
  state: string;
}

/** A ring channel's header, as the inventory read it. */
export interface IpcRing {
  /** Ring size in bytes. */
  capacity: number;
  /** Bytes not yet received. */
  used: number;
  /** Bytes sent since it was made, modulo 2³² (the write position): a rate is its change. */
  sent: number;
  /** Attached senders. */
  senders: IpcProcess[];
  /** The attached receiver, or null. */
  receiver: IpcProcess | null;
  /** Senders found dead since it was made. */
  deaths: number;
}

/**
 * One IPC object. The JSON form of `dipc ls --json` is an array of these (schema version 1:
 * fields are only ever added).
 */
export interface IpcObject {
  /** What it is. */
  kind: IpcKind;
  /** POSIX name ("/jobs"), a path (FIFOs, socket files), "@name" (abstract sockets), or null. */
  name: string | null;
  /** System V key (unsigned, as `ipcs` prints it in hex), or null. */
  key: number | null;
  /** System V id, or null. */
  id: number | null;
  /** Owner's uid. */
  uid: number;
  /** Owner's user name (the uid as text when unknown). */
  owner: string;
  /** Creator's uid where the system keeps it (System V), else null. */
  creatorUid: number | null;
  /** Permission bits. */
  mode: number;
  /** Bytes: a segment's size, a ring's capacity, bytes queued in a queue; null when none. */
  size: number | null;
  /** Messages queued, a semaphore's value, semaphores in a set; null when none. */
  count: number | null;
  /** The creator where it is recorded (System V segments), else null. */
  creator: IpcProcess | null;
  /** Processes known to have it open, mapped or attached; null when that cannot be known. */
  users: number | null;
  /** Last use or change, ISO 8601, or null. */
  lastUse: string | null;
  /** Creator known dead and nobody has it open (see the module doc). */
  stale: boolean;
  /** Ring channels: the header. */
  ring?: IpcRing;
  /** Mutexes found in the first 64 KiB of shared memory. */
  mutexes?: IpcMutex[];
  /** Sockets: whether it listens, and its type. */
  socket?: { listening: boolean; type: string; bound: boolean };
  /** System V queues: the last sender's and receiver's pids; segments: the last attacher's. */
  lastPids?: { send?: number; receive?: number; attach?: number };
  /** POSIX queues: the limits. */
  limits?: { maxMessages: number; messageSize: number };
}

/** What {@linkcode listIpcObjects} found, and what it could not look at. */
export interface IpcInventory {
  /** The objects. */
  objects: IpcObject[];
  /** One line per thing it could not see (e.g. "/dev/mqueue is not mounted"). */
  notes: string[];
}

/** Options for {@linkcode listIpcObjects}. */
export interface ListIpcOptions {
  /** Directories to look through (two levels deep) for FIFOs and socket files. */
  dirs?: string[];
  /** Only these kinds (default: all). */
  kinds?: IpcKind[];
}

// ---- small readers -------------------------------------------------------------------------

// Everything is read through FFI: Deno's file APIs refuse /dev and /proc without --allow-all.
function readText(path: string): string | undefined {
  const text = readProcText(path);
  return text === "" ? undefined : text;
}

const readDir = (path: string): Array<{ name: string }> | undefined => listDirectory(path);
const isType = (st: PathStat, type: number): boolean => (st.mode & S_IFMT) === type;

let users: Map<number, string> | undefined;
/** The user name of `uid` from /etc/passwd, or the uid as text. */
function userName(uid: number): string {
  if (users === undefined) {
    users = new Map();
    for (const line of (readText("/etc/passwd") ?? "").split("\n")) {
      const [name, , id] = line.split(":");
      if (name && id !== undefined && /^\d+$/.test(id)) users.set(Number(id), name);
    }
  }
  return users.get(uid) ?? String(uid);
}

const iso = (seconds: number): string | null =>
  seconds > 0 ? new Date(seconds * 1000).toISOString() : null;

/** Seconds since the epoch at which the system booted (`btime` in /proc/stat). */
function bootTime(): number {
  return Number(/^btime (\d+)/m.exec(readText("/proc/stat") ?? "")?.[1] ?? 0);
}

/** USER_HZ, the unit of /proc/PID/stat's start time: 100 on every Linux ABI dipc runs on. */
const TICKS_PER_SECOND = 100;

/**
 * A recorded process and whether it is alive. With `notAfter` (seconds since the epoch), a
 * process that started later than that is a reused pid: the recorded one is dead.
 */
function processRef(pid: number, notAfter?: number): IpcProcess {
  if (pid <= 0) return { pid, alive: false };
  if (processGone(pid, 0, false)) return { pid, alive: false };
  if (notAfter !== undefined && notAfter > 0) {
    const st = readProcStat(pid);
    const boot = bootTime();
    if (st !== undefined && boot > 0 && st.startTime < 2 ** 31) {
      const started = boot + st.startTime / TICKS_PER_SECOND;
      if (started > notAfter + 2) return { pid, alive: false };
    }
  }
  return { pid, alive: true };
}

/** Who has what open: paths of descriptors and mappings, and socket inodes, per process. */
interface Holders {
  paths: Map<string, Set<number>>;
  /** Inodes of /dev/shm files mapped (a mapping keeps the inode of a file renamed or unlinked since). */
  shmInodes: Map<number, Set<number>>;
  sockets: Map<number, Set<number>>;
  hidden: number;
}

function scanProcesses(): Holders {
  const paths = new Map<string, Set<number>>();
  const shmInodes = new Map<number, Set<number>>();
  const sockets = new Map<number, Set<number>>();
  const add = <K>(m: Map<K, Set<number>>, k: K, pid: number): void => {
    let s = m.get(k);
    if (s === undefined) m.set(k, s = new Set());
    s.add(pid);
  };
  let hidden = 0;
  for (const e of readDir("/proc") ?? []) {
    if (!/^\d+$/.test(e.name)) continue;
    const pid = Number(e.name);
    const fds = readDir(`/proc/${pid}/fd`);
    if (fds === undefined) {
      if (readProcStat(pid) !== undefined) hidden++;
      continue;
    }
    for (const fd of fds) {
      const target = readLinkText(`/proc/${pid}/fd/${fd.name}`);
      if (target === undefined) continue;
      const socket = /^socket:\[(\d+)\]$/.exec(target);
      if (socket) add(sockets, Number(socket[1]), pid);
      else add(paths, target.replace(/ \(deleted\)$/, ""), pid);
    }
    for (const line of (readText(`/proc/${pid}/maps`) ?? "").split("\n")) {
      const at = line.indexOf("/");
      if (at <= 0) continue;
      const path = line.slice(at).replace(/ \(deleted\)$/, "");
      add(paths, path, pid);
      // address perms offset dev inode path
      if (path.startsWith("/dev/shm/")) add(shmInodes, Number(line.split(/\s+/)[4]), pid);
    }
  }
  return { paths, shmInodes, sockets, hidden };
}

/** How many processes have one of `paths` open or mapped, or map the /dev/shm inode `ino`. */
const usersOf = (h: Holders, ino: number | undefined, ...paths: string[]): number => {
  const pids = new Set<number>(ino === undefined ? [] : h.shmInodes.get(ino));
  for (const p of paths) for (const pid of h.paths.get(p) ?? []) pids.add(pid);
  return pids.size;
};

// ---- POSIX ---------------------------------------------------------------------------------

function posixBase(kind: IpcKind, name: string, st: PathStat): IpcObject {
  return {
    kind,
    name,
    key: null,
    id: null,
    uid: st.uid,
    owner: userName(st.uid),
    creatorUid: null,
    mode: st.mode & 0o7777,
    size: st.size,
    count: null,
    creator: null,
    users: null,
    lastUse: new Date(st.mtimeMs).toISOString(),
    stale: false,
  };
}

/** Reads what dipc put in shared memory `name`: a ring channel's header, or mutexes. */
function lookInside(o: IpcObject, name: string): void {
  let memory: SharedMemory;
  try {
    memory = SharedMemory.open(name, { readOnly: true, allowForeignOwner: true });
  } catch {
    return; // no read permission, or it went away
  }
  try {
    try {
      using ring = RingChannel.at(memory, 0);
      const s = ring.stats();
      o.kind = "ring";
      o.size = s.capacity;
      o.count = null;
      o.ring = {
        capacity: s.capacity,
        used: s.used,
        sent: s.tail,
        senders: s.senders.map((pid) => processRef(pid)),
        receiver: s.receiver === 0 ? null : processRef(s.receiver),
        deaths: s.deaths,
      };
      return;
    } catch {
      // not a ring channel (or a corrupt one): look for mutexes
    }
    const mutexes: IpcMutex[] = [];
    for (const offset of SharedMutex.find(memory)) {
      try {
        const m = SharedMutex.at(memory, offset);
        const holder = m.holder;
        mutexes.push({ offset, holder: holder === 0 ? null : processRef(holder), state: m.state });
      } catch {
        // a stray magic word
      }
    }
    if (mutexes.length > 0) o.mutexes = mutexes;
  } finally {
    memory.close();
  }
}

function listShm(h: Holders, kinds: Set<IpcKind>): IpcObject[] {
  const out: IpcObject[] = [];
  for (const e of readDir("/dev/shm") ?? []) {
    const path = `/dev/shm/${e.name}`;
    const st = lstatPath(path);
    if (st === undefined || !isType(st, S_IFREG)) continue;
    if (e.name.startsWith("sem.")) {
      if (!kinds.has("sem")) continue;
      const name = `/${e.name.slice(4)}`;
      const o = posixBase("sem", name, st);
      o.size = null;
      try {
        using sem = Semaphore.open(name, { allowForeignOwner: true });
        o.count = sem.value;
      } catch {
        // not readable by this user, or not a semaphore
      }
      o.users = usersOf(h, st.ino, path);
      out.push(o);
      continue;
    }
    if (!kinds.has("shm") && !kinds.has("ring")) continue;
    const name = `/${e.name}`;
    const o = posixBase("shm", name, st);
    o.users = usersOf(h, st.ino, path);
    lookInside(o, name);
    if (o.ring !== undefined) {
      const endpoints = [...o.ring.senders, ...(o.ring.receiver ? [o.ring.receiver] : [])];
      o.stale = o.users === 0 && endpoints.every((p) => !p.alive) &&
        (endpoints.length > 0 || o.ring.deaths > 0);
    }
    if (kinds.has(o.kind)) out.push(o);
  }
  return out;
}

function listMq(h: Holders, notes: string[]): IpcObject[] {
  const mounts = readText("/proc/mounts") ?? "";
  if (!/^\S+ \/dev\/mqueue mqueue /m.test(mounts)) {
    notes.push(
      "POSIX queues: /dev/mqueue is not mounted, so they cannot be listed " +
        "(mount -t mqueue none /dev/mqueue)",
    );
    return [];
  }
  const out: IpcObject[] = [];
  for (const e of readDir("/dev/mqueue") ?? []) {
    const path = `/dev/mqueue/${e.name}`;
    const st = lstatPath(path);
    if (st === undefined) continue;
    const name = `/${e.name}`;
    const o = posixBase("mq", name, st);
    const qsize = /QSIZE:(\d+)/.exec(readText(path) ?? "");
    o.size = qsize ? Number(qsize[1]) : null;
    try {
      using q = MessageQueue.open(name, { readOnly: true, allowForeignOwner: true });
      const a = q.attributes();
      o.count = a.currentMessages;
      o.limits = { maxMessages: a.maxMessages, messageSize: a.messageSize };
    } catch {
      // not readable by this user
    }
    o.users = usersOf(h, undefined, path, name);
    out.push(o);
  }
  return out;
}

// ---- System V ------------------------------------------------------------------------------

/** The rows of /proc/sysvipc/FILE as records keyed by its header's column names. */
function sysvRows(file: string): Array<Record<string, number>> {
  const lines = (readText(`/proc/sysvipc/${file}`) ?? "").split("\n").filter((l) => l.trim());
  const head = (lines[0] ?? "").trim().split(/\s+/);
  return lines.slice(1).map((l) => {
    const cells = l.trim().split(/\s+/);
    return Object.fromEntries(head.map((h, i) => [h, Number(cells[i])]));
  });
}

function sysvBase(
  kind: IpcKind,
  r: Record<string, number>,
  id: number,
  changed: number,
): IpcObject {
  const uid = r.uid ?? 0;
  return {
    kind,
    name: null,
    key: (r.key ?? 0) >>> 0,
    id,
    uid,
    owner: userName(uid),
    creatorUid: r.cuid ?? null,
    mode: parseInt(String(r.perms ?? 0), 8) & 0o777,
    size: null,
    count: null,
    creator: null,
    users: null,
    lastUse: iso(changed),
    stale: false,
  };
}

function listSysV(kinds: Set<IpcKind>): IpcObject[] {
  const out: IpcObject[] = [];
  if (kinds.has("sysv-shm")) {
    for (const r of sysvRows("shm")) {
      const o = sysvBase(
        "sysv-shm",
        r,
        r.shmid ?? -1,
        Math.max(r.atime ?? 0, r.dtime ?? 0, r.ctime ?? 0),
      );
      o.size = r.size ?? null;
      o.users = r.nattch ?? null;
      o.creator = processRef(r.cpid ?? 0, r.ctime);
      o.lastPids = { attach: r.lpid ?? 0 };
      o.stale = !o.creator.alive && o.users === 0;
      out.push(o);
    }
  }
  if (kinds.has("sysv-mq")) {
    for (const r of sysvRows("msg")) {
      const o = sysvBase(
        "sysv-mq",
        r,
        r.msqid ?? -1,
        Math.max(r.stime ?? 0, r.rtime ?? 0, r.ctime ?? 0),
      );
      o.size = r.cbytes ?? null;
      o.count = r.qnum ?? null;
      o.lastPids = { send: r.lspid ?? 0, receive: r.lrpid ?? 0 };
      out.push(o);
    }
  }
  if (kinds.has("sysv-sem")) {
    for (const r of sysvRows("sem")) {
      const o = sysvBase("sysv-sem", r, r.semid ?? -1, Math.max(r.otime ?? 0, r.ctime ?? 0));
      o.count = r.nsems ?? null;
      out.push(o);
    }
  }
  return out;
}

// ---- files and sockets ---------------------------------------------------------------------

function listFiles(
  dirs: string[],
  h: Holders,
  kinds: Set<IpcKind>,
  bound: Set<string>,
): IpcObject[] {
  const out: IpcObject[] = [];
  const walk = (dir: string, depth: number): void => {
    for (const e of readDir(dir) ?? []) {
      const path = `${dir.replace(/\/+$/, "")}/${e.name}`;
      const st = lstatPath(path);
      if (st === undefined) continue;
      if (isType(st, S_IFDIR) && depth > 0) walk(path, depth - 1);
      if (isType(st, S_IFIFO) && kinds.has("fifo")) {
        const o = posixBase("fifo", path, st);
        o.size = null;
        o.users = usersOf(h, undefined, path);
        out.push(o);
      } else if (isType(st, S_IFSOCK) && kinds.has("socket") && !bound.has(path)) {
        // A socket file no socket is bound to: left by a listener that is gone.
        const o = posixBase("socket", path, st);
        o.size = null;
        o.users = 0;
        o.stale = true;
        o.socket = { listening: false, type: "stream", bound: false };
        out.push(o);
      }
    }
  };
  for (const d of dirs) walk(d, 2);
  return out;
}

function listSockets(h: Holders, dirs: string[]): { objects: IpcObject[]; bound: Set<string> } {
  const objects: IpcObject[] = [];
  const bound = new Set<string>();
  for (const s of boundUnixSockets()) {
    const holders = h.sockets.get(s.inode) ?? new Set<number>();
    const path = typeof s.address === "string" ? s.address : undefined;
    if (path !== undefined) bound.add(path);
    // Only listeners and the sockets under the given directories: every connected socket of
    // the desktop bus would drown the list otherwise.
    if (!s.listening && !(path && dirs.some((d) => path.startsWith(d)))) continue;
    // The file may be unlinked, or not visible from here.
    const st = path === undefined ? undefined : lstatPath(path);
    const [first] = holders;
    const holderUid = first === undefined ? undefined : lstatPath(`/proc/${first}`)?.uid;
    const uid = st?.uid ?? holderUid ?? -1;

    objects.push({
      kind: "socket",
      name: path ?? `@${typeof s.address === "string" ? "" : s.address.abstract}`,
      key: null,
      id: null,
      uid,
      owner: uid < 0 ? "?" : userName(uid),
      creatorUid: null,
      mode: (st?.mode ?? 0) & 0o7777,
      size: null,
      count: null,
      creator: first === undefined ? null : processRef(first),
      users: holders.size,
      lastUse: st === undefined ? null : new Date(st.mtimeMs).toISOString(),
      stale: false,
      socket: { listening: s.listening, type: s.type, bound: true },
    });
  }
  return { objects, bound };
}

/**
 * Lists every IPC object this user can see.
 *
 * @param options `dirs` to look through for FIFOs and socket files, `kinds` to keep
 * @returns the objects and notes on what could not be seen
 * @throws {TypeError} for bad options
 *
 * @example Find the shared memory you made
 * ```ts
 * import { listIpcObjects, SharedMemory } from "@dipc/dipc";
 *
 * using shm = SharedMemory.temporary({ size: 4096 });
 * const { objects } = listIpcObjects({ kinds: ["shm"] });
 * console.log(objects.find((o) => o.name === shm.name)?.size); // 4096
 * ```
 */
export function listIpcObjects(options?: ListIpcOptions): IpcInventory {
  const o = validateOptionKeys<ListIpcOptions>(options, ["dirs", "kinds"], "listIpcObjects");
  const dirs = validateStrings(o.dirs, "dirs");
  const kinds = new Set(o.kinds === undefined ? IPC_KINDS : validateKinds(o.kinds));
  const notes: string[] = [];
  const h = scanProcesses();
  if (h.hidden > 0) {
    notes.push(
      `${h.hidden} processes of other users could not be looked into: ` +
        "the open counts cover this user's processes only",
    );
  }
  const objects: IpcObject[] = [
    ...listShm(h, kinds),
    ...(kinds.has("mq") ? listMq(h, notes) : []),
    ...listSysV(kinds),
  ];
  const sockets = listSockets(h, dirs);
  if (kinds.has("socket")) objects.push(...sockets.objects);
  objects.push(...listFiles(dirs, h, kinds, sockets.bound));
  return { objects, notes };
}

function validateStrings(x: unknown, what: string): string[] {
  if (x === undefined) return [];
  if (!Array.isArray(x) || x.some((d) => typeof d !== "string" || d === "" || d.includes("\0"))) {
    throw new TypeError(`${what} must be an array of paths, got ${describe(x)}`);
  }
  return x as string[];
}

function validateKinds(x: unknown): IpcKind[] {
  if (!Array.isArray(x)) throw new TypeError(`kinds must be an array, got ${describe(x)}`);
  for (const k of x) {
    if (!IPC_KINDS.includes(k as IpcKind)) {
      throw new TypeError(`unknown kind ${describe(k)}: one of ${IPC_KINDS.join(", ")}`);
    }
  }
  return x as IpcKind[];
}

/** Options for {@linkcode staleIpcObjects}. */
export interface StaleIpcOptions extends ListIpcOptions {
  /** Include other users' stale objects too (default: only this user's). */
  allowForeignOwner?: boolean;
}

/**
 * The stale objects: their creator is known to be dead and nobody has them open (see the
 * module doc), owned (and, for System V, created) by this user unless `allowForeignOwner`.
 *
 * @param options `dirs`, `kinds`, `allowForeignOwner`
 * @returns the objects, as {@linkcode listIpcObjects} lists them
 */
export function staleIpcObjects(options?: StaleIpcOptions): IpcObject[] {
  const o = validateOptionKeys<StaleIpcOptions>(
    options,
    ["dirs", "kinds", "allowForeignOwner"],
    "staleIpcObjects",
  );
  const foreign = validateBoolean(o.allowForeignOwner, "allowForeignOwner");
  const me = libc().geteuid();
  return listIpcObjects({
    ...(o.dirs ? { dirs: o.dirs } : {}),
    ...(o.kinds ? { kinds: o.kinds } : {}),
  }).objects.filter((x) =>
    x.stale && (foreign || (x.uid === me && (x.creatorUid === null || x.creatorUid === me)))
  );
}

/** Options for {@linkcode removeIpcObject}. */
export interface RemoveIpcOptions {
  /** Remove it even when it is in use (someone has it open or attached, or listens). */
  force?: boolean;
  /** Remove it even when another user owns or created it (the kernel still decides). */
  allowForeignOwner?: boolean;
}

/** Throws a TypeError unless `o` looks like an object {@linkcode listIpcObjects} returned. */
function validateIpcObject(o: unknown): asserts o is IpcObject {
  const x = o as Partial<IpcObject> | null;
  if (
    typeof x !== "object" || x === null || !IPC_KINDS.includes(x.kind as IpcKind) ||
    !(typeof x.name === "string" || x.name === null) ||
    !(Number.isSafeInteger(x.id) || x.id === null) ||
    !(Number.isSafeInteger(x.key) || x.key === null) || !Number.isSafeInteger(x.uid)
  ) {
    throw new TypeError(`not an object listIpcObjects returned: ${describe(o)}`);
  }
}

/**
 * Whether something has `o` open or attached, or listens on it, as far as can be known.
 *
 * @param o the object, as listed
 * @returns true when it is in use
 */
export function ipcObjectInUse(o: IpcObject): boolean {
  validateIpcObject(o);
  if ((o.users ?? 0) > 0) return true;
  if (o.socket?.listening) return true;
  if (o.ring) return o.ring.senders.some((p) => p.alive) || o.ring.receiver?.alive === true;
  return false;
}

/**
 * Removes an object {@linkcode listIpcObjects} found: unlinks a POSIX name, FIFO or socket
 * file, or removes a System V object by id (`IPC_RMID`). Refuses an object in use unless
 * `force`, and one another user owns or created unless `allowForeignOwner`.
 *
 * @param o the object, as listed
 * @param options `force`, `allowForeignOwner`
 * @throws {ForeignOwnerError} another user owns or created it
 * @throws {ErrnoError} EBUSY when it is in use; ENOENT when it has gone; EACCES, EPERM
 */
export function removeIpcObject(o: IpcObject, options?: RemoveIpcOptions): void {
  const opts = validateOptionKeys<RemoveIpcOptions>(
    options,
    ["force", "allowForeignOwner"],
    "removeIpcObject",
  );
  const force = validateBoolean(opts.force, "force");
  const foreign = validateBoolean(opts.allowForeignOwner, "allowForeignOwner");
  const what = describeObject(o);
  const myUid = libc().geteuid();
  if (!foreign && o.uid !== myUid) throw new ForeignOwnerError(what, o.uid, myUid);
  if (!foreign && o.creatorUid !== null && o.creatorUid !== myUid) {
    throw new ForeignOwnerError(what, o.creatorUid, myUid, "created");
  }
  if (!force && ipcObjectInUse(o)) {
    throw new ErrnoError(E.EBUSY, "remove", {
      object: what,
      detail: "it is in use (open, attached, or listening); force removes it anyway",
    });
  }
  switch (o.kind) {
    case "shm":
    case "ring":
      return SharedMemory.unlink(o.name ?? "");
    case "sem":
      return Semaphore.unlink(o.name ?? "");
    case "mq":
      return MessageQueue.unlink(o.name ?? "");
    case "sysv-shm":
      return SysVSharedMemory.remove(o.id ?? -1);
    case "sysv-mq":
      return SysVMessageQueue.remove(o.id ?? -1);
    case "sysv-sem":
      return SysVSemaphoreSet.remove(o.id ?? -1);
    case "fifo":
      return removeFifo(o.name ?? "");
    case "socket": {
      const path = o.name ?? "";
      if (!path.startsWith("/")) throw new TypeError(`${what} has no file to remove`);
      const st = lstatPath(path);
      if (st !== undefined && !isType(st, S_IFSOCK)) {
        throw new TypeError(`${JSON.stringify(path)} is not a socket file; not removed`);
      }
      if (libc().unlink(cString(path)) !== 0) {
        throw new ErrnoError(errno(), "unlink", { action: "remove", object: what });
      }
      return;
    }
  }
}

/**
 * How messages name an object: "shm /jobs", "sysv-shm id 32768 (key 0x0000abcd)".
 *
 * @param o the object, as listed
 * @returns the description
 */
export function describeObject(o: IpcObject): string {
  validateIpcObject(o);
  if (o.id !== null) {
    return `${o.kind} id ${o.id} (key 0x${(o.key ?? 0).toString(16).padStart(8, "0")})`;
  }
  return `${o.kind} ${o.name ?? "?"}`;
}

/**
 * The inventory's reading half: what there is, as {@linkcode listIpcObjects} lists it, and how
 * an object is named. src/inventory.ts (the face) re-exports it; `dipc ls` loads only this half.
 *
 * @module
 */

import { MessageQueue } from "./mq.ts";
import { Ring, ringStats } from "./_ring_protocol.ts";
import { SharedMutex } from "./mutex.ts";
import { processGone } from "./_liveness.ts";
import {
  cPath,
  type DirEntry,
  fstatFd,
  joinBytes,
  listDirectory,
  lstatPath,
  type PathStat,
  readLinkText,
  readProcStat,
  readProcText,
} from "../ffi/util.ts";
import { errno, libc } from "../ffi/load.ts";
import { ErrnoError } from "./errors.ts";
import {
  MAP,
  MAP_FAILED,
  O,
  PROT,
  PTHREAD,
  S_IFDIR,
  S_IFIFO,
  S_IFLNK,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
} from "../ffi/constants.ts";
import { MappedMemory } from "./mapped_memory.ts";
import { boundKey, boundSocketFiles, boundUnixSockets } from "./_unix_diag.ts";
import { fromHex, printable, printableBytes, toHex } from "./_printable.ts";
import { describe, validateOptionKeys, validatePosixName } from "./_validate.ts";
import { IPC_KINDS, type IpcKind } from "./_ipc_kinds.ts";

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
  /**
   * POSIX name ("/jobs"), a path (FIFOs, socket files), "@name" (abstract sockets), or null. A
   * name that is not valid UTF-8 shows its odd bytes as U+FFFD here; `nameHex` has them exactly.
   */
  name: string | null;
  /** The name's exact bytes in lowercase hex, present only when they are not valid UTF-8. */
  nameHex?: string;
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
  /** Provably abandoned: what `rm --stale` removes (see the module doc). */
  stale: boolean;
  /**
   * Creator known dead and nobody has it attached, but not provably abandoned (System V
   * segments; see the module doc). Absent in listings older than this field.
   */
  orphan?: boolean;
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
  /**
   * POSIX names to look up directly as well, for what cannot be listed: a POSIX queue where
   * `/dev/mqueue` is not mounted is still found by name (`mq_open`, `mq_getattr`, `fstat`).
   */
  names?: string[];
}

// ---- small readers -------------------------------------------------------------------------

// Everything is read through FFI: Deno's file APIs refuse /dev and /proc without --allow-all.
function readText(path: string): string | undefined {
  const text = readProcText(path);
  return text === "" ? undefined : text;
}

const readDir = (path: string | Uint8Array): DirEntry[] | undefined => listDirectory(path);
/** Whether `st` is of file type `type` (S_IFIFO, …). */
export const isType = (st: PathStat, type: number): boolean => (st.mode & S_IFMT) === type;

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

/**
 * The holders, scanned on first use: walking every process's descriptors and mappings is most of
 * a listing's cost (about 6 ms for 70 processes here), and a listing with no object to count
 * users of (an idle machine) needs none of it.
 */
function lazyHolders(): Holders & { readonly scanned: boolean } {
  let h: Holders | undefined;
  const get = (): Holders => h ??= scanProcesses();
  return {
    get paths() {
      return get().paths;
    },
    get shmInodes() {
      return get().shmInodes;
    },
    get sockets() {
      return get().sockets;
    },
    get hidden() {
      return get().hidden;
    },
    get scanned() {
      return h !== undefined;
    },
  };
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
    // Only /dev/shm can be mapped of what the inventory lists (a queue, FIFO or socket cannot):
    // a process's other mappings (hundreds of libraries and anonymous regions) are skipped
    // without being split.
    const maps = readText(`/proc/${pid}/maps`);
    if (maps === undefined || !maps.includes("/dev/shm/")) continue;
    for (const line of maps.split("\n")) {
      const at = line.indexOf("/dev/shm/");
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

function posixBase(kind: IpcKind, name: string, st: PathStat, exact?: Uint8Array): IpcObject {
  const o: IpcObject = {
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
  if (exact !== undefined) o.nameHex = toHex(exact);
  return o;
}

/** How much of an object in /dev/shm the inventory reads to recognise what dipc put there. */
const LOOK_BYTES = 64 * 1024;

/**
 * The first {@linkcode LOOK_BYTES} of a file in /dev/shm, read with `pread` into private
 * anonymous memory the size of the file (untouched pages cost nothing): what the inventory reads
 * headers from, instead of mapping somebody else's object, where a sparse file on a full tmpfs
 * would kill this process with SIGBUS on the first touch of a hole. Writes land in the private
 * copy only.
 */
class Snapshot extends MappedMemory {
  #closed = false;

  constructor(fd: number, size: number) {
    super();
    const L = libc();
    const p = L.mmap(
      null,
      BigInt(size),
      PROT.READ | PROT.WRITE,
      MAP.PRIVATE | MAP.ANONYMOUS | MAP.NORESERVE,
      -1,
      0n,
    );
    if (p === null || Deno.UnsafePointer.value(p) === MAP_FAILED) {
      throw new ErrnoError(errno(), "mmap", { action: "make a snapshot of shared memory" });
    }
    this.setMapping(p, size);
    const want = Math.min(size, LOOK_BYTES);
    let got = 0;
    while (got < want) {
      const n = L.pread_ptr(fd, Deno.UnsafePointer.offset(p, got), want - got, BigInt(got));
      if (n <= 0) break; // a file that shrank meanwhile reads as zeros beyond its end
      got += n;
    }
  }

  protected override get description(): string {
    return "a snapshot of shared memory";
  }

  override get closed(): boolean {
    return this.#closed;
  }

  override close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const r = this.takeMapping();
    if (r !== undefined && !r.escaped) libc().munmap(r.pointer, BigInt(r.length));
  }
}

/**
 * A snapshot of the regular file at `path` (exact bytes), or undefined when it cannot be read
 * (no permission, gone, not a regular file, empty, or too large to reserve address space for).
 */
function snapshotOf(path: Uint8Array): Snapshot | undefined {
  const L = libc();
  const fd = L.open(cPath(path), O.RDONLY | O.NOFOLLOW | O.NONBLOCK | O.CLOEXEC, 0);
  if (fd < 0) return undefined;
  try {
    const st = fstatFd(fd);
    if (st === undefined || !isType(st, S_IFREG) || st.size === 0) return undefined;
    try {
      return new Snapshot(fd, st.size);
    } catch {
      return undefined;
    }
  } finally {
    L.close(fd);
  }
}

/** Reads what dipc put in shared memory (a ring channel's header, or mutexes), from a snapshot. */
function lookInside(o: IpcObject, path: Uint8Array): void {
  const memory = snapshotOf(path);
  if (memory === undefined) return;
  try {
    try {
      const s = ringStats(new Ring(memory, 0, `ring channel ${o.name ?? "?"}`));
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

/** A semaphore's value, read from a snapshot of its file (glibc's value word); null if unreadable. */
function semValue(path: Uint8Array): number | null {
  const memory = snapshotOf(path);
  if (memory === undefined) return null;
  try {
    if (memory.size < PTHREAD.SEM_SIZE) return null;
    const v = memory.int32(0, 1)[0] ?? -1;
    return v >= 0 ? v : null; // above SEM_VALUE_MAX: garbage
  } finally {
    memory.close();
  }
}

const SHM_DIR = "/dev/shm/";

/** What /dev/shm holds that is no IPC object, for the notes. */
function fileType(st: PathStat): string {
  return isType(st, S_IFIFO)
    ? "a FIFO"
    : isType(st, S_IFDIR)
    ? "a directory"
    : isType(st, S_IFLNK)
    ? "a symbolic link"
    : isType(st, S_IFSOCK)
    ? "a socket file"
    : "a device or other special file";
}

function listShm(h: Holders, kinds: Set<IpcKind>, notes: string[]): IpcObject[] {
  const out: IpcObject[] = [];
  for (const e of readDir("/dev/shm") ?? []) {
    const pathBytes = joinBytes(SHM_DIR, e.bytes);
    const path = `${SHM_DIR}${e.name}`;
    const st = lstatPath(pathBytes);
    if (st === undefined) continue; // gone meanwhile
    const exact = e.exact ? undefined : joinBytes("/", e.bytes);
    if (!isType(st, S_IFREG)) {
      notes.push(
        `/dev/shm holds ${fileType(st)}, ${printableBytes(joinBytes(SHM_DIR, e.bytes))}, ` +
          `owned by ${printable(userName(st.uid))}: not an IPC object, not listed`,
      );
      continue;
    }
    if (e.name.startsWith("sem.")) {
      if (!kinds.has("sem")) continue;
      const o = posixBase(
        "sem",
        `/${e.name.slice(4)}`,
        st,
        e.exact ? undefined : joinBytes("/", e.bytes.subarray(4)),
      );
      o.size = null;
      o.count = semValue(pathBytes);
      o.users = usersOf(h, st.ino, path);
      out.push(o);
      continue;
    }
    if (!kinds.has("shm") && !kinds.has("ring")) continue;
    const o = posixBase("shm", `/${e.name}`, st, exact);
    o.users = usersOf(h, st.ino, path);
    lookInside(o, pathBytes);
    if (o.ring !== undefined) {
      const endpoints = [...o.ring.senders, ...(o.ring.receiver ? [o.ring.receiver] : [])];
      o.stale = o.users === 0 && endpoints.every((p) => !p.alive) &&
        (endpoints.length > 0 || o.ring.deaths > 0);
    }
    if (kinds.has(o.kind)) out.push(o);
  }
  return out;
}

/** Queue facts from an open descriptor: attributes, and owner and mode from `fstat`. */
function mqFacts(o: IpcObject, q: MessageQueue): void {
  const a = q.stat();
  o.count = a.currentMessages;
  o.limits = { maxMessages: a.maxMessages, messageSize: a.messageSize };
}

function listMq(h: Holders, notes: string[], names: string[]): IpcObject[] {
  const mounts = readText("/proc/mounts") ?? "";
  if (!/^\S+ \/dev\/mqueue mqueue /m.test(mounts)) {
    notes.push(
      "POSIX queues: /dev/mqueue is not mounted, so they cannot be listed, only found by name " +
        "(mount -t mqueue none /dev/mqueue to list them)",
    );
    return names.flatMap((name) => mqByName(name));
  }
  const out: IpcObject[] = [];
  for (const e of readDir("/dev/mqueue") ?? []) {
    const pathBytes = joinBytes("/dev/mqueue/", e.bytes);
    const path = `/dev/mqueue/${e.name}`;
    const st = lstatPath(pathBytes);
    if (st === undefined) continue;
    const name = `/${e.name}`;
    const o = posixBase("mq", name, st, e.exact ? undefined : joinBytes("/", e.bytes));
    const qsize = /QSIZE:(\d+)/.exec(readText(path) ?? "");
    o.size = qsize ? Number(qsize[1]) : null;
    if (e.exact) {
      try {
        using q = MessageQueue.open(name, { readOnly: true, allowForeignOwner: true });
        mqFacts(o, q);
      } catch {
        // not readable by this user
      }
    }
    o.users = usersOf(h, undefined, path, name);
    out.push(o);
  }
  return out;
}

/** A POSIX queue found by name through `mq_open` (no /dev/mqueue), or none. */
function mqByName(name: string): IpcObject[] {
  let q: MessageQueue;
  try {
    q = MessageQueue.open(name, { readOnly: true, allowForeignOwner: true });
  } catch (e) {
    if (!(e instanceof ErrnoError) || e.code !== "EACCES") return [];
    try {
      q = MessageQueue.open(name, { writeOnly: true, allowForeignOwner: true });
    } catch {
      return [];
    }
  }
  try {
    const st = fstatFd(q.unsafeFd);
    if (st === undefined) return [];
    const o = posixBase("mq", name, st);
    o.size = null;
    o.lastUse = null;
    mqFacts(o, q);
    return [o];
  } catch {
    return [];
  } finally {
    q.close();
  }
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
      // Made to outlive its creator: an orphan at most, never provably abandoned.
      o.orphan = !o.creator.alive && o.users === 0;
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

/**
 * Whether the socket file `st` (at `path`) has a socket bound to it: by its inode, from the
 * kernel's socket diagnostics when they can be had (`diag`); else by its path in
 * /proc/net/unix, where a path bound relative to some directory, or through a symbolic link,
 * cannot be matched for sure: then any bound path ending in the same file name counts as this
 * file (kept, never called stale).
 */
function socketFileBound(
  path: string,
  st: PathStat,
  diag: Set<string> | undefined,
  bound: Set<string>,
): boolean {
  if (diag !== undefined) return diag.has(boundKey(st));
  if (bound.has(path)) return true;
  const base = path.slice(path.lastIndexOf("/") + 1);
  for (const b of bound) {
    if (!b.startsWith("/") && (b === base || b.endsWith(`/${base}`))) return true;
    if (b.startsWith("/") && b.endsWith(`/${base}`)) {
      const other = lstatPath(b);
      if (other !== undefined && other.dev === st.dev && other.ino === st.ino) return true;
    }
  }
  return false;
}

function listFiles(
  dirs: string[],
  h: Holders,
  kinds: Set<IpcKind>,
  bound: Set<string>,
): IpcObject[] {
  const out: IpcObject[] = [];
  const diag = kinds.has("socket") ? boundSocketFiles() : undefined;
  const walk = (dir: Uint8Array, dirExact: boolean, depth: number): void => {
    for (const e of readDir(dir) ?? []) {
      const pathBytes = joinBytes(dir, "/", e.bytes);
      const exact = dirExact && e.exact;
      const path = new TextDecoder().decode(pathBytes);
      const st = lstatPath(pathBytes);
      if (st === undefined) continue;
      if (isType(st, S_IFDIR) && depth > 0) walk(pathBytes, exact, depth - 1);
      const odd = exact ? undefined : pathBytes;
      if (isType(st, S_IFIFO) && kinds.has("fifo")) {
        const o = posixBase("fifo", path, st, odd);
        o.size = null;
        o.users = usersOf(h, undefined, path);
        out.push(o);
      } else if (isType(st, S_IFSOCK) && kinds.has("socket") && !bound.has(path)) {
        // A socket file not listed under this path by /proc/net/unix: one bound to it another
        // way (a relative path, a symbolic link) is in use; one nothing is bound to was left by
        // a listener that is gone.
        const inUse = socketFileBound(path, st, diag, bound);
        const o = posixBase("socket", path, st, odd);
        o.size = null;
        o.users = inUse ? null : 0;
        o.stale = !inUse;
        o.socket = { listening: false, type: "stream", bound: inUse };
        out.push(o);
      }
    }
  };
  for (const d of dirs) walk(new TextEncoder().encode(d.replace(/\/+$/, "") || "/"), true, 2);
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
  const o = validateOptionKeys<ListIpcOptions>(
    options,
    ["dirs", "kinds", "names"],
    "listIpcObjects",
  );
  const dirs = validateStrings(o.dirs, "dirs");
  const names = validateStrings(o.names, "names");
  names.forEach((n) => validatePosixName(n, "names[]"));
  const kinds = new Set(o.kinds === undefined ? IPC_KINDS : validateKinds(o.kinds));
  const notes: string[] = [];
  const h = lazyHolders();
  const objects: IpcObject[] = [
    ...listShm(h, kinds, notes),
    ...(kinds.has("mq") ? listMq(h, notes, names) : []),
    ...listSysV(kinds),
  ];
  const sockets = listSockets(h, dirs);
  if (kinds.has("socket")) objects.push(...sockets.objects);
  objects.push(...listFiles(dirs, h, kinds, sockets.bound));
  if (h.scanned && h.hidden > 0) {
    notes.unshift(
      `${h.hidden} processes of other users could not be looked into: ` +
        "the open counts cover this user's processes only",
    );
  }
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

/** Throws a TypeError unless `o` looks like an object {@linkcode listIpcObjects} returned. */
export function validateIpcObject(o: unknown): asserts o is IpcObject {
  const x = o as Partial<IpcObject> | null;
  if (
    typeof x !== "object" || x === null || !IPC_KINDS.includes(x.kind as IpcKind) ||
    !(typeof x.name === "string" || x.name === null) ||
    !(Number.isSafeInteger(x.id) || x.id === null) ||
    !(Number.isSafeInteger(x.key) || x.key === null) || !Number.isSafeInteger(x.uid) ||
    !(x.nameHex === undefined || fromHex(x.nameHex) !== undefined)
  ) {
    throw new TypeError(`not an object listIpcObjects returned: ${printable(describe(o))}`);
  }
}

/**
 * How messages name an object: "shm /jobs", "sysv-shm id 32768 (key 0x0000abcd)".
 *
 * @param o the object, as listed
 * @returns the description
 *
 * @example One line for a message
 * ```ts
 * import { describeObject, listIpcObjects, SysVMessageQueue } from "@dipc/dipc";
 *
 * using q = SysVMessageQueue.temporary();
 * const found = listIpcObjects({ kinds: ["sysv-mq"] }).objects.find((o) => o.id === q.id);
 * if (found) console.log(describeObject(found)); // "sysv-mq id 32768 (key 0x00000000)"
 * ```
 */
export function describeObject(o: IpcObject): string {
  validateIpcObject(o);
  if (o.id !== null) {
    return `${o.kind} id ${o.id} (key 0x${(o.key ?? 0).toString(16).padStart(8, "0")})`;
  }
  return `${o.kind} ${printableName(o)}`;
}

/**
 * An object's name as it is safe to show on a terminal: escaped as `ls -b` escapes (see the
 * module doc), from its exact bytes when it has `nameHex`; a System V object's key and id.
 *
 * @param o the object, as listed
 * @returns the name, printable
 *
 * @example A hostile name, shown safely
 * ```ts
 * import { listIpcObjects, printableName, SharedMemory } from "@dipc/dipc";
 *
 * using shm = SharedMemory.temporary({ size: 16, prefix: "dipc-doc-\x1b[2J" });
 * const found = listIpcObjects({ kinds: ["shm"] }).objects.find((o) => o.name === shm.name);
 * if (found) console.log(printableName(found).includes("\\e[2J")); // true: no escape reaches the terminal
 * ```
 */
export function printableName(o: IpcObject): string {
  validateIpcObject(o);
  if (o.id !== null) return `0x${(o.key ?? 0).toString(16).padStart(8, "0")} id:${o.id}`;
  if (o.nameHex !== undefined) return printableBytes(fromHex(o.nameHex) ?? new Uint8Array(0));
  return printable(o.name ?? "?");
}

/**
 * The inventory's removing half: which objects are stale, whether one is in use, and removing
 * one after looking again. src/inventory.ts (the face) re-exports it.
 *
 * @module
 */

import { SysVSharedMemory } from "./sysv_shm.ts";
import { SysVMessageQueue } from "./sysv_mq.ts";
import { SysVSemaphoreSet } from "./sysv_sem.ts";
import { cPath, joinBytes, lstatPath } from "../ffi/util.ts";
import { errno, libc, librt } from "../ffi/load.ts";
import { ErrnoError, ForeignOwnerError } from "./errors.ts";
import { E, S_IFIFO, S_IFSOCK } from "../ffi/constants.ts";
import { fromHex } from "./_printable.ts";
import { validateBoolean, validateOptionKeys } from "./_validate.ts";
import { type IpcKind } from "./_ipc_kinds.ts";

import {
  describeObject,
  type IpcObject,
  isType,
  listIpcObjects,
  type ListIpcOptions,
  validateIpcObject,
} from "./_inventory_list.ts";

/** Options for {@linkcode staleIpcObjects}. */
export interface StaleIpcOptions extends ListIpcOptions {
  /** Include other users' stale objects too (default: only this user's). */
  allowForeignOwner?: boolean;
  /**
   * Include orphans too: objects whose creator is dead and that nobody has attached, but that
   * are not provably abandoned (System V segments, made to outlive their creators). Off by
   * default: `ipcmk`'s segment, a database's, another program's are never taken for stale.
   */
  includeOrphans?: boolean;
}

/**
 * The stale objects, provably abandoned (see the module doc): a ring channel whose every
 * recorded end is dead, a socket file nothing is bound to; with `includeOrphans`, the orphans
 * too. Only this user's (owned and, for System V, created) unless `allowForeignOwner`.
 *
 * @param options `dirs`, `kinds`, `allowForeignOwner`, `includeOrphans`
 * @returns the objects, as {@linkcode listIpcObjects} lists them
 *
 * @example What nobody will come back for
 * ```ts
 * import { RingChannel, staleIpcObjects } from "@dipc/dipc";
 *
 * const name = `/dipc-doc-${crypto.randomUUID()}`;
 * RingChannel.create(name, { capacity: 4096 }).close(); // nobody ever attached
 * const stale = staleIpcObjects({ kinds: ["ring"] }).some((o) => o.name === name);
 * console.log(stale); // false: never attached is not abandoned
 * RingChannel.unlink(name);
 * ```
 */
export function staleIpcObjects(options?: StaleIpcOptions): IpcObject[] {
  const o = validateOptionKeys<StaleIpcOptions>(
    options,
    ["dirs", "kinds", "names", "allowForeignOwner", "includeOrphans"],
    "staleIpcObjects",
  );
  const foreign = validateBoolean(o.allowForeignOwner, "allowForeignOwner");
  const orphans = validateBoolean(o.includeOrphans, "includeOrphans");
  const me = libc().geteuid();
  return listIpcObjects({
    ...(o.dirs ? { dirs: o.dirs } : {}),
    ...(o.kinds ? { kinds: o.kinds } : {}),
    ...(o.names ? { names: o.names } : {}),
  }).objects.filter((x) =>
    (x.stale || (orphans && x.orphan === true)) &&
    (foreign || (x.uid === me && (x.creatorUid === null || x.creatorUid === me)))
  );
}

/** Options for {@linkcode removeIpcObject}. */
export interface RemoveIpcOptions {
  /** Remove it even when it is in use (someone has it open or attached, or listens). */
  force?: boolean;
  /** Remove it even when another user owns or created it (the kernel still decides). */
  allowForeignOwner?: boolean;
  /**
   * Remove it only if it is still stale now (or, with `includeOrphans`, an orphan): what
   * `dipc rm --stale` passes, so an object that came back to use since it was listed is kept.
   */
  ifStale?: boolean;
  /** With `ifStale`: an orphan counts as stale. */
  includeOrphans?: boolean;
}

/**
 * Whether something has `o` open or attached, or listens on it, as far as can be known.
 *
 * @param o the object, as listed
 * @returns true when it is in use
 *
 * @example In use while mapped
 * ```ts
 * import { ipcObjectInUse, listIpcObjects, SharedMemory } from "@dipc/dipc";
 *
 * const shm = SharedMemory.temporary({ size: 4096 });
 * const find = () => listIpcObjects({ kinds: ["shm"] }).objects.find((o) => o.name === shm.name);
 * const listed = find();
 * console.log(listed !== undefined && ipcObjectInUse(listed)); // true: this process maps it
 * shm.close(); // and unlinks it
 * ```
 */
export function ipcObjectInUse(o: IpcObject): boolean {
  validateIpcObject(o);
  if ((o.users ?? 0) > 0) return true;
  if (o.socket?.listening || o.socket?.bound) return true;
  if (o.ring) return o.ring.senders.some((p) => p.alive) || o.ring.receiver?.alive === true;
  return false;
}

/** The exact bytes of a POSIX object's name (from `nameHex` when there is one). */
function nameBytes(o: IpcObject): Uint8Array {
  if (o.nameHex !== undefined) return fromHex(o.nameHex) ?? new Uint8Array(0);
  return new TextEncoder().encode(o.name ?? "");
}

/** Whether two listings are of the same object (kind, name bytes or id). */
function sameObject(a: IpcObject, b: IpcObject): boolean {
  const kindOf = (k: IpcKind): IpcKind => (k === "ring" ? "shm" : k);
  if (kindOf(a.kind) !== kindOf(b.kind)) return false;
  if (a.id !== null || b.id !== null) return a.id === b.id;
  const x = nameBytes(a);
  const y = nameBytes(b);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * The object as the system shows it now: listed afresh (an object given by the caller may be an
 * old listing, or the name may have been made again since, by another user). Undefined when it
 * has gone.
 */
function now(o: IpcObject): IpcObject | undefined {
  const path = o.kind === "fifo" || o.kind === "socket" ? o.name ?? "" : "";
  const dirs = path.startsWith("/") ? [path.replace(/\/[^/]*$/, "") || "/"] : [];
  const names = o.kind === "mq" && o.nameHex === undefined && o.name !== null ? [o.name] : [];
  const kinds: IpcKind[] = o.kind === "shm" || o.kind === "ring" ? ["shm", "ring"] : [o.kind];
  return listIpcObjects({ dirs, kinds, names }).objects.find((x) => sameObject(x, o));
}

/** Unlinks `path` (exact bytes) with libc's `unlink`, reporting `what`. */
function unlinkPath(path: Uint8Array, what: string): void {
  if (libc().unlink(cPath(path)) !== 0) {
    throw new ErrnoError(errno(), "unlink", { action: "remove", object: what });
  }
}

/**
 * Removes an object {@linkcode listIpcObjects} found: unlinks a POSIX name, FIFO or socket
 * file, or removes a System V object by id (`IPC_RMID`). The owner, the creator and whether it
 * is in use are checked on the object as it is *now* (listed again), never only on the listing
 * given: an object in use is refused unless `force` (a socket file some socket is bound to
 * counts as in use), one another user owns or created unless `allowForeignOwner`, and with
 * `ifStale` one that is no longer stale. A name that is not valid UTF-8 is removed by its exact
 * bytes (`nameHex`).
 *
 * @param o the object, as listed
 * @param options `force`, `allowForeignOwner`, `ifStale`, `includeOrphans`
 * @throws {ForeignOwnerError} another user owns or created it
 * @throws {ErrnoError} EBUSY when it is in use (or, with `ifStale`, no longer stale); ENOENT when
 *   it has gone; EACCES, EPERM
 *
 * @example Remove what a listing found
 * ```ts
 * import { listIpcObjects, MessageQueue, removeIpcObject } from "@dipc/dipc";
 *
 * const name = `/dipc-doc-${crypto.randomUUID()}`;
 * MessageQueue.create(name, { maxMessages: 1, messageSize: 64 }).close();
 * const queue = listIpcObjects({ kinds: ["mq"], names: [name] }).objects.find((o) => o.name === name);
 * if (queue) removeIpcObject(queue); // checks the owner and that nobody has it open first
 * console.log(listIpcObjects({ kinds: ["mq"], names: [name] }).objects.length); // 0
 * ```
 */
export function removeIpcObject(o: IpcObject, options?: RemoveIpcOptions): void {
  const opts = validateOptionKeys<RemoveIpcOptions>(
    options,
    ["force", "allowForeignOwner", "ifStale", "includeOrphans"],
    "removeIpcObject",
  );
  const force = validateBoolean(opts.force, "force");
  const foreign = validateBoolean(opts.allowForeignOwner, "allowForeignOwner");
  const ifStale = validateBoolean(opts.ifStale, "ifStale");
  const orphans = validateBoolean(opts.includeOrphans, "includeOrphans");
  validateIpcObject(o);
  const what = describeObject(o);
  const fresh = now(o);
  if (fresh === undefined) {
    throw new ErrnoError(E.ENOENT, "remove", { object: what, detail: "it is no longer there" });
  }
  const myUid = libc().geteuid();
  if (!foreign && fresh.uid !== myUid) throw new ForeignOwnerError(what, fresh.uid, myUid);
  if (!foreign && fresh.creatorUid !== null && fresh.creatorUid !== myUid) {
    throw new ForeignOwnerError(what, fresh.creatorUid, myUid, "created");
  }
  if (ifStale && !(fresh.stale || (orphans && fresh.orphan === true))) {
    throw new ErrnoError(E.EBUSY, "remove", {
      object: what,
      detail: "it is no longer stale (in use again since it was listed); not removed",
    });
  }
  if (!force && ipcObjectInUse(fresh)) {
    throw new ErrnoError(E.EBUSY, "remove", {
      object: what,
      detail: "it is in use (open, attached, bound or listening); force removes it anyway",
    });
  }
  switch (fresh.kind) {
    case "shm":
    case "ring":
      return unlinkPath(joinBytes("/dev/shm", nameBytes(fresh)), what);
    case "sem":
      return unlinkPath(joinBytes("/dev/shm/sem.", nameBytes(fresh).subarray(1)), what);
    case "mq": {
      if (librt().mq_unlink(cPath(nameBytes(fresh))) !== 0) {
        throw new ErrnoError(errno(), "mq_unlink", { action: "remove", object: what });
      }
      return;
    }
    case "sysv-shm":
      return SysVSharedMemory.remove(fresh.id ?? -1);
    case "sysv-mq":
      return SysVMessageQueue.remove(fresh.id ?? -1);
    case "sysv-sem":
      return SysVSemaphoreSet.remove(fresh.id ?? -1);
    case "fifo":
    case "socket": {
      const path = nameBytes(fresh);
      if (path[0] !== 0x2f) throw new TypeError(`${what} has no file to remove`);
      const st = lstatPath(path);
      const type = fresh.kind === "fifo" ? S_IFIFO : S_IFSOCK;
      if (st !== undefined && !isType(st, type)) {
        throw new TypeError(`${what} is no longer a ${fresh.kind} file; not removed`);
      }
      return unlinkPath(path, what);
    }
  }
}

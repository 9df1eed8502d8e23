/**
 * The System V identity code every System V kind shares: key and id checks, `struct ipc_perm`
 * reading and writing, the one owner check, the get protocol (create exclusive or open) and the
 * identity of a handle (id, key, stat, IPC_SET, remove).
 *
 * @module
 */

import { E, IPC, IPC_PERM } from "../ffi/constants.ts";
import { errno, libc } from "../ffi/load.ts";
import { ErrnoError, ForeignOwnerError } from "./errors.ts";
import { lastError } from "./_errno.ts";
import type { OutStruct } from "../ffi/util.ts";
import type { IpcPermissions } from "./sysv_key.ts";
import {
  type CreateRule,
  describe,
  validateInteger,
  validateMode,
  validateOptions,
} from "./_validate.ts";

/** Owner and mode changes for a System V object's `IPC_SET`. */
export interface SysVPermissionChange {
  /** New owner uid. */
  uid?: number;
  /** New owner gid. */
  gid?: number;
  /** New permission bits. */
  mode?: number;
}

/** Checks an owner/mode change before any call. */
export function validatePermissionChange(change: unknown): SysVPermissionChange {
  const c = validateOptions<SysVPermissionChange>(change, "change");
  if (c.uid !== undefined) validateInteger(c.uid, "uid", 0, 0xfffffffe);
  if (c.gid !== undefined) validateInteger(c.gid, "gid", 0, 0xfffffffe);
  if (c.mode !== undefined) validateMode(c.mode);
  return c;
}

/** A `time_t` field as a Date, or null when it is 0 (never). */
export function seconds(out: OutStruct, offset: number): Date | null {
  const s = out.u64(offset);
  return s === 0 ? null : new Date(s * 1000);
}

/**
 * Checks a System V key: an integer that fits `key_t`, given signed (-2^31..2^31-1) or as the
 * unsigned value `ipcs` prints (up to 0xffffffff). Returns it unsigned, as `ipcs` prints it;
 * calls pass it on as `key | 0`.
 */
export function validateKey(key: unknown): number {
  if (typeof key !== "number") throw new TypeError(`key must be a number, got ${describe(key)}`);
  if (!Number.isInteger(key) || key < -0x80000000 || key > 0xffffffff) {
    throw new RangeError(`key must be a 32-bit integer, got ${key}`);
  }
  return key >>> 0; // as ipcs prints it: 0xdeadbeef, never -559038737
}

/** Checks a System V object id (shmid, msqid, semid): a non-negative `int`. */
export function validateId(id: unknown): number {
  if (typeof id !== "number") throw new TypeError(`id must be a number, got ${describe(id)}`);
  if (!Number.isInteger(id) || id < 0 || id > 0x7fffffff) {
    throw new RangeError(`id must be an integer 0..2147483647, got ${id}`);
  }
  return id;
}

/**
 * The one owner check of every System V kind: the object must be owned *and* created by this
 * process's effective uid. The owner (`uid`) alone proves nothing: a creator may hand it to
 * anyone with IPC_SET and keep full rights, so a squatter could make an object look like ours.
 * The creator (`cuid`) cannot be changed. (`cgid` adds nothing once `cuid` is ours: it is only
 * the group our own creator ran with.)
 *
 * @param what the object as messages name it ("System V shm 42")
 * @param perm its `ipc_perm`
 * @throws {ForeignOwnerError} naming the foreign creator or owner
 */
export function checkSysVOwner(what: string, perm: IpcPermissions): void {
  const me = libc().geteuid();
  if (perm.cuid !== me) throw new ForeignOwnerError(what, perm.cuid, me, "created");
  if (perm.uid !== me) throw new ForeignOwnerError(what, perm.uid, me);
}

/** Reads a `struct ipc_perm` at offset `base` of `out`. */
export function readIpcPerm(out: OutStruct, base: number): IpcPermissions {
  return {
    key: out.u32(base + IPC_PERM.key),
    uid: out.u32(base + IPC_PERM.uid),
    gid: out.u32(base + IPC_PERM.gid),
    cuid: out.u32(base + IPC_PERM.cuid),
    cgid: out.u32(base + IPC_PERM.cgid),
    mode: out.u16(base + IPC_PERM.mode) & 0o777,
  };
}

/** Writes owner and mode into a `struct ipc_perm` before `IPC_SET`. */
export function writeIpcPerm(
  out: OutStruct,
  base: number,
  change: { uid?: number; gid?: number; mode?: number },
): void {
  if (change.uid !== undefined) out.setU32(base + IPC_PERM.uid, change.uid);
  if (change.gid !== undefined) out.setU32(base + IPC_PERM.gid, change.gid);
  if (change.mode !== undefined) {
    const old = out.u16(base + IPC_PERM.mode);
    out.setU16(base + IPC_PERM.mode, (old & ~0o777) | change.mode);
  }
}

/** How one System V kind gets, stats and removes its objects (its `*get` and `*ctl` calls). */
export interface SysVKind<S extends IpcPermissions> {
  /** The kind as messages name it: "System V shared memory". */
  readonly what: string;
  /** The get call, for errors: "shmget". */
  readonly getCall: string;
  /** The control call, for errors: "shmctl". */
  readonly ctlCall: string;
  /** `*get(key, flags)`: the id, or -1 with errno set. */
  get(key: number, flags: number): number;
  /** `IPC_RMID`: 0, or -1 with errno set. */
  rmid(id: number): number;
  /** `IPC_STAT` into the kind's reusable struct, then decoded (throws ErrnoError). */
  stat(id: number): S;
  /** `IPC_STAT` then `IPC_SET` with `change` written into the struct (throws ErrnoError). */
  set(id: number, change: SysVPermissionChange): void;
}

/**
 * The one way every System V kind finds its object: `create` gets it with
 * `IPC_CREAT | IPC_EXCL` (so this call knows it made it) and, on EEXIST with
 * `exclusive: false`, gets the existing one; `open` gets an existing one only (ENOENT when the
 * key has none; IPC_PRIVATE is refused, as it always makes a new object); an object this call
 * did not make must be ours ({@linkcode checkSysVOwner}) unless foreign owners are allowed.
 *
 * @returns the id, and whether this call made it
 */
export function getSysVId<S extends IpcPermissions>(
  kind: SysVKind<S>,
  key: number,
  create: CreateRule | undefined,
  allowForeignOwner: boolean,
): { id: number; created: boolean } {
  if (create === undefined && key === 0) {
    throw new TypeError(`IPC_PRIVATE always makes a new object: use create() or temporary()`);
  }
  let id = -1;
  if (create !== undefined) {
    id = kind.get(key | 0, IPC.CREAT | IPC.EXCL | create.mode);
    if (id >= 0) return { id, created: true };
    const e = errno();
    if (e !== E.EEXIST || create.exclusive) {
      throw new ErrnoError(e, kind.getCall, {
        action: `create ${kind.what} with key`,
        object: key,
      });
    }
  }
  id = kind.get(key | 0, 0);
  if (id < 0) throw lastError(kind.getCall, `get ${kind.what} with key`, key);
  if (!(allowForeignOwner || create?.allowForeignOwner)) {
    checkSysVOwner(`${kind.what} ${id}`, kind.stat(id));
  }
  return { id, created: false };
}

/**
 * The identity part of every System V handle: id, key, whether this handle made the object,
 * `stat`, `setPermissions` and `remove` (which works after the handle is closed: the object
 * outlives the handle) and the removal of a temporary object at close.
 */
export class SysVIdentity<S extends IpcPermissions> {
  readonly kind: SysVKind<S>;
  readonly id: number;
  readonly key: number;
  readonly created: boolean;
  /** Set by `temporary`: the object is removed when the handle closes. */
  removeOnClose = false;
  #removed = false;

  constructor(kind: SysVKind<S>, id: number, key: number, created: boolean) {
    this.kind = kind;
    this.id = id;
    this.key = key >>> 0;
    this.created = created;
  }

  /** The object as messages name it: "System V shared memory 42". */
  get what(): string {
    return `${this.kind.what} ${this.id}`;
  }

  /** `IPC_STAT`. */
  stat(): S {
    return this.kind.stat(this.id);
  }

  /** `IPC_SET` of owner and mode (checked first). */
  setPermissions(change: unknown): void {
    this.kind.set(this.id, validatePermissionChange(change));
  }

  /** `IPC_RMID`; a second call through the same handle does nothing. */
  remove(): void {
    this.removeOnClose = false;
    if (this.#removed) return;
    removeSysVId(this.kind, this.id);
    this.#removed = true;
  }

  /** At close: removes a temporary object (errors ignored: it may be gone already). */
  closed(): void {
    if (!this.removeOnClose) return;
    this.removeOnClose = false;
    this.#removed = true;
    this.kind.rmid(this.id);
  }
}

/**
 * The identity of the object `id` (checked), opened by id: its status (by `stat`, the kind's own
 * by default), owned by this user unless foreign owners are allowed.
 */
export function identityOfId<S extends IpcPermissions>(
  kind: SysVKind<S>,
  id: unknown,
  allowForeignOwner: boolean,
  stat: (id: number) => S = kind.stat,
): { identity: SysVIdentity<S>; st: S } {
  const i = validateId(id);
  const st = stat(i);
  if (!allowForeignOwner) checkSysVOwner(`${kind.what} ${i}`, st);
  return { identity: new SysVIdentity(kind, i, st.key, false), st };
}

/** `IPC_RMID` of `id` (checked), throwing ErrnoError naming the kind. */
export function removeSysVId<S extends IpcPermissions>(kind: SysVKind<S>, id: unknown): void {
  const i = validateId(id);
  if (kind.rmid(i) !== 0) throw lastError(kind.ctlCall, `remove ${kind.what}`, i);
}

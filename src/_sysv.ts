/**
 * Private helpers for the System V modules: key and id checks, `struct ipc_perm` reading and
 * writing.
 *
 * @module
 */

import { IPC_PERM } from "../ffi/constants.ts";
import { libc } from "../ffi/load.ts";
import { ForeignOwnerError } from "./errors.ts";
import type { OutStruct } from "../ffi/util.ts";
import type { IpcPermissions } from "./sysv_key.ts";
import { describe, validateInteger, validateMode, validateOptions } from "./_validate.ts";

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

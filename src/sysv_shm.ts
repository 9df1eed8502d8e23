/**
 * System V shared memory: segments found by a key (`shmget`), attached into the address space
 * (`shmat`), inspected and changed (`shmctl`), and removed (`IPC_RMID`). This is the API of the
 * seed program: `ftok` → `shmget` → `shmat` → use → `shmdt` → `shmctl(IPC_RMID)`.
 *
 * {@linkcode SysVSharedMemory.open} gets (or creates) a segment and attaches it; its
 * {@linkcode SysVSharedMemory.bytes} is a zero-copy `Uint8Array` over the attachment.
 * `close()` detaches (after detaching every view, so a stale view reads as empty); `remove()`
 * marks the segment for removal, which happens once the last process detaches.
 *
 * A read-only attachment (`SHM_RDONLY`) has no view at all: writing through a view of
 * read-only memory would kill the process, so its contents are read with
 * {@linkcode SysVSharedMemory.read}, which copies.
 *
 * @example Seed 000 in Deno
 * ```ts
 * import { SysVSharedMemory } from "@dipc/dipc";
 *
 * using shm = SysVSharedMemory.temporary({ size: 1024 });
 * shm.bytes.set(new TextEncoder().encode("Linux Programming\0"));
 * using other = SysVSharedMemory.openId(shm.id, { readOnly: true });
 * console.log(new TextDecoder().decode(other.read(0, 17))); // "Linux Programming"
 * console.log(shm.stat().attachments); // 2
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man7/sysvipc.7.html}
 * @module
 */

import { checkInternal, INTERNAL } from "./_internal.ts";
import { E, IPC, MAP_FAILED, SHM, SHMID_DS } from "../ffi/constants.ts";
import { errno, libc } from "../ffi/load.ts";
import { OutStruct } from "../ffi/util.ts";
import { ErrnoError } from "./errors.ts";
import { lastError } from "./_errno.ts";
import { MappedMemory } from "./mapped_memory.ts";
import { releaseRegion } from "./_mapping.ts";
import { IPC_PRIVATE, type IpcPermissions } from "./sysv_key.ts";
import {
  checkSysVOwner,
  readIpcPerm,
  seconds,
  type SysVPermissionChange,
  validateId,
  validateKey,
  validatePermissionChange,
  writeIpcPerm,
} from "./_sysv.ts";
import { validateBoolean, validateInteger, validateMode, validateOptions } from "./_validate.ts";

export type { SysVPermissionChange } from "./_sysv.ts";

/** Options for {@linkcode SysVSharedMemory.open}. */
export interface SysVSharedMemoryOptions {
  /** Create the segment if the key has none (`IPC_CREAT`). Needs `size`. */
  create?: boolean;
  /** With `create`: fail with EEXIST if the key has a segment (`IPC_EXCL`). */
  exclusive?: boolean;
  /** Permission bits of a new segment (default 0o600). */
  mode?: number;
  /** Size in bytes of a new segment. */
  size?: number;
  /** Attach read-only (`SHM_RDONLY`); read with `read()`. */
  readOnly?: boolean;
  /** Accept a segment owned by another user (off by default: squatting defence). */
  allowForeignOwner?: boolean;
}

/** What `IPC_STAT` reports of a segment. */
export interface SysVSharedMemoryStat extends IpcPermissions {
  /** Size in bytes (`shm_segsz`). */
  size: number;
  /** Number of current attachments, in all processes (`shm_nattch`). */
  attachments: number;
  /** Pid of the creator (`shm_cpid`). */
  creatorPid: number;
  /** Pid of the last `shmat`/`shmdt` (`shm_lpid`). */
  lastPid: number;
  /** Last attach, or null if never. */
  attached: Date | null;
  /** Last detach, or null if never. */
  detached: Date | null;
  /** Last change (creation or `IPC_SET`). */
  changed: Date;
}

const ds = new OutStruct(SHMID_DS.size);

function statId(id: number): SysVSharedMemoryStat {
  if (libc().shmctl(id, IPC.STAT, ds.clear().bytes) !== 0) {
    throw lastError("shmctl", "stat System V shared memory", id);
  }
  return {
    ...readIpcPerm(ds, SHMID_DS.shm_perm),
    size: ds.u64(SHMID_DS.shm_segsz),
    attachments: ds.u64(SHMID_DS.shm_nattch),
    creatorPid: ds.i32(SHMID_DS.shm_cpid),
    lastPid: ds.i32(SHMID_DS.shm_lpid),
    attached: seconds(ds, SHMID_DS.shm_atime),
    detached: seconds(ds, SHMID_DS.shm_dtime),
    changed: seconds(ds, SHMID_DS.shm_ctime) ?? new Date(0),
  };
}

/**
 * A System V shared memory segment attached to this process.
 *
 * @see {@link https://man7.org/linux/man-pages/man2/shmget.2.html}
 */
export class SysVSharedMemory extends MappedMemory {
  readonly #id: number;
  readonly #key: number;
  readonly #readOnly: boolean;
  readonly #created: boolean;
  #attached = true;
  #removeOnClose = false;

  private constructor(
    token: unknown,
    id: number,
    key: number,
    readOnly: boolean,
    created: boolean,
    pointer: Deno.PointerObject,
    size: number,
  ) {
    super();
    checkInternal(token, "SysVSharedMemory.open/openId/temporary()");
    this.#id = id;
    this.#key = key;
    this.#readOnly = readOnly;
    this.#created = created;
    this.setMapping(pointer, size);
  }

  /**
   * Gets the segment of `key` (creating it with `create`) and attaches it.
   *
   * @param key a key from {@linkcode ftok}, an agreed number, or {@linkcode IPC_PRIVATE}
   *   (always a new segment)
   * @param options create, exclusive, mode, size, readOnly, allowForeignOwner
   * @returns the attached segment
   * @throws {TypeError} / {RangeError} for a bad key, size, mode or option
   * @throws {ErrnoError} ENOENT (no segment for the key), EEXIST (exclusive), EACCES, EINVAL
   *   (size beyond SHMMAX or larger than the existing segment), ENOSPC, ENOMEM
   * @throws {ForeignOwnerError} when another user owns the segment
   * @see {@link https://man7.org/linux/man-pages/man2/shmget.2.html}
   *
   * @example Create by key, attach again by key
   * ```ts
   * import { ftok, SysVSharedMemory } from "@dipc/dipc";
   *
   * const file = await Deno.makeTempFile();
   * const key = ftok(file, "R");
   * using a = SysVSharedMemory.open(key, { create: true, exclusive: true, size: 4096 });
   * using b = SysVSharedMemory.open(key);
   * console.log(a.id === b.id, b.size); // true 4096
   * a.remove();
   * await Deno.remove(file);
   * ```
   */
  static open(key: number, options?: SysVSharedMemoryOptions): SysVSharedMemory {
    const k = validateKey(key);
    const o = validateOptions<SysVSharedMemoryOptions>(options);
    const create = validateBoolean(o.create, "create");
    const exclusive = validateBoolean(o.exclusive, "exclusive");
    const readOnly = validateBoolean(o.readOnly, "readOnly");
    const allowForeign = validateBoolean(o.allowForeignOwner, "allowForeignOwner");
    const mode = o.mode === undefined ? 0o600 : validateMode(o.mode);
    if (exclusive && !create) throw new TypeError("exclusive needs create: true");
    if (create && o.size === undefined) throw new TypeError("create needs a size");
    if (!create && o.mode !== undefined) throw new TypeError("mode applies only with create");
    if (k === IPC_PRIVATE && !create) {
      throw new TypeError("IPC_PRIVATE always makes a new segment: pass create: true and a size");
    }
    const size = o.size === undefined
      ? 0
      : validateInteger(o.size, "size", 1, Number.MAX_SAFE_INTEGER);

    const { shmget } = libc();
    let id = -1;
    let created = false;
    if (create) {
      id = shmget(k | 0, BigInt(size), IPC.CREAT | IPC.EXCL | mode);
      if (id >= 0) created = true;
      else {
        const e = errno();
        if (e !== E.EEXIST || exclusive) {
          throw new ErrnoError(e, "shmget", {
            action: "create System V shared memory with key",
            object: k,
          });
        }
      }
    }
    if (id < 0) {
      id = shmget(k | 0, 0n, 0);
      if (id < 0) throw lastError("shmget", "get System V shared memory with key", k);
    }
    try {
      return SysVSharedMemory.#attach(id, k, readOnly, created, allowForeign);
    } catch (e) {
      if (created) libc().shmctl(id, IPC.RMID, null);
      throw e;
    }
  }

  /**
   * Attaches the segment with id `id` (as `ipcs -m` lists it, or as another process passed it).
   *
   * @param id the shmid
   * @param options readOnly, allowForeignOwner
   * @returns the attached segment
   * @throws {ErrnoError} EINVAL (no such id), EIDRM (removed), EACCES
   * @throws {ForeignOwnerError} when another user owns the segment
   * @see {@link https://man7.org/linux/man-pages/man2/shmat.2.html}
   *
   * @example Attach by id
   * ```ts
   * import { SysVSharedMemory } from "@dipc/dipc";
   *
   * using a = SysVSharedMemory.temporary({ size: 64 });
   * using b = SysVSharedMemory.openId(a.id);
   * b.bytes[0] = 42;
   * console.log(a.bytes[0]); // 42
   * ```
   */
  static openId(
    id: number,
    options?: Pick<SysVSharedMemoryOptions, "readOnly" | "allowForeignOwner">,
  ): SysVSharedMemory {
    validateId(id);
    const o = validateOptions<SysVSharedMemoryOptions>(options);
    const readOnly = validateBoolean(o.readOnly, "readOnly");
    const allowForeign = validateBoolean(o.allowForeignOwner, "allowForeignOwner");
    return SysVSharedMemory.#attach(id, undefined, readOnly, false, allowForeign);
  }

  /**
   * Creates a new `IPC_PRIVATE` segment that is removed when this handle is closed or disposed.
   * Other processes attach it by {@linkcode SysVSharedMemory.id}.
   *
   * @param options size (required) and mode
   * @returns the attached segment
   * @throws {ErrnoError} EINVAL (size beyond SHMMAX), ENOSPC, ENOMEM
   * @see {@link https://man7.org/linux/man-pages/man2/shmget.2.html}
   *
   * @example Temporary segment
   * ```ts
   * import { SysVSharedMemory } from "@dipc/dipc";
   *
   * using shm = SysVSharedMemory.temporary({ size: 64 });
   * console.log(shm.key); // 0
   * ```
   */
  static temporary(options: { size: number; mode?: number }): SysVSharedMemory {
    const o = validateOptions<{ size: number; mode?: number }>(options);
    const opts: SysVSharedMemoryOptions = { create: true, size: o.size };
    if (o.mode !== undefined) opts.mode = o.mode;
    const shm = SysVSharedMemory.open(IPC_PRIVATE, opts);
    shm.#removeOnClose = true;
    return shm;
  }

  /**
   * Marks the segment `id` for removal (`IPC_RMID`): it disappears once every process has
   * detached.
   *
   * @param id the shmid
   * @throws {ErrnoError} EINVAL (no such id), EPERM (not owner or creator)
   * @see {@link https://man7.org/linux/man-pages/man2/shmctl.2.html}
   *
   * @example Remove by id
   * ```ts
   * import { IPC_PRIVATE, SysVSharedMemory } from "@dipc/dipc";
   *
   * const shm = SysVSharedMemory.open(IPC_PRIVATE, { create: true, size: 64 });
   * const id = shm.id;
   * shm.close();
   * SysVSharedMemory.remove(id);
   * ```
   */
  static remove(id: number): void {
    validateId(id);
    if (libc().shmctl(id, IPC.RMID, null) !== 0) {
      throw lastError("shmctl", "remove System V shared memory", id);
    }
  }

  /**
   * What `IPC_STAT` reports for the segment `id`, attached or not.
   *
   * @param id the shmid
   * @returns the segment's status
   * @throws {ErrnoError} EINVAL (no such id), EACCES
   * @see {@link https://man7.org/linux/man-pages/man2/shmctl.2.html}
   */
  static statId(id: number): SysVSharedMemoryStat {
    return statId(validateId(id));
  }

  static #attach(
    id: number,
    key: number | undefined,
    readOnly: boolean,
    created: boolean,
    allowForeign: boolean,
  ): SysVSharedMemory {
    const st = statId(id);
    if (!created && !allowForeign) checkSysVOwner(`System V shm ${id}`, st);
    const p = libc().shmat(id, null, readOnly ? SHM.RDONLY : 0);
    if (p === null || Deno.UnsafePointer.value(p) === MAP_FAILED) {
      throw lastError("shmat", "attach System V shared memory", id);
    }
    return new SysVSharedMemory(INTERNAL, id, key ?? st.key, readOnly, created, p, st.size);
  }

  /** The handle as messages name it. */
  protected override get description(): string {
    return `System V shared memory ${this.#id}`;
  }

  /** A read-only attachment hands out no views: writing through one would kill the process. */
  protected override assertViewable(): void {
    if (this.#readOnly) {
      throw new TypeError(
        `System V shared memory ${this.#id} is attached read-only: a view could be written to ` +
          `and crash the process; use read()`,
      );
    }
  }

  /** The segment id (shmid), as `ipcs -m` shows it. */
  get id(): number {
    return this.#id;
  }

  /** The key (0 for IPC_PRIVATE). */
  get key(): number {
    return this.#key;
  }

  /** Whether this call created the segment. */
  get created(): boolean {
    return this.#created;
  }

  /** Whether the attachment is read-only. */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** Whether {@linkcode SysVSharedMemory.close} has been called. */
  override get closed(): boolean {
    return !this.#attached;
  }

  /**
   * What `IPC_STAT` reports: size, attachments, pids, times, owner, mode.
   *
   * @returns the segment's status
   * @throws {ClosedError} after close
   * @throws {ErrnoError} EIDRM/EINVAL once removed and gone
   * @see {@link https://man7.org/linux/man-pages/man2/shmctl.2.html}
   */
  stat(): SysVSharedMemoryStat {
    this.assertOpen();
    return statId(this.#id);
  }

  /**
   * Changes owner and/or mode (`IPC_SET`).
   *
   * @param change uid, gid, mode
   * @throws {ClosedError} after close
   * @throws {ErrnoError} EPERM (not owner, creator or privileged)
   * @see {@link https://man7.org/linux/man-pages/man2/shmctl.2.html}
   */
  set(change: SysVPermissionChange): void {
    const c = validatePermissionChange(change);
    this.assertOpen();
    const { shmctl } = libc();
    if (shmctl(this.#id, IPC.STAT, ds.clear().bytes) !== 0) {
      throw lastError("shmctl", "stat System V shared memory", this.#id);
    }
    writeIpcPerm(ds, SHMID_DS.shm_perm, c);
    if (shmctl(this.#id, IPC.SET, ds.bytes) !== 0) {
      throw lastError("shmctl", "change System V shared memory", this.#id);
    }
  }

  /**
   * Marks the segment for removal (`IPC_RMID`); this attachment stays usable until closed.
   *
   * @throws {ClosedError} after close
   * @throws {ErrnoError} EINVAL/EIDRM if already gone, EPERM
   */
  remove(): void {
    this.assertOpen();
    this.#removeOnClose = false;
    SysVSharedMemory.remove(this.#id);
  }

  /**
   * Detaches every view, then the segment (`shmdt`); a temporary segment is also removed.
   * Calling it again does nothing.
   */
  override close(): void {
    if (!this.#attached) return;
    this.#attached = false;
    const region = this.takeMapping();
    if (region !== undefined) releaseRegion(region, () => libc().shmdt(region.pointer));
    if (this.#removeOnClose) {
      this.#removeOnClose = false;
      libc().shmctl(this.#id, IPC.RMID, null);
    }
  }
}

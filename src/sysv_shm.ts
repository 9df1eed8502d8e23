/**
 * System V shared memory: segments found by a key (`shmget`), attached into the address space
 * (`shmat`), inspected and changed (`shmctl`), and removed (`IPC_RMID`). This is the API of the
 * classic C program: `ftok` → `shmget` → `shmat` → use → `shmdt` → `shmctl(IPC_RMID)`.
 *
 * {@linkcode SysVSharedMemory.create} makes a segment and attaches it (`open` and `openId`
 * attach an existing one); its
 * {@linkcode SysVSharedMemory.bytes} is a zero-copy `Uint8Array` over the attachment.
 * `close()` detaches (after detaching every view, so a stale view reads as empty); `remove()`
 * marks the segment for removal, which happens once the last process detaches.
 *
 * A read-only attachment (`SHM_RDONLY`) has no view at all: writing through a view of
 * read-only memory would kill the process, so its contents are read with
 * {@linkcode SysVSharedMemory.read}, which copies.
 *
 * @example The classic segment, in Deno
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
import { IPC, MAP_FAILED, SHM, SHMID_DS } from "../ffi/constants.ts";
import { libc } from "../ffi/load.ts";
import { OutStruct } from "../ffi/util.ts";
import { lastError } from "./_errno.ts";
import { MappedMemory } from "./mapped_memory.ts";
import { releaseRegion } from "./_mapping.ts";
import { IPC_PRIVATE, type IpcPermissions } from "./sysv_key.ts";
import {
  getSysVId,
  identityOfId,
  readIpcPerm,
  removeSysVId,
  seconds,
  SysVIdentity,
  type SysVKind,
  type SysVPermissionChange,
  validateId,
  validateKey,
  writeIpcPerm,
} from "./_sysv.ts";
import {
  validateBoolean,
  validateCreateRule,
  validateInteger,
  validateOptionKeys,
} from "./_validate.ts";

export type { SysVPermissionChange } from "./_sysv.ts";

/** Options for {@linkcode SysVSharedMemory.open} and {@linkcode SysVSharedMemory.openId}. */
export interface SysVSharedMemoryOpenOptions {
  /** Attach read-only (`SHM_RDONLY`); read with `read()`. */
  readOnly?: boolean;
  /** Accept a segment another user made or owns (off by default: squatting defence). */
  allowForeignOwner?: boolean;
}

/** Options for {@linkcode SysVSharedMemory.create}. */
export interface SysVSharedMemoryCreateOptions {
  /** Size in bytes of the new segment. */
  size: number;
  /** Permission bits (default 0o600). */
  mode?: number;
  /** Fail with EEXIST when the key has a segment (default true); `false` attaches that one. */
  exclusive?: boolean;
  /** With `exclusive: false`: accept an existing segment another user made or owns. */
  allowForeignOwner?: boolean;
}

/** Options for {@linkcode SysVSharedMemory.temporary}. */
export interface TemporarySysVSharedMemoryOptions {
  /** Size in bytes. */
  size: number;
  /** Permission bits (default 0o600). */
  mode?: number;
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

/** Checks the options of `open` and `openId`. */
function validateOpen(options: unknown): { readOnly: boolean; allowForeign: boolean } {
  const o = validateOptionKeys<SysVSharedMemoryOpenOptions>(options, [
    "readOnly",
    "allowForeignOwner",
  ], "SysVSharedMemory.open/openId");
  return {
    readOnly: validateBoolean(o.readOnly, "readOnly"),
    allowForeign: validateBoolean(o.allowForeignOwner, "allowForeignOwner"),
  };
}

/** How segments are got, stat'ed and removed, for the System V identity helper. */
function shmKind(size: number): SysVKind<SysVSharedMemoryStat> {
  return {
    what: "System V shared memory",
    getCall: "shmget",
    ctlCall: "shmctl",
    get: (key, flags) => libc().shmget(key, BigInt(flags & IPC.CREAT ? size : 0), flags),
    rmid: (id) => libc().shmctl(id, IPC.RMID, null),
    stat: statId,
    set: (id, change) => {
      statId(id);
      writeIpcPerm(ds, SHMID_DS.shm_perm, change);
      if (libc().shmctl(id, IPC.SET, ds.bytes) !== 0) {
        throw lastError("shmctl", "change System V shared memory", id);
      }
    },
  };
}
const SHM_KIND = shmKind(0);

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
 *
 * @example A segment by id, as ipcs lists it
 * ```ts
 * import { SysVSharedMemory } from "@dipc/dipc";
 *
 * using seg = SysVSharedMemory.temporary({ size: 4096 });
 * using again = SysVSharedMemory.openId(seg.id);
 * seg.bytes[0] = 9;
 * console.log(again.bytes[0], again.stat().attachments >= 2); // 9 true
 * ```
 */
export class SysVSharedMemory extends MappedMemory {
  readonly #identity: SysVIdentity<SysVSharedMemoryStat>;
  readonly #readOnly: boolean;
  #attached = true;

  /** @ignore */
  private constructor(
    token: unknown,
    identity: SysVIdentity<SysVSharedMemoryStat>,
    readOnly: boolean,
    pointer: Deno.PointerObject,
    size: number,
  ) {
    super();
    checkInternal(token, "SysVSharedMemory.create/open/openId/temporary()");
    this.#identity = identity;
    this.#readOnly = readOnly;
    this.setMapping(pointer, size);
  }

  /**
   * Attaches the existing segment of `key`.
   *
   * @param key a key from {@linkcode ftok} or an agreed number (not IPC_PRIVATE)
   * @param options readOnly, allowForeignOwner
   * @returns the attached segment
   * @throws {TypeError} / {RangeError} for a bad key or option
   * @throws {ErrnoError} ENOENT (no segment for the key), EACCES
   * @throws {ForeignOwnerError} when another user made or owns the segment
   * @see {@link https://man7.org/linux/man-pages/man2/shmget.2.html}
   *
   * @example Create by key, attach again by key
   * ```ts
   * import { ftok, SysVSharedMemory } from "@dipc/dipc";
   *
   * const file = await Deno.makeTempFile();
   * const key = ftok(file, "R");
   * using a = SysVSharedMemory.create(key, { size: 4096 });
   * using b = SysVSharedMemory.open(key);
   * console.log(a.id === b.id, b.size); // true 4096
   * a.remove();
   * await Deno.remove(file);
   * ```
   */
  static open(key: number, options?: SysVSharedMemoryOpenOptions): SysVSharedMemory {
    const k = validateKey(key);
    const { readOnly, allowForeign } = validateOpen(options);
    const { id } = getSysVId(SHM_KIND, k, undefined, allowForeign);
    return SysVSharedMemory.#attach(new SysVIdentity(SHM_KIND, id, k, false), readOnly);
  }

  /**
   * Creates a segment of `size` bytes for `key` and attaches it. By default the key must have
   * no segment (EEXIST otherwise); `exclusive: false` attaches the existing one instead.
   * {@linkcode IPC_PRIVATE} always makes a new segment.
   *
   * @param key a key from {@linkcode ftok}, an agreed number, or {@linkcode IPC_PRIVATE}
   * @param options size (required), mode, exclusive, allowForeignOwner
   * @returns the attached segment; `created` says whether this call made it
   * @throws {TypeError} / {RangeError} for a bad key, size, mode or option
   * @throws {ErrnoError} EEXIST (the key has a segment), EACCES, EINVAL (size beyond SHMMAX, or
   *   larger than an existing segment), ENOSPC, ENOMEM
   * @throws {ForeignOwnerError} with `exclusive: false`, when another user made or owns it
   * @see {@link https://man7.org/linux/man-pages/man2/shmget.2.html}
   *
   * @example A private segment, removed by id
   * ```ts
   * import { IPC_PRIVATE, SysVSharedMemory } from "@dipc/dipc";
   *
   * using shm = SysVSharedMemory.create(IPC_PRIVATE, { size: 64 });
   * console.log(shm.created, shm.size); // true 64
   * shm.remove();
   * ```
   */
  static create(key: number, options: SysVSharedMemoryCreateOptions): SysVSharedMemory {
    const k = validateKey(key);
    const o = validateOptionKeys<SysVSharedMemoryCreateOptions>(options, [
      "size",
      "mode",
      "exclusive",
      "allowForeignOwner",
    ], "SysVSharedMemory.create");
    if (o.size === undefined) throw new TypeError("create needs a size");
    const size = validateInteger(o.size, "size", 1, Number.MAX_SAFE_INTEGER);
    const rule = validateCreateRule(o);
    const kind = shmKind(size);
    const { id, created } = getSysVId(kind, k, rule, false);
    try {
      return SysVSharedMemory.#attach(new SysVIdentity(SHM_KIND, id, k, created), false);
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
   * @throws {ForeignOwnerError} when another user made or owns the segment
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
  static openId(id: number, options?: SysVSharedMemoryOpenOptions): SysVSharedMemory {
    validateId(id);
    const { readOnly, allowForeign } = validateOpen(options);
    const { identity, st } = identityOfId(SHM_KIND, id, allowForeign);
    return SysVSharedMemory.#attach(identity, readOnly, st);
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
  static temporary(options: TemporarySysVSharedMemoryOptions): SysVSharedMemory {
    const o = validateOptionKeys<TemporarySysVSharedMemoryOptions>(
      options,
      ["size", "mode"],
      "SysVSharedMemory.temporary",
    );
    const opts: SysVSharedMemoryCreateOptions = { size: o.size };
    if (o.mode !== undefined) opts.mode = o.mode;
    const shm = SysVSharedMemory.create(IPC_PRIVATE, opts);
    shm.#identity.removeOnClose = true;
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
   * const shm = SysVSharedMemory.create(IPC_PRIVATE, { size: 64 });
   * const id = shm.id;
   * shm.close();
   * SysVSharedMemory.remove(id);
   * ```
   */
  static remove(id: number): void {
    removeSysVId(SHM_KIND, id);
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
    identity: SysVIdentity<SysVSharedMemoryStat>,
    readOnly: boolean,
    st: SysVSharedMemoryStat = identity.stat(),
  ): SysVSharedMemory {
    const p = libc().shmat(identity.id, null, readOnly ? SHM.RDONLY : 0);
    if (p === null || Deno.UnsafePointer.value(p) === MAP_FAILED) {
      throw lastError("shmat", "attach System V shared memory", identity.id);
    }
    return new SysVSharedMemory(INTERNAL, identity, readOnly, p, st.size);
  }

  /** The handle as messages name it. */
  protected override get description(): string {
    return this.#identity.what;
  }

  /** A read-only attachment hands out no views: writing through one would kill the process. */
  protected override assertViewable(): void {
    if (this.#readOnly) {
      throw new TypeError(
        `${this.#identity.what} is attached read-only: a view could be written to ` +
          `and crash the process; use read()`,
      );
    }
  }

  /** The segment id (shmid), as `ipcs -m` shows it. */
  get id(): number {
    return this.#identity.id;
  }

  /** The key, unsigned as `ipcs` prints it (0 for IPC_PRIVATE). */
  get key(): number {
    return this.#identity.key;
  }

  /** Whether this handle created the segment. */
  get created(): boolean {
    return this.#identity.created;
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
   * What `IPC_STAT` reports: size, attachments, pids, times, owner, mode. Works after close
   * too: the segment outlives the handle.
   *
   * @returns the segment's status
   * @throws {ErrnoError} EIDRM/EINVAL once removed and gone
   * @see {@link https://man7.org/linux/man-pages/man2/shmctl.2.html}
   */
  stat(): SysVSharedMemoryStat {
    return this.#identity.stat();
  }

  /**
   * Changes owner and/or mode (`IPC_SET`).
   *
   * @param change uid, gid, mode
   * @throws {ErrnoError} EPERM (not owner, creator or privileged), EINVAL/EIDRM once gone
   * @see {@link https://man7.org/linux/man-pages/man2/shmctl.2.html}
   */
  setPermissions(change: SysVPermissionChange): void {
    this.#identity.setPermissions(change);
  }

  /**
   * Marks the segment for removal (`IPC_RMID`); attachments stay usable until closed. Works
   * after close too (`using` a handle does not take removal away); a second call does nothing.
   *
   * @throws {ErrnoError} EINVAL/EIDRM if already gone, EPERM
   */
  remove(): void {
    this.#identity.remove();
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
    this.#identity.closed();
  }
}

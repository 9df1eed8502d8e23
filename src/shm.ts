/**
 * POSIX shared memory: named objects under `/dev/shm` that several processes map into their
 * address space and read and write directly, with no copy and no system call per access.
 *
 * {@linkcode SharedMemory.open} (or `create`) gives a handle whose {@linkcode SharedMemory.bytes}
 * is a zero-copy `Uint8Array` over the mapping; {@linkcode SharedMemory.view} gives typed views
 * (use `Atomics` on `Int32Array` views for cross-process counters and flags, and
 * {@linkcode futexWait} to sleep on them). {@linkcode SharedMemory.temporary} picks a random
 * name and removes the object when disposed.
 *
 * Safety: new objects are mode 0600, set exactly (the umask does not apply); `exclusive`
 * creation fails with EEXIST rather than adopt someone else's object; opening an object owned by
 * another user throws {@linkcode ForeignOwnerError} unless `allowForeignOwner` is set. `close()`
 * detaches every view before unmapping, so a stale view reads as empty instead of crashing.
 * One hazard no library can remove: if *another* process shrinks the object below what this
 * process has mapped, touching the lost pages raises SIGBUS. Resize only through processes that
 * agree on it.
 *
 * @example Two handles on one object
 * ```ts
 * import { SharedMemory } from "@dipc/dipc";
 *
 * using writer = SharedMemory.temporary({ size: 4096 });
 * using reader = SharedMemory.open(writer.name);
 * writer.bytes.set(new TextEncoder().encode("hello"));
 * console.log(new TextDecoder().decode(reader.bytes.subarray(0, 5))); // "hello"
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man7/shm_overview.7.html}
 * @module
 */

import { checkInternal, INTERNAL } from "./_internal.ts";
import { E, MAP, MAP_FAILED, O, PROT, S_IFMT, STAT } from "../ffi/constants.ts";
import { errno, libc, librt } from "../ffi/load.ts";
import { cString, OutStruct } from "../ffi/util.ts";
import { ErrnoError, ForeignOwnerError } from "./errors.ts";
import { lastError } from "./_errno.ts";
import { type DetachedRegion, MappedMemory } from "./mapped_memory.ts";
import { releaseRegion } from "./_mapping.ts";
import {
  validateBoolean,
  validateInteger,
  validateMode,
  validateOptions,
  validatePosixName,
} from "./_validate.ts";

/** Largest size dipc accepts: the largest exact integer, far beyond what a machine maps. */
export const MAX_SIZE: number = Number.MAX_SAFE_INTEGER;

/** Options for {@linkcode SharedMemory.open}. */
export interface SharedMemoryOptions {
  /** Create the object if it does not exist (`O_CREAT`). Needs `size`. */
  create?: boolean;
  /** With `create`: fail with EEXIST if it exists (`O_EXCL`). */
  exclusive?: boolean;
  /** Permission bits for a new object (default 0o600), applied exactly. */
  mode?: number;
  /** Size in bytes of a new object; an existing object keeps its size. */
  size?: number;
  /**
   * Open read-only (`O_RDONLY`). The view is then a private copy-on-write mapping: writes to it
   * never reach the object (nor crash), and a page written to stops showing others' updates.
   */
  readOnly?: boolean;
  /** Accept an existing object owned by another user (off by default: squatting defence). */
  allowForeignOwner?: boolean;
}

/** Options for {@linkcode SharedMemory.temporary}. */
export interface TemporarySharedMemoryOptions {
  /** Size in bytes. */
  size: number;
  /** Permission bits (default 0o600). */
  mode?: number;
  /** Name prefix, without the leading "/" (default "dipc"). */
  prefix?: string;
}

/** What `fstat` reports of a shared memory object. */
export interface SharedMemoryStat {
  /** Size in bytes. */
  size: number;
  /** Permission bits, e.g. 0o600. */
  mode: number;
  /** Owner's uid. */
  uid: number;
  /** Owner's gid. */
  gid: number;
  /** Last data modification. */
  modified: Date;
  /** Last status change. */
  changed: Date;
}

const statBuf = new OutStruct(STAT.size);

function fstatFd(fd: number, name: string): SharedMemoryStat {
  if (libc().fstat(fd, statBuf.clear().bytes) !== 0) {
    throw lastError("fstat", "stat shared memory", name);
  }
  return {
    size: statBuf.u64(STAT.st_size),
    mode: statBuf.u32(STAT.st_mode) & ~S_IFMT,
    uid: statBuf.u32(STAT.st_uid),
    gid: statBuf.u32(STAT.st_gid),
    modified: statBuf.date(STAT.st_mtim),
    changed: statBuf.date(STAT.st_ctim),
  };
}

function validateSize(size: unknown): number {
  return validateInteger(size, "size", 1, MAX_SIZE);
}

function mapFd(
  fd: number,
  size: number,
  readOnly: boolean,
  name: string,
): Deno.PointerObject | undefined {
  if (size === 0) return undefined;
  // A read-only handle maps privately and writable: a write through its view lands in a
  // copy-on-write page instead of faulting on a PROT_READ page and killing the process.
  const flags = readOnly ? MAP.PRIVATE : MAP.SHARED;
  const p = libc().mmap(null, BigInt(size), PROT.READ | PROT.WRITE, flags, fd, 0n);
  if (p === null || Deno.UnsafePointer.value(p) === MAP_FAILED) {
    throw lastError("mmap", "map shared memory", name);
  }
  return p;
}

function unmap(region: DetachedRegion | undefined): void {
  if (region === undefined) return;
  releaseRegion(region, () => libc().munmap(region.pointer, BigInt(region.length)));
}

/**
 * A POSIX shared memory object, opened and mapped into this process.
 *
 * @see {@link https://man7.org/linux/man-pages/man3/shm_open.3.html}
 */
export class SharedMemory extends MappedMemory {
  readonly #name: string;
  readonly #readOnly: boolean;
  readonly #created: boolean;
  #fd: number;
  #unlinkOnClose = false;

  private constructor(
    token: unknown,
    name: string,
    fd: number,
    readOnly: boolean,
    created: boolean,
  ) {
    super();
    checkInternal(token, "SharedMemory.open/create/temporary()");
    this.#name = name;
    this.#fd = fd;
    this.#readOnly = readOnly;
    this.#created = created;
  }

  /**
   * Opens the object `name` ("/jobs"), creating it if `create` is set, and maps it.
   *
   * @param name "/" followed by up to 254 bytes, with no other "/"
   * @param options create, exclusive, mode, size, readOnly, allowForeignOwner
   * @returns the mapped object
   * @throws {TypeError} / {RangeError} for a bad name, size, mode or option
   * @throws {ErrnoError} ENOENT (no such object), EEXIST (exclusive and it exists), EACCES
   *   (permission), EMFILE, ENOMEM, EFBIG (size beyond what the system allows),
   *   ENOSPC (no room in /dev/shm for the size: reserved at creation)
   * @throws {ForeignOwnerError} when another user owns the object
   * @see {@link https://man7.org/linux/man-pages/man3/shm_open.3.html}
   *
   * @example Create exclusively, then open by name
   * ```ts
   * import { SharedMemory } from "@dipc/dipc";
   *
   * const name = `/dipc-doc-${crypto.randomUUID()}`;
   * using a = SharedMemory.open(name, { create: true, exclusive: true, size: 1024 });
   * using b = SharedMemory.open(name);
   * console.log(a.created, b.created, b.size); // true false 1024
   * a.unlink();
   * ```
   */
  static open(name: string, options?: SharedMemoryOptions): SharedMemory {
    validatePosixName(name);
    const o = validateOptions<SharedMemoryOptions>(options);
    const create = validateBoolean(o.create, "create");
    const exclusive = validateBoolean(o.exclusive, "exclusive");
    const readOnly = validateBoolean(o.readOnly, "readOnly");
    const allowForeign = validateBoolean(o.allowForeignOwner, "allowForeignOwner");
    const mode = o.mode === undefined ? 0o600 : validateMode(o.mode);
    if (exclusive && !create) throw new TypeError("exclusive needs create: true");
    if (create && o.size === undefined) throw new TypeError("create needs a size");
    if (create && readOnly) throw new TypeError("create and readOnly exclude each other");
    const size = o.size === undefined ? 0 : validateSize(o.size);
    if (!create && o.mode !== undefined) throw new TypeError("mode applies only with create");

    const cname = cString(name);
    const { shm_open } = librt();
    const access = readOnly ? O.RDONLY : O.RDWR;
    let fd = -1;
    let created = false;
    if (create) {
      // Try to create it first, so we know whether this call made it.
      fd = shm_open(cname, access | O.CREAT | O.EXCL, mode);
      if (fd >= 0) created = true;
      else {
        const e = errno();
        if (e !== E.EEXIST || exclusive) {
          throw new ErrnoError(e, "shm_open", { action: "create shared memory", object: name });
        }
      }
    }
    if (fd < 0) {
      fd = shm_open(cname, access, 0);
      if (fd < 0) throw lastError("shm_open", "open shared memory", name);
    }
    const shm = new SharedMemory(INTERNAL, name, fd, readOnly, created);
    try {
      if (created) {
        shm.#check(libc().fchmod(fd, mode), "fchmod", "set the mode of shared memory");
        shm.#size(size, "size shared memory");
      }
      const st = created ? undefined : fstatFd(fd, name);
      if (st !== undefined && !allowForeign) {
        const me = libc().geteuid();
        if (st.uid !== me) throw new ForeignOwnerError(name, st.uid, me);
      }
      if (st !== undefined && st.size === 0 && create && !readOnly) {
        // Its creator has not sized it yet (shm_open and ftruncate are two calls): we were
        // asked for this object at this size, so size it rather than map nothing.
        shm.#size(size, "size shared memory");
        st.size = size;
      }
      shm.#map(st?.size ?? size);
    } catch (e) {
      shm.close();
      if (created) librt().shm_unlink(cname);
      throw e;
    }
    return shm;
  }

  /**
   * Creates the object `name`: shorthand for `open(name, { ...options, create: true })`.
   *
   * @param name "/" followed by up to 254 bytes, with no other "/"
   * @param options size (required), exclusive, mode
   * @returns the mapped object
   * @throws {ErrnoError} EEXIST with `exclusive`, EACCES, EFBIG, ENOMEM, ENOSPC (no room in /dev/shm)
   * @see {@link https://man7.org/linux/man-pages/man3/shm_open.3.html}
   *
   * @example Create and remove
   * ```ts
   * import { SharedMemory } from "@dipc/dipc";
   *
   * using shm = SharedMemory.create(`/dipc-doc-${crypto.randomUUID()}`, { size: 64 });
   * shm.unlink();
   * ```
   */
  static create(
    name: string,
    options: Omit<SharedMemoryOptions, "create" | "readOnly"> & { size: number },
  ): SharedMemory {
    return SharedMemory.open(name, { ...validateOptions(options), create: true });
  }

  /**
   * Creates an object with a fresh random name (exclusively) that is unlinked when closed or
   * disposed: the leak-free choice for tests, examples and private hand-offs.
   *
   * @param options size (required), mode, prefix
   * @returns the mapped object; its `name` can be passed to other processes
   * @throws {ErrnoError} as {@linkcode SharedMemory.create}
   * @see {@link https://man7.org/linux/man-pages/man3/shm_open.3.html}
   *
   * @example Temporary object
   * ```ts
   * import { SharedMemory } from "@dipc/dipc";
   *
   * {
   *   using shm = SharedMemory.temporary({ size: 16 });
   *   console.log(shm.name.startsWith("/dipc-")); // true
   * } // unlinked here
   * ```
   */
  static temporary(options: TemporarySharedMemoryOptions): SharedMemory {
    const o = validateOptions<TemporarySharedMemoryOptions>(options);
    const prefix = o.prefix ?? "dipc";
    if (typeof prefix !== "string") throw new TypeError("prefix must be a string");
    const name = `/${prefix}-${crypto.randomUUID()}`;
    validatePosixName(name, "prefix + random suffix");
    const opts: SharedMemoryOptions = { create: true, exclusive: true, size: o.size };
    if (o.mode !== undefined) opts.mode = o.mode;
    const shm = SharedMemory.open(name, opts);
    shm.#unlinkOnClose = true;
    return shm;
  }

  /**
   * Removes the object `name`. Processes that have it mapped keep their mapping; the memory is
   * freed when the last one closes.
   *
   * @param name the object's name
   * @throws {ErrnoError} ENOENT (no such object), EACCES
   * @see {@link https://man7.org/linux/man-pages/man3/shm_unlink.3.html}
   *
   * @example Remove by name
   * ```ts
   * import { SharedMemory } from "@dipc/dipc";
   *
   * const name = `/dipc-doc-${crypto.randomUUID()}`;
   * SharedMemory.create(name, { size: 8 }).close();
   * SharedMemory.unlink(name);
   * ```
   */
  static unlink(name: string): void {
    validatePosixName(name);
    if (librt().shm_unlink(cString(name)) !== 0) {
      throw lastError("shm_unlink", "unlink shared memory", name);
    }
  }

  #check(result: number, syscall: string, action: string): void {
    if (result !== 0) throw lastError(syscall, action, this.#name);
  }

  /**
   * Sets the object's size with its space reserved: `posix_fallocate` first (tmpfs is sparse, and
   * a page that cannot be had later kills the process with SIGBUS on first touch, so ENOSPC must
   * come now), then `ftruncate` (which only matters when shrinking).
   */
  #size(size: number, action: string): void {
    if (size > 0) {
      const e = libc().posix_fallocate(this.#fd, 0n, BigInt(size));
      if (e !== 0) throw new ErrnoError(e, "posix_fallocate", { action, object: this.#name });
    }
    this.#check(libc().ftruncate(this.#fd, BigInt(size)), "ftruncate", action);
  }

  #map(size: number): void {
    const p = mapFd(this.#fd, size, this.#readOnly, this.#name);
    if (p !== undefined) this.setMapping(p, size);
  }

  /** The handle as messages name it. */
  protected override get description(): string {
    return `shared memory ${JSON.stringify(this.#name)}`;
  }

  /** The object's name, e.g. "/jobs". */
  get name(): string {
    return this.#name;
  }

  /** Whether this handle created the object (false when it opened an existing one). */
  get created(): boolean {
    return this.#created;
  }

  /** Whether the mapping is read-only (private copy-on-write). */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** Whether {@linkcode SharedMemory.close} has been called. */
  override get closed(): boolean {
    return this.#fd < 0;
  }

  /**
   * Changes the object's size (`ftruncate`) and maps it again. Every earlier view is detached;
   * take new ones. Other processes must remap to see a larger size.
   *
   * @param size the new size in bytes
   * @throws {ClosedError} after close
   * @throws {TypeError} for a read-only handle
   * @throws {ErrnoError} EFBIG, ENOMEM, ENOSPC, EPERM
   * @see {@link https://man7.org/linux/man-pages/man2/ftruncate.2.html}
   */
  resize(size: number): void {
    validateSize(size);
    this.assertOpen();
    if (this.#readOnly) throw new TypeError("cannot resize read-only shared memory");
    unmap(this.takeMapping());
    this.#size(size, "resize shared memory");
    this.#map(size);
  }

  /**
   * What the system reports about the object: size, mode, owner, times.
   *
   * @returns the object's status
   * @throws {ClosedError} after close
   * @see {@link https://man7.org/linux/man-pages/man2/fstat.2.html}
   */
  stat(): SharedMemoryStat {
    this.assertOpen();
    return fstatFd(this.#fd, this.#name);
  }

  /**
   * Removes the object's name (as {@linkcode SharedMemory.unlink}); this mapping stays usable
   * until closed.
   *
   * @throws {ErrnoError} ENOENT if it was already removed
   */
  unlink(): void {
    this.#unlinkOnClose = false;
    SharedMemory.unlink(this.#name);
  }

  /**
   * The file descriptor. Unsafe: closing it or mapping it elsewhere is your responsibility.
   *
   * @throws {ClosedError} after close
   */
  get unsafeFd(): number {
    this.assertOpen();
    return this.#fd;
  }

  /**
   * Detaches every view, unmaps and closes the descriptor. A temporary object is unlinked too.
   * Calling it again does nothing.
   */
  override close(): void {
    if (this.#fd < 0) return;
    unmap(this.takeMapping());
    libc().close(this.#fd);
    this.#fd = -1;
    if (this.#unlinkOnClose) {
      this.#unlinkOnClose = false;
      librt().shm_unlink(cString(this.#name));
    }
  }
}

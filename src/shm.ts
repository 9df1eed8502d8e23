/**
 * POSIX shared memory: named objects under `/dev/shm` that several processes map into their
 * address space and read and write directly, with no copy and no system call per access.
 *
 * {@linkcode SharedMemory.create} (or `open`) gives a handle whose {@linkcode SharedMemory.bytes}
 * is a zero-copy `Uint8Array` over the mapping; {@linkcode SharedMemory.view} gives typed views
 * (use `Atomics` on `Int32Array` views for cross-process counters and flags, and
 * {@linkcode futexWait} to sleep on them). {@linkcode SharedMemory.temporary} picks a random
 * name and removes the object when disposed.
 *
 * Safety: new objects are mode 0600, set exactly (the umask does not apply); `create` is
 * exclusive (EEXIST rather than adopt someone else's object) unless `exclusive: false`; opening an object owned by
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
import { MAP, MAP_FAILED, MFD, O, PROT, S_IFMT, STAT } from "../ffi/constants.ts";
import { errno, libc, librt } from "../ffi/load.ts";
import { cString, OutStruct } from "../ffi/util.ts";
import { ErrnoError } from "./errors.ts";
import { lastError } from "./_errno.ts";
import { checkAdoptable, closeFd, fileIdentity, noteMade } from "./_fd.ts";
import { type DetachedRegion, MappedMemory } from "./mapped_memory.ts";
import { releaseRegion } from "./_mapping.ts";
import {
  openNamed,
  type PosixKind,
  temporaryName,
  validateCreateRule,
  validateOpenRule,
} from "./_posix_open.ts";
import {
  describe,
  validateBoolean,
  validateInteger,
  validateOptionKeys,
  validatePosixName,
} from "./_validate.ts";

/** Largest size dipc accepts: the largest exact integer, far beyond what a machine maps. */
export const MAX_SIZE: number = Number.MAX_SAFE_INTEGER;

/** Options for {@linkcode SharedMemory.open}. */
export interface SharedMemoryOpenOptions {
  /**
   * Open read-only (`O_RDONLY`). The view is then a private copy-on-write mapping: writes to it
   * never reach the object (nor crash), and a page written to stops showing others' updates.
   */
  readOnly?: boolean;
  /** Accept an object owned by another user (off by default: squatting defence). */
  allowForeignOwner?: boolean;
}

/** Options for {@linkcode SharedMemory.create}. */
export interface SharedMemoryCreateOptions {
  /** Size in bytes of the new object; an existing one opened with `exclusive: false` keeps its own. */
  size: number;
  /** Permission bits (default 0o600), applied exactly. */
  mode?: number;
  /** Fail with EEXIST when the name exists (default true); `false` opens the existing object. */
  exclusive?: boolean;
  /** With `exclusive: false`: accept an existing object another user owns. */
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

/** Options for {@linkcode SharedMemory.anonymous}. */
export interface AnonymousSharedMemoryOptions {
  /** Size in bytes. */
  size: number;
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
  /** The device and inode: equal for two descriptors of the same object. */
  identity: string;
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
    identity: fileIdentity(fd).identity,
  };
}

/** How shared memory objects open, by the one POSIX open protocol (src/_posix_open.ts). */
function shmKind(name: string, readOnly: boolean): PosixKind<number> {
  const cname = cString(name);
  const access = readOnly ? O.RDONLY : O.RDWR;
  return {
    what: "shared memory",
    syscall: "shm_open",
    open: (extra, mode) => {
      const fd = librt().shm_open(cname, access | extra, mode);
      return fd < 0 ? null : fd;
    },
    close: (fd) => void libc().close(fd),
    unlink: () => void librt().shm_unlink(cname),
    setMode: (fd, mode) => libc().fchmod(fd, mode) === 0 ? 0 : errno(),
    owner: (fd) => fstatFd(fd, name).uid,
  };
}

/**
 * Sets an object's size with its space reserved: `posix_fallocate` first (tmpfs is sparse, and
 * a page that cannot be had later kills the process with SIGBUS on first touch, so ENOSPC must
 * come now), then `ftruncate` (which only matters when shrinking).
 */
function sizeFd(fd: number, size: number, action: string, name: string): void {
  if (size > 0) {
    const e = libc().posix_fallocate(fd, 0n, BigInt(size));
    if (e !== 0) throw new ErrnoError(e, "posix_fallocate", { action, object: name });
  }
  if (libc().ftruncate(fd, BigInt(size)) !== 0) throw lastError("ftruncate", action, name);
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
 *
 * @example Create, map, share by name
 * ```ts
 * import { SharedMemory } from "@dipc/dipc";
 *
 * const name = `/dipc-doc-${crypto.randomUUID()}`;
 * using mine = SharedMemory.create(name, { size: 4096 }); // mode 0600, exclusive
 * using theirs = SharedMemory.open(name); // what another process would do
 * mine.bytes[0] = 7;
 * console.log(theirs.bytes[0], theirs.size); // 7 4096
 * SharedMemory.unlink(name);
 * ```
 */
export class SharedMemory extends MappedMemory {
  readonly #name: string;
  readonly #readOnly: boolean;
  readonly #created: boolean;
  #fd: number;
  #unlinkOnClose = false;

  /** @ignore */
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
    this.#fd = noteMade(fd);
    this.#readOnly = readOnly;
    this.#created = created;
  }

  /**
   * Opens the existing object `name` ("/jobs") and maps it.
   *
   * @param name "/" followed by up to 254 bytes, with no other "/"
   * @param options readOnly, allowForeignOwner
   * @returns the mapped object
   * @throws {TypeError} / {RangeError} for a bad name or option
   * @throws {ErrnoError} ENOENT (no such object), EACCES (permission), EMFILE, ENOMEM
   * @throws {ForeignOwnerError} when another user owns the object
   * @see {@link https://man7.org/linux/man-pages/man3/shm_open.3.html}
   *
   * @example Create, then open by name
   * ```ts
   * import { SharedMemory } from "@dipc/dipc";
   *
   * using a = SharedMemory.create(`/dipc-doc-${crypto.randomUUID()}`, { size: 1024 });
   * using b = SharedMemory.open(a.name);
   * console.log(a.created, b.created, b.size); // true false 1024
   * a.unlink();
   * ```
   */
  static open(name: string, options?: SharedMemoryOpenOptions): SharedMemory {
    validatePosixName(name);
    const o = validateOptionKeys<SharedMemoryOpenOptions>(options, [
      "readOnly",
      "allowForeignOwner",
    ], "SharedMemory.open");
    const readOnly = validateBoolean(o.readOnly, "readOnly");
    const allowForeign = validateOpenRule(o);
    return openNamed(shmKind(name, readOnly), name, undefined, allowForeign, (fd) => {
      const size = fstatFd(fd, name).size;
      return SharedMemory.#mapped(name, fd, readOnly, false, size);
    });
  }

  /**
   * Creates the object `name` with `size` bytes (its space reserved) and maps it. By default the
   * name must be new (EEXIST otherwise); `exclusive: false` opens an existing object instead.
   *
   * @param name "/" followed by up to 254 bytes, with no other "/"
   * @param options size (required), mode, exclusive, allowForeignOwner
   * @returns the mapped object; `created` says whether this call made it
   * @throws {TypeError} / {RangeError} for a bad name, size, mode or option
   * @throws {ErrnoError} EEXIST (the name exists), EACCES, EFBIG (size beyond what the system
   *   allows), ENOMEM, ENOSPC (no room in /dev/shm for the size: reserved at creation)
   * @throws {ForeignOwnerError} with `exclusive: false`, when another user owns the object
   * @see {@link https://man7.org/linux/man-pages/man3/shm_open.3.html}
   *
   * @example Create and remove
   * ```ts
   * import { SharedMemory } from "@dipc/dipc";
   *
   * using shm = SharedMemory.create(`/dipc-doc-${crypto.randomUUID()}`, { size: 64 });
   * console.log(shm.created, shm.size); // true 64
   * shm.unlink();
   * ```
   */
  static create(name: string, options: SharedMemoryCreateOptions): SharedMemory {
    validatePosixName(name);
    const o = validateOptionKeys<SharedMemoryCreateOptions>(options, [
      "size",
      "mode",
      "exclusive",
      "allowForeignOwner",
    ], "SharedMemory.create");
    if (o.size === undefined) throw new TypeError("create needs a size");
    const size = validateSize(o.size);
    const rule = validateCreateRule(o);
    return openNamed(shmKind(name, false), name, rule, false, (fd, created) => {
      let have = created ? 0 : fstatFd(fd, name).size;
      if (created || have === 0) {
        // A new object, or one whose creator is between shm_open and sizing it (two calls):
        // we were asked for this object at this size, so size it rather than map nothing.
        sizeFd(fd, size, "size shared memory", name);
        have = size;
      }
      return SharedMemory.#mapped(name, fd, false, created, have);
    });
  }

  /** Maps `fd` and makes the handle (the last step: nothing after it can fail). */
  static #mapped(
    name: string,
    fd: number,
    readOnly: boolean,
    created: boolean,
    size: number,
  ): SharedMemory {
    const p = mapFd(fd, size, readOnly, name);
    const shm = new SharedMemory(INTERNAL, name, fd, readOnly, created);
    if (p !== undefined) shm.setMapping(p, size);
    return shm;
  }

  /**
   * Adopts an open shared memory descriptor and maps it at its size: one passed over a socket
   * ({@linkcode UnixSocket}'s `fds`) or handed down by a parent. The descriptor is closed with
   * this object; the object has no name here (`name` is "descriptor N", and `unlink` refuses).
   *
   * @param fd the descriptor (a memfd or `/dev/shm` object; any regular file works)
   * @param options `readOnly`: map a private copy-on-write view
   * @returns the mapped memory
   * @throws {ErrnoError} EBADF (not open), EACCES (writable mapping of a read-only descriptor)
   * @throws {TypeError} when `fd` is not a regular file
   */
  static fromFd(fd: number, options?: { readOnly?: boolean }): SharedMemory {
    validateInteger(fd, "fd", 0, 0x7fffffff);
    const o = validateOptionKeys<{ readOnly?: boolean }>(
      options,
      ["readOnly"],
      "SharedMemory.fromFd",
    );
    const readOnly = validateBoolean(o.readOnly, "readOnly");
    const what = `descriptor ${fd}`;
    checkAdoptable(fd, what);
    if (libc().fstat(fd, statBuf.clear().bytes) !== 0) throw lastError("fstat", "adopt", what);
    if ((statBuf.u32(STAT.st_mode) & S_IFMT) !== 0o100000) {
      throw new TypeError(`${what} is not shared memory (not a regular file)`);
    }
    const size = statBuf.u64(STAT.st_size);
    return SharedMemory.#mapped(what, fd, readOnly, false, size);
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
    const o = validateOptionKeys<TemporarySharedMemoryOptions>(
      options,
      ["size", "mode", "prefix"],
      "SharedMemory.temporary",
    );
    const name = temporaryName(o.prefix, "dipc");
    const opts: SharedMemoryCreateOptions = { size: o.size };
    if (o.mode !== undefined) opts.mode = o.mode;
    const shm = SharedMemory.create(name, opts);
    shm.#unlinkOnClose = true;
    return shm;
  }

  /**
   * Creates shared memory that has no name at all (`memfd_create`): nothing appears in
   * `/dev/shm`, so nothing is left behind whatever happens to this process, and only processes
   * given its descriptor (a child's `fds`, a socket's `fds`) can map it. Its space is reserved at
   * creation, as {@linkcode SharedMemory.create} does.
   *
   * @param options size (required)
   * @returns the mapped memory; its `name` is "anonymous" and `unlink` refuses
   * @throws {TypeError} / {RangeError} for a bad size
   * @throws {ErrnoError} EMFILE, ENOMEM, ENOSPC
   * @see {@link https://man7.org/linux/man-pages/man2/memfd_create.2.html}
   *
   * @example Memory only its holders can reach
   * ```ts
   * import { SharedMemory } from "@dipc/dipc";
   *
   * using shm = SharedMemory.anonymous({ size: 4096 });
   * shm.bytes[0] = 7;
   * console.log(shm.name, shm.size); // anonymous 4096
   * ```
   */
  static anonymous(options: AnonymousSharedMemoryOptions): SharedMemory {
    const o = validateOptionKeys<AnonymousSharedMemoryOptions>(
      options,
      ["size"],
      "SharedMemory.anonymous",
    );
    if (o.size === undefined) throw new TypeError("anonymous needs a size");
    const size = validateSize(o.size);
    const fd = libc().memfd_create(cString("dipc"), MFD.CLOEXEC);
    if (fd < 0) throw lastError("memfd_create", "create shared memory", "anonymous");
    try {
      sizeFd(fd, size, "size shared memory", "anonymous");
      return SharedMemory.#mapped("anonymous", fd, false, true, size);
    } catch (e) {
      libc().close(fd);
      throw e;
    }
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
    sizeFd(this.#fd, size, "resize shared memory", this.#name);
    const p = mapFd(this.#fd, size, this.#readOnly, this.#name);
    if (p !== undefined) this.setMapping(p, size);
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
    if (!this.#name.startsWith("/")) {
      throw new TypeError(`shared memory (${this.#name}) has no name to unlink`);
    }
    this.#unlinkOnClose = false;
    SharedMemory.unlink(this.#name);
  }

  /**
   * A part of this memory, `length` bytes from `offset`: what a task of a process pool
   * (`@dipc/dipc/pool`) receives mapped, not copied.
   *
   * @param offset first byte (default 0)
   * @param length bytes (default: to the end)
   * @returns the region; it stays valid while this memory is open
   * @throws {RangeError} for a region outside the memory
   * @throws {ClosedError} after close
   *
   * @example Half of a mapping
   * ```ts
   * import { SharedMemory } from "@dipc/dipc";
   *
   * using shm = SharedMemory.anonymous({ size: 1024 });
   * const half = shm.region(512);
   * console.log(half.offset, half.length, half.bytes.length); // 512 512 512
   * ```
   */
  region(offset: number = 0, length?: number): SharedRegion {
    this.assertOpen();
    const at = validateInteger(offset, "offset", 0, this.size);
    const n = length === undefined
      ? this.size - at
      : validateInteger(length, "length", 0, this.size - at);
    return new SharedRegion(this, at, n);
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
    closeFd(this.#fd);
    this.#fd = -1;
    if (this.#unlinkOnClose) {
      this.#unlinkOnClose = false;
      librt().shm_unlink(cString(this.#name));
    }
  }
}

/**
 * A part of a {@linkcode SharedMemory}: made by {@linkcode SharedMemory.region}. Given to a
 * process pool's task, it arrives in the worker as a region of the same memory, mapped there.
 *
 * @example Half of a segment, handed on as a region
 * ```ts
 * import { SharedMemory } from "@dipc/dipc";
 *
 * using shm = SharedMemory.temporary({ size: 8192 });
 * const upper = shm.region(4096, 4096);
 * upper.bytes.fill(7);
 * console.log(upper.offset, upper.length, shm.bytes[4096], shm.bytes[0]); // 4096 4096 7 0
 * ```
 */
export class SharedRegion {
  /** The memory the region is part of. */
  readonly memory: SharedMemory;
  /** Its first byte's offset in the memory. */
  readonly offset: number;
  /** Its length in bytes. */
  readonly length: number;

  /**
   * A region of `memory`; {@linkcode SharedMemory.region} checks the bounds.
   *
   * @param memory the memory
   * @param offset first byte
   * @param length bytes
   * @throws {RangeError} for a region outside the memory
   */
  constructor(memory: SharedMemory, offset: number, length: number) {
    if (!(memory instanceof SharedMemory)) {
      throw new TypeError(`memory must be SharedMemory, got ${describe(memory)}`);
    }
    this.memory = memory;
    this.offset = validateInteger(offset, "offset", 0, memory.size);
    this.length = validateInteger(length, "length", 0, memory.size - this.offset);
  }

  /**
   * The region's bytes: a view of the shared memory (writes are seen by every process that maps
   * it).
   *
   * @throws {ClosedError} once the memory is closed
   */
  get bytes(): Uint8Array<ArrayBuffer> {
    return this.memory.bytes.subarray(this.offset, this.offset + this.length);
  }
}

/**
 * The one open protocol of every POSIX named kind (shared memory, message queues, named
 * semaphores, and the ring channels made in shared memory):
 *
 * - `create` makes the object with `O_CREAT | O_EXCL` (so this call knows it made it), sets its
 *   mode exactly (`fchmod`: the umask never widens or narrows it), and on EEXIST fails, unless
 *   `exclusive: false` asked to open the existing object instead;
 * - `open` opens an existing object only (ENOENT when there is none);
 * - an object this call did not create must be owned by this user, unless `allowForeignOwner`;
 * - a step after the object was made that fails (mode, owner check, sizing, mapping) closes it
 *   and, when this call made it, unlinks it: a failed `create` leaves nothing behind;
 * - `temporary` names are the prefix and a random UUID, created exclusively.
 *
 * @module
 */

import { E } from "../ffi/constants.ts";
import { errno, libc } from "../ffi/load.ts";
import { ErrnoError, ForeignOwnerError } from "./errors.ts";
import {
  type CreateRule,
  validateBoolean,
  validateOptions,
  validatePosixName,
} from "./_validate.ts";

export { type CreateRule, validateCreateRule } from "./_validate.ts";

/** Checks `allowForeignOwner`, the option every `open` shares. */
export function validateOpenRule(options: { allowForeignOwner?: unknown }): boolean {
  return validateBoolean(options.allowForeignOwner, "allowForeignOwner");
}

/**
 * A fresh name for a `temporary` object: "/" + prefix + "-" + a random UUID, checked as a name.
 *
 * @param prefix the caller's prefix (unchecked input)
 * @param fallback the prefix when none is given
 */
export function temporaryName(prefix: unknown, fallback: string): string {
  const p = prefix ?? fallback;
  if (typeof p !== "string") throw new TypeError("prefix must be a string");
  const name = `/${p}-${crypto.randomUUID()}`;
  validatePosixName(name, "prefix + random suffix");
  return name;
}

/** Checks the options object of a `temporary` factory and returns it typed. */
export function validateTemporaryOptions<T extends object>(options: unknown): T {
  return validateOptions<T>(options);
}

/** How one POSIX kind opens, inspects and removes its objects. `H` is its handle (fd, sem_t*). */
export interface PosixKind<H> {
  /** The kind as messages name it: "shared memory". */
  readonly what: string;
  /** The opening call, for errors: "shm_open". */
  readonly syscall: string;
  /** Opens `name` with `extra` flags (0, or O_CREAT | O_EXCL with `mode`); null sets errno. */
  open(extra: number, mode: number): H | null;
  /** Closes a handle. */
  close(handle: H): void;
  /** Removes the name. */
  unlink(): void;
  /** Sets a new object's mode exactly; returns the errno of a failure, or 0. */
  setMode(handle: H, mode: number): number;
  /** The owner uid of an opened object (throws ErrnoError when it cannot be read). */
  owner(handle: H): number;
  /** Turns a failed create's errno into a more telling error (mq's EINVAL), if it can. */
  createError?(errno: number): ErrnoError | undefined;
}

/**
 * Opens or creates the object `name` of `kind` by the protocol above, then runs `setUp` on it;
 * anything that fails after the object was opened closes it (and unlinks it if this call made
 * it).
 *
 * @param kind how the kind opens its objects
 * @param name the object's (checked) name
 * @param create the create rule, or undefined to open an existing object only
 * @param allowForeignOwner for an open: accept an object another user owns
 * @param setUp makes the handle into the caller's object; `created` says whether this call made
 *   the object
 */
export function openNamed<H, T>(
  kind: PosixKind<H>,
  name: string,
  create: CreateRule | undefined,
  allowForeignOwner: boolean,
  setUp: (handle: H, created: boolean) => T,
): T {
  const O_CREAT_EXCL = 0o100 | 0o200;
  let handle: H | null = null;
  let created = false;
  if (create !== undefined) {
    handle = kind.open(O_CREAT_EXCL, create.mode);
    if (handle !== null) created = true;
    else {
      const e = errno();
      if (e !== E.EEXIST || create.exclusive) {
        throw kind.createError?.(e) ??
          new ErrnoError(e, kind.syscall, { action: `create ${kind.what}`, object: name });
      }
    }
  }
  if (handle === null) {
    handle = kind.open(0, 0);
    if (handle === null) {
      throw new ErrnoError(errno(), kind.syscall, { action: `open ${kind.what}`, object: name });
    }
  }
  const h = handle;
  try {
    if (created) {
      const e = kind.setMode(h, create?.mode ?? 0o600);
      if (e !== 0) {
        throw new ErrnoError(e, "fchmod", { action: `set the mode of ${kind.what}`, object: name });
      }
    } else if (!(allowForeignOwner || create?.allowForeignOwner)) {
      const owner = kind.owner(h);
      const me = libc().geteuid();
      if (owner !== me) throw new ForeignOwnerError(name, owner, me);
    }
    return setUp(h, created);
  } catch (e) {
    kind.close(h);
    if (created) kind.unlink();
    throw e;
  }
}

/**
 * System V IPC keys: `ftok(3)` and `IPC_PRIVATE`.
 *
 * System V objects (shared memory segments, message queues, semaphore sets) are found by a
 * 32-bit key that every process agrees on. `ftok` derives one from an existing file and a
 * project id, so programs that share a path get the same key without hard-coding a number;
 * `IPC_PRIVATE` asks for a new object that no key finds (its id is handed over instead).
 *
 * @example The key of the classic shared-memory program
 * ```ts
 * import { ftok } from "@dipc/dipc";
 *
 * const key = ftok("/tmp", "R");
 * console.log(`0x${(key >>> 0).toString(16)}`);
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man7/sysvipc.7.html}
 * @module
 */

import { IPC } from "../ffi/constants.ts";
import { libc } from "../ffi/load.ts";
import { cString } from "../ffi/util.ts";
import { lastError } from "./_errno.ts";
import { describe } from "./_validate.ts";

/** The key that always creates a new, unnamed object (`IPC_PRIVATE`, 0). */
export const IPC_PRIVATE: number = IPC.PRIVATE;

/**
 * Derives a System V key from an existing file and a project id (`ftok(3)`): the same path and
 * id give the same key in every process, as long as the file is not replaced.
 *
 * @param path an existing file or directory
 * @param id project id: an integer 1..255 or a one-character string such as "R"
 * @returns the key, as the unsigned 32-bit number `ipcs` prints (0x…)
 * @throws {TypeError} / {RangeError} for a bad path or id
 * @throws {ErrnoError} ENOENT (no such file), EACCES
 * @see {@link https://man7.org/linux/man-pages/man3/ftok.3.html}
 *
 * @example Same inputs, same key
 * ```ts
 * import { ftok } from "@dipc/dipc";
 *
 * console.log(ftok("/tmp", 1) === ftok("/tmp", 1)); // true
 * ```
 */
export function ftok(path: string, id: number | string): number {
  if (typeof path !== "string") throw new TypeError(`path must be a string, got ${describe(path)}`);
  if (path.length === 0) throw new TypeError("path must not be empty");
  if (path.includes("\0")) throw new TypeError("path must not contain a NUL character");
  let proj: number;
  if (typeof id === "string") {
    if ([...id].length !== 1) {
      throw new TypeError(`id must be one character, got ${JSON.stringify(id)}`);
    }
    proj = id.codePointAt(0) ?? 0;
  } else if (typeof id === "number") {
    proj = id;
  } else {
    throw new TypeError(`id must be a number or a one-character string, got ${describe(id)}`);
  }
  if (!Number.isInteger(proj) || proj < 1 || proj > 255) {
    throw new RangeError(
      `id must be 1..255 (only its low 8 bits are used, and 0 is invalid), got ${proj}`,
    );
  }
  const key = libc().ftok(cString(path), proj);
  if (key === -1) throw lastError("ftok", "derive an IPC key from", path);
  return key >>> 0;
}

/** Ownership and permissions of a System V object (`struct ipc_perm`). */
export interface IpcPermissions {
  /** The key it was created with (0 for IPC_PRIVATE). */
  key: number;
  /** Owner's uid. */
  uid: number;
  /** Owner's gid. */
  gid: number;
  /** Creator's uid. */
  cuid: number;
  /** Creator's gid. */
  cgid: number;
  /** Permission bits, e.g. 0o600. */
  mode: number;
}

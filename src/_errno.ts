/**
 * Reading errno into an {@linkcode ErrnoError}.
 *
 * @module
 */

import { errno as readErrno } from "../ffi/load.ts";
import { ErrnoError, type ErrnoErrorOptions } from "./errors.ts";

/**
 * Builds an {@linkcode ErrnoError} from the calling thread's errno. Call it immediately after
 * the failed synchronous call, with no FFI call in between.
 */
export function lastError(
  syscall: string,
  action?: string,
  object?: string | number,
): ErrnoError {
  const options: ErrnoErrorOptions = {};
  if (action !== undefined) options.action = action;
  if (object !== undefined) options.object = object;
  return new ErrnoError(readErrno(), syscall, options);
}

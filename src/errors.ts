/**
 * dipc's error types.
 *
 * A failed system call throws {@linkcode ErrnoError}: it names the errno (`code`, `errno`), the
 * call (`syscall`) and the object it was about (`object`). Mistakes in arguments throw
 * `TypeError` or `RangeError` before any system call is made. Using a handle after `close()`
 * throws {@linkcode ClosedError}.
 *
 * @example Telling "already exists" apart
 * ```ts
 * import { ErrnoError, SharedMemory } from "@dipc/dipc";
 *
 * using first = SharedMemory.temporary({ size: 64 });
 * try {
 *   SharedMemory.create(first.name, { size: 64 });
 * } catch (e) {
 *   if (!(e instanceof ErrnoError) || e.code !== "EEXIST") throw e;
 *   console.log(e.message); // Cannot create shared memory "/dipc-…": shm_open failed with EEXIST (File exists)
 * }
 * ```
 *
 * @module
 */

import { errnoName, errnoText } from "../ffi/constants.ts";
import { quoted } from "./_printable.ts";

/** An object as messages quote it: a number as it is, a name escaped (src/_printable.ts). */
const quote = (o: string | number): string => typeof o === "number" ? String(o) : quoted(o);

export { END_OF_STREAM, type EndOfStream, WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";

/** Options for {@linkcode ErrnoError}. */
export interface ErrnoErrorOptions {
  /** What dipc was doing, as a verb phrase: "open shared memory". */
  action?: string;
  /** The object: a name, key or id. */
  object?: string | number;
  /** What was wrong, when errno alone does not say: appended to the message after a colon. */
  detail?: string;
}

/**
 * A system call failed. `code` is the errno name ("EEXIST"), `errno` its number, `syscall` the
 * C function ("shm_open") and `object` the name, key or id it was called on.
 *
 * @see {@link https://man7.org/linux/man-pages/man3/errno.3.html}
 *
 * @example Tell EEXIST from the rest
 * ```ts
 * import { ErrnoError, SharedMemory } from "@dipc/dipc";
 *
 * using shm = SharedMemory.temporary({ size: 16 });
 * try {
 *   SharedMemory.create(shm.name, { size: 16 });
 * } catch (e) {
 *   if (!(e instanceof ErrnoError) || e.code !== "EEXIST") throw e;
 *   console.log(e.syscall, e.errno); // "shm_open" 17
 * }
 * ```
 */
export class ErrnoError extends Error {
  /** The errno name, e.g. "EEXIST". */
  readonly code: string;
  /** The errno number, e.g. 17. */
  readonly errno: number;
  /** The C function that failed, e.g. "shm_open". */
  readonly syscall: string;
  /** The object the call was about, when there is one. */
  readonly object: string | number | undefined;

  /**
   * Builds the error for a failed call; use `lastError` inside dipc to read errno.
   *
   * @param errno the errno number
   * @param syscall the C function that failed
   * @param options what was being done, and to what
   */
  constructor(errno: number, syscall: string, options: ErrnoErrorOptions = {}) {
    if (typeof errno !== "number" || !Number.isInteger(errno)) {
      throw new TypeError(`errno must be an integer, got ${typeof errno}`);
    }
    if (typeof syscall !== "string") {
      throw new TypeError(`syscall must be a string, got ${typeof syscall}`);
    }
    if (typeof options !== "object" || options === null) {
      throw new TypeError(
        `options must be an object, got ${options === null ? "null" : typeof options}`,
      );
    }
    const { action, object } = options;
    if (action !== undefined && typeof action !== "string") {
      throw new TypeError("action must be a string");
    }
    if (options.detail !== undefined && typeof options.detail !== "string") {
      throw new TypeError("detail must be a string");
    }
    if (object !== undefined && typeof object !== "string" && typeof object !== "number") {
      throw new TypeError("object must be a string or a number");
    }
    const code = errnoName(errno);
    const what = options.action === undefined
      ? syscall
      : `Cannot ${options.action}${
        options.object === undefined ? "" : ` ${quote(options.object)}`
      }: ${syscall}`;
    const detail = options.detail === undefined ? "" : `: ${options.detail}`;
    super(`${what} failed with ${code} (${errnoText(errno)})${detail}`);
    this.name = "ErrnoError";
    this.code = code;
    this.errno = errno;
    this.syscall = syscall;
    this.object = options.object;
  }
}

/**
 * A handle was used after `close()`.
 *
 * @example Use after close
 * ```ts
 * import { ClosedError, SharedMemory } from "@dipc/dipc";
 *
 * const shm = SharedMemory.temporary({ size: 16 });
 * shm.close();
 * try {
 *   shm.bytes;
 * } catch (e) {
 *   console.log(e instanceof ClosedError); // true
 * }
 * ```
 */
export class ClosedError extends Error {
  /**
   * Builds the error for a closed handle.
   *
   * @param what the handle, e.g. `shared memory "/jobs"`
   */
  constructor(what: string) {
    if (typeof what !== "string") throw new TypeError("what must be a string");
    super(`${what} is closed`);
    this.name = "ClosedError";
  }
}

/**
 * An existing object is owned by another user, and the caller did not say that is expected.
 * Opening an object someone else created under an agreed name lets them read or forge what you
 * put there ("squatting"); dipc refuses unless `allowForeignOwner: true`.
 *
 * @example Refused unless asked
 * ```ts
 * import { ForeignOwnerError } from "@dipc/dipc";
 *
 * const e = new ForeignOwnerError("/jobs", 1000, 0);
 * console.log(e.owner, e.expected, e.message.includes("allowForeignOwner")); // 1000 0 true
 * ```
 */
export class ForeignOwnerError extends Error {
  /** The object's name. */
  readonly object: string;
  /** The uid that owns it. */
  readonly owner: number;
  /** This process's effective uid. */
  readonly expected: number;

  /**
   * Builds the error for a refused object.
   *
   * @param object the object's name
   * @param owner its owner's uid
   * @param expected the effective uid of this process
   * @param role whether `owner` is the object's owner or its creator (System V keeps both)
   */
  constructor(
    object: string,
    owner: number,
    expected: number,
    role: "owned" | "created" = "owned",
  ) {
    if (typeof object !== "string" && typeof object !== "number") {
      throw new TypeError("object must be a name (a string) or a System V id or key");
    }
    for (const [v, k] of [[owner, "owner"], [expected, "expected"]] as const) {
      if (typeof v !== "number") throw new TypeError(`${k} must be a uid (a number)`);
    }
    if (role !== "owned" && role !== "created") {
      throw new TypeError('role must be "owned" or "created"');
    }
    super(
      `${quote(object)} is ${role} by uid ${owner}, not by this process (uid ${expected}); ` +
        `pass allowForeignOwner: true if that is expected`,
    );
    this.name = "ForeignOwnerError";
    this.object = object;
    this.owner = owner;
    this.expected = expected;
  }
}

/**
 * A process pool's worker ended while it was running a task (`@dipc/dipc/pool`): a crash
 * (SIGSEGV), a kill (SIGKILL, the kernel's out-of-memory killer), `Deno.exit` or an exhausted
 * heap. Only that task fails with it; the pool starts another worker.
 *
 * @example What a pool's task rejects with when its worker dies
 * ```ts
 * import { WorkerExitError } from "@dipc/dipc";
 *
 * const e = new WorkerExitError(1234, null, "SIGSEGV", "resize");
 * console.log(e.pid, e.signal, e.task, e instanceof Error); // 1234 "SIGSEGV" "resize" true
 * ```
 */
export class WorkerExitError extends Error {
  /** The worker's pid. */
  readonly pid: number;
  /** Its exit code, or null when a signal ended it. */
  readonly code: number | null;
  /** The signal that ended it ("SIGSEGV"), or null. */
  readonly signal: string | null;
  /** The task it was running. */
  readonly task: string;

  /**
   * Builds the error for a worker that ended.
   *
   * @param pid the worker's pid
   * @param code its exit code, or null
   * @param signal the signal that ended it, or null
   * @param task the task it was running
   */
  constructor(pid: number, code: number | null, signal: string | null, task: string) {
    if (typeof pid !== "number" || typeof task !== "string") {
      throw new TypeError("pid must be a number and task a string");
    }
    if (code !== null && typeof code !== "number") {
      throw new TypeError("code must be a number or null");
    }
    if (signal !== null && typeof signal !== "string") {
      throw new TypeError("signal must be a string or null");
    }
    const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
    super(`the pool's worker ${pid} ${how} while running ${JSON.stringify(task)}`);
    this.name = "WorkerExitError";
    this.pid = pid;
    this.code = code;
    this.signal = signal;
    this.task = task;
  }
}

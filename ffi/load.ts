/**
 * The loader: the only place in dipc that calls `Deno.dlopen`.
 *
 * Symbols are bound lazily, each on the first call that needs it, so importing dipc costs
 * nothing and needs no permission, and a program pays only for the functions it calls. Each
 * symbol is looked for in a list of libraries in order (`libc.so.6` first, then the older split
 * libraries); when none has it, the error lists every path tried and why it failed.
 *
 * @module
 */

import { E } from "./constants.ts";
import { CORE, GROUPS, PTHREAD, RT } from "./symbols.ts";

/** One library tried for a group, and why it was not used. */
export interface LoadAttempt {
  /** The path given to `dlopen`. */
  library: string;
  /** What `Deno.dlopen` said. */
  reason: string;
}

/** Thrown when no candidate library provides a symbol group. */
export class LibraryLoadError extends Error {
  /** The group that could not be loaded ("core", "rt"). */
  readonly group: string;
  /** Every library tried, in order, with its failure. */
  readonly attempts: readonly LoadAttempt[];

  constructor(group: string, attempts: readonly LoadAttempt[]) {
    const tried = attempts.map((a) => `  ${a.library}: ${a.reason}`).join("\n");
    super(`dipc could not load the C functions it needs (${group}); tried:\n${tried}`);
    this.name = "LibraryLoadError";
    this.group = group;
    this.attempts = attempts;
  }
}

/**
 * The symbols of `symbols`, each bound on first use from the first library of `libraries` that
 * has it.
 *
 * Nothing is opened until a symbol is read: binding costs about 0.1 ms a symbol (Deno compiles a
 * call stub for each), so binding all of a group at once would cost every program, `dipc ls`
 * included, the whole table (13 ms for the core group) for the few functions it calls. Once
 * bound, a symbol is a plain data property of the returned object, as fast to call as one from
 * `Deno.dlopen` itself.
 *
 * @param group a name for error messages
 * @param libraries paths for `dlopen`, tried in order for each symbol
 * @param symbols the symbol table
 * @returns the group's symbols, bound as they are read
 * @throws {LibraryLoadError} when a symbol is read that no library provides (thrown at the read)
 */
export function openGroup<S extends Deno.ForeignLibraryInterface>(
  group: string,
  libraries: readonly string[],
  symbols: S,
): Deno.DynamicLibrary<S>["symbols"] {
  const bound = {} as Record<string, unknown>;
  for (const name of Object.keys(symbols)) {
    Object.defineProperty(bound, name, {
      configurable: true,
      enumerable: true,
      get(): unknown {
        const value = bindOne(group, libraries, name, symbols[name] as Deno.ForeignFunction);
        Object.defineProperty(bound, name, { value, enumerable: true, writable: false });
        return value;
      },
    });
  }
  return bound as Deno.DynamicLibrary<S>["symbols"];
}

function bindOne(
  group: string,
  libraries: readonly string[],
  name: string,
  definition: Deno.ForeignFunction,
): unknown {
  const attempts: LoadAttempt[] = [];
  for (const library of libraries) {
    try {
      return Deno.dlopen(library, { [name]: definition }).symbols[name];
    } catch (e) {
      attempts.push({ library, reason: e instanceof Error ? e.message : String(e) });
    }
  }
  throw new LibraryLoadError(group, attempts);
}

let core: Deno.DynamicLibrary<typeof CORE>["symbols"] | undefined;
let rt: Deno.DynamicLibrary<typeof RT>["symbols"] | undefined;

/** The libc symbols every module uses, opened on first use. */
export function libc(): Deno.DynamicLibrary<typeof CORE>["symbols"] {
  return core ??= openGroup("core", GROUPS.core.libraries, GROUPS.core.symbols);
}

/** The POSIX realtime symbols (shm_open, …), opened on first use. */
export function librt(): Deno.DynamicLibrary<typeof RT>["symbols"] {
  return rt ??= openGroup("rt", GROUPS.rt.libraries, GROUPS.rt.symbols);
}

let pthread: Deno.DynamicLibrary<typeof PTHREAD>["symbols"] | undefined;

/** POSIX semaphores and pthread mutexes (sem_open, pthread_mutex_lock, …), opened on first use. */
export function libpthread(): Deno.DynamicLibrary<typeof PTHREAD>["symbols"] {
  return pthread ??= openGroup("pthread", GROUPS.pthread.libraries, GROUPS.pthread.symbols);
}

let errnoView: Deno.UnsafePointerView | undefined;

/**
 * errno of the calling thread, as the last synchronous FFI call left it. Call it immediately
 * after the failing call, with no other FFI call in between.
 *
 * The address from `__errno_location()` is per thread and fixed for the thread's life; a module
 * instance runs on one thread (the main thread or one Worker's), so caching it is sound.
 */
export function errno(): number {
  if (errnoView === undefined) {
    const p = libc().__errno_location();
    if (p === null) throw new Error("__errno_location() returned NULL");
    errnoView = new Deno.UnsafePointerView(p);
  }
  return errnoView.getInt32();
}

/**
 * errno after a failed *try* call that can fail with EAGAIN and never with ENOENT (read, write,
 * send and receive on descriptors and queues, accept, semop, flock), with ENOENT read as
 * EAGAIN. Under load, work of the runtime's own can run on this thread between a call's return
 * and the read of errno and leave errno set (seen: ENOENT after read(2), and after a shared
 * FUTEX_WAIT, neither of which can return it). "Try again" is always a safe reading: the caller
 * waits for readiness and calls again, and a real error comes back then.
 */
export function errnoOfTry(): number {
  const e = errno();
  return e === E.ENOENT ? E.EAGAIN : e;
}

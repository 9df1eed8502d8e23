/**
 * Signals: the Linux signal table, sending (`kill`, to a process group, `sigqueue` with an
 * integer payload) and receiving as an async iterator.
 *
 * Receiving goes through `Deno.addSignalListener`, the only safe way in a runtime with many
 * threads: a signal handler of dipc's own would race Deno's, and `signalfd`/`sigwaitinfo` only
 * see signals that are blocked in *every* thread, which Deno's threads do not do. The price:
 * Deno reports which signal came, not its `siginfo` (sender pid, `sigqueue` payload). A payload
 * sent with {@linkcode sigqueue} is therefore received by C programs (`sigwaitinfo`,
 * `SA_SIGINFO` handlers), not by Deno code; dipc does not pretend otherwise.
 *
 * A child started with {@linkcode spawn} begins with every signal at its default action (Deno
 * itself ignores SIGPIPE, which a child would otherwise inherit) except those named in its
 * `ignoreSignals`, and with the signals in `blockSignals` blocked.
 *
 * @example Catch SIGUSR1 sent to ourselves
 * ```ts
 * import { kill, signals } from "@dipc/dipc";
 *
 * const ac = new AbortController();
 * setTimeout(() => kill(Deno.pid, "SIGUSR1"), 10);
 * for await (const sig of signals(["SIGUSR1"], { signal: ac.signal })) {
 *   console.log("got", sig);
 *   ac.abort();
 * }
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man7/signal.7.html}
 * @module
 */

import { SIGNALS, SIGRTMAX, SIGRTMIN } from "../ffi/constants.ts";
import { libc } from "../ffi/load.ts";
import { lastError } from "./_errno.ts";
import { describe, validateInteger, validateOptions } from "./_validate.ts";

/** A signal's name, e.g. "SIGTERM". */
export type SignalName =
  | "SIGHUP"
  | "SIGINT"
  | "SIGQUIT"
  | "SIGILL"
  | "SIGTRAP"
  | "SIGABRT"
  | "SIGBUS"
  | "SIGFPE"
  | "SIGKILL"
  | "SIGUSR1"
  | "SIGSEGV"
  | "SIGUSR2"
  | "SIGPIPE"
  | "SIGALRM"
  | "SIGTERM"
  | "SIGSTKFLT"
  | "SIGCHLD"
  | "SIGCONT"
  | "SIGSTOP"
  | "SIGTSTP"
  | "SIGTTIN"
  | "SIGTTOU"
  | "SIGURG"
  | "SIGXCPU"
  | "SIGXFSZ"
  | "SIGVTALRM"
  | "SIGPROF"
  | "SIGWINCH"
  | "SIGIO"
  | "SIGPWR"
  | "SIGSYS";

/** Linux signal numbers by name (the same on x86_64 and aarch64). */
export const SIGNAL_NUMBERS: Readonly<Record<SignalName, number>> = SIGNALS;

/** First realtime signal number (glibc's SIGRTMIN, 34) and the last (64). */
export const REALTIME_SIGNALS: { readonly min: number; readonly max: number } = {
  min: SIGRTMIN,
  max: SIGRTMAX,
};

const names = new Map<number, SignalName>(
  Object.entries(SIGNALS).map(([name, n]) => [n, name as SignalName]),
);

/**
 * The number of a signal given by name or number; throws for anything Linux does not have.
 *
 * @param signal "SIGTERM", or a number 1..31 or 34..64
 * @returns the signal number
 * @throws {TypeError} for an unknown name or a non-number
 * @throws {RangeError} for a number that is not a signal (0, 32, 33, 65, …)
 *
 * @example
 * ```ts
 * import { signalNumber } from "@dipc/dipc";
 *
 * console.log(signalNumber("SIGTERM"), signalNumber(35)); // 15 35
 * ```
 */
export function signalNumber(signal: SignalName | number): number {
  if (typeof signal === "string") {
    const n = SIGNALS[signal as SignalName];
    if (n === undefined || !Object.hasOwn(SIGNALS, signal)) {
      throw new TypeError(`unknown signal name ${JSON.stringify(signal)}`);
    }
    return n;
  }
  if (typeof signal !== "number") {
    throw new TypeError(`signal must be a name or a number, got ${describe(signal)}`);
  }
  validateInteger(signal, "signal", 1, SIGRTMAX);
  if (!names.has(signal) && signal < SIGRTMIN) {
    throw new RangeError(`${signal} is not a signal (32 and 33 are reserved by glibc)`);
  }
  return signal;
}

/**
 * The name of a signal number ("SIGTERM"), `SIGRTMIN+n` for realtime signals.
 *
 * @param n a signal number
 * @returns its name
 * @throws {RangeError} for a number that is not a signal
 *
 * @example Numbers and names
 * ```ts
 * import { signalName, signalNumber } from "@dipc/dipc";
 *
 * console.log(signalName(15), signalName(signalNumber("SIGUSR1"))); // "SIGTERM" "SIGUSR1"
 * ```
 */
export function signalName(n: number): string {
  signalNumber(n);
  return names.get(n) ?? (n === SIGRTMIN ? "SIGRTMIN" : `SIGRTMIN+${n - SIGRTMIN}`);
}

function validatePid(pid: unknown, what: string): number {
  if (typeof pid !== "number") {
    throw new TypeError(`${what} must be a number, got ${describe(pid)}`);
  }
  // 0 and negative numbers address groups or every process: kill(-1) would signal all of them.
  return validateInteger(pid, what, 1, 0x3fffffff);
}

/**
 * Sends a signal to one process (`kill(2)`). Only positive pids: groups have
 * {@linkcode killProcessGroup}, and `kill(-1)` (everyone) is not offered.
 *
 * @param pid the process
 * @param signal name or number (default "SIGTERM")
 * @throws {ErrnoError} ESRCH (no such process), EPERM (not allowed)
 * @see {@link https://man7.org/linux/man-pages/man2/kill.2.html}
 *
 * @example Stop a child
 * ```ts
 * import { kill, spawn } from "@dipc/dipc";
 *
 * await using child = spawn("sleep", { args: ["30"] });
 * kill(child.pid, "SIGTERM");
 * console.log((await child.wait({ timeout: 5_000 })).signal); // "SIGTERM"
 * ```
 */
export function kill(pid: number, signal: SignalName | number = "SIGTERM"): void {
  const p = validatePid(pid, "pid");
  const n = signalNumber(signal);
  if (libc().kill(p, n) !== 0) throw lastError("kill", `send ${signalName(n)} to process`, p);
}

/**
 * Sends a signal to every process of a process group (`killpg(3)`).
 *
 * @param pgid the group id (the pid of its leader)
 * @param signal name or number (default "SIGTERM")
 * @throws {ErrnoError} ESRCH (no such group), EPERM
 * @see {@link https://man7.org/linux/man-pages/man3/killpg.3.html}
 *
 * @example A child and what it starts, together
 * ```ts
 * import { killProcessGroup, spawn } from "@dipc/dipc";
 *
 * await using child = spawn("sh", { args: ["-c", "sleep 30 & sleep 30"], processGroup: true });
 * killProcessGroup(child.pgid ?? child.pid, "SIGKILL"); // the shell and its sleep
 * console.log((await child.wait({ timeout: 5_000 })).signal); // "SIGKILL"
 * ```
 */
export function killProcessGroup(pgid: number, signal: SignalName | number = "SIGTERM"): void {
  const g = validatePid(pgid, "pgid");
  const n = signalNumber(signal);
  if (libc().killpg(g, n) !== 0) {
    throw lastError("killpg", `send ${signalName(n)} to process group`, g);
  }
}

/**
 * Sends a signal with an integer payload (`sigqueue(3)`, `sival_int`). The receiver sees the
 * payload in its `siginfo_t` (`si_value.sival_int`, with `si_code` SI_QUEUE): a C program with
 * `sigwaitinfo` or an `SA_SIGINFO` handler does; Deno code cannot (see the module doc).
 *
 * @param pid the process
 * @param signal name or number (realtime signals queue; others coalesce)
 * @param value a 32-bit integer
 * @throws {ErrnoError} ESRCH, EPERM, EAGAIN (the receiver's queue of signals is full)
 * @see {@link https://man7.org/linux/man-pages/man3/sigqueue.3.html}
 *
 * @example A signal with a value, to this process
 * ```ts
 * import { signals, sigqueue } from "@dipc/dipc";
 *
 * const stop = new AbortController();
 * const it = signals(["SIGUSR2"], { signal: stop.signal });
 * const first = it.next(); // listening starts here
 * sigqueue(Deno.pid, "SIGUSR2", 42);
 * console.log((await first).value); // "SIGUSR2"
 * stop.abort();
 * await it.return(undefined);
 * ```
 */
export function sigqueue(pid: number, signal: SignalName | number, value: number): void {
  const p = validatePid(pid, "pid");
  const n = signalNumber(signal);
  validateInteger(value, "value", -0x80000000, 0x7fffffff);
  if (libc().sigqueue(p, n, BigInt(value >>> 0)) !== 0) {
    throw lastError("sigqueue", `queue ${signalName(n)} to process`, p);
  }
}

/** Signals Deno cannot listen for (the kernel or Deno reserves them). */
const UNLISTENABLE = new Set<SignalName>([
  "SIGKILL",
  "SIGSTOP",
  "SIGILL",
  "SIGFPE",
  "SIGSEGV",
  "SIGBUS",
]);

/**
 * Receives signals as an async iterator of their names, until `signal` aborts (the loop then
 * ends normally). Signals that come while the loop body runs are queued, none dropped (though
 * the kernel itself merges repeats of a standard signal that is still pending). Listening
 * starts with the iterator's first `next()` (a `for await` makes that call at once): tell
 * other processes you are ready only after it, or a signal may meet its default action.
 *
 * @param which the signals to receive, e.g. `["SIGINT", "SIGTERM"]`
 * @param options `signal`: an AbortSignal that ends the iteration
 * @returns an async iterable of signal names
 * @throws {TypeError} for an unknown signal or one Deno cannot catch (SIGKILL, SIGSTOP, …)
 * @see {@link https://docs.deno.com/api/deno/~/Deno.addSignalListener}
 *
 * @example Shut down on SIGTERM
 * ```ts
 * import { kill, signals } from "@dipc/dipc";
 *
 * const stop = new AbortController();
 * setTimeout(() => kill(Deno.pid, "SIGTERM"), 10);
 * for await (const name of signals(["SIGINT", "SIGTERM"], { signal: stop.signal })) {
 *   console.log(`got ${name}: cleaning up`); // "got SIGTERM: cleaning up"
 *   break; // ends the listening
 * }
 * ```
 */
export function signals(
  which: SignalName[],
  options?: { signal?: AbortSignal },
): AsyncGenerator<SignalName, void, undefined> {
  // Checked now, not at the first `next()`: bad arguments throw where the call is.
  if (!Array.isArray(which) || which.length === 0) {
    throw new TypeError("which must be a non-empty array of signal names");
  }
  for (const name of which) {
    if (typeof name !== "string") throw new TypeError(`signal names must be strings`);
    signalNumber(name);
    if (UNLISTENABLE.has(name)) throw new TypeError(`${name} cannot be caught`);
  }
  const { signal } = validateOptions<{ signal?: AbortSignal }>(options);
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`signal must be an AbortSignal, got ${describe(signal)}`);
  }
  return listen([...which], signal);
}

async function* listen(
  which: SignalName[],
  signal: AbortSignal | undefined,
): AsyncGenerator<SignalName, void, undefined> {
  if (signal?.aborted) return;
  const queue: SignalName[] = [];
  let wake: (() => void) | undefined;
  const listeners = which.map((name) => {
    const fn = (): void => {
      queue.push(name);
      wake?.();
    };
    Deno.addSignalListener(name, fn);
    return [name, fn] as const;
  });
  const onAbort = (): void => wake?.();
  signal?.addEventListener("abort", onAbort, { once: true });
  // Deno's signal listeners do not keep the event loop alive; a program whose main loop is
  // this iterator must not exit while it waits, so a timer holds it open until the end.
  const keepAlive = setInterval(() => {}, 0x7fffffff);
  try {
    for (;;) {
      while (queue.length > 0) yield queue.shift() as SignalName;
      if (signal?.aborted) return;
      await new Promise<void>((resolve) => wake = resolve);
      wake = undefined;
    }
  } finally {
    clearInterval(keepAlive);
    signal?.removeEventListener("abort", onAbort);
    for (const [name, fn] of listeners) Deno.removeSignalListener(name, fn);
  }
}

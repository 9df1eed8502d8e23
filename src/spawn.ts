/**
 * Fork-free child processes over `posix_spawn`: what C programmers get from fork + dup2 + exec,
 * for Deno, which cannot fork.
 *
 * {@linkcode spawn} starts a program with its arguments (strings or raw bytes), an environment
 * (inherited, extended or replaced), a working directory, stdin/stdout/stderr each inherited,
 * `/dev/null`, piped (a {@linkcode PipeWriter}/{@linkcode PipeReader} here) or any descriptor,
 * and a map of further descriptor numbers to hand over: pipe ends, shared memory, any object
 * with an `unsafeFd`. `Deno.Command` can only pass stdin, stdout and stderr.
 *
 * The child starts clean: every other descriptor closed, an empty signal mask, every signal at
 * its default action (Deno itself ignores SIGPIPE, and a child would otherwise inherit that),
 * except those listed in `ignoreSignals`. A non-blocking pipe end is handed over as a fresh,
 * blocking open of the same pipe, so `cat` or a C program reading it behaves as usual.
 *
 * A program that cannot be started (ENOENT, EACCES, ENOEXEC) throws {@linkcode ErrnoError} from
 * `spawn` itself. {@linkcode ChildProcess.status} waits without blocking the event loop: a pool
 * thread polls the child's pidfd and the child is reaped here with `wait4(WNOHANG)`, which also reports the CPU time it used.
 *
 * Needs only `--allow-ffi`: the environment is read from `environ` through FFI, as the child
 * inherits it.
 *
 * @example A child writing to descriptor 3
 * ```ts
 * import { Pipe, spawn } from "@dipc/dipc";
 *
 * using pipe = Pipe.create();
 * await using child = spawn("sh", { args: ["-c", "echo hi >&3"], fds: { 3: pipe.writer } });
 * pipe.writer.close();
 * console.log(await pipe.reader.text()); // "hi\n"
 * console.log((await child.status).code); // 0
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man3/posix_spawn.3.html}
 * @module
 */

import {
  E,
  F,
  O,
  POLL,
  RUSAGE,
  SIG_IGN,
  SIGACTION,
  SIGNALS,
  SIGRTMAX,
  SIGSET_SIZE,
  SPAWN,
  SYS,
  WNOHANG,
} from "../ffi/constants.ts";
import { errno, libc } from "../ffi/load.ts";
import { cString, OutStruct } from "../ffi/util.ts";
import { ErrnoError } from "./errors.ts";
import { lastError } from "./_errno.ts";
import { brand, checkInternal, INTERNAL } from "./_internal.ts";
import { closeFd, FdSleeper, type HasFd } from "./_fd.ts";
import { PipeReader, PipeWriter } from "./pipe.ts";
import { type SignalName, signalName, signalNumber } from "./signal.ts";
import { describe, validateBoolean, validateInteger, validateOptions } from "./_validate.ts";
import {
  promiseWithin,
  TIMED_OUT,
  timedOut,
  waitBoundsOf,
  type WaitOptions,
  waitUntil,
} from "./_wait.ts";
import { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";

export { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";

/** How a standard stream of the child is set up. */
export type StdioOption = "inherit" | "null" | "piped" | HasFd;

/** Options for {@linkcode spawn}. */
export interface SpawnOptions {
  /** Arguments after the program name; a `Uint8Array` is passed as raw bytes. */
  args?: ReadonlyArray<string | Uint8Array>;
  /** `argv[0]`, if it should differ from `program`. */
  argv0?: string;
  /** Variables to set in the child, on top of this process's environment. */
  env?: Record<string, string>;
  /** Start from an empty environment instead of this process's. */
  clearEnv?: boolean;
  /** Working directory of the child. */
  cwd?: string;
  /** Standard input: "inherit" (default), "null", "piped" or a descriptor owner. */
  stdin?: StdioOption;
  /** Standard output: "inherit" (default), "null", "piped" or a descriptor owner. */
  stdout?: StdioOption;
  /** Standard error: "inherit" (default), "null", "piped" or a descriptor owner. */
  stderr?: StdioOption;
  /** Further descriptors: child descriptor number (3 and up) → what to put there. */
  fds?: Record<number, HasFd>;
  /** `true`: a new process group led by the child; a number: join that group. */
  processGroup?: boolean | number;
  /** Start the child in a new session (`setsid`); it leads a new process group too. */
  newSession?: boolean;
  /**
   * Signals the child starts with ignored (SIG_IGN). An exec keeps only *ignored* dispositions,
   * so this process ignores them itself for the moment of the spawn (microseconds) and then
   * restores its own handlers: one of these signals arriving in that moment is lost here.
   */
  ignoreSignals?: SignalName[];
  /** Signals blocked in the child at start (default: none). */
  blockSignals?: SignalName[];
  /** Close every descriptor the child does not get explicitly (default true). */
  closeOtherFds?: boolean;
}

/** How a child ended. */
export interface ChildStatus {
  /** Exited with code 0. */
  success: boolean;
  /** Exit code, or null if a signal ended it. */
  code: number | null;
  /** The signal that ended it ("SIGKILL"), or null. */
  signal: string | null;
  /** Whether it dumped core. */
  coreDumped: boolean;
  /**
   * CPU time the child used, in milliseconds, as `wait4` reports it: `user` in its own code,
   * `system` in the kernel on its behalf (its reaped children included).
   */
  cpuTime: { user: number; system: number };
}

/** What {@linkcode ChildProcess.output} collects. */
export interface ChildOutput {
  /** How the child ended. */
  status: ChildStatus;
  /** Everything it wrote to a piped stdout (empty otherwise). */
  stdout: Uint8Array<ArrayBuffer>;
  /** Everything it wrote to a piped stderr (empty otherwise). */
  stderr: Uint8Array<ArrayBuffer>;
}

const O_ACCMODE = 3;

function decodeStatus(w: number, usage: OutStruct): ChildStatus {
  const ms = (at: number): number => usage.u64(at) * 1000 + usage.u64(at + RUSAGE.tv_usec) / 1000;
  const cpuTime = { user: ms(RUSAGE.ru_utime), system: ms(RUSAGE.ru_stime) };
  const sig = w & 0x7f;
  if (sig === 0) {
    const code = (w >> 8) & 0xff;
    return { success: code === 0, code, signal: null, coreDumped: false, cpuTime };
  }
  return {
    success: false,
    code: null,
    signal: signalName(sig),
    coreDumped: (w & 0x80) !== 0,
    cpuTime,
  };
}

/**
 * A started child process.
 *
 * @example Run a program, collect its output
 * ```ts
 * import { spawn } from "@dipc/dipc";
 *
 * await using child = spawn("sh", { args: ["-c", "echo out; echo err >&2"], stdout: "piped", stderr: "piped" });
 * const { status, stdout, stderr } = await child.output({ timeout: 10_000 });
 * const text = new TextDecoder();
 * console.log(status.code, text.decode(stdout), text.decode(stderr)); // 0 "out\n" "err\n"
 * ```
 */
export class ChildProcess implements AsyncDisposable {
  /** The child's pid. */
  readonly pid: number;
  /** The child's process group, when `processGroup` or `newSession` made or chose one. */
  readonly pgid: number | null;
  /** Write end of the child's stdin when it is "piped". */
  readonly stdin: PipeWriter | null;
  /** Read end of the child's stdout when it is "piped". */
  readonly stdout: PipeReader | null;
  /** Read end of the child's stderr when it is "piped". */
  readonly stderr: PipeReader | null;
  #pidfd: number;
  #pendingWaits = 0;
  readonly #statusBuf = new Int32Array(1);
  #exit: ChildStatus | undefined;
  #waiting: Promise<ChildStatus> | undefined;

  /** @ignore use {@linkcode spawn}. */
  constructor(
    token: unknown,
    pid: number,
    pidfd: number,
    pgid: number | null,
    stdio: [PipeWriter | null, PipeReader | null, PipeReader | null],
  ) {
    checkInternal(token, "spawn()");
    brand(this, "ChildProcess");
    this.pid = pid;
    this.#pidfd = pidfd;
    this.pgid = pgid;
    [this.stdin, this.stdout, this.stderr] = stdio;
  }

  #reap(): ChildStatus | undefined {
    if (this.#exit) return this.#exit;
    for (;;) {
      const usage = new OutStruct(RUSAGE.size);
      const r = libc().wait4(
        this.pid,
        new Uint8Array(this.#statusBuf.buffer),
        WNOHANG,
        usage.bytes,
      );
      if (r === this.pid) {
        this.#exit = decodeStatus(this.#statusBuf[0] ?? 0, usage);
        if (this.#pendingWaits === 0) this.#closePidfd();
        return this.#exit;
      }
      if (r === 0) return undefined;
      const e = errno();
      if (e !== E.EINTR) {
        throw new ErrnoError(e, "wait4", { action: "wait for process", object: this.pid });
      }
    }
  }

  /**
   * How the child ended, if it has (reaping it). Never waits.
   *
   * @returns the status, or {@linkcode WOULD_BLOCK} while it runs
   * @throws {ErrnoError} ECHILD if something else reaped it
   */
  tryStatus(): ChildStatus | WouldBlock {
    return this.#reap() ?? WOULD_BLOCK;
  }

  /**
   * Resolves when the child ends, with how it ended. Waiting polls the child's pidfd on a pool
   * thread and reaps it here: no zombie is left, the event loop is never blocked.
   */
  get status(): Promise<ChildStatus> {
    return this.#waiting ??= this.wait();
  }

  /**
   * Waits for the child to end, at most `timeout` ms or until `signal` aborts; the child is
   * not touched when the wait gives up.
   *
   * @param options `signal` and `timeout`
   * @returns how the child ended
   * @throws {DOMException} `TimeoutError` when the timeout passes first
   * @throws the signal's reason when aborted
   */
  async wait(options?: WaitOptions): Promise<ChildStatus> {
    const opts = waitBoundsOf(options);
    const done = this.#reap();
    if (done) return done;
    const sleeper = new FdSleeper(this.#pidfd, POLL.IN);
    this.#pendingWaits++;
    try {
      const r = await waitUntil(() => this.#reap() ?? WOULD_BLOCK, sleeper, opts, 0);
      if (r === TIMED_OUT) throw timedOut(`waiting for process ${this.pid}`);
      return r;
    } finally {
      sleeper.close();
      // The pidfd stays open while any wait polls it; the last one out closes it.
      if (--this.#pendingWaits === 0 && this.#exit) this.#closePidfd();
    }
  }

  /**
   * Sends a signal to the child (`kill(2)`). Safe at any time: until the child is reaped a zombie
   * keeps its pid, and once it is reaped nothing is sent, so the signal can never reach another
   * process that got the pid since.
   *
   * @param signal name or number (default "SIGTERM")
   * @returns true when the signal was sent, false when the child had already exited and been
   *   reaped (nothing to signal; not an error)
   * @throws {ErrnoError} EPERM, or EINVAL for a signal the kernel refuses
   * @see {@link https://man7.org/linux/man-pages/man2/kill.2.html}
   */
  kill(signal: SignalName | number = "SIGTERM"): boolean {
    const n = signalNumber(signal);
    if (this.#exit) return false;
    if (libc().kill(this.pid, n) !== 0) {
      if (errno() === E.ESRCH) return false;
      throw lastError("kill", `send ${signalName(n)} to process`, this.pid);
    }
    return true;
  }

  /**
   * Reads piped stdout and stderr to their end and waits for the child, within
   * `{ signal, timeout }`, then closes every pipe of this side, a piped stdin included (write to
   * it meanwhile if the child needs input). When it gives up, the pipes are closed as well and
   * the child is left running (kill it, or `await using` it).
   *
   * @param options `signal`, `timeout` (ms)
   * @returns status, stdout and stderr
   * @throws {DOMException} `TimeoutError` when the timeout passes first
   * @throws the signal's reason when aborted
   */
  async output(options?: WaitOptions): Promise<ChildOutput> {
    const bounds = waitBoundsOf(options);
    const what = `output of process ${this.pid}`;
    try {
      const [stdout, stderr, status] = await promiseWithin(
        Promise.all([
          this.stdout?.bytes() ?? new Uint8Array(0),
          this.stderr?.bytes() ?? new Uint8Array(0),
          this.status,
        ]),
        bounds,
        what,
      );
      return { status, stdout, stderr };
    } finally {
      // No descriptor of the call outlives it, a piped stdin included (once the child has ended,
      // or the wait has given up: then the reads end too, and the child is not touched).
      this.stdin?.close();
      this.stdout?.close();
      this.stderr?.close();
    }
  }

  /**
   * Closes stdin; if the child still runs, sends SIGTERM and, after 2 s, SIGKILL; waits for it
   * (no zombie) and closes the pipes.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.stdin?.close();
    if (!this.#reap()) {
      libc().kill(this.pid, SIGNALS.SIGTERM);
      const timer = new Promise<typeof TIMED_OUT>((r) => setTimeout(() => r(TIMED_OUT), 2000));
      const first = await Promise.race([this.status, timer]);
      if (first === TIMED_OUT && !this.#reap()) libc().kill(this.pid, SIGNALS.SIGKILL);
      await this.status;
    }
    this.stdout?.close();
    this.stderr?.close();
    this.#closePidfd();
  }

  #closePidfd(): void {
    closeFd(this.#pidfd);
    this.#pidfd = -1;
  }
}

function validateCString(s: unknown, what: string): string {
  if (typeof s !== "string") throw new TypeError(`${what} must be a string, got ${describe(s)}`);
  if (s.includes("\0")) throw new TypeError(`${what} must not contain a NUL character`);
  return s;
}

function cBytes(arg: string | Uint8Array, what: string): Uint8Array {
  if (arg instanceof Uint8Array) {
    if (arg.includes(0)) throw new TypeError(`${what} must not contain a NUL byte`);
    const b = new Uint8Array(arg.length + 1);
    b.set(arg);
    return b;
  }
  return cString(validateCString(arg, what));
}

/**
 * A NULL-terminated `char *[]` over `strings`, packed into one block so that one
 * `UnsafePointer.of` (about 0.5 µs) serves them all. Keep the result alive while C uses it.
 */
function cStringArray(strings: Uint8Array[]): { block: Uint8Array; pointers: BigUint64Array } {
  const block = new Uint8Array(strings.reduce((n, s) => n + s.length, 0) || 1);
  const pointers = new BigUint64Array(strings.length + 1);
  const base = Deno.UnsafePointer.value(Deno.UnsafePointer.of(block));
  let at = 0;
  strings.forEach((s, i) => {
    block.set(s, at);
    pointers[i] = base + BigInt(at);
    at += s.length;
  });
  return { block, pointers };
}

/** This process's environment as it is now (`environ`), read through FFI: no permission. */
function currentEnviron(): Deno.PointerValue {
  const addr = libc().environ;
  return addr === null ? null : new Deno.UnsafePointerView(addr).getPointer(0);
}

/** The entries of `environ` as "NAME=value" strings. */
function environEntries(): Map<string, string> {
  const env = new Map<string, string>();
  const list = currentEnviron();
  if (list === null) return env;
  const view = new Deno.UnsafePointerView(list);
  for (let i = 0;; i++) {
    const p = view.getPointer(i * 8);
    if (p === null) break;
    const entry = Deno.UnsafePointerView.getCString(p);
    const eq = entry.indexOf("=");
    if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

function sigset(signals: Iterable<number>): Uint8Array {
  const set = new Uint8Array(SIGSET_SIZE);
  for (const n of signals) {
    const i = (n - 1) >> 3;
    set[i] = (set[i] ?? 0) | (1 << ((n - 1) & 7));
  }
  return set;
}

function validateSignalList(list: unknown, what: string): number[] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new TypeError(`${what} must be an array of signal names`);
  return list.map((s) => {
    const n = signalNumber(s);
    if (n === SIGNALS.SIGKILL || n === SIGNALS.SIGSTOP) {
      throw new TypeError(`${what}: ${signalName(n)} cannot be ignored or blocked`);
    }
    return n;
  });
}

function isHasFd(x: unknown): x is HasFd {
  return typeof x === "object" && x !== null && "unsafeFd" in x;
}

const STDIO_NAMES = ["stdin", "stdout", "stderr"];

/** The descriptor of a handle given to hand over, checked to be a descriptor number. */
function handedFd(h: HasFd, what: string): number {
  const fd: unknown = h.unsafeFd;
  if (typeof fd !== "number" || !Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) {
    throw new TypeError(`${what}.unsafeFd must be a descriptor number, got ${describe(fd)}`);
  }
  return fd;
}

function validateStdio(x: unknown, what: string): StdioOption {
  if (x === undefined) return "inherit";
  if (x === "inherit" || x === "null" || x === "piped" || isHasFd(x)) return x;
  throw new TypeError(`${what} must be "inherit", "null", "piped" or an object with a descriptor`);
}

/**
 * A copy of `fd` numbered at least `min`, close-on-exec, for a spawn's dup2. A non-blocking
 * pipe end is reopened through /proc/self/fd (a new open of the same pipe) and made blocking,
 * so the child does not share this process's O_NONBLOCK.
 */
function childCopy(fd: number, min: number): number {
  const { fcntl, open, close } = libc();
  const flags = fcntl(fd, F.GETFL, 0);
  if (flags < 0) throw lastError("fcntl", "hand over descriptor", fd);
  let source = fd;
  let reopened = -1;
  if (flags & O.NONBLOCK) {
    reopened = open(
      cString(`/proc/self/fd/${fd}`),
      (flags & O_ACCMODE) | O.NONBLOCK | O.CLOEXEC,
      0,
    );
    if (reopened >= 0) {
      fcntl(reopened, F.SETFL, flags & O_ACCMODE);
      source = reopened;
    }
  }
  const copy = fcntl(source, F.DUPFD_CLOEXEC, min);
  const e = copy < 0 ? errno() : 0;
  if (reopened >= 0) close(reopened);
  if (copy < 0) throw new ErrnoError(e, "fcntl", { action: "hand over descriptor", object: fd });
  return copy;
}

/**
 * Starts `program` (looked up in PATH unless it contains a "/") with `posix_spawn`.
 *
 * @param program the program, e.g. "cat" or "/usr/bin/env"
 * @param options args, env, cwd, stdio, fds, process group, session, signals
 * @returns the running child
 * @throws {TypeError} / {RangeError} for bad options (checked before anything is created)
 * @throws {ErrnoError} ENOENT (no such program), EACCES (not executable), ENOEXEC, EBADF (a
 *   handed-over descriptor is closed), EMFILE
 * @see {@link https://man7.org/linux/man-pages/man3/posix_spawn.3.html}
 *
 * @example Piped output
 * ```ts
 * import { spawn } from "@dipc/dipc";
 *
 * await using child = spawn("echo", { args: ["hello"], stdout: "piped" });
 * const { status, stdout } = await child.output();
 * console.log(status.code, new TextDecoder().decode(stdout)); // 0 "hello\n"
 * ```
 */
export function spawn(program: string, options?: SpawnOptions): ChildProcess {
  // ---- every check first: nothing is created for a bad call ----
  validateCString(program, "program");
  if (program.length === 0) throw new TypeError("program must not be empty");
  const o = validateOptions<SpawnOptions>(options);
  const args = o.args ?? [];
  if (!Array.isArray(args)) throw new TypeError("args must be an array");
  const argv = [
    cBytes(o.argv0 ?? program, "argv0"),
    ...args.map((a, i) => cBytes(a, `args[${i}]`)),
  ];
  const clearEnv = validateBoolean(o.clearEnv, "clearEnv");
  const env = validateOptions<Record<string, string>>(o.env, "env");
  for (const [k, v] of Object.entries(env)) {
    validateCString(k, "env name");
    if (k.length === 0 || k.includes("=")) {
      throw new TypeError(`env name ${JSON.stringify(k)} is not valid`);
    }
    validateCString(v, `env ${k}`);
  }
  const cwd = o.cwd === undefined ? undefined : validateCString(o.cwd, "cwd");
  const stdio = [
    validateStdio(o.stdin, "stdin"),
    validateStdio(o.stdout, "stdout"),
    validateStdio(o.stderr, "stderr"),
  ];
  const fdMap = Object.entries(validateOptions<Record<string, HasFd>>(o.fds, "fds")).map(
    ([k, v]) => {
      const n = Number(k);
      if (!/^\d+$/.test(k)) {
        throw new TypeError(`fds keys must be descriptor numbers, got ${JSON.stringify(k)}`);
      }
      validateInteger(n, "fds key", 3, 1023);
      if (!isHasFd(v)) {
        throw new TypeError(`fds[${k}] must be an object with a descriptor (unsafeFd)`);
      }
      return [n, v] as const;
    },
  );
  const newSession = validateBoolean(o.newSession, "newSession");
  const group = o.processGroup;
  if (group !== undefined && typeof group !== "boolean") {
    validateInteger(group, "processGroup", 1, 0x3fffffff);
  }
  if (newSession && group !== undefined && group !== false) {
    throw new TypeError("newSession already makes a new process group: drop processGroup");
  }
  const ignored = validateSignalList(o.ignoreSignals, "ignoreSignals");
  const blocked = validateSignalList(o.blockSignals, "blockSignals");
  const closeOthers = o.closeOtherFds === undefined
    ? true
    : validateBoolean(o.closeOtherFds, "closeOtherFds");
  // Reading the resources' descriptors now also throws ClosedError for a closed one; each must
  // be a descriptor number before any system call sees it.
  const handed = fdMap.map(([n, r]) => [n, handedFd(r, `fds[${n}]`)] as const);
  const stdioFds = stdio.map((s, i) => (isHasFd(s) ? handedFd(s, STDIO_NAMES[i] ?? "stdio") : -1));
  // Inheriting the environment unchanged passes `environ` itself; otherwise it is rebuilt.
  const extra = Object.entries(env);
  let envBlock: { block: Uint8Array; pointers: BigUint64Array } | undefined;
  if (clearEnv || extra.length > 0) {
    const merged = clearEnv ? new Map<string, string>() : environEntries();
    for (const [k, v] of extra) merged.set(k, v);
    envBlock = cStringArray([...merged].map(([k, v]) => cString(`${k}=${v}`)));
  }

  // ---- build the file actions and attributes ----
  const L = libc();
  const fa = new Uint8Array(SPAWN.file_actions_size);
  const attr = new Uint8Array(SPAWN.attr_size);
  const temps: number[] = [];
  const parentEnds: Array<PipeReader | PipeWriter | null> = [null, null, null];
  const childEnds: number[] = [];
  const restore: Array<[number, Uint8Array]> = [];
  const check = (r: number, call: string): void => {
    if (r !== 0) throw new ErrnoError(r, call, { action: "prepare to start", object: program });
  };
  check(L.posix_spawn_file_actions_init(fa), "posix_spawn_file_actions_init");
  check(L.posix_spawnattr_init(attr), "posix_spawnattr_init");
  try {
    const min = Math.max(3, ...handed.map(([n]) => n + 1));
    for (let n = 0; n < 3; n++) {
      const s = stdio[n];
      if (s === "null") {
        check(
          L.posix_spawn_file_actions_addopen(
            fa,
            n,
            cString("/dev/null"),
            n === 0 ? O.RDONLY : O.WRONLY,
            0,
          ),
          "posix_spawn_file_actions_addopen",
        );
      } else if (s === "piped") {
        const fds = new Int32Array(2);
        if (L.pipe2(new Uint8Array(fds.buffer), O.CLOEXEC) !== 0) {
          throw lastError("pipe2", "make a pipe for the child's", n);
        }
        const [r, w] = [fds[0] ?? -1, fds[1] ?? -1];
        const [mine, theirs] = n === 0 ? [w, r] : [r, w];
        childEnds.push(theirs);
        L.fcntl(mine, F.SETFL, O.NONBLOCK | (n === 0 ? O.WRONLY : O.RDONLY));
        parentEnds[n] = n === 0
          ? new PipeWriter(INTERNAL, mine, "child stdin")
          : new PipeReader(INTERNAL, mine, n === 1 ? "child stdout" : "child stderr");
        check(
          L.posix_spawn_file_actions_adddup2(fa, theirs, n),
          "posix_spawn_file_actions_adddup2",
        );
      } else if (s !== "inherit") {
        const copy = childCopy(stdioFds[n] ?? -1, min);
        temps.push(copy);
        check(L.posix_spawn_file_actions_adddup2(fa, copy, n), "posix_spawn_file_actions_adddup2");
      }
    }
    for (const [n, fd] of handed) {
      const copy = childCopy(fd, min);
      temps.push(copy);
      check(L.posix_spawn_file_actions_adddup2(fa, copy, n), "posix_spawn_file_actions_adddup2");
    }
    if (cwd !== undefined) {
      check(
        L.posix_spawn_file_actions_addchdir_np(fa, cString(cwd)),
        "posix_spawn_file_actions_addchdir_np",
      );
    }
    if (closeOthers) {
      check(
        L.posix_spawn_file_actions_addclosefrom_np(fa, min),
        "posix_spawn_file_actions_addclosefrom_np",
      );
    }

    let flags = SPAWN.SETSIGMASK | SPAWN.SETSIGDEF;
    if (newSession) flags |= SPAWN.SETSID;
    if (group !== undefined && group !== false) {
      flags |= SPAWN.SETPGROUP;
      check(
        L.posix_spawnattr_setpgroup(attr, group === true ? 0 : group),
        "posix_spawnattr_setpgroup",
      );
    }
    check(L.posix_spawnattr_setflags(attr, flags), "posix_spawnattr_setflags");
    check(L.posix_spawnattr_setsigmask(attr, sigset(blocked)), "posix_spawnattr_setsigmask");
    const defaults: number[] = [];
    for (let n = 1; n <= SIGRTMAX; n++) {
      if (n !== SIGNALS.SIGKILL && n !== SIGNALS.SIGSTOP && !ignored.includes(n)) defaults.push(n);
    }
    check(L.posix_spawnattr_setsigdefault(attr, sigset(defaults)), "posix_spawnattr_setsigdefault");

    // A child inherits ignored signals; set SIG_IGN here for the moment of the spawn.
    for (const n of ignored) {
      const act = new Uint8Array(SIGACTION.size);
      new DataView(act.buffer).setBigUint64(SIGACTION.sa_handler, BigInt(SIG_IGN), true);
      const old = new Uint8Array(SIGACTION.size);
      if (L.sigaction(n, act, old) !== 0) throw lastError("sigaction", "ignore signal", n);
      restore.push([n, old]);
    }

    const pidBuf = new Int32Array(1);
    const path = cString(program);
    const argvBlock = cStringArray(argv);
    const call = program.includes("/") ? "posix_spawn" : "posix_spawnp";
    const r = (program.includes("/") ? L.posix_spawn : L.posix_spawnp)(
      new Uint8Array(pidBuf.buffer),
      path,
      fa,
      attr,
      Deno.UnsafePointer.of(argvBlock.pointers),
      envBlock ? Deno.UnsafePointer.of(envBlock.pointers) : currentEnviron(),
    );
    // The blocks must outlive the call: keep them reachable until here.
    void argvBlock.block;
    void envBlock?.block;
    for (const [n, old] of restore.splice(0)) L.sigaction(n, old, new Uint8Array(SIGACTION.size));
    if (r !== 0) throw new ErrnoError(r, call, { action: "start", object: program });
    const pid = pidBuf[0] ?? -1;
    const pidfd = L.pidfd_open(SYS.pidfd_open, pid, 0);
    if (pidfd < 0) throw lastError("pidfd_open", "watch process", pid);
    const pgid = newSession || group === true ? pid : typeof group === "number" ? group : null;
    return new ChildProcess(
      INTERNAL,
      pid,
      pidfd,
      pgid,
      parentEnds as [PipeWriter | null, PipeReader | null, PipeReader | null],
    );
  } catch (e) {
    for (const end of parentEnds) end?.close();
    throw e;
  } finally {
    for (const [n, old] of restore) L.sigaction(n, old, new Uint8Array(SIGACTION.size));
    for (const fd of [...temps, ...childEnds]) L.close(fd);
    L.posix_spawn_file_actions_destroy(fa);
    L.posix_spawnattr_destroy(attr);
  }
}

/** Deno permissions for {@linkcode spawnDeno}: each `true` (all) or a list (only these). */
export interface DenoPermissions {
  /** `--allow-ffi`: what a child using dipc needs. */
  ffi?: boolean | string[];
  /** `--allow-read`. */
  read?: boolean | string[];
  /** `--allow-write`. */
  write?: boolean | string[];
  /** `--allow-env`. */
  env?: boolean | string[];
  /** `--allow-run`. */
  run?: boolean | string[];
  /** `--allow-net`. */
  net?: boolean | string[];
  /** `--allow-sys`. */
  sys?: boolean | string[];
  /** `--allow-import`. */
  import?: boolean | string[];
}

/** Options for {@linkcode spawnDeno}: those of {@linkcode spawn} and the child's permissions. */
export interface SpawnDenoOptions extends Omit<SpawnOptions, "argv0"> {
  /**
   * The permissions the child gets, exactly (default `{ ffi: true }`: what dipc needs). The
   * child never prompts (`--no-prompt`): a permission it lacks fails at once.
   */
  permissions?: DenoPermissions;
  /** Further `deno run` flags before the script (e.g. `["--v8-flags=--max-old-space-size=64"]`). */
  denoFlags?: string[];
}

const PERMISSION_NAMES = ["ffi", "read", "write", "env", "run", "net", "sys", "import"] as const;

/**
 * Starts a Deno child, `deno run --quiet --no-prompt <permissions> <script> <args>`, with this
 * process's own Deno binary and {@linkcode spawn} (so it can be handed descriptors with `fds`).
 * The child has exactly the permissions given, as flags: nothing is inherited.
 *
 * @param script the module to run: a path or a URL (`import.meta.url` to run this file again)
 * @param options `permissions`, `denoFlags`, and every option of {@linkcode spawn}; `args` go to
 *   the script
 * @returns the running child
 * @throws {TypeError} for a bad script, permission or flag
 * @throws {ErrnoError} as {@linkcode spawn}
 *
 * @example A child that answers on stdout
 * ```ts
 * import { spawnDeno } from "@dipc/dipc";
 *
 * const script = "data:text/javascript,console.log(Deno.args[0])";
 * await using child = spawnDeno(script, { args: ["hello"], stdout: "piped", permissions: {} });
 * const { stdout } = await child.output();
 * console.log(new TextDecoder().decode(stdout)); // "hello\n"
 * ```
 */
export function spawnDeno(script: string | URL, options?: SpawnDenoOptions): ChildProcess {
  const target = script instanceof URL ? script.href : validateCString(script, "script");
  if (target.length === 0) throw new TypeError("script must not be empty");
  const o = validateOptions<SpawnDenoOptions>(options);
  const perms = validateOptions<DenoPermissions>(o.permissions ?? { ffi: true }, "permissions");
  const flags: string[] = [];
  for (const key of Object.keys(perms)) {
    if (!(PERMISSION_NAMES as readonly string[]).includes(key)) {
      throw new TypeError(`permissions.${key} is not a Deno permission`);
    }
  }
  for (const name of PERMISSION_NAMES) {
    const v: unknown = perms[name];
    if (v === undefined || v === false) continue;
    if (v === true) flags.push(`--allow-${name}`);
    else if (Array.isArray(v) && v.length > 0) {
      const list = v.map((x) => validateCString(x, `permissions.${name}[]`));
      if (list.some((x) => x.includes(","))) {
        throw new TypeError(`permissions.${name} entries must not contain ","`);
      }
      flags.push(`--allow-${name}=${list.join(",")}`);
    } else {
      throw new TypeError(`permissions.${name} must be a boolean or a non-empty list of strings`);
    }
  }
  const extra = o.denoFlags ?? [];
  if (!Array.isArray(extra)) throw new TypeError("denoFlags must be an array of strings");
  for (const f of extra) {
    if (!validateCString(f, "denoFlags[]").startsWith("-")) {
      throw new TypeError(
        `denoFlags entries are flags starting with "-", got ${JSON.stringify(f)}`,
      );
    }
  }
  const args = o.args ?? [];
  if (!Array.isArray(args)) throw new TypeError("args must be an array");
  const { permissions: _p, denoFlags: _f, ...rest } = o;
  return spawn(Deno.execPath(), {
    ...rest,
    args: ["run", "--quiet", "--no-prompt", ...flags, ...extra, target, ...args],
  });
}

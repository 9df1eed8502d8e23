/**
 * A process pool: run a module's exported functions on N Deno processes, get the results, survive
 * a crash, stop on cancel. What Python's `concurrent.futures.ProcessPoolExecutor` and Node's
 * piscina do, with what only processes give: a task that segfaults through FFI, exhausts its heap
 * or calls `Deno.exit` fails alone, and its worker is replaced.
 *
 * ```ts ignore
 * import { ProcessPool } from "@dipc/dipc/pool";
 *
 * await using pool = ProcessPool.create(new URL("./tasks.ts", import.meta.url), { size: 4 });
 * const digest = await pool.run("sha256", [bytes], { timeout: 5_000 });
 * for await (const r of pool.map("resize", files, { ordered: false })) console.log(r);
 * ```
 *
 * **Tasks.** A task module is an ordinary module; each exported function (sync or async) is a
 * task, called with the arguments given to {@linkcode ProcessPool.run} (or one item of
 * {@linkcode ProcessPool.map}). A worker runs one task at a time.
 *
 * **What travels.** Arguments and results are structured clones ({@linkcode cloneCodec}: objects,
 * arrays, Map, Set, Date, RegExp, BigInt, typed arrays, errors with their class, `cause` and
 * fields, cycles), taken when `run` is called, over two shared-memory rings per worker. Messages
 * of any length up to `maxMessageSize` go through. Handles go as handles: a
 * {@linkcode SharedMemory} or a {@linkcode SharedRegion} of one (`shm.region(0, n)`) arrives in
 * the worker mapped, not copied, so a 1 GiB buffer costs what a small one does; a
 * {@linkcode UnixSocket}, {@linkcode PipeReader} or {@linkcode PipeWriter} arrives as a new handle
 * on the same open file (`SCM_RIGHTS`), which the task owns and closes. Results cannot hold
 * handles.
 *
 * **Failures.** A task that throws rejects with what it threw (an `ErrnoError` arrives an
 * `ErrnoError`, with `code`, `errno`, `syscall`). A worker that dies while running a task fails
 * that task with a {@linkcode WorkerExitError} naming its pid and signal or exit code (or runs it
 * again, `retries` times), and is replaced; the tasks waiting behind it go to other workers. A
 * module that fails to load fails every call with its error.
 *
 * **Cancelling.** `timeout` (from the call) and `signal` drop a task that has not started; a
 * task that is running is stopped by killing its worker (SIGKILL), which is then replaced:
 * synchronous JavaScript cannot be interrupted any other way. The call rejects with the
 * `TimeoutError` or the signal's reason either way.
 *
 * **Lifetime.** Workers start at once. {@linkcode ProcessPool.close} (and `await using`)
 * finishes everything submitted, then lets the workers exit; {@linkcode ProcessPool.terminate}
 * rejects what is left and kills them. A worker never outlives its pool's process: it asks the
 * kernel for SIGKILL when its parent dies (`PR_SET_PDEATHSIG`), so even a worker deep in
 * synchronous code goes when the caller is SIGKILLed.
 *
 * **Permissions.** Each worker runs with exactly the permissions given (as
 * {@linkcode spawnDeno}), plus `--allow-ffi`, which its own rings need. It needs no read
 * permission for the task module.
 *
 * @module
 */

import { type ChildProcess, type DenoPermissions, spawnDeno } from "./spawn.ts";
import { SharedMemory, SharedRegion } from "./shm.ts";
import { RingChannel, type RingReceiver, type RingSender } from "./ring.ts";
import { UnixSocket } from "./socket.ts";
import { PipeReader, PipeWriter } from "./pipe.ts";
import { ClosedError, WorkerExitError } from "./errors.ts";
import { checkInternal, INTERNAL } from "./_internal.ts";
import { decodeClone, withEncoded } from "./_clone_codec.ts";
import { END_OF_STREAM, WOULD_BLOCK } from "./_sentinels.ts";
import {
  promiseWithin,
  timedOut,
  validateWaitOptions,
  waitBoundsOf,
  type WaitOptions,
} from "./_wait.ts";
import { describe, validateInteger, validateOptionKeys } from "./_validate.ts";
import {
  cancelMessage,
  CONTROL_BYTES,
  HANDLE,
  HAS_HANDLES,
  KIND,
  POOL_MAGIC,
  poolLayout,
  ProtocolError,
  readId,
  RESULT_BODY,
  setTaskId,
  taskHead,
  u32At,
  W_FENCE,
  W_MAGIC,
  W_RUNNING,
  WireReceiver,
  WireSender,
} from "./_pool_protocol.ts";
import { copyToSlab } from "./_copy.ts";
import { taskModuleUrl, workerEntry } from "./_pool_common.ts";
import { type MapOptions, mapTasks, type RunOptions, validateMap } from "./_pool_map.ts";

export { cloneCodec } from "./_clone_codec.ts";
export { WorkerExitError } from "./errors.ts";
export type { SyncWaitOptions, WaitOptions } from "./_wait.ts";
export type { Codec } from "./_codec.ts";
export type { DenoPermissions } from "./spawn.ts";
export type { MapOptions, RunOptions } from "./_pool_map.ts";

/** Options for {@linkcode ProcessPool.create}. */
export interface ProcessPoolOptions {
  /** Workers (default: the machine's CPUs, `navigator.hardwareConcurrency`). */
  size?: number;
  /** What each worker may do, exactly (as {@linkcode spawnDeno}; `ffi` is always added). */
  permissions?: DenoPermissions;
  /** Further `deno run` flags for the workers (e.g. `["--v8-flags=--max-old-space-size=64"]`). */
  denoFlags?: string[];
  /** Variables set in each worker, on top of this process's environment. */
  env?: Record<string, string>;
  /** The workers' working directory. */
  cwd?: string;
  /** The workers' stdout and stderr: "inherit" (default) or "null". */
  output?: "inherit" | "null";
  /** Runs of a task whose worker died, after the first (default 0); per call too. */
  retries?: number;
  /**
   * Tasks a worker holds at once: the one it runs and those waiting behind it. By default this
   * adapts to each task's measured duration: a worker holds tasks worth up to a millisecond (at
   * most 64), so tasks of microseconds travel in batches (a wake-up costs more than they do),
   * while a long task never has another waiting behind it. A number fixes it: 1 never puts a
   * task behind another.
   */
  prefetch?: number;
  /** Bytes of each of a worker's two rings, a power of two (default 1 MiB). */
  ringCapacity?: number;
  /** The longest arguments or result, encoded, in bytes (default 64 MiB). */
  maxMessageSize?: number;
  /** Milliseconds a worker may take to start and load the module (default 30,000). */
  startTimeout?: number;
}

/** One worker, as {@linkcode ProcessPool.stat} reports it. */
export interface PoolWorkerStats {
  /** Its pid. */
  pid: number;
  /** Tasks it holds (running and waiting). */
  tasks: number;
  /** Tasks it finished. */
  done: number;
  /** Whether it has loaded the module. */
  ready: boolean;
}

/** What {@linkcode ProcessPool.stat} reports. */
export interface PoolStats {
  /** Tasks waiting for a worker. */
  queued: number;
  /** Tasks given to a worker and not finished. */
  running: number;
  /** Tasks that returned a result. */
  done: number;
  /** Tasks that failed (threw, crashed, timed out or were cancelled). */
  failed: number;
  /** Workers started to replace one that died or was killed. */
  restarts: number;
  /** The workers. */
  workers: PoolWorkerStats[];
}

const DEFAULT_RING = 1 << 20;
/** An adaptive prefetch's bounds: tasks worth this many µs a worker, at most this many. */
const PREFETCH_BUDGET_US = 1000;
const MAX_PREFETCH = 64;
const DEFAULT_MAX_MESSAGE = 64 << 20;
const DEFAULT_START_TIMEOUT = 30_000;
/** Workers that die before loading, in a row, that fail the pool. */
const START_FAILURES = 3;
/** How long `close` waits for a worker to exit by itself before killing it. */
const EXIT_GRACE_MS = 5_000;

const WORKER = new URL("./_pool_worker.ts", import.meta.url).href;

interface Task {
  id: number;
  name: string;
  bytes: Uint8Array;
  handles: HandleOut[] | undefined;
  retries: number;
  attempts: number;
  settled: boolean;
  slot: Slot | undefined;
  /** Its expected µs, counted in its worker's load while it holds it. */
  cost: number;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  cleanup: (() => void) | undefined;
  /** The map that submitted it, if one did. */
  owner: Set<Task> | undefined;
}

interface HandleOut {
  kind: number;
  fd: number;
  offset: number;
  length: number;
}

interface Slot {
  child: ChildProcess;
  memory: SharedMemory;
  words: Int32Array;
  link: UnixSocket;
  sender: RingSender;
  receiver: RingReceiver;
  tx: WireSender;
  rx: WireReceiver;
  stop: AbortController;
  held: Task[];
  /** The expected µs of the tasks it holds (the adaptive prefetch's measure). */
  load: number;
  done: number;
  ready: boolean;
  gone: boolean;
  ending: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** A first-in, first-out queue with O(1) take from the front. */
class Deque<T> {
  #items: (T | undefined)[] = [];
  #head = 0;
  get length(): number {
    return this.#items.length - this.#head;
  }
  push(v: T): void {
    this.#items.push(v);
  }
  unshift(v: T): void {
    if (this.#head > 0) this.#items[--this.#head] = v;
    else this.#items.unshift(v);
  }
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const v = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return v;
  }
  drain(): T[] {
    const all = this.#items.slice(this.#head) as T[];
    this.#items = [];
    this.#head = 0;
    return all;
  }
}

/**
 * A pool of Deno worker processes running one task module's functions. See the module
 * documentation for what travels, how failures and cancels work, and the lifetime rules.
 *
 * @example Tasks in other processes
 * ```ts
 * import { ProcessPool } from "@dipc/dipc/pool";
 *
 * const module = await Deno.makeTempFile({ suffix: ".ts" });
 * await Deno.writeTextFile(module, "export const add = (a: number, b: number) => a + b;\n");
 * {
 *   await using pool = ProcessPool.create(module, { size: 2 });
 *   console.log(await pool.run("add", [2, 3], { timeout: 30_000 })); // 5
 *   const sums: number[] = [];
 *   for await (const s of pool.map<number>("add", [[1, 1], [2, 2]], { timeout: 30_000 })) {
 *     sums.push(s);
 *   }
 *   console.log(sums); // [2, 4]
 * }
 * await Deno.remove(module);
 * ```
 */
export class ProcessPool implements AsyncDisposable {
  readonly #module: string;
  readonly #size: number;
  /** A fixed prefetch, or undefined: adapt (see ProcessPoolOptions.prefetch). */
  readonly #prefetch: number | undefined;
  /** Each task's measured duration, µs, a moving average. */
  readonly #cost = new Map<string, number>();
  readonly #retries: number;
  readonly #ring: number;
  readonly #maxMessage: number;
  readonly #startTimeout: number;
  readonly #spawnOptions: Parameters<typeof spawnDeno>[1];
  readonly #slots: Slot[] = [];
  readonly #queue = new Deque<Task>();
  #nextId = 1;
  #held = 0;
  #done = 0;
  #failed = 0;
  #restarts = 0;
  #startFailures = 0;
  #exports: Set<string> | undefined;
  /** Task headers by name, reused (the id is written into them for each task). */
  readonly #heads = new Map<string, Uint8Array>();
  #error: unknown = undefined;
  #closing = false;
  #terminated = false;
  readonly #loaded = Promise.withResolvers<void>();
  #idle: PromiseWithResolvers<void> | undefined;
  #closed: Promise<void> | undefined;

  /** @ignore */
  private constructor(token: unknown, module: string, o: ProcessPoolOptions) {
    checkInternal(token, "ProcessPool.create()");
    this.#module = module;
    this.#size = validateInteger(
      o.size ?? Math.max(1, navigator.hardwareConcurrency || 1),
      "size",
      1,
      1024,
    );
    this.#prefetch = o.prefetch === undefined
      ? undefined
      : validateInteger(o.prefetch, "prefetch", 1, 1024);
    this.#retries = validateInteger(o.retries ?? 0, "retries", 0, 1000);
    this.#ring = validateInteger(o.ringCapacity ?? DEFAULT_RING, "ringCapacity", 4096, 1 << 30);
    if ((this.#ring & (this.#ring - 1)) !== 0) {
      throw new RangeError(`ringCapacity must be a power of two, got ${this.#ring}`);
    }
    this.#maxMessage = validateInteger(
      o.maxMessageSize ?? DEFAULT_MAX_MESSAGE,
      "maxMessageSize",
      1024,
      2 ** 31,
    );
    this.#startTimeout = validateInteger(
      o.startTimeout ?? DEFAULT_START_TIMEOUT,
      "startTimeout",
      1,
      2 ** 31,
    );
    if (o.output !== undefined && o.output !== "inherit" && o.output !== "null") {
      throw new TypeError(`output must be "inherit" or "null", got ${describe(o.output)}`);
    }
    const permissions = { ...(o.permissions ?? {}), ffi: true };
    if (
      o.permissions !== undefined && (typeof o.permissions !== "object" || o.permissions === null)
    ) {
      throw new TypeError(`permissions must be an object, got ${describe(o.permissions)}`);
    }
    this.#spawnOptions = {
      permissions,
      ...(o.denoFlags === undefined ? {} : { denoFlags: o.denoFlags }),
      ...(o.env === undefined ? {} : { env: o.env }),
      ...(o.cwd === undefined ? {} : { cwd: o.cwd }),
      stdin: "null",
      stdout: o.output ?? "inherit",
      stderr: o.output ?? "inherit",
    };
    // Nobody need wait on it: the first call (or ready()) reports a failure.
    this.#loaded.promise.catch(() => {});
  }

  /**
   * Starts a pool of `size` workers running `module`'s exported functions.
   *
   * @param module the task module: a URL, or a path (relative to the working directory)
   * @param options `size`, `permissions`, `denoFlags`, `env`, `cwd`, `output`, `retries`,
   *   `prefetch`, `ringCapacity`, `maxMessageSize`, `startTimeout`
   * @returns the pool; its workers are starting (see {@linkcode ProcessPool.ready})
   * @throws {TypeError} / {RangeError} for bad arguments, before any worker starts
   * @throws {ErrnoError} when a worker cannot be started (EAGAIN, ENOMEM)
   *
   * @example Four workers, one task
   * ```ts ignore
   * import { ProcessPool } from "@dipc/dipc/pool";
   *
   * await using pool = ProcessPool.create(new URL("./tasks.ts", import.meta.url), { size: 4 });
   * console.log(await pool.run("add", [2, 3])); // 5
   * ```
   */
  static create(module: string | URL, options: ProcessPoolOptions = {}): ProcessPool {
    const url = taskModuleUrl(module);
    const o = validateOptionKeys<ProcessPoolOptions>(options, [
      "size",
      "permissions",
      "denoFlags",
      "env",
      "cwd",
      "output",
      "retries",
      "prefetch",
      "ringCapacity",
      "maxMessageSize",
      "startTimeout",
    ], "ProcessPool.create");
    const pool = new ProcessPool(INTERNAL, url, o);
    try {
      for (let i = 0; i < pool.#size; i++) pool.#slots.push(pool.#start());
    } catch (e) {
      pool.#terminateNow(e);
      throw e;
    }
    return pool;
  }

  /** The number of workers. */
  get size(): number {
    return this.#size;
  }

  /** The task module's URL. */
  get module(): string {
    return this.#module;
  }

  /**
   * Resolves once a worker has loaded the task module; rejects with the module's error when it
   * does not load (a syntax error, a missing import, a throw at its top level).
   *
   * @param options `signal`, `timeout`
   * @throws the module's error; `TimeoutError`; the signal's reason
   */
  async ready(options?: WaitOptions): Promise<void> {
    await promiseWithin(this.#loaded.promise, waitBoundsOf(options), `loading ${this.#module}`);
  }

  // ---- workers -----------------------------------------------------------------------------

  #start(): Slot {
    const layout = poolLayout(this.#ring);
    const memory = SharedMemory.anonymous({ size: layout.size });
    let link: [UnixSocket, UnixSocket] | undefined;
    let request: RingChannel | undefined;
    let response: RingChannel | undefined;
    try {
      const words = memory.int32(0, CONTROL_BYTES / 4);
      Atomics.store(words, W_MAGIC, POOL_MAGIC);
      request = RingChannel.init(memory, layout.request, { capacity: this.#ring });
      response = RingChannel.init(memory, layout.response, { capacity: this.#ring });
      link = UnixSocket.pair({ type: "seqpacket" });
      const [mine, theirs] = link;
      const entry = workerEntry(WORKER, "serveTasks", this.#module);
      const child = spawnDeno(entry, {
        ...this.#spawnOptions,
        args: [this.#module, String(Deno.pid), String(this.#maxMessage)],
        fds: { 3: theirs, 4: memory },
      });
      theirs.close();
      const stop = new AbortController();
      const sender = request.sender();
      // The parent waits on every worker's ring at once: it sleeps at once rather than spin
      // (measured: spinning here costs a third of the throughput with 4 workers on 2 CPUs).
      const receiver = response.receiver({ spins: 0 });
      const slot: Slot = {
        child,
        memory,
        words,
        link: mine,
        sender,
        receiver,
        tx: new WireSender(sender, request.maxMessageSize, this.#maxMessage, stop.signal),
        rx: new WireReceiver(receiver, response.maxMessageSize, this.#maxMessage),
        stop,
        held: [],
        load: 0,
        done: 0,
        ready: false,
        gone: false,
        ending: false,
        timer: undefined,
      };
      slot.timer = setTimeout(() => {
        slot.timer = undefined;
        if (!slot.ready && !slot.gone) child.kill("SIGKILL");
      }, this.#startTimeout);
      void this.#serve(slot);
      void child.status.then(() => this.#exited(slot));
      return slot;
    } catch (e) {
      link?.forEach((s) => s.close());
      request?.close();
      response?.close();
      memory.close();
      throw e;
    }
  }

  /** Reads a worker's messages until it goes. */
  async #serve(slot: Slot): Promise<void> {
    try {
      for (;;) {
        const m = await slot.rx.next(slot.stop.signal);
        if (m === END_OF_STREAM) return;
        this.#message(slot, m);
        for (;;) {
          const more = slot.rx.tryNext();
          if (more === WOULD_BLOCK || more === END_OF_STREAM) break;
          this.#message(slot, more);
        }
        this.#pump();
      }
    } catch (e) {
      if (slot.stop.signal.aborted) return;
      // A worker that sends what does not parse is broken: it goes, as a crash would.
      console.error(`dipc pool: worker ${slot.child.pid}: ${(e as Error)?.message ?? e}`);
      slot.child.kill("SIGKILL");
    }
  }

  #message(slot: Slot, m: Uint8Array): void {
    const kind = m[0];
    if (kind === KIND.RESULT) {
      const id = readId(m, RESULT_BODY);
      const ok = m[5] === 1;
      const micros = u32At(m, 6);
      const at = slot.held.findIndex((t) => t.id === id);
      if (at < 0) return; // cancelled while it was being sent back
      const task = slot.held[at] as Task;
      this.#unhold(slot, at);
      slot.done++;
      const before = this.#cost.get(task.name);
      this.#cost.set(task.name, before === undefined ? micros : before * 0.875 + micros * 0.125);
      const value = decodeClone(m, undefined, RESULT_BODY);
      if (ok) this.#settle(task, true, value);
      else this.#settle(task, false, value);
      return;
    }
    if (kind === KIND.READY) {
      if (m.length < 2) throw new ProtocolError("a READY of 1 byte");
      const value = decodeClone(m, undefined, 2);
      if (m[1] !== 1) {
        this.#fail(value);
        return;
      }
      if (!Array.isArray(value) || !value.every((x) => typeof x === "string")) {
        throw new ProtocolError("a READY without the exported names");
      }
      slot.ready = true;
      this.#startFailures = 0;
      if (slot.timer !== undefined) clearTimeout(slot.timer);
      slot.timer = undefined;
      this.#exports ??= new Set(value);
      this.#loaded.resolve();
      return;
    }
    throw new ProtocolError(`kind ${kind} from a worker`);
  }

  /** A worker's process ended: settle what it held, and start another if there is work. */
  #exited(slot: Slot): void {
    const status = slot.child.tryStatus();
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    // Take what it answered before it went.
    try {
      for (;;) {
        const m = slot.rx.tryNext();
        if (m === WOULD_BLOCK || m === END_OF_STREAM) break;
        this.#message(slot, m);
      }
    } catch { /* a torn last message: the tasks below fail or run again */ }
    slot.gone = true;
    slot.stop.abort();
    const running = Atomics.load(slot.words, W_RUNNING);
    const code = typeof status === "object" ? status.code : null;
    const signal = typeof status === "object" ? status.signal : null;
    const held = slot.held.splice(0);
    this.#held -= held.length;
    slot.load = 0;
    for (const task of held.reverse()) {
      task.slot = undefined;
      if (task.settled) continue;
      if (task.id !== running) {
        task.attempts--; // it had not started: not a run, and it goes to another worker
        this.#queue.unshift(task);
      } else if (task.attempts <= task.retries && !this.#terminated) {
        this.#queue.unshift(task);
      } else {
        this.#settle(task, false, new WorkerExitError(slot.child.pid, code, signal, task.name));
      }
    }
    this.#release(slot);
    const at = this.#slots.indexOf(slot);
    if (!slot.ready && !slot.ending && !this.#terminated && this.#error === undefined) {
      if (++this.#startFailures >= START_FAILURES) {
        this.#fail(new WorkerExitError(slot.child.pid, code, signal, `(loading ${this.#module})`));
      }
    }
    if (at >= 0) {
      if (
        this.#terminated || this.#error !== undefined || (this.#closing && this.#queue.length === 0)
      ) {
        this.#slots.splice(at, 1);
      } else {
        this.#restarts++;
        try {
          this.#slots[at] = this.#start();
        } catch (e) {
          this.#slots.splice(at, 1);
          if (this.#slots.length === 0) this.#fail(e);
        }
      }
    }
    this.#pump();
    this.#checkIdle();
  }

  #release(slot: Slot): void {
    slot.stop.abort();
    slot.sender.close();
    slot.receiver.close();
    slot.link.close();
    slot.memory.close();
  }

  /** The module cannot be loaded, or workers cannot start: every call fails with `error`. */
  #fail(error: unknown): void {
    if (this.#error !== undefined) return;
    this.#error = error;
    this.#loaded.reject(error);
    for (const task of this.#queue.drain()) this.#settle(task, false, error);
    for (const slot of this.#slots) if (!slot.gone) slot.child.kill("SIGKILL");
  }

  // ---- tasks -------------------------------------------------------------------------------

  /**
   * Runs the task `name` with `args` on a worker.
   *
   * @param name an exported function of the task module
   * @param args its arguments (cloned now; handles go as handles: see the module documentation)
   * @param options `signal`, `timeout` (ms, from now), `retries`
   * @returns what the task returned (awaited when it is a promise)
   * @throws what the task threw; {@linkcode WorkerExitError} when its worker died; a
   *   `TimeoutError` or the signal's reason; a `DataCloneError` for arguments that cannot be
   *   cloned; {@linkcode ClosedError} once the pool is closing; the module's load error
   *
   * @example Run a task
   * ```ts ignore
   * import { ProcessPool } from "@dipc/dipc/pool";
   *
   * await using pool = ProcessPool.create(new URL("./tasks.ts", import.meta.url));
   * console.log(await pool.run("add", [2, 3], { timeout: 5000 })); // 5
   * ```
   */
  run<T = unknown>(name: string, args: readonly unknown[] = [], options?: RunOptions): Promise<T> {
    try {
      return this.#submit(name, args, options, this.#closing) as Promise<T>;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #submit(
    name: string,
    args: readonly unknown[],
    options: RunOptions | undefined,
    closing: boolean,
    owner?: Set<Task>,
  ): Promise<unknown> {
    if (typeof name !== "string" || name.length === 0) {
      throw new TypeError(`a task name must be a non-empty string, got ${describe(name)}`);
    }
    if (!Array.isArray(args)) throw new TypeError(`args must be an array, got ${describe(args)}`);
    const o = validateOptionKeys<RunOptions>(options, ["signal", "timeout", "retries"], "run");
    const { signal, timeout } = validateWaitOptions({ signal: o.signal, timeout: o.timeout });
    const retries = validateInteger(o.retries ?? this.#retries, "retries", 0, 1000);
    if (closing) throw new ClosedError("process pool");
    if (this.#error !== undefined) throw this.#error;
    if (this.#exports !== undefined && !this.#exports.has(name)) {
      throw new TypeError(`${this.#module} exports no function ${JSON.stringify(name)}`);
    }
    signal?.throwIfAborted();
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffff_fff0 ? 1 : this.#nextId + 1;
    const handles: HandleOut[] = [];
    let head = this.#heads.get(name);
    if (head === undefined) {
      head = taskHead(0, 0, name);
      if (this.#heads.size < 1024) this.#heads.set(name, head);
    }
    setTaskId(head, id);
    handleList = handles;
    const bytes = withEncoded(args, HANDLE_HOOKS, copyToSlab, head);
    if (handles.length > 0) bytes[5] = HAS_HANDLES;
    if (handles.length > 253) throw new RangeError("a task takes at most 253 handles");
    if (bytes.length > this.#maxMessage) {
      throw new RangeError(
        `the arguments take ${bytes.length} bytes, over maxMessageSize (${this.#maxMessage})`,
      );
    }
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const task: Task = {
      id,
      name,
      bytes,
      handles: handles.length > 0 ? handles : undefined,
      retries,
      attempts: 0,
      settled: false,
      slot: undefined,
      cost: 0,
      resolve,
      reject,
      cleanup: undefined,
      owner,
    };
    owner?.add(task);
    if (signal !== undefined || timeout !== undefined) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => this.#cancel(task, signal?.reason);
      if (timeout !== undefined && timeout !== Infinity) {
        timer = setTimeout(
          () => this.#cancel(task, timedOut(`task ${JSON.stringify(name)}`)),
          timeout,
        );
      }
      signal?.addEventListener("abort", onAbort, { once: true });
      task.cleanup = () => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
    }
    this.#queue.push(task);
    this.#pump();
    return promise;
  }

  #settle(task: Task, ok: boolean, value: unknown): void {
    if (task.settled) return;
    task.settled = true;
    task.cleanup?.();
    task.owner?.delete(task);
    task.bytes = EMPTY;
    if (ok) {
      this.#done++;
      task.resolve(value);
    } else {
      this.#failed++;
      task.reject(value);
    }
    this.#checkIdle();
  }

  /** A timeout or abort: drop a task that has not started, kill the worker of one that has. */
  #cancel(task: Task, reason: unknown): void {
    if (task.settled) return;
    const slot = task.slot;
    if (slot !== undefined && !slot.gone) {
      const at = slot.held.indexOf(task);
      if (at >= 0) this.#unhold(slot, at);
      // The handshake (src/_pool_protocol.ts): send the cancel, fence, then read what runs.
      try {
        slot.tx.post(cancelMessage(task.id));
      } catch { /* a worker that cannot take it is killed below if it runs the task */ }
      Atomics.add(slot.words, W_FENCE, 0); // a locked instruction: the send is seen first
      if (Atomics.load(slot.words, W_RUNNING) === task.id) {
        slot.ending = true; // nothing more goes to it
        slot.child.kill("SIGKILL");
      }
    }
    this.#settle(task, false, reason);
    this.#pump();
  }

  #unhold(slot: Slot, at: number): void {
    const [task] = slot.held.splice(at, 1);
    this.#held--;
    slot.load -= task?.cost ?? 0;
    if (slot.held.length === 0) slot.load = 0; // no drift from the sums
  }

  /** Whether `slot` may take another task costing `cost` µs (the prefetch rule). */
  #hasRoom(slot: Slot, cost: number): boolean {
    const n = slot.held.length;
    if (n === 0) return true;
    if (this.#prefetch !== undefined) return n < this.#prefetch;
    return n < MAX_PREFETCH && slot.load + cost <= PREFETCH_BUDGET_US;
  }

  /** Gives queued tasks to workers with room: the least loaded first. */
  #pump(): void {
    while (this.#queue.length > 0) {
      const task = this.#queue.shift() as Task;
      if (task.settled) continue;
      // A task never measured counts as long: one at a time until its first result.
      const cost = this.#cost.get(task.name) ?? PREFETCH_BUDGET_US;
      let best: Slot | undefined;
      for (const s of this.#slots) {
        if (!s.ready || s.gone || s.ending || !this.#hasRoom(s, cost)) continue;
        if (best === undefined || s.held.length < best.held.length) best = s;
        if (s.held.length === 0) break;
      }
      if (best === undefined) {
        this.#queue.unshift(task);
        return;
      }
      task.attempts++;
      task.slot = best;
      task.cost = cost;
      best.held.push(task);
      best.load += cost;
      this.#held++;
      try {
        if (task.handles !== undefined) sendHandles(best, task);
        best.tx.post(task.bytes);
      } catch (e) {
        this.#unhold(best, best.held.length - 1);
        task.slot = undefined;
        this.#settle(task, false, e);
      }
    }
  }

  #checkIdle(): void {
    if (this.#idle !== undefined && this.#queue.length === 0 && this.#held === 0) {
      this.#idle.resolve();
      this.#idle = undefined;
    }
  }

  /**
   * Runs `name` once for each item of `items` (its one argument), with a bounded number in
   * flight: the iterable is read only as results are taken, so a million items never sit in
   * memory at once.
   *
   * @param name an exported function of the task module
   * @param items the arguments, one a task (an iterable or async iterable)
   * @param options `ordered` (default true), `concurrency`, and each task's `signal`,
   *   `timeout`, `retries`
   * @returns the results, in the items' order or as they finish
   * @throws the first failure, where it comes (tasks still queued are dropped then; running
   *   ones finish and are ignored)
   *
   * @example Squares, four at a time
   * ```ts ignore
   * import { ProcessPool } from "@dipc/dipc/pool";
   *
   * await using pool = ProcessPool.create(new URL("./tasks.ts", import.meta.url));
   * for await (const r of pool.map("square", [1, 2, 3])) console.log(r); // 1, 4, 9
   * ```
   */
  map<T = unknown>(
    name: string,
    items: Iterable<unknown> | AsyncIterable<unknown>,
    options?: MapOptions,
  ): AsyncGenerator<T, void, undefined> {
    const m = validateMap(
      name,
      items,
      options,
      this.#size * 2 * (this.#prefetch ?? MAX_PREFETCH),
    );
    if (this.#closing) throw new ClosedError("process pool");
    // The tasks this map has out: when it ends early, those still queued are dropped (running
    // ones finish, and their results are ignored).
    const mine = new Set<Task>();
    return mapTasks<T>(
      m,
      (item) => this.#submitOrReject(name, [item], m.run, mine),
      () => {
        const ended = new DOMException("the map ended before this task started", "AbortError");
        for (const task of [...mine]) if (task.slot === undefined) this.#settle(task, false, ended);
      },
    );
  }

  #submitOrReject(
    name: string,
    args: unknown[],
    options: RunOptions,
    owner: Set<Task>,
  ): Promise<unknown> {
    try {
      return this.#submit(name, args, options, false, owner);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * The same as {@linkcode ProcessPool.stat}.
   *
   * @deprecated Use {@linkcode ProcessPool.stat}: every dipc object reports itself by `stat()`.
   */
  stats(): PoolStats {
    return this.stat();
  }

  /** What the pool holds and has done. */
  stat(): PoolStats {
    return {
      queued: this.#queue.length,
      running: this.#held,
      done: this.#done,
      failed: this.#failed,
      restarts: this.#restarts,
      workers: this.#slots.map((s) => ({
        pid: s.child.pid,
        tasks: s.held.length,
        done: s.done,
        ready: s.ready,
      })),
    };
  }

  /**
   * Finishes every task submitted, then lets the workers exit (killing one that has not within
   * five seconds). New calls fail with {@linkcode ClosedError} from now on. Calling it again
   * returns the same promise.
   */
  close(): Promise<void> {
    this.#closing = true;
    this.#closed ??= this.#closeGracefully();
    return this.#closed;
  }

  async #closeGracefully(): Promise<void> {
    if (this.#queue.length > 0 || this.#held > 0) {
      this.#idle = Promise.withResolvers<void>();
      this.#checkIdle();
      await this.#idle?.promise;
    }
    await Promise.all(this.#slots.map(async (slot) => {
      slot.ending = true;
      slot.sender.close(); // end of stream: the worker exits
      const timer = setTimeout(() => slot.child.kill("SIGKILL"), EXIT_GRACE_MS);
      try {
        await slot.child.status;
      } finally {
        clearTimeout(timer);
      }
    }));
    await this.#allGone();
  }

  /**
   * Stops now: every task not finished rejects with {@linkcode ClosedError}, every worker is
   * killed (SIGKILL) and reaped. Calling it again returns at once once done.
   */
  async terminate(): Promise<void> {
    this.#terminateNow(new ClosedError("process pool (terminated)"));
    await this.#allGone();
  }

  #terminateNow(reason: unknown): void {
    this.#closing = true;
    this.#terminated = true;
    this.#closed ??= this.#allGone();
    for (const task of this.#queue.drain()) this.#settle(task, false, reason);
    for (const slot of this.#slots) {
      for (const task of slot.held) this.#settle(task, false, reason);
      if (!slot.gone) slot.child.kill("SIGKILL");
    }
    this.#idle?.resolve();
  }

  async #allGone(): Promise<void> {
    while (this.#slots.length > 0) {
      await Promise.all(this.#slots.map((s) => s.child.status));
      // #exited runs after each status: wait for it to take the slots out.
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (this.#slots.every((s) => s.gone)) this.#slots.length = 0;
    }
  }

  /** Same as {@linkcode ProcessPool.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

const EMPTY = new Uint8Array(0);

/** The handles of the arguments being encoded (one encoding at a time). */
let handleList: HandleOut[] = [];
const HANDLE_HOOKS = { encodeHandle: (value: object) => handleOf(value, handleList) };

/** The handle number of `value` in a task's arguments, or undefined for data. */
function handleOf(value: object, handles: HandleOut[]): number | undefined {
  let out: HandleOut;
  if (value instanceof SharedRegion) {
    out = {
      kind: HANDLE.REGION,
      fd: value.memory.unsafeFd,
      offset: value.offset,
      length: value.length,
    };
  } else if (value instanceof SharedMemory) {
    out = { kind: HANDLE.SHARED_MEMORY, fd: value.unsafeFd, offset: 0, length: value.size };
  } else if (value instanceof UnixSocket) {
    out = { kind: HANDLE.UNIX_SOCKET, fd: value.unsafeFd, offset: 0, length: 0 };
  } else if (value instanceof PipeReader) {
    out = { kind: HANDLE.PIPE_READER, fd: value.unsafeFd, offset: 0, length: 0 };
  } else if (value instanceof PipeWriter) {
    out = { kind: HANDLE.PIPE_WRITER, fd: value.unsafeFd, offset: 0, length: 0 };
  } else return undefined;
  handles.push(out);
  return handles.length - 1;
}

/** Sends a task's descriptors, and the table saying what each is, before the task. */
function sendHandles(slot: Slot, task: Task): void {
  const handles = task.handles as HandleOut[];
  const table = new Uint8Array(5 + 17 * handles.length);
  const v = new DataView(table.buffer);
  v.setUint32(0, task.id, true);
  table[4] = handles.length;
  handles.forEach((h, i) => {
    table[5 + 17 * i] = h.kind;
    v.setFloat64(6 + 17 * i, h.offset, true);
    v.setFloat64(14 + 17 * i, h.length, true);
  });
  const r = slot.link.trySend(table, { fds: handles.map((h) => h.fd) });
  if (r === WOULD_BLOCK) {
    throw new ClosedError(`worker ${slot.child.pid}'s link (full: descriptors could not be sent)`);
  }
}

/**
 * The process pool across machines (`@dipc/dipc/nats_pool`): the same `run`/`map`/`close` as
 * {@linkcode ProcessPool}, with the tasks in a NATS JetStream work-queue stream and workers
 * anywhere that reach the server: started here (`workers: N`), by `dipc worker --nats URL
 * tasks.ts` on any machine, or by {@linkcode serveNatsTasks} in a program of your own. Local and
 * remote workers serve one pool together.
 *
 * ```ts ignore
 * import { natsPool } from "@dipc/dipc/nats_pool";
 *
 * await using pool = await natsPool("nats://10.0.0.5:4222", {
 *   name: "resize",
 *   module: new URL("./tasks.ts", import.meta.url),
 *   workers: 2, // and `dipc worker --nats nats://10.0.0.5:4222 --name resize tasks.ts` elsewhere
 * });
 * for await (const r of pool.map("resize", files)) console.log(r);
 * ```
 *
 * **How a task travels.** `run` publishes the task (its name, the caller's id and the task's,
 * and the arguments as a structured clone) to the stream `DIPC_POOL_<name>`, subject
 * `dipc.pool.<name>.task`, and waits for its acknowledgement: the task is stored. A worker takes it
 * from the durable consumer `workers` (a work queue: each task to one worker), runs it, publishes
 * the result to `dipc.pool.<name>.result.<caller>` (stored in `DIPC_POOL_<name>_RESULTS`, with the
 * task's id as its message id, so a second copy is dropped by the server), waits for that to be
 * stored, and only then acknowledges the task.
 *
 * **Failures.** A worker killed mid-task never acknowledges it: after `ackWait` the server gives
 * it to another worker, up to `retries` more times. The caller gets each result once (a task run
 * twice answers twice; the second answer is dropped). A task given out `retries + 1` times
 * without an answer fails with a {@linkcode WorkerExitError} (pid 0: the worker was elsewhere)
 * and is removed from the stream. A task that throws rejects with what it threw, as in the local
 * pool. A `timeout` or `signal` rejects the call at once; a remote worker cannot be killed from
 * here, so a task already taken runs on, and its answer is ignored.
 *
 * **What travels.** What {@linkcode cloneCodec} carries; no handles (shared memory and
 * descriptors do not cross machines: a `DataCloneError`). A message is at most the server's
 * `max_payload` (1 MiB by default).
 *
 * @module
 */

import {
  AckPolicy,
  headers,
  jetstream,
  type JetStreamClient,
  type JetStreamManager,
  jetstreamManager,
  type JsMsg,
  nanos,
  type NatsConnection,
  RetentionPolicy,
  StorageType,
} from "./_nats_client.ts";
import { type ChildProcess, type DenoPermissions, spawnDeno } from "./spawn.ts";
import { ClosedError, WorkerExitError } from "./errors.ts";
import { decodeClone, encodeClone } from "./_clone_codec.ts";
import { connection, serverOf, setupError, validateServer } from "./_nats_connect.ts";
import { type MapOptions, mapTasks, type RunOptions, validateMap } from "./_pool_map.ts";
import {
  promiseWithin,
  timedOut,
  validateWaitOptions,
  waitBoundsOf,
  type WaitOptions,
} from "./_wait.ts";
import { describe, validateInteger, validateOptionKeys } from "./_validate.ts";
import { dieWithParent, refuseHandles, taskModuleUrl, workerEntry } from "./_pool_common.ts";

export { cloneCodec } from "./_clone_codec.ts";
export { WorkerExitError } from "./errors.ts";
export type { MapOptions, RunOptions } from "./_pool_map.ts";
export type { SyncWaitOptions, WaitOptions } from "./_wait.ts";
export type { Codec } from "./_codec.ts";
export type { DenoPermissions } from "./spawn.ts";

const H_TASK = "Dipc-Task";
const H_ID = "Dipc-Id";
const H_CALLER = "Dipc-Caller";
const H_OK = "Dipc-Ok";
const WORKERS = "workers";

/** The stream, consumer and subjects of pool `name`. */
function names(name: string): {
  stream: string;
  results: string;
  task: string;
  result: (caller: string) => string;
} {
  return {
    stream: `DIPC_POOL_${name}`,
    results: `DIPC_POOL_${name}_RESULTS`,
    task: `dipc.pool.${name}.task`,
    result: (caller) => `dipc.pool.${name}.result.${caller}`,
  };
}

function validatePoolName(name: unknown): string {
  if (typeof name !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw new TypeError(`a pool name is 1 to 64 of A-Z a-z 0-9 _ -, got ${describe(name)}`);
  }
  return name;
}

/** The stream of tasks, the stream of results and the workers' consumer, made if missing. */
async function ensure(
  jsm: JetStreamManager,
  name: string,
  ackWait: number,
  retries: number,
): Promise<ReturnType<typeof names>> {
  const n = names(name);
  const exists = async (get: () => Promise<unknown>): Promise<boolean> => {
    try {
      await get();
      return true;
    } catch {
      return false;
    }
  };
  if (!await exists(() => jsm.streams.info(n.stream))) {
    await jsm.streams.add({
      name: n.stream,
      subjects: [n.task],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
    }).catch(async (e) => {
      if (!await exists(() => jsm.streams.info(n.stream))) throw e; // another made it first
    });
  }
  if (!await exists(() => jsm.streams.info(n.results))) {
    await jsm.streams.add({
      name: n.results,
      subjects: [n.result("*")],
      storage: StorageType.File,
      max_age: nanos(3_600_000),
      duplicate_window: nanos(600_000),
    }).catch(async (e) => {
      if (!await exists(() => jsm.streams.info(n.results))) throw e;
    });
  }
  if (!await exists(() => jsm.consumers.info(n.stream, WORKERS))) {
    await jsm.consumers.add(n.stream, {
      durable_name: WORKERS,
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(ackWait),
      max_deliver: retries + 1,
      filter_subject: n.task,
    }).catch(async (e) => {
      if (!await exists(() => jsm.consumers.info(n.stream, WORKERS))) throw e;
    });
  }
  return n;
}

/** Refuses handles: they do not cross machines. */
const NO_HANDLES = refuseHandles("cannot go to a NATS pool's task: handles do not cross machines");

// ---- workers -------------------------------------------------------------------------------

/** Options for {@linkcode serveNatsTasks}. */
export interface ServeNatsTasksOptions {
  /** The pool's name (default "default"). */
  name?: string;
  /** Tasks run at once by this worker (default 1). */
  concurrency?: number;
  /** Stops serving: tasks taken and not started go back at once. */
  signal?: AbortSignal;
  /** Milliseconds before a task not acknowledged is given to another worker (default 30,000). */
  ackWait?: number;
  /** Deliveries of a task after the first (default 2). */
  retries?: number;
  /** Milliseconds the client keeps reconnecting to a server that went away (default 30,000). */
  reconnectMs?: number;
  /** @ignore the pool that started this worker: die with it (PR_SET_PDEATHSIG). */
  parentPid?: number;
}

/**
 * Serves a pool's tasks from the NATS server at `server` until `signal` aborts: each task's
 * function is taken from `tasks` (a module's exports, or a function importing them).
 *
 * @param server `host:port` or `nats://host:port`
 * @param tasks the task functions, or a function returning a promise of them (`() => import(…)`)
 * @param options `name`, `concurrency`, `signal`, `ackWait`, `retries`, `reconnectMs`
 * @returns a promise settled when serving stops (rejected with the connection's error)
 * @throws {TypeError} for bad arguments; the task module's load error; an error naming the
 *   server when it cannot be reached
 *
 * @example Serve tasks in this process (a broker at NATS_URL)
 * ```ts
 * import { natsPool, serveNatsTasks } from "@dipc/dipc/nats_pool";
 *
 * const server = Deno.env.get("NATS_URL") ?? "nats://127.0.0.1:4222";
 * const name = `doc-${crypto.randomUUID().slice(0, 8)}`;
 * await using pool = await natsPool(server, { name, workers: 0, timeout: 5_000 });
 * const stop = new AbortController();
 * const serving = serveNatsTasks(server, { add: (a: number, b: number) => a + b }, {
 *   name,
 *   signal: stop.signal,
 * });
 * console.log(await pool.run("add", [2, 3], { timeout: 10_000 })); // 5
 * stop.abort();
 * await serving;
 * ```
 */
export async function serveNatsTasks(
  server: string,
  tasks: Record<string, unknown> | (() => Promise<Record<string, unknown>>),
  options: ServeNatsTasksOptions = {},
): Promise<void> {
  const where = validateServer(server);
  if (typeof where !== "string") throw new TypeError("serveNatsTasks takes a server address");
  const o = validateOptionKeys<ServeNatsTasksOptions>(options, [
    "name",
    "concurrency",
    "signal",
    "ackWait",
    "retries",
    "reconnectMs",
    "parentPid",
  ], "serveNatsTasks");
  const name = validatePoolName(o.name ?? "default");
  const concurrency = validateInteger(o.concurrency ?? 1, "concurrency", 1, 10_000);
  const ackWait = validateInteger(o.ackWait ?? 30_000, "ackWait", 100, 2 ** 31);
  const retries = validateInteger(o.retries ?? 2, "retries", 0, 1000);
  const reconnectMs = validateInteger(o.reconnectMs ?? 30_000, "reconnectMs", 0, 2 ** 31);
  const { signal } = validateWaitOptions({ signal: o.signal });
  if (typeof tasks !== "function" && (typeof tasks !== "object" || tasks === null)) {
    throw new TypeError(`tasks must be a module's exports or a loader, got ${describe(tasks)}`);
  }
  if (o.parentPid !== undefined) {
    if (!dieWithParent(o.parentPid)) return;
  }
  const table = typeof tasks === "function" ? await tasks() : tasks;
  const { nc } = await connection(where, reconnectMs, waitBoundsOf({ signal }));
  try {
    const jsm = await jetstreamManager(nc);
    const n = await ensure(jsm, name, ackWait, retries);
    const js = jetstream(nc);
    const consumer = await js.consumers.get(n.stream, WORKERS);
    const messages = await consumer.consume({ max_messages: concurrency });
    const stop = (): void => void messages.close().catch(() => {});
    signal?.addEventListener("abort", stop, { once: true });
    void nc.closed().then(stop);
    let running = 0;
    const idle: Array<() => void> = [];
    for await (const m of messages) {
      if (signal?.aborted) {
        m.nak();
        continue;
      }
      running++;
      void serveOne(js, n, table, m).finally(() => {
        running--;
        idle.shift()?.();
      });
      while (running >= concurrency) await new Promise<void>((r) => idle.push(r));
    }
    while (running > 0) await new Promise<void>((r) => idle.push(r));
    signal?.removeEventListener("abort", stop);
  } finally {
    await nc.drain().catch(() => {});
  }
}

async function serveOne(
  js: JetStreamClient,
  n: ReturnType<typeof names>,
  table: Record<string, unknown>,
  m: JsMsg,
): Promise<void> {
  const task = m.headers?.get(H_TASK) ?? "";
  const id = m.headers?.get(H_ID) ?? "";
  const caller = m.headers?.get(H_CALLER) ?? "";
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(caller) || id === "") {
    m.term(); // not a task of a pool: never again
    return;
  }
  let ok = true;
  let value: unknown;
  try {
    const fn = table[task];
    if (typeof fn !== "function") throw new TypeError(`no task ${JSON.stringify(task)} here`);
    const args = decodeClone(m.data);
    if (!Array.isArray(args)) throw new TypeError("a task's arguments are not an array");
    value = await fn(...args);
  } catch (e) {
    ok = false;
    value = e;
  }
  let payload: Uint8Array;
  try {
    payload = encodeClone(value, NO_HANDLES);
  } catch (e) {
    ok = false;
    payload = encodeClone(e);
  }
  const h = headers();
  h.set(H_ID, id);
  h.set(H_OK, ok ? "1" : "0");
  try {
    // Stored first, acknowledged after: a worker that dies between the two has its task run
    // again, and the second answer is dropped by the server (the same message id).
    await js.publish(n.result(caller), payload, { headers: h, msgID: `${caller}.${id}` });
    m.ack();
  } catch {
    m.nak();
  }
}

// ---- the caller ------------------------------------------------------------------------------

/** Options for {@linkcode natsPool}. */
export interface NatsPoolOptions extends WaitOptions {
  /** The pool's name: its stream is `DIPC_POOL_<name>` (default "default"). */
  name?: string;
  /** Worker processes to start on this machine (default 0); they need `module`. */
  workers?: number;
  /** The task module of the local workers. */
  module?: string | URL;
  /** The local workers' permissions (as spawnDeno's; `net` for the server and `ffi` added). */
  permissions?: DenoPermissions;
  /** Further `deno run` flags for the local workers. */
  denoFlags?: string[];
  /** The local workers' stdout and stderr: "inherit" (default) or "null". */
  output?: "inherit" | "null";
  /** Milliseconds before a task not acknowledged is given to another worker (default 30,000). */
  ackWait?: number;
  /** Deliveries of a task after the first (default 2). */
  retries?: number;
  /** Milliseconds the client keeps reconnecting to a server that went away (default 30,000). */
  reconnectMs?: number;
}

/** What {@linkcode NatsPool.stat} reports. */
export interface NatsPoolStats {
  /** Tasks published and not answered. */
  pending: number;
  /** Tasks answered with a result. */
  done: number;
  /** Tasks that failed. */
  failed: number;
  /** Answers dropped because the task had been answered already (or given up on). */
  duplicates: number;
  /** The pids of the workers this pool started here. */
  workers: number[];
  /** Local workers started again after one died. */
  restarts: number;
}

interface Pending {
  name: string;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  cleanup: (() => void) | undefined;
  seq: number;
}

/**
 * A pool whose tasks go through a NATS JetStream work queue. Made by {@linkcode natsPool}; see
 * the module documentation.
 *
 * @example Run tasks, look at the pool (a broker at NATS_URL)
 * ```ts
 * import { natsPool } from "@dipc/dipc/nats_pool";
 *
 * const dir = await Deno.makeTempDir();
 * const module = `${dir}/tasks.ts`;
 * await Deno.writeTextFile(module, "export const square = (x: number) => x * x;\n");
 * const server = Deno.env.get("NATS_URL") ?? "nats://127.0.0.1:4222";
 * await using pool = await natsPool(server, {
 *   name: `doc-${crypto.randomUUID().slice(0, 8)}`,
 *   module,
 *   workers: 1,
 *   permissions: { read: [dir] },
 *   timeout: 10_000,
 * });
 * console.log(await pool.run("square", [7], { timeout: 30_000 })); // 49
 * console.log(pool.stat().done); // 1
 * ```
 */
export class NatsPool implements AsyncDisposable {
  readonly #nc: NatsConnection;
  readonly #owned: boolean;
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #n: ReturnType<typeof names>;
  readonly #caller = crypto.randomUUID().replaceAll("-", "");
  readonly #pending = new Map<string, Pending>();
  readonly #bySeq = new Map<number, string>();
  readonly #children: ChildProcess[];
  #next = 1;
  #done = 0;
  #failed = 0;
  #duplicates = 0;
  #closing = false;
  #closed: Promise<void> | undefined;
  #idle: (() => void) | undefined;
  readonly #stops: Array<() => void> = [];
  readonly #start: () => ChildProcess;
  #restarts = 0;
  #quickDeaths = 0;

  /** Starts local worker `i`, and starts it again when it dies (until the pool closes). */
  #supervise(i: number): void {
    const child = this.#start();
    const born = performance.now();
    this.#children[i] = child;
    void child.status.then((status) => {
      if (this.#closing) return;
      // One that keeps dying at once (a module that does not load) is not started again.
      this.#quickDeaths = performance.now() - born < 2_000 ? this.#quickDeaths + 1 : 0;
      if (this.#quickDeaths >= 3) {
        console.error(
          `dipc NATS pool: local workers keep exiting at start (last: ${
            status.signal ?? `code ${status.code}`
          }); not starting them again`,
        );
        return;
      }
      this.#restarts++;
      try {
        this.#supervise(i);
      } catch (e) {
        console.error(`dipc NATS pool: cannot start a worker again: ${(e as Error).message}`);
      }
    });
  }

  /** @ignore use {@linkcode natsPool}. */
  constructor(
    token: unknown,
    nc: NatsConnection,
    owned: boolean,
    jsm: JetStreamManager,
    n: ReturnType<typeof names>,
    workers: number,
    start: () => ChildProcess,
  ) {
    if (token !== TOKEN) throw new TypeError("NatsPool is made by natsPool()");
    this.#nc = nc;
    this.#owned = owned;
    this.#jsm = jsm;
    this.#js = jetstream(nc);
    this.#n = n;
    this.#children = [];
    this.#start = start;
    for (let i = 0; i < workers; i++) this.#supervise(i);
    const results = nc.subscribe(n.result(this.#caller), {
      callback: (err, m) => {
        if (err) return;
        const id = m.headers?.get(H_ID) ?? "";
        const p = this.#pending.get(id);
        if (p === undefined) {
          this.#duplicates++;
          return;
        }
        let value: unknown;
        let ok = m.headers?.get(H_OK) === "1";
        try {
          value = decodeClone(m.data);
        } catch (e) {
          ok = false;
          value = e;
        }
        this.#settle(id, ok, value);
      },
    });
    // A task given out retries + 1 times without an answer: fail it, and take it out.
    const advisories = nc.subscribe(
      `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${n.stream}.${WORKERS}`,
      {
        callback: (err, m) => {
          if (err) return;
          let seq = NaN;
          let deliveries = NaN;
          try {
            const a = JSON.parse(new TextDecoder().decode(m.data));
            seq = Number(a.stream_seq);
            deliveries = Number(a.deliveries);
          } catch {
            return;
          }
          const id = this.#bySeq.get(seq);
          if (id === undefined) return;
          const p = this.#pending.get(id);
          void this.#jsm.streams.deleteMessage(n.stream, seq).catch(() => {});
          if (p === undefined) return;
          const e = new WorkerExitError(0, null, null, p.name);
          e.message = `task ${
            JSON.stringify(p.name)
          } was given to workers ${deliveries} times and none answered`;
          this.#settle(id, false, e);
        },
      },
    );
    this.#stops.push(() => results.unsubscribe(), () => advisories.unsubscribe());
  }

  #settle(id: string, ok: boolean, value: unknown): void {
    const p = this.#pending.get(id);
    if (p === undefined) return;
    this.#pending.delete(id);
    this.#bySeq.delete(p.seq);
    p.cleanup?.();
    if (ok) {
      this.#done++;
      p.resolve(value);
    } else {
      this.#failed++;
      p.reject(value);
    }
    if (this.#pending.size === 0) this.#idle?.();
  }

  /**
   * Runs `name` with `args` on whichever worker takes it.
   *
   * @param name an exported function of the task module
   * @param args its arguments (cloned now; no handles)
   * @param options `signal`, `timeout` (ms, from now)
   * @returns what the task returned
   * @throws what the task threw; {@linkcode WorkerExitError} when no worker answered after
   *   every delivery; `TimeoutError` or the signal's reason; `DataCloneError`;
   *   {@linkcode ClosedError} once closing
   */
  run<T = unknown>(name: string, args: readonly unknown[] = [], options?: RunOptions): Promise<T> {
    try {
      return this.#submit(name, args, options) as Promise<T>;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #submit(name: string, args: readonly unknown[], options?: RunOptions): Promise<unknown> {
    if (typeof name !== "string" || name.length === 0 || name.length > 255) {
      throw new TypeError(`a task name must be 1 to 255 characters, got ${describe(name)}`);
    }
    if (!Array.isArray(args)) throw new TypeError(`args must be an array, got ${describe(args)}`);
    const o = validateOptionKeys<RunOptions>(options, ["signal", "timeout", "retries"], "run");
    const { signal, timeout } = validateWaitOptions({ signal: o.signal, timeout: o.timeout });
    if (o.retries !== undefined) {
      throw new TypeError("a NATS pool's retries are the pool's (natsPool's `retries`)");
    }
    if (this.#closing) throw new ClosedError("NATS pool");
    signal?.throwIfAborted();
    const payload = encodeClone(args, NO_HANDLES);
    const id = String(this.#next++);
    const { promise, resolve, reject } = Promise.withResolvers<unknown>();
    const p: Pending = { name, resolve, reject, cleanup: undefined, seq: -1 };
    this.#pending.set(id, p);
    if (signal !== undefined || timeout !== undefined) {
      const onAbort = (): void => this.#settle(id, false, signal?.reason);
      const timer = timeout === undefined || timeout === Infinity ? undefined : setTimeout(
        () => this.#settle(id, false, timedOut(`task ${JSON.stringify(name)}`)),
        timeout,
      );
      signal?.addEventListener("abort", onAbort, { once: true });
      p.cleanup = () => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
    }
    const h = headers();
    h.set(H_TASK, name);
    h.set(H_ID, id);
    h.set(H_CALLER, this.#caller);
    this.#js.publish(this.#n.task, payload, { headers: h, msgID: `${this.#caller}.${id}` }).then(
      (ack) => {
        p.seq = ack.seq;
        if (this.#pending.has(id)) this.#bySeq.set(ack.seq, id);
      },
      (e) => this.#settle(id, false, setupError(e, `publish a task to ${serverOf(this.#nc)}`)),
    );
    return promise;
  }

  /**
   * Runs `name` once for each item, with at most `concurrency` unanswered (default 256):
   * the iterable is read only as results are taken.
   *
   * @param name an exported function of the task module
   * @param items the arguments, one a task
   * @param options `ordered` (default true), `concurrency`, each task's `signal` and `timeout`
   * @returns the results, in order or as they come
   */
  map<T = unknown>(
    name: string,
    items: Iterable<unknown> | AsyncIterable<unknown>,
    options?: MapOptions,
  ): AsyncGenerator<T, void, undefined> {
    const m = validateMap(name, items, options, 256);
    if (this.#closing) throw new ClosedError("NATS pool");
    return mapTasks<T>(m, (item) => this.run(name, [item], m.run), () => {});
  }

  /**
   * The same as {@linkcode NatsPool.stat}.
   *
   * @deprecated Use {@linkcode NatsPool.stat}: every dipc object reports itself by `stat()`.
   */
  stats(): NatsPoolStats {
    return this.stat();
  }

  /** What the pool holds and has done. */
  stat(): NatsPoolStats {
    return {
      pending: this.#pending.size,
      done: this.#done,
      failed: this.#failed,
      duplicates: this.#duplicates,
      workers: this.#children.map((c) => c.pid),
      restarts: this.#restarts,
    };
  }

  /**
   * Waits for every task submitted to be answered, then stops the local workers and closes the
   * connection (if the pool made it). Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closing = true;
    this.#closed ??= (async () => {
      if (this.#pending.size > 0) await new Promise<void>((r) => this.#idle = r);
      await this.#shutdown();
    })();
    return this.#closed;
  }

  /** Stops now: every unanswered task rejects with {@linkcode ClosedError}. */
  async terminate(): Promise<void> {
    this.#closing = true;
    for (const id of [...this.#pending.keys()]) {
      this.#settle(id, false, new ClosedError("NATS pool (terminated)"));
    }
    this.#closed ??= this.#shutdown();
    await this.#closed;
  }

  async #shutdown(): Promise<void> {
    for (const stop of this.#stops) stop();
    for (const c of this.#children) c.kill("SIGTERM");
    await Promise.all(this.#children.map(async (c) => {
      const t = setTimeout(() => c.kill("SIGKILL"), 5_000);
      await c.status;
      clearTimeout(t);
    }));
    if (this.#owned) await this.#nc.drain().catch(() => {});
  }

  /** Same as {@linkcode NatsPool.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

const TOKEN = Symbol("natsPool");
const SELF = new URL(import.meta.url).href;

/**
 * Opens a pool on the NATS server at `server` (its streams and consumer made if missing), and
 * starts `workers` local workers on `module`.
 *
 * @param server `host:port` or `nats://host:port`
 * @param options `name`, `workers`, `module`, `permissions`, `denoFlags`, `output`, `ackWait`,
 *   `retries`, `reconnectMs`, and `signal`/`timeout` for the connect
 * @returns the pool
 * @throws {TypeError} / {RangeError} for bad arguments, before anything connects or starts; an
 *   error naming the server when it cannot be reached; `TimeoutError`
 *
 * @example A map over a work queue (a broker at NATS_URL)
 * ```ts
 * import { natsPool } from "@dipc/dipc/nats_pool";
 *
 * const dir = await Deno.makeTempDir();
 * const module = `${dir}/tasks.ts`;
 * await Deno.writeTextFile(module, "export const double = (x: number) => 2 * x;\n");
 * const server = Deno.env.get("NATS_URL") ?? "nats://127.0.0.1:4222";
 * await using pool = await natsPool(server, {
 *   name: `doc-${crypto.randomUUID().slice(0, 8)}`,
 *   module,
 *   workers: 2,
 *   permissions: { read: [dir] },
 *   timeout: 10_000,
 * });
 * const doubled: number[] = [];
 * for await (const x of pool.map<number>("double", [1, 2, 3], { timeout: 30_000 })) doubled.push(x);
 * console.log(doubled); // [2, 4, 6]
 * ```
 */
export async function natsPool(
  server: string,
  options: NatsPoolOptions = {},
): Promise<NatsPool> {
  const where = validateServer(server);
  if (typeof where !== "string") throw new TypeError("natsPool takes a server address");
  const o = validateOptionKeys<NatsPoolOptions>(options, [
    "name",
    "workers",
    "module",
    "permissions",
    "denoFlags",
    "output",
    "ackWait",
    "retries",
    "reconnectMs",
    "signal",
    "timeout",
  ], "natsPool");
  const name = validatePoolName(o.name ?? "default");
  const workers = validateInteger(o.workers ?? 0, "workers", 0, 1024);
  const ackWait = validateInteger(o.ackWait ?? 30_000, "ackWait", 100, 2 ** 31);
  const retries = validateInteger(o.retries ?? 2, "retries", 0, 1000);
  const reconnectMs = validateInteger(o.reconnectMs ?? 30_000, "reconnectMs", 0, 2 ** 31);
  if (o.output !== undefined && o.output !== "inherit" && o.output !== "null") {
    throw new TypeError(`output must be "inherit" or "null", got ${describe(o.output)}`);
  }
  let module: string | undefined;
  if (workers > 0) {
    if (o.module === undefined) throw new TypeError("local workers need the task `module`");
    module = taskModuleUrl(o.module);
  } else if (o.module !== undefined) {
    throw new TypeError("`module` is for local workers: give `workers` too");
  }
  const bounds = waitBoundsOf({ signal: o.signal, timeout: o.timeout });
  const { nc, owned } = await connection(where, reconnectMs, bounds);
  const started: ChildProcess[] = [];
  try {
    const jsm = await promiseWithin(jetstreamManager(nc), bounds, "JetStream");
    const n = await promiseWithin(
      ensure(jsm, name, ackWait, retries),
      bounds,
      "the pool's streams",
    );
    const address = typeof where === "string" ? where : nc.getServer();
    const hostPort = address.replace(/^nats:\/\//, "");
    const entry = workerEntry(SELF, "serveNatsTasks", module ?? "", [address], [
      { name, ackWait, retries, reconnectMs, parentPid: Deno.pid },
    ]);
    const perms = { ...(o.permissions ?? {}) };
    const net = perms.net;
    perms.net = net === true ? true : [...(Array.isArray(net) ? net : []), hostPort];
    const start = (): ChildProcess => {
      const child = spawnDeno(entry, {
        permissions: { ...perms, ffi: true },
        ...(o.denoFlags === undefined ? {} : { denoFlags: o.denoFlags }),
        stdin: "null",
        stdout: o.output ?? "inherit",
        stderr: o.output ?? "inherit",
      });
      started.push(child);
      return child;
    };
    return new NatsPool(TOKEN, nc, owned, jsm, n, workers, start);
  } catch (e) {
    for (const c of started) c.kill("SIGKILL");
    if (owned) await nc.close().catch(() => {});
    throw setupError(e, `open a pool on NATS server ${serverOf(where)}`);
  }
}

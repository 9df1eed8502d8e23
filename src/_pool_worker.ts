/**
 * A process pool's worker: loads the task module, then runs the tasks that come on its request
 * ring one at a time and answers on its response ring. The protocol is src/_pool_protocol.ts.
 *
 * src/pool.ts starts each worker with `spawnDeno` on a two-line `data:` module that imports this
 * one and calls {@linkcode serveTasks} with `() => import("<the task module>")`: an import with a
 * literal specifier is part of the module graph, so the worker needs no read permission for the
 * task module (a computed `import()` would), and a module that fails to load is an error the
 * worker catches and sends back. Arguments: the task module's URL (for messages), the parent's
 * pid, the longest message. Descriptor 3 is the seqpacket link to the parent, 4 the shared
 * memory holding the rings.
 *
 * It dies with its parent: `PR_SET_PDEATHSIG` (SIGKILL) reaches it even in the middle of
 * synchronous JavaScript, and the link's end of stream ends it too.
 *
 * @module
 */

import { libc } from "../ffi/load.ts";
import { SharedMemory, SharedRegion } from "./shm.ts";
import { RingChannel } from "./ring.ts";
import { UnixSocket } from "./socket.ts";
import { PipeReader, PipeWriter } from "./pipe.ts";
import { dieWithParent, refuseHandles } from "./_pool_common.ts";
import { END_OF_STREAM, WOULD_BLOCK } from "./_sentinels.ts";
import { decodeClone, withEncoded } from "./_clone_codec.ts";
import { fileIdentity } from "./_fd.ts";
import {
  CONTROL_BYTES,
  HANDLE,
  HAS_HANDLES,
  KIND,
  POOL_MAGIC,
  ProtocolError,
  readId,
  readTaskHead,
  resultHead,
  W_MAGIC,
  W_RUNNING,
  WireReceiver,
  WireSender,
} from "./_pool_protocol.ts";
import { copyRange, copyToSlab } from "./_copy.ts";

/**
 * Serves tasks from the module `load` imports, as a pool's worker (never returns: the worker
 * exits when its parent ends the stream or goes).
 *
 * @param load imports the task module
 */
export async function serveTasks(load: () => Promise<Record<string, unknown>>): Promise<never> {
  const [moduleUrl = "", parentArg = "", maxArg = ""] = Deno.args;
  const parent = Number(parentArg);
  const maxMessage = Number(maxArg);

  if (!dieWithParent(parent)) Deno.exit(70);

  const memory = SharedMemory.fromFd(4);
  const words = memory.int32(0, CONTROL_BYTES / 4);
  if (Atomics.load(words, W_MAGIC) !== POOL_MAGIC) {
    console.error("dipc pool worker: descriptor 4 is not a pool's memory");
    Deno.exit(70);
  }
  const requestChannel = RingChannel.at(memory, CONTROL_BYTES);
  const responseChannel = RingChannel.at(
    memory,
    CONTROL_BYTES + RingChannel.size({ capacity: requestChannel.capacity }),
  );
  const rx = new WireReceiver(
    requestChannel.receiver(),
    requestChannel.maxMessageSize,
    maxMessage,
  );
  const never = new AbortController().signal;
  const tx = new WireSender(
    responseChannel.sender(),
    responseChannel.maxMessageSize,
    maxMessage,
    never,
  );
  const link = UnixSocket.fromFd(3);

  // An unhandled rejection left by a task would end the process, and fail whatever task runs
  // next: report it, keep serving.
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    console.error("dipc pool worker: unhandled rejection in a task:", e.reason);
  });

  // ---- the handles tasks are given, which come on the link ----------------------------------------

  interface Delivery {
    table: Uint8Array;
    fds: number[];
  }
  const deliveries = new Map<number, Delivery>();
  const awaited = new Map<number, (d: Delivery) => void>();

  void (async () => {
    const into = new Uint8Array(4 + 1 + 255 * 17);
    const view = new DataView(into.buffer);
    for (;;) {
      const r = await link.receiveInto(into, { maxFds: 253 });
      if (r === END_OF_STREAM) Deno.exit(0); // the parent has gone: so does its worker
      if (r.length < 5) throw new ProtocolError("a link message under 5 bytes");
      const id = view.getUint32(0, true); // the link's messages: u32 id, then the table
      const d = { table: copyRange(into, 4, r.length), fds: r.fds };
      const waiter = awaited.get(id);
      if (waiter !== undefined) {
        awaited.delete(id);
        waiter(d);
      } else deliveries.set(id, d);
    }
  })();

  function delivery(id: number): Delivery | Promise<Delivery> {
    const d = deliveries.get(id);
    if (d !== undefined) {
      deliveries.delete(id);
      return d;
    }
    return new Promise((resolve) => awaited.set(id, resolve));
  }

  /** Mapped memories by identity and size, kept for the next task (at most 32). */
  const mapped = new Map<string, SharedMemory>();

  function memoryOf(fd: number): SharedMemory {
    const { identity, size } = fileIdentity(fd);
    const key = `${identity}/${size}`;
    const known = mapped.get(key);
    if (known !== undefined && !known.closed) {
      libc().close(fd);
      mapped.delete(key);
      mapped.set(key, known); // most recently used last
      return known;
    }
    const shm = SharedMemory.fromFd(fd);
    mapped.set(key, shm);
    if (mapped.size > 32) {
      const [oldest, old] = mapped.entries().next().value as [string, SharedMemory];
      mapped.delete(oldest);
      old.close();
    }
    return shm;
  }

  /** The values of a task's handles, from the table and descriptors sent with it. */
  function handlesOf(d: Delivery): unknown[] {
    const v = new DataView(d.table.buffer, d.table.byteOffset, d.table.byteLength);
    const n = d.table[0] ?? 0;
    if (d.table.length !== 1 + 17 * n || d.fds.length !== n) {
      for (const fd of d.fds) libc().close(fd);
      throw new ProtocolError("a handle table that does not match its descriptors");
    }
    const out: unknown[] = [];
    for (let i = 0; i < n; i++) {
      const kind = d.table[1 + 17 * i];
      const offset = v.getFloat64(2 + 17 * i, true);
      const length = v.getFloat64(10 + 17 * i, true);
      const fd = d.fds[i] as number;
      switch (kind) {
        case HANDLE.SHARED_MEMORY:
          out.push(memoryOf(fd));
          break;
        case HANDLE.REGION:
          out.push(new SharedRegion(memoryOf(fd), offset, length));
          break;
        case HANDLE.UNIX_SOCKET:
          out.push(UnixSocket.fromFd(fd));
          break;
        case HANDLE.PIPE_READER:
          out.push(PipeReader.fromFd(fd));
          break;
        case HANDLE.PIPE_WRITER:
          out.push(PipeWriter.fromFd(fd));
          break;
        default:
          libc().close(fd);
          throw new ProtocolError(`handle kind ${kind}`);
      }
    }
    return out;
  }

  // ---- the answers -------------------------------------------------------------------------------

  /** A result that holds a handle cannot go back: handles travel to tasks, not from them. */
  const noHandles = refuseHandles("a task cannot return it: handles go to tasks, not back");

  const post = (bytes: Uint8Array): void => tx.post(bytes);

  /** Sends a READY (`id` -1) or a task's RESULT. */
  function answer(id: number, ok: boolean, value: unknown, micros: number): void {
    const head = id < 0 ? new Uint8Array([KIND.READY, ok ? 1 : 0]) : resultHead(id, ok, micros);
    try {
      withEncoded(value, noHandles, post, head);
    } catch (e) {
      if (!ok && e === value) throw e;
      // What the task returned (or threw) cannot be cloned, or is too long: that is its error.
      answer(id, false, e, micros);
    }
  }

  // ---- load the module, then serve ------------------------------------------------------------------

  let tasks: Record<string, unknown>;
  try {
    tasks = await load();
  } catch (e) {
    answer(-1, false, e, 0);
    await tx.drained();
    Deno.exit(0);
  }
  answer(-1, true, Object.keys(tasks).filter((k) => typeof tasks[k] === "function"), 0);

  interface Queued {
    id: number;
    flags: number;
    name: string;
    body: Uint8Array;
  }
  const queue: Queued[] = [];
  let ending = false;
  let skip = -1;

  /** Takes one message off the ring into the queue (or acts on a cancel). */
  function take(m: Uint8Array): void {
    const kind = m[0];
    if (kind === KIND.TASK) {
      const h = readTaskHead(m);
      queue.push({ id: h.id, flags: h.flags, name: h.name, body: copyToSlab(m, h.body) });
    } else if (kind === KIND.CANCEL) {
      const id = readId(m, 5);
      const at = queue.findIndex((q) => q.id === id);
      if (at >= 0) {
        const [dropped] = queue.splice(at, 1);
        if (dropped !== undefined && (dropped.flags & HAS_HANDLES) !== 0) void discard(id);
      } else skip = id;
    } else throw new ProtocolError(`kind ${kind} from the parent`);
  }

  /** Closes the descriptors of a task that will not run. */
  async function discard(id: number): Promise<void> {
    for (const fd of (await delivery(id)).fds) libc().close(fd);
  }

  function drain(): void {
    for (;;) {
      const m = rx.tryNext();
      if (m === WOULD_BLOCK) return;
      if (m === END_OF_STREAM) {
        ending = true;
        return;
      }
      take(m);
    }
  }

  /** The handles of the task being decoded. */
  let taskHandles: unknown[] = [];
  const handleHooks = {
    decodeHandle(n: number): unknown {
      if (n >= taskHandles.length) throw new ProtocolError(`handle ${n} of ${taskHandles.length}`);
      return taskHandles[n];
    },
  };

  /**
   * Runs a task and answers; a promise only when there is something to wait for (a task's
   * descriptors, an async task): a synchronous task costs no promise.
   */
  function run(t: Queued): void | Promise<void> {
    const started = performance.now();
    const done = (ok: boolean, value: unknown): void =>
      answer(t.id, ok, value, (performance.now() - started) * 1000);
    if ((t.flags & HAS_HANDLES) !== 0) {
      return (async () => {
        try {
          taskHandles = handlesOf(await delivery(t.id));
        } catch (e) {
          return done(false, e);
        }
        const r = call(t);
        if (r instanceof Promise) await r.then((v) => done(true, v), (e) => done(false, e));
        else done(r.ok, r.value);
      })();
    }
    taskHandles = [];
    const r = call(t);
    if (r instanceof Promise) return r.then((v) => done(true, v), (e) => done(false, e));
    done(r.ok, r.value);
  }

  /** Calls the task: its outcome, or the promise it returned. */
  function call(t: Queued): { ok: boolean; value: unknown } | Promise<unknown> {
    try {
      const fn = tasks[t.name];
      if (typeof fn !== "function") {
        throw new TypeError(`${moduleUrl} exports no function ${JSON.stringify(t.name)}`);
      }
      const args = decodeClone(t.body, handleHooks);
      taskHandles = [];
      if (!Array.isArray(args)) throw new ProtocolError("arguments that are not an array");
      const value = fn(...args);
      if (typeof (value as PromiseLike<unknown>)?.then === "function") {
        return Promise.resolve(value);
      }
      return { ok: true, value };
    } catch (e) {
      return { ok: false, value: e };
    }
  }

  for (;;) {
    if (queue.length === 0) {
      if (ending) break;
      const m = await rx.next(never);
      if (m === END_OF_STREAM) break;
      take(m);
    }
    drain();
    const t = queue.shift();
    if (t === undefined) continue;
    // The handshake with a cancel: say what runs, then look once more (src/_pool_protocol.ts).
    Atomics.store(words, W_RUNNING, t.id);
    drain();
    if (skip === t.id) {
      skip = -1;
      Atomics.store(words, W_RUNNING, 0);
      if ((t.flags & HAS_HANDLES) !== 0) void discard(t.id);
      continue;
    }
    const pending = run(t);
    if (pending !== undefined) await pending;
    Atomics.store(words, W_RUNNING, 0);
  }
  await tx.drained();
  responseChannel.close(); // the parent sees the end of the stream, not a dead sender
  return Deno.exit(0);
}

/**
 * Kernel waiters: how a dipc wait gets its fair share of a queue or semaphore set that C or
 * Python programs wait on too.
 *
 * The kernel hands a message (or a semaphore unit) straight to a process *blocked in the kernel*
 * on it; a waiter that only polls for readiness (the wait core's reactors) then sees nothing, ever,
 * while such a process waits. So an async wait that has waited {@linkcode KERNEL_AFTER_MS} ms in
 * vain sleeps in the kernel: a dedicated worker thread per object (and per kind of request: a
 * System V message type, a set of semaphore operations) makes the blocking call
 * (`mq_timedreceive`, `msgrcv`, `semop`) on its own thread, never one of Deno's pool threads,
 * and hands what it took to the first waiting caller. Waits on the same object and request
 * share that one thread, served in order.
 *
 * Cancelling takes nothing. When the last waiting caller gives up (timeout, abort), the thread is
 * interrupted with a thread-directed SIGURG (`tgkill`): `msgrcv` and `semop` return EINTR having
 * taken nothing, and so does `mq_timedreceive` once `SA_RESTART` is off the runtime's handler
 * (done when the first waiter starts; should it fail, the call ends at its slice of
 * {@linkcode MQ_SLICE_MS}). The caller's wait ends only when the call has, so nothing can be
 * taken for it afterwards: a result the call took before it ended is that wait's result, timed
 * out or aborted (the caller gets it, in order, rather than an error: nothing is lost or
 * reordered). Only a result that comes after every wait has ended (a call that did not end
 * within {@linkcode LEAVE_BOUND_MS} of its interruption) is put back into the object at once
 * (the message to its queue, the units to the set), never kept for a later receive.
 *
 * Cost: a worker thread (a few MiB) per object with a long wait, started on the first one (tens
 * of milliseconds, during which the wait keeps polling) and ended {@linkcode LINGER_MS} ms after
 * the last. Each message taken this way crosses threads once (tens of microseconds); a wait
 * answered within the first {@linkcode KERNEL_AFTER_MS} ms never uses it. At most {@linkcode MAX_KERNEL_WAITERS} run at once; beyond that, waits fall
 * back to the reactors' polling (no thread, but no fair share against kernel waiters).
 *
 * @module
 */

import { SA_RESTART, SIGACTION, SIGNALS, SYS } from "../ffi/constants.ts";
import { libc } from "../ffi/load.ts";
import type { KernelReply, KernelRequest, KernelResult } from "./_kernel_waiter_worker.ts";
import {
  type Bounds,
  DEFAULT_SPINS,
  expired,
  type Sleeper,
  soonerOf,
  TIMED_OUT,
  timerMs,
  waitUntil,
  withSignal,
  WOULD_BLOCK,
} from "./_wait.ts";
import { monotonicNs } from "../ffi/util.ts";
import { TUNING } from "./_tuning.ts";

/** Kernel-waiter threads the process runs at most. */
export const MAX_KERNEL_WAITERS = 16;
/**
 * How long an idle kernel waiter's thread is kept for the next wait, in ms. A Web Worker keeps
 * the process alive, so this is also how long a process may outlive its last such wait. (Not
 * `node:worker_threads`, which could be unref'd: loading any `node:` module in Deno 2.9.6 stops
 * the kernel from reporting this process's death to robust pthread mutex waiters.)
 */
export const LINGER_MS: number = TUNING.kernelWaiter.lingerMs;
/**
 * How long a wait polls (through the reactors) before it moves into the kernel, in ms: a reply
 * that comes within it costs no thread hand-off, and a waiter idle longer than that is a kernel
 * waiter like any C process.
 */
export const KERNEL_AFTER_MS: number = TUNING.kernelWaiter.afterMs;
/** Slice of a POSIX queue's kernel wait, in ms. */
export const MQ_SLICE_MS: number = TUNING.kernelWaiter.mqSliceMs;

/** Returned by a `settle` that wants the call made again (EINTR, a slice that ran out). */
export const RETRY: unique symbol = Symbol("retry");
/** The reason a poll is stopped with when its wait moves into the kernel. */
const HAND_OVER: unique symbol = Symbol("hand over to the kernel waiter");

/** What a wait resolves with when no thread could be had after all (it then polls). */
export const UNAVAILABLE: unique symbol = Symbol("unavailable");

const WORKER_URL = new URL("./_kernel_waiter_worker.ts", import.meta.url);
let workersAllowed: boolean | undefined;

/**
 * Whether this process may start the waiter threads: a Worker loads dipc's worker module, which
 * for a local copy of dipc needs read permission on it (over the network it is fetched like the
 * rest of dipc). Without it, waits poll instead.
 */
function canStartWorkers(): boolean {
  if (workersAllowed === undefined) {
    workersAllowed = WORKER_URL.protocol !== "file:" ||
      Deno.permissions.querySync({ name: "read", path: WORKER_URL }).state === "granted";
  }
  return workersAllowed;
}

/** What a kernel waiter needs to know about its object. */
export interface KernelWaiterSpec<R> {
  /** The object, as messages name it. */
  what: string;
  /** The blocking call to make (a fresh request each time). */
  request(): KernelRequest;
  /** A reply as a result, or RETRY; throws for a failure that ends every wait. */
  settle(reply: KernelResult): R | typeof RETRY;
  /**
   * Puts a result nobody waits for back into the object at once (a message to its queue,
   * semaphore units to the set); false when it could not (the queue was full again).
   */
  giveBack?(result: R): boolean;
  /** Called once the thread has stopped after `close()`: release what the requests used. */
  release?(): void;
}

/** A caller waiting for a result; `leaving` once its deadline passed or its signal aborted. */
interface Wait<R> {
  settle(result: R | typeof TIMED_OUT | typeof UNAVAILABLE): void;
  fail(error: unknown): void;
  /**
   * Set when the wait is over for its caller while the call in flight may still bring a result
   * (one that comes before the call ends is still this wait's): TIMED_OUT, or the abort reason,
   * boxed.
   */
  leaving?: typeof TIMED_OUT | { reason: unknown };
  /** Ends a leaving wait as it asked. */
  leave(): void;
}

/**
 * How long a leaving wait waits for the interrupted call to end before it ends anyway, in ms (the
 * call normally ends within microseconds of the signal; this bounds the wait should it not, and
 * a result that comes after is given back to the object).
 */
const LEAVE_BOUND_MS = 2 * MQ_SLICE_MS;

let live = 0;
const SIGURG = SIGNALS.SIGURG;
const noop = (): void => {};

/**
 * Takes `SA_RESTART` off the runtime's SIGURG handler, so a kernel waiter's `mq_timedreceive`
 * (which Linux restarts after a handler that asks for it) returns EINTR when interrupted, as
 * `msgrcv` and `semop` always do. Only kernel waiters' threads are sent SIGURG (`tgkill`); Deno's
 * own threads retry EINTR. Best effort: without it the call ends at its slice instead.
 */
function interruptibleSigurg(): void {
  const L = libc();
  const act = new Uint8Array(SIGACTION.size);
  if (L.sigaction(SIGURG, null, act) !== 0) return;
  const view = new DataView(act.buffer);
  const flags = view.getInt32(SIGACTION.sa_flags, true);
  if ((flags & SA_RESTART) === 0) return;
  view.setInt32(SIGACTION.sa_flags, flags & ~SA_RESTART, true);
  L.sigaction(SIGURG, act, null);
}

/** One object's kernel waiter. */
export class KernelWaiter<R> {
  readonly #spec: KernelWaiterSpec<R>;
  #worker: Worker | undefined;
  #tid = 0;
  #starting: Promise<boolean> | undefined;
  readonly #waits: Wait<R>[] = [];
  readonly #kept: R[] = [];
  #busy = false;
  #closed = false;
  #failed = false;
  #linger: ReturnType<typeof setTimeout> | undefined;
  #reply: ((reply: KernelReply) => void) | undefined;

  constructor(spec: KernelWaiterSpec<R>) {
    this.#spec = spec;
  }

  /** Whether a thread can be had for this object (false beyond MAX_KERNEL_WAITERS). */
  get available(): boolean {
    if (this.#closed || this.#failed) return false;
    return this.#worker !== undefined || (live < MAX_KERNEL_WAITERS && canStartWorkers());
  }

  /**
   * Whether a call is in flight: its result, when it comes, is the oldest there is, so the
   * owner's own tries must not take from the object meanwhile (they report "nothing right now").
   */
  get busy(): boolean {
    return this.#busy;
  }

  /**
   * Starts the thread (if it is not running) without a wait; resolves whether it runs. An idle
   * thread is stopped {@linkcode LINGER_MS} ms later.
   */
  start(): Promise<boolean> {
    if (this.#closed || this.#failed) return Promise.resolve(false);
    const started = this.#start();
    void started.then((ok) => {
      if (!ok) this.#failed = true;
      else if (!this.#busy && this.#waits.length === 0 && this.#linger === undefined) {
        this.#linger = setTimeout(() => this.#stop(), LINGER_MS);
      }
    });
    return started;
  }

  /** Whether the thread runs (started, and ready for calls). */
  get running(): boolean {
    return this.#worker !== undefined && this.#tid !== 0;
  }

  /**
   * A result that could be neither handed to a wait nor given back to the object (it was full
   * again by then), oldest first; undefined when none. Normally none: see {@linkcode wait}.
   */
  take(): R | undefined {
    return this.#kept.shift();
  }

  /** Puts a result back at the front (the caller could not use it). */
  keep(result: R): void {
    this.#kept.unshift(result);
  }

  /**
   * Waits in the kernel for a result, until the deadline (then TIMED_OUT) or the signal (then
   * its reason). A wait that ends so has taken nothing: when it is the last one, the call in
   * flight is interrupted and the wait ends once the call has (within {@linkcode LEAVE_BOUND_MS}
   * at most); what the call took meanwhile is this wait's result, timed out or aborted (it
   * resolves with it), and given back to the object at once if the wait had already ended.
   */
  wait(bounds: Bounds): Promise<R | typeof TIMED_OUT | typeof UNAVAILABLE> {
    const { signal, deadline } = bounds;
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let ended = false;
      const done = (): boolean => {
        if (ended) return false;
        ended = true;
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        const i = this.#waits.indexOf(wait);
        if (i >= 0) this.#waits.splice(i, 1);
        if (this.#waits.length === 0) this.#interrupt();
        return true;
      };
      const wait: Wait<R> = {
        settle: (result): void => {
          if (done()) resolve(result);
        },
        fail: (error): void => {
          if (done()) reject(error);
        },
        leave: (): void => {
          const why = wait.leaving;
          if (why === TIMED_OUT) wait.settle(TIMED_OUT);
          else if (why !== undefined) wait.fail(why.reason);
        },
      };
      const over = (why: typeof TIMED_OUT | { reason: unknown }): void => {
        if (ended || wait.leaving !== undefined) return;
        wait.leaving = why;
        signal?.removeEventListener("abort", onAbort);
        // Another wait keeps the call going, or none is in flight: nothing can come for this one.
        if (!this.#busy || this.#waits.some((w) => w !== wait && w.leaving === undefined)) {
          wait.leave();
          return;
        }
        this.#interrupt();
        if (timer !== undefined) clearTimeout(timer);
        timer = setTimeout(() => wait.leave(), LEAVE_BOUND_MS);
      };
      const onAbort = (): void => over({ reason: signal?.reason });
      signal?.addEventListener("abort", onAbort, { once: true });
      if (deadline !== undefined) timer = setTimeout(() => over(TIMED_OUT), timerMs(deadline));
      this.#waits.push(wait);
      void this.#pump();
    });
  }

  /**
   * Ends every wait with `error`, puts back what was kept, and stops the thread (at once, or as
   * soon as its call has been interrupted); `release` runs after that. Idempotent.
   */
  close(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of [...this.#waits]) w.fail(error);
    for (const r of this.#kept.splice(0)) this.#spec.giveBack?.(r);
    this.#stop();
  }

  async #pump(): Promise<void> {
    if (this.#busy || this.#closed || this.#waits.length === 0) return;
    this.#busy = true;
    if (this.#linger !== undefined) clearTimeout(this.#linger);
    this.#linger = undefined;
    try {
      if (!await this.#start()) {
        this.#failed = true;
        for (const w of [...this.#waits]) w.settle(UNAVAILABLE);
        return;
      }
      while (this.#waits.length > 0 && !this.#closed) {
        const reply = await this.#call(this.#spec.request());
        if (reply === undefined) break; // stopped
        if (this.#failed) {
          // The thread died under the call: the waits go on polling instead.
          for (const w of [...this.#waits]) w.settle(UNAVAILABLE);
          break;
        }
        let result: R | typeof RETRY;
        try {
          result = this.#spec.settle(reply);
        } catch (e) {
          for (const w of [...this.#waits]) w.fail(e);
          break;
        }
        if (result !== RETRY) {
          // The oldest wait takes it, even one that timed out or was aborted while the call was
          // ending: the result came before that wait was over, and handing it to a later wait
          // or back to the object (behind newer messages) would reorder it.
          const taker = this.#waits[0];
          if (taker !== undefined) taker.settle(result);
          else this.#giveBack(result);
        }
        // The call has ended: the waits that were over end now.
        for (const w of this.#waits.filter((w) => w.leaving !== undefined)) w.leave();
      }
    } finally {
      this.#busy = false;
      if (this.#closed) this.#stop();
      else if (this.#waits.length > 0) void this.#pump();
      else {
        if (this.#linger !== undefined) clearTimeout(this.#linger);
        this.#linger = setTimeout(() => this.#stop(), LINGER_MS);
      }
    }
  }

  /**
   * A result nobody waits for goes back into the object at once (semaphore units to the set, a
   * message to its queue), never to a later receive; only if that fails (the queue was filled
   * again meanwhile) is it kept for the next one.
   */
  #giveBack(result: R): void {
    if (this.#spec.giveBack?.(result) ?? false) return;
    this.#kept.push(result);
  }

  #start(): Promise<boolean> {
    if (this.#worker !== undefined) return this.#starting ?? Promise.resolve(true);
    if (live >= MAX_KERNEL_WAITERS) return Promise.resolve(false);
    live++;
    if (live === 1) {
      Deno.addSignalListener("SIGURG", noop); // a handler, so SIGURG interrupts
      interruptibleSigurg();
    }
    let worker: Worker;
    try {
      worker = new Worker(WORKER_URL, { type: "module" });
    } catch {
      this.#release();
      return Promise.resolve(false);
    }
    this.#worker = worker;
    worker.onmessage = (e: MessageEvent<KernelReply>): void => {
      const settle = this.#reply;
      this.#reply = undefined;
      settle?.(e.data);
    };
    worker.onerror = (e): void => {
      // The thread could not start (or died): waits fall back to polling.
      e.preventDefault();
      this.#failed = true;
      const settle = this.#reply;
      this.#reply = undefined;
      settle?.({ r: -1, errno: -1 });
    };
    this.#starting = new Promise<boolean>((resolve) => {
      this.#reply = (reply): void => {
        if ("tid" in reply) this.#tid = reply.tid;
        resolve("tid" in reply);
      };
    });
    return this.#starting;
  }

  #call(request: KernelRequest): Promise<(KernelResult) | undefined> {
    const worker = this.#worker;
    if (worker === undefined) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      this.#reply = (reply): void => resolve("r" in reply ? reply : undefined);
      worker.postMessage(request);
    });
  }

  /** Makes an in-flight call return (EINTR) when nobody waits for it any more. */
  #interrupt(): void {
    if (!this.#busy || this.#tid === 0) return;
    libc().tgkill(SYS.tgkill, libc().getpid(), this.#tid, SIGURG);
  }

  #stop(): void {
    if (this.#linger !== undefined) clearTimeout(this.#linger);
    this.#linger = undefined;
    if (!this.#closed && this.#waits.length > 0) return; // still wanted
    const worker = this.#worker;
    if (worker === undefined) {
      if (this.#closed && !this.#busy) this.#releaseOnce();
      return;
    }
    if (this.#busy) {
      // Let the call end first (interrupted), then stop: a Worker cannot be ended inside a call.
      this.#interrupt();
      return;
    }
    this.#worker = undefined;
    this.#starting = undefined;
    this.#tid = 0;
    worker.onmessage = null;
    worker.onerror = null;
    worker.terminate();
    const reply = this.#reply;
    this.#reply = undefined;
    reply?.({ r: -1, errno: -1 });
    this.#release();
    if (this.#closed) this.#releaseOnce();
  }

  /** Gives this object's place among the MAX_KERNEL_WAITERS back. */
  #release(): void {
    live--;
    if (live === 0) Deno.removeSignalListener("SIGURG", noop);
  }

  #released = false;

  #releaseOnce(): void {
    if (this.#released) return;
    this.#released = true;
    this.#spec.release?.();
  }
}

/**
 * The fair form of {@linkcode waitUntil}: tries on this thread (spinning `spins` times), then,
 * when the object's kernel waiter (`kernelFor()`) can have a thread, waits in the kernel through
 * it (`toResult` turns what it took into what `attempt` would have returned); otherwise sleeps
 * with `sleeper` as `waitUntil` does.
 * Either way a cancelled wait has taken nothing.
 */
export async function waitFair<T, R>(
  attempt: () => T | typeof WOULD_BLOCK,
  kernelFor: () => KernelWaiter<R> | undefined,
  toResult: (taken: R) => T,
  sleeper: Sleeper,
  bounds: Bounds,
  spins: number = DEFAULT_SPINS,
): Promise<T | typeof TIMED_OUT> {
  bounds.signal?.throwIfAborted();
  const once = expired(bounds.deadline);
  for (let i = 0; i <= spins; i++) {
    const r = attempt();
    if (r !== WOULD_BLOCK) return r;
    if (once) return TIMED_OUT;
  }
  // Asked for only now: a wait the spin answered needs no kernel waiter (nor its descriptor).
  const kernel = kernelFor();
  if (kernel === undefined || !kernel.available) return waitUntil(attempt, sleeper, bounds, 0);
  // Poll first for KERNEL_AFTER_MS: a reply that comes within it needs no thread (nor one
  // started for it) and no hand-off.
  const first = soonerOf(bounds, monotonicNs() + BigInt(KERNEL_AFTER_MS * 1e6));
  const soon = await waitUntil(attempt, sleeper, first, 0);
  if (soon !== TIMED_OUT) return soon;
  if (expired(bounds.deadline)) return TIMED_OUT;
  if (kernel.running) return await inKernel(kernel, attempt, toResult, sleeper, bounds);
  // Go on polling for as long as the thread takes to start, then hand over; a thread that
  // cannot start leaves us polling.
  const outer = bounds.signal;
  const stop = new AbortController();
  const onOuter = (): void => stop.abort(outer?.reason);
  outer?.addEventListener("abort", onOuter, { once: true });
  const handOver = kernel.start().then((ok) => ok ? HAND_OVER : new Promise<never>(() => {}));
  const polling = waitUntil(attempt, sleeper, withSignal(bounds, stop.signal), 0);
  let early: T | typeof TIMED_OUT | typeof HAND_OVER;
  try {
    early = await Promise.race([polling, handOver]);
    if (early === HAND_OVER) {
      stop.abort(HAND_OVER);
      // The poll may have finished in the same turn: what it took wins.
      early = await polling.catch((e) => {
        if (e === HAND_OVER) return HAND_OVER;
        throw e;
      });
    }
  } finally {
    outer?.removeEventListener("abort", onOuter);
  }
  if (early !== HAND_OVER) return early;
  outer?.throwIfAborted();
  return await inKernel(kernel, attempt, toResult, sleeper, bounds);
}

/** The rest of a {@linkcode waitFair} wait, in the kernel (polling if no thread can be had). */
async function inKernel<T, R>(
  kernel: KernelWaiter<R>,
  attempt: () => T | typeof WOULD_BLOCK,
  toResult: (taken: R) => T,
  sleeper: Sleeper,
  bounds: Bounds,
): Promise<T | typeof TIMED_OUT> {
  if (expired(bounds.deadline)) return TIMED_OUT;
  const taken = await kernel.wait(bounds);
  if (taken === UNAVAILABLE) return waitUntil(attempt, sleeper, bounds, 0);
  return taken === TIMED_OUT ? TIMED_OUT : toResult(taken);
}

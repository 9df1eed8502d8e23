/**
 * System V message queues: kernel queues found by a numeric key (from {@linkcode ftok}, an agreed
 * number, or {@linkcode IPC_PRIVATE}), where every message carries a positive `type`. A receiver
 * picks by type: 0 takes the first message, a positive type the first of that type, a negative
 * type the first of the lowest type up to its absolute value; `except` takes the first of any
 * *other* type. Types make one queue serve as many mailboxes (indirect communication, where
 * messages go to an address rather than to a process).
 *
 * Every operation has a synchronous `try…` form (`IPC_NOWAIT`), an async form taking
 * `{ signal, timeout }`, and for receiving a blocking `receiveSync`. System V queues cannot be
 * polled, so an async receive tries on this thread (spinning about 100 µs) and then blocks in
 * `msgrcv` on a kernel-waiter thread of its own (src/_kernel_wait.ts, one per queue and type
 * selector), as a C receiver would: it gets its share of a queue that C or Python processes also
 * wait on, where a poller would get nothing. Cancelling interrupts that `msgrcv` with a
 * thread-directed signal (EINTR, nothing taken); a message it took just before is kept for the
 * next receive, or put back on close. A removed queue is reported as EIDRM or EINVAL. Sends that
 * wait (and receives past the kernel-waiter limit) try again after sleeps of 50 µs doubling to
 * 2 ms, timed by the wait core. Types are C `long`s: numbers up to 2⁵³ − 1, bigints beyond.
 *
 * @example Types as addresses
 * ```ts
 * import { SysVMessageQueue } from "@dipc/dipc";
 *
 * using q = SysVMessageQueue.temporary();
 * const enc = new TextEncoder();
 * q.trySend(enc.encode("for P2"), { type: 2 });
 * q.trySend(enc.encode("for P1"), { type: 1 });
 * const m = await q.receive({ type: 1, timeout: 1000 });
 * console.log(m.type, new TextDecoder().decode(m.data)); // 1 "for P1"
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man7/sysvipc.7.html}
 * @module
 */

import { checkInternal, INTERNAL } from "./_internal.ts";
import { E, IPC, MSG, MSQID_DS, MTYPE_SIZE } from "../ffi/constants.ts";
import { errno, errnoOfTry, libc } from "../ffi/load.ts";
import { monotonicNs, OutStruct, readProcNumber } from "../ffi/util.ts";
import { ClosedError, ErrnoError } from "./errors.ts";
import { lastError } from "./_errno.ts";
import { type Backoff, FdSleeper } from "./_fd.ts";
import { KernelWaiter, RETRY, waitFair } from "./_kernel_wait.ts";
import { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
import {
  ANY,
  type Selector,
  selector,
  type SysVMessageType,
  type SysVReceiveOptions,
  typeAt,
  typeOf,
  validateSelector,
  validateType,
} from "./_sysv_mq_select.ts";
import { copyOut } from "./_copy.ts";
import { IPC_PRIVATE, type IpcPermissions } from "./sysv_key.ts";
import {
  getSysVId,
  identityOfId,
  readIpcPerm,
  removeSysVId,
  seconds,
  SysVIdentity,
  type SysVKind,
  type SysVPermissionChange,
  validateId,
  validateKey,
  writeIpcPerm,
} from "./_sysv.ts";
import {
  describe,
  validateBoolean,
  validateBuffer,
  validateCreateRule,
  validateInteger,
  validateOptionKeys,
  validateOptions,
} from "./_validate.ts";
import {
  type Bounds,
  boundsOf,
  receiveUntilStopped,
  syncDeadlineOf,
  type SyncWaitOptions,
  TIMED_OUT,
  timedOut,
  validateWaitOptions,
  waitBoundsOf,
  type WaitOptions,
  waitUntil,
} from "./_wait.ts";
import { TUNING } from "./_tuning.ts";

export type { SyncWaitOptions, WaitOptions } from "./_wait.ts";
export {
  MAX_MESSAGE_TYPE,
  MAX_MESSAGE_TYPE_BIG,
  type SysVMessageType,
  type SysVReceiveOptions,
} from "./_sysv_mq_select.ts";
export { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";

/** An empty pollfd array: `poll(PAUSE, 0, ms)` just sleeps. */
const PAUSE = new Uint8Array(0);

/** Options for {@linkcode SysVMessageQueue.open} and {@linkcode SysVMessageQueue.openId}. */
export interface SysVMessageQueueOpenOptions {
  /** Accept a queue another user made or owns (off by default: squatting defence). */
  allowForeignOwner?: boolean;
}

/** Options for {@linkcode SysVMessageQueue.create}. */
export interface SysVMessageQueueCreateOptions {
  /** Permission bits (default 0o600). */
  mode?: number;
  /** Fail with EEXIST when the key has a queue (default true); `false` uses that one. */
  exclusive?: boolean;
  /** With `exclusive: false`: accept an existing queue another user made or owns. */
  allowForeignOwner?: boolean;
}

/** Options for {@linkcode SysVMessageQueue.temporary}. */
export interface TemporarySysVMessageQueueOptions {
  /** Permission bits (default 0o600). */
  mode?: number;
}

/** Options for {@linkcode SysVMessageQueue.trySend}. */
export interface SysVTrySendOptions {
  /** The message's type, positive (default 1). */
  type?: SysVMessageType;
}

/** Options for {@linkcode SysVMessageQueue.send}. */
export interface SysVSendOptions extends SysVTrySendOptions, WaitOptions {}

/** What a receive into a caller's buffer took: the message's length and type. */
export interface SysVReceipt {
  /** The message's length in bytes (it is in the first `length` bytes of the buffer). */
  length: number;
  /** Its type: a number, or a bigint when above 2⁵³ − 1. */
  type: SysVMessageType;
}

/** What `IPC_STAT` reports of a queue. */
export interface SysVMessageQueueStat extends IpcPermissions {
  /** Messages in the queue now (`msg_qnum`). */
  messages: number;
  /** Bytes in the queue now (`msg_cbytes`). */
  bytes: number;
  /** Most bytes the queue holds (`msg_qbytes`); it also caps the number of messages. */
  maxBytes: number;
  /** Pid of the last `msgsnd` (`msg_lspid`), 0 if none. */
  lastSendPid: number;
  /** Pid of the last `msgrcv` (`msg_lrpid`), 0 if none. */
  lastReceivePid: number;
  /** Last send, or null if never. */
  sent: Date | null;
  /** Last receive, or null if never. */
  received: Date | null;
  /** Last change (creation or `IPC_SET`). */
  changed: Date;
}

/** Changes for {@linkcode SysVMessageQueue.setPermissions}: owner, mode and the byte limit. */
export interface SysVMessageQueueChange extends SysVPermissionChange {
  /** New `msg_qbytes`; above `/proc/sys/kernel/msgmnb` needs CAP_SYS_RESOURCE (else EPERM). */
  maxBytes?: number;
}

/** A received message. */
export interface SysVMessage {
  /** Its type (positive): a number, or a bigint when above 2⁵³ − 1 (as C can send). */
  type: SysVMessageType;
  /** Its bytes (a copy; the caller owns it). */
  data: Uint8Array<ArrayBuffer>;
}

/** Spins of an async wait before its first sleep (about 100 µs of tries). */
const SPINS = TUNING.sysv.spins;
/** Sleeps between tries: 50 µs, doubling to 2 ms. */
const BACKOFF: Backoff = TUNING.sysv.backoff;

const ds = new OutStruct(MSQID_DS.size);

/** `/proc/sys/kernel/msgmax`: the largest message, read once (8192 by default). */
let msgmaxCache: number | undefined;
function msgmax(): number {
  if (msgmaxCache === undefined) {
    const n = readProcNumber("/proc/sys/kernel/msgmax");
    msgmaxCache = Number.isInteger(n) && n > 0 ? n : 8192;
  }
  return msgmaxCache;
}

/** Checks the options of `open` and `openId`: whether foreign owners are allowed. */
function validateOpen(options: unknown): boolean {
  const o = validateOptionKeys<SysVMessageQueueOpenOptions>(
    options,
    ["allowForeignOwner"],
    "SysVMessageQueue.open/openId",
  );
  return validateBoolean(o.allowForeignOwner, "allowForeignOwner");
}

/** How queues are got, stat'ed and removed, for the System V identity helper. */
const MSG_KIND: SysVKind<SysVMessageQueueStat> = {
  what: "System V message queue",
  getCall: "msgget",
  ctlCall: "msgctl",
  get: (key, flags) => libc().msgget(key, flags),
  rmid: (id) => libc().msgctl(id, IPC.RMID, null),
  stat: statId,
  set: (id, change) => {
    const c = change as SysVMessageQueueChange;
    statId(id); // fills `ds` with the current values
    writeIpcPerm(ds, MSQID_DS.msg_perm, c);
    if (c.maxBytes !== undefined) ds.setU64(MSQID_DS.msg_qbytes, c.maxBytes);
    if (libc().msgctl(id, IPC.SET, ds.bytes) !== 0) {
      throw lastError("msgctl", "change System V message queue", id);
    }
  },
};

function statId(id: number): SysVMessageQueueStat {
  if (libc().msgctl(id, IPC.STAT, ds.clear().bytes) !== 0) {
    throw lastError("msgctl", "stat System V message queue", id);
  }
  return {
    ...readIpcPerm(ds, MSQID_DS.msg_perm),
    messages: ds.u64(MSQID_DS.msg_qnum),
    bytes: ds.u64(MSQID_DS.msg_cbytes),
    maxBytes: ds.u64(MSQID_DS.msg_qbytes),
    lastSendPid: ds.i32(MSQID_DS.msg_lspid),
    lastReceivePid: ds.i32(MSQID_DS.msg_lrpid),
    sent: seconds(ds, MSQID_DS.msg_stime),
    received: seconds(ds, MSQID_DS.msg_rtime),
    changed: seconds(ds, MSQID_DS.msg_ctime) ?? new Date(0),
  };
}

/** What a kernel waiter took: the bytes and the type. */
interface SysVTaken {
  data: Uint8Array<ArrayBuffer>;
  type: bigint;
}

/**
 * A System V message queue. The handle holds buffers, not a kernel resource: closing it only
 * ends its use here; {@linkcode SysVMessageQueue.remove} removes the queue itself.
 *
 * @see {@link https://man7.org/linux/man-pages/man2/msgget.2.html}
 *
 * @example Typed messages, taken by type
 * ```ts
 * import { SysVMessageQueue } from "@dipc/dipc";
 *
 * using q = SysVMessageQueue.temporary();
 * await q.send(new TextEncoder().encode("for 2"), { type: 2 });
 * await q.send(new TextEncoder().encode("for 1"), { type: 1 });
 * const m = await q.receive({ type: 1, timeout: 1_000 });
 * console.log(new TextDecoder().decode(m.data), m.type); // "for 1" 1
 * ```
 */
export class SysVMessageQueue implements Disposable {
  readonly #identity: SysVIdentity<SysVMessageQueueStat>;
  readonly #id: number;
  #closed = false;
  /** `long mtype` then up to msgmax bytes: what msgsnd and msgrcv read and write. */
  readonly #msg: Uint8Array<ArrayBuffer>;
  readonly #view: DataView;
  /** The type of the message the last receive took (read right after it). */
  #lastType: SysVMessageType = 0;
  #selectorCache:
    | {
      options: SysVReceiveOptions;
      type: SysVReceiveOptions["type"];
      except: boolean | undefined;
      truncate: boolean | undefined;
      selector: Selector;
    }
    | undefined;
  readonly #sleepers = new Set<FdSleeper>();
  readonly #kernels = new Map<string, KernelWaiter<SysVTaken>>();

  /** @ignore */
  private constructor(token: unknown, identity: SysVIdentity<SysVMessageQueueStat>) {
    checkInternal(token, "SysVMessageQueue.create/open/openId/temporary()");
    this.#identity = identity;
    this.#id = identity.id;
    this.#msg = new Uint8Array(MTYPE_SIZE + msgmax());
    this.#view = new DataView(this.#msg.buffer);
  }

  /**
   * Uses the existing queue of `key`.
   *
   * @param key a key from {@linkcode ftok} or an agreed number (not IPC_PRIVATE)
   * @param options allowForeignOwner
   * @returns the queue
   * @throws {TypeError} / {RangeError} for a bad key or option
   * @throws {ErrnoError} ENOENT (no queue for the key), EACCES
   * @throws {ForeignOwnerError} when another user made or owns the queue
   * @see {@link https://man7.org/linux/man-pages/man2/msgget.2.html}
   *
   * @example Create by key, get again by key
   * ```ts
   * import { SysVMessageQueue } from "@dipc/dipc";
   *
   * const key = 0x7d000000 + Math.floor(Math.random() * 0xffff);
   * using a = SysVMessageQueue.create(key);
   * using b = SysVMessageQueue.open(key);
   * console.log(a.id === b.id, b.created); // true false
   * a.remove();
   * ```
   */
  static open(key: number, options?: SysVMessageQueueOpenOptions): SysVMessageQueue {
    const k = validateKey(key);
    const allowForeign = validateOpen(options);
    const { id } = getSysVId(MSG_KIND, k, undefined, allowForeign);
    return new SysVMessageQueue(INTERNAL, new SysVIdentity(MSG_KIND, id, k, false));
  }

  /**
   * Creates a queue for `key`. By default the key must have no queue (EEXIST otherwise);
   * `exclusive: false` uses the existing one instead. {@linkcode IPC_PRIVATE} always makes a
   * new queue.
   *
   * @param key a key from {@linkcode ftok}, an agreed number, or {@linkcode IPC_PRIVATE}
   * @param options mode, exclusive, allowForeignOwner
   * @returns the queue; `created` says whether this call made it
   * @throws {TypeError} / {RangeError} for a bad key, mode or option
   * @throws {ErrnoError} EEXIST (the key has a queue), EACCES, ENOSPC (the system's queue limit)
   * @throws {ForeignOwnerError} with `exclusive: false`, when another user made or owns it
   * @see {@link https://man7.org/linux/man-pages/man2/msgget.2.html}
   */
  static create(key: number, options?: SysVMessageQueueCreateOptions): SysVMessageQueue {
    const k = validateKey(key);
    const rule = validateCreateRule(
      validateOptionKeys<SysVMessageQueueCreateOptions>(options, [
        "mode",
        "exclusive",
        "allowForeignOwner",
      ], "SysVMessageQueue.create"),
    );
    const { id, created } = getSysVId(MSG_KIND, k, rule, false);
    return new SysVMessageQueue(INTERNAL, new SysVIdentity(MSG_KIND, id, k, created));
  }

  /**
   * Uses the queue with id `id` (as `ipcs -q` lists it, or as another process passed it).
   *
   * @param id the msqid
   * @param options allowForeignOwner
   * @returns the queue
   * @throws {ErrnoError} EINVAL (no such id), EIDRM (removed), EACCES
   * @throws {ForeignOwnerError} when another user made or owns the queue
   *
   * @example By id
   * ```ts
   * import { SysVMessageQueue } from "@dipc/dipc";
   *
   * using a = SysVMessageQueue.temporary();
   * using b = SysVMessageQueue.openId(a.id);
   * b.trySend(new Uint8Array([42]));
   * console.log(a.stat().messages); // 1
   * ```
   */
  static openId(id: number, options?: SysVMessageQueueOpenOptions): SysVMessageQueue {
    validateId(id);
    const { identity } = identityOfId(MSG_KIND, id, validateOpen(options));
    return new SysVMessageQueue(INTERNAL, identity);
  }

  /**
   * Creates a new `IPC_PRIVATE` queue that is removed when this handle is closed or disposed.
   * Other processes use it by {@linkcode SysVMessageQueue.id}.
   *
   * @param options mode
   * @returns the queue
   * @throws {ErrnoError} ENOSPC (the system's queue limit)
   *
   * @example Temporary queue
   * ```ts
   * import { SysVMessageQueue } from "@dipc/dipc";
   *
   * using q = SysVMessageQueue.temporary();
   * console.log(q.key, q.stat().mode.toString(8)); // 0 "600"
   * ```
   */
  static temporary(options?: TemporarySysVMessageQueueOptions): SysVMessageQueue {
    const o = validateOptionKeys<TemporarySysVMessageQueueOptions>(
      options,
      ["mode"],
      "SysVMessageQueue.temporary",
    );
    const q = SysVMessageQueue.create(IPC_PRIVATE, o.mode === undefined ? {} : { mode: o.mode });
    q.#identity.removeOnClose = true;
    return q;
  }

  /**
   * Removes the queue `id` at once (`IPC_RMID`): messages in it are discarded and waiting
   * receivers and senders fail with EIDRM.
   *
   * @param id the msqid
   * @throws {ErrnoError} EINVAL (no such id), EPERM (not owner or creator)
   * @see {@link https://man7.org/linux/man-pages/man2/msgctl.2.html}
   */
  static remove(id: number): void {
    removeSysVId(MSG_KIND, id);
  }

  /**
   * What `IPC_STAT` reports for the queue `id`.
   *
   * @param id the msqid
   * @returns the queue's status
   * @throws {ErrnoError} EINVAL (no such id), EACCES
   * @see {@link https://man7.org/linux/man-pages/man2/msgctl.2.html}
   */
  static statId(id: number): SysVMessageQueueStat {
    return statId(validateId(id));
  }

  /** The largest message this system takes, in bytes (`/proc/sys/kernel/msgmax`). */
  static get maxMessageSize(): number {
    return msgmax();
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError(`System V message queue ${this.#id}`);
  }

  /** The queue's id (msqid), as `ipcs -q` shows it. */
  get id(): number {
    return this.#id;
  }

  /** The key, unsigned as `ipcs` prints it (0 for `IPC_PRIVATE`). */
  get key(): number {
    return this.#identity.key;
  }

  /** Whether this handle created the queue. */
  get created(): boolean {
    return this.#identity.created;
  }

  /** Whether {@linkcode SysVMessageQueue.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * What `IPC_STAT` reports now: counts, limit, pids, times, owner, mode. Works after close too:
   * the queue outlives the handle.
   *
   * @returns the queue's status
   * @throws {ErrnoError} EIDRM/EINVAL once the queue is removed
   */
  stat(): SysVMessageQueueStat {
    return this.#identity.stat();
  }

  /**
   * Changes owner, mode or byte limit (`IPC_SET`).
   *
   * @param change uid, gid, mode, maxBytes
   * @throws {ErrnoError} EPERM (not owner, or maxBytes above the limit), EIDRM
   * @see {@link https://man7.org/linux/man-pages/man2/msgctl.2.html}
   */
  setPermissions(change: SysVMessageQueueChange): void {
    const c = validateOptions<SysVMessageQueueChange>(change, "change");
    if (c.maxBytes !== undefined) validateInteger(c.maxBytes, "maxBytes", 1, 0x7fffffff);
    this.#identity.setPermissions(c);
  }

  /**
   * Sends a message if there is room now (`IPC_NOWAIT`).
   *
   * @param data the message, at most {@linkcode SysVMessageQueue.maxMessageSize} bytes (may be
   *   empty)
   * @param options `type`: positive (default 1)
   * @returns undefined when sent, {@linkcode WOULD_BLOCK} when the queue is full (nothing sent)
   * @throws {ErrnoError} EMSGSIZE (longer than the system allows: nothing sent), EIDRM/EINVAL
   *   (queue removed), EACCES
   * @throws {ClosedError} after close
   * @see {@link https://man7.org/linux/man-pages/man2/msgsnd.2.html}
   */
  trySend(data: Uint8Array, options?: SysVTrySendOptions): undefined | WouldBlock {
    validateBuffer(data, "data");
    const t = validateType(
      options === undefined
        ? undefined
        : validateOptionKeys<SysVTrySendOptions>(options, ["type"], "SysVMessageQueue.trySend")
          .type,
    );
    this.#assertOpen();
    this.#checkSize(data.length);
    return this.#trySend(data, t);
  }

  #trySend(data: Uint8Array, t: bigint): undefined | WouldBlock {
    this.#assertOpen();
    this.#view.setBigInt64(0, t, true);
    this.#msg.set(data, MTYPE_SIZE);
    const { msgsnd } = libc();
    for (;;) {
      if (msgsnd(this.#id, this.#msg, data.length, IPC.NOWAIT) === 0) return undefined;
      const e = errnoOfTry();
      if (e === E.EAGAIN) return WOULD_BLOCK;
      if (e !== E.EINTR) {
        throw new ErrnoError(e, "msgsnd", {
          action: "send to System V message queue",
          object: this.#id,
        });
      }
    }
  }

  /**
   * Sends a message, waiting for room while the queue is full.
   *
   * @param data the message
   * @param options `type` (positive, default 1), `signal` and `timeout` (ms)
   * @throws {ErrnoError} EMSGSIZE at once for a message that can never fit (longer than the
   *   system allows or than the queue's byte limit): nothing sent; EIDRM when the queue is
   *   removed during the wait
   * @throws {DOMException} `TimeoutError` when the timeout passes (nothing was sent)
   * @throws the signal's reason when aborted (nothing was sent)
   * @throws {ClosedError} after close, or when the handle is closed during the wait
   */
  async send(data: Uint8Array, options?: SysVSendOptions): Promise<void> {
    validateBuffer(data, "data");
    const o = validateWaitOptions(options) as SysVSendOptions;
    const type = validateType(o.type);
    const opts = boundsOf(o);
    this.#assertOpen();
    this.#checkSize(data.length);
    if (this.#trySend(data, type) !== WOULD_BLOCK) return;
    this.#checkFits(data.length);
    const r = await this.#wait(() => this.#trySend(data, type), undefined, opts);
    if (r === TIMED_OUT) throw timedOut(`send to System V message queue ${this.#id}`);
  }

  /**
   * Sends a message, blocking the calling thread while the queue is full. Without a timeout it
   * blocks in `msgsnd` as a C program would (a kernel waiter, woken the moment there is room);
   * with one it tries every millisecond, since System V has no timed send. For Workers and
   * processes where blocking is the point; on the main thread prefer
   * {@linkcode SysVMessageQueue.send}.
   *
   * @param data the message
   * @param options `type` (positive, default 1), `timeout` (ms)
   * @throws {ErrnoError} EMSGSIZE at once for a message that can never fit (nothing sent);
   *   EIDRM/EINVAL when the queue is removed
   * @throws {DOMException} `TimeoutError` when the timeout passes (nothing was sent)
   * @throws {ClosedError} after close
   * @see {@link https://man7.org/linux/man-pages/man2/msgsnd.2.html}
   *
   * @example Block until there is room
   * ```ts
   * import { SysVMessageQueue } from "@dipc/dipc";
   *
   * using q = SysVMessageQueue.temporary();
   * q.sendSync(new Uint8Array([1, 2, 3]), { type: 2, timeout: 1000 });
   * console.log(q.stat().messages); // 1
   * ```
   */
  sendSync(data: Uint8Array, options?: SysVTrySendOptions & SyncWaitOptions): void {
    validateBuffer(data, "data");
    let type = 1n;
    let deadline: bigint | undefined;
    if (options !== undefined) {
      const o = validateOptionKeys<SysVTrySendOptions & SyncWaitOptions>(
        options,
        ["type", "timeout"],
        "SysVMessageQueue.sendSync",
      );
      type = validateType(o.type);
      deadline = syncDeadlineOf(o);
    }
    this.#assertOpen();
    this.#checkSize(data.length);
    if (this.#trySend(data, type) !== WOULD_BLOCK) return;
    this.#checkFits(data.length);
    const { msgsnd, poll } = libc();
    for (;;) {
      if (deadline === undefined) {
        // No timeout: block in the kernel, a waiter like any C process (#trySend left the
        // message in #msg).
        if (msgsnd(this.#id, this.#msg, data.length, 0) === 0) return;
        const e = errno();
        if (e === E.EINTR) continue;
        throw new ErrnoError(e, "msgsnd", {
          action: "send to System V message queue",
          object: this.#id,
        });
      }
      if (this.#trySend(data, type) !== WOULD_BLOCK) return;
      if (monotonicNs() >= deadline) throw timedOut(`send to System V message queue ${this.#id}`);
      poll(PAUSE, 0, 1);
    }
  }

  /** Throws EMSGSIZE for a message longer than the queue can ever hold (its byte limit). */
  #checkFits(length: number): void {
    // IPC_STAT needs read permission, which a sender may lack: then the check is skipped.
    let limit = Infinity;
    try {
      limit = statId(this.#id).maxBytes;
    } catch (e) {
      if (!(e instanceof ErrnoError && e.code === "EACCES")) throw e;
    }
    if (length > limit) {
      throw new ErrnoError(E.EMSGSIZE, "msgsnd", {
        action: `send a ${length}-byte message (the queue holds ${limit} bytes) to ` +
          "System V message queue",
        object: this.#id,
      });
    }
  }

  /**
   * Takes a message into `into`, if one matching the selector is there now (`IPC_NOWAIT`).
   *
   * @param into where the message's bytes go
   * @param options type selector, except, truncate; `receipt`, an object to fill and return
   *   instead of a new one (a loop that keeps its options and receipt allocates nothing)
   * @returns the message's length and type, or {@linkcode WOULD_BLOCK} when none matches now
   * @throws {ErrnoError} E2BIG (longer than `into`, and not `truncate`: the message stays in the
   *   queue), EIDRM/EINVAL (queue removed), EACCES
   * @throws {ClosedError} after close
   * @see {@link https://man7.org/linux/man-pages/man2/msgrcv.2.html}
   */
  tryReceiveInto(
    into: Uint8Array,
    options?: SysVReceiveOptions & { receipt?: SysVReceipt },
  ): SysVReceipt | WouldBlock {
    validateBuffer(into, "into");
    const sel = options === undefined ? ANY : this.#selectorOf(options);
    const receipt = options?.receipt;
    if (receipt !== undefined && (typeof receipt !== "object" || receipt === null)) {
      throw new TypeError(`receipt must be an object, got ${describe(receipt)}`);
    }
    return this.#takeInto(into, sel, receipt);
  }

  /**
   * The selector for `options`, kept for the next call with the same options object and the
   * same values (a loop that keeps its options allocates nothing per message).
   */
  #selectorOf(options: SysVReceiveOptions): Selector {
    const c = this.#selectorCache;
    if (
      c !== undefined && c.options === options && c.type === options.type &&
      c.except === options.except && c.truncate === options.truncate
    ) {
      return c.selector;
    }
    const selector = validateSelector(options);
    this.#selectorCache = {
      options,
      type: options.type,
      except: options.except,
      truncate: options.truncate,
      selector,
    };
    return selector;
  }

  /** One try into `into`: its receipt (filled in `receipt` when given), or WOULD_BLOCK. */
  #takeInto(into: Uint8Array, sel: Selector, receipt?: SysVReceipt): SysVReceipt | WouldBlock {
    this.#assertOpen();
    const n = this.#receive(Math.min(into.length, this.#msg.length - MTYPE_SIZE), sel);
    if (n === WOULD_BLOCK) return n;
    copyOut(this.#msg, MTYPE_SIZE, n, into, 0);
    if (receipt === undefined) return { length: n, type: this.#lastType };
    receipt.length = n;
    receipt.type = this.#lastType;
    return receipt;
  }

  /** One try for a copy: the message, or WOULD_BLOCK. */
  #take(sel: Selector): SysVMessage | WouldBlock {
    this.#assertOpen();
    const n = this.#receive(this.#msg.length - MTYPE_SIZE, sel);
    return n === WOULD_BLOCK ? n : this.#message(n);
  }

  /** The message of `n` bytes now in `#msg`, copied out. */
  #message(n: number): SysVMessage {
    return { type: this.#lastType, data: this.#msg.slice(MTYPE_SIZE, MTYPE_SIZE + n) };
  }

  /**
   * Takes a message, if one matching the selector is there now (`IPC_NOWAIT`).
   *
   * @param options type selector, except, truncate
   * @returns the message (a copy) and its type, or {@linkcode WOULD_BLOCK}
   * @throws {ErrnoError} EIDRM/EINVAL (queue removed), EACCES
   * @throws {ClosedError} after close
   */
  tryReceive(options?: SysVReceiveOptions): SysVMessage | WouldBlock {
    return this.#take(options === undefined ? ANY : validateSelector(options));
  }

  /**
   * Receives into `into`, waiting while no message matches. A wait that is cancelled has taken
   * nothing.
   *
   * @param into where the message's bytes go
   * @param options type selector, except, truncate, `signal`, `timeout` (ms)
   * @returns the message's length and type
   * @throws {ErrnoError} E2BIG (see `tryReceiveInto`), EIDRM/EINVAL when the queue is removed
   * @throws {DOMException} `TimeoutError` when the timeout passes (nothing was taken)
   * @throws the signal's reason when aborted (nothing was taken)
   * @throws {ClosedError} after close, or when the handle is closed during the wait
   */
  async receiveInto(
    into: Uint8Array,
    options?: SysVReceiveOptions & WaitOptions,
  ): Promise<SysVReceipt> {
    validateBuffer(into, "into");
    const sel = validateSelector(options);
    const opts = waitBoundsOf(options);
    const r = await this.#wait(() => this.#takeInto(into, sel), sel, opts);
    if (r === TIMED_OUT) throw timedOut(`receive from System V message queue ${this.#id}`);
    return r;
  }

  /**
   * Receives into `into`, blocking the calling thread while no message matches. Without a
   * timeout it blocks in `msgrcv` as a C program would (so it gets its turn against other
   * processes blocked there); with one it tries every millisecond, since System V has no timed
   * receive. For Workers and scripts where blocking is the point; on the main thread prefer
   * {@linkcode SysVMessageQueue.receiveInto}.
   *
   * @param into where the message's bytes go
   * @param options type selector, except, truncate, `timeout` (ms)
   * @returns the message's length and type
   * @throws {DOMException} `TimeoutError` when the timeout passes (nothing was taken)
   * @throws {ErrnoError} E2BIG, EIDRM/EINVAL when the queue is removed
   * @throws {ClosedError} after close
   * @see {@link https://man7.org/linux/man-pages/man2/msgrcv.2.html}
   *
   * @example Block until a message comes
   * ```ts
   * import { SysVMessageQueue } from "@dipc/dipc";
   *
   * using q = SysVMessageQueue.temporary();
   * q.trySend(new Uint8Array([7]), { type: 3 });
   * const into = new Uint8Array(16);
   * console.log(q.receiveIntoSync(into, { timeout: 1000 })); // { length: 1, type: 3 }
   * ```
   */
  receiveIntoSync(
    into: Uint8Array,
    options?: SysVReceiveOptions & SyncWaitOptions,
  ): SysVReceipt {
    validateBuffer(into, "into");
    const sel = validateSelector(options);
    const deadline = syncDeadlineOf(options);
    this.#assertOpen();
    const n = this.#receiveSync(
      Math.min(into.length, this.#msg.length - MTYPE_SIZE),
      sel,
      deadline,
    );
    copyOut(this.#msg, MTYPE_SIZE, n, into, 0);
    return { length: n, type: this.#lastType };
  }

  /** The blocking receive into `#msg`: its length (type in #lastType). */
  #receiveSync(size: number, sel: Selector, deadline: bigint | undefined): number {
    const { msgrcv, poll } = libc();
    for (;;) {
      let n = this.#receive(size, sel);
      if (n === WOULD_BLOCK && deadline === undefined) {
        // No timeout: block in the kernel, a waiter like any C process.
        const r = msgrcv(this.#id, this.#msg, size, sel.type, sel.flags);
        if (r < 0) {
          const e = errno();
          if (e === E.EINTR) continue;
          throw this.#receiveError(e, size);
        }
        this.#lastType = typeAt(this.#view);
        n = r;
      }
      if (n !== WOULD_BLOCK) return n;
      if (deadline !== undefined && monotonicNs() >= deadline) {
        throw timedOut(`receive from System V message queue ${this.#id}`);
      }
      poll(PAUSE, 0, 1);
      this.#assertOpen();
    }
  }

  /**
   * Receives a message, blocking the calling thread while none matches (see
   * {@linkcode SysVMessageQueue.receiveIntoSync}).
   *
   * @param options type selector, except, truncate, `timeout` (ms)
   * @returns the message (a copy) and its type
   * @throws {DOMException} `TimeoutError` when the timeout passes (nothing was taken)
   * @throws {ErrnoError} EIDRM/EINVAL when the queue is removed
   * @throws {ClosedError} after close
   */
  receiveSync(options?: SysVReceiveOptions & SyncWaitOptions): SysVMessage {
    const sel = validateSelector(options);
    const deadline = syncDeadlineOf(options);
    this.#assertOpen();
    const n = this.#receiveSync(this.#msg.length - MTYPE_SIZE, sel, deadline);
    return this.#message(n);
  }

  /**
   * Receives a message, waiting while no message matches. A wait that is cancelled has taken
   * nothing.
   *
   * @param options type selector, except, truncate, `signal`, `timeout` (ms)
   * @returns the message (a copy) and its type
   * @throws {ErrnoError} EIDRM/EINVAL when the queue is removed (also during the wait)
   * @throws {DOMException} `TimeoutError` when the timeout passes (nothing was taken)
   * @throws the signal's reason when aborted (nothing was taken)
   * @throws {ClosedError} after close, or when the handle is closed during the wait
   */
  async receive(options?: SysVReceiveOptions & WaitOptions): Promise<SysVMessage> {
    const sel = validateSelector(options);
    const opts = waitBoundsOf(options);
    const r = await this.#wait(() => this.#take(sel), sel, opts);
    if (r === TIMED_OUT) throw timedOut(`receive from System V message queue ${this.#id}`);
    return r;
  }

  /**
   * A copy of the message at position `index` (0 = the oldest), left in the queue
   * (`MSG_COPY`). Needs a kernel built with CONFIG_CHECKPOINT_RESTORE, as most are.
   *
   * @param index the message's position
   * @returns the message, or {@linkcode WOULD_BLOCK} when the queue has no message at that
   *   position now
   * @throws {ErrnoError} ENOSYS (kernel without MSG_COPY), EIDRM/EINVAL, EACCES
   * @throws {ClosedError} after close
   * @see {@link https://man7.org/linux/man-pages/man2/msgrcv.2.html}
   */
  tryPeek(index: number): SysVMessage | WouldBlock {
    validateInteger(index, "index", 0, 0x7fffffff);
    this.#assertOpen();
    const sel = selector(BigInt(index), MSG.COPY);
    const n = this.#receive(this.#msg.length - MTYPE_SIZE, sel);
    if (n === WOULD_BLOCK) return n;
    return this.#message(n);
  }

  /**
   * Received messages as an async iterator, until `signal` aborts (the loop then ends
   * normally) or the handle is closed.
   *
   * @param options type selector, except, truncate, and `signal` to end the iteration
   * @returns an async iterable of messages
   */
  messages(
    options?: SysVReceiveOptions & { signal?: AbortSignal },
  ): AsyncGenerator<SysVMessage, void> {
    validateSelector(options);
    const { signal } = validateWaitOptions(options);
    return receiveUntilStopped(() => this.receive(options), signal, () => this.#closed);
  }

  /** Same as {@linkcode SysVMessageQueue.messages} with no options. */
  [Symbol.asyncIterator](): AsyncGenerator<SysVMessage, void> {
    return this.messages();
  }

  /**
   * Removes the queue (as {@linkcode SysVMessageQueue.remove}). Works after close too (`using`
   * a handle does not take removal away); a second call does nothing.
   *
   * @throws {ErrnoError} EINVAL (already removed by someone else), EPERM
   */
  remove(): void {
    this.#identity.remove();
  }

  /**
   * Ends this handle's use of the queue; pending waits reject with {@linkcode ClosedError}. A
   * temporary queue is removed. The queue itself stays. Calling it again does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#sleepers) s.interrupt();
    for (const k of this.#kernels.values()) {
      k.close(new ClosedError(`System V message queue ${this.#id}`));
    }
    this.#identity.closed();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** One `msgrcv` with IPC_NOWAIT into `#msg`: the length (type in #lastType), or WOULD_BLOCK. */
  #receive(size: number, sel: Selector): number | WouldBlock {
    const kernel = this.#kernels.get(sel.key);
    const kept = kernel?.take();
    if (kept === undefined && kernel?.busy) {
      // Its call in flight will take the oldest match: taking one here would reorder them.
      return WOULD_BLOCK;
    }
    if (kept !== undefined) {
      // Taken by the kernel waiter for a wait that was cancelled: it comes first, and obeys
      // the same size rule as msgrcv.
      if (kept.data.length > size && (sel.flags & MSG.NOERROR) === 0) {
        kernel?.keep(kept);
        throw this.#receiveError(E.E2BIG, size);
      }
      const n = Math.min(size, kept.data.length);
      this.#view.setBigInt64(0, kept.type, true);
      this.#msg.set(kept.data.subarray(0, n), MTYPE_SIZE);
      this.#lastType = typeOf(kept.type);
      return n;
    }
    const { msgrcv } = libc();
    for (;;) {
      const n = msgrcv(this.#id, this.#msg, size, sel.type, sel.flags | IPC.NOWAIT);
      if (n >= 0) {
        this.#lastType = typeAt(this.#view);
        return n;
      }
      const e = errno();
      if (e === E.ENOMSG) return WOULD_BLOCK;
      if (e !== E.EINTR) throw this.#receiveError(e, size);
    }
  }

  /** A failed msgrcv as an error; E2BIG says what to do about it. */
  #receiveError(e: number, size: number): ErrnoError {
    return new ErrnoError(e, "msgrcv", {
      action: e === E.E2BIG
        ? `receive a message longer than ${size} bytes (pass truncate, or a bigger buffer) ` +
          "from System V message queue"
        : "receive from System V message queue",
      object: this.#id,
    });
  }

  async #wait<T>(
    attempt: () => T | typeof WOULD_BLOCK,
    sel: Selector | undefined,
    opts: Bounds,
  ): Promise<T | typeof TIMED_OUT> {
    const sleeper = new FdSleeper(-1, 0, BACKOFF);
    this.#sleepers.add(sleeper);
    try {
      if (sel === undefined) return await waitUntil(attempt, sleeper, opts, SPINS);
      return await waitFair(
        attempt,
        () => this.#kernelFor(sel),
        (taken) => {
          // Hand it to the attempt through the kept list, so it follows the same rules.
          this.#kernelFor(sel).keep(taken);
          const r = attempt();
          if (r === WOULD_BLOCK) throw new Error("a kept message went missing");
          return r;
        },
        sleeper,
        opts,
        SPINS,
      );
    } finally {
      this.#sleepers.delete(sleeper);
      sleeper.close();
    }
  }

  /**
   * The kernel waiter for one selector (src/_kernel_wait.ts): its thread blocks in `msgrcv` as
   * a C process would, so it gets its turn against C and Python receivers.
   */
  #kernelFor(sel: Selector): KernelWaiter<SysVTaken> {
    const key = sel.key;
    let k = this.#kernels.get(key);
    if (k !== undefined) return k;
    const size = this.#msg.length - MTYPE_SIZE;
    const id = this.#id;
    k = new KernelWaiter<SysVTaken>({
      what: `System V message queue ${id}`,
      // Always the largest message: whether it fits the caller's buffer is decided here.
      request: () => ({ op: "msg", id, size, type: sel.type, flags: sel.flags & ~MSG.NOERROR }),
      settle: (reply): SysVTaken | typeof RETRY => {
        if (reply.r >= 0) {
          return { data: reply.data ?? new Uint8Array(0), type: reply.type ?? 0n };
        }
        if (reply.errno === E.EINTR) return RETRY;
        throw this.#receiveError(reply.errno, size);
      },
      giveBack: (m): boolean => {
        const buf = new Uint8Array(MTYPE_SIZE + m.data.length);
        new DataView(buf.buffer).setBigInt64(0, m.type, true);
        buf.set(m.data, MTYPE_SIZE);
        return libc().msgsnd(id, buf, m.data.length, IPC.NOWAIT) === 0;
      },
    });
    this.#kernels.set(key, k);
    return k;
  }

  #checkSize(length: number): void {
    const max = this.#msg.length - MTYPE_SIZE;
    if (length > max) {
      throw new ErrnoError(E.EMSGSIZE, "msgsnd", {
        action: `send a ${length}-byte message (at most ${max}, /proc/sys/kernel/msgmax) to ` +
          "System V message queue",
        object: this.#id,
      });
    }
  }
}

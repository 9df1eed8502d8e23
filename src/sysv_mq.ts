/**
 * System V message queues: kernel queues found by a numeric key (from {@linkcode ftok}, an agreed
 * number, or {@linkcode IPC_PRIVATE}), where every message carries a positive `type`. A receiver
 * picks by type: 0 takes the first message, a positive type the first of that type, a negative
 * type the first of the lowest type up to its absolute value; `except` takes the first of any
 * *other* type. Types make one queue serve as many mailboxes (seed 002's indirect
 * communication with addresses).
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
 * q.trySend(2, enc.encode("for P2"));
 * q.trySend(1, enc.encode("for P1"));
 * const m = await q.receive({ type: 1, timeout: 1000 });
 * console.log(m.type, new TextDecoder().decode(m.data)); // 1 "for P1"
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man7/sysvipc.7.html}
 * @module
 */

import { checkInternal, INTERNAL } from "./_internal.ts";
import { E, IPC, MSG, MSQID_DS, MTYPE_SIZE } from "../ffi/constants.ts";
import { errno, libc } from "../ffi/load.ts";
import { monotonicNs, OutStruct, readProcNumber } from "../ffi/util.ts";
import { ClosedError, ErrnoError } from "./errors.ts";
import { lastError } from "./_errno.ts";
import { type Backoff, FdSleeper } from "./_fd.ts";
import { KernelWaiter, RETRY, waitFair } from "./_kernel_wait.ts";
import { WOULD_BLOCK_RESULT } from "./pipe.ts";
import { IPC_PRIVATE, type IpcPermissions } from "./sysv_key.ts";
import {
  checkSysVOwner,
  readIpcPerm,
  seconds,
  type SysVPermissionChange,
  validateId,
  validateKey,
  validatePermissionChange,
  writeIpcPerm,
} from "./_sysv.ts";
import {
  validateBoolean,
  validateBuffer,
  validateInteger,
  validateMode,
  validateOptions,
} from "./_validate.ts";
import {
  deadlineFor,
  receiveUntilStopped,
  TIMED_OUT,
  timedOut,
  validateWaitOptions,
  type WaitOptions,
  waitUntil,
  WOULD_BLOCK,
} from "./_wait.ts";

/** An empty pollfd array: `poll(PAUSE, 0, ms)` just sleeps. */
const PAUSE = new Uint8Array(0);

/**
 * Largest message type given as a number (exact JS integers). Types are a C `long`: up to
 * {@linkcode MAX_MESSAGE_TYPE_BIG} (2⁶³ − 1) as a bigint; received types beyond this come back as
 * bigints, never rounded.
 */
export const MAX_MESSAGE_TYPE: number = Number.MAX_SAFE_INTEGER;
/** Largest message type (`LONG_MAX` on 64-bit Linux), as a bigint. */
export const MAX_MESSAGE_TYPE_BIG: bigint = 0x7fff_ffff_ffff_ffffn;

/** A message type: a number up to 2⁵³ − 1, or a bigint up to 2⁶³ − 1. */
export type SysVMessageType = number | bigint;

/** A type as received: a number when it is exact as one, else the bigint. */
function typeOf(raw: bigint): SysVMessageType {
  return raw <= BigInt(Number.MAX_SAFE_INTEGER) && raw >= -BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(raw)
    : raw;
}

/** Options for {@linkcode SysVMessageQueue.open}. */
export interface SysVMessageQueueOptions {
  /** Create the queue if the key has none (`IPC_CREAT`). */
  create?: boolean;
  /** With `create`: fail with EEXIST if the key has a queue (`IPC_EXCL`). */
  exclusive?: boolean;
  /** Permission bits of a new queue (default 0o600). */
  mode?: number;
  /** Accept a queue owned by another user (off by default: squatting defence). */
  allowForeignOwner?: boolean;
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

/** Changes for {@linkcode SysVMessageQueue.set}: owner, mode and the byte limit. */
export interface SysVMessageQueueChange extends SysVPermissionChange {
  /** New `msg_qbytes`; above `/proc/sys/kernel/msgmnb` needs CAP_SYS_RESOURCE (else EPERM). */
  maxBytes?: number;
}

/** Which message a receive takes. */
export interface SysVReceiveOptions {
  /**
   * The type selector: 0 (default) the first message; > 0 the first of that type; < 0 the first
   * of the lowest type that is at most its absolute value.
   */
  type?: SysVMessageType;
  /** With a positive `type`: the first message of any *other* type (`MSG_EXCEPT`). */
  except?: boolean;
  /** Cut a message longer than the buffer to fit (`MSG_NOERROR`) instead of failing with E2BIG. */
  truncate?: boolean;
}

/** A received message. */
export interface SysVMessage {
  /** Its type (positive): a number, or a bigint when above 2⁵³ − 1 (as C can send). */
  type: SysVMessageType;
  /** Its bytes (a copy; the caller owns it). */
  data: Uint8Array<ArrayBuffer>;
}

/** Spins of an async wait before its first sleep (about 100 µs of tries). */
const SPINS = 256;
/** Sleeps between tries: 50 µs, doubling to 2 ms. */
const BACKOFF: Backoff = { firstNs: 50_000n, maxNs: 2_000_000n };

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

function validateType(type: unknown): bigint {
  if (typeof type === "bigint") {
    if (type < 1n || type > MAX_MESSAGE_TYPE_BIG) {
      throw new RangeError(`type must be 1..${MAX_MESSAGE_TYPE_BIG}, got ${type}`);
    }
    return type;
  }
  return BigInt(validateInteger(type, "type", 1, MAX_MESSAGE_TYPE));
}

interface Selector {
  type: bigint;
  flags: number;
  /** Names the selector's kernel waiter (made once, not on every try). */
  key: string;
}

function selector(type: bigint, flags: number): Selector {
  return { type, flags, key: `${type}:${flags}` };
}

function validateSelector(options: unknown): Selector {
  const o = validateOptions<SysVReceiveOptions>(options);
  let type = 0n;
  if (typeof o.type === "bigint") {
    if (o.type < -MAX_MESSAGE_TYPE_BIG || o.type > MAX_MESSAGE_TYPE_BIG) {
      throw new RangeError(`type must be within ±${MAX_MESSAGE_TYPE_BIG}, got ${o.type}`);
    }
    type = o.type;
  } else if (o.type !== undefined) {
    type = BigInt(validateInteger(o.type, "type", -MAX_MESSAGE_TYPE, MAX_MESSAGE_TYPE));
  }
  const except = validateBoolean(o.except, "except");
  const truncate = validateBoolean(o.truncate, "truncate");
  if (except && type <= 0n) throw new TypeError("except needs a positive type");
  return selector(type, (except ? MSG.EXCEPT : 0) | (truncate ? MSG.NOERROR : 0));
}

const ANY: Selector = selector(0n, 0);

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
 */
export class SysVMessageQueue implements Disposable {
  readonly #id: number;
  readonly #key: number;
  readonly #created: boolean;
  #closed = false;
  #removeOnClose = false;
  /** `long mtype` then up to msgmax bytes: what msgsnd and msgrcv read and write. */
  readonly #msg: Uint8Array<ArrayBuffer>;
  readonly #view: DataView;
  #lastType: SysVMessageType = 0;
  readonly #sleepers = new Set<FdSleeper>();
  readonly #kernels = new Map<string, KernelWaiter<SysVTaken>>();

  private constructor(token: unknown, id: number, key: number, created: boolean) {
    checkInternal(token, "SysVMessageQueue.open/openId/temporary()");
    this.#id = id;
    this.#key = key;
    this.#created = created;
    this.#msg = new Uint8Array(MTYPE_SIZE + msgmax());
    this.#view = new DataView(this.#msg.buffer);
  }

  /**
   * Gets the queue of `key`, creating it with `create`.
   *
   * @param key a key from {@linkcode ftok}, an agreed number, or {@linkcode IPC_PRIVATE}
   *   (always a new queue)
   * @param options create, exclusive, mode, allowForeignOwner
   * @returns the queue
   * @throws {TypeError} / {RangeError} for a bad key, mode or option
   * @throws {ErrnoError} ENOENT (no queue for the key), EEXIST (exclusive), EACCES, ENOSPC (the
   *   system's queue limit)
   * @throws {ForeignOwnerError} when another user owns the queue
   * @see {@link https://man7.org/linux/man-pages/man2/msgget.2.html}
   *
   * @example Create by key, get again by key
   * ```ts
   * import { SysVMessageQueue } from "@dipc/dipc";
   *
   * const key = 0x7d000000 + Math.floor(Math.random() * 0xffff);
   * using a = SysVMessageQueue.open(key, { create: true, exclusive: true });
   * using b = SysVMessageQueue.open(key);
   * console.log(a.id === b.id, b.created); // true false
   * a.remove();
   * ```
   */
  static open(key: number, options?: SysVMessageQueueOptions): SysVMessageQueue {
    const k = validateKey(key);
    const o = validateOptions<SysVMessageQueueOptions>(options);
    const create = validateBoolean(o.create, "create");
    const exclusive = validateBoolean(o.exclusive, "exclusive");
    const allowForeign = validateBoolean(o.allowForeignOwner, "allowForeignOwner");
    const mode = o.mode === undefined ? 0o600 : validateMode(o.mode);
    if (exclusive && !create) throw new TypeError("exclusive needs create: true");
    if (!create && o.mode !== undefined) throw new TypeError("mode applies only with create");
    if (k === IPC_PRIVATE && !create) {
      throw new TypeError("IPC_PRIVATE always makes a new queue: pass create: true");
    }
    const { msgget } = libc();
    let id = -1;
    let created = false;
    if (create) {
      id = msgget(k | 0, IPC.CREAT | IPC.EXCL | mode);
      if (id >= 0) created = true;
      else {
        const e = errno();
        if (e !== E.EEXIST || exclusive) {
          throw new ErrnoError(e, "msgget", {
            action: "create System V message queue with key",
            object: k,
          });
        }
      }
    }
    if (id < 0) {
      id = msgget(k | 0, 0);
      if (id < 0) throw lastError("msgget", "get System V message queue with key", k);
    }
    if (!created && !allowForeign) SysVMessageQueue.#checkOwner(id);
    return new SysVMessageQueue(INTERNAL, id, k, created);
  }

  /**
   * Uses the queue with id `id` (as `ipcs -q` lists it, or as another process passed it).
   *
   * @param id the msqid
   * @param options allowForeignOwner
   * @returns the queue
   * @throws {ErrnoError} EINVAL (no such id), EIDRM (removed), EACCES
   * @throws {ForeignOwnerError} when another user owns the queue
   *
   * @example By id
   * ```ts
   * import { SysVMessageQueue } from "@dipc/dipc";
   *
   * using a = SysVMessageQueue.temporary();
   * using b = SysVMessageQueue.openId(a.id);
   * b.trySend(1, new Uint8Array([42]));
   * console.log(a.stat().messages); // 1
   * ```
   */
  static openId(
    id: number,
    options?: Pick<SysVMessageQueueOptions, "allowForeignOwner">,
  ): SysVMessageQueue {
    validateId(id);
    const o = validateOptions<SysVMessageQueueOptions>(options);
    const allowForeign = validateBoolean(o.allowForeignOwner, "allowForeignOwner");
    const st = statId(id);
    if (!allowForeign) SysVMessageQueue.#checkOwner(id, st);
    return new SysVMessageQueue(INTERNAL, id, st.key, false);
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
  static temporary(options?: { mode?: number }): SysVMessageQueue {
    const o = validateOptions<{ mode?: number }>(options);
    const opts: SysVMessageQueueOptions = { create: true };
    if (o.mode !== undefined) opts.mode = o.mode;
    const q = SysVMessageQueue.open(IPC_PRIVATE, opts);
    q.#removeOnClose = true;
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
    validateId(id);
    if (libc().msgctl(id, IPC.RMID, null) !== 0) {
      throw lastError("msgctl", "remove System V message queue", id);
    }
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

  static #checkOwner(id: number, st: SysVMessageQueueStat = statId(id)): void {
    checkSysVOwner(`System V msg queue ${id}`, st);
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError(`System V message queue ${this.#id}`);
  }

  /** The queue's id (msqid), as `ipcs -q` shows it. */
  get id(): number {
    return this.#id;
  }

  /** The key it was opened with (0 for `IPC_PRIVATE`). */
  get key(): number {
    return this.#key;
  }

  /** Whether this handle created the queue. */
  get created(): boolean {
    return this.#created;
  }

  /** Whether {@linkcode SysVMessageQueue.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The type of the message the last `tryReceiveInto`/`receiveInto` took. */
  get lastType(): SysVMessageType {
    return this.#lastType;
  }

  /**
   * What `IPC_STAT` reports now: counts, limit, pids, times, owner, mode.
   *
   * @returns the queue's status
   * @throws {ClosedError} after close
   * @throws {ErrnoError} EIDRM/EINVAL once the queue is removed
   */
  stat(): SysVMessageQueueStat {
    this.#assertOpen();
    return statId(this.#id);
  }

  /**
   * Changes owner, mode or byte limit (`IPC_SET`).
   *
   * @param change uid, gid, mode, maxBytes
   * @throws {ClosedError} after close
   * @throws {ErrnoError} EPERM (not owner, or maxBytes above the limit), EIDRM
   * @see {@link https://man7.org/linux/man-pages/man2/msgctl.2.html}
   */
  set(change: SysVMessageQueueChange): void {
    const c = validatePermissionChange(change) as SysVMessageQueueChange;
    if (c.maxBytes !== undefined) validateInteger(c.maxBytes, "maxBytes", 1, 0x7fffffff);
    this.#assertOpen();
    statId(this.#id); // fills `ds` with the current values
    writeIpcPerm(ds, MSQID_DS.msg_perm, c);
    if (c.maxBytes !== undefined) {
      ds.setU64(MSQID_DS.msg_qbytes, c.maxBytes);
    }
    if (libc().msgctl(this.#id, IPC.SET, ds.bytes) !== 0) {
      throw lastError("msgctl", "change System V message queue", this.#id);
    }
  }

  /**
   * Sends a message if there is room now (`IPC_NOWAIT`).
   *
   * @param type a positive message type
   * @param data the message, at most {@linkcode SysVMessageQueue.maxMessageSize} bytes (may be
   *   empty)
   * @returns `true` when sent, `false` when the queue is full
   * @throws {ErrnoError} EMSGSIZE (longer than the system allows: nothing sent), EIDRM/EINVAL
   *   (queue removed), EACCES
   * @throws {ClosedError} after close
   * @see {@link https://man7.org/linux/man-pages/man2/msgsnd.2.html}
   */
  trySend(type: SysVMessageType, data: Uint8Array): boolean {
    const t = validateType(type);
    validateBuffer(data, "data");
    this.#assertOpen();
    this.#checkSize(data.length);
    this.#view.setBigInt64(0, t, true);
    this.#msg.set(data, MTYPE_SIZE);
    const { msgsnd } = libc();
    for (;;) {
      if (msgsnd(this.#id, this.#msg, data.length, IPC.NOWAIT) === 0) return true;
      const e = errno();
      if (e === E.EAGAIN) return false;
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
   * @param type a positive message type
   * @param data the message
   * @param options `signal` and `timeout` (ms)
   * @throws {ErrnoError} EMSGSIZE at once for a message that can never fit (longer than the
   *   system allows or than the queue's byte limit): nothing sent; EIDRM when the queue is
   *   removed during the wait
   * @throws {DOMException} `TimeoutError` when the timeout passes (nothing was sent)
   * @throws the signal's reason when aborted (nothing was sent)
   * @throws {ClosedError} after close, or when the handle is closed during the wait
   */
  async send(type: SysVMessageType, data: Uint8Array, options?: WaitOptions): Promise<void> {
    validateType(type);
    validateBuffer(data, "data");
    const opts = validateWaitOptions(options);
    if (this.trySend(type, data)) return;
    // IPC_STAT needs read permission, which a sender may lack: then the check is skipped.
    let limit = Infinity;
    try {
      limit = statId(this.#id).maxBytes;
    } catch (e) {
      if (!(e instanceof ErrnoError && e.code === "EACCES")) throw e;
    }
    if (data.length > limit) {
      throw new ErrnoError(E.EMSGSIZE, "msgsnd", {
        action: `send a ${data.length}-byte message (the queue holds ${limit} bytes) to ` +
          "System V message queue",
        object: this.#id,
      });
    }
    const r = await this.#wait(() => this.trySend(type, data) || WOULD_BLOCK, undefined, opts);
    if (r === TIMED_OUT) throw timedOut(`send to System V message queue ${this.#id}`);
  }

  /**
   * Takes a message into `into`, if one matching the selector is there now (`IPC_NOWAIT`). Its
   * type is then {@linkcode SysVMessageQueue.lastType}. Allocates nothing.
   *
   * @param into where the message's bytes go
   * @param options type selector, except, truncate
   * @returns the message's length, or `"would-block"` when none matches now
   * @throws {ErrnoError} E2BIG (longer than `into`, and not `truncate`: the message stays in the
   *   queue), EIDRM/EINVAL (queue removed), EACCES
   * @throws {ClosedError} after close
   * @see {@link https://man7.org/linux/man-pages/man2/msgrcv.2.html}
   */
  tryReceiveInto(
    into: Uint8Array,
    options?: SysVReceiveOptions,
  ): number | typeof WOULD_BLOCK_RESULT {
    validateBuffer(into, "into");
    const sel = options === undefined ? ANY : validateSelector(options);
    this.#assertOpen();
    const n = this.#receive(Math.min(into.length, this.#msg.length - MTYPE_SIZE), sel);
    if (n !== WOULD_BLOCK_RESULT) into.set(this.#msg.subarray(MTYPE_SIZE, MTYPE_SIZE + n));
    return n;
  }

  /**
   * Takes a message, if one matching the selector is there now (`IPC_NOWAIT`).
   *
   * @param options type selector, except, truncate
   * @returns the message (a copy) and its type, or `"would-block"`
   * @throws {ErrnoError} EIDRM/EINVAL (queue removed), EACCES
   * @throws {ClosedError} after close
   */
  tryReceive(options?: SysVReceiveOptions): SysVMessage | typeof WOULD_BLOCK_RESULT {
    const sel = options === undefined ? ANY : validateSelector(options);
    this.#assertOpen();
    const n = this.#receive(this.#msg.length - MTYPE_SIZE, sel);
    if (n === WOULD_BLOCK_RESULT) return n;
    return { type: this.#lastType, data: this.#msg.slice(MTYPE_SIZE, MTYPE_SIZE + n) };
  }

  /**
   * Receives into `into`, waiting while no message matches. A wait that is cancelled has taken
   * nothing.
   *
   * @param into where the message's bytes go
   * @param options type selector, except, truncate, `signal`, `timeout` (ms)
   * @returns the message's length (its type is {@linkcode SysVMessageQueue.lastType})
   * @throws {ErrnoError} E2BIG (see `tryReceiveInto`), EIDRM/EINVAL when the queue is removed
   * @throws {DOMException} `TimeoutError` when the timeout passes (nothing was taken)
   * @throws the signal's reason when aborted (nothing was taken)
   * @throws {ClosedError} after close, or when the handle is closed during the wait
   */
  async receiveInto(
    into: Uint8Array,
    options?: SysVReceiveOptions & WaitOptions,
  ): Promise<number> {
    validateBuffer(into, "into");
    const sel = validateSelector(options);
    const opts = validateWaitOptions(options);
    const size = Math.min(into.length, this.#msg.length - MTYPE_SIZE);
    const r = await this.#wait(
      () => {
        this.#assertOpen();
        const n = this.#receive(size, sel);
        if (n === WOULD_BLOCK_RESULT) return WOULD_BLOCK;
        into.set(this.#msg.subarray(MTYPE_SIZE, MTYPE_SIZE + n));
        return n;
      },
      sel,
      opts,
    );
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
   * @returns the message's length (its type is {@linkcode SysVMessageQueue.lastType})
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
   * q.trySend(3, new Uint8Array([7]));
   * const into = new Uint8Array(16);
   * console.log(q.receiveIntoSync(into, { timeout: 1000 }), q.lastType); // 1 3
   * ```
   */
  receiveIntoSync(into: Uint8Array, options?: SysVReceiveOptions & { timeout?: number }): number {
    validateBuffer(into, "into");
    const sel = validateSelector(options);
    const timeout = options?.timeout;
    if (timeout !== undefined) validateWaitOptions({ timeout });
    this.#assertOpen();
    const size = Math.min(into.length, this.#msg.length - MTYPE_SIZE);
    const deadline = deadlineFor(timeout);
    const { msgrcv, poll } = libc();
    for (;;) {
      let n = this.#receive(size, sel);
      if (n === WOULD_BLOCK_RESULT && deadline === undefined) {
        // No timeout: block in the kernel, a waiter like any C process.
        const r = msgrcv(this.#id, this.#msg, size, sel.type, sel.flags);
        if (r < 0) {
          const e = errno();
          if (e === E.EINTR) continue;
          throw new ErrnoError(e, "msgrcv", {
            action: "receive from System V message queue",
            object: this.#id,
          });
        }
        this.#lastType = typeOf(this.#view.getBigInt64(0, true));
        n = r;
      }
      if (n !== WOULD_BLOCK_RESULT) {
        into.set(this.#msg.subarray(MTYPE_SIZE, MTYPE_SIZE + n));
        return n;
      }
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
  receiveSync(options?: SysVReceiveOptions & { timeout?: number }): SysVMessage {
    const into = new Uint8Array(this.#msg.length - MTYPE_SIZE);
    const n = this.receiveIntoSync(into, options);
    return { type: this.#lastType, data: into.slice(0, n) };
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
    const opts = validateWaitOptions(options);
    const size = this.#msg.length - MTYPE_SIZE;
    const r = await this.#wait(
      () => {
        this.#assertOpen();
        const n = this.#receive(size, sel);
        if (n === WOULD_BLOCK_RESULT) return WOULD_BLOCK;
        return { type: this.#lastType, data: this.#msg.slice(MTYPE_SIZE, MTYPE_SIZE + n) };
      },
      sel,
      opts,
    );
    if (r === TIMED_OUT) throw timedOut(`receive from System V message queue ${this.#id}`);
    return r;
  }

  /**
   * A copy of the message at position `index` (0 = the oldest), left in the queue
   * (`MSG_COPY`). Needs a kernel built with CONFIG_CHECKPOINT_RESTORE, as most are.
   *
   * @param index the message's position
   * @returns the message, or null when the queue has no message at that position
   * @throws {ErrnoError} ENOSYS (kernel without MSG_COPY), EIDRM/EINVAL, EACCES
   * @throws {ClosedError} after close
   * @see {@link https://man7.org/linux/man-pages/man2/msgrcv.2.html}
   */
  peek(index: number): SysVMessage | null {
    validateInteger(index, "index", 0, 0x7fffffff);
    this.#assertOpen();
    const sel = selector(BigInt(index), MSG.COPY);
    const n = this.#receive(this.#msg.length - MTYPE_SIZE, sel);
    if (n === WOULD_BLOCK_RESULT) return null;
    return { type: this.#lastType, data: this.#msg.slice(MTYPE_SIZE, MTYPE_SIZE + n) };
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
   * Removes the queue (as {@linkcode SysVMessageQueue.remove}); this handle then only closes.
   *
   * @throws {ErrnoError} EINVAL (already removed), EPERM
   */
  remove(): void {
    this.#assertOpen();
    this.#removeOnClose = false;
    SysVMessageQueue.remove(this.#id);
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
    if (this.#removeOnClose) {
      this.#removeOnClose = false;
      libc().msgctl(this.#id, IPC.RMID, null);
    }
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** One `msgrcv` with IPC_NOWAIT into `#msg`: the length, or "would-block". */
  #receive(size: number, sel: Selector): number | typeof WOULD_BLOCK_RESULT {
    const kernel = this.#kernels.get(sel.key);
    const kept = kernel?.take();
    if (kept === undefined && kernel?.busy) {
      // Its call in flight will take the oldest match: taking one here would reorder them.
      return WOULD_BLOCK_RESULT;
    }
    if (kept !== undefined) {
      // Taken by the kernel waiter for a wait that was cancelled: it comes first, and obeys
      // the same size rule as msgrcv.
      if (kept.data.length > size && (sel.flags & MSG.NOERROR) === 0) {
        kernel?.keep(kept);
        throw new ErrnoError(E.E2BIG, "msgrcv", {
          action: `receive a message longer than ${size} bytes (pass truncate, or a bigger ` +
            "buffer) from System V message queue",
          object: this.#id,
        });
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
        this.#lastType = typeOf(this.#view.getBigInt64(0, true));
        return n;
      }
      const e = errno();
      if (e === E.ENOMSG) return WOULD_BLOCK_RESULT;
      if (e !== E.EINTR) {
        throw new ErrnoError(e, "msgrcv", {
          action: e === E.E2BIG
            ? `receive a message longer than ${size} bytes (pass truncate, or a bigger buffer) ` +
              "from System V message queue"
            : "receive from System V message queue",
          object: this.#id,
        });
      }
    }
  }

  async #wait<T>(
    attempt: () => T | typeof WOULD_BLOCK,
    sel: Selector | undefined,
    opts: WaitOptions,
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
        throw new ErrnoError(reply.errno, "msgrcv", {
          action: "receive from System V message queue",
          object: id,
        });
      },
      putBack: (m): void => {
        const buf = new Uint8Array(MTYPE_SIZE + m.data.length);
        new DataView(buf.buffer).setBigInt64(0, m.type, true);
        buf.set(m.data, MTYPE_SIZE);
        libc().msgsnd(id, buf, m.data.length, IPC.NOWAIT);
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

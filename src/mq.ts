/**
 * POSIX message queues: named mailboxes in the kernel (`/dev/mqueue`) that keep whole messages,
 * each with a priority. Any process that knows the name (and has the permission) can send or
 * receive; a receive takes the oldest message of the highest priority.
 *
 * {@linkcode MessageQueue.open} (or `create`) gives a handle with a synchronous `try…` form and
 * an async form taking `{ signal, timeout }` for each direction, async iteration of received
 * messages, the queue's attributes, and `unlink`. {@linkcode MessageQueue.temporary} picks a
 * random name and unlinks the queue when disposed.
 *
 * Waiting: an async send or receive spins briefly on this thread. A send then waits for room
 * through the wait core's epoll set (the descriptor is pollable) and sends on this thread. A
 * receive that must sleep blocks in `mq_timedreceive` on a kernel-waiter thread of its own
 * (src/_kernel_wait.ts), as a C receiver would, so it gets its share of a queue that C or Python
 * processes also wait on (a poller would get nothing while they wait). A receive that times out
 * or is aborted has taken nothing: the thread's call is interrupted and the receive ends only
 * once the call has; a message the call took just before that is the receive's result (it
 * resolves with it rather than throwing: nothing is lost or reordered). A send that gives up has
 * sent nothing.
 * `receiveSync` blocks the calling thread in `mq_timedreceive`.
 *
 * Safety: new queues are mode 0600, set exactly (the umask does not apply); `exclusive`
 * creation fails with EEXIST; opening a queue owned by another user throws
 * {@linkcode ForeignOwnerError} unless `allowForeignOwner` is set. A message longer than the
 * queue's message size is refused with EMSGSIZE before anything is sent. The system's limits
 * (`/proc/sys/fs/mqueue/msg_max` and `msgsize_max`, 10 messages of 8192 bytes by default for
 * unprivileged processes) bound `maxMessages` and `messageSize`; asking for more fails with an
 * EINVAL that names them.
 *
 * @example Send and receive with priorities
 * ```ts
 * import { MessageQueue } from "@dipc/dipc";
 *
 * using q = MessageQueue.temporary({ maxMessages: 4, messageSize: 64 });
 * const enc = new TextEncoder();
 * q.trySend(enc.encode("routine"), { priority: 1 });
 * q.trySend(enc.encode("urgent"), { priority: 9 });
 * const first = await q.receive({ timeout: 1000 });
 * console.log(new TextDecoder().decode(first.data), first.priority); // "urgent" 9
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man7/mq_overview.7.html}
 * @module
 */

import { checkInternal, INTERNAL } from "./_internal.ts";
import { E, MQ_ATTR, O, POLL, STAT } from "../ffi/constants.ts";
import { errno, errnoOfTry, libc, librt } from "../ffi/load.ts";
import {
  cString,
  listDirectory,
  OutStruct,
  readProcNumber,
  softLimit,
  writeTimespec,
} from "../ffi/util.ts";
import { ClosedError, ErrnoError } from "./errors.ts";
import { lastError } from "./_errno.ts";
import { checkAdoptable, FdHandle, FdSleeper, releaseWith, setNonblocking } from "./_fd.ts";
import { KernelWaiter, MQ_SLICE_MS, RETRY, waitFair } from "./_kernel_wait.ts";
import {
  openNamed,
  type PosixKind,
  temporaryName,
  validateCreateRule,
  validateOpenRule,
} from "./_posix_open.ts";
import { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
import {
  describe,
  validateBoolean,
  validateBuffer,
  validateInteger,
  validateOptionKeys,
  validatePosixName,
} from "./_validate.ts";
import {
  type Bounds,
  boundsOf,
  realtimeOf,
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

export type { SyncWaitOptions, WaitOptions } from "./_wait.ts";
export { FdHandle } from "./_fd.ts";
export { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";

/** Highest priority a message can have (`MQ_PRIO_MAX` - 1 on Linux). */
export const MAX_PRIORITY = 32767;

/** Options for {@linkcode MessageQueue.open}. */
export interface MessageQueueOpenOptions {
  /** Open for receiving only (`O_RDONLY`). */
  readOnly?: boolean;
  /** Open for sending only (`O_WRONLY`). */
  writeOnly?: boolean;
  /** Accept a queue owned by another user (off by default: squatting defence). */
  allowForeignOwner?: boolean;
}

/** Options for {@linkcode MessageQueue.create}. */
export interface MessageQueueCreateOptions {
  /** How many messages the queue holds (`mq_maxmsg`; default the system's). */
  maxMessages?: number;
  /** The largest message in bytes (`mq_msgsize`; default the system's). */
  messageSize?: number;
  /** Permission bits (default 0o600), applied exactly. */
  mode?: number;
  /** Fail with EEXIST when the name exists (default true); `false` opens the existing queue. */
  exclusive?: boolean;
  /** With `exclusive: false`: accept an existing queue another user owns. */
  allowForeignOwner?: boolean;
}

/** Options for {@linkcode MessageQueue.temporary}. */
export interface TemporaryMessageQueueOptions {
  /** How many messages the queue holds (default the system's). */
  maxMessages?: number;
  /** The largest message in bytes (default the system's). */
  messageSize?: number;
  /** Permission bits (default 0o600). */
  mode?: number;
  /** Name prefix, without the leading "/" (default "dipc"). */
  prefix?: string;
}

/** What `mq_getattr` reports. */
export interface MessageQueueAttributes {
  /** How many messages the queue holds at most. */
  maxMessages: number;
  /** The largest message in bytes. */
  messageSize: number;
  /** How many messages are in the queue now. */
  currentMessages: number;
  /**
   * Whether this descriptor is non-blocking. dipc's own descriptors always are: its `try…`
   * forms must never block, and its async forms wait by polling.
   */
  nonblocking: boolean;
}

/** A received message. */
export interface QueueMessage {
  /** The message's bytes (a copy; the caller owns it). */
  data: Uint8Array<ArrayBuffer>;
  /** Its priority, 0 to {@linkcode MAX_PRIORITY}. */
  priority: number;
}

/** Options for {@linkcode MessageQueue.trySend}. */
export interface MessageQueueTrySendOptions {
  /** Priority, 0 (default) to {@linkcode MAX_PRIORITY}; higher is received first. */
  priority?: number;
}

/** Options for {@linkcode MessageQueue.send}. */
export interface MessageQueueSendOptions extends MessageQueueTrySendOptions, WaitOptions {}

/** What a receive into a caller's buffer took: the message's length and priority. */
export interface QueueReceipt {
  /** The message's length in bytes (it is in the first `length` bytes of the buffer). */
  length: number;
  /** Its priority, 0 to {@linkcode MAX_PRIORITY}. */
  priority: number;
}

const attrBuf = new OutStruct(MQ_ATTR.size);
const statBuf = new OutStruct(STAT.size);
/** A `struct timespec` of the epoch: a deadline that has always passed. */
const PAST = new Uint8Array(16);

/**
 * A new, blocking open file description of the queue behind `fd` (whose own is non-blocking),
 * through /proc/self/fd: read-write when allowed (so a message can be put back), else read-only.
 * -1 when it cannot be had (no /proc); errno tells why.
 */
function reopenBlocking(fd: number): number {
  const path = cString(`/proc/self/fd/${fd}`);
  const L = libc();
  const rw = L.open(path, O.RDWR | O.CLOEXEC, 0);
  return rw >= 0 ? rw : L.open(path, O.RDONLY | O.CLOEXEC, 0);
}

function validatePriority(priority: unknown): number {
  return validateInteger(priority, "priority", 0, MAX_PRIORITY);
}

/** The limits on POSIX message queues that apply to this process. */
export interface MessageQueueLimits {
  /** The most messages an unprivileged queue may hold (`/proc/sys/fs/mqueue/msg_max`). */
  maxMessages: number;
  /** The largest message an unprivileged queue may take (`/proc/sys/fs/mqueue/msgsize_max`). */
  messageSize: number;
  /**
   * `RLIMIT_MSGQUEUE` (soft): the bytes all of this user's queues together may reserve, each
   * charged {@linkcode messageQueueCharge} when it is created, until it is unlinked and closed
   * everywhere. `Infinity` when unlimited, NaN when it cannot be read.
   */
  userBytes: number;
}

/**
 * The system's limits for queues, from /proc, read through FFI (no permission).
 *
 * @example What a new queue may ask for
 * ```ts
 * import { messageQueueLimits } from "@dipc/dipc";
 *
 * const { maxMessages, messageSize, userBytes } = messageQueueLimits();
 * console.log(maxMessages >= 1, messageSize >= 128, userBytes > 0); // true true true
 * ```
 */
export function messageQueueLimits(): MessageQueueLimits {
  return {
    maxMessages: readProcNumber("/proc/sys/fs/mqueue/msg_max"),
    messageSize: readProcNumber("/proc/sys/fs/mqueue/msgsize_max"),
    userBytes: softLimit("MSGQUEUE"),
  };
}

/**
 * The bytes a queue of `maxMessages` × `messageSize` is charged against its creator's
 * `RLIMIT_MSGQUEUE`, by Linux's formula (the messages themselves plus the kernel's bookkeeping
 * for each, 48 bytes on 64-bit systems): ten queues of the default 10 × 8192 bytes fill the
 * usual limit of 819,200 bytes.
 *
 * @example
 * ```ts
 * import { messageQueueCharge, messageQueueLimits } from "@dipc/dipc";
 * const { userBytes } = messageQueueLimits();
 * console.log(Math.floor(userBytes / messageQueueCharge(10, 8192)), "default queues fit");
 * ```
 */
export function messageQueueCharge(maxMessages: number, messageSize: number): number {
  const m = validateInteger(maxMessages, "maxMessages", 1, 0x7fffffff);
  const size = validateInteger(messageSize, "messageSize", 1, 0x7fffffff);
  const BOOKKEEPING = 48; // sizeof(struct msg_msg), and of a priority's tree node, on 64-bit
  return m * (size + BOOKKEEPING) + Math.min(m, MAX_PRIORITY + 1) * BOOKKEEPING;
}

/**
 * What an EMFILE from `mq_open` means, said: a create fails so both when this process has
 * `RLIMIT_NOFILE` descriptors open and when the queues this user has reserve too many bytes for
 * `RLIMIT_MSGQUEUE` (the usual cause; the libc message says only "Too many open files").
 */
function tooManyError(name: string, charge: number): ErrnoError {
  const nofile = softLimit("NOFILE");
  // Listing needs a descriptor: when none is free, that is the limit that was hit.
  const open = listDirectory("/proc/self/fd")?.length;
  const full = open === undefined || !(open + 1 < nofile); // one is the directory's own
  if (full) {
    return new ErrnoError(E.EMFILE, "mq_open", {
      action: "create message queue",
      object: name,
      detail: `this process has ${open ?? "all its"} descriptors open, against RLIMIT_NOFILE ` +
        `(${nofile}): close some, or raise it (ulimit -n)`,
    });
  }
  const limit = softLimit("MSGQUEUE");
  return new ErrnoError(E.EMFILE, "mq_open", {
    action: "create message queue",
    object: name,
    detail: `the queues this user has reserve too many bytes for RLIMIT_MSGQUEUE (${limit}` +
      ` bytes; this queue needs ${charge}): unlink queues no longer used (dipc ls --kind mq), ` +
      `create smaller ones (maxMessages × messageSize), or raise it (ulimit -q)`,
  });
}

/**
 * A POSIX message queue opened by this process.
 *
 * @see {@link https://man7.org/linux/man-pages/man3/mq_open.3.html}
 *
 * @example Priorities: the most urgent first
 * ```ts
 * import { MessageQueue } from "@dipc/dipc";
 *
 * const name = `/dipc-doc-${crypto.randomUUID()}`;
 * using q = MessageQueue.create(name, { maxMessages: 4, messageSize: 64 });
 * await q.send(new TextEncoder().encode("later"), { priority: 0 });
 * await q.send(new TextEncoder().encode("now"), { priority: 9 });
 * const first = await q.receive({ timeout: 1_000 });
 * console.log(new TextDecoder().decode(first.data), first.priority); // "now" 9
 * MessageQueue.unlink(name);
 * ```
 */
export class MessageQueue extends FdHandle {
  readonly #name: string;
  readonly #created: boolean;
  #unlinkOnClose = false;
  readonly #messageSize: number;
  readonly #maxMessages: number;
  /** Receives land here first; `tryReceive` copies out what it got. */
  readonly #buf: Uint8Array<ArrayBuffer>;
  readonly #prio = new Uint32Array(1);
  readonly #prioBytes = new Uint8Array(this.#prio.buffer);
  #lastPriority = 0;
  #readSleeper: FdSleeper | undefined;
  #writeSleeper: FdSleeper | undefined;
  /** Receives that must sleep wait in the kernel through this (src/_kernel_wait.ts). */
  #kernel: KernelWaiter<QueueMessage> | undefined;
  /** A blocking description of the queue for the sync receives, or -1. */
  #blocking = -1;
  readonly #deadline = new BigInt64Array(2);
  readonly #deadlineBytes = new Uint8Array(this.#deadline.buffer);

  /** @ignore */
  private constructor(token: unknown, name: string, fd: number, created: boolean) {
    checkInternal(token, "MessageQueue.open/create/temporary/fromFd()");
    super(token, fd, `message queue ${JSON.stringify(name)}`);
    releaseWith(this, () => {
      for (const s of [this.#readSleeper, this.#writeSleeper]) {
        s?.close(); // ends its sleeps
      }
      // The kernel waiter closes the blocking description itself, once its thread has stopped.
      if (this.#kernel !== undefined) {
        this.#kernel.close(new ClosedError(`message queue ${JSON.stringify(this.#name)}`));
      } else if (this.#blocking >= 0) libc().close(this.#blocking);
      this.#blocking = -1;
      if (this.#unlinkOnClose) {
        this.#unlinkOnClose = false;
        librt().mq_unlink(cString(this.#name));
      }
    });
    this.#name = name;
    this.#created = created;
    const a = getattr(fd, name);
    this.#maxMessages = a.maxMessages;
    this.#messageSize = a.messageSize;
    this.#buf = new Uint8Array(Math.max(1, a.messageSize));
  }

  /**
   * Opens the existing queue `name` ("/jobs").
   *
   * @param name "/" followed by up to 254 bytes, with no other "/"
   * @param options readOnly, writeOnly, allowForeignOwner
   * @returns the open queue
   * @throws {TypeError} / {RangeError} for a bad name or option
   * @throws {ErrnoError} ENOENT (no such queue), EACCES, EMFILE
   * @throws {ForeignOwnerError} when another user owns the queue
   * @see {@link https://man7.org/linux/man-pages/man3/mq_open.3.html}
   *
   * @example Create, then open by name
   * ```ts
   * import { MessageQueue } from "@dipc/dipc";
   *
   * using a = MessageQueue.create(`/dipc-doc-${crypto.randomUUID()}`, { maxMessages: 5 });
   * using b = MessageQueue.open(a.name, { readOnly: true });
   * console.log(a.created, b.created, b.maxMessages); // true false 5
   * a.unlink();
   * ```
   */
  static open(name: string, options?: MessageQueueOpenOptions): MessageQueue {
    validatePosixName(name);
    const o = validateOptionKeys<MessageQueueOpenOptions>(options, [
      "readOnly",
      "writeOnly",
      "allowForeignOwner",
    ], "MessageQueue.open");
    const access = validateAccess(o);
    const allowForeign = validateOpenRule(o);
    return openNamed(
      mqKind(name, access, null),
      name,
      undefined,
      allowForeign,
      (fd) => new MessageQueue(INTERNAL, name, fd, false),
    );
  }

  /**
   * Creates the queue `name`. By default the name must be new (EEXIST otherwise);
   * `exclusive: false` opens an existing queue instead (its own limits then apply).
   *
   * @param name "/" followed by up to 254 bytes, with no other "/"
   * @param options maxMessages, messageSize, mode, exclusive, allowForeignOwner
   * @returns the open queue (read-write); `created` says whether this call made it
   * @throws {TypeError} / {RangeError} for a bad name or option
   * @throws {ErrnoError} EEXIST (the name exists), EACCES, EINVAL (maxMessages or messageSize
   *   beyond the system's limits, which the message names), EMFILE (which the message explains:
   *   this process's descriptors against `RLIMIT_NOFILE`, or the bytes this user's queues
   *   reserve against `RLIMIT_MSGQUEUE`, see {@linkcode messageQueueCharge}), ENOSPC
   * @throws {ForeignOwnerError} with `exclusive: false`, when another user owns the queue
   * @see {@link https://man7.org/linux/man-pages/man3/mq_open.3.html}
   *
   * @example Create and remove
   * ```ts
   * import { MessageQueue } from "@dipc/dipc";
   *
   * using q = MessageQueue.create(`/dipc-doc-${crypto.randomUUID()}`, { messageSize: 128 });
   * console.log(q.messageSize); // 128
   * q.unlink();
   * ```
   */
  static create(name: string, options?: MessageQueueCreateOptions): MessageQueue {
    validatePosixName(name);
    const o = validateOptionKeys<MessageQueueCreateOptions>(options, [
      "maxMessages",
      "messageSize",
      "mode",
      "exclusive",
      "allowForeignOwner",
    ], "MessageQueue.create");
    const rule = validateCreateRule(o);
    const maxMessages = o.maxMessages === undefined
      ? undefined
      : validateInteger(o.maxMessages, "maxMessages", 1, 0x7fffffff);
    const messageSize = o.messageSize === undefined
      ? undefined
      : validateInteger(o.messageSize, "messageSize", 1, 0x7fffffff);
    // The queue's shape: what is left out takes the system's default for new queues.
    const shape = {
      maxMessages: maxMessages ?? (readProcNumber("/proc/sys/fs/mqueue/msg_default") || 10),
      messageSize: messageSize ??
        (readProcNumber("/proc/sys/fs/mqueue/msgsize_default") || 8192),
    };
    let attr: Uint8Array | null = null;
    if (maxMessages !== undefined || messageSize !== undefined) {
      // Both fields must be set when either is.
      const a = new OutStruct(MQ_ATTR.size);
      a.setU64(MQ_ATTR.mq_maxmsg, shape.maxMessages);
      a.setU64(MQ_ATTR.mq_msgsize, shape.messageSize);
      attr = a.bytes;
    }
    const kind = mqKind(name, O.RDWR, attr);
    kind.createError = (e) => {
      if (e === E.EMFILE) {
        return tooManyError(name, messageQueueCharge(shape.maxMessages, shape.messageSize));
      }
      if (e !== E.EINVAL || attr === null) return undefined;
      const limits = messageQueueLimits();
      return new ErrnoError(e, "mq_open", {
        action:
          `create a queue of ${maxMessages ?? "default"} messages × ${
            messageSize ?? "default"
          } bytes (the limits here: ${limits.maxMessages} × ${limits.messageSize}, ` +
          `/proc/sys/fs/mqueue) named`,
        object: name,
      });
    };
    return openNamed(
      kind,
      name,
      rule,
      false,
      (fd, created) => new MessageQueue(INTERNAL, name, fd, created),
    );
  }

  /**
   * Creates a queue with a fresh random name (exclusively) that is unlinked when closed or
   * disposed: the leak-free choice for tests, examples and private hand-offs.
   *
   * @param options maxMessages, messageSize, mode, prefix
   * @returns the open queue; its `name` can be passed to other processes
   * @throws {ErrnoError} as {@linkcode MessageQueue.create}
   *
   * @example Temporary queue
   * ```ts
   * import { MessageQueue } from "@dipc/dipc";
   *
   * {
   *   using q = MessageQueue.temporary({ maxMessages: 2 });
   *   console.log(q.name.startsWith("/dipc-")); // true
   * } // unlinked here
   * ```
   */
  static temporary(options?: TemporaryMessageQueueOptions): MessageQueue {
    const o = validateOptionKeys<TemporaryMessageQueueOptions>(options, [
      "maxMessages",
      "messageSize",
      "mode",
      "prefix",
    ], "MessageQueue.temporary");
    const name = temporaryName(o.prefix, "dipc");
    const opts: MessageQueueCreateOptions = {};
    if (o.mode !== undefined) opts.mode = o.mode;
    if (o.maxMessages !== undefined) opts.maxMessages = o.maxMessages;
    if (o.messageSize !== undefined) opts.messageSize = o.messageSize;
    const q = MessageQueue.create(name, opts);
    q.#unlinkOnClose = true;
    return q;
  }

  /**
   * Adopts an open queue descriptor, e.g. one a parent handed down with {@linkcode spawn}'s
   * `fds`. The descriptor is made non-blocking and is closed with this object.
   *
   * @param fd the descriptor number (e.g. 3)
   * @returns the queue
   * @throws {ErrnoError} EBADF when `fd` is not an open message queue descriptor
   */
  static fromFd(fd: number): MessageQueue {
    validateInteger(fd, "fd", 0, 0x7fffffff);
    checkAdoptable(fd, `descriptor ${fd}`);
    getattr(fd, `descriptor ${fd}`); // EBADF for anything but a queue
    setNonblocking(fd, true, `descriptor ${fd}`);
    return new MessageQueue(INTERNAL, `descriptor ${fd}`, fd, false);
  }

  /**
   * Removes the queue `name`. Processes that have it open keep using it; it is freed when the
   * last one closes it.
   *
   * @param name the queue's name
   * @throws {ErrnoError} ENOENT (no such queue), EACCES
   * @see {@link https://man7.org/linux/man-pages/man3/mq_unlink.3.html}
   *
   * @example Remove by name
   * ```ts
   * import { MessageQueue } from "@dipc/dipc";
   *
   * const name = `/dipc-doc-${crypto.randomUUID()}`;
   * MessageQueue.create(name).close();
   * MessageQueue.unlink(name);
   * ```
   */
  static unlink(name: string): void {
    validatePosixName(name);
    if (librt().mq_unlink(cString(name)) !== 0) {
      throw lastError("mq_unlink", "unlink message queue", name);
    }
  }

  /**
   * The kernel waiter of this queue, made on first need: its thread blocks in
   * `mq_timedreceive` on a blocking open file description of the same queue (reopened through
   * /proc/self/fd, read-write when allowed so a message taken after close can be put back).
   * Undefined where that reopening is impossible (no /proc): waits then poll.
   */
  #kernelWaiter(): KernelWaiter<QueueMessage> | undefined {
    if (this.#kernel !== undefined) return this.#kernel;
    const kfd = this.#blockingFd(false);
    if (kfd < 0) return undefined;
    const L = libc();
    const size = this.#messageSize;
    const what = `message queue ${JSON.stringify(this.#name)}`;
    this.#kernel = new KernelWaiter<QueueMessage>({
      what,
      request: () => ({ op: "mq", fd: kfd, size: Math.max(1, size), sliceMs: MQ_SLICE_MS }),
      settle: (reply): QueueMessage | typeof RETRY => {
        if (reply.r >= 0) {
          return { data: reply.data ?? new Uint8Array(0), priority: reply.priority ?? 0 };
        }
        if (reply.errno === E.EINTR || reply.errno === E.ETIMEDOUT) return RETRY;
        throw this.#timedReceiveError(reply.errno);
      },
      // The description blocks: a deadline long past makes a full queue answer at once.
      giveBack: (m): boolean =>
        librt().mq_timedsend(kfd, m.data, m.data.length, m.priority, PAST) === 0,
      // The description outlives close() while the thread's call may still run: it is closed
      // once the thread has stopped.
      release: (): void => void L.close(kfd),
    });
    return this.#kernel;
  }

  /** The queue's name, e.g. "/jobs" ("descriptor 3" for one adopted with `fromFd`). */
  get name(): string {
    return this.#name;
  }

  /** Whether this handle created the queue. */
  get created(): boolean {
    return this.#created;
  }

  /** The largest message the queue takes, in bytes (fixed when it was created). */
  get messageSize(): number {
    return this.#messageSize;
  }

  /** How many messages the queue holds at most (fixed when it was created). */
  get maxMessages(): number {
    return this.#maxMessages;
  }

  /**
   * What the system reports now: limits, current count, non-blocking flag.
   *
   * @returns the attributes
   * @throws {ClosedError} after close
   * @see {@link https://man7.org/linux/man-pages/man3/mq_getattr.3.html}
   */
  stat(): MessageQueueAttributes {
    return getattr(this.liveFd(), this.#name);
  }

  /**
   * The same as {@linkcode MessageQueue.stat}.
   *
   * @deprecated Use {@linkcode MessageQueue.stat}: every dipc object reports itself by `stat()`.
   */
  attributes(): MessageQueueAttributes {
    return this.stat();
  }

  /**
   * Sends a message if there is room now.
   *
   * @param data the message, at most {@linkcode MessageQueue.messageSize} bytes (may be empty)
   * @param options `priority`: 0 (default) to {@linkcode MAX_PRIORITY}
   * @returns undefined when sent, {@linkcode WOULD_BLOCK} when the queue is full (nothing sent)
   * @throws {ErrnoError} EMSGSIZE (too long: nothing sent), EBADF (opened read-only)
   * @throws {ClosedError} after close
   * @see {@link https://man7.org/linux/man-pages/man3/mq_send.3.html}
   */
  trySend(data: Uint8Array, options?: MessageQueueTrySendOptions): undefined | WouldBlock {
    validateBuffer(data, "data");
    const o = options === undefined ? undefined : validateOptionKeys<MessageQueueTrySendOptions>(
      options,
      ["priority"],
      "MessageQueue.trySend",
    );
    const priority = o?.priority === undefined ? 0 : validatePriority(o.priority);
    this.#checkSize(data.length);
    return this.#trySend(data, priority);
  }

  #trySend(data: Uint8Array, priority: number): undefined | WouldBlock {
    const fd = this.liveFd();
    // An empty Uint8Array reaches C as NULL, which mq_send accepts for a length of 0.
    const { mq_send } = librt();
    for (;;) {
      if (mq_send(fd, data, data.length, priority) === 0) return undefined;
      const e = errnoOfTry();
      if (e === E.EAGAIN) return WOULD_BLOCK;
      if (e !== E.EINTR) {
        throw new ErrnoError(e, "mq_send", { action: "send to message queue", object: this.#name });
      }
    }
  }

  /**
   * Sends a message, waiting for room while the queue is full.
   *
   * @param data the message, at most {@linkcode MessageQueue.messageSize} bytes
   * @param options `priority`, `signal`, `timeout` (ms)
   * @throws {ErrnoError} EMSGSIZE at once for a message that can never fit (nothing sent)
   * @throws {DOMException} `TimeoutError` when the timeout passes (nothing was sent)
   * @throws the signal's reason when aborted (nothing was sent)
   * @throws {ClosedError} after close, or when the queue is closed during the wait
   */
  async send(data: Uint8Array, options?: MessageQueueSendOptions): Promise<void> {
    validateBuffer(data, "data");
    const opts = validateWaitOptions(options) as MessageQueueSendOptions;
    const priority = opts.priority === undefined ? 0 : validatePriority(opts.priority);
    this.liveFd();
    this.#checkSize(data.length);
    if (this.#trySend(data, priority) !== WOULD_BLOCK) return;
    const r = await waitUntil(
      () => this.#trySend(data, priority),
      this.#writeSleeper ??= new FdSleeper(this.liveFd(), POLL.OUT),
      boundsOf(opts),
    );
    if (r === TIMED_OUT) throw timedOut(`send to message queue ${JSON.stringify(this.#name)}`);
  }

  /**
   * Sends a message, blocking the calling thread while the queue is full: in `mq_timedsend`, a
   * kernel waiter like any C process, woken the moment there is room. For Workers and
   * processes where blocking is the point; on the main thread prefer
   * {@linkcode MessageQueue.send}.
   *
   * @param data the message, at most {@linkcode MessageQueue.messageSize} bytes
   * @param options `priority`, `timeout`: milliseconds at most (default: no limit)
   * @throws {ErrnoError} EMSGSIZE at once for a message that can never fit (nothing sent),
   *   EBADF (opened read-only)
   * @throws {DOMException} `TimeoutError` when the timeout passes (nothing was sent)
   * @throws {ClosedError} after close
   * @see {@link https://man7.org/linux/man-pages/man3/mq_send.3.html}
   *
   * @example Block until there is room
   * ```ts
   * import { MessageQueue } from "@dipc/dipc";
   *
   * using q = MessageQueue.temporary({ maxMessages: 1, messageSize: 64 });
   * q.sendSync(new Uint8Array([1]), { timeout: 1000 });
   * console.log(q.stat().currentMessages); // 1
   * ```
   */
  sendSync(
    data: Uint8Array,
    options?: MessageQueueTrySendOptions & SyncWaitOptions,
  ): void {
    validateBuffer(data, "data");
    let priority = 0;
    let deadline: bigint | undefined;
    if (options !== undefined) {
      const o = validateOptionKeys<MessageQueueTrySendOptions & SyncWaitOptions>(
        options,
        ["priority", "timeout"],
        "MessageQueue.sendSync",
      );
      if (o.priority !== undefined) priority = validatePriority(o.priority);
      deadline = syncDeadlineOf(o);
    }
    this.liveFd();
    this.#checkSize(data.length);
    // Straight into the blocking call (one system call a message, as C makes), unless the
    // blocking descriptor cannot be had: then a try, and the error only if it must wait.
    if (this.#blockingFd(false) < 0 && this.#trySend(data, priority) !== WOULD_BLOCK) return;
    const fd = this.#blockingFd(true);
    const realtime = realtimeOf(deadline);
    if (realtime !== undefined) writeTimespec(this.#deadline, realtime);
    const { mq_timedsend } = librt();
    for (;;) {
      const r = mq_timedsend(
        fd,
        data,
        data.length,
        priority,
        realtime === undefined ? null : this.#deadlineBytes,
      );
      if (r === 0) return;
      const e = errno();
      if (e === E.ETIMEDOUT) {
        throw timedOut(`send to message queue ${JSON.stringify(this.#name)}`);
      }
      if (e !== E.EINTR) {
        throw new ErrnoError(e, "mq_timedsend", {
          action: "send to message queue",
          object: this.#name,
        });
      }
    }
  }

  /**
   * Takes the oldest message of the highest priority into `into`, if there is one now.
   *
   * @param into at least {@linkcode MessageQueue.messageSize} bytes
   * @param receipt an object to fill and return instead of a new one (a loop that keeps one
   *   allocates nothing per message)
   * @returns the message's length and priority, or {@linkcode WOULD_BLOCK} when the queue is
   *   empty
   * @throws {RangeError} when `into` is shorter than the queue's message size
   * @throws {ErrnoError} EBADF (opened write-only)
   * @throws {ClosedError} after close
   * @see {@link https://man7.org/linux/man-pages/man3/mq_receive.3.html}
   */
  tryReceiveInto(into: Uint8Array, receipt?: QueueReceipt): QueueReceipt | WouldBlock {
    this.#checkInto(into);
    if (receipt !== undefined && (typeof receipt !== "object" || receipt === null)) {
      throw new TypeError(`receipt must be an object, got ${describe(receipt)}`);
    }
    const n = this.#tryInto(into);
    if (n === WOULD_BLOCK) return n;
    if (receipt === undefined) return { length: n, priority: this.#lastPriority };
    receipt.length = n;
    receipt.priority = this.#lastPriority;
    return receipt;
  }

  #checkInto(into: Uint8Array): void {
    validateBuffer(into, "into");
    this.liveFd();
    if (into.length < this.#messageSize) {
      throw new RangeError(
        `into holds ${into.length} bytes; the queue's messages can be ${this.#messageSize}`,
      );
    }
  }

  /** The one non-blocking receive: the length (priority in #lastPriority), or WOULD_BLOCK. */
  #tryInto(into: Uint8Array): number | WouldBlock {
    const fd = this.liveFd();
    const kept = this.#kernel?.take();
    if (kept !== undefined) {
      // Taken by the kernel waiter for a wait that was cancelled: it comes first.
      into.set(kept.data);
      this.#lastPriority = kept.priority;
      return kept.data.length;
    }
    // The kernel waiter's call in flight will take the oldest message: taking one here would
    // put a later one first.
    if (this.#kernel?.busy) return WOULD_BLOCK;
    const { mq_receive } = librt();
    for (;;) {
      const n = mq_receive(fd, into, into.length, this.#prioBytes);
      if (n >= 0) {
        this.#lastPriority = this.#prio[0] ?? 0;
        return n;
      }
      const e = errnoOfTry();
      if (e === E.EAGAIN) return WOULD_BLOCK;
      if (e !== E.EINTR) {
        throw new ErrnoError(e, "mq_receive", {
          action: "receive from message queue",
          object: this.#name,
        });
      }
    }
  }

  /**
   * Takes the oldest message of the highest priority, if there is one now.
   *
   * @returns the message (a copy) and its priority, or {@linkcode WOULD_BLOCK} when the queue is
   *   empty
   * @throws {ErrnoError} EBADF (opened write-only)
   * @throws {ClosedError} after close
   */
  tryReceive(): QueueMessage | WouldBlock {
    const n = this.#tryInto(this.#buf);
    if (n === WOULD_BLOCK) return n;
    return { data: this.#buf.slice(0, n), priority: this.#lastPriority };
  }

  /**
   * Receives into `into`, waiting while the queue is empty. A wait that is cancelled has taken
   * nothing from the queue.
   *
   * @param into at least {@linkcode MessageQueue.messageSize} bytes
   * @param options `signal` and `timeout` (ms)
   * @returns the message's length and priority
   * @throws {DOMException} `TimeoutError` when the timeout passes (nothing was taken)
   * @throws the signal's reason when aborted (nothing was taken)
   * @throws {ClosedError} after close, or when the queue is closed during the wait
   */
  async receiveInto(into: Uint8Array, options?: WaitOptions): Promise<QueueReceipt> {
    this.#checkInto(into);
    const n = await this.#receiveInto(into, waitBoundsOf(options));
    return { length: n, priority: this.#lastPriority };
  }

  async #receiveInto(into: Uint8Array, opts: Bounds): Promise<number> {
    const r = await waitFair(
      () => this.#tryInto(into),
      () => this.#kernelWaiter(),
      (m) => {
        into.set(m.data);
        this.#lastPriority = m.priority;
        return m.data.length;
      },
      this.#readSleeper ??= new FdSleeper(this.liveFd(), POLL.IN),
      opts,
    );
    if (r === TIMED_OUT) {
      throw timedOut(`receive from message queue ${JSON.stringify(this.#name)}`);
    }
    return r;
  }

  /**
   * Receives a message, waiting while the queue is empty. A wait that is cancelled has taken
   * nothing from the queue.
   *
   * @param options `signal` and `timeout` (ms)
   * @returns the message (a copy) and its priority
   * @throws {DOMException} `TimeoutError` when the timeout passes (nothing was taken)
   * @throws the signal's reason when aborted (nothing was taken)
   * @throws {ClosedError} after close, or when the queue is closed during the wait
   */
  async receive(options?: WaitOptions): Promise<QueueMessage> {
    const n = await this.#receiveInto(this.#buf, waitBoundsOf(options));
    return { data: this.#buf.slice(0, n), priority: this.#lastPriority };
  }

  /**
   * Receives into `into`, blocking the calling thread in `mq_timedreceive` while the queue is
   * empty, as a C program would (so it gets its turn against other processes blocked there).
   * For Workers and scripts where blocking is the point; on the main thread prefer
   * {@linkcode MessageQueue.receiveInto}.
   *
   * @param into at least {@linkcode MessageQueue.messageSize} bytes
   * @param options `timeout`: milliseconds at most (default: no limit)
   * @returns the message's length and priority
   * @throws {DOMException} `TimeoutError` when the timeout passes (nothing was taken)
   * @throws {ErrnoError} EBADF (opened write-only)
   * @throws {ClosedError} after close
   * @see {@link https://man7.org/linux/man-pages/man3/mq_receive.3.html}
   *
   * @example Block until a message comes
   * ```ts
   * import { MessageQueue } from "@dipc/dipc";
   *
   * using q = MessageQueue.temporary({ maxMessages: 4, messageSize: 64 });
   * q.trySend(new Uint8Array([1, 2]), { priority: 5 });
   * const into = new Uint8Array(q.messageSize);
   * console.log(q.receiveIntoSync(into, { timeout: 1000 })); // { length: 2, priority: 5 }
   * ```
   */
  receiveIntoSync(into: Uint8Array, options?: SyncWaitOptions): QueueReceipt {
    this.#checkInto(into);
    const n = this.#receiveIntoSync(into, syncDeadlineOf(options));
    return { length: n, priority: this.#lastPriority };
  }

  #receiveIntoSync(into: Uint8Array, deadline: bigint | undefined): number {
    // A message an async wait's kernel waiter kept comes first; with no such waiter (and a
    // blocking descriptor), straight into the blocking call: one system call a message.
    if (this.#kernel !== undefined || this.#blockingFd(false) < 0) {
      const n = this.#tryInto(into);
      if (n !== WOULD_BLOCK) return n;
    }
    const fd = this.#blockingFd(true);
    const realtime = realtimeOf(deadline);
    if (realtime !== undefined) writeTimespec(this.#deadline, realtime);
    const { mq_timedreceive } = librt();
    for (;;) {
      const r = mq_timedreceive(
        fd,
        into,
        into.length,
        this.#prioBytes,
        realtime === undefined ? null : this.#deadlineBytes,
      );
      if (r >= 0) {
        this.#lastPriority = this.#prio[0] ?? 0;
        return r;
      }
      const e = errno();
      if (e === E.ETIMEDOUT) {
        throw timedOut(`receive from message queue ${JSON.stringify(this.#name)}`);
      }
      if (e !== E.EINTR) throw this.#timedReceiveError(e);
    }
  }

  #timedReceiveError(e: number): ErrnoError {
    return new ErrnoError(e, "mq_timedreceive", {
      action: "receive from message queue",
      object: this.#name,
    });
  }

  /**
   * Receives a message, blocking the calling thread while the queue is empty (see
   * {@linkcode MessageQueue.receiveIntoSync}).
   *
   * @param options `timeout`: milliseconds at most (default: no limit)
   * @returns the message (a copy) and its priority
   * @throws {DOMException} `TimeoutError` when the timeout passes (nothing was taken)
   * @throws {ErrnoError} EBADF (opened write-only)
   * @throws {ClosedError} after close
   */
  receiveSync(options?: SyncWaitOptions): QueueMessage {
    const n = this.#receiveIntoSync(this.#buf, syncDeadlineOf(options));
    return { data: this.#buf.slice(0, n), priority: this.#lastPriority };
  }

  /**
   * A blocking open file description of this queue (reopened through /proc/self/fd; the
   * handle's own is non-blocking), for the calls that block in the kernel.
   */
  #blockingFd(required: boolean): number {
    if (this.#blocking >= 0) return this.#blocking;
    const fd = reopenBlocking(this.liveFd());
    if (fd < 0 && required) {
      throw lastError("open", "reopen (blocking) message queue", this.#name);
    }
    this.#blocking = fd;
    return fd;
  }

  /**
   * Received messages as an async iterator, until `signal` aborts (the loop then ends
   * normally) or the queue is closed.
   *
   * @param options `signal`: ends the iteration
   * @returns an async iterable of messages
   */
  messages(options?: { signal?: AbortSignal }): AsyncGenerator<QueueMessage, void> {
    const { signal } = validateWaitOptions(options);
    return receiveUntilStopped(
      () => this.receive(signal ? { signal } : {}),
      signal,
      () => this.closed,
    );
  }

  /** Same as {@linkcode MessageQueue.messages} with no options. */
  [Symbol.asyncIterator](): AsyncGenerator<QueueMessage, void> {
    return this.messages();
  }

  /**
   * Removes the queue's name (as {@linkcode MessageQueue.unlink}); this handle stays usable
   * until closed.
   *
   * @throws {ErrnoError} ENOENT if it was already removed
   * @throws {TypeError} for a queue adopted with `fromFd`, which has no name
   */
  unlink(): void {
    if (!this.#name.startsWith("/")) {
      throw new TypeError(`a queue adopted with fromFd (${this.#name}) has no name to unlink`);
    }
    this.#unlinkOnClose = false;
    MessageQueue.unlink(this.#name);
  }

  /**
   * Closes the descriptor; a pending wait then rejects with {@linkcode ClosedError}. A
   * temporary queue is unlinked too. Calling it again does nothing.
   */

  #checkSize(length: number): void {
    if (length > this.#messageSize) {
      throw new ErrnoError(E.EMSGSIZE, "mq_send", {
        action: `send a ${length}-byte message (at most ${this.#messageSize}) to message queue`,
        object: this.#name,
      });
    }
  }
}

/** Checks `readOnly`/`writeOnly` and returns the access mode. */
function validateAccess(o: MessageQueueOpenOptions): number {
  const readOnly = validateBoolean(o.readOnly, "readOnly");
  const writeOnly = validateBoolean(o.writeOnly, "writeOnly");
  if (readOnly && writeOnly) throw new TypeError("readOnly and writeOnly exclude each other");
  return readOnly ? O.RDONLY : writeOnly ? O.WRONLY : O.RDWR;
}

/** How message queues open, by the one POSIX open protocol (src/_posix_open.ts). */
function mqKind(name: string, access: number, attr: Uint8Array | null): PosixKind<number> {
  const cname = cString(name);
  const flags = access | O.NONBLOCK | O.CLOEXEC;
  return {
    what: "message queue",
    syscall: "mq_open",
    open: (extra, mode) => {
      const fd = librt().mq_open(cname, flags | extra, mode, extra === 0 ? null : attr);
      return fd < 0 ? null : fd;
    },
    close: (fd) => void libc().close(fd),
    unlink: () => void librt().mq_unlink(cname),
    setMode: (fd, mode) => libc().fchmod(fd, mode) === 0 ? 0 : errno(),
    owner: (fd) => {
      if (libc().fstat(fd, statBuf.clear().bytes) !== 0) {
        throw lastError("fstat", "stat message queue", name);
      }
      return statBuf.u32(STAT.st_uid);
    },
  };
}

function getattr(fd: number, name: string): MessageQueueAttributes {
  if (librt().mq_getattr(fd, attrBuf.clear().bytes) !== 0) {
    throw lastError("mq_getattr", "read the attributes of message queue", name);
  }
  return {
    maxMessages: attrBuf.u64(MQ_ATTR.mq_maxmsg),
    messageSize: attrBuf.u64(MQ_ATTR.mq_msgsize),
    currentMessages: attrBuf.u64(MQ_ATTR.mq_curmsgs),
    nonblocking: (attrBuf.u64(MQ_ATTR.mq_flags) & O.NONBLOCK) !== 0,
  };
}

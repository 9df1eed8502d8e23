/**
 * The process pool's wire protocol, the one copy both sides use (src/pool.ts, the parent, and
 * src/_pool_worker.ts, each worker).
 *
 * Each worker has one anonymous shared memory object (`memfd_create`: nothing in /dev/shm, so
 * nothing is left behind by a kill) handed down as its descriptor 4, laid out as:
 *
 * | offset | what |
 * | --- | --- |
 * | 0 | control words (Int32): 0 magic, 1 the id of the task the worker is running (0: none), 2 a word the parent's fence writes |
 * | 64 | the request ring (parent → worker) |
 * | 64 + ring size | the response ring (worker → parent) |
 *
 * and one seqpacket socket (descriptor 3): the descriptors a task is given travel there
 * (`SCM_RIGHTS`), with the table that says what each is, before the task itself is sent on the
 * ring; its end of stream tells the worker that the parent has gone.
 *
 * A ring message starts with its kind:
 *
 * | kind | layout |
 * | --- | --- |
 * | TASK | kind, u32 id, u8 flags (1: handles on the socket), u8 name length, name, clone of the arguments |
 * | CANCEL | kind, u32 id |
 * | READY | kind, u8 ok, clone of the exported names or of the load error |
 * | RESULT | kind, u32 id, u8 ok, u32 µs the task ran, clone of the value or of the error |
 * | FRAGMENT / LAST | kind, bytes: a message longer than the ring carries, in pieces |
 *
 * Cancelling a task the worker may be about to start is a Dekker handshake on the running
 * word: the worker stores the id there and then reads the ring once more for a CANCEL; the
 * parent sends the CANCEL and then reads the word. At least one of them sees the other, so a
 * cancelled task either never runs or its worker is killed.
 *
 * Every message is read as untrusted: lengths are bounded by `maxMessageSize` before anything is
 * allocated, and a message that does not parse is a protocol error that ends that worker.
 *
 * @module
 */

import { RingChannel, type RingReceiver, type RingSender } from "./ring.ts";
import { END_OF_STREAM, type EndOfStream, WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
import { copyRange, copyToSlab } from "./_copy.ts";
import { E } from "../ffi/constants.ts";
import { ErrnoError } from "./errors.ts";

/** Bytes before the first ring. */
export const CONTROL_BYTES = 64;
/** Control word indices (Int32). */
export const W_MAGIC = 0;
/** The id of the task being run, 0 when none. */
export const W_RUNNING = 1;
/** A word no one reads: the parent's read-modify-write on it is its full fence. */
export const W_FENCE = 2;
/** "dpol". */
export const POOL_MAGIC = 0x64706f6c;

/** Message kinds. */
export const KIND = {
  TASK: 1,
  CANCEL: 2,
  READY: 3,
  RESULT: 4,
  FRAGMENT: 0xfe,
  LAST: 0xff,
} as const;

/** TASK flag: the task's handles and descriptors come on the socket. */
export const HAS_HANDLES = 1;

/** What a handle in a task's arguments is, in the table sent with its descriptor. */
export const HANDLE = {
  SHARED_MEMORY: 1,
  REGION: 2,
  UNIX_SOCKET: 3,
  PIPE_READER: 4,
  PIPE_WRITER: 5,
};

/** The layout of a worker's shared memory for rings of `capacity` bytes. */
export function poolLayout(capacity: number): { size: number; request: number; response: number } {
  const ring = RingChannel.size({ capacity });
  return { size: CONTROL_BYTES + 2 * ring, request: CONTROL_BYTES, response: CONTROL_BYTES + ring };
}

/** A malformed message: ends the worker that sent it (or, in a worker, the worker). */
export class ProtocolError extends ErrnoError {
  /** @param what what was wrong */
  constructor(what: string) {
    // Bytes a peer got wrong: EPROTO, as the ring and the channels report them.
    super(E.EPROTO, "read", { action: "read the process pool's link", detail: what });
    this.name = "ProtocolError";
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** A task's header, before its arguments' clone. */
export function taskHead(id: number, flags: number, name: string): Uint8Array {
  const n = textEncoder.encode(name);
  if (n.length > 255) throw new RangeError("a task name is at most 255 bytes");
  const head = new Uint8Array(7 + n.length);
  const v = new DataView(head.buffer);
  head[0] = KIND.TASK;
  v.setUint32(1, id, true);
  head[5] = flags;
  head[6] = n.length;
  head.set(n, 7);
  return head;
}

/** Writes `id` into a task header made by {@linkcode taskHead} (to use it again). */
export function setTaskId(head: Uint8Array, id: number): void {
  head[1] = id & 0xff;
  head[2] = (id >>> 8) & 0xff;
  head[3] = (id >>> 16) & 0xff;
  head[4] = id >>> 24;
}

/** A task header read back: the clone starts at `body`. */
export interface TaskHead {
  id: number;
  flags: number;
  name: string;
  body: number;
}

/** Reads a TASK message's header (throws ProtocolError). */
export function readTaskHead(m: Uint8Array): TaskHead {
  if (m.length < 7) throw new ProtocolError(`a task of ${m.length} bytes`);
  const id = u32At(m, 1);
  const flags = m[5] as number;
  const n = m[6] as number;
  if (m.length < 7 + n) throw new ProtocolError("a task name past the message's end");
  return { id, flags, name: nameAt(m, n), body: 7 + n };
}

/** Task names read before, by their bytes: most tasks have the name of one before them. */
const names = new Map<string, string>();

function nameAt(m: Uint8Array, n: number): string {
  // The bytes as a key, by hand for ASCII (a TextDecoder call and its view cost more).
  let key = "";
  for (let i = 7; i < 7 + n; i++) key += String.fromCharCode(m[i] as number);
  const known = names.get(key);
  if (known !== undefined) return known;
  let name: string;
  try {
    name = textDecoder.decode(m.subarray(7, 7 + n));
  } catch {
    throw new ProtocolError("a task name that is not UTF-8");
  }
  if (names.size < 1024) names.set(key, name);
  return name;
}

/** A CANCEL: kind and u32 id. */
export function cancelMessage(id: number): Uint8Array {
  const m = new Uint8Array(5);
  m[0] = KIND.CANCEL;
  new DataView(m.buffer).setUint32(1, id, true);
  return m;
}

/** Where a RESULT's clone starts. */
export const RESULT_BODY = 10;

const resultScratch = new Uint8Array(RESULT_BODY);
const resultView = new DataView(resultScratch.buffer);

/**
 * A RESULT's header: kind, id, ok, and how long the task ran (µs, at most 2³² − 1). One scratch
 * array, valid until the next call (a new typed array costs more than a small task here).
 */
export function resultHead(id: number, ok: boolean, micros: number): Uint8Array {
  resultScratch[0] = KIND.RESULT;
  resultView.setUint32(1, id, true);
  resultScratch[5] = ok ? 1 : 0;
  resultView.setUint32(6, Math.min(0xffff_ffff, Math.max(0, Math.round(micros))), true);
  return resultScratch;
}

/** The u32 id at byte 1 of a message (throws ProtocolError when it is too short). */
export function readId(m: Uint8Array, least: number): number {
  if (m.length < least) throw new ProtocolError(`a message of kind ${m[0]} with ${m.length} bytes`);
  return u32At(m, 1);
}

/** The little-endian u32 at `at` of `m` (no view to allocate). */
export function u32At(m: Uint8Array, at: number): number {
  return ((m[at] as number) | (m[at + 1] as number) << 8 | (m[at + 2] as number) << 16 |
    (m[at + 3] as number) << 24) >>> 0;
}

/**
 * One direction of messages over a ring, in order, of any length up to `maxMessage`: longer
 * than the ring carries, a message goes in FRAGMENT pieces and a LAST one.
 */
export class WireSender {
  readonly #tx: RingSender;
  readonly #max: number;
  /** The longest message the ring takes whole. */
  readonly #whole: number;
  /** The bytes of a piece of a longer one. */
  readonly #piece: number;
  readonly #queue: Uint8Array[] = [];
  #flushing = false;
  #failed: unknown = undefined;
  readonly #signal: AbortSignal;
  /** Settles when the queue is empty. */
  #drained: PromiseWithResolvers<void> | undefined;

  /**
   * @param tx the ring's sender
   * @param ringMax the longest message the ring carries
   * @param maxMessage the longest message
   * @param signal ends a send that waits (the pool closing the worker)
   */
  constructor(tx: RingSender, ringMax: number, maxMessage: number, signal: AbortSignal) {
    this.#tx = tx;
    this.#max = maxMessage;
    this.#whole = ringMax;
    // Pieces of a quarter of the ring (measured: half-ring pieces left each side waiting for
    // the other to finish a whole piece; quarters keep both copying, 1.7× the throughput at
    // 1 MiB).
    this.#piece = Math.max(1024, ringMax >> 2) - 1;
    this.#signal = signal;
  }

  /** The error that stopped sending, if one did. */
  get failed(): unknown {
    return this.#failed;
  }

  /**
   * Sends `bytes` (a scratch view: copied if it cannot go at once). Throws RangeError for a
   * message over `maxMessage`, and the first send error once one has happened.
   */
  post(bytes: Uint8Array): void {
    if (this.#failed !== undefined) throw this.#failed;
    if (bytes.length > this.#max) {
      throw new RangeError(
        `a message of ${bytes.length} bytes is over maxMessageSize (${this.#max})`,
      );
    }
    if (this.#queue.length === 0 && bytes.length <= this.#whole) {
      if (this.#tx.trySend(bytes) !== WOULD_BLOCK) return;
      this.#queue.push(copyToSlab(bytes));
    } else if (bytes.length <= this.#whole) {
      this.#queue.push(copyToSlab(bytes));
    } else {
      for (let at = 0; at < bytes.length; at += this.#piece) {
        const end = Math.min(bytes.length, at + this.#piece);
        const piece = new Uint8Array(1 + end - at);
        piece[0] = end === bytes.length ? KIND.LAST : KIND.FRAGMENT;
        piece.set(bytes.subarray(at, end), 1);
        this.#queue.push(piece);
      }
    }
    if (!this.#flushing) void this.#flush();
  }

  /** Resolves once everything posted has been sent (or sending failed). */
  drained(): Promise<void> {
    if (this.#queue.length === 0 && !this.#flushing) return Promise.resolve();
    this.#drained ??= Promise.withResolvers<void>();
    return this.#drained.promise;
  }

  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      while (this.#queue.length > 0) {
        const next = this.#queue[0] as Uint8Array;
        if (this.#tx.trySend(next) === WOULD_BLOCK) {
          await this.#tx.send(next, { signal: this.#signal });
        }
        this.#queue.shift();
      }
    } catch (e) {
      this.#failed = e;
      this.#queue.length = 0;
    } finally {
      this.#flushing = false;
      this.#drained?.resolve();
      this.#drained = undefined;
    }
  }
}

/** The other direction: whole messages back from a ring's pieces. */
export class WireReceiver {
  readonly #rx: RingReceiver;
  readonly #max: number;
  #parts: Uint8Array[] = [];
  #partBytes = 0;
  /** Messages are received into this: no array a message. */
  readonly #scratch: Uint8Array;
  /** Views of the scratch by length, for short messages (most have the length of one before). */
  readonly #views: (Uint8Array | undefined)[] = [];

  /**
   * @param rx the ring's receiver
   * @param ringMax the longest message the ring carries
   * @param maxMessage the longest message accepted
   */
  constructor(rx: RingReceiver, ringMax: number, maxMessage: number) {
    this.#rx = rx;
    this.#max = maxMessage;
    this.#scratch = new Uint8Array(ringMax);
  }

  #view(n: number): Uint8Array {
    if (n > 4096) return this.#scratch.subarray(0, n);
    return this.#views[n] ??= this.#scratch.subarray(0, n);
  }

  /**
   * The next whole message now: valid until the next call. Throws ProtocolError for pieces
   * that do not make a message, or one over `maxMessage`.
   */
  tryNext(): Uint8Array | WouldBlock | EndOfStream {
    for (;;) {
      const n = this.#rx.tryReceiveInto(this.#scratch);
      if (n === WOULD_BLOCK || n === END_OF_STREAM) {
        if (n === END_OF_STREAM && this.#parts.length > 0) {
          throw new ProtocolError("the stream ended inside a long message");
        }
        return n;
      }
      const whole = this.#piece(this.#view(n));
      if (whole !== undefined) return whole;
    }
  }

  /** The next whole message, waiting (cancelled by `signal`, nothing lost). */
  async next(signal: AbortSignal): Promise<Uint8Array | EndOfStream> {
    for (;;) {
      const now = this.tryNext();
      if (now !== WOULD_BLOCK) return now;
      const n = await this.#rx.receiveInto(this.#scratch, { signal });
      if (n === END_OF_STREAM) {
        if (this.#parts.length > 0) {
          throw new ProtocolError("the stream ended inside a long message");
        }
        return n;
      }
      const whole = this.#piece(this.#view(n));
      if (whole !== undefined) return whole;
    }
  }

  #piece(m: Uint8Array): Uint8Array | undefined {
    const kind = m[0];
    if (kind !== KIND.FRAGMENT && kind !== KIND.LAST) {
      if (this.#parts.length > 0) throw new ProtocolError(`kind ${kind} inside a long message`);
      if (m.length === 0) throw new ProtocolError("an empty message");
      return m;
    }
    this.#partBytes += m.length - 1;
    if (this.#partBytes > this.#max) {
      throw new ProtocolError(`a message over maxMessageSize (${this.#max} bytes)`);
    }
    this.#parts.push(copyRange(m, 1));
    if (kind === KIND.FRAGMENT) return undefined;
    const whole = new Uint8Array(this.#partBytes);
    let at = 0;
    for (const p of this.#parts) {
      whole.set(p, at);
      at += p.length;
    }
    this.#parts = [];
    this.#partBytes = 0;
    return whole;
  }
}

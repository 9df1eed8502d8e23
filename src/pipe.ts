/**
 * Anonymous pipes: a one-way byte stream between processes (one pipe is one direction: two are
 * needed to talk both ways). {@linkcode Pipe.create} makes both ends in this process; hand one to
 * a child with {@linkcode spawn} (as its stdin, stdout or any descriptor number) and use the
 * other here.
 *
 * Each end reads or writes with a synchronous `try…` form, an async form taking
 * `{ signal, timeout }`, and Web Streams (`readable`, `writable`). Waiting never blocks the event
 * loop and holds no pool thread of its own: the wait core's one epoll set watches for readiness,
 * and the read itself happens on this thread, so a cancelled read has read nothing.
 *
 * Semantics are the kernel's: reads return what is there (at most the buffer's size); a read
 * returns {@linkcode END_OF_STREAM} once every write end, in every process, is closed; writing
 * when every read end is closed throws an {@linkcode ErrnoError} with code EPIPE (Deno ignores
 * SIGPIPE, so the process lives). Writes of up to 4096 bytes (PIPE_BUF) are atomic. Both ends are
 * close-on-exec: a child gets only what {@linkcode spawn} hands it.
 *
 * @example A pipe in one process
 * ```ts
 * import { Pipe } from "@dipc/dipc";
 *
 * using pipe = Pipe.create();
 * await pipe.writer.write(new TextEncoder().encode("Hello Child Process!"));
 * pipe.writer.close();
 * console.log(await pipe.reader.text()); // "Hello Child Process!"
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man7/pipe.7.html}
 * @module
 */

import { E, F, O, POLL } from "../ffi/constants.ts";
import { errnoOfTry, libc } from "../ffi/load.ts";
import { ErrnoError } from "./errors.ts";
import { lastError } from "./_errno.ts";
import { checkInternal, INTERNAL } from "./_internal.ts";
import {
  checkAdoptable,
  FdHandle,
  FdSleeper,
  isFifo,
  pollNow,
  releaseWith,
  setNonblocking,
} from "./_fd.ts";
import { validateBuffer, validateInteger, validateOptions } from "./_validate.ts";
import {
  type Bounds,
  TIMED_OUT,
  timedOut,
  waitBoundsOf,
  type WaitOptions,
  waitUntil,
} from "./_wait.ts";
import { END_OF_STREAM, type EndOfStream, WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";

export { FdHandle, type HasFd } from "./_fd.ts";
export type { WaitOptions } from "./_wait.ts";

export { END_OF_STREAM, type EndOfStream, WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";

/** Largest single read or write (the kernel's own cap, MAX_RW_COUNT, is just under 2 GiB). */
const MAX_IO = 0x7ffff000;
/** How much writeBatch coalesces into one write: a quarter of the default pipe capacity, so
 * that the reader drains one block while the next is written (a whole capacity each time makes
 * the two take turns: measured 2.7 against 4.9 GB/s at 4 KiB). */
const STAGE_SIZE = 16384;
/** Chunk size of the Web Streams. */
const STREAM_CHUNK = 65536;

/**
 * Checks that `fd` is an open pipe or FIFO before adopting it: anything else (a socket, an epoll
 * or event descriptor, which Deno itself keeps open) is refused, so a wrong number cannot take
 * over and later close one of the runtime's own descriptors.
 */
function checkPipe(fd: number): void {
  validateInteger(fd, "fd", 0, 0x7fffffff);
  checkAdoptable(fd, `descriptor ${fd}`);
  if (!isFifo(fd, `descriptor ${fd}`)) {
    throw new TypeError(`descriptor ${fd} is not a pipe or FIFO`);
  }
}

/** The sleeper that waits for an end to become ready, made on first use. */
const sleepers = new WeakMap<PipeEnd, FdSleeper>();

function sleeperOf(end: PipeEnd, events: number): FdSleeper {
  let s = sleepers.get(end);
  if (s === undefined) {
    s = new FdSleeper(end.unsafeFd, events);
    sleepers.set(end, s);
  }
  return s;
}

/**
 * An end of a pipe or FIFO: a descriptor this object owns.
 *
 * @example Either end, closed once
 * ```ts
 * import { Pipe, type PipeEnd } from "@dipc/dipc";
 *
 * const ends: PipeEnd[] = [];
 * {
 *   using pipe = Pipe.create();
 *   ends.push(pipe.reader, pipe.writer);
 *   console.log(ends.every((e) => e.unsafeFd >= 0)); // true
 * }
 * console.log(ends.every((e) => e.closed)); // true: closing again does nothing
 * ```
 */
export abstract class PipeEnd extends FdHandle {
  /**
   * Takes ownership of `fd` (dipc's own modules only).
   *
   * @ignore
   */
  protected constructor(token: unknown, fd: number, label: string) {
    checkInternal(token, "Pipe.create(), openFifoReader/openFifoWriter() or fromFd()");
    super(token, fd, label);
    releaseWith(this, () => {
      sleepers.get(this)?.close();
      sleepers.delete(this);
    });
  }

  /** The end as messages name it. */
  protected get label(): string {
    return this.what;
  }

  /**
   * The pipe's capacity in bytes (`F_GETPIPE_SZ`), 65536 by default on Linux.
   *
   * @throws {ClosedError} after close
   */
  get capacity(): number {
    const n = libc().fcntl(this.liveFd(), F.GETPIPE_SZ, 0);
    if (n < 0) throw lastError("fcntl", `read the capacity of ${this.label}`);
    return n;
  }

  /**
   * Sets the pipe's capacity (`F_SETPIPE_SZ`); the kernel rounds up to a power-of-two number of
   * pages, at most `/proc/sys/fs/pipe-max-size` for unprivileged processes.
   *
   * @param bytes the wanted capacity
   * @returns the capacity the kernel set
   * @throws {ErrnoError} EBUSY (less than what the pipe holds), EPERM (above the limit)
   */
  setCapacity(bytes: number): number {
    validateInteger(bytes, "capacity", 1, 0x7fffffff);
    const n = libc().fcntl(this.liveFd(), F.SETPIPE_SZ, bytes);
    if (n < 0) throw lastError("fcntl", `set the capacity of ${this.label} to`, bytes);
    return n;
  }
}

/**
 * The read end of a pipe or FIFO.
 *
 * @example Read until the writer closes
 * ```ts
 * import { END_OF_STREAM, Pipe } from "@dipc/dipc";
 *
 * using pipe = Pipe.create();
 * await pipe.writer.write(new Uint8Array([1, 2, 3]));
 * pipe.writer.close();
 * const buf = new Uint8Array(8);
 * const n = await pipe.reader.read(buf, { timeout: 1_000 });
 * console.log(n, await pipe.reader.read(buf, { timeout: 1_000 }) === END_OF_STREAM); // 3 true
 * ```
 */
export class PipeReader extends PipeEnd {
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;

  /** @ignore use {@linkcode Pipe.create}, {@linkcode openFifoReader} or `fromFd`. */
  constructor(token: unknown, fd: number, label: string) {
    super(token, fd, label);
  }

  /**
   * Adopts an open descriptor as a read end, e.g. one a parent handed down with
   * {@linkcode spawn}'s `fds`. The descriptor is made non-blocking and is closed with this
   * object.
   *
   * @param fd the descriptor number (e.g. 3)
   * @returns the reader
   * @throws {ErrnoError} EBADF when `fd` is not open
   *
   * @example In a child started with `fds: { 3: pipe.reader }`
   * ```ts ignore
   * import { PipeReader } from "@dipc/dipc";
   *
   * using input = PipeReader.fromFd(3);
   * console.log(await input.text());
   * ```
   */
  static fromFd(fd: number): PipeReader {
    checkPipe(fd);
    setNonblocking(fd, true, `descriptor ${fd}`);
    return new PipeReader(INTERNAL, fd, `descriptor ${fd}`);
  }

  /**
   * Reads what is there now, without waiting.
   *
   * @param into where to put the bytes (at least one byte long)
   * @returns the number of bytes read, {@linkcode END_OF_STREAM} once every writer is gone, or
   *   {@linkcode WOULD_BLOCK} when nothing is there yet
   * @throws {ClosedError} after close
   * @throws {ErrnoError} on a read error (EIO, EBADF)
   */
  tryRead(into: Uint8Array): number | EndOfStream | WouldBlock {
    validateBuffer(into, "into");
    if (into.length === 0) throw new RangeError("into must hold at least one byte");
    const fd = this.liveFd();
    const { read } = libc();
    const n = Math.min(into.length, MAX_IO);
    for (;;) {
      const r = read(fd, into, n);
      if (r > 0) return r;
      if (r === 0) {
        // 0 is EOF for a pipe whose writers are gone, but a FIFO whose first writer has not
        // come yet also reads 0: only a hang-up reported by poll is a real end. Data that
        // arrived since the read is read, not mistaken for the end.
        const ev = pollNow(fd, POLL.IN);
        if (ev & POLL.IN) continue;
        return ev & POLL.HUP ? END_OF_STREAM : WOULD_BLOCK;
      }
      const e = errnoOfTry();
      if (e === E.EAGAIN) return WOULD_BLOCK;
      if (e !== E.EINTR) throw new ErrnoError(e, "read", { action: `read from ${this.label}` });
    }
  }

  /**
   * Reads at least one byte, waiting if none is there yet.
   *
   * @param into where to put the bytes
   * @param options `signal` and `timeout` (ms)
   * @returns the number of bytes read, or {@linkcode END_OF_STREAM}
   * @throws {ClosedError} after close
   * @throws {DOMException} `TimeoutError` when the timeout passes (nothing was read)
   * @throws the signal's reason when aborted (nothing was read)
   */
  async read(into: Uint8Array, options?: WaitOptions): Promise<number | EndOfStream> {
    validateBuffer(into, "into");
    const r = await waitUntil(
      () => this.tryRead(into),
      sleeperOf(this, POLL.IN),
      waitBoundsOf(options),
    );
    if (r === TIMED_OUT) throw timedOut(`read from ${this.label}`);
    return r;
  }

  /**
   * Reads until end of stream and returns everything.
   *
   * @param options `signal` and `timeout` (for each wait)
   * @returns all the bytes
   */
  async bytes(options?: WaitOptions): Promise<Uint8Array<ArrayBuffer>> {
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const buf = new Uint8Array(STREAM_CHUNK);
      const n = await this.read(buf, options);
      if (n === END_OF_STREAM) break;
      chunks.push(buf.subarray(0, n));
      total += n;
    }
    const all = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    return all;
  }

  /**
   * Reads until end of stream and decodes UTF-8.
   *
   * @param options `signal` and `timeout` (for each wait)
   * @returns the text
   */
  async text(options?: WaitOptions): Promise<string> {
    return new TextDecoder().decode(await this.bytes(options));
  }

  /**
   * This end as a `ReadableStream` of chunks of up to 64 KiB; it closes at end of stream, and
   * cancelling it closes this end.
   */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return this.#readable ??= new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (controller) => {
        const buf = new Uint8Array(STREAM_CHUNK);
        const n = await this.read(buf);
        if (n === END_OF_STREAM) {
          controller.close();
          this.close();
        } else controller.enqueue(buf.subarray(0, n));
      },
      cancel: () => this.close(),
    });
  }
}

/**
 * The write end of a pipe or FIFO.
 *
 * @example Write without waiting, or wait for room
 * ```ts
 * import { Pipe, WOULD_BLOCK } from "@dipc/dipc";
 *
 * using pipe = Pipe.create();
 * const n = pipe.writer.tryWrite(new Uint8Array(16));
 * console.log(n === WOULD_BLOCK ? "full" : n); // 16
 * await pipe.writer.write(new Uint8Array(16), { timeout: 1_000 });
 * ```
 */
export class PipeWriter extends PipeEnd {
  #writable: WritableStream<Uint8Array> | undefined;
  /** writeBatch's staging buffer, made on first use. */
  #stage: Uint8Array | undefined;

  /** @ignore use {@linkcode Pipe.create}, {@linkcode openFifoWriter} or `fromFd`. */
  constructor(token: unknown, fd: number, label: string) {
    super(token, fd, label);
  }

  /**
   * Adopts an open descriptor as a write end (e.g. descriptor 3 handed down by a parent).
   *
   * @param fd the descriptor number
   * @returns the writer
   * @throws {ErrnoError} EBADF when `fd` is not open
   *
   * @example In a child started with `fds: { 3: pipe.writer }`
   * ```ts ignore
   * import { PipeWriter } from "@dipc/dipc";
   *
   * using out = PipeWriter.fromFd(3);
   * await out.write(new TextEncoder().encode("done\n"));
   * ```
   */
  static fromFd(fd: number): PipeWriter {
    checkPipe(fd);
    setNonblocking(fd, true, `descriptor ${fd}`);
    return new PipeWriter(INTERNAL, fd, `descriptor ${fd}`);
  }

  /**
   * Writes as much of `data` as fits now, without waiting.
   *
   * @param data the bytes
   * @returns how many bytes were written (possibly fewer than `data.length`), or
   *   {@linkcode WOULD_BLOCK} when the pipe is full
   * @throws {ErrnoError} EPIPE when no reader is left
   * @throws {ClosedError} after close
   */
  tryWrite(data: Uint8Array): number | WouldBlock {
    validateBuffer(data, "data");
    const fd = this.liveFd();
    if (data.length === 0) return 0;
    const { write } = libc();
    for (;;) {
      const r = write(fd, data, Math.min(data.length, MAX_IO));
      if (r >= 0) return r;
      const e = errnoOfTry();
      if (e === E.EAGAIN) return WOULD_BLOCK;
      if (e !== E.EINTR) throw new ErrnoError(e, "write", { action: `write to ${this.label}` });
    }
  }

  /**
   * Writes all of `data`, waiting for room as needed.
   *
   * @param data the bytes
   * @param options `signal` and `timeout` (ms, for the whole write)
   * @throws {ErrnoError} EPIPE when no reader is left
   * @throws {DOMException} `TimeoutError`; the bytes before it may have been written
   * @throws the signal's reason when aborted; the bytes before it may have been written
   */
  async write(data: Uint8Array, options?: WaitOptions): Promise<void> {
    validateBuffer(data, "data");
    await this.#write(data, waitBoundsOf(options));
  }

  async #write(data: Uint8Array, opts: Bounds): Promise<void> {
    let at = 0;
    while (at < data.length) {
      const rest = data.subarray(at);
      const r = await waitUntil(() => this.tryWrite(rest), sleeperOf(this, POLL.OUT), opts);
      if (r === TIMED_OUT) throw timedOut(`write to ${this.label}`);
      at += r;
    }
  }

  /**
   * Writes every chunk of `chunks`, in order, coalesced: chunks are copied into one 16 KiB
   * staging buffer and written with one `write(2)` per 16 KiB instead of one per chunk (a
   * chunk of 16 KiB or more is written as it is). The stream path for many small messages: a
   * pipe is a byte stream, so the reader sees the same bytes either way.
   *
   * @param chunks the bytes to write, in order
   * @param options `signal` and `timeout` (ms, for the whole call)
   * @throws {ErrnoError} EPIPE when no reader is left
   * @throws {DOMException} `TimeoutError`; the bytes before it may have been written
   * @throws the signal's reason when aborted; likewise
   * @throws {ClosedError} after close
   *
   * @example Many small writes, few system calls
   * ```ts
   * import { Pipe } from "@dipc/dipc";
   *
   * using pipe = Pipe.create();
   * const lines = ["a\n", "b\n", "c\n"].map((l) => new TextEncoder().encode(l));
   * await pipe.writer.writeBatch(lines);
   * pipe.writer.close();
   * console.log(await pipe.reader.text()); // "a\nb\nc\n"
   * ```
   */
  async writeBatch(chunks: readonly Uint8Array[], options?: WaitOptions): Promise<void> {
    if (!Array.isArray(chunks)) {
      throw new TypeError(`chunks must be an array of Uint8Array, got ${typeof chunks}`);
    }
    chunks.forEach((c, i) => validateBuffer(c, `chunks[${i}]`));
    const opts = waitBoundsOf(options);
    this.liveFd();
    const stage = this.#stage ??= new Uint8Array(STAGE_SIZE);
    let fill = 0;
    const flush = async (): Promise<void> => {
      if (fill === 0) return;
      const n = this.tryWrite(stage.subarray(0, fill));
      const done = n === WOULD_BLOCK ? 0 : n;
      if (done < fill) await this.#write(stage.subarray(done, fill), opts);
      fill = 0;
    };
    for (const c of chunks) {
      if (c.length >= STAGE_SIZE) {
        await flush();
        await this.#write(c, opts);
      } else {
        if (fill + c.length > STAGE_SIZE) await flush();
        stage.set(c, fill);
        fill += c.length;
      }
    }
    await flush();
  }

  /** This end as a `WritableStream`; closing the stream closes this end. */
  get writable(): WritableStream<Uint8Array> {
    return this.#writable ??= new WritableStream<Uint8Array>({
      write: (chunk) => this.write(chunk),
      close: () => this.close(),
      abort: () => this.close(),
    });
  }
}

/** Options for {@linkcode Pipe.create}. */
export interface PipeOptions {
  /** Capacity in bytes (`F_SETPIPE_SZ`); default the kernel's 64 KiB. */
  capacity?: number;
}

/**
 * Both ends of a new anonymous pipe.
 *
 * @see {@link https://man7.org/linux/man-pages/man2/pipe.2.html}
 *
 * @example Both ends in one process
 * ```ts
 * import { Pipe } from "@dipc/dipc";
 *
 * using pipe = Pipe.create();
 * await pipe.writer.write(new TextEncoder().encode("through the pipe"));
 * pipe.writer.close();
 * console.log(await pipe.reader.text()); // "through the pipe"
 * ```
 */
export class Pipe implements Disposable {
  /** The read end. */
  readonly reader: PipeReader;
  /** The write end. */
  readonly writer: PipeWriter;

  /** @ignore */
  private constructor(token: unknown, reader: PipeReader, writer: PipeWriter) {
    checkInternal(token, "Pipe.create()");
    this.reader = reader;
    this.writer = writer;
  }

  /**
   * Makes a pipe (`pipe2` with O_CLOEXEC and O_NONBLOCK).
   *
   * @param options capacity
   * @returns both ends
   * @throws {ErrnoError} EMFILE/ENFILE (too many descriptors), EPERM (capacity above the limit)
   * @see {@link https://man7.org/linux/man-pages/man2/pipe.2.html}
   *
   * @example A bigger pipe
   * ```ts
   * import { Pipe } from "@dipc/dipc";
   *
   * using pipe = Pipe.create({ capacity: 1 << 20 });
   * console.log(pipe.reader.capacity); // 1048576
   * ```
   */
  static create(options?: PipeOptions): Pipe {
    const o = validateOptions<PipeOptions>(options);
    if (o.capacity !== undefined) validateInteger(o.capacity, "capacity", 1, 0x7fffffff);
    const fds = new Int32Array(2);
    if (libc().pipe2(new Uint8Array(fds.buffer), O.CLOEXEC | O.NONBLOCK) !== 0) {
      throw lastError("pipe2", "make a pipe");
    }
    const pipe = new Pipe(
      INTERNAL,
      new PipeReader(INTERNAL, fds[0] ?? -1, "pipe read end"),
      new PipeWriter(INTERNAL, fds[1] ?? -1, "pipe write end"),
    );
    if (o.capacity !== undefined) {
      try {
        pipe.writer.setCapacity(o.capacity);
      } catch (e) {
        pipe.close();
        throw e;
      }
    }
    return pipe;
  }

  /** Closes both ends (idempotent). */
  close(): void {
    this.reader.close();
    this.writer.close();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

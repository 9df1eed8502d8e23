/**
 * The connected socket, {@linkcode UnixSocket}: the socket module's face (src/socket.ts)
 * re-exports it.
 *
 * @module
 */

import { CMSGHDR, E, IOVEC, MSGHDR, POLL, SOCK, UCRED } from "../ffi/constants.ts";
import { errno, errnoOfTry, libc } from "../ffi/load.ts";
import { OutStruct } from "../ffi/util.ts";
import { type SocketAddress, type SocketType } from "./_unix_diag.ts";
import { ErrnoError } from "./errors.ts";
import { lastError } from "./_errno.ts";
import { checkInternal, INTERNAL } from "./_internal.ts";
import {
  closeFd,
  FdHandle,
  FdSleeper,
  noteMade,
  pollNow,
  releaseWith,
  setNonblocking,
} from "./_fd.ts";
import { END_OF_STREAM, type EndOfStream, WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
import {
  describe,
  validateBuffer,
  validateInteger,
  validateOptionKeys,
  validateOptions,
} from "./_validate.ts";
import {
  receiveUntilStopped,
  TIMED_OUT,
  timedOut,
  validateWaitOptions,
  waitBoundsOf,
  type WaitOptions,
  waitUntil,
} from "./_wait.ts";

import {
  align8,
  CHUNK,
  copied,
  type Credentials,
  descriptorOf,
  MAX_IO,
  newSocket,
  ptr,
  sockaddr,
  type SocketMessage,
  type SocketReceipt,
  type SocketReceiveOptions,
  type SocketSendOptions,
  socketTypeOf,
  TYPE_NUMBERS,
  validateType,
} from "./_socket_core.ts";

/** Makes a socket for an accepted connection (UnixSocket's constructor is private). */
export let acceptSocket: (fd: number, type: SocketType, what: string) => UnixSocket;

/**
 * One end of a Unix domain socket: made by {@linkcode UnixSocket.pair},
 * {@linkcode UnixSocket.connect}, {@linkcode UnixListener.accept} or adopted with
 * {@linkcode UnixSocket.fromFd}.
 *
 * @example A datagram pair
 * ```ts
 * import { UnixSocket } from "@dipc/dipc";
 *
 * const [a, b] = UnixSocket.pair({ type: "datagram" });
 * await a.send(new TextEncoder().encode("one message"));
 * const into = new Uint8Array(64);
 * const got = await b.receiveInto(into, { timeout: 1_000 });
 * if (typeof got === "object") console.log(new TextDecoder().decode(into.subarray(0, got.length)));
 * a.close();
 * b.close();
 * ```
 */
export class UnixSocket extends FdHandle {
  readonly #type: SocketType;
  readonly #what: string;
  #readSleeper: FdSleeper | undefined;
  #writeSleeper: FdSleeper | undefined;
  /** The copying receives' buffer: undefined before the first, null while one uses it. */
  #scratch: Uint8Array<ArrayBuffer> | undefined | null;
  #readable: ReadableStream<Uint8Array<ArrayBuffer>> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;
  /**
   * A `struct msghdr` followed by its one `struct iovec`, assembled once: `msg_iov` points at
   * the iovec for the object's life, and each call sets only the fields that change. Written
   * through 64-bit and 32-bit views (both architectures are little-endian), never a DataView.
   */
  readonly #io = new BigUint64Array((MSGHDR.size + IOVEC.size) / 8);
  readonly #io32 = new Uint32Array(this.#io.buffer);
  readonly #ioBytes = new Uint8Array(this.#io.buffer);
  #control = new Uint8Array(0);
  #controlAddress = 0n;
  /** Data that came with a control message cut short (MSG_CTRUNC): the next receive's. */
  #heldData: Uint8Array | undefined;
  /** The last data buffer's ArrayBuffer and its address (a backing store never moves). */
  #lastBuffer: ArrayBufferLike | undefined;
  #lastBase = 0;

  /** @ignore */
  private constructor(token: unknown, fd: number, type: SocketType, what: string) {
    checkInternal(token, "UnixSocket.pair/connect/fromFd() or UnixListener.accept()");
    super(token, fd, what);
    releaseWith(this, () => {
      this.#readSleeper?.close();
      this.#writeSleeper?.close();
      this.#lastBuffer = undefined;
    });
    this.#io[MSGHDR.msg_iov / 8] = ptr(this.#ioBytes) + BigInt(MSGHDR.size);
    this.#io[MSGHDR.msg_iovlen / 8] = 1n;
    this.#type = type;
    this.#what = what;
  }

  /**
   * Two connected sockets (`socketpair`), both in this process; hand one to a child with
   * {@linkcode spawn}'s `fds`.
   *
   * @param options `type`: "stream" (default), "seqpacket" or "datagram"
   * @returns both ends
   * @throws {ErrnoError} EMFILE/ENFILE
   * @see {@link https://man7.org/linux/man-pages/man2/socketpair.2.html}
   *
   * @example A stream pair
   * ```ts
   * import { UnixSocket } from "@dipc/dipc";
   *
   * const [a, b] = UnixSocket.pair();
   * a.trySend(new TextEncoder().encode("ping"));
   * const into = new Uint8Array(8);
   * const got = await b.receiveInto(into, { timeout: 1000 });
   * console.log(typeof got === "object" && got.length); // 4
   * a.close();
   * b.close();
   * ```
   */
  static pair(options?: { type?: SocketType }): [UnixSocket, UnixSocket] {
    const o = validateOptionKeys<{ type?: SocketType }>(options, ["type"], "UnixSocket.pair");
    const type = validateType(o.type, ["stream", "seqpacket", "datagram"]);
    const fds = new Int32Array(2);
    // Blocking descriptors: dipc's own calls never block (MSG_DONTWAIT), and an end handed to a
    // child (C, a shell, Deno) then behaves as programs expect a socket to.
    const flags = TYPE_NUMBERS[type] | SOCK.CLOEXEC;
    if (libc().socketpair(SOCK.AF_UNIX, flags, 0, new Uint8Array(fds.buffer)) !== 0) {
      throw lastError("socketpair", `make a ${type} socket pair`);
    }
    return [
      new UnixSocket(INTERNAL, fds[0] ?? -1, type, `${type} socket pair end`),
      new UnixSocket(INTERNAL, fds[1] ?? -1, type, `${type} socket pair end`),
    ];
  }

  /**
   * Connects to a listener at `address`, waiting while its backlog is full.
   *
   * @param address a path, or `{ abstract: name }`
   * @param options `type` (as the listener's: "stream" default, "seqpacket"), `signal`, `timeout`
   * @returns the connected socket
   * @throws {ErrnoError} ENOENT (no such path), ECONNREFUSED (nobody listens), EACCES, EPROTOTYPE
   *   (the listener's type differs)
   * @throws {DOMException} `TimeoutError`
   * @see {@link https://man7.org/linux/man-pages/man2/connect.2.html}
   */
  static async connect(
    address: SocketAddress,
    options?: { type?: SocketType } & WaitOptions,
  ): Promise<UnixSocket> {
    const { addr, len, what } = sockaddr(address);
    const o = validateOptionKeys<{ type?: SocketType } & WaitOptions>(
      options,
      ["type", "signal", "timeout"],
      "UnixSocket.connect",
    );
    const type = validateType(o.type, ["stream", "seqpacket", "datagram"]);
    const opts = waitBoundsOf(o);
    const fd = newSocket(type, what);
    const sleeper = new FdSleeper(fd, POLL.OUT);
    try {
      const r = await waitUntil(
        () => {
          if (libc().connect(fd, addr, len) === 0) return true;
          const e = errno();
          if (e === E.EAGAIN || e === E.EINTR) return WOULD_BLOCK;
          if (e === 106 /* EISCONN: a retry after EINPROGRESS */) return true;
          throw new ErrnoError(e, "connect", { action: "connect to socket", object: what });
        },
        sleeper,
        opts,
      );
      if (r === TIMED_OUT) throw timedOut(`connecting to socket ${what}`);
      setNonblocking(fd, false, `socket connected to ${what}`); // see pair()
      return new UnixSocket(INTERNAL, fd, type, `socket connected to ${what}`);
    } catch (e) {
      closeFd(fd);
      throw e;
    } finally {
      sleeper.close();
    }
  }

  /**
   * Adopts an open socket descriptor, e.g. one a parent handed down with {@linkcode spawn}'s
   * `fds` or one received over another socket; it is closed with this object. Its blocking
   * mode is left as it is (dipc's calls on it never block, and a descriptor shares that mode
   * with every process that has it).
   *
   * @param fd the descriptor number
   * @returns the socket
   * @throws {ErrnoError} EBADF (not open), ENOTSOCK (not a socket)
   */
  static fromFd(fd: number): UnixSocket {
    const type = socketTypeOf(fd);
    return new UnixSocket(INTERNAL, fd, type, `${type} socket on descriptor ${fd}`);
  }

  /** The socket's type. */
  get type(): SocketType {
    return this.#type;
  }

  /**
   * Who is at the other end, as the kernel recorded it when the connection (or pair) was made.
   *
   * @returns pid, uid and gid
   * @throws {ErrnoError} ENOTCONN for an unconnected datagram socket
   * @throws {ClosedError} after close
   */
  peerCredentials(): Credentials {
    const fd = this.liveFd();
    const cred = new OutStruct(UCRED.size);
    const len = new Uint32Array([UCRED.size]);
    const r = libc().getsockopt(
      fd,
      SOCK.SOL_SOCKET,
      SOCK.SO_PEERCRED,
      cred.bytes,
      new Uint8Array(len.buffer),
    );
    if (r !== 0) throw lastError("getsockopt", "read the peer credentials of", this.#what);
    return { pid: cred.i32(UCRED.pid), uid: cred.u32(UCRED.uid), gid: cred.u32(UCRED.gid) };
  }

  /**
   * Sends what fits now, without waiting: on a stream socket as many bytes as fit (the
   * descriptors go with the first of them), on a message socket the whole message.
   *
   * @param data the bytes (a message of a seqpacket or datagram socket)
   * @param options `fds`: descriptors to pass with it
   * @returns the bytes sent, or {@linkcode WOULD_BLOCK} (nothing was sent)
   * @throws {ErrnoError} EPIPE (the peer has gone), EMSGSIZE (a message too long), EBADF (a
   *   descriptor to pass is not open), ETOOMANYREFS
   * @throws {RangeError} descriptors with no data on a stream socket (Linux would send nothing,
   *   and they would never arrive: send at least one byte with them)
   * @throws {ClosedError} after close
   */
  trySend(data: Uint8Array, options?: SocketSendOptions): number | WouldBlock {
    validateBuffer(data, "data");
    const fds = this.#fdsToSend(options);
    this.#checkCarrier(data, fds);
    return this.#sendmsg(data, fds);
  }

  /**
   * Sends all of `data` (a stream socket's bytes, in as many writes as it takes; a message
   * socket's one message), waiting for room.
   *
   * @param data the bytes or the message
   * @param options `fds`, `signal`, `timeout`
   * @throws {ErrnoError} EPIPE, EMSGSIZE, EBADF
   * @throws {RangeError} descriptors with no data on a stream socket (as `trySend`)
   * @throws {DOMException} `TimeoutError`; on a stream socket the bytes before it may have gone
   * @throws the signal's reason when aborted
   * @throws {ClosedError} after close, or when closed during the wait
   */
  async send(data: Uint8Array, options?: SocketSendOptions & WaitOptions): Promise<void> {
    validateBuffer(data, "data");
    let fds = this.#fdsToSend(options);
    this.#checkCarrier(data, fds);
    const opts = waitBoundsOf(options);
    let at = 0;
    do {
      const rest = data.subarray(at);
      const pass = fds;
      const r = await waitUntil(
        () => this.#sendmsg(rest, pass),
        this.#writeSleeper ??= new FdSleeper(this.liveFd(), POLL.OUT),
        opts,
      );
      if (r === TIMED_OUT) throw timedOut(`sending on ${this.#what}`);
      at += r;
      fds = []; // they went with the first bytes
    } while (this.#type === "stream" && at < data.length);
  }

  /**
   * Receives what is there now into `into`, without waiting.
   *
   * @param into where the bytes go (a message longer than it is cut: `truncated`)
   * @param options `maxFds`: how many passed descriptors to accept
   * @returns what was received, {@linkcode WOULD_BLOCK} when nothing is there, or
   *   {@linkcode END_OF_STREAM} once the peer has gone (stream and seqpacket sockets)
   * @throws {ErrnoError} EMSGSIZE when more descriptors came than a control message could hold
   *   (`MSG_CTRUNC`; those that did arrive are closed, and the data that came with them is what
   *   the next receive returns)
   * @throws {RangeError} an empty `into` on a seqpacket or datagram socket (the message would be
   *   taken and lost)
   * @throws {ClosedError} after close
   *
   * @example Nothing yet, then a message
   * ```ts
   * import { UnixSocket, WOULD_BLOCK } from "@dipc/dipc";
   *
   * const [a, b] = UnixSocket.pair({ type: "seqpacket" });
   * const into = new Uint8Array(16);
   * console.log(b.tryReceiveInto(into) === WOULD_BLOCK); // true
   * a.trySend(new Uint8Array([1, 2, 3]));
   * const got = b.tryReceiveInto(into);
   * console.log(typeof got === "object" && got.length); // 3
   * a.close();
   * b.close();
   * ```
   */
  tryReceiveInto(
    into: Uint8Array,
    options?: SocketReceiveOptions,
  ): SocketReceipt | WouldBlock | EndOfStream {
    validateBuffer(into, "into");
    this.#checkRoom(into);
    return this.#recvmsg(into, this.#maxFds(options));
  }

  /**
   * Receives into `into`, waiting while nothing is there.
   *
   * @param into where the bytes go
   * @param options `maxFds`, `signal`, `timeout`
   * @returns what was received, or {@linkcode END_OF_STREAM}
   * @throws {ErrnoError} EMSGSIZE (`MSG_CTRUNC`: see `tryReceiveInto`; the data is the next
   *   receive's)
   * @throws {RangeError} an empty `into` on a seqpacket or datagram socket
   * @throws {DOMException} `TimeoutError` (nothing was taken)
   * @throws the signal's reason when aborted (nothing was taken)
   * @throws {ClosedError} after close, or when closed during the wait
   */
  async receiveInto(
    into: Uint8Array,
    options?: SocketReceiveOptions & WaitOptions,
  ): Promise<SocketReceipt | EndOfStream> {
    validateBuffer(into, "into");
    this.#checkRoom(into);
    const maxFds = this.#maxFds(options);
    const opts = waitBoundsOf(options);
    const r = await waitUntil(
      () => this.#recvmsg(into, maxFds),
      this.#readSleeper ??= new FdSleeper(this.liveFd(), POLL.IN),
      opts,
    );
    if (r === TIMED_OUT) throw timedOut(`receiving on ${this.#what}`);
    return r;
  }

  /**
   * Receives what is there now, as a copy of its own, without waiting.
   *
   * @param options `maxFds`, and `size`: the largest message taken whole (default 64 KiB;
   *   longer ones are cut, `truncated`)
   * @returns the message, {@linkcode WOULD_BLOCK}, or {@linkcode END_OF_STREAM}
   * @throws {ErrnoError} EMSGSIZE (`MSG_CTRUNC`: see `tryReceiveInto`)
   * @throws {ClosedError} after close
   */
  tryReceive(
    options?: SocketReceiveOptions & { size?: number },
  ): SocketMessage | WouldBlock | EndOfStream;
  /**
   * The form of {@linkcode UnixSocket.tryReceiveInto} under its old name.
   *
   * @deprecated Use {@linkcode UnixSocket.tryReceiveInto}; `tryReceive(options)` returns a copy.
   */
  tryReceive(
    into: Uint8Array,
    options?: SocketReceiveOptions,
  ): SocketReceipt | WouldBlock | EndOfStream;
  tryReceive(
    first?: Uint8Array | (SocketReceiveOptions & { size?: number }),
    options?: SocketReceiveOptions,
  ): SocketMessage | SocketReceipt | WouldBlock | EndOfStream {
    if (first instanceof Uint8Array) return this.tryReceiveInto(first, options);
    const { buf, maxFds } = this.#copyForm(first, ["maxFds", "size"], "UnixSocket.tryReceive");
    try {
      return copied(buf, this.#recvmsg(buf, maxFds));
    } finally {
      this.#giveBack(buf);
    }
  }

  /**
   * Receives a message (on a stream socket: what has come, up to `size` bytes) as a copy of its
   * own, waiting while nothing is there.
   *
   * @param options `maxFds`, `size` (the largest message taken whole, default 64 KiB; longer
   *   ones are cut, `truncated`), `signal`, `timeout`
   * @returns the message and the descriptors it carried, or {@linkcode END_OF_STREAM}
   * @throws {ErrnoError} EMSGSIZE (`MSG_CTRUNC`: see `tryReceiveInto`)
   * @throws {DOMException} `TimeoutError` (nothing was taken)
   * @throws the signal's reason when aborted (nothing was taken)
   * @throws {ClosedError} after close, or when closed during the wait
   *
   * @example A message and its length, without a buffer of yours
   * ```ts
   * import { END_OF_STREAM, UnixSocket } from "@dipc/dipc";
   *
   * const [a, b] = UnixSocket.pair({ type: "seqpacket" });
   * await a.send(new TextEncoder().encode("whole"));
   * const m = await b.receive({ timeout: 1_000 });
   * if (m !== END_OF_STREAM) console.log(new TextDecoder().decode(m.data), m.fds); // "whole" []
   * a.close();
   * b.close();
   * ```
   */
  receive(
    options?: SocketReceiveOptions & WaitOptions & { size?: number },
  ): Promise<SocketMessage | EndOfStream>;
  /**
   * The form of {@linkcode UnixSocket.receiveInto} under its old name.
   *
   * @deprecated Use {@linkcode UnixSocket.receiveInto}; `receive(options)` returns a copy.
   */
  receive(
    into: Uint8Array,
    options?: SocketReceiveOptions & WaitOptions,
  ): Promise<SocketReceipt | EndOfStream>;
  async receive(
    first?: Uint8Array | (SocketReceiveOptions & WaitOptions & { size?: number }),
    options?: SocketReceiveOptions & WaitOptions,
  ): Promise<SocketMessage | SocketReceipt | EndOfStream> {
    if (first instanceof Uint8Array) return await this.receiveInto(first, options);
    const { buf, maxFds } = this.#copyForm(
      first,
      ["maxFds", "size", "signal", "timeout"],
      "UnixSocket.receive",
    );
    const bounds = first === undefined ? {} : { ...first, maxFds };
    delete (bounds as { size?: number }).size;
    try {
      return copied(buf, await this.receiveInto(buf, bounds));
    } finally {
      this.#giveBack(buf);
    }
  }

  /** The buffer and descriptor count of the copying forms. */
  #copyForm(
    options: unknown,
    keys: readonly string[],
    call: string,
  ): { buf: Uint8Array<ArrayBuffer>; maxFds: number } {
    const o = validateOptionKeys<SocketReceiveOptions & { size?: number }>(options, keys, call);
    const maxFds = this.#maxFds(o);
    const size = o.size === undefined ? CHUNK : validateInteger(o.size, "size", 1, MAX_IO);
    // One scratch buffer a socket for the default size, taken while a receive uses it (a
    // concurrent receive gets its own): the copy is what the caller keeps.
    let buf: Uint8Array<ArrayBuffer>;
    if (size === CHUNK && this.#scratch !== null) {
      buf = this.#scratch ?? new Uint8Array(CHUNK);
      this.#scratch = null; // in use
    } else buf = new Uint8Array(size);
    return { buf, maxFds };
  }

  #giveBack(buf: Uint8Array<ArrayBuffer>): void {
    if (buf.length === CHUNK && this.#scratch === null) this.#scratch = buf;
  }

  /**
   * Messages (on a stream socket: chunks of up to 64 KiB) as they come, with the descriptors
   * each carried, until the peer goes or `signal` aborts (both end the loop normally).
   *
   * @param options `maxFds` per message, `signal`, and `size` (the largest message, default
   *   64 KiB; longer ones are cut)
   * @returns an async iterable of messages
   */
  messages(
    options?: SocketReceiveOptions & { signal?: AbortSignal; size?: number },
  ): AsyncGenerator<SocketMessage, void> {
    const o = validateOptionKeys<SocketReceiveOptions & { signal?: AbortSignal; size?: number }>(
      options,
      ["maxFds", "signal", "size"],
      "UnixSocket.messages",
    );
    const maxFds = this.#maxFds(o);
    const { signal } = validateWaitOptions({ signal: o.signal });
    const size = o.size === undefined ? CHUNK : validateInteger(o.size, "size", 1, MAX_IO);
    const buf = new Uint8Array(size);
    return this.#messages(buf, maxFds, signal);
  }

  async *#messages(
    buf: Uint8Array,
    maxFds: number,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<SocketMessage, void> {
    const opts: SocketReceiveOptions & WaitOptions = signal === undefined
      ? { maxFds }
      : { maxFds, signal };
    for await (
      const r of receiveUntilStopped(() => this.receiveInto(buf, opts), signal, () => this.closed)
    ) {
      if (r === END_OF_STREAM) return;
      yield { data: buf.slice(0, r.length), fds: r.fds };
    }
  }

  /** Same as {@linkcode UnixSocket.messages} with no options. */
  [Symbol.asyncIterator](): AsyncGenerator<SocketMessage, void> {
    return this.messages();
  }

  /**
   * A stream socket's incoming bytes as a `ReadableStream` of chunks of up to 64 KiB, closed
   * at end of stream; cancelling it closes this socket.
   *
   * @throws {TypeError} for a message socket (iterate its messages instead)
   */
  get readable(): ReadableStream<Uint8Array<ArrayBuffer>> {
    this.#streamOnly("readable");
    return this.#readable ??= new ReadableStream<Uint8Array<ArrayBuffer>>({
      pull: async (controller) => {
        const buf = new Uint8Array(CHUNK);
        const r = await this.receiveInto(buf);
        if (r === END_OF_STREAM) {
          controller.close();
          this.close();
        } else controller.enqueue(buf.subarray(0, r.length));
      },
      cancel: () => this.close(),
    });
  }

  /**
   * A stream socket's outgoing side as a `WritableStream`; closing it shuts the socket down
   * for writing (the peer sees end of stream) and aborting it closes the socket.
   *
   * @throws {TypeError} for a message socket
   */
  get writable(): WritableStream<Uint8Array> {
    this.#streamOnly("writable");
    return this.#writable ??= new WritableStream<Uint8Array>({
      write: (chunk) => this.send(chunk),
      close: () => this.shutdownWrite(),
      abort: () => this.close(),
    });
  }

  /**
   * Shuts the sending side down (`shutdown(SHUT_WR)`): the peer gets end of stream once it has
   * read what was sent; this end can still receive.
   *
   * @throws {ClosedError} after close
   */
  shutdownWrite(): void {
    if (libc().shutdown(this.liveFd(), SOCK.SHUT_WR) !== 0) {
      throw lastError("shutdown", "shut down", this.#what);
    }
  }

  #streamOnly(what: string): void {
    if (this.#type !== "stream") {
      throw new TypeError(
        `${what} is for stream sockets; iterate a ${this.#type} socket's messages`,
      );
    }
  }

  #maxFds(options: unknown): number {
    const o = validateOptions<SocketReceiveOptions>(options);
    return o.maxFds === undefined ? 0 : validateInteger(o.maxFds, "maxFds", 0, SOCK.MAX_FDS);
  }

  /**
   * Descriptors travel with data on a stream socket: Linux sends nothing at all for zero bytes,
   * so they would never arrive. Refused before any call. (A message socket's empty message
   * does carry them.)
   */
  #checkCarrier(data: Uint8Array, fds: readonly number[]): void {
    if (fds.length > 0 && data.length === 0 && this.#type === "stream") {
      throw new RangeError(
        "descriptors on a stream socket travel with data: send at least one byte with them " +
          "(Linux sends nothing for zero bytes, so they would never arrive)",
      );
    }
  }

  /**
   * A message socket's receive needs room for at least one byte: with none, the kernel takes the
   * whole message and keeps none of it. Refused before any call.
   */
  #checkRoom(into: Uint8Array): void {
    if (into.length === 0 && this.#type !== "stream") {
      throw new RangeError(
        `into has no room: a ${this.#type} socket's message would be taken and lost whole`,
      );
    }
  }

  #fdsToSend(options: unknown): number[] {
    const o = validateOptions<SocketSendOptions>(options);
    if (o.fds === undefined) return [];
    if (!Array.isArray(o.fds)) throw new TypeError(`fds must be an array, got ${describe(o.fds)}`);
    if (o.fds.length > SOCK.MAX_FDS) {
      throw new RangeError(`at most ${SOCK.MAX_FDS} descriptors a message, got ${o.fds.length}`);
    }
    return o.fds.map(descriptorOf);
  }

  /** A control buffer of at least `bytes`, kept for the next call (and its address). */
  #controlOf(bytes: number): Uint8Array {
    if (this.#control.length < bytes) {
      this.#control = new Uint8Array(Math.max(bytes, 128));
      this.#controlAddress = ptr(this.#control);
    }
    return this.#control;
  }

  /** Points the header at `data` (`n` bytes) and at `control` (`controlLength` bytes of it). */
  #setHeader(data: Uint8Array, n: number, controlLength: number): void {
    const io = this.#io;
    const io32 = this.#io32;
    let at = 0;
    if (data.byteLength > 0) {
      if (data.buffer !== this.#lastBuffer) {
        this.#lastBase = Number(ptr(data)) - data.byteOffset;
        this.#lastBuffer = data.buffer;
      }
      at = this.#lastBase + data.byteOffset;
    }
    io32[(MSGHDR.size + IOVEC.iov_base) / 4] = at % 0x1_0000_0000;
    io32[(MSGHDR.size + IOVEC.iov_base) / 4 + 1] = Math.floor(at / 0x1_0000_0000);
    io32[(MSGHDR.size + IOVEC.iov_len) / 4] = n;
    io32[(MSGHDR.size + IOVEC.iov_len) / 4 + 1] = 0;
    io[MSGHDR.msg_control / 8] = controlLength === 0 ? 0n : this.#controlAddress;
    io32[MSGHDR.msg_controllen / 4] = controlLength;
    io32[MSGHDR.msg_controllen / 4 + 1] = 0;
    io32[MSGHDR.msg_flags / 4] = 0;
  }

  #sendmsg(data: Uint8Array, fds: readonly number[]): number | WouldBlock {
    const fd = this.liveFd();
    const n = Math.min(data.length, MAX_IO);
    const L = libc();
    const flags = SOCK.MSG_DONTWAIT | SOCK.MSG_NOSIGNAL;
    if (fds.length === 0) {
      for (;;) {
        const r = L.send(fd, data, n, flags);
        if (r >= 0) return r;
        const e = errnoOfTry();
        if (e === E.EAGAIN) return WOULD_BLOCK;
        if (e !== E.EINTR) throw new ErrnoError(e, "send", { action: `send on ${this.#what}` });
      }
    }
    const len = CMSGHDR.data + 4 * fds.length;
    const control = this.#controlOf(align8(len)).subarray(0, align8(len));
    control.fill(0);
    const c = new DataView(control.buffer, control.byteOffset, control.length);
    c.setBigUint64(CMSGHDR.cmsg_len, BigInt(len), true);
    c.setInt32(CMSGHDR.cmsg_level, SOCK.SOL_SOCKET, true);
    c.setInt32(CMSGHDR.cmsg_type, SOCK.SCM_RIGHTS, true);
    fds.forEach((f, i) => c.setInt32(CMSGHDR.data + 4 * i, f, true));
    this.#setHeader(data, n, control.length);
    for (;;) {
      const r = L.sendmsg(fd, this.#ioBytes, flags);
      if (r >= 0) return r;
      const e = errnoOfTry();
      if (e === E.EAGAIN) return WOULD_BLOCK;
      if (e !== E.EINTR) throw new ErrnoError(e, "sendmsg", { action: `send on ${this.#what}` });
    }
  }

  #recvmsg(into: Uint8Array, maxFds: number): SocketReceipt | WouldBlock | EndOfStream {
    const fd = this.liveFd();
    const held = this.#heldData;
    if (held !== undefined) {
      // The data of a receive that failed with MSG_CTRUNC: delivered now, before anything else.
      const n = Math.min(held.length, into.length);
      into.set(held.subarray(0, n));
      const streamRest = this.#type === "stream" && n < held.length;
      this.#heldData = streamRest ? held.slice(n) : undefined;
      return { length: n, fds: [], closedFds: 0, truncated: !streamRest && n < held.length };
    }
    // Room for what was asked, and always for at least a few more, so that descriptors sent
    // unasked are seen (and closed) rather than silently dropped by the kernel.
    const controlLength = align8(CMSGHDR.data + 4 * Math.max(maxFds, 1) + 4 * 16);
    const control = this.#controlOf(controlLength);
    this.#setHeader(into, Math.min(into.length, MAX_IO), controlLength);
    const { recvmsg } = libc();
    let r: number;
    for (;;) {
      r = recvmsg(fd, this.#ioBytes, SOCK.MSG_DONTWAIT | SOCK.MSG_CMSG_CLOEXEC);
      if (r >= 0) break;
      const e = errnoOfTry();
      if (e === E.EAGAIN) return WOULD_BLOCK;
      if (e !== E.EINTR) throw new ErrnoError(e, "recvmsg", { action: `receive on ${this.#what}` });
    }
    const flags = this.#io32[MSGHDR.msg_flags / 4] ?? 0;
    const got = this.#io32[MSGHDR.msg_controllen / 4] ?? 0;
    const fds = got === 0 ? [] : this.#walkControl(control, got);
    if ((flags & SOCK.MSG_CTRUNC) !== 0) {
      for (const f of fds) libc().close(f);
      // The data came all the same: held for the next receive, which returns it first.
      if (r > 0) this.#heldData = into.slice(0, r);
      throw new ErrnoError(E.EMSGSIZE, "recvmsg", {
        action: `receive descriptors on ${this.#what}`,
        detail: `more descriptors came than a control message could hold (MSG_CTRUNC); ` +
          `the ${fds.length} that arrived were closed` +
          (r > 0 ? `; the ${r} bytes of data that came with them are the next receive's` : ""),
      });
    }
    if (r === 0 && fds.length === 0 && this.#type !== "datagram" && into.length > 0) {
      // Zero bytes: the end, unless a message socket's peer sent an empty message and is still
      // there (a hang-up is what tells them apart).
      if (this.#type === "stream" || (pollNow(fd, POLL.IN) & POLL.HUP) !== 0) {
        return END_OF_STREAM;
      }
    }
    let closedFds = 0;
    while (fds.length > maxFds) {
      libc().close(fds.pop() ?? -1);
      closedFds++;
    }
    return { length: r, fds, closedFds, truncated: (flags & SOCK.MSG_TRUNC) !== 0 };
  }

  /** Every SCM_RIGHTS descriptor in the first `length` bytes of `control`, checked. */
  #walkControl(control: Uint8Array, length: number): number[] {
    const fds: number[] = [];
    const c = new DataView(control.buffer, control.byteOffset, control.length);
    const end = Math.min(length, control.length);
    for (let at = 0; at + CMSGHDR.data <= end;) {
      const len = Number(c.getBigUint64(at + CMSGHDR.cmsg_len, true));
      if (len < CMSGHDR.data || at + len > end) break; // the kernel never writes this
      const level = c.getInt32(at + CMSGHDR.cmsg_level, true);
      const type = c.getInt32(at + CMSGHDR.cmsg_type, true);
      if (level === SOCK.SOL_SOCKET && type === SOCK.SCM_RIGHTS) {
        for (let k = at + CMSGHDR.data; k + 4 <= at + len; k += 4) {
          fds.push(noteMade(c.getInt32(k, true)));
        }
      }
      at += align8(len);
    }
    return fds;
  }

  static {
    acceptSocket = (fd, type, what) => new UnixSocket(INTERNAL, fd, type, what);
  }
}

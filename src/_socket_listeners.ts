/**
 * The listeners, {@linkcode UnixListener} and {@linkcode TcpListener}, and the accepting they
 * share: the socket module's face (src/socket.ts) re-exports them.
 *
 * @module
 */

import { E, POLL, S_IFMT, S_IFSOCK, SOCK, SOCKADDR_IN, STAT } from "../ffi/constants.ts";
import { errno, errnoOfTry, libc } from "../ffi/load.ts";
import { cString, lstatPath, OutStruct } from "../ffi/util.ts";
import {
  boundKey,
  boundSocketFiles,
  boundUnixSockets,
  type SocketAddress,
  type SocketType,
} from "./_unix_diag.ts";
import { ClosedError, ErrnoError } from "./errors.ts";
import { lastError } from "./_errno.ts";
import { checkInternal, INTERNAL } from "./_internal.ts";
import { closeFd, FdSleeper, type HasFd, noteMade } from "./_fd.ts";
import { WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
import {
  describe,
  validateBoolean,
  validateInteger,
  validateMode,
  validateOptionKeys,
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

import { acceptSocket, UnixSocket } from "./_unix_socket.ts";
import { adoptListening, newSocket, sockaddr, validateType } from "./_socket_core.ts";

/** The accepting both kinds of listener do, in one place. */
class Acceptor {
  fd: number;
  #sleeper: FdSleeper | undefined;

  constructor(
    fd: number,
    readonly type: SocketType,
    readonly what: string,
    readonly noDelay: boolean,
  ) {
    this.fd = fd;
  }

  live(): number {
    if (this.fd < 0) throw new ClosedError(this.what);
    return this.fd;
  }

  tryAccept(): UnixSocket | WouldBlock {
    const fd = this.live();
    for (;;) {
      const c = libc().accept4(fd, null, null, SOCK.CLOEXEC); // a blocking end: see pair()
      if (c >= 0) {
        if (this.noDelay) {
          const one = new Uint8Array(new Int32Array([1]).buffer);
          libc().setsockopt(c, SOCK.IPPROTO_TCP, SOCK.TCP_NODELAY, one, 4);
        }
        return acceptSocket(c, this.type, `connection accepted by ${this.what}`);
      }
      const e = errnoOfTry();
      if (e === E.EAGAIN) return WOULD_BLOCK;
      if (e !== E.EINTR && e !== 103 /* ECONNABORTED */) {
        throw new ErrnoError(e, "accept4", { action: `accept on ${this.what}` });
      }
    }
  }

  async accept(options: WaitOptions | undefined): Promise<UnixSocket> {
    const opts = waitBoundsOf(options);
    const r = await waitUntil(
      () => this.tryAccept(),
      this.#sleeper ??= new FdSleeper(this.live(), POLL.IN),
      opts,
    );
    if (r === TIMED_OUT) throw timedOut(`accepting on ${this.what}`);
    return r;
  }

  connections(options: { signal?: AbortSignal } | undefined): AsyncGenerator<UnixSocket, void> {
    const { signal } = validateWaitOptions(options);
    return receiveUntilStopped(
      () => this.accept(signal ? { signal } : {}),
      signal,
      () => this.fd < 0,
    );
  }

  /** Closes the descriptor; returns false if it was closed already. */
  close(): boolean {
    if (this.fd < 0) return false;
    this.#sleeper?.close();
    closeFd(this.fd);
    this.fd = -1;
    return true;
  }
}

/** Options for {@linkcode UnixListener.listen}. */
export interface UnixListenOptions {
  /** "stream" (default) or "seqpacket". */
  type?: "stream" | "seqpacket";
  /** Connections the kernel queues before `accept` (default 128). */
  backlog?: number;
  /** Permission bits of the socket file (default 0o600), set before the path appears. */
  mode?: number;
  /** Remove a socket file a listener that is gone left at the path (off by default). */
  replaceStale?: boolean;
}

/**
 * A listening Unix socket. Made by {@linkcode UnixListener.listen}; closing it removes the
 * socket file it made.
 *
 * @example Who connected
 * ```ts
 * import { UnixListener, UnixSocket } from "@dipc/dipc";
 *
 * using listener = UnixListener.listen({ abstract: `dipc-doc-${crypto.randomUUID()}` });
 * const connecting = UnixSocket.connect(listener.address);
 * using server = await listener.accept({ timeout: 1_000 });
 * using _client = await connecting;
 * console.log(server.peerCredentials().uid === Deno.uid()); // true
 * ```
 */
export class UnixListener implements HasFd, Disposable {
  readonly #core: Acceptor;
  readonly #path: string | undefined;

  /** @ignore */
  private constructor(
    token: unknown,
    fd: number,
    type: SocketType,
    path: string | undefined,
    what: string,
  ) {
    checkInternal(token, "UnixListener.listen()");
    noteMade(fd);
    this.#core = new Acceptor(fd, type, what, false);
    this.#path = path;
  }

  /**
   * Listens on `address`. A path gets its mode before it appears (the socket is bound to a
   * private name in the same directory, chmod-ed, then linked into place, which fails rather
   * than replace anything); a path where a listener that is gone left its socket file is
   * reported as stale (EADDRINUSE) unless `replaceStale`.
   *
   * @param address a path, or `{ abstract: name }` (no file; anyone may connect: check
   *   {@linkcode UnixSocket.peerCredentials})
   * @param options `type`, `backlog`, `mode`, `replaceStale`
   * @returns the listener
   * @throws {ErrnoError} EADDRINUSE (a live listener, a stale socket file, or another file at the
   *   path), EACCES, ENOENT (no such directory)
   * @see {@link https://man7.org/linux/man-pages/man2/listen.2.html}
   *
   * @example Listen, connect, accept
   * ```ts
   * import { UnixListener, UnixSocket } from "@dipc/dipc";
   *
   * using listener = UnixListener.listen({ abstract: `dipc-doc-${crypto.randomUUID()}` });
   * const connecting = UnixSocket.connect(listener.address);
   * using server = await listener.accept({ timeout: 1000 });
   * using client = await connecting;
   * console.log(server.peerCredentials().pid === Deno.pid); // true
   * ```
   */
  static listen(address: SocketAddress, options?: UnixListenOptions): UnixListener {
    const { addr, len, what } = sockaddr(address);
    const o = validateOptionKeys<UnixListenOptions>(
      options,
      ["type", "backlog", "mode", "replaceStale"],
      "UnixListener.listen",
    );
    const type = validateType(o.type, ["stream", "seqpacket"]);
    const backlog = o.backlog === undefined ? 128 : validateInteger(o.backlog, "backlog", 1, 65535);
    const mode = o.mode === undefined ? 0o600 : validateMode(o.mode);
    const replaceStale = validateBoolean(o.replaceStale, "replaceStale");
    if (typeof address !== "string" && (o.mode !== undefined || o.replaceStale !== undefined)) {
      throw new TypeError("mode and replaceStale apply to paths, not abstract names");
    }
    const fd = newSocket(type, what);
    try {
      const L = libc();
      if (typeof address === "string") {
        bindPath(fd, address, mode, replaceStale, what);
      } else if (L.bind(fd, addr, len) !== 0) {
        throw lastError("bind", "listen on", what);
      }
      if (L.listen(fd, backlog) !== 0) throw lastError("listen", "listen on", what);
      return new UnixListener(
        INTERNAL,
        fd,
        type,
        typeof address === "string" ? address : undefined,
        `listener on ${what}`,
      );
    } catch (e) {
      closeFd(fd);
      throw e;
    }
  }

  /** Where it listens: the path, or `{ abstract }`. */
  get address(): SocketAddress {
    return this.#path ?? { abstract: this.#core.what.slice("listener on @".length) };
  }

  /** Whether {@linkcode UnixListener.close} has been called. */
  get closed(): boolean {
    return this.#core.fd < 0;
  }

  /**
   * The listening descriptor (to hand to workers with {@linkcode spawn}'s `fds`, who adopt it
   * with {@linkcode UnixListener.fromFd}). Unsafe: it stays owned by this object.
   *
   * @throws {ClosedError} after close
   */
  get unsafeFd(): number {
    return this.#core.live();
  }

  /**
   * Adopts a listening socket descriptor handed down by a parent (a prefork server's worker).
   * Closing it does not remove the socket file (the parent made it).
   *
   * @param fd the descriptor
   * @returns the listener
   * @throws {ErrnoError} EBADF, ENOTSOCK
   */
  static fromFd(fd: number): UnixListener {
    const type = adoptListening(fd, SOCK.AF_UNIX, "Unix");
    return new UnixListener(INTERNAL, fd, type, undefined, `listener on descriptor ${fd}`);
  }

  /**
   * Takes a pending connection, if there is one now.
   *
   * @returns the connected socket, or {@linkcode WOULD_BLOCK}
   * @throws {ClosedError} after close
   */
  tryAccept(): UnixSocket | WouldBlock {
    return this.#core.tryAccept();
  }

  /**
   * Takes the next connection, waiting for one.
   *
   * @param options `signal`, `timeout`
   * @returns the connected socket
   * @throws {DOMException} `TimeoutError`
   * @throws {ClosedError} after close, or when closed during the wait
   */
  accept(options?: WaitOptions): Promise<UnixSocket> {
    return this.#core.accept(options);
  }

  /**
   * Connections as they come, until `signal` aborts or the listener is closed (both end the
   * loop normally).
   *
   * @param options `signal`
   * @returns an async iterable of connected sockets
   */
  connections(options?: { signal?: AbortSignal }): AsyncGenerator<UnixSocket, void> {
    return this.#core.connections(options);
  }

  /** Same as {@linkcode UnixListener.connections} with no options. */
  [Symbol.asyncIterator](): AsyncGenerator<UnixSocket, void> {
    return this.connections();
  }

  /** Stops listening and removes the socket file it made; idempotent. */
  close(): void {
    if (this.#core.close() && this.#path !== undefined) libc().unlink(cString(this.#path));
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Options for {@linkcode TcpListener.listen}. */
export interface TcpListenOptions {
  /** The port (0: one the kernel picks; read it back from `port`). */
  port: number;
  /** An IPv4 address to listen on (default "127.0.0.1"; "0.0.0.0" for every interface). */
  hostname?: string;
  /** Connections the kernel queues before `accept` (default 128). */
  backlog?: number;
}

function inetAddress(hostname: string, port: number): Uint8Array {
  const parts = hostname.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new TypeError(
      `hostname must be an IPv4 address such as "127.0.0.1", got ${describe(hostname)}`,
    );
  }
  const addr = new Uint8Array(SOCKADDR_IN.size);
  const view = new DataView(addr.buffer);
  view.setUint16(SOCKADDR_IN.sin_family, SOCK.AF_INET, true);
  view.setUint16(SOCKADDR_IN.sin_port, port, false); // network byte order
  parts.forEach((p, k) => view.setUint8(SOCKADDR_IN.sin_addr + k, Number(p)));
  return addr;
}

/**
 * A listening TCP socket (IPv4), for servers whose listening descriptor must be handed to the
 * processes that serve it: a prefork server's workers inherit it with {@linkcode spawn}'s `fds`
 * and adopt it with {@linkcode TcpListener.fromFd}, or the parent accepts and passes each
 * connection over a Unix socket. Connections are {@linkcode UnixSocket} handles of type
 * "stream" (everything works on them but descriptor passing and peer credentials, which TCP
 * does not have); `TCP_NODELAY` is set on each.
 *
 * @example A loopback server
 * ```ts
 * import { TcpListener } from "@dipc/dipc";
 *
 * using listener = TcpListener.listen({ port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.port });
 * using server = await listener.accept({ timeout: 1_000 });
 * await client.write(new TextEncoder().encode("hi"));
 * const into = new Uint8Array(8);
 * const got = await server.receiveInto(into, { timeout: 1_000 });
 * console.log(typeof got === "object" && got.length); // 2
 * client.close();
 * ```
 */
export class TcpListener implements HasFd, Disposable {
  readonly #core: Acceptor;

  /** @ignore */
  private constructor(token: unknown, fd: number, what: string) {
    checkInternal(token, "TcpListener.listen/fromFd()");
    noteMade(fd);
    this.#core = new Acceptor(fd, "stream", what, true);
  }

  /**
   * Listens on `hostname:port` (`SO_REUSEADDR`, so a restarted server can take its port back).
   *
   * @param options `port`, `hostname`, `backlog`
   * @returns the listener
   * @throws {ErrnoError} EADDRINUSE, EACCES (a port below 1024 without the right), EADDRNOTAVAIL
   *
   * @example Any free port on loopback
   * ```ts
   * import { TcpListener } from "@dipc/dipc";
   *
   * using listener = TcpListener.listen({ port: 0 });
   * console.log(listener.port > 0); // true
   * ```
   */
  static listen(options: TcpListenOptions): TcpListener {
    const o = validateOptionKeys<TcpListenOptions>(
      options,
      ["port", "hostname", "backlog"],
      "TcpListener.listen",
    );
    if (o.port === undefined) throw new TypeError("listen needs a port (0 for any)");
    const port = validateInteger(o.port, "port", 0, 65535);
    const hostname = o.hostname ?? "127.0.0.1";
    if (typeof hostname !== "string") throw new TypeError("hostname must be a string");
    const addr = inetAddress(hostname, port);
    const backlog = o.backlog === undefined ? 128 : validateInteger(o.backlog, "backlog", 1, 65535);
    const what = `${hostname}:${port}`;
    const L = libc();
    const fd = L.socket(SOCK.AF_INET, SOCK.STREAM | SOCK.NONBLOCK | SOCK.CLOEXEC, 0);
    if (fd < 0) throw lastError("socket", "make a TCP socket for", what);
    try {
      const one = new Int32Array([1]);
      L.setsockopt(fd, SOCK.SOL_SOCKET, SOCK.SO_REUSEADDR, new Uint8Array(one.buffer), 4);
      if (L.bind(fd, addr, addr.length) !== 0) throw lastError("bind", "listen on", what);
      if (L.listen(fd, backlog) !== 0) throw lastError("listen", "listen on", what);
      return new TcpListener(INTERNAL, fd, `TCP listener on ${what}`);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
  }

  /**
   * Adopts a listening TCP descriptor handed down by a parent (made non-blocking: workers
   * sharing it race for each connection, and the losers must not block).
   *
   * @param fd the descriptor
   * @returns the listener
   * @throws {ErrnoError} EBADF, ENOTSOCK
   */
  static fromFd(fd: number): TcpListener {
    adoptListening(fd, SOCK.AF_INET, "TCP (IPv4)");
    return new TcpListener(INTERNAL, fd, `TCP listener on descriptor ${fd}`);
  }

  /** The port it listens on (the one the kernel picked, for port 0). @throws {ClosedError} */
  get port(): number {
    const addr = new Uint8Array(SOCKADDR_IN.size);
    const len = new Uint32Array([addr.length]);
    if (libc().getsockname(this.#core.live(), addr, new Uint8Array(len.buffer)) !== 0) {
      throw lastError("getsockname", "read the port of", this.#core.what);
    }
    return new DataView(addr.buffer).getUint16(SOCKADDR_IN.sin_port, false);
  }

  /** Whether {@linkcode TcpListener.close} has been called. */
  get closed(): boolean {
    return this.#core.fd < 0;
  }

  /** The listening descriptor, to hand to workers. Unsafe: it stays owned by this object. */
  get unsafeFd(): number {
    return this.#core.live();
  }

  /**
   * Takes a pending connection, if there is one now.
   *
   * @returns the connection, or {@linkcode WOULD_BLOCK}
   * @throws {ClosedError} after close
   */
  tryAccept(): UnixSocket | WouldBlock {
    return this.#core.tryAccept();
  }

  /**
   * Takes the next connection, waiting for one.
   *
   * @param options `signal`, `timeout`
   * @returns the connection
   * @throws {DOMException} `TimeoutError`
   * @throws {ClosedError} after close, or when closed during the wait
   */
  accept(options?: WaitOptions): Promise<UnixSocket> {
    return this.#core.accept(options);
  }

  /**
   * Connections as they come, until `signal` aborts or the listener is closed.
   *
   * @param options `signal`
   * @returns an async iterable of connections
   */
  connections(options?: { signal?: AbortSignal }): AsyncGenerator<UnixSocket, void> {
    return this.#core.connections(options);
  }

  /** Same as {@linkcode TcpListener.connections} with no options. */
  [Symbol.asyncIterator](): AsyncGenerator<UnixSocket, void> {
    return this.connections();
  }

  /** Stops listening; idempotent. */
  close(): void {
    this.#core.close();
  }

  /** Same as `close()`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Binds `fd` to `path` with `mode`, never wider than asked even for a moment: the socket's own
 * inode gets `mode` first (`fchmod`), which the kernel gives the file it creates at `bind`
 * (less the umask); bits the umask took are added back with `chmod`, which only widens to what
 * was asked. A socket file already at `path` is probed (`/proc/net/unix`): one no listener is
 * bound to is stale, reported unless `replaceStale`.
 */
function bindPath(
  fd: number,
  path: string,
  mode: number,
  replaceStale: boolean,
  what: string,
): void {
  const L = libc();
  const { addr, len } = sockaddr(path);
  const cpath = cString(path);
  if (L.fchmod(fd, mode) !== 0) throw lastError("fchmod", "set the mode of", what);
  for (let tries = 0;; tries++) {
    if (L.bind(fd, addr, len) === 0) break;
    const e = errno();
    if (e !== E.EADDRINUSE || tries > 0) {
      throw new ErrnoError(e, "bind", { action: "listen on", object: what });
    }
    const state = probe(path);
    if (state === "stale" && replaceStale) {
      L.unlink(cpath);
      continue;
    }
    throw new ErrnoError(E.EADDRINUSE, "bind", {
      action: "listen on",
      object: what,
      detail: state === "stale"
        ? "a socket file left by a listener that is gone (none is bound to it): remove it, or " +
          "pass replaceStale: true"
        : state === "live"
        ? "a listener is there"
        : "another file is there",
    });
  }
  const st = new OutStruct(STAT.size);
  if (L.lstat(cpath, st.bytes) === 0 && (st.u32(STAT.st_mode) & 0o7777) !== mode) {
    if (L.chmod(cpath, mode) !== 0) {
      const e = errno();
      L.unlink(cpath);
      throw new ErrnoError(e, "chmod", { action: "set the mode of", object: what });
    }
  }
}

/**
 * What is at `path`: a socket file no socket is bound to (stale), one some socket is bound to
 * (live), or something else. Bound means: by the file's inode, from the kernel's socket
 * diagnostics (src/_unix_diag.ts), so a listener that bound a relative path or went through a
 * symbolic link is still seen; where those cannot be had, any path in `/proc/net/unix` ending in
 * the same file name counts. Never by connecting, which would queue an empty connection on a
 * live listener.
 */
function probe(path: string): "stale" | "live" | "other" {
  const st = lstatPath(path);
  if (st === undefined || (st.mode & S_IFMT) !== S_IFSOCK) return "other";
  const diag = boundSocketFiles();
  if (diag !== undefined) return diag.has(boundKey(st)) ? "live" : "stale";
  const base = path.slice(path.lastIndexOf("/") + 1);
  return boundUnixSockets().some((s) =>
      typeof s.address === "string" &&
      (s.address === path || s.address === base || s.address.endsWith(`/${base}`))
    )
    ? "live"
    : "stale";
}

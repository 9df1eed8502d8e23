/**
 * What the socket module's halves share: the public option and result types, socket types by
 * number, addresses, and the calls both a connected socket and a listener make.
 *
 * @module
 */

import { E, S_IFMT, S_IFSOCK, SOCK, SOCKADDR_UN, STAT } from "../ffi/constants.ts";
import { libc } from "../ffi/load.ts";
import { OutStruct } from "../ffi/util.ts";
import { type SocketType } from "./_unix_diag.ts";
import { ErrnoError } from "./errors.ts";
import { lastError } from "./_errno.ts";
import { checkAdoptable, type HasFd, setNonblocking } from "./_fd.ts";
import { type EndOfStream, type WouldBlock } from "./_sentinels.ts";
import { describe, validateInteger } from "./_validate.ts";

/** Who is at the other end of a connected socket (`SO_PEERCRED`), as the kernel recorded it. */
export interface Credentials {
  /** The peer's pid when it connected (or made the pair). */
  pid: number;
  /** Its effective uid. */
  uid: number;
  /** Its effective gid. */
  gid: number;
}

/** Options for {@linkcode UnixSocket.trySend} and {@linkcode UnixSocket.send}. */
export interface SocketSendOptions {
  /** Descriptors to pass (`SCM_RIGHTS`): dipc handles or numbers, at most 253. */
  fds?: ReadonlyArray<HasFd | number>;
}

/** Options for {@linkcode UnixSocket.tryReceive} and {@linkcode UnixSocket.receive}. */
export interface SocketReceiveOptions {
  /** How many passed descriptors this receive accepts (default 0); others are closed. */
  maxFds?: number;
}

/** What a receive took. */
export interface SocketReceipt {
  /** Bytes received into the buffer. */
  length: number;
  /** Descriptors received (close-on-exec); the caller owns them and must close them. */
  fds: number[];
  /** Descriptors that arrived beyond `maxFds`, closed here. */
  closedFds: number;
  /** A message socket's message was longer than the buffer: the rest was discarded. */
  truncated: boolean;
}

/** A message received by iteration: a copy of its bytes, and the descriptors it carried. */
export interface SocketMessage {
  /** The message (a copy). */
  data: Uint8Array<ArrayBuffer>;
  /** Descriptors it carried (close-on-exec); the caller owns them. */
  fds: number[];
  /** From `receive()`/`tryReceive()`: the message was longer than `size`; the rest was discarded. */
  truncated?: boolean;
}

/** A receipt of a receive into a scratch buffer, as a message of its own. */
export function copied<R extends SocketReceipt | WouldBlock | EndOfStream>(
  buf: Uint8Array,
  r: R,
): SocketMessage | Exclude<R, SocketReceipt> {
  if (typeof r !== "object") return r as Exclude<R, SocketReceipt>;
  const receipt = r as SocketReceipt;
  return { data: buf.slice(0, receipt.length), fds: receipt.fds, truncated: receipt.truncated };
}

export const TYPE_NUMBERS: Record<SocketType, number> = {
  stream: SOCK.STREAM,
  seqpacket: SOCK.SEQPACKET,
  datagram: SOCK.DGRAM,
};
export const TYPE_NAMES = new Map<number, SocketType>(
  Object.entries(TYPE_NUMBERS).map(([k, v]) => [v, k as SocketType]),
);
/** Largest single send or receive (the kernel's own cap is just under 2 GiB). */
export const MAX_IO = 0x7ffff000;
/** Chunk size of a stream socket's Web Stream and of iteration. */
export const CHUNK = 65536;
export const align8 = (n: number): number => (n + 7) & ~7;
export const ptr = (b: Uint8Array): bigint =>
  b.length === 0 ? 0n : BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));

export function validateType(type: unknown, allowed: readonly SocketType[]): SocketType {
  if (type === undefined) return allowed[0] ?? "stream";
  if (typeof type !== "string" || !(allowed as readonly string[]).includes(type)) {
    throw new TypeError(
      `type must be ${allowed.map((t) => `"${t}"`).join(", ")}, got ${describe(type)}`,
    );
  }
  return type as SocketType;
}

/** `struct sockaddr_un` for `address`, and its length. */
export function sockaddr(address: unknown): { addr: Uint8Array; len: number; what: string } {
  const addr = new Uint8Array(SOCKADDR_UN.size);
  new DataView(addr.buffer).setUint16(SOCKADDR_UN.sun_family, SOCK.AF_UNIX, true);
  if (typeof address === "string") {
    if (address.length === 0) throw new TypeError("a socket path must not be empty");
    if (address.includes("\0")) throw new TypeError("a socket path must not contain NUL");
    const bytes = new TextEncoder().encode(address);
    if (bytes.length > SOCKADDR_UN.pathMax - 1) {
      throw new RangeError(
        `a socket path is at most ${SOCKADDR_UN.pathMax - 1} bytes, got ${bytes.length}`,
      );
    }
    addr.set(bytes, SOCKADDR_UN.sun_path);
    return { addr, len: SOCKADDR_UN.sun_path + bytes.length + 1, what: address };
  }
  if (typeof address === "object" && address !== null && !Array.isArray(address)) {
    const name = (address as { abstract?: unknown }).abstract;
    if (typeof name !== "string" || name.length === 0) {
      throw new TypeError('an abstract address needs a non-empty name: { abstract: "name" }');
    }
    const bytes = new TextEncoder().encode(name);
    if (bytes.length > SOCKADDR_UN.pathMax - 1) {
      throw new RangeError(
        `an abstract name is at most ${SOCKADDR_UN.pathMax - 1} bytes, got ${bytes.length}`,
      );
    }
    addr.set(bytes, SOCKADDR_UN.sun_path + 1); // sun_path[0] = 0: the abstract namespace
    return { addr, len: SOCKADDR_UN.sun_path + 1 + bytes.length, what: `@${name}` };
  }
  throw new TypeError(`address must be a path or { abstract: name }, got ${describe(address)}`);
}

export function descriptorOf(x: unknown, i: number): number {
  if (typeof x === "number") return validateInteger(x, `fds[${i}]`, 0, 0x7fffffff);
  if (typeof x === "object" && x !== null && "unsafeFd" in x) {
    const fd = (x as HasFd).unsafeFd;
    return validateInteger(fd, `fds[${i}].unsafeFd`, 0, 0x7fffffff);
  }
  throw new TypeError(`fds[${i}] must be a descriptor number or a handle, got ${describe(x)}`);
}

export function newSocket(type: SocketType, what: string): number {
  const fd = libc().socket(SOCK.AF_UNIX, TYPE_NUMBERS[type] | SOCK.NONBLOCK | SOCK.CLOEXEC, 0);
  if (fd < 0) throw lastError("socket", "make a socket for", what);
  return fd;
}

/** One integer socket option of `fd` (`getsockopt`). */
export function intOption(fd: number, level: number, name: number, what: string): number {
  const val = new Int32Array(1);
  const len = new Uint32Array([4]);
  const got = libc().getsockopt(
    fd,
    level,
    name,
    new Uint8Array(val.buffer),
    new Uint8Array(len.buffer),
  );
  if (got !== 0) throw lastError("getsockopt", `read option ${name} of`, what);
  return val[0] ?? 0;
}

/** Checks that `fd` is an open socket and returns its type (EBADF, ENOTSOCK otherwise). */
export function socketTypeOf(fd: number): SocketType {
  validateInteger(fd, "fd", 0, 0x7fffffff);
  const what = `descriptor ${fd}`;
  checkAdoptable(fd, what);
  const st = new OutStruct(STAT.size);
  if (libc().fstat(fd, st.bytes) !== 0) throw lastError("fstat", "adopt", what);
  if ((st.u32(STAT.st_mode) & S_IFMT) !== S_IFSOCK) {
    throw new ErrnoError(E.ENOTSOCK, "fstat", { action: "adopt", object: what });
  }
  const raw = intOption(fd, SOCK.SOL_SOCKET, SOCK.SO_TYPE, what);
  const type = TYPE_NAMES.get(raw);
  if (type === undefined) throw new TypeError(`${what} is a socket of an unknown type (${raw})`);
  return type;
}

/**
 * Checks that `fd` is a listening socket of `family` and makes it non-blocking (workers that
 * share it race for each connection, and the losers must not block); returns its type.
 */
export function adoptListening(fd: number, family: number, kind: string): SocketType {
  const type = socketTypeOf(fd);
  const what = `descriptor ${fd}`;
  if (intOption(fd, SOCK.SOL_SOCKET, SOCK.SO_DOMAIN, what) !== family) {
    throw new ErrnoError(E.EINVAL, "getsockopt", {
      action: "adopt",
      object: what,
      detail: `not a ${kind} socket`,
    });
  }
  if (intOption(fd, SOCK.SOL_SOCKET, SOCK.SO_ACCEPTCONN, what) === 0) {
    throw new ErrnoError(E.EINVAL, "getsockopt", {
      action: "adopt",
      object: what,
      detail: "not a listening socket",
    });
  }
  setNonblocking(fd, true, `listener on ${what}`);
  return type;
}

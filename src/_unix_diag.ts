/**
 * Which socket files some process has a socket bound to, by the file's device and inode, from
 * the kernel's socket diagnostics (`sock_diag(7)`, `UDIAG_SHOW_VFS`: what `ss -x` reads). A path
 * comparison with `/proc/net/unix` is not enough: that file holds the path *as bound*, which may
 * be relative to the binder's directory of the time or go through a symbolic link, so a live
 * listener's file could pass for one nobody has bound. The inode cannot be fooled that way.
 *
 * Where netlink socket diagnostics are not available (some sandboxes), the answer is undefined and
 * callers must treat every socket file as possibly bound.
 *
 * @module
 */

import { SOCK, UNIX_DIAG as D } from "../ffi/constants.ts";
import { libc } from "../ffi/load.ts";
import { type PathStat, readProcText } from "../ffi/util.ts";

/** A socket's type: a byte stream, or messages whose boundaries are kept. */
export type SocketType = "stream" | "seqpacket" | "datagram";

/** Where a socket listens or connects: a file-system path, or a name in Linux's abstract namespace. */
export type SocketAddress = string | { abstract: string };

/** The kernel's socket type numbers, by name. */
const SOCKET_TYPES = new Map<number, SocketType>([
  [SOCK.STREAM, "stream"],
  [SOCK.SEQPACKET, "seqpacket"],
  [SOCK.DGRAM, "datagram"],
]);

/**
 * The kernel's device number of a file system (as `udiag_vfs_dev` gives it: major << 20 |
 * minor) in the encoding `stat` gives `st_dev`.
 */
function userDev(kernelDev: number): number {
  const major = kernelDev >>> 20;
  const minor = kernelDev & 0xfffff;
  return (minor & 0xff) | (major << 8) | ((minor & ~0xff) * 0x1000);
}

const key = (dev: number, ino: number): string => `${dev}:${ino}`;

/**
 * The bound socket files, as "dev:ino" keys (see {@linkcode boundKey}); undefined when the
 * kernel cannot be asked.
 */
export function boundSocketFiles(): Set<string> | undefined {
  const L = libc();
  const fd = L.socket(D.AF_NETLINK, D.SOCK_RAW | SOCK.CLOEXEC, D.NETLINK_SOCK_DIAG);
  if (fd < 0) return undefined;
  try {
    const req = new Uint8Array(D.nlmsghdr_size + D.req_size);
    const v = new DataView(req.buffer);
    v.setUint32(0, req.length, true);
    v.setUint16(4, D.SOCK_DIAG_BY_FAMILY, true);
    v.setUint16(6, D.NLM_F_REQUEST | D.NLM_F_DUMP, true);
    v.setUint32(8, 1, true);
    v.setUint8(16, SOCK.AF_UNIX);
    v.setUint32(20, 0xffffffff, true); // every state
    v.setUint32(28, D.UDIAG_SHOW_VFS, true);
    if (L.write(fd, req, req.length) !== req.length) return undefined;
    const found = new Set<string>();
    const buf = new Uint8Array(32 * 1024);
    const view = new DataView(buf.buffer);
    // Bounded: a dump of N sockets is N records; no more reads than that could need.
    for (let reads = 0; reads < 1_000_000; reads++) {
      const n = L.read(fd, buf, buf.length);
      if (n <= 0) return undefined;
      let at = 0;
      while (at + D.nlmsghdr_size <= n) {
        const len = view.getUint32(at, true);
        const type = view.getUint16(at + 4, true);
        if (len < D.nlmsghdr_size || at + len > n) return undefined; // malformed: cannot tell
        if (type === D.NLMSG_DONE) return found;
        if (type === D.NLMSG_ERROR) return undefined;
        // The attributes after the message: each len u16, type u16, payload, padded to 4.
        let a = at + D.nlmsghdr_size + D.msg_size;
        while (a + 4 <= at + len) {
          const alen = view.getUint16(a, true);
          const atype = view.getUint16(a + 2, true);
          if (alen < 4 || a + alen > at + len) break;
          if (atype === D.UNIX_DIAG_VFS && alen >= 12) {
            const ino = view.getUint32(a + 4, true);
            const dev = view.getUint32(a + 8, true);
            found.add(key(userDev(dev), ino));
          }
          a += (alen + 3) & ~3;
        }
        at += (len + 3) & ~3;
      }
    }
    return undefined;
  } finally {
    L.close(fd);
  }
}

/** The key of a socket file in {@linkcode boundSocketFiles}'s set. */
export function boundKey(st: PathStat): string {
  return key(st.dev, st.ino);
}

/** A bound Unix socket as `/proc/net/unix` lists it. */
export interface BoundUnixSocket {
  /** The path, or `{ abstract }` for a name in the abstract namespace. */
  address: SocketAddress;
  /** The socket's type. */
  type: SocketType;
  /** Whether it is listening (a listener, as opposed to one end of a connection). */
  listening: boolean;
  /** Its inode number: `/proc/PID/fd` links of the processes that hold it say `socket:[inode]`. */
  inode: number;
}

/**
 * Every bound Unix socket in this network namespace, as `/proc/net/unix` lists them (read
 * through FFI: no `--allow-read` needed). Unnamed sockets (pairs, the client end of a
 * connection) are left out.
 *
 * @returns the sockets, in the kernel's order
 *
 * @example Find the listener you just made
 * ```ts
 * import { boundUnixSockets, UnixListener } from "@dipc/dipc";
 *
 * const name = `dipc-doc-${crypto.randomUUID()}`;
 * using listener = UnixListener.listen({ abstract: name });
 * const mine = boundUnixSockets().find((s) =>
 *   typeof s.address !== "string" && s.address.abstract === name
 * );
 * console.log(mine?.listening); // true
 * ```
 */
export function boundUnixSockets(): BoundUnixSocket[] {
  const SO_ACCEPTCON = 0x10000; // the "Flags" column of a listening socket
  const found: BoundUnixSocket[] = [];
  for (const line of readProcText("/proc/net/unix").split("\n").slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path (the path may hold spaces)
    const cols = line.trim().split(/\s+/);
    if (cols.length < 8) continue;
    const path = line.trim().split(/\s+/).slice(7).join(" ");
    const type = SOCKET_TYPES.get(parseInt(cols[4] ?? "", 16));
    if (type === undefined) continue;
    found.push({
      address: path.startsWith("@") ? { abstract: path.slice(1) } : path,
      type,
      listening: (parseInt(cols[3] ?? "0", 16) & SO_ACCEPTCON) !== 0,
      inode: Number(cols[6]),
    });
  }
  return found;
}

/**
 * Unix domain sockets where Deno's built-ins stop: socket pairs of every type, listening and
 * connecting on paths and on Linux's abstract namespace, descriptor passing (`SCM_RIGHTS`), and
 * peer credentials (`SO_PEERCRED`).
 *
 * - {@linkcode UnixSocket.pair} makes two connected ends in this process (`socketpair`): keep one
 *   and hand the other to a child with {@linkcode spawn}'s `fds`, where
 *   {@linkcode UnixSocket.fromFd} adopts it.
 * - {@linkcode UnixListener.listen} binds a path (mode 0600 unless asked, set before the path
 *   appears) or an abstract name (`{ abstract: "name" }`); {@linkcode UnixSocket.connect}
 *   connects to one. A path left by a listener that is gone is reported (EADDRINUSE, "stale"),
 *   not silently replaced; `replaceStale: true` removes it.
 * - Types: `"stream"` (a byte stream, like a pipe both ways), `"seqpacket"` (messages, boundaries
 *   kept, connection-oriented, end of stream when the peer closes) and `"datagram"` (messages,
 *   boundaries kept).
 * - Sending takes `{ fds }`: any dipc handle (pipe ends, shared memory, queues, sockets, eventfds:
 *   anything with an `unsafeFd`) or a descriptor number; the receiver gets its own copies, opened
 *   close-on-exec (`MSG_CMSG_CLOEXEC`). A receive says how many it accepts (`maxFds`, default 0):
 *   every control message is walked; descriptors beyond what was asked are closed at once
 *   (counted in `closedFds`), and a control message the kernel had to cut short (`MSG_CTRUNC`)
 *   is an error after closing what did arrive; the data that came with it is not lost (the next
 *   receive returns it). The caller owns the descriptors it is given. On a stream socket
 *   descriptors travel with data: sending them with zero bytes is refused (Linux would send
 *   nothing). A message socket's receive needs room for a byte (an empty buffer is refused,
 *   since the kernel would take the message and keep none of it).
 * - Every operation has a `try…` form (`WOULD_BLOCK` when it would wait), an async form taking
 *   `{ signal, timeout }` (waiting through the wait core's epoll set, never a thread of its own),
 *   `END_OF_STREAM` when the peer has gone, Web Streams for stream sockets, and async iteration
 *   of messages.
 *
 * @example A message and a pipe end through a socket pair
 * ```ts
 * import { END_OF_STREAM, Pipe, PipeReader, UnixSocket } from "@dipc/dipc";
 *
 * const [a, b] = UnixSocket.pair({ type: "seqpacket" });
 * using pipe = Pipe.create();
 * await a.send(new TextEncoder().encode("here is a pipe"), { fds: [pipe.reader] });
 * const into = new Uint8Array(64);
 * const got = await b.receiveInto(into, { maxFds: 1, timeout: 1000 });
 * if (got !== END_OF_STREAM) {
 *   using reader = PipeReader.fromFd(got.fds[0] ?? -1); // the pipe's read end, a copy of ours
 *   await pipe.writer.write(new TextEncoder().encode("through it"));
 *   pipe.writer.close();
 *   console.log(new TextDecoder().decode(into.subarray(0, got.length)), await reader.text());
 * }
 * a.close();
 * b.close();
 * ```
 *
 * @see {@link https://man7.org/linux/man-pages/man7/unix.7.html}
 * @module
 */

export { FdHandle, type HasFd } from "./_fd.ts";
export {
  type BoundUnixSocket,
  boundUnixSockets,
  type SocketAddress,
  type SocketType,
} from "./_unix_diag.ts";
export type { WaitOptions } from "./_wait.ts";
export { END_OF_STREAM, type EndOfStream, WOULD_BLOCK, type WouldBlock } from "./_sentinels.ts";
export {
  type Credentials,
  type SocketMessage,
  type SocketReceipt,
  type SocketReceiveOptions,
  type SocketSendOptions,
} from "./_socket_core.ts";
export { UnixSocket } from "./_unix_socket.ts";
export {
  TcpListener,
  type TcpListenOptions,
  UnixListener,
  type UnixListenOptions,
} from "./_socket_listeners.ts";

/**
 * The thread of a kernel waiter (src/_kernel_wait.ts): a Web Worker that makes one blocking call
 * at a time on its own thread, where blocking is allowed and errno is its own. It reports its thread
 * id first, so the main thread can interrupt a call with a thread-directed signal (System V
 * calls then return EINTR having taken nothing).
 *
 * @module
 */

import { SYS } from "../ffi/constants.ts";
import { errno, libc, librt } from "../ffi/load.ts";

/** What the main thread asks for. */
export type KernelRequest =
  | { op: "mq"; fd: number; size: number; sliceMs: number }
  | { op: "msg"; id: number; size: number; type: bigint; flags: number }
  | { op: "sem"; id: number; sops: Uint8Array; count: number };

/** What a call gave: its result, and errno when it failed (0 otherwise). */
export interface KernelResult {
  r: number;
  errno: number;
  data?: Uint8Array<ArrayBuffer>;
  priority?: number;
  type?: bigint;
}

/** What the thread answers: its thread id first, then one result per request. */
export type KernelReply = { tid: number } | KernelResult;

const scope = self as unknown as {
  postMessage(message: KernelReply, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<KernelRequest>) => void) | null;
};

const priority = new Uint32Array(1);
const deadline = new BigInt64Array(2);
const now = new BigInt64Array(2);

function call(req: KernelRequest): KernelReply {
  switch (req.op) {
    case "mq": {
      // An absolute CLOCK_REALTIME deadline one slice away: mq_timedreceive may be restarted
      // after a signal, so the slice is what keeps this thread answerable.
      libc().clock_gettime(0, new Uint8Array(now.buffer));
      const ns = (now[0] ?? 0n) * 1_000_000_000n + (now[1] ?? 0n) +
        BigInt(req.sliceMs) * 1_000_000n;
      deadline[0] = ns / 1_000_000_000n;
      deadline[1] = ns % 1_000_000_000n;
      const buf = new Uint8Array(req.size);
      const r = librt().mq_timedreceive(
        req.fd,
        buf,
        req.size,
        priority,
        new Uint8Array(deadline.buffer),
      );
      if (r < 0) return { r, errno: errno() };
      return { r, errno: 0, data: buf.subarray(0, r), priority: priority[0] ?? 0 };
    }
    case "msg": {
      const buf = new Uint8Array(8 + req.size);
      const r = libc().msgrcv(req.id, buf, req.size, req.type, req.flags);
      if (r < 0) return { r, errno: errno() };
      const type = new DataView(buf.buffer).getBigInt64(0, true);
      return { r, errno: 0, data: buf.subarray(8, 8 + r), type };
    }
    case "sem": {
      const r = libc().semop(req.id, req.sops, req.count);
      return { r, errno: r < 0 ? errno() : 0 };
    }
  }
}

scope.onmessage = (e): void => {
  const reply = call(e.data);
  const data = "data" in reply ? reply.data : undefined;
  scope.postMessage(reply, data ? [data.buffer as ArrayBuffer] : []);
};
scope.postMessage({ tid: libc().gettid(SYS.gettid) });

/**
 * dipc: Unix inter-process communication for Deno, through libc via `Deno.dlopen`.
 *
 * Modules:
 *
 * - shared memory: POSIX ({@linkcode SharedMemory}) and System V ({@linkcode SysVSharedMemory},
 *   keys from {@linkcode ftok}), both {@linkcode MappedMemory};
 * - futex wait and wake on shared words ({@linkcode futexWait}, {@linkcode futexWake});
 * - fork-free child processes that can be handed any descriptor ({@linkcode spawn}), and Deno
 *   children with exactly the permissions given ({@linkcode spawnDeno});
 * - pipes ({@linkcode Pipe}) and FIFOs ({@linkcode mkfifo}, {@linkcode openFifoReader});
 * - signals ({@linkcode kill}, {@linkcode sigqueue}, {@linkcode signals});
 * - message queues: POSIX ({@linkcode MessageQueue}) and System V ({@linkcode SysVMessageQueue});
 * - semaphores: POSIX ({@linkcode Semaphore}) and System V sets ({@linkcode SysVSemaphoreSet});
 * - locks that survive their holder's death: {@linkcode SharedMutex} with
 *   {@linkcode SharedCondition} and {@linkcode Monitor}, and the C-compatible
 *   {@linkcode PthreadMutex};
 * - a message channel in shared memory, the bounded buffer ({@linkcode RingChannel});
 * - Unix domain sockets with descriptor passing and peer credentials ({@linkcode UnixSocket},
 *   {@linkcode UnixListener}), and a TCP listener to hand to worker processes
 *   ({@linkcode TcpListener});
 * - waiting on many handles at once ({@linkcode poll}, {@linkcode Poller}) and a cross-process
 *   wake-up ({@linkcode EventFd});
 * - advisory file locks, shared or exclusive, released when their holder dies
 *   ({@linkcode LockFile});
 * - every IPC object on the machine in one list, and what is stale ({@linkcode listIpcObjects});
 * - the error types ({@linkcode ErrnoError}, {@linkcode ClosedError},
 *   {@linkcode ForeignOwnerError}) and the two results that are not data
 *   ({@linkcode WOULD_BLOCK}, {@linkcode END_OF_STREAM}).
 *
 * One set of conventions (docs/API.md has them in full): a `try…` form returns its result or
 * {@linkcode WOULD_BLOCK}; a read or receive after the last writer returns
 * {@linkcode END_OF_STREAM}; every async wait takes `{ signal, timeout }` and every `…Sync` form
 * `{ timeout }`, and a timeout that passes throws a `TimeoutError` (`futexWait` returns
 * `"timed-out"`, as `Atomics.wait` does); named objects have `open` (existing only), `create`
 * (exclusive unless `exclusive: false`) and `temporary`; objects placed in shared memory have
 * `size`, `init(memory, offset)` and `at(memory, offset)`. Every wait shares the process's wait
 * core, so no number of pending waits freezes Deno; every word read from shared memory is
 * checked. Everything needs `--allow-ffi`, which lets code call any C function and so bypasses
 * Deno's sandbox entirely.
 *
 * @example Two processes' worth of shared memory in one
 * ```ts
 * import { futexWait, futexWake, SharedMemory } from "@dipc/dipc";
 *
 * using shm = SharedMemory.temporary({ size: 4096 });
 * const flag = shm.int32(0, 1);
 * queueMicrotask(() => {
 *   shm.bytes.set(new TextEncoder().encode("ready"), 4);
 *   Atomics.store(flag, 0, 1);
 *   futexWake(flag, 0);
 * });
 * while (Atomics.load(flag, 0) === 0) await futexWait(flag, 0, 0);
 * console.log(new TextDecoder().decode(shm.bytes.subarray(4, 9))); // "ready"
 * ```
 *
 * @module
 */

export {
  ClosedError,
  END_OF_STREAM,
  type EndOfStream,
  ErrnoError,
  type ErrnoErrorOptions,
  ForeignOwnerError,
  WorkerExitError,
  WOULD_BLOCK,
  type WouldBlock,
} from "./src/errors.ts";
export {
  type FutexArray,
  futexWait,
  type FutexWaitResult,
  futexWaitSync,
  futexWake,
  type WaitOptions,
} from "./src/futex.ts";
export * from "./src/fifo.ts";
export * from "./src/mapped_memory.ts";
export * from "./src/mq.ts";
export * from "./src/pipe.ts";
export * from "./src/shm.ts";
export * from "./src/signal.ts";
export * from "./src/spawn.ts";
export * from "./src/sysv_key.ts";
export * from "./src/sysv_mq.ts";
export * from "./src/sysv_shm.ts";
export * from "./src/semaphore.ts";
export * from "./src/sysv_sem.ts";
export * from "./src/mutex.ts";
export * from "./src/pthread_mutex.ts";
export * from "./src/ring.ts";
export * from "./src/socket.ts";
export * from "./src/poll.ts";
export * from "./src/file_lock.ts";
export * from "./src/inventory.ts";
export * from "./src/channel.ts";
export * from "./src/pool.ts";

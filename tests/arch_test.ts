// Every struct, constant and FFI signature dipc uses, exercised in one process and checked
// against what the system reports: the part of the suite that runs on aarch64 under
// qemu-aarch64 in CI (tools/ci.ts), as well as natively here. In one process because qemu-user
// cannot exec a second aarch64 Deno (no binfmt_misc in CI); with try and blocking forms because
// epoll readiness of a POSIX queue's descriptor never arrives under qemu-user 7.2 (a wait on a
// pipe or a futex does). The C programs it starts are the host's own.
import assert from "node:assert/strict";
import {
  Channel,
  END_OF_STREAM,
  ErrnoError,
  EventFd,
  futexWait,
  futexWaitSync,
  futexWake,
  jsonCodec,
  listIpcObjects,
  LockFile,
  MessageQueue,
  Pipe,
  PthreadMutex,
  RingChannel,
  Semaphore,
  SharedMemory,
  SharedMutex,
  sigqueue,
  spawn,
  SysVMessageQueue,
  SysVSemaphoreSet,
  SysVSharedMemory,
  UnixSocket,
  WOULD_BLOCK,
} from "../mod.ts";
import { PER_ARCH } from "../ffi/constants.ts";
import { childrenCpuNs, clockNs, cpuTimeNs } from "../ffi/util.ts";
import { ipcTest, thrown } from "./_helpers.ts";

const uid = Deno.uid() ?? 0;
/**
 * Set by tools/ci.ts for the run under qemu-aarch64, whose System V emulation leaves
 * `msg_lrpid` 0 (an aarch64 C program run under it shows the same; natively it is right).
 */
const EMULATOR = Deno.env.get("DIPC_EMULATOR");

ipcTest(`this is ${Deno.build.arch}, and the constants in use are its own`, () => {
  assert.ok(Deno.build.arch in PER_ARCH, `no constants for ${Deno.build.arch}`);
});

ipcTest("POSIX shared memory: fstat's size, mode and owner (struct stat)", () => {
  using shm = SharedMemory.temporary({ size: 12_345 });
  const st = shm.stat();
  assert.equal(st.size, 12_345);
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(st.uid, uid);
  shm.bytes[12_344] = 7;
  assert.equal(shm.bytes[12_344], 7);
});

ipcTest("System V shared memory: shmid_ds as the kernel fills it", () => {
  using seg = SysVSharedMemory.temporary({ size: 8192 });
  const st = seg.stat();
  assert.equal(st.size, 8192);
  assert.equal(st.attachments, 1);
  assert.equal(st.creatorPid, Deno.pid);
  assert.equal(st.mode & 0o777, 0o600);
  assert.equal(st.uid, uid);
  assert.equal(st.cuid, uid);
});

ipcTest("System V queues: msqid_ds, typed messages, a blocking send and receive", () => {
  using q = SysVMessageQueue.temporary();
  q.sendSync(new Uint8Array([1, 2, 3]), { type: 5 });
  assert.equal(q.trySend(new Uint8Array([4]), { type: 9 }), undefined);
  const st = q.stat();
  assert.equal(st.messages, 2);
  assert.equal(st.bytes, 4);
  assert.equal(st.lastSendPid, Deno.pid);
  assert.ok(st.maxBytes >= 4);
  const m = q.receiveSync({ type: 9, timeout: 1000 });
  assert.deepEqual([...m.data], [4]);
  assert.equal(m.type, 9);
  const into = new Uint8Array(8);
  assert.deepEqual(q.receiveIntoSync(into, { type: 5, timeout: 1000 }), { length: 3, type: 5 });
  if (EMULATOR === undefined) assert.equal(q.stat().lastReceivePid, Deno.pid);
  const e = thrown(() => q.receiveSync({ timeout: 10 }));
  assert.ok(e instanceof DOMException && e.name === "TimeoutError");
  const big = 2n ** 60n;
  q.trySend(new Uint8Array([6]), { type: big });
  assert.equal(q.tryReceive({ type: big }) !== WOULD_BLOCK, true);
});

ipcTest("System V semaphores: semid_ds, sembuf operations, a timed semop", () => {
  using set = SysVSemaphoreSet.temporary({ count: 3 });
  assert.equal(set.stat().count, 3);
  set.setAll([1, 2, 3]);
  assert.deepEqual(set.getAll(), [1, 2, 3]);
  set.opSync([{ index: 0, op: -1 }, { index: 2, op: 2, undo: true }]);
  assert.deepEqual(set.getAll(), [0, 2, 5]);
  assert.equal(set.lastPid(2), Deno.pid);
  assert.equal(set.tryOp([{ index: 0, op: -1 }]), WOULD_BLOCK);
  const e = thrown(() => set.opSync([{ index: 0, op: -1 }], { timeout: 20 }));
  assert.ok(e instanceof DOMException && e.name === "TimeoutError", `${e}`);
});

ipcTest("POSIX queues: mq_attr, priorities, blocking send and timed receive", () => {
  using q = MessageQueue.temporary({ maxMessages: 3, messageSize: 32 });
  assert.deepEqual(
    { ...q.stat() },
    { maxMessages: 3, messageSize: 32, currentMessages: 0, nonblocking: true },
  );
  q.sendSync(new Uint8Array([1]), { priority: 1 });
  q.sendSync(new Uint8Array([2]), { priority: 9 });
  assert.equal(q.stat().currentMessages, 2);
  const into = new Uint8Array(32);
  assert.deepEqual(q.receiveIntoSync(into, { timeout: 1000 }), { length: 1, priority: 9 });
  assert.deepEqual(q.receiveIntoSync(into, { timeout: 1000 }), { length: 1, priority: 1 });
  const e = thrown(() => q.receiveIntoSync(into, { timeout: 10 }));
  assert.ok(e instanceof DOMException && e.name === "TimeoutError");
});

ipcTest("futex: a timed wait (timespec) and a wake; waits on a word in shared memory", async () => {
  using shm = SharedMemory.temporary({ size: 64 });
  const word = shm.int32(0, 1);
  assert.equal(futexWaitSync(word, 0, 0, 10), "timed-out");
  setTimeout(() => {
    Atomics.store(word, 0, 1);
    futexWake(word, 0);
  }, 20);
  assert.notEqual(await futexWait(word, 0, 0, { timeout: 10_000 }), "timed-out");
});

ipcTest("semaphores, mutexes and a pthread mutex in shared memory (sem_t, pthread_mutex_t)", () => {
  using shm = SharedMemory.temporary({ size: 4096 });
  const sem = Semaphore.init(shm, 0, { value: 1 });
  assert.equal(sem.value, 1);
  assert.equal(sem.tryWait(), undefined);
  assert.equal(sem.tryWait(), WOULD_BLOCK);
  sem.post();
  sem.waitSync({ timeout: 1000 });
  const mutex = SharedMutex.init(shm, 256);
  const g = mutex.tryLock();
  assert.ok(g !== WOULD_BLOCK);
  assert.equal(mutex.tryLock(), WOULD_BLOCK);
  g.unlock();
  const pm = PthreadMutex.init(shm, 1024);
  {
    using guard = pm.lockSync({ timeout: 1000 });
    assert.equal(guard.ownerDied, false);
    assert.equal(pm.tryLock(), WOULD_BLOCK);
  }
  const again = pm.tryLock();
  assert.ok(again !== WOULD_BLOCK);
  again.unlock();
});

ipcTest("the ring channel: messages, batches, zero-copy, end of stream, as a Channel", () => {
  using ring = RingChannel.temporary({ capacity: 1 << 14 });
  using tx = ring.sender();
  using rx = ring.receiver();
  tx.sendSync(new Uint8Array([1, 2, 3]), { timeout: 1000 });
  assert.deepEqual(rx.receiveSync({ timeout: 1000 }), new Uint8Array([1, 2, 3]));
  const batch = Array.from({ length: 10 }, (_, i) => new Uint8Array([i]));
  tx.sendBatchSync(batch, { timeout: 1000 });
  const into = new Uint8Array(64);
  const lengths = new Uint32Array(16);
  assert.equal(rx.receiveBatchSync(into, lengths, { timeout: 1000 }), 10);
  tx.tryReserve(4) !== WOULD_BLOCK && tx.commit(4);
  const seen = rx.tryPeek();
  assert.ok(seen instanceof Uint8Array && seen.length === 4);
  rx.release();
  tx.close();
  assert.equal(rx.tryReceive(), END_OF_STREAM);
  using q = MessageQueue.temporary({ maxMessages: 4, messageSize: 128 });
  using ch = Channel.posixQueue(MessageQueue.open(q.name), { codec: jsonCodec });
  ch.sendSync({ arch: Deno.build.arch });
  assert.deepEqual(ch.receiveSync({ timeout: 1000 }), { arch: Deno.build.arch });
});

ipcTest("pipes: capacity (F_GETPIPE_SZ), try forms, an async read", async () => {
  using p = Pipe.create({ capacity: 1 << 16 });
  assert.ok(p.writer.capacity >= 1 << 16);
  assert.equal(p.reader.tryRead(new Uint8Array(4)), WOULD_BLOCK);
  setTimeout(() => p.writer.tryWrite(new Uint8Array([9, 8])), 10);
  const buf = new Uint8Array(4);
  assert.equal(await p.reader.read(buf, { timeout: 10_000 }), 2);
  p.writer.close();
  assert.equal(await p.reader.read(buf, { timeout: 10_000 }), END_OF_STREAM);
});

ipcTest("sockets: msghdr and cmsghdr (a descriptor passed), ucred, sockaddr_un", async () => {
  const [a, b] = UnixSocket.pair({ type: "seqpacket" });
  using _a = a;
  using _b = b;
  const creds = a.peerCredentials();
  assert.deepEqual([creds.pid, creds.uid], [Deno.pid, uid]);
  using p = Pipe.create();
  assert.equal(a.trySend(new Uint8Array([1, 2]), { fds: [p.writer] }), 2);
  const r = b.tryReceive(new Uint8Array(8), { maxFds: 2 });
  assert.ok(typeof r === "object" && r.length === 2 && r.fds.length === 1);
  const passed = r.fds[0] ?? -1;
  // The passed descriptor is the pipe's write end: bytes written to it come out of the reader.
  const w = await import("../mod.ts").then((m) => m.PipeWriter.fromFd(passed));
  w.tryWrite(new Uint8Array([42]));
  w.close();
  const got = new Uint8Array(1);
  assert.equal(p.reader.tryRead(got), 1);
  assert.equal(got[0], 42);
  const dir = Deno.makeTempDirSync({ prefix: "dipc-arch-" });
  try {
    const { UnixListener } = await import("../mod.ts");
    using l = UnixListener.listen(`${dir}/s`);
    assert.equal(l.address, `${dir}/s`);
    assert.equal((Deno.statSync(`${dir}/s`).mode ?? 0) & 0o777, 0o600);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

ipcTest("epoll (struct epoll_event) and eventfd", async () => {
  using ev = EventFd.create();
  assert.equal(ev.tryRead(), WOULD_BLOCK);
  ev.write(3);
  assert.equal(ev.tryRead(), 3n);
  const { poll } = await import("../mod.ts");
  using p = Pipe.create();
  p.writer.tryWrite(new Uint8Array([1]));
  const ready = await poll([{ handle: p.reader, read: true }], { timeout: 10_000 });
  assert.equal(ready.length, 1);
});

ipcTest("file locks: struct flock (who holds it), flock", () => {
  const dir = Deno.makeTempDirSync({ prefix: "dipc-arch-" });
  try {
    using one = LockFile.open(`${dir}/lock`);
    using two = LockFile.open(`${dir}/lock`);
    const g = one.tryLock({ start: 10, length: 5 });
    assert.ok(g !== WOULD_BLOCK);
    assert.equal(two.tryLock({ start: 12, length: 1 }), WOULD_BLOCK);
    const holder = two.conflict({ start: 12, length: 1 });
    assert.ok(holder !== undefined && holder.start === 10 && holder.length === 5, `${holder}`);
    g.unlock();
    const f = one.tryFlock();
    assert.ok(f !== WOULD_BLOCK);
    assert.equal(two.tryFlock(), WOULD_BLOCK);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

ipcTest("posix_spawn, descriptors handed over, wait4's rusage; CPU clocks", async () => {
  using p = Pipe.create();
  await using child = spawn("/bin/sh", {
    args: ["-c", "printf hi >&3; exit 3"],
    fds: { 3: p.writer },
  });
  p.writer.close();
  assert.equal(await p.reader.text({ timeout: 30_000 }), "hi");
  const status = await child.status;
  assert.equal(status.code, 3);
  assert.ok(status.cpuTime !== undefined && status.cpuTime.user >= 0);
  assert.ok(childrenCpuNs() >= 0 && cpuTimeNs() > 0);
  const t0 = clockNs();
  assert.ok(clockNs() >= t0);
});

ipcTest("signals: sigqueue to this process (siginfo's value goes with it)", async () => {
  let got = 0;
  const handler = (): void => void got++;
  Deno.addSignalListener("SIGUSR2", handler);
  try {
    sigqueue(Deno.pid, "SIGUSR2", 1234);
    for (let i = 0; i < 200 && got === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got, 1);
    const e = thrown(() => sigqueue(2 ** 22 + 12_345, "SIGUSR2", 1));
    assert.ok(e instanceof ErrnoError && e.code === "ESRCH", `${e}`);
  } finally {
    Deno.removeSignalListener("SIGUSR2", handler);
  }
});

ipcTest("the inventory reads /dev/shm and /proc/sysvipc (dirent, stat)", () => {
  using shm = SharedMemory.temporary({ size: 4096 });
  using seg = SysVSharedMemory.temporary({ size: 4096 });
  const all = listIpcObjects().objects;
  assert.ok(all.some((o) => o.name === shm.name), "the POSIX segment is listed");
  assert.ok(all.some((o) => o.id === seg.id), "the System V segment is listed");
});

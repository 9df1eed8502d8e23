// ffi/constants.ts checked against the C headers: every flag, command, syscall number and
// struct offset dipc uses becomes a _Static_assert, compiled for x86_64 with gcc and for
// aarch64 with Debian's cross compiler. A wrong number is a compile error naming it.
import assert from "node:assert/strict";
import {
  CLOCK,
  EFD,
  EPOLL,
  F,
  FUTEX,
  FUTEX_WAITV,
  IN,
  IPC,
  IPC_PERM,
  MAP,
  MQ_ATTR,
  MSG,
  MSQID_DS,
  MTYPE_SIZE,
  O,
  PER_ARCH,
  POLL,
  PROT,
  PTHREAD,
  RUSAGE,
  S_IFIFO,
  S_IFMT,
  S_IFREG,
  SEM,
  SEMBUF,
  SHM,
  SHMID_DS,
  SIGACTION,
  SIGNALS,
  SIGRTMAX,
  SIGRTMIN,
  SIGSET_SIZE,
  SPAWN,
  TIMESPEC,
  WNOHANG,
} from "../ffi/constants.ts";
import { existsSync } from "node:fs";
import { hasCommand, run, skipIf } from "./_helpers.ts";

type Arch = keyof typeof PER_ARCH;

function assertions(arch: Arch): string {
  const a = PER_ARCH[arch];
  const checks: Array<[string, number | bigint]> = [
    ["O_RDONLY", O.RDONLY],
    ["O_WRONLY", O.WRONLY],
    ["O_RDWR", O.RDWR],
    ["O_CREAT", O.CREAT],
    ["O_EXCL", O.EXCL],
    ["O_TRUNC", O.TRUNC],
    ["O_NONBLOCK", O.NONBLOCK],
    ["O_NOFOLLOW", a.O_NOFOLLOW],
    ["O_CLOEXEC", O.CLOEXEC],
    ["PROT_NONE", PROT.NONE],
    ["PROT_READ", PROT.READ],
    ["PROT_WRITE", PROT.WRITE],
    ["MAP_SHARED", MAP.SHARED],
    ["MAP_PRIVATE", MAP.PRIVATE],
    ["MAP_FIXED", MAP.FIXED],
    ["MAP_ANONYMOUS", MAP.ANONYMOUS],
    ["MAP_NORESERVE", MAP.NORESERVE],
    ["IPC_PRIVATE", IPC.PRIVATE],
    ["IPC_CREAT", IPC.CREAT],
    ["IPC_EXCL", IPC.EXCL],
    ["IPC_NOWAIT", IPC.NOWAIT],
    ["IPC_RMID", IPC.RMID],
    ["IPC_SET", IPC.SET],
    ["IPC_STAT", IPC.STAT],
    ["IPC_INFO", IPC.INFO],
    ["SHM_RDONLY", SHM.RDONLY],
    ["SHM_RND", SHM.RND],
    ["SHM_REMAP", SHM.REMAP],
    ["SHM_LOCK", SHM.LOCK],
    ["SHM_UNLOCK", SHM.UNLOCK],
    ["SHM_STAT", SHM.STAT],
    ["SHM_INFO", SHM.INFO],
    ["FUTEX_WAIT", FUTEX.WAIT],
    ["FUTEX_WAKE", FUTEX.WAKE],
    ["FUTEX_WAIT_BITSET", FUTEX.WAIT_BITSET],
    ["FUTEX_WAKE_BITSET", FUTEX.WAKE_BITSET],
    ["FUTEX_CLOCK_REALTIME", FUTEX.CLOCK_REALTIME],
    ["FUTEX_BITSET_MATCH_ANY", FUTEX.BITSET_MATCH_ANY],
    ["SYS_futex", a.SYS_futex],
    ["SYS_gettid", a.SYS_gettid],
    ["CLOCK_REALTIME", CLOCK.REALTIME],
    ["CLOCK_MONOTONIC", CLOCK.MONOTONIC],
    ["S_IFMT", S_IFMT],
    ["SYS_pidfd_open", a.SYS_pidfd_open],
    ["S_IFREG", S_IFREG],
    ["S_IFIFO", S_IFIFO],
    ["SYS_epoll_pwait2", a.SYS_epoll_pwait2],
    ["SYS_tgkill", a.SYS_tgkill],
    ["SYS_futex_waitv", a.SYS_futex_waitv],
    ["sizeof(struct epoll_event)", a.EPOLL_EVENT.size],
    ["offsetof(struct epoll_event, events)", a.EPOLL_EVENT.events],
    ["offsetof(struct epoll_event, data)", a.EPOLL_EVENT.data],
    ["EPOLL_CLOEXEC", EPOLL.CLOEXEC],
    ["EPOLL_CTL_ADD", EPOLL.CTL_ADD],
    ["EPOLL_CTL_DEL", EPOLL.CTL_DEL],
    ["EPOLL_CTL_MOD", EPOLL.CTL_MOD],
    ["EPOLLIN", EPOLL.IN],
    ["EPOLLOUT", EPOLL.OUT],
    ["EPOLLERR", EPOLL.ERR],
    ["EPOLLHUP", EPOLL.HUP],
    ["EPOLLONESHOT", EPOLL.ONESHOT],
    ["sizeof(struct futex_waitv)", FUTEX_WAITV.size],
    ["offsetof(struct futex_waitv, val)", FUTEX_WAITV.val],
    ["offsetof(struct futex_waitv, uaddr)", FUTEX_WAITV.uaddr],
    ["offsetof(struct futex_waitv, flags)", FUTEX_WAITV.flags],
    ["FUTEX_32", FUTEX_WAITV.SIZE_U32],
    ["FUTEX_PRIVATE_FLAG", FUTEX_WAITV.PRIVATE],
    ["FUTEX_WAITV_MAX", FUTEX_WAITV.MAX],
    ["FUTEX_PRIVATE_FLAG", FUTEX.PRIVATE_FLAG],
    ["F_GETFD", F.GETFD],
    ["F_SETFD", F.SETFD],
    ["F_GETFL", F.GETFL],
    ["F_SETFL", F.SETFL],
    ["F_DUPFD_CLOEXEC", F.DUPFD_CLOEXEC],
    ["F_SETPIPE_SZ", F.SETPIPE_SZ],
    ["F_GETPIPE_SZ", F.GETPIPE_SZ],
    ["FD_CLOEXEC", F.FD_CLOEXEC],
    ["POLLIN", POLL.IN],
    ["POLLOUT", POLL.OUT],
    ["POLLERR", POLL.ERR],
    ["POLLHUP", POLL.HUP],
    ["POLLNVAL", POLL.NVAL],
    ["sizeof(struct pollfd)", POLL.size],
    ["offsetof(struct pollfd, events)", POLL.events],
    ["offsetof(struct pollfd, revents)", POLL.revents],
    ["EFD_NONBLOCK", EFD.NONBLOCK],
    ["EFD_CLOEXEC", EFD.CLOEXEC],
    ["IN_NONBLOCK", IN.NONBLOCK],
    ["IN_CLOEXEC", IN.CLOEXEC],
    ["IN_OPEN", IN.OPEN],
    ["WNOHANG", WNOHANG],
    ["POSIX_SPAWN_RESETIDS", SPAWN.RESETIDS],
    ["POSIX_SPAWN_SETPGROUP", SPAWN.SETPGROUP],
    ["POSIX_SPAWN_SETSIGDEF", SPAWN.SETSIGDEF],
    ["POSIX_SPAWN_SETSIGMASK", SPAWN.SETSIGMASK],
    ["POSIX_SPAWN_SETSID", SPAWN.SETSID],
    ["sizeof(posix_spawn_file_actions_t)", SPAWN.file_actions_size],
    ["sizeof(posix_spawnattr_t)", SPAWN.attr_size],
    ["sizeof(sigset_t)", SIGSET_SIZE],
    ["sizeof(struct sigaction)", SIGACTION.size],
    ["offsetof(struct sigaction, sa_mask)", SIGACTION.sa_mask],
    ["offsetof(struct sigaction, sa_flags)", SIGACTION.sa_flags],
    ["SIG_IGN", 1],
    ["__SIGRTMAX", SIGRTMAX],
    // glibc's SIGRTMIN is a function call (it reserves two signals): 32 + 2
    ["__SIGRTMIN + 2", SIGRTMIN],
    ...Object.entries(SIGNALS) as Array<[string, number]>,
    ["sizeof(struct timespec)", TIMESPEC.size],
    ["offsetof(struct timespec, tv_nsec)", TIMESPEC.tv_nsec],
    ["sizeof(struct stat)", a.STAT.size],
    ["offsetof(struct stat, st_mode)", a.STAT.st_mode],
    ["offsetof(struct stat, st_uid)", a.STAT.st_uid],
    ["offsetof(struct stat, st_gid)", a.STAT.st_gid],
    ["offsetof(struct stat, st_size)", a.STAT.st_size],
    ["offsetof(struct stat, st_atim)", a.STAT.st_atim],
    ["offsetof(struct stat, st_mtim)", a.STAT.st_mtim],
    ["offsetof(struct stat, st_ctim)", a.STAT.st_ctim],
    ["sizeof(struct ipc_perm)", IPC_PERM.size],
    ["offsetof(struct ipc_perm, __key)", IPC_PERM.key],
    ["offsetof(struct ipc_perm, uid)", IPC_PERM.uid],
    ["offsetof(struct ipc_perm, gid)", IPC_PERM.gid],
    ["offsetof(struct ipc_perm, cuid)", IPC_PERM.cuid],
    ["offsetof(struct ipc_perm, cgid)", IPC_PERM.cgid],
    ["offsetof(struct ipc_perm, mode)", IPC_PERM.mode],
    ["sizeof(struct shmid_ds)", SHMID_DS.size],
    ["offsetof(struct shmid_ds, shm_perm)", SHMID_DS.shm_perm],
    ["offsetof(struct shmid_ds, shm_segsz)", SHMID_DS.shm_segsz],
    ["offsetof(struct shmid_ds, shm_atime)", SHMID_DS.shm_atime],
    ["offsetof(struct shmid_ds, shm_dtime)", SHMID_DS.shm_dtime],
    ["offsetof(struct shmid_ds, shm_ctime)", SHMID_DS.shm_ctime],
    ["offsetof(struct shmid_ds, shm_cpid)", SHMID_DS.shm_cpid],
    ["offsetof(struct shmid_ds, shm_lpid)", SHMID_DS.shm_lpid],
    ["offsetof(struct shmid_ds, shm_nattch)", SHMID_DS.shm_nattch],
    ["MSG_NOERROR", MSG.NOERROR],
    ["MSG_EXCEPT", MSG.EXCEPT],
    ["MSG_COPY", MSG.COPY],
    ["MSG_STAT", MSG.STAT],
    ["MSG_INFO", MSG.INFO],
    ["sizeof(struct msqid_ds)", MSQID_DS.size],
    ["offsetof(struct msqid_ds, msg_perm)", MSQID_DS.msg_perm],
    ["offsetof(struct msqid_ds, msg_stime)", MSQID_DS.msg_stime],
    ["offsetof(struct msqid_ds, msg_rtime)", MSQID_DS.msg_rtime],
    ["offsetof(struct msqid_ds, msg_ctime)", MSQID_DS.msg_ctime],
    ["offsetof(struct msqid_ds, __msg_cbytes)", MSQID_DS.msg_cbytes],
    ["offsetof(struct msqid_ds, msg_qnum)", MSQID_DS.msg_qnum],
    ["offsetof(struct msqid_ds, msg_qbytes)", MSQID_DS.msg_qbytes],
    ["offsetof(struct msqid_ds, msg_lspid)", MSQID_DS.msg_lspid],
    ["offsetof(struct msqid_ds, msg_lrpid)", MSQID_DS.msg_lrpid],
    ["sizeof(long)", MTYPE_SIZE],
    ["sizeof(struct mq_attr)", MQ_ATTR.size],
    ["offsetof(struct mq_attr, mq_flags)", MQ_ATTR.mq_flags],
    ["offsetof(struct mq_attr, mq_maxmsg)", MQ_ATTR.mq_maxmsg],
    ["offsetof(struct mq_attr, mq_msgsize)", MQ_ATTR.mq_msgsize],
    ["offsetof(struct mq_attr, mq_curmsgs)", MQ_ATTR.mq_curmsgs],
    ["sizeof(struct rusage)", RUSAGE.size],
    ["offsetof(struct rusage, ru_utime)", RUSAGE.ru_utime],
    ["offsetof(struct rusage, ru_stime)", RUSAGE.ru_stime],
    ["offsetof(struct timeval, tv_usec)", RUSAGE.tv_usec],
    ["SEM_UNDO", SEM.UNDO],
    ["GETPID", SEM.GETPID],
    ["GETVAL", SEM.GETVAL],
    ["GETALL", SEM.GETALL],
    ["GETNCNT", SEM.GETNCNT],
    ["GETZCNT", SEM.GETZCNT],
    ["SETVAL", SEM.SETVAL],
    ["SETALL", SEM.SETALL],
    ["SEM_STAT", SEM.STAT],
    ["SEM_INFO", SEM.INFO],
    ["sizeof(struct sembuf)", SEMBUF.size],
    ["offsetof(struct sembuf, sem_op)", SEMBUF.sem_op],
    ["offsetof(struct sembuf, sem_flg)", SEMBUF.sem_flg],
    ["sizeof(struct semid_ds)", a.SEMID_DS.size],
    ["offsetof(struct semid_ds, sem_perm)", a.SEMID_DS.sem_perm],
    ["offsetof(struct semid_ds, sem_otime)", a.SEMID_DS.sem_otime],
    ["offsetof(struct semid_ds, sem_ctime)", a.SEMID_DS.sem_ctime],
    ["offsetof(struct semid_ds, sem_nsems)", a.SEMID_DS.sem_nsems],
    ["sizeof(sem_t)", PTHREAD.SEM_SIZE],
    ["_Alignof(sem_t)", 8],
    ["SEM_VALUE_MAX", PTHREAD.SEM_VALUE_MAX],
    ["sizeof(pthread_mutex_t)", a.PTHREAD_MUTEX_SIZE],
    ["sizeof(pthread_mutexattr_t)", a.PTHREAD_MUTEXATTR_SIZE],
    ["PTHREAD_PROCESS_SHARED", PTHREAD.PROCESS_SHARED],
    ["PTHREAD_MUTEX_ROBUST", PTHREAD.MUTEX_ROBUST],
    ["PTHREAD_MUTEX_ERRORCHECK", PTHREAD.MUTEX_ERRORCHECK],
  ];
  return [
    "#define _GNU_SOURCE",
    ...["fcntl.h", "linux/futex.h", "poll.h", "signal.h", "spawn.h", "stddef.h", "sys/eventfd.h"]
      .map((h) => `#include <${h}>`),
    ...[
      "sys/inotify.h",
      "sys/epoll.h",
      "sys/wait.h",
      "sys/resource.h",
      "sys/ipc.h",
      "sys/mman.h",
      "sys/shm.h",
      "sys/msg.h",
      "mqueue.h",
      "sys/sem.h",
      "semaphore.h",
      "pthread.h",
      "limits.h",
    ]
      .map((h) => `#include <${h}>`),
    ...["sys/stat.h", "sys/syscall.h", "time.h"].map((h) => `#include <${h}>`),
    ...checks.map(([expr, value]) =>
      `_Static_assert((unsigned long long)(${expr}) == ${value}ULL, "${expr} is not ${value}");`
    ),
    // The ipc_perm mode is read as 16 bits: it must be at least that wide on both.
    `_Static_assert(sizeof(((struct ipc_perm *)0)->mode) >= 2, "mode width");`,
    `_Static_assert(sizeof(((struct shmid_ds *)0)->shm_nattch) == 8, "shm_nattch is 64-bit");`,
    `_Static_assert(sizeof(((struct shmid_ds *)0)->shm_segsz) == 8, "shm_segsz is 64-bit");`,
    `_Static_assert(sizeof(((struct stat *)0)->st_size) == 8, "st_size is 64-bit");`,
    "",
  ].join("\n");
}

async function compiles(compiler: string, arch: Arch): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dipc-constants-" });
  try {
    await Deno.writeTextFile(`${dir}/check.c`, assertions(arch));
    const r = await run(compiler, ["-c", "-o", `${dir}/check.o`, `${dir}/check.c`]);
    assert.equal(r.code, 0, `${arch} constants disagree with the C headers:\n${r.stderr}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("x86_64 constants and struct layouts match the C headers", async (t) => {
  const native = Deno.build.arch === "x86_64" && hasCommand("gcc") && "gcc";
  const cross = hasCommand("x86_64-linux-gnu-gcc") && "x86_64-linux-gnu-gcc";
  const compiler = native || cross;
  if (await skipIf(t, !compiler && "no x86_64 C compiler")) return;
  await compiles(compiler || "gcc", "x86_64");
});

Deno.test("aarch64 constants and struct layouts match the C headers", async (t) => {
  const native = Deno.build.arch === "aarch64" && hasCommand("gcc") && "gcc";
  const cross = hasCommand("aarch64-linux-gnu-gcc") && "aarch64-linux-gnu-gcc";
  const compiler = native || cross;
  const missing = !compiler ? "no aarch64 C compiler (Debian: gcc-aarch64-linux-gnu)" : !native &&
    !existsSync("/usr/aarch64-linux-gnu/include/bits/wordsize.h") &&
    "no aarch64 C library headers (Debian: libc6-dev-arm64-cross)";
  if (await skipIf(t, missing)) return;
  await compiles(compiler || "gcc", "aarch64");
});

Deno.test("a wrong constant is caught: the check is not vacuous", async (t) => {
  if (await skipIf(t, !hasCommand("gcc") && "gcc not found")) return;
  const dir = await Deno.makeTempDir({ prefix: "dipc-constants-" });
  try {
    const wrong = assertions("x86_64") +
      `_Static_assert(O_CREAT == ${O.CREAT + 1}, "deliberately wrong");\n`;
    await Deno.writeTextFile(`${dir}/wrong.c`, wrong);
    const r = await run("gcc", ["-c", "-o", `${dir}/wrong.o`, `${dir}/wrong.c`]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /deliberately wrong/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * The one table of C functions dipc calls, grouped by the library that may provide them.
 *
 * Every parameter carries its C declaration. Hot-path symbols use `i32`/`u32` for lengths and
 * results, or BigInt constants for `long` parameters: a JS number passed to a 64-bit integer
 * parameter takes Deno's slow FFI path. Symbols marked `nonblocking` run on a pool thread and
 * are only ever used to *wait*: errno set there is lost, so their outcome is settled afterwards
 * by a synchronous call on the calling thread.
 *
 * @module
 */

/**
 * Symbols every glibc has in `libc.so.6`.
 */
export const CORE = {
  /** int *__errno_location(void) */
  __errno_location: { parameters: [], result: "pointer" },
  /** int open(const char *path, int flags, mode_t mode) */
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  /** int close(int fd) */
  close: { parameters: ["i32"], result: "i32" },
  /** int ftruncate(int fd, off_t length) */
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  /** ssize_t pread(int fd, void *buf, size_t count, off_t offset): into memory at a pointer */
  pread_ptr: { name: "pread", parameters: ["i32", "pointer", "u32", "i64"], result: "i32" },
  /** int fstat(int fd, struct stat *buf) */
  fstat: { parameters: ["i32", "buffer"], result: "i32" },
  /** int lstat(const char *path, struct stat *buf) */
  lstat: { parameters: ["buffer", "buffer"], result: "i32" },
  /** int fchmod(int fd, mode_t mode) */
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  /** void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) */
  mmap: {
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
  /**
   * int posix_fallocate(int fd, off_t offset, off_t len): returns the error number itself
   * (errno is not set)
   */
  posix_fallocate: { parameters: ["i32", "i64", "i64"], result: "i32" },
  /** int munmap(void *addr, size_t length) */
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  /** key_t ftok(const char *pathname, int proj_id) */
  ftok: { parameters: ["buffer", "i32"], result: "i32" },
  /** int shmget(key_t key, size_t size, int shmflg) */
  shmget: { parameters: ["i32", "usize", "i32"], result: "i32" },
  /** void *shmat(int shmid, const void *shmaddr, int shmflg) */
  shmat: { parameters: ["i32", "pointer", "i32"], result: "pointer" },
  /** int shmdt(const void *shmaddr) */
  shmdt: { parameters: ["pointer"], result: "i32" },
  /** int shmctl(int shmid, int cmd, struct shmid_ds *buf) */
  shmctl: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  /** int msgget(key_t key, int msgflg) */
  msgget: { parameters: ["i32", "i32"], result: "i32" },
  /** int msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg): msgsz as u32 (fast path) */
  msgsnd: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  /**
   * ssize_t msgrcv(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg): msgsz as u32,
   * msgtyp as a BigInt (fast path); the result's low 32 bits (a message is at most 8 KiB here).
   */
  msgrcv: { parameters: ["i32", "buffer", "u32", "i64", "i32"], result: "i32" },
  /** int msgctl(int msqid, int cmd, struct msqid_ds *buf) */
  msgctl: { parameters: ["i32", "i32", "buffer"], result: "i32" },
  /** int clock_gettime(clockid_t clockid, struct timespec *tp) */
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  /** int clock_getcpuclockid(pid_t pid, clockid_t *clockid): another process's CPU clock */
  clock_getcpuclockid: { parameters: ["i32", "buffer"], result: "i32" },
  /** int getrlimit(int resource, struct rlimit *rlim): rlim_cur, rlim_max as two u64 */
  getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  /** int getrusage(int who, struct rusage *usage) */
  getrusage: { parameters: ["i32", "buffer"], result: "i32" },
  /** uid_t geteuid(void) */
  geteuid: { parameters: [], result: "u32" },
  /** int getpagesize(void) */
  getpagesize: { parameters: [], result: "i32" },
  /** pid_t getpid(void) */
  getpid: { parameters: [], result: "i32" },
  /** pid_t getppid(void) */
  getppid: { parameters: [], result: "i32" },
  /** int prctl(int option, unsigned long arg2, ...): PR_SET_PDEATHSIG takes a signal number */
  prctl: { parameters: ["i32", "u64", "u64", "u64", "u64"], result: "i32" },
  /** int memfd_create(const char *name, unsigned int flags) */
  memfd_create: { parameters: ["buffer", "u32"], result: "i32" },
  /** long syscall(SYS_gettid): the calling thread's id */
  gettid: { name: "syscall", parameters: ["i64"], result: "i32" },
  /** int tgkill(pid_t tgid, pid_t tid, int sig), as a raw syscall (glibc < 2.30 has no wrapper) */
  tgkill: { name: "syscall", parameters: ["i64", "i32", "i32", "i32"], result: "i32" },
  /** int membarrier(int cmd, unsigned int flags, int cpu_id), as a raw syscall */
  membarrier: { name: "syscall", parameters: ["i64", "i32", "u32", "i32"], result: "i32" },
  /** int sched_setaffinity(pid_t pid, size_t cpusetsize, const cpu_set_t *mask) */
  sched_setaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  /** int sched_getaffinity(pid_t pid, size_t cpusetsize, cpu_set_t *mask) */
  sched_getaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
  /** int sched_yield(void) */
  sched_yield: { parameters: [], result: "i32" },
  /**
   * long syscall(SYS_futex, uint32_t *uaddr, int futex_op, uint32_t val,
   *              const struct timespec *timeout, uint32_t *uaddr2, uint32_t val3)
   *
   * Used for FUTEX_WAKE / FUTEX_WAKE_BITSET. The `long` result is read as its low 32 bits,
   * which hold the number woken or -1.
   */
  futex_wake: {
    name: "syscall",
    parameters: ["i64", "pointer", "i32", "u32", "pointer", "pointer", "u32"],
    result: "i32",
  },
  /** The same syscall for a FUTEX_WAIT_BITSET on the calling thread (errno is reliable). */
  futex_wait_sync: {
    name: "syscall",
    parameters: ["i64", "pointer", "i32", "u32", "buffer", "pointer", "u32"],
    result: "i32",
  },
  /**
   * The same syscall for a FUTEX_WAIT_BITSET on a pool thread: it only sleeps. Its result says
   * 0 (woken) or -1 (anything else); errno is not read.
   */
  futex_wait_async: {
    name: "syscall",
    parameters: ["i64", "pointer", "i32", "u32", "buffer", "pointer", "u32"],
    result: "i32",
    nonblocking: true,
  },
  /**
   * long syscall(SYS_futex_waitv, struct futex_waitv *waiters, unsigned int nr_futexes,
   *              unsigned int flags, struct timespec *timeout, clockid_t clockid) on a pool
   * thread: the wait core's one sleep over many futex words (absolute timeout; NULL = none).
   * Its result is the index of a woken word or -1; errno is not read.
   */
  futex_waitv_async: {
    name: "syscall",
    parameters: ["i64", "buffer", "u32", "u32", "buffer", "i32"],
    result: "i32",
    nonblocking: true,
  },
  /** The same on the calling thread: only used to probe whether the kernel has it. */
  futex_waitv_sync: {
    name: "syscall",
    parameters: ["i64", "buffer", "u32", "u32", "buffer", "i32"],
    result: "i32",
  },
  /** int epoll_create1(int flags) */
  epoll_create1: { parameters: ["i32"], result: "i32" },
  /** int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event) */
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  /**
   * long syscall(SYS_epoll_pwait2, int epfd, struct epoll_event *events, int maxevents,
   *              const struct timespec *timeout, const sigset_t *sigmask, size_t sigsetsize)
   * on a pool thread: the wait core's one sleep over every descriptor (a relative timeout with
   * nanosecond precision; NULL = none). errno is not read.
   */
  epoll_pwait2_async: {
    name: "syscall",
    parameters: ["i64", "i32", "buffer", "i32", "buffer", "pointer", "i64"],
    result: "i32",
    nonblocking: true,
  },
  /** int semget(key_t key, int nsems, int semflg) */
  semget: { parameters: ["i32", "i32", "i32"], result: "i32" },
  /** int semop(int semid, struct sembuf *sops, size_t nsops): nsops as u32 (fast path) */
  semop: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /**
   * int semtimedop(int semid, struct sembuf *sops, size_t nsops, const struct timespec *timeout)
   * on the calling thread (a relative timeout; NULL = none)
   */
  semtimedop: { parameters: ["i32", "buffer", "u32", "buffer"], result: "i32" },
  /**
   * int semctl(int semid, int semnum, int cmd, ...) with an `int` fourth argument (SETVAL) or
   * none: variadic in C; an int and a pointer travel the same way on x86_64 and aarch64 Linux.
   */
  semctl_int: { name: "semctl", parameters: ["i32", "i32", "i32", "i32"], result: "i32" },
  /** The same with a pointer fourth argument (IPC_STAT/IPC_SET buffers, GETALL/SETALL arrays). */
  semctl_ptr: { name: "semctl", parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  /** int pipe2(int pipefd[2], int flags) */
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  /** ssize_t read(int fd, void *buf, size_t count): count as u32 (fast path); result's low 32 bits */
  read: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** ssize_t read(int fd, void *buf, size_t count) on a raw address (mapped memory) */
  read_ptr: { name: "read", parameters: ["i32", "pointer", "u32"], result: "i32" },
  /** ssize_t write(int fd, const void *buf, size_t count): count as u32 (fast path) */
  write: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** int fcntl(int fd, int cmd, int arg) */
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  /** int fcntl(int fd, int cmd, struct flock *lock): the lock commands (F_OFD_SETLK, …) */
  fcntl_lock: { name: "fcntl", parameters: ["i32", "i32", "buffer"], result: "i32" },
  /** int flock(int fd, int operation) */
  flock: { parameters: ["i32", "i32"], result: "i32" },
  /** int dup(int oldfd) */
  dup: { parameters: ["i32"], result: "i32" },
  /** int poll(struct pollfd *fds, nfds_t nfds, int timeout), on the calling thread */
  poll: { parameters: ["buffer", "u32", "i32"], result: "i32" },
  /**
   * int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *tmo_p,
   *           const sigset_t *sigmask) on a pool thread: it only waits for readiness (or for a
   * relative timeout with nanosecond precision; NULL = none); errno is not read.
   */
  ppoll_async: {
    name: "ppoll",
    parameters: ["buffer", "u32", "buffer", "pointer"],
    result: "i32",
    nonblocking: true,
  },
  /** int eventfd(unsigned int initval, int flags) */
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  /** int socket(int domain, int type, int protocol) */
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  /** int socketpair(int domain, int type, int protocol, int sv[2]) */
  socketpair: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  /** int bind(int sockfd, const struct sockaddr *addr, socklen_t addrlen) */
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** int listen(int sockfd, int backlog) */
  listen: { parameters: ["i32", "i32"], result: "i32" },
  /** int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags) */
  accept4: { parameters: ["i32", "pointer", "pointer", "i32"], result: "i32" },
  /** int connect(int sockfd, const struct sockaddr *addr, socklen_t addrlen) */
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** ssize_t send(int sockfd, const void *buf, size_t len, int flags): len as u32 (fast path) */
  send: { parameters: ["i32", "buffer", "u32", "i32"], result: "i32" },
  /** ssize_t sendmsg(int sockfd, const struct msghdr *msg, int flags): the result's low 32 bits */
  sendmsg: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  /** ssize_t recvmsg(int sockfd, struct msghdr *msg, int flags): the result's low 32 bits */
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  /** int getsockopt(int sockfd, int level, int optname, void *optval, socklen_t *optlen) */
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  /** int setsockopt(int sockfd, int level, int optname, const void *optval, socklen_t optlen) */
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  /** int getsockname(int sockfd, struct sockaddr *addr, socklen_t *addrlen) */
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  /** int shutdown(int sockfd, int how) */
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  /** int link(const char *oldpath, const char *newpath) */
  link: { parameters: ["buffer", "buffer"], result: "i32" },
  /** ssize_t readlink(const char *path, char *buf, size_t size): size as u32, low 32 bits */
  readlink: { parameters: ["buffer", "buffer", "u32"], result: "i32" },
  /** DIR *opendir(const char *name) */
  opendir: { parameters: ["buffer"], result: "pointer" },
  /** struct dirent *readdir(DIR *dirp): NULL at the end (errno unchanged) or on error */
  readdir: { parameters: ["pointer"], result: "pointer" },
  /** int closedir(DIR *dirp) */
  closedir: { parameters: ["pointer"], result: "i32" },
  /** int mkfifo(const char *pathname, mode_t mode) */
  mkfifo: { parameters: ["buffer", "u32"], result: "i32" },
  /** int chmod(const char *pathname, mode_t mode) */
  chmod: { parameters: ["buffer", "u32"], result: "i32" },
  /** int unlink(const char *pathname) */
  unlink: { parameters: ["buffer"], result: "i32" },
  /** int inotify_init1(int flags) */
  inotify_init1: { parameters: ["i32"], result: "i32" },
  /** int inotify_add_watch(int fd, const char *pathname, uint32_t mask) */
  inotify_add_watch: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  /** int kill(pid_t pid, int sig) */
  kill: { parameters: ["i32", "i32"], result: "i32" },
  /** int killpg(int pgrp, int sig) */
  killpg: { parameters: ["i32", "i32"], result: "i32" },
  /** int sigqueue(pid_t pid, int sig, const union sigval value): the union passed as its 64 bits */
  sigqueue: { parameters: ["i32", "i32", "i64"], result: "i32" },
  /**
   * pid_t wait4(pid_t pid, int *wstatus, int options, struct rusage *rusage), used with WNOHANG
   * only: reaps the child and reports the CPU time it used
   */
  wait4: { parameters: ["i32", "buffer", "i32", "buffer"], result: "i32" },
  /** pid_t waitpid(pid_t pid, int *wstatus, int options), used with WNOHANG only */
  waitpid: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  /** long syscall(SYS_pidfd_open, pid_t pid, unsigned int flags) */
  pidfd_open: { name: "syscall", parameters: ["i64", "i32", "u32"], result: "i32" },
  /** pid_t getpgid(pid_t pid) */
  getpgid: { parameters: ["i32"], result: "i32" },
  /** pid_t getsid(pid_t pid) */
  getsid: { parameters: ["i32"], result: "i32" },
  /**
   * int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
   *                  const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
   * Returns an error number (not -1/errno).
   */
  posix_spawnp: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "pointer", "pointer"],
    result: "i32",
  },
  /** int posix_spawn(…), the same without a PATH search (for paths with a "/") */
  posix_spawn: {
    parameters: ["buffer", "buffer", "buffer", "buffer", "pointer", "pointer"],
    result: "i32",
  },
  /** extern char **environ: Deno gives the variable's address; read it at each use. */
  environ: { type: "pointer" },
  /** int posix_spawn_file_actions_init(posix_spawn_file_actions_t *fa) */
  posix_spawn_file_actions_init: { parameters: ["buffer"], result: "i32" },
  /** int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *fa) */
  posix_spawn_file_actions_destroy: { parameters: ["buffer"], result: "i32" },
  /** int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *fa, int fd, int newfd) */
  posix_spawn_file_actions_adddup2: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  /**
   * int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int fd,
   *                                      const char *path, int oflag, mode_t mode)
   */
  posix_spawn_file_actions_addopen: {
    parameters: ["buffer", "i32", "buffer", "i32", "u32"],
    result: "i32",
  },
  /** int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *fa, const char *path) */
  posix_spawn_file_actions_addchdir_np: { parameters: ["buffer", "buffer"], result: "i32" },
  /** int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *fa, int from) */
  posix_spawn_file_actions_addclosefrom_np: { parameters: ["buffer", "i32"], result: "i32" },
  /** int posix_spawnattr_init(posix_spawnattr_t *attr) */
  posix_spawnattr_init: { parameters: ["buffer"], result: "i32" },
  /** int posix_spawnattr_destroy(posix_spawnattr_t *attr) */
  posix_spawnattr_destroy: { parameters: ["buffer"], result: "i32" },
  /** int posix_spawnattr_setflags(posix_spawnattr_t *attr, short flags) */
  posix_spawnattr_setflags: { parameters: ["buffer", "i16"], result: "i32" },
  /** int posix_spawnattr_setpgroup(posix_spawnattr_t *attr, pid_t pgroup) */
  posix_spawnattr_setpgroup: { parameters: ["buffer", "i32"], result: "i32" },
  /** int posix_spawnattr_setsigmask(posix_spawnattr_t *attr, const sigset_t *sigmask) */
  posix_spawnattr_setsigmask: { parameters: ["buffer", "buffer"], result: "i32" },
  /** int posix_spawnattr_setsigdefault(posix_spawnattr_t *attr, const sigset_t *sigdefault) */
  posix_spawnattr_setsigdefault: { parameters: ["buffer", "buffer"], result: "i32" },
  /**
   * int sigaction(int signum, const struct sigaction *act, struct sigaction *oldact), used only
   * to set SIG_IGN around a spawn so the child starts with a signal ignored.
   */
  sigaction: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * POSIX realtime symbols: in `libc.so.6` since glibc 2.34, in `librt.so.1` before.
 */
export const RT = {
  /** int shm_open(const char *name, int oflag, mode_t mode) */
  shm_open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  /** int shm_unlink(const char *name) */
  shm_unlink: { parameters: ["buffer"], result: "i32" },
  /**
   * mqd_t mq_open(const char *name, int oflag, mode_t mode, struct mq_attr *attr): variadic in
   * C; the two optional arguments are integer and pointer, passed the same way either way on
   * x86_64 and aarch64 Linux. attr may be NULL (the system's defaults).
   */
  mq_open: { parameters: ["buffer", "i32", "u32", "buffer"], result: "i32" },
  /** int mq_unlink(const char *name) */
  mq_unlink: { parameters: ["buffer"], result: "i32" },
  /**
   * int mq_send(mqd_t mqdes, const char *msg_ptr, size_t msg_len, unsigned int msg_prio):
   * msg_len as u32 (fast path)
   */
  mq_send: { parameters: ["i32", "buffer", "u32", "u32"], result: "i32" },
  /**
   * ssize_t mq_receive(mqd_t mqdes, char *msg_ptr, size_t msg_len, unsigned int *msg_prio):
   * msg_len as u32 (fast path), the result's low 32 bits
   */
  mq_receive: { parameters: ["i32", "buffer", "u32", "buffer"], result: "i32" },
  /**
   * ssize_t mq_timedreceive(mqd_t mqdes, char *msg_ptr, size_t msg_len, unsigned int *msg_prio,
   *                         const struct timespec *abs_timeout): on the calling thread, blocking
   * (a kernel waiter; the timeout is absolute, CLOCK_REALTIME)
   */
  mq_timedreceive: { parameters: ["i32", "buffer", "u32", "buffer", "buffer"], result: "i32" },
  /**
   * int mq_timedsend(mqd_t mqdes, const char *msg_ptr, size_t msg_len, unsigned int msg_prio,
   *                  const struct timespec *abs_timeout): blocking, like mq_timedreceive
   */
  mq_timedsend: { parameters: ["i32", "buffer", "u32", "u32", "buffer"], result: "i32" },
  /** int mq_getattr(mqd_t mqdes, struct mq_attr *attr) */
  mq_getattr: { parameters: ["i32", "buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * POSIX semaphores and pthread mutexes: in `libc.so.6` since glibc 2.34, in `libpthread.so.0`
 * before. `pthread_*` functions return an error number instead of setting errno.
 */
export const PTHREAD = {
  /** sem_t *sem_open(const char *name, int oflag, mode_t mode, unsigned int value): SEM_FAILED is NULL */
  sem_open: { parameters: ["buffer", "i32", "u32", "u32"], result: "pointer" },
  /** int sem_close(sem_t *sem) */
  sem_close: { parameters: ["pointer"], result: "i32" },
  /** int sem_unlink(const char *name) */
  sem_unlink: { parameters: ["buffer"], result: "i32" },
  /** int sem_init(sem_t *sem, int pshared, unsigned int value) */
  sem_init: { parameters: ["pointer", "i32", "u32"], result: "i32" },
  /** int sem_destroy(sem_t *sem) */
  sem_destroy: { parameters: ["pointer"], result: "i32" },
  /** int pthread_mutexattr_init(pthread_mutexattr_t *attr) */
  pthread_mutexattr_init: { parameters: ["buffer"], result: "i32" },
  /** int pthread_mutexattr_destroy(pthread_mutexattr_t *attr) */
  pthread_mutexattr_destroy: { parameters: ["buffer"], result: "i32" },
  /** int pthread_mutexattr_setpshared(pthread_mutexattr_t *attr, int pshared) */
  pthread_mutexattr_setpshared: { parameters: ["buffer", "i32"], result: "i32" },
  /** int pthread_mutexattr_setrobust(pthread_mutexattr_t *attr, int robustness) */
  pthread_mutexattr_setrobust: { parameters: ["buffer", "i32"], result: "i32" },
  /** int pthread_mutexattr_settype(pthread_mutexattr_t *attr, int type) */
  pthread_mutexattr_settype: { parameters: ["buffer", "i32"], result: "i32" },
  /** int pthread_mutex_init(pthread_mutex_t *mutex, const pthread_mutexattr_t *attr) */
  pthread_mutex_init: { parameters: ["pointer", "buffer"], result: "i32" },
  /** int pthread_mutex_destroy(pthread_mutex_t *mutex) */
  pthread_mutex_destroy: { parameters: ["pointer"], result: "i32" },
  /** int pthread_mutex_lock(pthread_mutex_t *mutex), on the calling thread (owned by it) */
  pthread_mutex_lock: { parameters: ["pointer"], result: "i32" },
  /** int pthread_mutex_trylock(pthread_mutex_t *mutex) */
  pthread_mutex_trylock: { parameters: ["pointer"], result: "i32" },
  /**
   * int pthread_mutex_clocklock(pthread_mutex_t *mutex, clockid_t clockid,
   *                             const struct timespec *abstime), on the calling thread
   */
  pthread_mutex_clocklock: { parameters: ["pointer", "i32", "buffer"], result: "i32" },
  /** int pthread_mutex_unlock(pthread_mutex_t *mutex) */
  pthread_mutex_unlock: { parameters: ["pointer"], result: "i32" },
  /** int pthread_mutex_consistent(pthread_mutex_t *mutex) */
  pthread_mutex_consistent: { parameters: ["pointer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The symbol groups and the libraries tried for each, in order. */
export const GROUPS = {
  core: { symbols: CORE, libraries: ["libc.so.6"] },
  rt: { symbols: RT, libraries: ["libc.so.6", "librt.so.1"] },
  pthread: { symbols: PTHREAD, libraries: ["libc.so.6", "libpthread.so.0"] },
} as const;

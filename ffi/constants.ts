/**
 * Linux constants for the calls dipc makes: flag values, errno names and the layouts of the
 * structs it reads (`struct stat`, `struct ipc_perm`, `struct shmid_ds`), for x86_64 and aarch64.
 *
 * Values that are the same on both architectures are plain constants; the ones that differ are
 * picked by {@linkcode ARCH} once, at module load.
 *
 * @module
 */

/** The CPU architecture this process runs on, as dipc's tables know it. */
export const ARCH: "x86_64" | "aarch64" = Deno.build.arch;

/**
 * Everything that differs between the two architectures, side by side (the tests check both
 * tables against each architecture's C headers).
 */
export const PER_ARCH = {
  x86_64: {
    O_NOFOLLOW: 0o400000,
    SYS_futex: 202n,
    SYS_gettid: 186n,
    SYS_tgkill: 234n,
    SYS_pidfd_open: 434n,
    SYS_epoll_pwait2: 441n,
    SYS_futex_waitv: 449n,
    SYS_membarrier: 324n,
    /** `struct epoll_event` is packed on x86_64: the 64-bit data follows the events directly. */
    EPOLL_EVENT: { size: 12, events: 0, data: 4 },
    /** `pthread_mutex_t` and `pthread_mutexattr_t` sizes. */
    PTHREAD_MUTEX_SIZE: 40,
    PTHREAD_MUTEXATTR_SIZE: 4,
    /** `struct semid_ds`: x86_64 pads each time with a reserved word. */
    SEMID_DS: { size: 104, sem_perm: 0, sem_otime: 48, sem_ctime: 64, sem_nsems: 80 },
    /** x86_64's own `struct stat`. */
    STAT: {
      size: 144,
      st_dev: 0,
      st_ino: 8,
      st_mode: 24,
      st_uid: 28,
      st_gid: 32,
      st_size: 48,
      st_atim: 72,
      st_mtim: 88,
      st_ctim: 104,
    },
  },
  aarch64: {
    O_NOFOLLOW: 0o100000,
    SYS_futex: 98n,
    SYS_gettid: 178n,
    SYS_tgkill: 131n,
    SYS_pidfd_open: 434n,
    SYS_epoll_pwait2: 441n,
    SYS_futex_waitv: 449n,
    SYS_membarrier: 283n,
    EPOLL_EVENT: { size: 16, events: 0, data: 8 },
    PTHREAD_MUTEX_SIZE: 48,
    PTHREAD_MUTEXATTR_SIZE: 8,
    SEMID_DS: { size: 88, sem_perm: 0, sem_otime: 48, sem_ctime: 56, sem_nsems: 64 },
    /** The generic `struct stat`: st_mode comes before a 32-bit st_nlink. */
    STAT: {
      size: 128,
      st_dev: 0,
      st_ino: 8,
      st_mode: 16,
      st_uid: 24,
      st_gid: 28,
      st_size: 48,
      st_atim: 72,
      st_mtim: 88,
      st_ctim: 104,
    },
  },
} as const;

const HERE = PER_ARCH[ARCH];

/** `open(2)` flags (asm-generic/fcntl.h; O_NOFOLLOW differs on aarch64). */
export const O = {
  RDONLY: 0o0,
  WRONLY: 0o1,
  RDWR: 0o2,
  CREAT: 0o100,
  EXCL: 0o200,
  TRUNC: 0o1000,
  NONBLOCK: 0o4000,
  NOFOLLOW: HERE.O_NOFOLLOW,
  CLOEXEC: 0o2000000,
} as const;

/** `mmap(2)` protections and flags. */
export const PROT = { NONE: 0, READ: 1, WRITE: 2 } as const;
/** `mmap(2)` flags. */
export const MAP = {
  SHARED: 0x01,
  PRIVATE: 0x02,
  FIXED: 0x10,
  ANONYMOUS: 0x20,
  NORESERVE: 0x4000,
} as const;
/** `memfd_create(2)` flags. */
export const MFD = { CLOEXEC: 0x1, ALLOW_SEALING: 0x2 } as const;
/** `prctl(2)` options. */
export const PR = { SET_PDEATHSIG: 1 } as const;
/** What `mmap(2)` returns on failure: `(void *) -1`. */
export const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/** System V IPC flags and commands (linux/ipc.h, linux/shm.h). */
export const IPC = {
  PRIVATE: 0,
  CREAT: 0o1000,
  EXCL: 0o2000,
  NOWAIT: 0o4000,
  RMID: 0,
  SET: 1,
  STAT: 2,
  INFO: 3,
} as const;

/** `semop(2)` flags and `semctl(2)` commands (linux/sem.h). */
export const SEM = {
  UNDO: 0x1000,
  GETPID: 11,
  GETVAL: 12,
  GETALL: 13,
  GETNCNT: 14,
  GETZCNT: 15,
  SETVAL: 16,
  SETALL: 17,
  STAT: 18,
  INFO: 19,
  /** The largest value a System V semaphore holds (SEMVMX). */
  VALUE_MAX: 32767,
} as const;

/** `struct sembuf`: sem_num, sem_op and sem_flg, three shorts. */
export const SEMBUF = { size: 6, sem_num: 0, sem_op: 2, sem_flg: 4 } as const;

/** `struct semid_ds` offsets for this architecture. */
export const SEMID_DS: (typeof PER_ARCH)[keyof typeof PER_ARCH]["SEMID_DS"] = HERE.SEMID_DS;

/** POSIX semaphores and pthread mutexes: sizes and attribute values. */
export const PTHREAD = {
  /** `sizeof(sem_t)`, the same on both; it must be 8-byte aligned. */
  SEM_SIZE: 32,
  MUTEX_SIZE: HERE.PTHREAD_MUTEX_SIZE,
  MUTEXATTR_SIZE: HERE.PTHREAD_MUTEXATTR_SIZE,
  PROCESS_SHARED: 1,
  MUTEX_ROBUST: 1,
  MUTEX_ERRORCHECK: 2,
  /** The largest value of a POSIX semaphore (SEM_VALUE_MAX, INT_MAX on Linux). */
  SEM_VALUE_MAX: 0x7fffffff,
} as const;

/** `shmat(2)` flags and `shmctl(2)` commands. */
export const SHM = {
  RDONLY: 0o10000,
  RND: 0o20000,
  REMAP: 0o40000,
  LOCK: 11,
  UNLOCK: 12,
  STAT: 13,
  INFO: 14,
} as const;

/** `futex(2)` operations. dipc never sets FUTEX_PRIVATE_FLAG: its words live in shared memory. */
export const FUTEX = {
  WAIT: 0,
  WAKE: 1,
  /** Marks a futex operation private to this process (only the wait core's control words). */
  PRIVATE_FLAG: 128,
  WAIT_BITSET: 9,
  WAKE_BITSET: 10,
  CLOCK_REALTIME: 256,
  BITSET_MATCH_ANY: 0xffffffff,
} as const;

/**
 * `membarrier(2)` commands: the asymmetric fence the ring channel's plain-store publication
 * rests on (see ring.ts, "Ordering").
 */
export const MEMBARRIER = {
  QUERY: 0,
  GLOBAL_EXPEDITED: 1 << 1,
  REGISTER_GLOBAL_EXPEDITED: 1 << 2,
} as const;

/** Syscall numbers for the calls glibc has no wrapper for. */
export const SYS = {
  futex: HERE.SYS_futex,
  gettid: HERE.SYS_gettid,
  tgkill: HERE.SYS_tgkill,
  pidfd_open: HERE.SYS_pidfd_open,
  epoll_pwait2: HERE.SYS_epoll_pwait2,
  futex_waitv: HERE.SYS_futex_waitv,
  membarrier: HERE.SYS_membarrier,
} as const;

/**
 * `futex_waitv(2)` (Linux 5.16): `struct futex_waitv` (u64 val; u64 uaddr; u32 flags;
 * u32 reserved) and its flags.
 */
export const FUTEX_WAITV = {
  size: 24,
  val: 0,
  uaddr: 8,
  flags: 16,
  /** FUTEX2_SIZE_U32 (FUTEX_32 in older headers): the word is 32 bits. */
  SIZE_U32: 2,
  /** FUTEX2_PRIVATE (= FUTEX_PRIVATE_FLAG): the word is private to this process (the wait core's control words). */
  PRIVATE: 128,
  /** FUTEX_WAITV_MAX: words one call can wait on. */
  MAX: 128,
} as const;

/** `epoll(7)` operations and events. */
export const EPOLL = {
  CLOEXEC: 0o2000000,
  CTL_ADD: 1,
  CTL_DEL: 2,
  CTL_MOD: 3,
  IN: 0x1,
  OUT: 0x4,
  ERR: 0x8,
  HUP: 0x10,
  ONESHOT: 0x40000000,
} as const;

/** `struct epoll_event` offsets on this architecture. */
export const EPOLL_EVENT: (typeof PER_ARCH)[keyof typeof PER_ARCH]["EPOLL_EVENT"] =
  HERE.EPOLL_EVENT;

/** `clock_gettime(2)` clock ids. */
export const CLOCK = { REALTIME: 0, MONOTONIC: 1, PROCESS_CPUTIME_ID: 2 } as const;

/** File type bits of `st_mode`. */
export const S_IFMT = 0o170000;
/** `st_mode` file type of a regular file. */
export const S_IFREG = 0o100000;
/** `st_mode` file type of a FIFO. */
export const S_IFIFO = 0o010000;
/** A socket file. */
export const S_IFSOCK = 0o140000;
/** A directory. */
export const S_IFDIR = 0o040000;
/** File type bits of a symbolic link. */
export const S_IFLNK = 0o120000;

/** `struct timespec`: two 64-bit words on both architectures. */
export const TIMESPEC = { size: 16, tv_sec: 0, tv_nsec: 8 } as const;

/** `struct stat` offsets on this architecture. */
export const STAT: (typeof PER_ARCH)[keyof typeof PER_ARCH]["STAT"] = HERE.STAT;

/**
 * `struct ipc_perm` offsets, the same on both 64-bit layouts. On x86_64 `mode` is an
 * unsigned short followed by padding, on aarch64 an unsigned int: reading 16 bits
 * little-endian at the same offset is right for both.
 */
export const IPC_PERM = { size: 48, key: 0, uid: 4, gid: 8, cuid: 12, cgid: 16, mode: 20 } as const;

/** `struct shmid_ds` offsets (64-bit layout, x86_64 and aarch64 alike). */
export const SHMID_DS = {
  size: 112,
  shm_perm: 0,
  shm_segsz: 48,
  shm_atime: 56,
  shm_dtime: 64,
  shm_ctime: 72,
  shm_cpid: 80,
  shm_lpid: 84,
  shm_nattch: 88,
} as const;

/** `msgsnd(2)`/`msgrcv(2)` flags and `msgctl(2)` commands (linux/msg.h). */
export const MSG = {
  NOERROR: 0o10000,
  EXCEPT: 0o20000,
  COPY: 0o40000,
  STAT: 11,
  INFO: 12,
} as const;

/**
 * `struct msqid_ds` offsets (64-bit layout, x86_64 and aarch64 alike): the times, then the
 * byte count, message count, byte limit and the last sender's and receiver's pids.
 */
export const MSQID_DS = {
  size: 120,
  msg_perm: 0,
  msg_stime: 48,
  msg_rtime: 56,
  msg_ctime: 64,
  msg_cbytes: 72,
  msg_qnum: 80,
  msg_qbytes: 88,
  msg_lspid: 96,
  msg_lrpid: 100,
} as const;

/** The `long mtype` that starts every System V message buffer. */
export const MTYPE_SIZE = 8;

/** `struct mq_attr`: four `long`s and padding (the same on both). */
export const MQ_ATTR = {
  size: 64,
  mq_flags: 0,
  mq_maxmsg: 8,
  mq_msgsize: 16,
  mq_curmsgs: 24,
} as const;

/** `fcntl(2)` commands and descriptor flags. */
export const F = {
  GETFD: 1,
  SETFD: 2,
  GETFL: 3,
  SETFL: 4,
  DUPFD_CLOEXEC: 1030,
  SETPIPE_SZ: 1031,
  GETPIPE_SZ: 1032,
  FD_CLOEXEC: 1,
} as const;

/** `poll(2)` events and `struct pollfd` (int fd; short events; short revents). */
export const POLL = {
  IN: 0x1,
  OUT: 0x4,
  ERR: 0x8,
  HUP: 0x10,
  NVAL: 0x20,
  size: 8,
  fd: 0,
  events: 4,
  revents: 6,
} as const;

/**
 * `sock_diag(7)` for Unix sockets over netlink: which socket files are bound, by the device and
 * inode of the file (what `ss -x` reads). Layouts are the same on every Linux ABI.
 */
export const UNIX_DIAG = {
  AF_NETLINK: 16,
  SOCK_RAW: 3,
  NETLINK_SOCK_DIAG: 4,
  SOCK_DIAG_BY_FAMILY: 20,
  NLM_F_REQUEST: 0x1,
  NLM_F_DUMP: 0x300,
  NLMSG_ERROR: 2,
  NLMSG_DONE: 3,
  UDIAG_SHOW_VFS: 0x2,
  UNIX_DIAG_VFS: 1,
  /** `struct nlmsghdr`: len u32, type u16, flags u16, seq u32, pid u32. */
  nlmsghdr_size: 16,
  /** `struct unix_diag_req`: family u8, protocol u8, pad u16, states u32, ino u32, show u32, cookie u32[2]. */
  req_size: 24,
  /** `struct unix_diag_msg`: family u8, type u8, state u8, pad u8, ino u32, cookie u32[2]. */
  msg_size: 16,
} as const;

/**
 * Unix domain sockets (`socket(7)`, `unix(7)`): families, types and flags, options, control
 * messages, and the structs they use (64-bit layouts, x86_64 and aarch64 alike).
 */
export const SOCK = {
  AF_UNIX: 1,
  STREAM: 1,
  DGRAM: 2,
  SEQPACKET: 5,
  NONBLOCK: 0o4000,
  CLOEXEC: 0o2000000,
  SOL_SOCKET: 1,
  SO_TYPE: 3,
  SO_ACCEPTCONN: 30,
  SO_DOMAIN: 39,
  SO_PASSCRED: 16,
  SO_PEERCRED: 17,
  SCM_RIGHTS: 1,
  SCM_CREDENTIALS: 2,
  MSG_CTRUNC: 0x8,
  MSG_TRUNC: 0x20,
  MSG_DONTWAIT: 0x40,
  MSG_NOSIGNAL: 0x4000,
  MSG_CMSG_CLOEXEC: 0x40000000,
  SHUT_WR: 1,
  AF_INET: 2,
  SO_REUSEADDR: 2,
  IPPROTO_TCP: 6,
  TCP_NODELAY: 1,
  /** The most descriptors one SCM_RIGHTS message may carry (the kernel's SCM_MAX_FD). */
  MAX_FDS: 253,
} as const;

/** `struct sockaddr_un`: the family, then up to 108 bytes of path. */
export const SOCKADDR_UN = { size: 110, sun_family: 0, sun_path: 2, pathMax: 108 } as const;
/** `struct dirent` (glibc, 64-bit: the same as `dirent64` on both architectures). */
export const DIRENT = { d_ino: 0, d_reclen: 16, d_type: 18, d_name: 19 } as const;
/** `d_type` values. */
export const DT = { FIFO: 1, DIR: 4, REG: 8, LNK: 10, SOCK: 12 } as const;
/** `struct sockaddr_in` (IPv4): family, port and address in network byte order. */
export const SOCKADDR_IN = { size: 16, sin_family: 0, sin_port: 2, sin_addr: 4 } as const;
/** `struct msghdr`. */
export const MSGHDR = {
  size: 56,
  msg_name: 0,
  msg_namelen: 8,
  msg_iov: 16,
  msg_iovlen: 24,
  msg_control: 32,
  msg_controllen: 40,
  msg_flags: 48,
} as const;
/** `struct iovec`. */
export const IOVEC = { size: 16, iov_base: 0, iov_len: 8 } as const;
/** `struct cmsghdr`: its header, the data following at `data` (CMSG_DATA), aligned to 8. */
export const CMSGHDR = { size: 16, cmsg_len: 0, cmsg_level: 8, cmsg_type: 12, data: 16 } as const;
/** `struct ucred` (SO_PEERCRED). */
export const UCRED = { size: 12, pid: 0, uid: 4, gid: 8 } as const;

/** Advisory file locks: `flock(2)` operations, open-file-description locks (`fcntl(2)`). */
export const LOCK = {
  SH: 1,
  EX: 2,
  NB: 4,
  UN: 8,
  F_OFD_GETLK: 36,
  F_OFD_SETLK: 37,
  F_OFD_SETLKW: 38,
  F_RDLCK: 0,
  F_WRLCK: 1,
  F_UNLCK: 2,
  SEEK_SET: 0,
} as const;
/** `struct flock` (64-bit layout, x86_64 and aarch64 alike). */
export const FLOCK = {
  size: 32,
  l_type: 0,
  l_whence: 2,
  l_start: 8,
  l_len: 16,
  l_pid: 24,
} as const;

/** `eventfd(2)` and `inotify_init1(2)` flags, and the inotify event dipc watches for. */
export const EFD = { NONBLOCK: 0o4000, CLOEXEC: 0o2000000 } as const;
/** `inotify(7)` flags and events. */
export const IN = {
  NONBLOCK: 0o4000,
  CLOEXEC: 0o2000000,
  OPEN: 0x20,
  MODIFY: 0x2,
  ATTRIB: 0x4,
  CLOSE_WRITE: 0x8,
} as const;

/** `waitpid(2)` options. */
export const WNOHANG = 1;

/** `struct rusage` (the same on both): two `struct timeval`s first, then 14 `long`s. */
export const RUSAGE = { size: 144, ru_utime: 0, ru_stime: 16, tv_usec: 8 } as const;
/** `getrusage(2)` whose: the calling process, or its children that have been waited for. */
export const RUSAGE_WHO = { SELF: 0, CHILDREN: -1 } as const;

/** `getrlimit(2)` resources (the same numbers on x86_64 and aarch64). */
export const RLIMIT = { NOFILE: 7, MSGQUEUE: 12 } as const;
/** `RLIM_INFINITY`: no limit. */
export const RLIM_INFINITY = 0xffffffffffffffffn;

/** `posix_spawnattr_setflags(3)` flags, and the sizes of the opaque spawn structs. */
export const SPAWN = {
  RESETIDS: 0x01,
  SETPGROUP: 0x02,
  SETSIGDEF: 0x04,
  SETSIGMASK: 0x08,
  SETSID: 0x80,
  file_actions_size: 80,
  attr_size: 336,
} as const;

/** `sigset_t` (1024 bits) and glibc's `struct sigaction` (same layout on both). */
export const SIGSET_SIZE = 128;
/** `struct sigaction`: handler, mask, flags, restorer. */
export const SIGACTION = { size: 152, sa_handler: 0, sa_mask: 8, sa_flags: 136 } as const;
/** `SIG_DFL` and `SIG_IGN` as handler values. */
export const SIG_DFL = 0;
/** Ignore the signal. */
export const SIG_IGN = 1;
/** `SA_RESTART` in `sa_flags`: calls interrupted by the handler are restarted (where Linux can). */
export const SA_RESTART = 0x10000000;

/**
 * Linux signal numbers. x86_64 and aarch64 share them (asm-generic numbering); glibc reserves
 * 32 and 33, so realtime signals run from SIGRTMIN = 34 to SIGRTMAX = 64.
 */
export const SIGNALS = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
} as const;
/** First and last realtime signal as glibc numbers them. */
export const SIGRTMIN = 34;
/** Last realtime signal. */
export const SIGRTMAX = 64;

/**
 * Every Linux errno: number, name and description (asm-generic/errno-base.h and errno.h, which
 * x86_64 and aarch64 share). EWOULDBLOCK is EAGAIN and EDEADLOCK is EDEADLK.
 */
const ERRNO_TABLE = [
  [1, "EPERM", "Operation not permitted"],
  [2, "ENOENT", "No such file or directory"],
  [3, "ESRCH", "No such process"],
  [4, "EINTR", "Interrupted system call"],
  [5, "EIO", "I/O error"],
  [6, "ENXIO", "No such device or address"],
  [7, "E2BIG", "Argument list too long"],
  [8, "ENOEXEC", "Exec format error"],
  [9, "EBADF", "Bad file number"],
  [10, "ECHILD", "No child processes"],
  [11, "EAGAIN", "Try again"],
  [12, "ENOMEM", "Out of memory"],
  [13, "EACCES", "Permission denied"],
  [14, "EFAULT", "Bad address"],
  [15, "ENOTBLK", "Block device required"],
  [16, "EBUSY", "Device or resource busy"],
  [17, "EEXIST", "File exists"],
  [18, "EXDEV", "Cross-device link"],
  [19, "ENODEV", "No such device"],
  [20, "ENOTDIR", "Not a directory"],
  [21, "EISDIR", "Is a directory"],
  [22, "EINVAL", "Invalid argument"],
  [23, "ENFILE", "File table overflow"],
  [24, "EMFILE", "Too many open files"],
  [25, "ENOTTY", "Not a typewriter"],
  [26, "ETXTBSY", "Text file busy"],
  [27, "EFBIG", "File too large"],
  [28, "ENOSPC", "No space left on device"],
  [29, "ESPIPE", "Illegal seek"],
  [30, "EROFS", "Read-only file system"],
  [31, "EMLINK", "Too many links"],
  [32, "EPIPE", "Broken pipe"],
  [33, "EDOM", "Math argument out of domain of func"],
  [34, "ERANGE", "Math result not representable"],
  [35, "EDEADLK", "Resource deadlock would occur"],
  [36, "ENAMETOOLONG", "File name too long"],
  [37, "ENOLCK", "No record locks available"],
  [38, "ENOSYS", "Invalid system call number"],
  [39, "ENOTEMPTY", "Directory not empty"],
  [40, "ELOOP", "Too many symbolic links encountered"],
  [42, "ENOMSG", "No message of desired type"],
  [43, "EIDRM", "Identifier removed"],
  [44, "ECHRNG", "Channel number out of range"],
  [45, "EL2NSYNC", "Level 2 not synchronized"],
  [46, "EL3HLT", "Level 3 halted"],
  [47, "EL3RST", "Level 3 reset"],
  [48, "ELNRNG", "Link number out of range"],
  [49, "EUNATCH", "Protocol driver not attached"],
  [50, "ENOCSI", "No CSI structure available"],
  [51, "EL2HLT", "Level 2 halted"],
  [52, "EBADE", "Invalid exchange"],
  [53, "EBADR", "Invalid request descriptor"],
  [54, "EXFULL", "Exchange full"],
  [55, "ENOANO", "No anode"],
  [56, "EBADRQC", "Invalid request code"],
  [57, "EBADSLT", "Invalid slot"],
  [59, "EBFONT", "Bad font file format"],
  [60, "ENOSTR", "Device not a stream"],
  [61, "ENODATA", "No data available"],
  [62, "ETIME", "Timer expired"],
  [63, "ENOSR", "Out of streams resources"],
  [64, "ENONET", "Machine is not on the network"],
  [65, "ENOPKG", "Package not installed"],
  [66, "EREMOTE", "Object is remote"],
  [67, "ENOLINK", "Link has been severed"],
  [68, "EADV", "Advertise error"],
  [69, "ESRMNT", "Srmount error"],
  [70, "ECOMM", "Communication error on send"],
  [71, "EPROTO", "Protocol error"],
  [72, "EMULTIHOP", "Multihop attempted"],
  [73, "EDOTDOT", "RFS specific error"],
  [74, "EBADMSG", "Not a data message"],
  [75, "EOVERFLOW", "Value too large for defined data type"],
  [76, "ENOTUNIQ", "Name not unique on network"],
  [77, "EBADFD", "File descriptor in bad state"],
  [78, "EREMCHG", "Remote address changed"],
  [79, "ELIBACC", "Can not access a needed shared library"],
  [80, "ELIBBAD", "Accessing a corrupted shared library"],
  [81, "ELIBSCN", ".lib section in a.out corrupted"],
  [82, "ELIBMAX", "Attempting to link in too many shared libraries"],
  [83, "ELIBEXEC", "Cannot exec a shared library directly"],
  [84, "EILSEQ", "Illegal byte sequence"],
  [85, "ERESTART", "Interrupted system call should be restarted"],
  [86, "ESTRPIPE", "Streams pipe error"],
  [87, "EUSERS", "Too many users"],
  [88, "ENOTSOCK", "Socket operation on non-socket"],
  [89, "EDESTADDRREQ", "Destination address required"],
  [90, "EMSGSIZE", "Message too long"],
  [91, "EPROTOTYPE", "Protocol wrong type for socket"],
  [92, "ENOPROTOOPT", "Protocol not available"],
  [93, "EPROTONOSUPPORT", "Protocol not supported"],
  [94, "ESOCKTNOSUPPORT", "Socket type not supported"],
  [95, "EOPNOTSUPP", "Operation not supported on transport endpoint"],
  [96, "EPFNOSUPPORT", "Protocol family not supported"],
  [97, "EAFNOSUPPORT", "Address family not supported by protocol"],
  [98, "EADDRINUSE", "Address already in use"],
  [99, "EADDRNOTAVAIL", "Cannot assign requested address"],
  [100, "ENETDOWN", "Network is down"],
  [101, "ENETUNREACH", "Network is unreachable"],
  [102, "ENETRESET", "Network dropped connection because of reset"],
  [103, "ECONNABORTED", "Software caused connection abort"],
  [104, "ECONNRESET", "Connection reset by peer"],
  [105, "ENOBUFS", "No buffer space available"],
  [106, "EISCONN", "Transport endpoint is already connected"],
  [107, "ENOTCONN", "Transport endpoint is not connected"],
  [108, "ESHUTDOWN", "Cannot send after transport endpoint shutdown"],
  [109, "ETOOMANYREFS", "Too many references: cannot splice"],
  [110, "ETIMEDOUT", "Connection timed out"],
  [111, "ECONNREFUSED", "Connection refused"],
  [112, "EHOSTDOWN", "Host is down"],
  [113, "EHOSTUNREACH", "No route to host"],
  [114, "EALREADY", "Operation already in progress"],
  [115, "EINPROGRESS", "Operation now in progress"],
  [116, "ESTALE", "Stale file handle"],
  [117, "EUCLEAN", "Structure needs cleaning"],
  [118, "ENOTNAM", "Not a XENIX named type file"],
  [119, "ENAVAIL", "No XENIX semaphores available"],
  [120, "EISNAM", "Is a named type file"],
  [121, "EREMOTEIO", "Remote I/O error"],
  [122, "EDQUOT", "Quota exceeded"],
  [123, "ENOMEDIUM", "No medium found"],
  [124, "EMEDIUMTYPE", "Wrong medium type"],
  [125, "ECANCELED", "Operation Canceled"],
  [126, "ENOKEY", "Required key not available"],
  [127, "EKEYEXPIRED", "Key has expired"],
  [128, "EKEYREVOKED", "Key has been revoked"],
  [129, "EKEYREJECTED", "Key was rejected by service"],
  [130, "EOWNERDEAD", "Owner died"],
  [131, "ENOTRECOVERABLE", "State not recoverable"],
  [132, "ERFKILL", "Operation not possible due to RF-kill"],
  [133, "EHWPOISON", "Memory page has hardware error"],
] as const;

const byNumber = new Map<number, readonly [string, string]>(
  ERRNO_TABLE.map(([n, name, text]) => [n, [name, text]]),
);

/** errno numbers by name, e.g. `ERRNO.EEXIST === 17`. */
export const ERRNO: Readonly<Record<string, number>> = Object.freeze(
  Object.fromEntries(ERRNO_TABLE.map(([n, name]) => [name, n])),
);

/** The name of every errno in the table. */
type ErrnoName = (typeof ERRNO_TABLE)[number][1];

/**
 * Errno numbers by name, typed (a typo is a compile error): the table above, the one place the
 * numbers are written.
 */
export const E: {
  readonly [K in ErrnoName]: Extract<(typeof ERRNO_TABLE)[number], readonly [number, K, string]>[0];
} = ERRNO as never;

/** The name of an errno number ("EEXIST"), or `"E?<n>"` for a number Linux does not define. */
export function errnoName(errno: number): string {
  return byNumber.get(errno)?.[0] ?? `E?${errno}`;
}

/** The description of an errno number ("File exists"). */
export function errnoText(errno: number): string {
  return byNumber.get(errno)?.[1] ?? "Unknown error";
}

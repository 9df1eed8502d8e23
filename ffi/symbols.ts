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
  /** int fstat(int fd, struct stat *buf) */
  fstat: { parameters: ["i32", "buffer"], result: "i32" },
  /** int fchmod(int fd, mode_t mode) */
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  /** void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset) */
  mmap: {
    parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"],
    result: "pointer",
  },
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
  /** int clock_gettime(clockid_t clockid, struct timespec *tp) */
  clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
  /** uid_t geteuid(void) */
  geteuid: { parameters: [], result: "u32" },
  /** pid_t getpid(void) */
  getpid: { parameters: [], result: "i32" },
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
} as const satisfies Deno.ForeignLibraryInterface;

/**
 * POSIX realtime symbols: in `libc.so.6` since glibc 2.34, in `librt.so.1` before.
 */
export const RT = {
  /** int shm_open(const char *name, int oflag, mode_t mode) */
  shm_open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  /** int shm_unlink(const char *name) */
  shm_unlink: { parameters: ["buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** The symbol groups and the libraries tried for each, in order. */
export const GROUPS = {
  core: { symbols: CORE, libraries: ["libc.so.6"] },
  rt: { symbols: RT, libraries: ["libc.so.6", "librt.so.1"] },
} as const;

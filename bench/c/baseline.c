/*
 * dipc's C baseline: the same IPC work as dipc's benchmarks, done in plain C between a parent and
 * a forked child, so the suite can quote dipc as a ratio to C measured in the same run.
 *
 *   gcc -O2 -Wall -o baseline bench/c/baseline.c -lrt -lpthread
 *   ./baseline MECH thr|lat|one SIZE [SECONDS] [split[:A,B]|none]
 *   ./baseline memcpy [SECONDS_PER_SIZE]
 *
 * MECH: pipe (64 KiB pipe), pipe1m (1 MiB pipe), pipe-coalesced (the writer gathers 16 KiB of
 * messages into one writev, the reader takes 64 KiB a read), uds (Unix stream socketpair), pmq
 * (POSIX queues), sysvmq (System V queues; both queue kinds carry at most 8 KiB a message here,
 * so larger messages go as 8 KiB pieces), shmring (the best SPSC ring: dipc's record layout, an
 * 8-byte header a message, each side keeping a cached copy of the other's index and reading the
 * shared one only when the cache says full or empty, the index published with one release store,
 * the sleeper flag checked with a plain load), shmring-batch (the same ring, 64 KiB of messages
 * published at a time and every message there taken before the head is published), bytering (the
 * earlier baseline: a byte ring that loads the peer's index on every write and read and swaps the
 * sleeper flag each time), shmfutex / shmspin / shmsem (a ping-pong through shared memory, woken
 * by futex, by spinning, or by a process-shared sem_t: round trip only). pipe-spin, pmq-spin and
 * sysvmq-spin receive as dipc's waits do: non-blocking tries first (SPIN_TRIES), then a blocking
 * wait (round trips like with like).
 *
 * thr: the child sends SIZE-byte messages for SECONDS, then an end mark; the parent receives
 * everything and reports MB/s. lat: the parent sends SIZE bytes, the child sends them back; the
 * parent times each round trip, drops the first 2% (warm-up) and reports the median and p99.
 * one: one thread is both ends (shmring: send one message, receive it; shmring-batch: send 64,
 * receive them; pipe, pmq, sysvmq: a write and a read, a send and a receive) and reports the
 * nanoseconds a message: the code's own cost, with no CPU-to-CPU traffic.
 * split: the parent runs on one CPU and the child on another (CPUs A and B, or the first two this
 * process may use); none: wherever the scheduler puts them.
 * Each run prints a line "RESULT key=value …", the format tools/ parse, then a second one
 * (mode=cpu) with the CPU time both processes used per message.
 *
 * Sleeping on the ring: the sleeper raises its flag with a sequentially consistent store, then
 * calls membarrier(MEMBARRIER_CMD_GLOBAL_EXPEDITED) before its last look, so a peer that
 * published with a plain (release) store and read the flag with a plain load cannot both miss
 * the flag and have its store unseen (the asymmetric fence of userspace RCU); both processes
 * register for it first. Its futex sleeps last at most 20 ms, as dipc's do.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <sys/uio.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PIECE 8192              /* the largest queue message on this machine's defaults */
#define RING_BYTES (1u << 20)   /* the byte ring's size, and the record ring's below 1 MiB messages */
#define RECORD_RING_MAX (4u << 20) /* the record ring for 1 MiB messages (capacity / 2 - 8) */
#define MAX_SAMPLES 2000000
#define SPIN_TRIES 256

static void fail(const char *what) {
  fprintf(stderr, "baseline: %s: %s\n", what, strerror(errno));
  exit(2);
}

/* The parent's CPU time over its measured stretch and the messages in it, for the CPU line. */
static uint64_t cpu_parent_ns, cpu_messages;

static uint64_t cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t clock_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long futex_op(uint32_t *word, int op, uint32_t value) {
  return syscall(SYS_futex, word, op, value, NULL, NULL, 0);
}

static void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

/* ---- message transports: one channel each way (0: parent → child, 1: child → parent) ---- */

struct transport {
  int fd_tx[2], fd_rx[2]; /* pipes and sockets: [direction] */
  mqd_t mq[2];
  int msq[2];
};
static struct transport T;
static const char *mech;  /* as asked */
static const char *tmech; /* the transport under it: pipe-coalesced and X-spin use X's */
static int spin_receive;  /* X-spin: non-blocking tries before a blocking receive */
static int coalesced;     /* pipe-coalesced */
static int pin;           /* split: the parent on one CPU, the child on another */
static char mq_names[2][64];

struct sysv_piece {
  long mtype;
  char text[PIECE];
};

/* A read that never blocks (MSG_DONTWAIT works on sockets only; pipes get O_NONBLOCK once). */
static ssize_t recv_nonblocking(int fd, char *buf, size_t n) {
  static int flagged[64];
  if (fd < 64 && !flagged[fd]) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    flagged[fd] = 1;
  }
  return read(fd, buf, n);
}

static void setup_transport(void) {
  if (!strcmp(tmech, "pipe") || !strcmp(tmech, "pipe1m")) {
    for (int d = 0; d < 2; d++) {
      int p[2];
      if (pipe(p)) fail("pipe");
      if (!strcmp(tmech, "pipe1m") && fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0) fail("F_SETPIPE_SZ");
      T.fd_rx[d] = p[0];
      T.fd_tx[d] = p[1];
    }
  } else if (!strcmp(tmech, "uds")) {
    int s[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s)) fail("socketpair");
    /* one socket pair is both directions: the parent uses s[0], the child s[1] */
    T.fd_tx[0] = T.fd_rx[1] = s[0];
    T.fd_tx[1] = T.fd_rx[0] = s[1];
  } else if (!strcmp(tmech, "pmq")) {
    struct mq_attr a = {.mq_maxmsg = 10, .mq_msgsize = PIECE};
    for (int d = 0; d < 2; d++) {
      snprintf(mq_names[d], sizeof mq_names[d], "/dipc-baseline-%d-%d", (int)getpid(), d);
      T.mq[d] = mq_open(mq_names[d], O_RDWR | O_CREAT | O_EXCL, 0600, &a);
      if (T.mq[d] == (mqd_t)-1) fail("mq_open");
      mq_unlink(mq_names[d]); /* both processes keep it open: nothing is left behind */
    }
  } else if (!strcmp(tmech, "sysvmq")) {
    for (int d = 0; d < 2; d++) {
      T.msq[d] = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
      if (T.msq[d] < 0) fail("msgget");
    }
  } else {
    fprintf(stderr, "baseline: unknown mechanism %s\n", tmech);
    exit(2);
  }
}

static void teardown_transport(void) {
  if (!strcmp(tmech, "sysvmq")) {
    msgctl(T.msq[0], IPC_RMID, NULL);
    msgctl(T.msq[1], IPC_RMID, NULL);
  }
}

static int is_stream(void) {
  return !strcmp(tmech, "pipe") || !strcmp(tmech, "pipe1m") || !strcmp(tmech, "uds");
}

/* Sends n bytes in direction d (pieces of at most PIECE for the queues). */
static void send_bytes(int d, const char *buf, size_t n) {
  if (!strcmp(tmech, "pmq") || !strcmp(tmech, "sysvmq")) {
    static struct sysv_piece piece;
    do {
      size_t k = n < PIECE ? n : PIECE;
      if (!strcmp(tmech, "pmq")) {
        while (mq_send(T.mq[d], buf, k, 0)) if (errno != EINTR) fail("mq_send");
      } else {
        piece.mtype = 1;
        memcpy(piece.text, buf, k);
        while (msgsnd(T.msq[d], &piece, k, 0)) if (errno != EINTR) fail("msgsnd");
      }
      buf += k;
      n -= k;
    } while (n > 0);
    return;
  }
  while (n > 0) {
    ssize_t w = write(T.fd_tx[d], buf, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("write");
    }
    buf += w;
    n -= (size_t)w;
  }
}

/* Receives one unit in direction d: a queue message, or up to n bytes of a stream; 0 at end. */
static size_t receive_some(int d, char *buf, size_t n) {
  int tries = spin_receive ? SPIN_TRIES : 0;
  for (;;) {
    ssize_t r;
    if (tries > 0) {
      tries--;
      if (!strcmp(tmech, "pmq")) {
        static char big[PIECE];
        struct mq_attr nb = {.mq_flags = O_NONBLOCK}, old;
        static int made_nonblocking[2];
        if (!made_nonblocking[d]) {
          mq_setattr(T.mq[d], &nb, &old);
          made_nonblocking[d] = 1;
        }
        r = mq_receive(T.mq[d], big, sizeof big, NULL);
        if (r > 0) memcpy(buf, big, (size_t)r < n ? (size_t)r : n);
      } else if (!strcmp(tmech, "sysvmq")) {
        static struct sysv_piece piece;
        r = msgrcv(T.msq[d], &piece, PIECE, 0, IPC_NOWAIT);
        if (r > 0) memcpy(buf, piece.text, (size_t)r < n ? (size_t)r : n);
      } else {
        r = recv_nonblocking(T.fd_rx[d], buf, n);
      }
      if (r >= 0) return (size_t)r;
      if (errno == EAGAIN || errno == ENOMSG || errno == EINTR) continue;
      fail("receive");
    }
    if (spin_receive && !strcmp(tmech, "pmq")) {
      /* the queue was made non-blocking for the tries: wait for it to be readable */
      struct pollfd pfd = {.fd = (int)T.mq[d], .events = POLLIN};
      poll(&pfd, 1, -1);
      tries = 1;
      continue;
    }
    if (spin_receive && strcmp(tmech, "sysvmq")) {
      struct pollfd pfd = {.fd = T.fd_rx[d], .events = POLLIN};
      poll(&pfd, 1, -1);
      tries = 1;
      continue;
    }
    if (!strcmp(tmech, "pmq")) {
      static char big[PIECE];
      r = mq_receive(T.mq[d], big, sizeof big, NULL);
      if (r > 0) memcpy(buf, big, (size_t)r < n ? (size_t)r : n);
    } else if (!strcmp(tmech, "sysvmq")) {
      static struct sysv_piece piece;
      r = msgrcv(T.msq[d], &piece, PIECE, 0, 0);
      if (r > 0) memcpy(buf, piece.text, (size_t)r < n ? (size_t)r : n);
    } else {
      r = read(T.fd_rx[d], buf, n);
    }
    if (r >= 0) return (size_t)r;
    if (errno != EINTR) fail("receive");
  }
}

/* Receives exactly n bytes in direction d; returns fewer only at end of stream. */
static size_t receive_exactly(int d, char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    size_t want = n - got;
    size_t r = receive_some(d, buf + got, want < PIECE || is_stream() ? want : PIECE);
    if (r == 0) break;
    got += r;
  }
  return got;
}

/* The end mark: a stream's write end closed; an empty message on a queue. */
static void send_end(int d) {
  if (!strcmp(tmech, "pmq")) {
    while (mq_send(T.mq[d], "", 0, 0)) if (errno != EINTR) fail("mq_send end");
  } else if (!strcmp(tmech, "sysvmq")) {
    static struct sysv_piece piece = {.mtype = 1};
    while (msgsnd(T.msq[d], &piece, 0, 0)) if (errno != EINTR) fail("msgsnd end");
  } else if (!strcmp(tmech, "uds")) {
    shutdown(T.fd_tx[d], SHUT_WR);
  } else {
    close(T.fd_tx[d]);
  }
}

/* ---- shared memory: a byte ring and a ping-pong ---- */

struct shared {
  /* the ring */
  uint64_t head __attribute__((aligned(64)));
  uint64_t tail __attribute__((aligned(64)));
  uint32_t data_waiting __attribute__((aligned(64)));
  uint32_t space_waiting;
  uint32_t finished;
  /* the ping-pong */
  uint32_t ping __attribute__((aligned(64)));
  uint32_t pong __attribute__((aligned(64)));
  uint32_t stop;
  sem_t sem_ping, sem_pong;
  char slot_ping[RING_BYTES] __attribute__((aligned(64)));
  char slot_pong[RING_BYTES] __attribute__((aligned(64)));
  char ring[RING_BYTES] __attribute__((aligned(64)));
};
static struct shared *S;

static void setup_shared(void) {
  S = mmap(NULL, sizeof *S, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (S == MAP_FAILED) fail("mmap");
  if (sem_init(&S->sem_ping, 1, 0) || sem_init(&S->sem_pong, 1, 0)) fail("sem_init");
}

/* Waits until ready() holds: spin first, then sleep on *flag (raised before the last look). */
static void ring_sleep_until(uint32_t *flag, int (*ready)(void)) {
  for (int i = 0; i < SPIN_TRIES; i++) {
    if (ready()) return;
    cpu_relax();
  }
  while (!ready()) {
    __atomic_store_n(flag, 1, __ATOMIC_SEQ_CST);
    if (ready()) break;
    futex_op(flag, FUTEX_WAIT, 1);
  }
  __atomic_store_n(flag, 0, __ATOMIC_RELAXED);
}

static void ring_wake(uint32_t *flag) {
  if (__atomic_exchange_n(flag, 0, __ATOMIC_SEQ_CST)) futex_op(flag, FUTEX_WAKE, 1);
}

static int ring_has_room(void) {
  return __atomic_load_n(&S->tail, __ATOMIC_RELAXED) - __atomic_load_n(&S->head, __ATOMIC_ACQUIRE) <
         RING_BYTES;
}

static int ring_has_bytes(void) {
  return __atomic_load_n(&S->tail, __ATOMIC_ACQUIRE) != __atomic_load_n(&S->head, __ATOMIC_RELAXED) ||
         __atomic_load_n(&S->finished, __ATOMIC_ACQUIRE);
}

static void ring_write(const char *buf, size_t n) {
  uint64_t tail = S->tail;
  while (n > 0) {
    uint64_t room = RING_BYTES - (tail - __atomic_load_n(&S->head, __ATOMIC_ACQUIRE));
    if (room == 0) {
      ring_sleep_until(&S->space_waiting, ring_has_room);
      continue;
    }
    size_t at = tail % RING_BYTES;
    size_t k = n;
    if (k > room) k = room;
    if (k > RING_BYTES - at) k = RING_BYTES - at;
    memcpy(S->ring + at, buf, k);
    buf += k;
    n -= k;
    tail += k;
    __atomic_store_n(&S->tail, tail, __ATOMIC_SEQ_CST);
    ring_wake(&S->data_waiting);
  }
}

/* Reads n bytes; fewer only once the writer has finished and the ring is empty. */
static size_t ring_read(char *buf, size_t n) {
  uint64_t head = S->head;
  size_t got = 0;
  while (got < n) {
    uint64_t have = __atomic_load_n(&S->tail, __ATOMIC_ACQUIRE) - head;
    if (have == 0) {
      if (__atomic_load_n(&S->finished, __ATOMIC_ACQUIRE) &&
          __atomic_load_n(&S->tail, __ATOMIC_ACQUIRE) == head) {
        break;
      }
      ring_sleep_until(&S->data_waiting, ring_has_bytes);
      continue;
    }
    size_t at = head % RING_BYTES;
    size_t k = n - got;
    if (k > have) k = have;
    if (k > RING_BYTES - at) k = RING_BYTES - at;
    memcpy(buf + got, S->ring + at, k);
    got += k;
    head += k;
    __atomic_store_n(&S->head, head, __ATOMIC_SEQ_CST);
    ring_wake(&S->space_waiting);
  }
  return got;
}


/* ---- the record ring: the best SPSC design, on dipc's record layout ---- */

struct record_ring {
  uint32_t head __attribute__((aligned(64))); /* written by the receiver only */
  uint32_t tail __attribute__((aligned(64))); /* written by the sender only */
  uint32_t data_flag __attribute__((aligned(64)));  /* 1 while the receiver sleeps */
  uint32_t space_flag __attribute__((aligned(64))); /* 1 while the sender sleeps */
  uint32_t finished;
  char ring[RECORD_RING_MAX] __attribute__((aligned(64)));
};
static struct record_ring *R;
static uint32_t rcap, rmask;
/* each side's own index and its cached copy of the other's */
static uint32_t s_tail, s_head_cache, r_head, r_tail_cache;
static int fence_ok; /* membarrier registered: plain publication is safe */
static uint32_t my_pid;
#define SKIP_FLAG 0x40000000u
#define LEN_BITS 0x3fffffffu

static uint32_t align8(uint32_t n) { return (n + 7) & ~7u; }

static void setup_record_ring(size_t size) {
  R = mmap(NULL, sizeof *R, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (R == MAP_FAILED) fail("mmap");
  rcap = RING_BYTES;
  while (rcap / 2 - 8 < size) rcap *= 2; /* dipc's rule for its benchmark rings */
  rmask = rcap - 1;
}

static void register_fence(void) {
  fence_ok = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0;
  my_pid = (uint32_t)getpid();
}

/* Raise the flag (a full barrier), fence the peer's plain stores into view, look once more,
   then sleep on the flag for at most 20 ms. */
static void rec_sleep(uint32_t *flag, int (*ready)(void)) {
  for (int i = 0; i < SPIN_TRIES; i++) {
    if (ready()) return;
    cpu_relax();
  }
  while (!ready()) {
    __atomic_store_n(flag, 1, __ATOMIC_SEQ_CST);
    if (fence_ok) syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0);
    if (ready()) break;
    struct timespec slice = {0, 20 * 1000 * 1000};
    syscall(SYS_futex, flag, FUTEX_WAIT, 1, &slice, NULL, 0);
  }
  __atomic_store_n(flag, 0, __ATOMIC_RELAXED);
}

/* The flag is read with a plain load; only a raised one costs an exchange and a wake. */
static void rec_wake(uint32_t *flag) {
  if (__atomic_load_n(flag, __ATOMIC_RELAXED) && __atomic_exchange_n(flag, 0, __ATOMIC_SEQ_CST)) {
    futex_op(flag, FUTEX_WAKE, 1);
  }
}

static uint32_t rec_wanted;
static int rec_has_room(void) {
  return s_tail - __atomic_load_n(&R->head, __ATOMIC_ACQUIRE) + rec_wanted <= rcap;
}
static int rec_has_data(void) {
  return __atomic_load_n(&R->tail, __ATOMIC_ACQUIRE) != r_head ||
         __atomic_load_n(&R->finished, __ATOMIC_ACQUIRE);
}

static void rec_publish_tail(void) {
  if (fence_ok) __atomic_store_n(&R->tail, s_tail, __ATOMIC_RELEASE);
  else __atomic_store_n(&R->tail, s_tail, __ATOMIC_SEQ_CST);
  rec_wake(&R->data_flag);
}

static void rec_publish_head(void) {
  if (fence_ok) __atomic_store_n(&R->head, r_head, __ATOMIC_RELEASE);
  else __atomic_store_n(&R->head, r_head, __ATOMIC_SEQ_CST);
  rec_wake(&R->space_flag);
}

/* Writes one record (no publication); 0 when there is no room now. */
static int rec_try_put(const char *buf, uint32_t n) {
  uint32_t rec = 8 + align8(n), idx = s_tail & rmask, contiguous = rcap - idx;
  uint32_t need = rec <= contiguous ? rec : contiguous + rec;
  if (s_tail - s_head_cache + need > rcap) {
    s_head_cache = __atomic_load_n(&R->head, __ATOMIC_ACQUIRE);
    if (s_tail - s_head_cache + need > rcap) return 0;
  }
  if (rec > contiguous) { /* filler to the end: a record never wraps */
    uint32_t *skip = (uint32_t *)(R->ring + idx);
    skip[0] = SKIP_FLAG | (contiguous - 8);
    skip[1] = my_pid;
    s_tail += contiguous;
    idx = 0;
  }
  uint32_t *word = (uint32_t *)(R->ring + idx);
  word[0] = n;
  word[1] = my_pid;
  memcpy(word + 2, buf, n);
  s_tail += rec;
  return 1;
}

/* Sends one message, published at once. */
static void rec_send(const char *buf, uint32_t n) {
  while (!rec_try_put(buf, n)) {
    rec_wanted = 2 * (8 + align8(n));
    rec_sleep(&R->space_flag, rec_has_room);
  }
  rec_publish_tail();
}

/* Sends `count` messages, publishing whenever the ring is full and once at the end. */
static void rec_send_batch(const char *buf, uint32_t n, int count) {
  for (int i = 0; i < count; i++) {
    if (rec_try_put(buf, n)) continue;
    rec_publish_tail();
    rec_wanted = 2 * (8 + align8(n));
    rec_sleep(&R->space_flag, rec_has_room);
    i--;
  }
  rec_publish_tail();
}

/* Takes the next message into buf; its length, or -1 when empty (nothing published). */
static long rec_try_take(char *buf) {
  for (;;) {
    if (r_head == r_tail_cache) {
      r_tail_cache = __atomic_load_n(&R->tail, __ATOMIC_ACQUIRE);
      if (r_head == r_tail_cache) return -1;
    }
    uint32_t idx = r_head & rmask;
    const uint32_t *word = (const uint32_t *)(R->ring + idx);
    uint32_t len = word[0] & LEN_BITS;
    /* the checks dipc makes on every word a peer wrote */
    if (idx + 8 + align8(len) > rcap || 8 + align8(len) > r_tail_cache - r_head) {
      fprintf(stderr, "baseline: a corrupt record\n");
      exit(2);
    }
    r_head += 8 + align8(len);
    if (word[0] & SKIP_FLAG) continue;
    memcpy(buf, word + 2, len);
    return (long)len;
  }
}

static void rec_finish(void) {
  __atomic_store_n(&R->finished, 1, __ATOMIC_SEQ_CST);
  __atomic_exchange_n(&R->data_flag, 0, __ATOMIC_SEQ_CST);
  futex_op(&R->data_flag, FUTEX_WAKE, 1);
}

/* The receiving side of a throughput run: every message until the end; the bytes taken. A
   batch receiver publishes its head once per run of messages it found there. */
static uint64_t rec_drain(char *buf) {
  int batch = !strcmp(mech, "shmring-batch");
  uint64_t bytes = 0;
  for (;;) {
    long n = rec_try_take(buf);
    if (n >= 0) {
      bytes += (uint64_t)n;
      if (!batch) rec_publish_head();
      continue;
    }
    if (batch) rec_publish_head();
    if (__atomic_load_n(&R->finished, __ATOMIC_ACQUIRE) &&
        __atomic_load_n(&R->tail, __ATOMIC_ACQUIRE) == r_head) {
      return bytes;
    }
    rec_sleep(&R->data_flag, rec_has_data);
  }
}

static int is_recring(void) { return !strcmp(mech, "shmring") || !strcmp(mech, "shmring-batch"); }
static int is_bytering(void) { return !strcmp(mech, "bytering"); }

/* The ping-pong: one counter each way; futex and spin wait on it, shmsem uses the sem_t's. */
static void pingpong_signal(uint32_t *counter, sem_t *sem) {
  if (!strcmp(mech, "shmsem")) {
    if (sem_post(sem)) fail("sem_post");
    return;
  }
  __atomic_add_fetch(counter, 1, __ATOMIC_SEQ_CST);
  if (!strcmp(mech, "shmfutex")) futex_op(counter, FUTEX_WAKE, 1);
}

static void pingpong_wait(uint32_t *counter, sem_t *sem, uint32_t *seen) {
  if (!strcmp(mech, "shmsem")) {
    while (sem_wait(sem)) if (errno != EINTR) fail("sem_wait");
    return;
  }
  uint32_t v;
  while ((v = __atomic_load_n(counter, __ATOMIC_ACQUIRE)) == *seen) {
    if (!strcmp(mech, "shmfutex")) futex_op(counter, FUTEX_WAIT, *seen);
    else cpu_relax();
  }
  *seen = v;
}

static int is_pingpong(void) {
  return !strcmp(mech, "shmfutex") || !strcmp(mech, "shmspin") || !strcmp(mech, "shmsem");
}

/* ---- the runs ---- */

static int cmp_ns(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void report_latency(size_t size, uint64_t *ns, size_t n) {
  size_t skip = n / 50; /* warm-up */
  ns += skip;
  n -= skip;
  qsort(ns, n, sizeof *ns, cmp_ns);
  double total = 0;
  for (size_t i = 0; i < n; i++) total += (double)ns[i];
  printf("RESULT lang=c mech=%s mode=lat size=%zu pin=%s n=%zu median_us=%.3f p99_us=%.3f "
         "mean_us=%.3f min_us=%.3f\n",
         mech, size, pin ? "split" : "none", n, ns[n / 2] / 1e3, ns[n * 99 / 100] / 1e3, total / n / 1e3, ns[0] / 1e3);
}

/* Messages in 64 KiB (at least one): what a batch or a gathered write holds, as in dipc's. */
static int per_batch(size_t size) { return size >= 65536 ? 1 : (int)(65536 / size); }

/* pipe-coalesced: 16 KiB of messages (at least one) in one writev, as dipc's writeBatch gathers
   them (a quarter of the pipe, so the reader drains one block while the next is written). */
static void send_gathered(const char *buf, size_t size) {
  static struct iovec iov[1024];
  int per = size >= 16384 ? 1 : (int)(16384 / size);
  if (per > 1024) per = 1024;
  for (int i = 0; i < per; i++) iov[i] = (struct iovec){.iov_base = (void *)buf, .iov_len = size};
  int first = 0;
  while (first < per) {
    ssize_t w = writev(T.fd_tx[1], iov + first, per - first);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("writev");
    }
    while (first < per && (size_t)w >= iov[first].iov_len) w -= (ssize_t)iov[first++].iov_len;
    if (first < per && w > 0) {
      iov[first].iov_base = (char *)iov[first].iov_base + w;
      iov[first].iov_len -= (size_t)w;
    }
  }
}

static void child(size_t size, double seconds, int throughput) {
  char *buf = malloc(size > PIECE ? size : PIECE);
  if (!buf) fail("malloc");
  memset(buf, 'c', size > PIECE ? size : PIECE);
  if (throughput) {
    uint64_t until = clock_ns() + (uint64_t)(seconds * 1e9);
    for (uint64_t i = 1;; i++) {
      if (is_bytering()) ring_write(buf, size);
      else if (!strcmp(mech, "shmring")) rec_send(buf, (uint32_t)size);
      else if (is_recring()) rec_send_batch(buf, (uint32_t)size, per_batch(size));
      else if (coalesced) send_gathered(buf, size);
      else send_bytes(1, buf, size);
      if ((i & 15) == 0 && clock_ns() >= until) break;
    }
    if (is_bytering()) {
      __atomic_store_n(&S->finished, 1, __ATOMIC_SEQ_CST);
      ring_wake(&S->data_waiting);
    } else if (is_recring()) {
      rec_finish();
    } else {
      send_end(1);
    }
    return;
  }
  if (is_pingpong()) {
    uint32_t seen = 0;
    for (;;) {
      pingpong_wait(&S->ping, &S->sem_ping, &seen);
      if (__atomic_load_n(&S->stop, __ATOMIC_ACQUIRE)) return;
      memcpy(buf, S->slot_ping, size);
      memcpy(S->slot_pong, buf, size);
      pingpong_signal(&S->pong, &S->sem_pong);
    }
  }
  while (receive_exactly(0, buf, size) == size) send_bytes(1, buf, size);
}

static void parent(size_t size, double seconds, int throughput) {
  char *buf = malloc(size > PIECE ? size : PIECE);
  if (!buf) fail("malloc");
  memset(buf, 'p', size > PIECE ? size : PIECE);
  if (throughput) {
    uint64_t bytes = 0;
    uint64_t t0 = clock_ns(), c0 = cpu_ns();
    if (is_bytering()) {
      size_t r;
      while ((r = ring_read(buf, size)) > 0) bytes += r;
    } else if (is_recring()) {
      bytes = rec_drain(buf);
    } else if (coalesced) {
      static char gulp[65536];
      size_t r;
      while ((r = receive_some(1, gulp, sizeof gulp)) > 0) bytes += r;
    } else {
      size_t r;
      while ((r = receive_some(1, buf, size > PIECE ? size : PIECE)) > 0) bytes += r;
    }
    double secs = (clock_ns() - t0) / 1e9;
    cpu_parent_ns = cpu_ns() - c0;
    cpu_messages = bytes / size;
    printf("RESULT lang=c mech=%s mode=thr size=%zu pin=%s MBps=%.1f msgps=%.0f bytes=%llu "
           "secs=%.3f\n",
           mech, size, pin ? "split" : "none", bytes / secs / 1e6, bytes / (double)(size ? size : 1) / secs,
           (unsigned long long)bytes, secs);
    return;
  }
  uint64_t *ns = malloc(sizeof *ns * MAX_SAMPLES);
  if (!ns) fail("malloc");
  size_t n = 0;
  uint64_t until = clock_ns() + (uint64_t)(seconds * 1e9);
  uint32_t seen = 0;
  uint64_t c0 = cpu_ns();
  while (n < MAX_SAMPLES) {
    uint64_t t0 = clock_ns();
    if (is_pingpong()) {
      memcpy(S->slot_ping, buf, size);
      pingpong_signal(&S->ping, &S->sem_ping);
      pingpong_wait(&S->pong, &S->sem_pong, &seen);
      memcpy(buf, S->slot_pong, size);
    } else {
      send_bytes(0, buf, size);
      if (receive_exactly(1, buf, size) != size) {
        fprintf(stderr, "baseline: the echo ended early\n");
        exit(2);
      }
    }
    uint64_t t1 = clock_ns();
    ns[n++] = t1 - t0;
    if (t1 >= until) break;
  }
  if (is_pingpong()) {
    __atomic_store_n(&S->stop, 1, __ATOMIC_SEQ_CST);
    pingpong_signal(&S->ping, &S->sem_ping);
  } else {
    send_end(0);
  }
  cpu_parent_ns = cpu_ns() - c0;
  cpu_messages = n;
  report_latency(size, ns, n);
}

static void memcpy_bandwidth(double seconds) {
  static const size_t sizes[] = {64, 4096, 65536, 1 << 20};
  for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
    size_t n = sizes[s];
    char *a = malloc(n), *b = malloc(n);
    if (!a || !b) fail("malloc");
    memset(a, 1, n);
    uint64_t copies = 0, t0 = clock_ns(), until = t0 + (uint64_t)(seconds * 1e9), t1;
    do {
      for (int i = 0; i < 64; i++) {
        memcpy(b, a, n);
        __asm__ __volatile__("" : : "r"(b) : "memory"); /* keep the copy */
      }
      copies += 64;
    } while ((t1 = clock_ns()) < until);
    double secs = (t1 - t0) / 1e9;
    printf("RESULT lang=c mech=memcpy mode=thr size=%zu pin=none MBps=%.1f ns_per_copy=%.2f\n", n,
           copies * (double)n / secs / 1e6, secs * 1e9 / copies);
    free(a);
    free(b);
  }
}

/* ---- pinning ---- */


/* The CPUs of `split:A,B` (default: the first two this process may use). */
static int pin_cpu[2] = {-1, -1};

/* Pins the calling process to the pair's `which`-th CPU (0: the parent's, 1: the child's), when
   asked. A CPU that cannot be had is reported and the run goes on unpinned (pin=none). */
static void pin_to(int which) {
  if (!pin) return;
  int cpu = pin_cpu[which];
  if (cpu < 0) {
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
      int seen = 0;
      for (int c = 0; c < CPU_SETSIZE && cpu < 0; c++) {
        if (CPU_ISSET(c, &allowed) && seen++ == which) cpu = c;
      }
    }
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  if (cpu >= 0) CPU_SET(cpu, &one);
  if (cpu < 0 || sched_setaffinity(0, sizeof one, &one)) {
    fprintf(stderr, "baseline: cannot pin to CPU %d: running unpinned\n", cpu);
    pin = 0;
  }
}

/* ---- one thread, both ends: what the code itself costs ---- */

static int one_thread_cost(size_t size, double seconds) {
  char *buf = malloc(size), *into = malloc(size > PIECE ? size : PIECE);
  if (!buf || !into) fail("malloc");
  memset(buf, 'o', size);
  int batch = 1;
  if (is_recring()) {
    setup_record_ring(size);
    register_fence();
    if (!strcmp(mech, "shmring-batch")) batch = 64;
    while (rcap / (8 + align8((uint32_t)size)) < (uint32_t)batch + 1) batch /= 2;
    if (batch < 1) batch = 1;
  } else if (!strcmp(tmech, "pipe") || !strcmp(tmech, "pmq") || !strcmp(tmech, "sysvmq")) {
    if (size > PIECE && strcmp(tmech, "pipe")) {
      fprintf(stderr, "baseline: a queue message is at most %d bytes here\n", PIECE);
      return 2;
    }
    setup_transport();
  } else {
    fprintf(stderr, "baseline: one-thread cost is measured for shmring, shmring-batch, pipe, pmq, "
                    "sysvmq\n");
    return 2;
  }
  pin_to(0);
  uint64_t messages = 0, t0 = clock_ns(), until = t0 + (uint64_t)(seconds * 1e9), t1;
  uint64_t c0 = cpu_ns();
  do {
    for (int rep = 0; rep < 64; rep++) {
      if (is_recring()) {
        for (int i = 0; i < batch; i++) {
          if (!rec_try_put(buf, (uint32_t)size)) fail("the ring is full");
          if (batch == 1) rec_publish_tail();
        }
        if (batch > 1) rec_publish_tail();
        for (int i = 0; i < batch; i++) {
          if (rec_try_take(into) != (long)size) fail("the ring lost a message");
          if (batch == 1) rec_publish_head();
        }
        if (batch > 1) rec_publish_head();
        messages += (uint64_t)batch;
      } else {
        send_bytes(0, buf, size);
        if (receive_exactly(0, into, size) != size) fail("short read");
        messages++;
      }
      __asm__ __volatile__("" : : "r"(into) : "memory");
    }
  } while ((t1 = clock_ns()) < until);
  double ns = (double)(t1 - t0) / (double)messages;
  printf("RESULT lang=c mech=%s mode=one size=%zu pin=%s batch=%d ns_per_msg=%.2f msgps=%.0f\n",
         mech, size, pin ? "one" : "none", batch, ns, 1e9 / ns);
  printf("RESULT lang=c mech=%s mode=cpu size=%zu cpu_us_per_msg=%.4f\n", mech, size,
         (cpu_ns() - c0) / 1e3 / (double)messages);
  teardown_transport();
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "memcpy")) {
    memcpy_bandwidth(argc > 2 ? atof(argv[2]) : 0.5);
    return 0;
  }
  if (argc < 4) {
    fprintf(stderr, "usage: %s MECH thr|lat|one SIZE [SECONDS] [split|none] | %s memcpy [SECONDS]\n", argv[0],
            argv[0]);
    return 2;
  }
  mech = argv[1];
  static char base[32];
  snprintf(base, sizeof base, "%s", mech);
  size_t len = strlen(base);
  if (len > 5 && !strcmp(base + len - 5, "-spin")) {
    base[len - 5] = 0;
    spin_receive = 1;
  }
  if (!strcmp(base, "pipe-coalesced")) {
    snprintf(base, sizeof base, "pipe");
    coalesced = 1;
  }
  tmech = base;
  int throughput = !strcmp(argv[2], "thr");
  int one_thread = !strcmp(argv[2], "one");
  size_t size = strtoul(argv[3], NULL, 10);
  double seconds = argc > 4 ? atof(argv[4]) : 1.0;
  pin = argc > 5 && !strncmp(argv[5], "split", 5);
  if (pin && argv[5][5] == ':') sscanf(argv[5] + 6, "%d,%d", &pin_cpu[0], &pin_cpu[1]);
  if (size == 0 || size > RING_BYTES) {
    fprintf(stderr, "baseline: SIZE must be 1 to %u bytes\n", RING_BYTES);
    return 2;
  }
  if ((is_bytering() || is_recring() || coalesced) && !throughput && !one_thread) {
    fprintf(stderr, "baseline: %s measures throughput (thr) and one-thread cost (one) only\n", mech);
    return 2;
  }
  if (is_pingpong() && (throughput || one_thread)) {
    fprintf(stderr, "baseline: %s measures round trips only\n", mech);
    return 2;
  }
  if (spin_receive && (throughput || one_thread || !strcmp(tmech, "uds"))) {
    fprintf(stderr, "baseline: %s measures round trips on pipes and queues only\n", mech);
    return 2;
  }
  if (one_thread) return one_thread_cost(size, seconds);
  if (is_recring()) setup_record_ring(size);
  if (is_bytering() || is_pingpong()) setup_shared();
  else if (!is_recring()) setup_transport();
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    pin_to(1);
    register_fence();
    /* the child's ends: it sends on direction 1 and receives on direction 0 */
    if (is_stream() && strcmp(mech, "uds")) {
      close(T.fd_rx[1]);
      close(T.fd_tx[0]);
    }
    child(size, seconds, throughput);
    _exit(0);
  }
  if (is_stream() && strcmp(mech, "uds")) {
    close(T.fd_tx[1]);
    close(T.fd_rx[0]);
  }
  pin_to(0);
  register_fence();
  parent(size, seconds, throughput);
  int status;
  struct rusage ru;
  while (wait4(pid, &status, 0, &ru) < 0) {
    if (errno != EINTR) fail("wait4");
  }
  /* CPU time per message, both processes: the parent over its measured stretch, the child over
     its whole life (a fork: no start-up to speak of). */
  double child_ns = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
                    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
  printf("RESULT lang=c mech=%s mode=cpu size=%zu cpu_us_per_msg=%.4f\n", mech, size,
         cpu_messages ? (cpu_parent_ns + child_ns) / 1e3 / cpu_messages : 0.0);
  teardown_transport();
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

/*
 * dipc's C baseline: the same IPC work as dipc's benchmarks, done in plain C between a parent and
 * a forked child, so the suite can quote dipc as a ratio to C measured in the same run.
 *
 *   gcc -O2 -Wall -o baseline bench/c/baseline.c -lrt -lpthread
 *   ./baseline MECH thr|lat SIZE [SECONDS]
 *   ./baseline memcpy [SECONDS_PER_SIZE]
 *
 * MECH: pipe (64 KiB pipe), pipe1m (1 MiB pipe), uds (Unix stream socketpair), pmq (POSIX
 * queues), sysvmq (System V queues; both queue kinds carry at most 8 KiB a message here, so
 * larger messages go as 8 KiB pieces), shmring (a byte ring in shared memory, spin then futex:
 * throughput only), shmfutex / shmspin / shmsem (a ping-pong through shared memory, woken by
 * futex, by spinning, or by a process-shared sem_t: round trip only).
 *
 * thr: the child sends SIZE-byte messages for SECONDS, then an end mark; the parent receives
 * everything and reports MB/s. lat: the parent sends SIZE bytes, the child sends them back; the
 * parent times each round trip, drops the first 2% (warm-up) and reports the median and p99.
 * Each run prints a line "RESULT key=value …", the format tools/ parse, then a second one
 * (mode=cpu) with the CPU time both processes used per message.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <mqueue.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PIECE 8192              /* the largest queue message on this machine's defaults */
#define RING_BYTES (1u << 20)   /* the shared-memory ring's size */
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
static const char *mech;
static char mq_names[2][64];

struct sysv_piece {
  long mtype;
  char text[PIECE];
};

static void setup_transport(void) {
  if (!strcmp(mech, "pipe") || !strcmp(mech, "pipe1m")) {
    for (int d = 0; d < 2; d++) {
      int p[2];
      if (pipe(p)) fail("pipe");
      if (!strcmp(mech, "pipe1m") && fcntl(p[1], F_SETPIPE_SZ, 1 << 20) < 0) fail("F_SETPIPE_SZ");
      T.fd_rx[d] = p[0];
      T.fd_tx[d] = p[1];
    }
  } else if (!strcmp(mech, "uds")) {
    int s[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, s)) fail("socketpair");
    /* one socket pair is both directions: the parent uses s[0], the child s[1] */
    T.fd_tx[0] = T.fd_rx[1] = s[0];
    T.fd_tx[1] = T.fd_rx[0] = s[1];
  } else if (!strcmp(mech, "pmq")) {
    struct mq_attr a = {.mq_maxmsg = 10, .mq_msgsize = PIECE};
    for (int d = 0; d < 2; d++) {
      snprintf(mq_names[d], sizeof mq_names[d], "/dipc-baseline-%d-%d", (int)getpid(), d);
      T.mq[d] = mq_open(mq_names[d], O_RDWR | O_CREAT | O_EXCL, 0600, &a);
      if (T.mq[d] == (mqd_t)-1) fail("mq_open");
      mq_unlink(mq_names[d]); /* both processes keep it open: nothing is left behind */
    }
  } else if (!strcmp(mech, "sysvmq")) {
    for (int d = 0; d < 2; d++) {
      T.msq[d] = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
      if (T.msq[d] < 0) fail("msgget");
    }
  } else {
    fprintf(stderr, "baseline: unknown mechanism %s\n", mech);
    exit(2);
  }
}

static void teardown_transport(void) {
  if (!strcmp(mech, "sysvmq")) {
    msgctl(T.msq[0], IPC_RMID, NULL);
    msgctl(T.msq[1], IPC_RMID, NULL);
  }
}

static int is_stream(void) {
  return !strcmp(mech, "pipe") || !strcmp(mech, "pipe1m") || !strcmp(mech, "uds");
}

/* Sends n bytes in direction d (pieces of at most PIECE for the queues). */
static void send_bytes(int d, const char *buf, size_t n) {
  if (!strcmp(mech, "pmq") || !strcmp(mech, "sysvmq")) {
    static struct sysv_piece piece;
    do {
      size_t k = n < PIECE ? n : PIECE;
      if (!strcmp(mech, "pmq")) {
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
  for (;;) {
    ssize_t r;
    if (!strcmp(mech, "pmq")) {
      static char big[PIECE];
      r = mq_receive(T.mq[d], big, sizeof big, NULL);
      if (r > 0) memcpy(buf, big, (size_t)r < n ? (size_t)r : n);
    } else if (!strcmp(mech, "sysvmq")) {
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
  if (!strcmp(mech, "pmq")) {
    while (mq_send(T.mq[d], "", 0, 0)) if (errno != EINTR) fail("mq_send end");
  } else if (!strcmp(mech, "sysvmq")) {
    static struct sysv_piece piece = {.mtype = 1};
    while (msgsnd(T.msq[d], &piece, 0, 0)) if (errno != EINTR) fail("msgsnd end");
  } else if (!strcmp(mech, "uds")) {
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
  printf("RESULT lang=c mech=%s mode=lat size=%zu pin=none n=%zu median_us=%.3f p99_us=%.3f "
         "mean_us=%.3f min_us=%.3f\n",
         mech, size, n, ns[n / 2] / 1e3, ns[n * 99 / 100] / 1e3, total / n / 1e3, ns[0] / 1e3);
}

static void child(size_t size, double seconds, int throughput) {
  char *buf = malloc(size > PIECE ? size : PIECE);
  if (!buf) fail("malloc");
  memset(buf, 'c', size > PIECE ? size : PIECE);
  if (throughput) {
    uint64_t until = clock_ns() + (uint64_t)(seconds * 1e9);
    for (uint64_t i = 1;; i++) {
      if (!strcmp(mech, "shmring")) ring_write(buf, size);
      else send_bytes(1, buf, size);
      if ((i & 15) == 0 && clock_ns() >= until) break;
    }
    if (!strcmp(mech, "shmring")) {
      __atomic_store_n(&S->finished, 1, __ATOMIC_SEQ_CST);
      ring_wake(&S->data_waiting);
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
    if (!strcmp(mech, "shmring")) {
      size_t r;
      while ((r = ring_read(buf, size)) > 0) bytes += r;
    } else {
      size_t r;
      while ((r = receive_some(1, buf, size > PIECE ? size : PIECE)) > 0) bytes += r;
    }
    double secs = (clock_ns() - t0) / 1e9;
    cpu_parent_ns = cpu_ns() - c0;
    cpu_messages = bytes / size;
    printf("RESULT lang=c mech=%s mode=thr size=%zu pin=none MBps=%.1f msgps=%.0f bytes=%llu "
           "secs=%.3f\n",
           mech, size, bytes / secs / 1e6, bytes / (double)(size ? size : 1) / secs,
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

int main(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "memcpy")) {
    memcpy_bandwidth(argc > 2 ? atof(argv[2]) : 0.5);
    return 0;
  }
  if (argc < 4) {
    fprintf(stderr, "usage: %s MECH thr|lat SIZE [SECONDS] | %s memcpy [SECONDS]\n", argv[0],
            argv[0]);
    return 2;
  }
  mech = argv[1];
  int throughput = !strcmp(argv[2], "thr");
  size_t size = strtoul(argv[3], NULL, 10);
  double seconds = argc > 4 ? atof(argv[4]) : 1.0;
  if (size == 0 || size > RING_BYTES) {
    fprintf(stderr, "baseline: SIZE must be 1 to %u bytes\n", RING_BYTES);
    return 2;
  }
  if (!strcmp(mech, "shmring") && !throughput) {
    fprintf(stderr, "baseline: shmring measures throughput only\n");
    return 2;
  }
  if (is_pingpong() && throughput) {
    fprintf(stderr, "baseline: %s measures round trips only\n", mech);
    return 2;
  }
  if (!strcmp(mech, "shmring") || is_pingpong()) setup_shared();
  else setup_transport();
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
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

/* A C peer on a dipc ring channel, written from the layout in src/ring.ts's documentation only.
 * usage: ring_peer MODE NAME [args...]
 *   consume NAME               attach as the receiver, print "ready", read until end of stream;
 *                              print the message count, then "ID COUNT CHECKSUM" per producer
 *                              (byte 0 of a message is its producer's id; FNV-1a over the
 *                              length, 4 bytes little-endian, then the bytes of each message)
 *   produce NAME ID COUNT SEED attach as the (single) sender, send COUNT messages made as
 *                              tests/_ring_check.ts makes them, print "ID COUNT CHECKSUM", detach
 *   header NAME                print "magic version capacity flags slots"
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HEADER 4096
#define BUSY 0x80000000u
#define SKIP 0x40000000u
#define LEN_MASK 0x3fffffffu
/* header words (byte offset / 4) */
enum { MAGIC = 0, VERSION = 1, CAPACITY = 2, FLAGS = 3, STATE = 4, DEATHS = 5, RECEIVER = 6,
       RECEIVER_START = 7, SLOTS = 8, HEAD = 16, TAIL = 32, LOCK = 33, DATA_WAIT = 48,
       SPACE_WAIT = 64, SPACE_WANTED = 65, SENDERS = 80 };

static uint32_t *w;      /* the channel as words */
static uint8_t *ring;    /* its records */
static uint32_t cap;

#define LOAD(i) __atomic_load_n(&w[i], __ATOMIC_SEQ_CST)
#define STORE(i, v) __atomic_store_n(&w[i], (v), __ATOMIC_SEQ_CST)
static int cas(int i, uint32_t from, uint32_t to) {
  return __atomic_compare_exchange_n(&w[i], &from, to, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
static void wake(int i) { syscall(SYS_futex, &w[i], FUTEX_WAKE, 0x7fffffff, NULL, NULL, 0); }
/* Raise the flag, fence (see "Ordering": dipc publishes with release stores on x86-64), check
   once more, sleep at most 20 ms on it. */
static void sleep_on(int flag, int (*ready)(void)) {
  STORE(flag, 1);
  syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0);
  if (ready()) return;
  struct timespec ts = {0, 20 * 1000 * 1000};
  syscall(SYS_futex, &w[flag], FUTEX_WAIT, 1, &ts, NULL, 0);
}
static uint32_t align8(uint32_t n) { return (n + 7) & ~7u; }

static int open_channel(const char *name) {
  int fd = shm_open(name, O_RDWR, 0);
  if (fd < 0) { perror("shm_open"); return 1; }
  struct stat st;
  if (fstat(fd, &st)) { perror("fstat"); return 1; }
  void *p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (p == MAP_FAILED) { perror("mmap"); return 1; }
  w = p;
  if (LOAD(MAGIC) != 0x676e6972u || LOAD(VERSION) != 1) { fprintf(stderr, "not a ring\n"); return 1; }
  cap = LOAD(CAPACITY);
  ring = (uint8_t *)p + HEADER;
  return 0;
}

static uint32_t fnv(uint32_t h, const uint8_t *m, uint32_t n) {
  for (int k = 0; k < 4; k++) h = (h ^ ((n >> (8 * k)) & 255)) * 16777619u;
  for (uint32_t j = 0; j < n; j++) h = (h ^ m[j]) * 16777619u;
  return h;
}

static uint32_t head, tail;
static int has_data(void) { return LOAD(TAIL) != head; }
static int no_senders(void) {
  uint32_t slots = LOAD(SLOTS);
  for (uint32_t i = 0; i < slots; i++) if (LOAD(SENDERS + 2 * i)) return 0;
  return 1;
}

static int consume(void) {
  if (!cas(RECEIVER, 0, (uint32_t)getpid())) { fprintf(stderr, "EBUSY\n"); return 1; }
  __atomic_and_fetch(&w[STATE], ~2u, __ATOMIC_SEQ_CST);
  printf("ready\n");
  fflush(stdout);
  uint32_t counts[256] = {0}, sums[256];
  for (int i = 0; i < 256; i++) sums[i] = 2166136261u;
  unsigned long total = 0;
  head = LOAD(HEAD);
  for (;;) {
    uint32_t t = LOAD(TAIL);
    /* Trust: the documented checks on every word a peer writes. */
    if ((head & 7) || (t & 7) || t - head > cap) {
      fprintf(stderr, "EPROTO: tail %u, head %u\n", t, head);
      return 3;
    }
    if (t == head) {
      if ((LOAD(STATE) & 1) && no_senders() && LOAD(TAIL) == head) break;
      sleep_on(DATA_WAIT, has_data);
      continue;
    }
    uint32_t at = head & (cap - 1);
    uint32_t word = __atomic_load_n((uint32_t *)(ring + at), __ATOMIC_SEQ_CST);
    uint32_t n = word & LEN_MASK, rec = 8 + align8(n);
    if (((word & BUSY) && (word & SKIP)) || at + rec > cap || rec > t - head ||
        (!(word & (BUSY | SKIP)) && n > cap / 2 - 8)) {
      fprintf(stderr, "EPROTO: record word %u at %u\n", word, head);
      return 3;
    }
    if (word & BUSY) { sleep_on(DATA_WAIT, has_data); continue; }
    if (!(word & SKIP)) {
      const uint8_t *m = ring + at + 8;
      uint8_t id = n ? m[0] : 0;
      counts[id]++;
      sums[id] = fnv(sums[id], m, n);
      total++;
    }
    head += 8 + align8(n);
    STORE(HEAD, head);
    if (LOAD(SPACE_WAIT) && cap - (LOAD(TAIL) - head) >= LOAD(SPACE_WANTED) && cas(SPACE_WAIT, 1, 0))
      wake(SPACE_WAIT);
  }
  STORE(RECEIVER_START, 0);
  cas(RECEIVER, (uint32_t)getpid(), 0);
  printf("%lu\n", total);
  for (int i = 0; i < 256; i++) if (counts[i]) printf("%d %u %u\n", i, counts[i], sums[i]);
  return 0;
}

/* tests/_ring_check.ts's sizeOf and fill */
static uint32_t size_of(uint32_t seed, uint32_t id, uint32_t seq, uint32_t max) {
  if (seq % 1000 == 7) return max;
  if (seq % 1000 == 8) return 1;
  uint32_t x = (seq + 1) * 0x9e3779b1u ^ (id + 1) * 0x85ebca6bu ^ seed;
  x ^= x >> 15;
  x *= 0x2c1b3c6du;
  x ^= x >> 12;
  uint32_t r = x % 1000, y = x >> 10;
  uint32_t small = max < 64 ? max : 64;
  if (r < 800) return 1 + y % small;
  uint32_t v;
  if (r < 990) v = 65 + y % 960;
  else v = 1025 + y % (max > 1025 ? max - 1024 : 1);
  return v < max ? v : max;
}

static uint32_t head_seen;
static uint32_t want;
static int has_room(void) {
  head_seen = LOAD(HEAD);
  return cap - (tail - head_seen) >= want;
}

static int produce(uint32_t id, uint32_t count, uint32_t seed) {
  if (LOAD(FLAGS) & 1) { fprintf(stderr, "multi-producer channels need the lock protocol\n"); return 1; }
  if (!cas(SENDERS, 0, (uint32_t)getpid())) { fprintf(stderr, "EBUSY\n"); return 1; }
  __atomic_or_fetch(&w[STATE], 1u, __ATOMIC_SEQ_CST);
  uint32_t max = cap / 2 - 8, h = 2166136261u;
  tail = LOAD(TAIL);
  head_seen = LOAD(HEAD);
  for (uint32_t seq = 0; seq < count; seq++) {
    uint32_t n = size_of(seed, id, seq, max), rec = 8 + align8(n);
    for (;;) {
      uint32_t at = tail & (cap - 1), contiguous = cap - at;
      want = rec <= contiguous ? rec : contiguous + rec;
      if (LOAD(STATE) & 2) { fprintf(stderr, "EPIPE\n"); return 1; }
      if (has_room()) break;
      STORE(SPACE_WANTED, rec);
      sleep_on(SPACE_WAIT, has_room);
    }
    uint32_t at = tail & (cap - 1);
    if (rec > cap - at) {
      uint32_t *skip = (uint32_t *)(ring + at);
      skip[1] = (uint32_t)getpid();
      skip[0] = SKIP | (cap - at - 8);
      tail += cap - at;
      at = 0;
    }
    uint8_t *m = ring + at + 8;
    m[0] = (uint8_t)id;
    for (uint32_t j = 1; j < n; j++) m[j] = (uint8_t)(id + 7 * seq + j);
    h = fnv(h, m, n);
    uint32_t *rec_words = (uint32_t *)(ring + at);
    rec_words[1] = (uint32_t)getpid();
    rec_words[0] = n;
    tail += rec;
    STORE(TAIL, tail);
    if (LOAD(DATA_WAIT) && cas(DATA_WAIT, 1, 0)) wake(DATA_WAIT);
  }
  STORE(SENDERS + 1, 0);
  cas(SENDERS, (uint32_t)getpid(), 0);
  if (LOAD(DATA_WAIT) && cas(DATA_WAIT, 1, 0)) wake(DATA_WAIT);
  printf("%u %u %u\n", id, count, h);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: ring_peer consume|produce|header NAME ...\n"); return 2; }
  if (open_channel(argv[2])) return 1;
  if (!strcmp(argv[1], "consume")) return consume();
  if (!strcmp(argv[1], "produce") && argc == 6)
    return produce(strtoul(argv[3], 0, 0), strtoul(argv[4], 0, 0), strtoul(argv[5], 0, 0));
  if (!strcmp(argv[1], "header")) {
    printf("%x %u %u %u %u\n", LOAD(MAGIC), LOAD(VERSION), LOAD(CAPACITY), LOAD(FLAGS), LOAD(SLOTS));
    return 0;
  }
  fprintf(stderr, "bad mode\n");
  return 2;
}

/* A hostile peer: maps a POSIX shared memory object and, for a while, writes garbage over every
 * 32-bit word of its first BYTES bytes, round after round, in word order and at random.
 * usage: scribbler NAME BYTES MILLISECONDS SEED
 * The values are the ones that break careless readers: 0, all ones, lengths just past limits,
 * busy and skip bits, small and huge numbers, live pids (1, its own, its parent's), random. It
 * prints "rounds N" when done. Its victim must neither crash nor hang. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static uint64_t state;
static uint32_t next(void) {
  state ^= state << 13; state ^= state >> 7; state ^= state << 17;
  return (uint32_t)state;
}
static uint32_t garbage(void) {
  switch (next() % 12) {
    case 0: return 0;
    case 1: return 0xffffffffu;
    case 2: return 0x80000000u | (next() & 0xffff);           /* busy */
    case 3: return 0x40000000u | (next() & 0xffff);           /* skip */
    case 4: return 0xc0000000u | (next() & 0xff);             /* busy and skip */
    case 5: return (uint32_t)getpid();
    case 6: return (uint32_t)getppid();
    case 7: return 1;
    case 8: return next() & 0x3fff;                           /* plausible lengths */
    case 9: return 0x7fffffffu;
    case 10: return 2 + (next() & 7);                         /* small states */
    default: return next();
  }
}
static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: scribbler NAME BYTES MS SEED\n"); return 2; }
  size_t bytes = strtoul(argv[2], NULL, 0);
  double ms = atof(argv[3]);
  state = strtoull(argv[4], NULL, 0) | 1;
  int fd = shm_open(argv[1], O_RDWR, 0);
  if (fd < 0) { perror("shm_open"); return 1; }
  volatile uint32_t *w = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (w == MAP_FAILED) { perror("mmap"); return 1; }
  size_t words = bytes / 4;
  double end = now_ms() + ms;
  unsigned long rounds = 0;
  while (now_ms() < end) {
    for (size_t i = 0; i < words; i++) {
      __atomic_store_n(&w[i], garbage(), __ATOMIC_SEQ_CST);
      if ((i & 63) == 0) __atomic_store_n(&w[next() % words], garbage(), __ATOMIC_SEQ_CST);
    }
    rounds++;
    usleep(200);
  }
  printf("rounds %lu\n", rounds);
  return 0;
}

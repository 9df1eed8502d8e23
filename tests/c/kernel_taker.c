/* A competitor blocked in the kernel: takes from a queue or semaphore set forever, blocking in
 * the call each time (so the kernel hands items straight to it), and prints "took" per item.
 * usage: kernel_taker pmq NAME | sysv-msg ID | sysv-sem ID */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/sem.h>

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: kernel_taker pmq NAME | sysv-msg ID | sysv-sem ID\n"); return 2; }
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready\n");
  if (strcmp(argv[1], "pmq") == 0) {
    mqd_t q = mq_open(argv[2], O_RDONLY);
    if (q == (mqd_t)-1) { perror("mq_open"); return 1; }
    struct mq_attr a;
    mq_getattr(q, &a);
    char *buf = malloc(a.mq_msgsize);
    for (;;) if (mq_receive(q, buf, a.mq_msgsize, NULL) >= 0) printf("took\n");
  } else if (strcmp(argv[1], "sysv-msg") == 0) {
    int id = atoi(argv[2]);
    struct { long type; char text[8192]; } m;
    for (;;) if (msgrcv(id, &m, sizeof m.text, 0, 0) >= 0) printf("took\n");
  } else {
    int id = atoi(argv[2]);
    struct sembuf op = {0, -1, 0};
    for (;;) if (semop(id, &op, 1) == 0) printf("took\n");
  }
}

/* A C peer for the message-queue tests. usage: mq_peer MODE [args...]
 *   pmq-send NAME PRIO TEXT...   open the POSIX queue NAME write-only, send each TEXT (blocking)
 *   pmq-recv NAME N              open NAME read-only, receive N messages (blocking) and print
 *                                "PRIO LEN TEXT" for each
 *   pmq-stat NAME                print "maxmsg msgsize curmsgs mode uid" (mq_getattr + fstat)
 *   pmq-create NAME MAXMSG SIZE  create NAME (0600, exclusive) and print "created"
 *   pmq-fd FD                    receive one message from the inherited queue descriptor FD and
 *                                print "PRIO LEN TEXT"
 *   sysv-send ID TYPE TEXT...    msgsnd each TEXT with TYPE to the queue ID (blocking)
 *   sysv-recv ID TYPE N          msgrcv N messages by TYPE (blocking), print "TYPE LEN TEXT"
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIE(what)   \
  do {              \
    perror(what);   \
    return 1;       \
  } while (0)

struct msg {
  long mtype;
  char mtext[8192];
};

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *m = argv[1];
  static char buf[65536];
  if (!strcmp(m, "pmq-send") && argc >= 4) {
    mqd_t q = mq_open(argv[2], O_WRONLY);
    if (q == (mqd_t)-1) DIE("mq_open");
    for (int i = 4; i < argc; i++) {
      if (mq_send(q, argv[i], strlen(argv[i]), (unsigned)atoi(argv[3]))) DIE("mq_send");
    }
    return 0;
  }
  if ((!strcmp(m, "pmq-recv") && argc == 4) || (!strcmp(m, "pmq-fd") && argc == 3)) {
    int fd_mode = !strcmp(m, "pmq-fd");
    mqd_t q = fd_mode ? (mqd_t)atoi(argv[2]) : mq_open(argv[2], O_RDONLY);
    if (q == (mqd_t)-1) DIE("mq_open");
    int n = fd_mode ? 1 : atoi(argv[3]);
    for (int i = 0; i < n; i++) {
      unsigned prio;
      ssize_t r = mq_receive(q, buf, sizeof buf, &prio);
      if (r < 0) DIE("mq_receive");
      printf("%u %zd %.*s\n", prio, r, (int)r, buf);
    }
    return 0;
  }
  if (!strcmp(m, "pmq-stat") && argc == 3) {
    mqd_t q = mq_open(argv[2], O_RDONLY);
    if (q == (mqd_t)-1) DIE("mq_open");
    struct mq_attr a;
    struct stat st;
    if (mq_getattr(q, &a) || fstat(q, &st)) DIE("mq_getattr/fstat");
    printf("%ld %ld %ld %o %u\n", a.mq_maxmsg, a.mq_msgsize, a.mq_curmsgs, st.st_mode & 0777,
           st.st_uid);
    return 0;
  }
  if (!strcmp(m, "pmq-create") && argc == 5) {
    struct mq_attr a = {.mq_maxmsg = atol(argv[3]), .mq_msgsize = atol(argv[4])};
    mqd_t q = mq_open(argv[2], O_CREAT | O_EXCL | O_RDWR, 0600, &a);
    if (q == (mqd_t)-1) DIE("mq_open");
    printf("created\n");
    return 0;
  }
  if (!strcmp(m, "sysv-send") && argc >= 5) {
    static struct msg s;
    s.mtype = atol(argv[3]);
    for (int i = 4; i < argc; i++) {
      size_t len = strlen(argv[i]);
      memcpy(s.mtext, argv[i], len);
      if (msgsnd(atoi(argv[2]), &s, len, 0)) DIE("msgsnd");
    }
    return 0;
  }
  if (!strcmp(m, "sysv-recv") && argc == 5) {
    static struct msg s;
    for (int i = 0; i < atoi(argv[4]); i++) {
      ssize_t r = msgrcv(atoi(argv[2]), &s, sizeof s.mtext, atol(argv[3]), 0);
      if (r < 0) DIE("msgrcv");
      printf("%ld %zd %.*s\n", s.mtype, r, (int)r, s.mtext);
    }
    return 0;
  }
  fprintf(stderr, "bad arguments\n");
  return 2;
}

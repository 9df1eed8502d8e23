/* A C peer for the spawn, pipe and signal tests. usage: proc_peer MODE [args...]
 *   argv ...           print each argument in hex, one per line
 *   env                print the environment, one variable per line
 *   fds                print "fd N" for every open descriptor >= 3, and the O_NONBLOCK
 *                      state of 0, 1, 2 as "nonblock N 0|1"
 *   upper              read fd 3 to EOF, write it upper-cased to fd 4
 *   shm SIZE TEXT      mmap fd 3 (SIZE bytes) and copy TEXT (with its NUL) to its start
 *   sigwait            block SIGRTMIN, print "ready", wait with sigwaitinfo, print
 *                      "value code pid" of the siginfo
 *   exit N             exit with code N
 *   raise N            raise signal N
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  const char *m = argv[1];
  if (!strcmp(m, "argv")) {
    for (int i = 2; i < argc; i++) {
      for (const unsigned char *p = (const unsigned char *)argv[i]; *p; p++) printf("%02x", *p);
      printf("\n");
    }
  } else if (!strcmp(m, "env")) {
    for (char **e = environ; *e; e++) printf("%s\n", *e);
  } else if (!strcmp(m, "fds")) {
    for (int fd = 0; fd < 3; fd++) {
      int fl = fcntl(fd, F_GETFL);
      printf("nonblock %d %d\n", fd, fl >= 0 && (fl & O_NONBLOCK) ? 1 : 0);
    }
    for (int fd = 3; fd < 1024; fd++)
      if (fcntl(fd, F_GETFD) >= 0) printf("fd %d\n", fd);
  } else if (!strcmp(m, "upper")) {
    char buf[65536];
    ssize_t n;
    while ((n = read(3, buf, sizeof buf)) > 0) {
      for (ssize_t i = 0; i < n; i++) buf[i] = (char)toupper((unsigned char)buf[i]);
      if (write(4, buf, (size_t)n) != n) return 1;
    }
    return n < 0 ? 1 : 0;
  } else if (!strcmp(m, "shm")) {
    size_t size = (size_t)atol(argv[2]);
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, 3, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    strcpy(p, argv[3]);
    munmap(p, size);
  } else if (!strcmp(m, "sigwait")) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGRTMIN);
    sigprocmask(SIG_BLOCK, &set, NULL);
    printf("ready\n");
    fflush(stdout);
    siginfo_t si;
    if (sigwaitinfo(&set, &si) < 0) { perror("sigwaitinfo"); return 1; }
    printf("%d %s %d\n", si.si_value.sival_int, si.si_code == SI_QUEUE ? "SI_QUEUE" : "other", (int)si.si_pid);
  } else if (!strcmp(m, "exit")) {
    return atoi(argv[2]);
  } else if (!strcmp(m, "raise")) {
    signal(atoi(argv[2]), SIG_DFL);
    raise(atoi(argv[2]));
    return 99;
  } else {
    return 2;
  }
  return 0;
}

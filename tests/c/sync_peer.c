/* A C peer for the synchronization tests. usage: sync_peer MODE [args...]
 *   psem-post NAME N           sem_open NAME, sem_post N times, print "posted"
 *   psem-wait NAME N           sem_open NAME, sem_wait N times, print "waited"
 *   psem-value NAME            print the value and the file's mode ("VALUE MODE")
 *   usem-post SHM OFF N        sem_post N times on the unnamed semaphore at OFF of shm SHM
 *   usem-init SHM OFF VALUE    sem_init(pshared 1) at OFF of shm SHM, print "ready"
 *   pmutex-count SHM OFF COUNTER N
 *                              N times: lock the pthread mutex at OFF, ++ the int at COUNTER
 *                              (non-atomically, in two steps), unlock
 *   pmutex-init SHM OFF        pthread_mutex_init (pshared, robust) at OFF, print "ready"
 *   pmutex-hold SHM OFF        lock, print "locked", then sleep until killed
 *   pmutex-lock SHM OFF        lock; print "ownerdead" (then consistent) or "ok"; unlock
 *   sysv-undo ID INDEX         semop -1 with SEM_UNDO, print "held", sleep until killed
 *   sysv-wait ID INDEX N       N blocking semop -1 on INDEX, print "waited"
 *   sysv-post ID INDEX N       N semop +1 on INDEX, print "posted"
 *   sysv-count ID COUNTER_SHM N
 *                              N times: semop -1 (SEM_UNDO) on 0, ++ the int at 0 of the
 *                              shm, semop +1 (SEM_UNDO)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <unistd.h>

#define DIE(what)   \
  do {              \
    perror(what);   \
    return 1;       \
  } while (0)

static char *map(const char *name) {
  int fd = shm_open(name, O_RDWR, 0);
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st)) return NULL;
  char *p = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  return p == MAP_FAILED ? NULL : p;
}

static int semop1(int id, int index, int op, int flags) {
  struct sembuf b = {.sem_num = index, .sem_op = op, .sem_flg = flags};
  while (semop(id, &b, 1)) {
    if (errno != EINTR) return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  const char *m = argv[1];
  setvbuf(stdout, NULL, _IONBF, 0);
  if (!strcmp(m, "psem-post") || !strcmp(m, "psem-wait")) {
    sem_t *s = sem_open(argv[2], 0);
    if (s == SEM_FAILED) DIE("sem_open");
    int n = atoi(argv[3]);
    for (int i = 0; i < n; i++) {
      if (m[5] == 'p' ? sem_post(s) : sem_wait(s)) DIE("sem_post/sem_wait");
    }
    printf(m[5] == 'p' ? "posted\n" : "waited\n");
    return 0;
  }
  if (!strcmp(m, "psem-value")) {
    sem_t *s = sem_open(argv[2], 0);
    if (s == SEM_FAILED) DIE("sem_open");
    int v;
    sem_getvalue(s, &v);
    char path[300];
    snprintf(path, sizeof path, "/dev/shm/sem.%s", argv[2] + 1);
    struct stat st;
    if (stat(path, &st)) DIE("stat");
    printf("%d %o\n", v, st.st_mode & 0777);
    return 0;
  }
  char *base = map(argv[2]);
  if (!base && strncmp(m, "sysv-", 5)) DIE("shm");
  if (!strcmp(m, "usem-post")) {
    sem_t *s = (sem_t *)(base + atoi(argv[3]));
    for (int i = 0, n = atoi(argv[4]); i < n; i++) sem_post(s);
    printf("posted\n");
    return 0;
  }
  if (!strcmp(m, "usem-init")) {
    if (sem_init((sem_t *)(base + atoi(argv[3])), 1, atoi(argv[4]))) DIE("sem_init");
    printf("ready\n");
    return 0;
  }
  if (!strcmp(m, "pmutex-init")) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    if (pthread_mutex_init((pthread_mutex_t *)(base + atoi(argv[3])), &a)) DIE("init");
    printf("ready\n");
    return 0;
  }
  if (!strncmp(m, "pmutex-", 7)) {
    pthread_mutex_t *mu = (pthread_mutex_t *)(base + atoi(argv[3]));
    if (!strcmp(m, "pmutex-count")) {
      volatile int *counter = (volatile int *)(base + atoi(argv[4]));
      for (int i = 0, n = atoi(argv[5]); i < n; i++) {
        int r = pthread_mutex_lock(mu);
        if (r == EOWNERDEAD) pthread_mutex_consistent(mu);
        else if (r) { errno = r; DIE("pthread_mutex_lock"); }
        int v = *counter;
        *counter = v + 1;
        pthread_mutex_unlock(mu);
      }
      printf("counted\n");
      return 0;
    }
    int r = pthread_mutex_lock(mu);
    if (r && r != EOWNERDEAD) { errno = r; DIE("pthread_mutex_lock"); }
    if (!strcmp(m, "pmutex-hold")) {
      printf("locked\n");
      for (;;) pause();
    }
    if (r == EOWNERDEAD) pthread_mutex_consistent(mu);
    printf(r == EOWNERDEAD ? "ownerdead\n" : "ok\n");
    pthread_mutex_unlock(mu);
    return 0;
  }
  if (!strncmp(m, "sysv-", 5)) {
    int id = atoi(argv[2]);
    if (!strcmp(m, "sysv-undo")) {
      if (semop1(id, atoi(argv[3]), -1, SEM_UNDO)) DIE("semop");
      printf("held\n");
      for (;;) pause();
    }
    if (!strcmp(m, "sysv-count")) {
      char *c = map(argv[3]);
      if (!c) DIE("shm");
      volatile int *counter = (volatile int *)c;
      for (int i = 0, n = atoi(argv[4]); i < n; i++) {
        if (semop1(id, 0, -1, SEM_UNDO)) DIE("semop");
        int v = *counter;
        *counter = v + 1;
        if (semop1(id, 0, 1, SEM_UNDO)) DIE("semop");
      }
      printf("counted\n");
      return 0;
    }
    int index = atoi(argv[3]), n = atoi(argv[4]);
    int post = !strcmp(m, "sysv-post");
    for (int i = 0; i < n; i++) {
      if (semop1(id, index, post ? 1 : -1, 0)) DIE("semop");
    }
    printf(post ? "posted\n" : "waited\n");
    return 0;
  }
  return 2;
}

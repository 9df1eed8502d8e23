/* A C peer for the socket tests, written from unix(7), cmsg(3) and recvmsg(2).
 * usage: socket_peer MODE FD [args...]   (FD: a connected Unix socket it inherited)
 *   recv-fd FD TEXT     receive one message carrying one descriptor (SCM_RIGHTS), write TEXT
 *                       to that descriptor, and print "got LEN BYTES fds=N"
 *   send-fd FD          send the message "from c" with a new pipe's read end attached, write
 *                       "through c's pipe" into the pipe's write end, and close both
 *   creds FD            print the peer's pid, uid and gid (SO_PEERCRED)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int fail(const char *what) {
  perror(what);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) return fail("usage");
  int sock = atoi(argv[2]);
  if (!strcmp(argv[1], "recv-fd")) {
    char data[256];
    struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
    union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(sizeof(int) * 4)];
    } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) return fail("recvmsg");
    int fds = 0, first = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
        int count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int *got = (int *)CMSG_DATA(c);
        if (first < 0 && count > 0) first = got[0];
        fds += count;
      }
    }
    if (first < 0) return fail("no descriptor came");
    const char *text = argc > 3 ? argv[3] : "";
    if (write(first, text, strlen(text)) != (ssize_t)strlen(text)) return fail("write");
    close(first);
    printf("got %zd %.*s fds=%d\n", n, (int)n, data, fds);
    return 0;
  }
  if (!strcmp(argv[1], "send-fd")) {
    int p[2];
    if (pipe(p) != 0) return fail("pipe");
    char text[] = "from c";
    struct iovec iov = {.iov_base = text, .iov_len = strlen(text)};
    union {
      struct cmsghdr align;
      char buf[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &p[0], sizeof(int));
    if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) return fail("sendmsg");
    const char *through = "through c's pipe";
    if (write(p[1], through, strlen(through)) < 0) return fail("write");
    close(p[0]);
    close(p[1]);
    return 0;
  }
  if (!strcmp(argv[1], "creds")) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return fail("getsockopt");
    printf("%d %u %u\n", (int)cred.pid, (unsigned)cred.uid, (unsigned)cred.gid);
    return 0;
  }
  return fail("unknown mode");
}

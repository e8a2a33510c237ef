/* net_util.h — helpers shared by the networking suites (test_net.c,
 * test_dns.c, test_serve.c, pg's connect tests): descriptor counting, leak
 * checks, blackholed and refusing loopback addresses, a private resolver
 * configuration, and an echo handler.
 *
 * A "blackholed" address is a loopback listener with a backlog of 0 whose
 * one queue slot is already taken by a connection nobody accepts: Linux
 * then drops further SYNs, so a connect to it stays in progress (the
 * kernel would retry for minutes) — a slow peer without leaving the
 * machine.  A "refusing" address is a port bound but not listening. */
#ifndef NET_UTIL_H
#define NET_UTIL_H

#include "tst.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- a private resolver configuration ----------------------------------- */

static inline void net_bind_file(const char *target, const char *text)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "/tmp/corio-dns-%d-%c", (int)getpid(), target[5]);
    FILE *f = fopen(tmp, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
    CHECK_EQ(mount(tmp, target, NULL, MS_BIND, NULL), 0);
    unlink(tmp); /* the mount keeps the file */
}

/* Move the (forked) test into its own mount namespace with its own
 * /etc/hosts and an /etc/resolv.conf naming 127.45.67.89 (test_dns.c's stub
 * server), so lookups never leave the machine.  Returns 0, or -1 if
 * namespaces are not available (the test skips). */
static inline int net_private_resolver(const char *hosts, int timeout_s)
{
    if (unshare(CLONE_NEWNS) < 0 ||
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        printf("    SKIP: no private mount namespace (%s)\n", strerror(errno));
        return -1;
    }
    char resolv[160];
    snprintf(resolv, sizeof resolv,
             "nameserver 127.45.67.89\noptions timeout:%d attempts:1\n",
             timeout_s);
    net_bind_file("/etc/hosts", hosts);
    net_bind_file("/etc/resolv.conf", resolv);
    return 0;
}

/* Open descriptors of this process. */
static inline int net_count_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* Raw (non-corio) sockets kept open for the length of a test. */
typedef struct net_hold {
    int fds[16];
    int n;
} net_hold;

static inline void net_hold_close(net_hold *h)
{
    for (int i = 0; i < h->n; i++)
        close(h->fds[i]);
    h->n = 0;
}

/* Bind a raw stream socket to ip:port (port 0: any) and fill *a. */
static inline int net_raw_bound(const char *ip, int port, corio_addr *a)
{
    CHECK_EQ(corio_addr_parse(a, ip, port), 0);
    int fd = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (a->u.sa.sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    CHECK_EQ(bind(fd, &a->u.sa, a->len), 0);
    a->len = sizeof a->u;
    CHECK_EQ(getsockname(fd, &a->u.sa, &a->len), 0);
    return fd;
}

/* A loopback address (ip:port, port 0: any) where a connect hangs. */
static inline void net_blackhole(net_hold *h, const char *ip, int port,
                                 corio_addr *a)
{
    int l = net_raw_bound(ip, port, a);
    CHECK_EQ(listen(l, 0), 0);
    int c = socket(a->u.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(c >= 0);
    CHECK_EQ(connect(c, &a->u.sa, a->len), 0); /* takes the one slot */
    h->fds[h->n++] = l;
    h->fds[h->n++] = c;
}

/* A loopback address (ip:port, port 0: any) that refuses connections. */
static inline void net_refuser(net_hold *h, const char *ip, int port,
                               corio_addr *a)
{
    h->fds[h->n++] = net_raw_bound(ip, port, a);
}

/* Echo lines until end of stream; returns lines echoed or an error. */
static inline int net_echo_lines(corio_stream *s)
{
    char line[256];
    int n = 0;
    for (;;) {
        ssize_t r = corio_stream_read_line(s, line, sizeof line);
        if (r <= 0)
            return r < 0 ? (int)r : n;
        int rc = corio_stream_write(s, line, (size_t)r);
        if (rc == 0)
            rc = corio_stream_flush(s);
        if (rc < 0)
            return rc;
        n++;
    }
}

/* Send one line and read the echo back into buf (NUL-terminated). */
static inline int net_ask(corio_stream *s, const char *line, char *buf,
                          size_t cap)
{
    int rc = corio_stream_write(s, line, strlen(line));
    if (rc == 0)
        rc = corio_stream_flush(s);
    if (rc < 0)
        return rc;
    ssize_t r = corio_stream_read_line(s, buf, cap);
    return r < 0 ? (int)r : 0;
}

static inline int net_sockopt(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof v;
    CHECK_EQ(getsockopt(fd, level, name, &v, &len), 0);
    return v;
}

#endif

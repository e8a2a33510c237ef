/* test_net.c — sockets (corio/net.h) over loopback, on the virtual clock.
 *
 * Parts:
 *   addresses       parse/format round trips, Unix paths, bad input.
 *   TCP             echo over 127.0.0.1, ::1 and a dual-stack listener;
 *                   refused connections; socket options; SO_REUSEPORT.
 *   happy eyeballs  a blackholed first address makes the second win after
 *                   exactly 250 ms (virtual clock: the kernel keeps the
 *                   first connect pending, so time jumps to the stagger);
 *                   a refusing first address falls through at once; the
 *                   families interleave; the caller's timeout scope and
 *                   cancellation leave no socket open.
 *   EMFILE          accept under a low RLIMIT_NOFILE sheds the pending
 *                   connection with the spare descriptor and does not
 *                   spin; without a spare it pauses 100 ms.
 *   UDP             round trips over IPv4, IPv6 and dual-stack sockets,
 *                   connected sockets, truncation, timeouts.
 *   Unix            round trips over a path and the abstract namespace,
 *                   stale socket files, a full backlog. */
#include "net_util.h"
#include "os/sys.h"
#include "net/net.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>

/* ---- addresses ---------------------------------------------------------- */

static void fmt_is(const corio_addr *a, const char *want)
{
    char buf[CORIO_ADDR_STRLEN];
    int n = corio_addr_format(a, buf, sizeof buf);
    CHECK_EQ(n, (int)strlen(want));
    if (strcmp(buf, want)) {
        fprintf(stderr, "    got '%s', want '%s'\n", buf, want);
        CHECK(0);
    }
}

TEST(net, addr_parse_and_format)
{
    corio_addr a;
    CHECK_EQ(corio_addr_parse(&a, "10.1.2.3", 80), 0);
    CHECK_EQ(a.u.sa.sa_family, AF_INET);
    CHECK_EQ(a.len, sizeof(struct sockaddr_in));
    CHECK_EQ(corio_addr_port(&a), 80);
    fmt_is(&a, "10.1.2.3:80");
    CHECK_EQ(corio_addr_parse(&a, "::1", 443), 0);
    CHECK_EQ(a.u.sa.sa_family, AF_INET6);
    fmt_is(&a, "[::1]:443");
    CHECK_EQ(corio_addr_parse(&a, "[fe80::1%1]", 8080), 0);
    CHECK_EQ(a.u.in6.sin6_scope_id, 1);
    fmt_is(&a, "[fe80::1%1]:8080");
    CHECK_EQ(corio_addr_parse(&a, "fe80::1%lo", 1), 0);
    CHECK(a.u.in6.sin6_scope_id > 0);
    CHECK_EQ(corio_addr_parse(&a, "0.0.0.0", 65535), 0);
    fmt_is(&a, "0.0.0.0:65535");

    CHECK_EQ(corio_addr_parse(&a, "localhost", 80),
             -EINVAL); /* never resolves */
    CHECK_EQ(corio_addr_parse(&a, "1.2.3", 80), -EINVAL);
    CHECK_EQ(corio_addr_parse(&a, "::1", 65536), -EINVAL);
    CHECK_EQ(corio_addr_parse(&a, "::1", -1), -EINVAL);
    CHECK_EQ(corio_addr_parse(&a, "fe80::1%", 1), -EINVAL);
    CHECK_EQ(corio_addr_parse(&a, "fe80::1%nosuchif0", 1), -EINVAL);
    CHECK_EQ(corio_addr_parse(&a, NULL, 1), -EINVAL);

    CHECK_EQ(corio_addr_unix(&a, "/run/x.sock"), 0);
    CHECK_EQ(a.u.sa.sa_family, AF_UNIX);
    fmt_is(&a, "/run/x.sock");
    CHECK_EQ(corio_addr_port(&a), -EAFNOSUPPORT);
    CHECK_EQ(corio_addr_unix(&a, "@abstract"), 0);
    CHECK_EQ(a.u.un.sun_path[0], 0);
    CHECK_EQ(a.len, offsetof(struct sockaddr_un, sun_path) + 9);
    fmt_is(&a, "@abstract");
    char longp[200];
    memset(longp, 'x', sizeof longp - 1);
    longp[sizeof longp - 1] = 0;
    CHECK_EQ(corio_addr_unix(&a, longp), -ENAMETOOLONG);
    CHECK_EQ(corio_addr_unix(&a, ""), -EINVAL);

    char small[8];
    CHECK_EQ(corio_addr_parse(&a, "10.1.2.3", 80), 0);
    CHECK_EQ(corio_addr_format(&a, small, sizeof small), -ENOSPC);

    /* IPv4-mapped addresses come out as plain IPv4. */
    corio_addr m, tmp;
    CHECK_EQ(corio_addr_parse(&a, "192.0.2.7", 99), 0);
    m = *corio__addr_for(&a, AF_INET6, &tmp);
    fmt_is(&m, "[::ffff:192.0.2.7]:99");
    corio__addr_unmap(&m);
    fmt_is(&m, "192.0.2.7:99");
    CHECK(corio__addr_equal(&m, &a));
}

TEST(net, strerror_names_net_codes)
{
    CHECK(strstr(corio_strerror(CORIO_ENOHOST), "host") != NULL);
    CHECK(strstr(corio_strerror(CORIO_EDNS), "resolution") != NULL);
    CHECK(strcmp(corio_strerror(-ECONNREFUSED), "Connection refused") == 0);
}

/* ---- TCP echo ------------------------------------------------------------ */

typedef struct echo_srv {
    corio_listener *l;
    int conns; /* connections to serve, then return */
    int lines;
    corio_addr peer;
    int nodelay, keepalive;
} echo_srv;

static int echo_server(void *arg)
{
    echo_srv *e = arg;
    for (int i = 0; i < e->conns; i++) {
        corio_stream *s;
        int rc = corio_listener_accept(e->l, &s, &e->peer);
        if (rc < 0)
            return rc;
        if (e->peer.u.sa.sa_family != AF_UNIX) {
            e->nodelay =
                net_sockopt(corio_stream_fd(s), IPPROTO_TCP, TCP_NODELAY);
            e->keepalive =
                net_sockopt(corio_stream_fd(s), SOL_SOCKET, SO_KEEPALIVE);
        }
        rc = net_echo_lines(s);
        corio_stream_close(s);
        if (rc < 0)
            return rc;
        e->lines += rc;
    }
    return 0;
}

typedef struct echo_case {
    const char *listen_host, *connect_host;
    int peer_family;
} echo_case;

static int echo_main(void *arg)
{
    echo_case *c = arg;
    int fds0 = net_count_fds();
    echo_srv e = {.conns = 1};
    corio_listen_opts lo = {.keepalive_ns = 30 * CORIO_SECOND};
    CHECK_EQ(corio_tcp_listen(&e.l, c->listen_host, 0, &lo), 0);
    corio_addr la;
    CHECK_EQ(corio_listener_addr(e.l, &la), 0);
    int port = corio_addr_port(&la);
    CHECK(port > 0);

    corio_task *srv;
    CHECK_EQ(corio_task_spawn(&srv, echo_server, &e), 0);
    corio_stream *s;
    CHECK_EQ(corio_tcp_connect(&s, c->connect_host, port), 0);
    CHECK_EQ(net_sockopt(corio_stream_fd(s), IPPROTO_TCP, TCP_NODELAY), 1);
    char buf[64];
    CHECK_EQ(net_ask(s, "hello\n", buf, sizeof buf), 0);
    CHECK(strcmp(buf, "hello\n") == 0);
    CHECK_EQ(net_ask(s, "world\n", buf, sizeof buf), 0);
    CHECK(strcmp(buf, "world\n") == 0);

    corio_addr local, peer;
    CHECK_EQ(corio_socket_peer(corio_stream_fd(s), &peer), 0);
    CHECK_EQ(corio_addr_port(&peer), port);
    CHECK_EQ(peer.u.sa.sa_family, c->peer_family);
    CHECK_EQ(corio_socket_local(corio_stream_fd(s), &local), 0);

    CHECK_EQ(corio_stream_shutdown(s), 0);
    CHECK_EQ(corio_stream_read(s, buf, sizeof buf), 0); /* server closed */
    int rc;
    CHECK_EQ(corio_task_join(srv, &rc), 0);
    CHECK_EQ(rc, 0);
    CHECK_EQ(e.lines, 2);
    CHECK_EQ(e.nodelay, 1);
    CHECK_EQ(e.keepalive, 1);
    /* The server saw the client's own address. */
    CHECK_EQ(e.peer.u.sa.sa_family, c->peer_family);
    CHECK(corio__addr_equal(&e.peer, &local));
    corio_stream_close(s);
    corio_listener_close(e.l);
    CHECK_EQ(net_count_fds(), fds0);
    return 0;
}

TEST(net, tcp_echo_ipv4)
{
    echo_case c = {"127.0.0.1", "127.0.0.1", AF_INET};
    CHECK_EQ(tst_run(echo_main, &c), 0);
    tst_leak_check();
}

TEST(net, tcp_echo_ipv6)
{
    echo_case c = {"::1", "::1", AF_INET6};
    CHECK_EQ(tst_run(echo_main, &c), 0);
    tst_leak_check();
}

TEST(net, tcp_echo_dual_stack_listener)
{
    /* The wildcard listener is dual-stack: an IPv4 client works and is
     * reported as plain IPv4, not ::ffff:127.0.0.1. */
    echo_case c4 = {NULL, "127.0.0.1", AF_INET};
    CHECK_EQ(tst_run(echo_main, &c4), 0);
    echo_case c6 = {"", "::1", AF_INET6};
    CHECK_EQ(tst_run(echo_main, &c6), 0);
}

/* A larger exchange in both directions at once: a megabyte each way. */
static int bulk_server(void *arg)
{
    corio_listener *l = arg;
    corio_stream *s;
    int rc = corio_listener_accept(l, &s, NULL);
    if (rc < 0)
        return rc;
    static char buf[65536];
    size_t total = 0;
    for (;;) {
        ssize_t n = corio_stream_read(s, buf, sizeof buf);
        if (n <= 0) {
            rc = (int)n;
            break;
        }
        total += (size_t)n;
        if ((rc = corio_stream_write(s, buf, (size_t)n)) < 0)
            break;
    }
    if (rc == 0)
        rc = corio_stream_flush(s);
    corio_stream_close(s);
    return rc < 0 ? rc : (int)(total >> 10);
}

typedef struct bulk_w {
    corio_stream *s;
    size_t n;
} bulk_w;

static int bulk_writer(void *arg)
{
    bulk_w *w = arg;
    static char chunk[4096];
    for (size_t i = 0; i < sizeof chunk; i++)
        chunk[i] = (char)i;
    for (size_t done = 0; done < w->n; done += sizeof chunk) {
        int rc = corio_stream_write(w->s, chunk, sizeof chunk);
        if (rc < 0)
            return rc;
    }
    return corio_stream_shutdown(w->s);
}

static int bulk_main(void *arg)
{
    (void)arg;
    corio_listener *l;
    CHECK_EQ(corio_tcp_listen(&l, "127.0.0.1", 0, NULL), 0);
    corio_addr la;
    corio_listener_addr(l, &la);
    corio_task *srv, *wr;
    CHECK_EQ(corio_task_spawn(&srv, bulk_server, l), 0);
    corio_stream *s;
    CHECK_EQ(corio_tcp_connect(&s, "127.0.0.1", corio_addr_port(&la)), 0);
    bulk_w w = {s, 1 << 20};
    CHECK_EQ(corio_task_spawn(&wr, bulk_writer, &w), 0);
    static char buf[65536];
    size_t got = 0;
    for (;;) {
        ssize_t n = corio_stream_read(s, buf, sizeof buf);
        CHECK(n >= 0);
        if (!n)
            break;
        for (ssize_t i = 0; i < n; i++)
            CHECK_EQ((unsigned char)buf[i],
                     (unsigned char)((got + (size_t)i) % 4096));
        got += (size_t)n;
    }
    CHECK_EQ(got, 1 << 20);
    int rc;
    CHECK_EQ(corio_task_join(wr, &rc), 0);
    CHECK_EQ(rc, 0);
    CHECK_EQ(corio_task_join(srv, &rc), 0);
    CHECK_EQ(rc, 1024);
    corio_stream_close(s);
    corio_listener_close(l);
    return 0;
}

TEST(net, tcp_bulk_both_directions)
{
    CHECK_EQ(tst_run(bulk_main, NULL), 0);
}

static int refused_main(void *arg)
{
    (void)arg;
    net_hold h = {0};
    corio_addr a4, a6;
    net_refuser(&h, "127.0.0.1", 0, &a4);
    net_refuser(&h, "::1", 0, &a6);
    int fds0 = net_count_fds();
    corio_stream *s = (corio_stream *)1;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_tcp_connect(&s, "127.0.0.1", corio_addr_port(&a4)),
             -ECONNREFUSED);
    CHECK(s == NULL);
    CHECK_EQ(corio_tcp_connect(&s, "::1", corio_addr_port(&a6)), -ECONNREFUSED);
    corio_addr both[2] = {a6, a4};
    CHECK_EQ(corio_tcp_connect_addrs(&s, both, 2, NULL), -ECONNREFUSED);
    CHECK_EQ(corio_now() - t0, 0); /* refusals fall through at once */
    CHECK_EQ(net_count_fds(), fds0);
    net_hold_close(&h);
    return 0;
}

TEST(net, tcp_refused)
{
    CHECK_EQ(tst_run(refused_main, NULL), 0);
}

static int bad_args_main(void *arg)
{
    (void)arg;
    corio_stream *s;
    corio_listener *l;
    corio_addr a;
    CHECK_EQ(corio_tcp_connect(&s, "127.0.0.1", 70000), -EINVAL);
    CHECK_EQ(corio_tcp_connect(&s, NULL, 80), -EINVAL);
    CHECK_EQ(corio_tcp_connect(&s, "", 80), -EINVAL);
    CHECK_EQ(corio_tcp_connect_addrs(&s, NULL, 0, NULL), -EINVAL);
    CHECK_EQ(corio_addr_unix(&a, "/x"), 0);
    CHECK_EQ(corio_tcp_connect_addrs(&s, &a, 1, NULL), -EINVAL);
    corio_tcp_opts o = {.family = AF_INET6};
    CHECK_EQ(corio_addr_parse(&a, "127.0.0.1", 1), 0);
    CHECK_EQ(corio_tcp_connect_addrs(&s, &a, 1, &o), -EAFNOSUPPORT);
    CHECK_EQ(corio_tcp_connect_ex(&s, "127.0.0.1", 1, &o), CORIO_ENOHOST);
    CHECK_EQ(corio_tcp_listen(&l, "127.0.0.1", -1, NULL), -EINVAL);
    CHECK(l == NULL);
    CHECK_EQ(corio_listener_accept(NULL, &s, NULL), -EBADF);
    corio_listener_close(NULL);
    corio_udp_close(NULL);
    return 0;
}

TEST(net, bad_arguments)
{
    CHECK_EQ(tst_run(bad_args_main, NULL), 0);
    corio_stream *s;
    CHECK_EQ(corio_tcp_connect(&s, "127.0.0.1", 80), -EPERM); /* no task */
}

static int options_main(void *arg)
{
    (void)arg;
    corio_listener *l;
    CHECK_EQ(corio_tcp_listen(&l, "127.0.0.1", 0, NULL), 0);
    corio_addr la;
    corio_listener_addr(l, &la);
    corio_tcp_opts o = {.nodelay = -1, .keepalive_ns = 45 * CORIO_SECOND};
    corio_stream *s, *t;
    CHECK_EQ(corio_tcp_connect_ex(&s, "127.0.0.1", corio_addr_port(&la), &o),
             0);
    CHECK_EQ(corio_listener_accept(l, &t, NULL), 0);
    int fd = corio_stream_fd(s);
    CHECK_EQ(net_sockopt(fd, IPPROTO_TCP, TCP_NODELAY), 0);
    CHECK_EQ(net_sockopt(fd, SOL_SOCKET, SO_KEEPALIVE), 1);
    CHECK_EQ(net_sockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE), 45);
    CHECK_EQ(net_sockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL), 45);
    CHECK_EQ(net_sockopt(corio_stream_fd(t), SOL_SOCKET, SO_KEEPALIVE), 0);
    CHECK_EQ(corio_socket_set_nodelay(fd, 1), 0);
    CHECK_EQ(net_sockopt(fd, IPPROTO_TCP, TCP_NODELAY), 1);
    CHECK_EQ(corio_socket_set_keepalive(fd, 0), 0);
    CHECK_EQ(net_sockopt(fd, SOL_SOCKET, SO_KEEPALIVE), 0);
    CHECK_EQ(corio_socket_set_keepalive(fd, 1), 0); /* rounds up to 1 s */
    CHECK_EQ(net_sockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE), 1);
    CHECK_EQ(corio_socket_set_nodelay(-1, 1), -EBADF);
    corio_stream_close(s);
    corio_stream_close(t);
    corio_listener_close(l);
    return 0;
}

TEST(net, socket_options)
{
    CHECK_EQ(tst_run(options_main, NULL), 0);
}

static int reuseport_main(void *arg)
{
    (void)arg;
    corio_listener *a, *b;
    corio_listen_opts o = {.reuseport = 1};
    CHECK_EQ(corio_tcp_listen(&a, "127.0.0.1", 0, &o), 0);
    corio_addr la;
    corio_listener_addr(a, &la);
    int port = corio_addr_port(&la);
    CHECK_EQ(corio_tcp_listen(&b, "127.0.0.1", port, NULL), -EADDRINUSE);
    CHECK_EQ(corio_tcp_listen(&b, "127.0.0.1", port, &o), 0);
    CHECK_EQ(net_sockopt(corio_listener_fd(b), SOL_SOCKET, SO_REUSEPORT), 1);
    corio_listener_close(a);
    corio_listener_close(b);
    /* SO_REUSEADDR: the port can be listened on again at once. */
    CHECK_EQ(corio_tcp_listen(&a, "127.0.0.1", port, NULL), 0);
    corio_listener_close(a);
    return 0;
}

TEST(net, listen_reuseport)
{
    CHECK_EQ(tst_run(reuseport_main, NULL), 0);
}

/* ---- happy eyeballs ------------------------------------------------------ */

/* Accept connections on l until cancelled, closing each. */
static int acceptor_loop(void *arg)
{
    corio_listener *l = arg;
    for (;;) {
        corio_stream *s;
        int rc = corio_listener_accept(l, &s, NULL);
        if (rc < 0)
            return rc == -ECANCELED ? 0 : rc;
        corio_stream_close(s);
    }
}

typedef struct he_case {
    const char *what;
    int64_t stagger; /* opts.stagger_ns */
    int64_t want_ns; /* time the connect should take */
    int want_family;
} he_case;

/* Addresses of the first kind: v6 first blackholed or refusing, v4 live. */
static int he_two_main(void *arg)
{
    he_case *c = arg;
    net_hold h = {0};
    corio_listener *l;
    CHECK_EQ(corio_tcp_listen(&l, "127.0.0.1", 0, NULL), 0);
    corio_addr addrs[2];
    CHECK_EQ(corio_listener_addr(l, &addrs[1]), 0);
    int port = corio_addr_port(&addrs[1]);
    if (!strcmp(c->what, "blackhole"))
        net_blackhole(&h, "::1", port, &addrs[0]);
    else
        net_refuser(&h, "::1", port, &addrs[0]);
    corio_task *acc;
    CHECK_EQ(corio_task_spawn(&acc, acceptor_loop, l), 0);
    int fds0 = net_count_fds();

    corio_tcp_opts o = {.stagger_ns = c->stagger};
    corio_stream *s;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_tcp_connect_addrs(&s, addrs, 2, &o), 0);
    CHECK_EQ(corio_now() - t0, c->want_ns);
    corio_addr peer;
    CHECK_EQ(corio_socket_peer(corio_stream_fd(s), &peer), 0);
    CHECK_EQ(peer.u.sa.sa_family, c->want_family);
    /* The loser's socket is closed: only the winner is open. */
    CHECK_EQ(net_count_fds(), fds0 + 1);
    corio_stream_close(s);
    CHECK_EQ(net_count_fds(), fds0);
    corio_task_cancel(acc);
    int rc;
    CHECK_EQ(corio_task_join(acc, &rc), 0);
    CHECK_EQ(rc, 0);
    corio_listener_close(l);
    net_hold_close(&h);
    return 0;
}

TEST(net, happy_eyeballs_slow_first_family)
{
    he_case c = {"blackhole", 0, 250 * CORIO_MS, AF_INET};
    CHECK_EQ(tst_run(he_two_main, &c), 0);
    tst_leak_check();
}

TEST(net, happy_eyeballs_custom_stagger)
{
    he_case c = {"blackhole", 40 * CORIO_MS, 40 * CORIO_MS, AF_INET};
    CHECK_EQ(tst_run(he_two_main, &c), 0);
}

TEST(net, happy_eyeballs_failure_falls_through_at_once)
{
    he_case c = {"refuse", 0, 0, AF_INET};
    CHECK_EQ(tst_run(he_two_main, &c), 0);
}

/* Four addresses, v6 v6 v4 v4 from the resolver: tried v6a v4a v6b v4b,
 * 250 ms apart; only v4b answers, so the connect takes 750 ms; v6a and
 * v4a and v6b are still pending and get cancelled. */
static int he_interleave_main(void *arg)
{
    (void)arg;
    net_hold h = {0};
    corio_listener *l;
    CHECK_EQ(corio_tcp_listen(&l, "127.0.0.2", 0, NULL), 0);
    corio_addr addrs[4];
    net_blackhole(&h, "::1", 0, &addrs[0]);
    net_blackhole(&h, "::1", 0, &addrs[1]);
    net_blackhole(&h, "127.0.0.1", 0, &addrs[2]);
    CHECK_EQ(corio_listener_addr(l, &addrs[3]), 0);
    corio_task *acc;
    CHECK_EQ(corio_task_spawn(&acc, acceptor_loop, l), 0);
    int fds0 = net_count_fds();
    corio_stream *s;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_tcp_connect_addrs(&s, addrs, 4, NULL), 0);
    CHECK_EQ(corio_now() - t0, 750 * CORIO_MS);
    corio_addr peer;
    corio_socket_peer(corio_stream_fd(s), &peer);
    CHECK(corio__addr_equal(&peer, &addrs[3]));
    CHECK_EQ(net_count_fds(), fds0 + 1);
    corio_stream_close(s);

    /* Sequential (stagger < 0): the order is the same but each attempt
     * waits for the previous one; bound it with a scope. */
    corio_tcp_opts seq = {.stagger_ns = -1};
    t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(2 * CORIO_SECOND), 0);
    CHECK_EQ(corio_tcp_connect_addrs(&s, addrs, 4, &seq), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 2 * CORIO_SECOND);
    CHECK(s == NULL);
    CHECK_EQ(net_count_fds(), fds0);

    corio_task_cancel(acc);
    CORIO_IGNORE(corio_task_join(acc, NULL));
    corio_listener_close(l);
    net_hold_close(&h);
    return 0;
}

TEST(net, happy_eyeballs_interleaves_families)
{
    CHECK_EQ(tst_run(he_interleave_main, NULL), 0);
    tst_leak_check();
}

/* A connect timeout is the caller's scope: every attempt is cancelled and
 * closed, one address or several. */
static int he_timeout_main(void *arg)
{
    (void)arg;
    net_hold h = {0};
    corio_addr addrs[3];
    net_blackhole(&h, "::1", 0, &addrs[0]);
    net_blackhole(&h, "127.0.0.1", 0, &addrs[1]);
    net_refuser(&h, "127.0.0.1", 0, &addrs[2]);
    int fds0 = net_count_fds();
    corio_stream *s;
    for (size_t n = 1; n <= 3; n++) {
        int64_t t0 = corio_now();
        CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
        CHECK_EQ(corio_tcp_connect_addrs(&s, addrs, n, NULL), -ETIMEDOUT);
        CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
        CHECK_EQ(corio_now() - t0, CORIO_SECOND);
        CHECK_EQ(net_count_fds(), fds0);
    }
    /* An already expired scope: nothing is even tried. */
    CHECK_EQ(corio_timeout_begin(0), 0);
    CHECK_EQ(corio_tcp_connect_addrs(&s, addrs, 2, NULL), -ETIMEDOUT);
    corio_timeout_end();
    CHECK_EQ(net_count_fds(), fds0);
    net_hold_close(&h);
    return 0;
}

TEST(net, connect_timeout_closes_every_attempt)
{
    CHECK_EQ(tst_run(he_timeout_main, NULL), 0);
    tst_leak_check();
}

typedef struct he_cancel {
    corio_addr addrs[2];
    int rc;
} he_cancel;

static int he_connector(void *arg)
{
    he_cancel *c = arg;
    corio_stream *s;
    c->rc = corio_tcp_connect_addrs(&s, c->addrs, 2, NULL);
    return 0;
}

static int he_cancel_main(void *arg)
{
    (void)arg;
    net_hold h = {0};
    he_cancel c;
    net_blackhole(&h, "::1", 0, &c.addrs[0]);
    net_blackhole(&h, "127.0.0.1", 0, &c.addrs[1]);
    int fds0 = net_count_fds();
    int64_t delays[] = {0, 100 * CORIO_MS, 250 * CORIO_MS, 400 * CORIO_MS};
    for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
        corio_task *t;
        CHECK_EQ(corio_task_spawn(&t, he_connector, &c), 0);
        CHECK_EQ(corio_sleep(delays[i]), 0);
        int64_t t0 = corio_now();
        corio_task_cancel(t);
        CHECK_EQ(corio_task_join(t, NULL), 0);
        CHECK_EQ(corio_now(), t0);
        CHECK_EQ(c.rc, -ECANCELED);
        CHECK_EQ(net_count_fds(), fds0);
    }
    net_hold_close(&h);
    return 0;
}

TEST(net, connect_cancelled_closes_every_attempt)
{
    CHECK_EQ(tst_run(he_cancel_main, NULL), 0);
    tst_leak_check();
}

/* ---- EMFILE -------------------------------------------------------------- */

static long accept_calls;
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);

static int counting_accept4(int fd, struct sockaddr *a, socklen_t *l, int fl)
{
    accept_calls++;
    return real_accept4(fd, a, l, fl);
}

static int (*real_openat)(int, const char *, int, mode_t);

static int no_devnull(int d, const char *p, int fl, mode_t m)
{
    if (!strcmp(p, "/dev/null")) {
        errno = EMFILE;
        return -1;
    }
    return real_openat(d, p, fl, m);
}

/* Fill the descriptor table to the limit but keep_free slots; *first is
 * the lowest filler (fillers are consecutive from there up). */
static void fill_fds(int keep_free, int *first, int *count)
{
    int fds[4096], n = 0;
    int src = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(src >= 0);
    fds[n++] = src;
    for (;;) {
        int fd = dup(src);
        if (fd < 0) {
            CHECK_EQ(errno, EMFILE);
            break;
        }
        CHECK(n < 4096);
        fds[n++] = fd;
    }
    for (int i = 0; i < keep_free; i++)
        close(fds[--n]);
    *first = fds[0];
    *count = n;
}

typedef struct emfile_case {
    int spare; /* the listener has its spare descriptor */
} emfile_case;

static int emfile_main(void *arg)
{
    emfile_case *c = arg;
    corio_listener *l;
    real_openat = corio__sys.openat;
    if (!c->spare)
        corio__sys.openat = no_devnull;
    CHECK_EQ(corio_tcp_listen(&l, "127.0.0.1", 0, NULL), 0);
    corio__sys.openat = real_openat;
    corio_addr la;
    corio_listener_addr(l, &la);

    /* A client connection takes the last free descriptor. */
    int first, count;
    fill_fds(1, &first, &count);
    corio_stream *cl;
    CHECK_EQ(corio_tcp_connect(&cl, "127.0.0.1", corio_addr_port(&la)), 0);
    CHECK_EQ(dup(first), -1);

    real_accept4 = corio__sys.accept4;
    corio__sys.accept4 = counting_accept4;
    corio_stream *s;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_listener_accept(l, &s, NULL), -EMFILE);
    CHECK(s == NULL);
    if (c->spare) {
        /* Shed: one failing accept, one that takes the connection with the
         * spare's slot, one that finds the queue empty. */
        CHECK_EQ(accept_calls, 3);
        CHECK_EQ(corio_now() - t0, 0);
        /* The client sees its connection closed. */
        char b[8];
        ssize_t r = corio_stream_read(cl, b, sizeof b);
        CHECK(r == 0 || r == -ECONNRESET);
        /* The queue is empty and the table still full: the next accept
         * waits rather than spins (one failing accept4, one with the
         * spare's slot finding nothing, then a wait). */
        accept_calls = 0;
        t0 = corio_now();
        CHECK_EQ(corio_timeout_begin(5 * CORIO_SECOND), 0);
        CHECK_EQ(corio_listener_accept(l, &s, NULL), -ETIMEDOUT);
        corio_timeout_end();
        CHECK_EQ(corio_now() - t0, 5 * CORIO_SECOND);
        CHECK_EQ(accept_calls, 2);
        /* A new connection while the table is full is shed in turn. */
        corio_stream *c2;
        CHECK_EQ(close(first + count - 1), 0);
        count--;
        CHECK_EQ(corio_tcp_connect(&c2, "127.0.0.1", corio_addr_port(&la)), 0);
        accept_calls = 0;
        CHECK_EQ(corio_listener_accept(l, &s, NULL), -EMFILE);
        CHECK_EQ(accept_calls, 3);
        corio_stream_close(c2);
    } else {
        /* No spare: one failing accept, then a 100 ms pause; the queue
         * still holds the connection. */
        CHECK_EQ(accept_calls, 1);
        CHECK_EQ(corio_now() - t0, 100 * CORIO_MS);
        accept_calls = 0;
        t0 = corio_now();
        for (int i = 0; i < 5; i++)
            CHECK_EQ(corio_listener_accept(l, &s, NULL), -EMFILE);
        CHECK_EQ(corio_now() - t0, 500 * CORIO_MS);
        CHECK_EQ(accept_calls, 5);
    }

    /* Descriptors come back: accepting works again (and the spare is
     * taken again). */
    for (int fd = first; fd < first + count; fd++)
        close(fd);
    if (c->spare) {
        corio_stream_close(cl);
        CHECK_EQ(corio_tcp_connect(&cl, "127.0.0.1", corio_addr_port(&la)), 0);
    }
    CHECK_EQ(corio_listener_accept(l, &s, NULL), 0);
    char buf[16];
    CHECK_EQ(corio_stream_write(cl, "ok\n", 3), 0);
    CHECK_EQ(corio_stream_flush(cl), 0);
    CHECK_EQ(corio_stream_read_line(s, buf, sizeof buf), 3);
    corio__sys.accept4 = real_accept4;
    corio_stream_close(s);
    corio_stream_close(cl);
    corio_listener_close(l);
    return 0;
}

static void low_nofile(void)
{
    /* The runner forks each test, so the limit only binds this child. */
    struct rlimit r = {64, 64};
    CHECK_EQ(setrlimit(RLIMIT_NOFILE, &r), 0);
}

TEST(net, accept_survives_emfile_with_spare)
{
    low_nofile();
    emfile_case c = {1};
    CHECK_EQ(tst_run(emfile_main, &c), 0);
}

TEST(net, accept_survives_emfile_without_spare)
{
    low_nofile();
    emfile_case c = {0};
    CHECK_EQ(tst_run(emfile_main, &c), 0);
}

/* ---- UDP ----------------------------------------------------------------- */

typedef struct udp_case {
    const char *server_host, *client_host;
    const char *to_ip; /* the server's address as the client names it */
    int from_family;   /* as the server sees the client */
} udp_case;

static int udp_main(void *arg)
{
    udp_case *c = arg;
    int fds0 = net_count_fds();
    corio_udp *srv, *cli;
    CHECK_EQ(corio_udp_open(&srv, c->server_host, 0, NULL), 0);
    CHECK_EQ(corio_udp_open(&cli, c->client_host, 0, NULL), 0);
    corio_addr sa, to, from, cla;
    CHECK_EQ(corio_udp_addr(srv, &sa), 0);
    CHECK_EQ(corio_addr_parse(&to, c->to_ip, corio_addr_port(&sa)), 0);

    CHECK_EQ(corio_udp_sendto(cli, "ping", 4, &to), 4);
    char buf[64];
    CHECK_EQ(corio_udp_recvfrom(srv, buf, sizeof buf, &from), 4);
    CHECK(!memcmp(buf, "ping", 4));
    CHECK_EQ(from.u.sa.sa_family, c->from_family);
    CHECK_EQ(corio_udp_addr(cli, &cla), 0);
    CHECK_EQ(corio_addr_port(&from), corio_addr_port(&cla));
    CHECK_EQ(corio_udp_sendto(srv, "pong!", 5, &from), 5);
    corio_addr back;
    CHECK_EQ(corio_udp_recvfrom(cli, buf, sizeof buf, &back), 5);
    CHECK(!memcmp(buf, "pong!", 5));
    CHECK(corio__addr_equal(&back, &to));

    /* An empty datagram, and one too long for the buffer. */
    CHECK_EQ(corio_udp_sendto(cli, "", 0, &to), 0);
    CHECK_EQ(corio_udp_recvfrom(srv, buf, sizeof buf, NULL), 0);
    CHECK_EQ(corio_udp_sendto(cli, "0123456789", 10, &to), 10);
    CHECK_EQ(corio_udp_recvfrom(srv, buf, 4, NULL), -EMSGSIZE);
    CHECK(!memcmp(buf, "0123", 4));

    /* Nothing to receive: a timeout scope ends the wait. */
    int64_t t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(300 * CORIO_MS), 0);
    CHECK_EQ(corio_udp_recvfrom(srv, buf, sizeof buf, NULL), -ETIMEDOUT);
    corio_timeout_end();
    CHECK_EQ(corio_now() - t0, 300 * CORIO_MS);

    /* Connected: sendto(NULL), and only the peer is heard. */
    CHECK_EQ(corio_udp_sendto(cli, "x", 1, NULL), -EDESTADDRREQ);
    CHECK_EQ(corio_udp_connect(cli, &to), 0);
    CHECK_EQ(corio_udp_sendto(cli, "conn", 4, NULL), 4);
    CHECK_EQ(corio_udp_recvfrom(srv, buf, sizeof buf, NULL), 4);
    CHECK(!memcmp(buf, "conn", 4));

    corio_udp_close(srv);
    corio_udp_close(cli);
    CHECK_EQ(net_count_fds(), fds0);
    return 0;
}

TEST(net, udp_round_trip_ipv4)
{
    udp_case c = {"127.0.0.1", "127.0.0.1", "127.0.0.1", AF_INET};
    CHECK_EQ(tst_run(udp_main, &c), 0);
    tst_leak_check();
}

TEST(net, udp_round_trip_ipv6)
{
    udp_case c = {"::1", "::1", "::1", AF_INET6};
    CHECK_EQ(tst_run(udp_main, &c), 0);
}

TEST(net, udp_dual_stack_maps_ipv4)
{
    /* Both sockets on the wildcard (dual-stack IPv6): IPv4 destinations
     * are mapped on the way out and senders unmapped on the way in. */
    udp_case c = {NULL, NULL, "127.0.0.1", AF_INET};
    CHECK_EQ(tst_run(udp_main, &c), 0);
}

typedef struct udp_pair {
    corio_udp *u;
    int got;
} udp_pair;

static int udp_receiver(void *arg)
{
    udp_pair *p = arg;
    char buf[16];
    ssize_t n = corio_udp_recvfrom(p->u, buf, sizeof buf, NULL);
    p->got = (int)n;
    return 0;
}

static int udp_misc_main(void *arg)
{
    (void)arg;
    corio_udp *u, *v;
    corio_udp_opts o4 = {.family = AF_INET, .reuseport = 1, .broadcast = 1};
    CHECK_EQ(corio_udp_open(&u, NULL, 0, &o4), 0);
    CHECK_EQ(net_sockopt(corio_udp_fd(u), SOL_SOCKET, SO_BROADCAST), 1);
    corio_addr a;
    CHECK_EQ(corio_udp_addr(u, &a), 0);
    CHECK_EQ(a.u.sa.sa_family, AF_INET);
    CHECK_EQ(corio_udp_open(&v, NULL, corio_addr_port(&a), &o4),
             0); /* reuseport */
    corio_udp_close(v);
    CHECK_EQ(corio_udp_open(&v, "localhost", 0, NULL),
             -EINVAL); /* numeric only */
    CHECK(v == NULL);
    corio_udp_opts bad = {.family = AF_UNIX};
    CHECK_EQ(corio_udp_open(&v, NULL, 0, &bad), -EINVAL);

    /* A parked receiver wakes on a datagram; a second receiver is -EBUSY. */
    udp_pair p = {u, -1};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, udp_receiver, &p), 0);
    CHECK_EQ(corio_yield(), 0);
    char buf[8];
    CHECK_EQ(corio_udp_recvfrom(u, buf, sizeof buf, NULL), -EBUSY);
    CHECK_EQ(corio_udp_open(&v, "127.0.0.1", 0, NULL), 0);
    corio_addr to;
    CORIO_IGNORE(corio_addr_parse(&to, "127.0.0.1", corio_addr_port(&a)));
    CHECK_EQ(corio_udp_sendto(v, "abc", 3, &to), 3);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(p.got, 3);

    /* A connected socket learns of a closed port. */
    corio_addr dead;
    corio_udp *d;
    CHECK_EQ(corio_udp_open(&d, "127.0.0.1", 0, NULL), 0);
    corio_udp_addr(d, &dead);
    corio_udp_close(d);
    CHECK_EQ(corio_udp_connect(v, &dead), 0);
    CHECK_EQ(corio_udp_sendto(v, "x", 1, NULL), 1);
    CHECK_EQ(corio_udp_recvfrom(v, buf, sizeof buf, NULL), -ECONNREFUSED);
    corio_udp_close(u);
    corio_udp_close(v);
    return 0;
}

TEST(net, udp_options_waiting_and_errors)
{
    CHECK_EQ(tst_run(udp_misc_main, NULL), 0);
}

/* ---- Unix-domain --------------------------------------------------------- */

typedef struct unix_case {
    char path[108];
} unix_case;

static int unix_main(void *arg)
{
    unix_case *c = arg;
    int fds0 = net_count_fds();
    echo_srv e = {.conns = 2};
    CHECK_EQ(corio_unix_listen(&e.l, c->path, NULL), 0);
    corio_addr la;
    CHECK_EQ(corio_listener_addr(e.l, &la), 0);
    CHECK_EQ(la.u.sa.sa_family, AF_UNIX);
    char txt[CORIO_ADDR_STRLEN];
    CHECK(corio_addr_format(&la, txt, sizeof txt) > 0);
    CHECK(strcmp(txt, c->path) == 0);
    corio_task *srv;
    CHECK_EQ(corio_task_spawn(&srv, echo_server, &e), 0);
    for (int i = 0; i < 2; i++) {
        corio_stream *s;
        CHECK_EQ(corio_unix_connect(&s, c->path, NULL), 0);
        char buf[64];
        CHECK_EQ(net_ask(s, "over unix\n", buf, sizeof buf), 0);
        CHECK(strcmp(buf, "over unix\n") == 0);
        corio_stream_close(s);
    }
    int rc;
    CHECK_EQ(corio_task_join(srv, &rc), 0);
    CHECK_EQ(rc, 0);
    CHECK_EQ(e.lines, 2);
    corio_listener_close(e.l);
    CHECK_EQ(net_count_fds(), fds0);
    if (c->path[0] != '@') {
        struct stat st;
        CHECK_EQ(stat(c->path, &st), -1); /* the file went with the listener */
        corio_stream *s;
        CHECK_EQ(corio_unix_connect(&s, c->path, NULL), -ENOENT);
    } else {
        corio_stream *s;
        CHECK_EQ(corio_unix_connect(&s, c->path, NULL), -ECONNREFUSED);
    }
    return 0;
}

TEST(net, unix_round_trip_path)
{
    unix_case c;
    snprintf(c.path, sizeof c.path, "/tmp/corio-test-%d.sock", (int)getpid());
    CHECK_EQ(tst_run(unix_main, &c), 0);
    tst_leak_check();
}

TEST(net, unix_round_trip_abstract)
{
    unix_case c;
    snprintf(c.path, sizeof c.path, "@corio-test-%d", (int)getpid());
    CHECK_EQ(tst_run(unix_main, &c), 0);
}

static int unix_files_main(void *arg)
{
    unix_case *c = arg;
    corio_listener *l, *m;
    corio_stream *s;
    /* A stale socket file (its listener died) is replaced. */
    int raw = socket(AF_UNIX, SOCK_STREAM, 0);
    corio_addr a;
    CORIO_IGNORE(corio_addr_unix(&a, c->path));
    CHECK_EQ(bind(raw, &a.u.sa, a.len), 0);
    close(raw);
    CHECK_EQ(corio_unix_connect(&s, c->path, NULL), -ECONNREFUSED);
    CHECK_EQ(corio_unix_listen(&l, c->path, NULL), 0);
    /* A live one is not. */
    CHECK_EQ(corio_unix_listen(&m, c->path, NULL), -EADDRINUSE);
    CHECK(m == NULL);
    /* A file replaced behind the listener's back is left alone. */
    CHECK_EQ(unlink(c->path), 0);
    int f = open(c->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    CHECK(f >= 0);
    close(f);
    corio_listener_close(l);
    struct stat st;
    CHECK_EQ(stat(c->path, &st), 0);
    /* A regular file at the path is not removed either. */
    CHECK_EQ(corio_unix_listen(&m, c->path, NULL), -EADDRINUSE);
    CHECK_EQ(unlink(c->path), 0);
    CHECK_EQ(corio_unix_listen(&m, "/nonexistent-dir/x.sock", NULL), -ENOENT);
    return 0;
}

TEST(net, unix_socket_files)
{
    unix_case c;
    snprintf(c.path, sizeof c.path, "/tmp/corio-test-files-%d.sock",
             (int)getpid());
    CHECK_EQ(tst_run(unix_files_main, &c), 0);
}

/* While the backlog is full the connect retries with pauses; it gets in
 * once the server accepts. */
static int late_accept(void *arg)
{
    corio_listener *l = arg;
    corio_stream *s;
    int rc = corio_sleep(50 * CORIO_MS);
    for (int i = 0; rc == 0 && i < 3; i++) {
        rc = corio_listener_accept(l, &s, NULL);
        if (rc == 0)
            corio_stream_close(s);
    }
    return rc;
}

static int unix_backlog_main(void *arg)
{
    unix_case *c = arg;
    corio_listener *l;
    corio_listen_opts o = {.backlog = 1};
    CHECK_EQ(corio_unix_listen(&l, c->path, &o), 0);
    corio_stream *s[3];
    /* Backlog 1 holds two connections on Linux (queue full at > backlog). */
    CHECK_EQ(corio_unix_connect(&s[0], c->path, NULL), 0);
    CHECK_EQ(corio_unix_connect(&s[1], c->path, NULL), 0);
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, late_accept, l), 0);
    int64_t t0 = corio_now();
    CHECK_EQ(corio_unix_connect(&s[2], c->path, NULL), 0);
    int64_t took = corio_now() - t0;
    CHECK(took >= 50 * CORIO_MS && took <= 200 * CORIO_MS);
    int rc;
    CHECK_EQ(corio_task_join(t, &rc), 0);
    CHECK_EQ(rc, 0);
    for (int i = 0; i < 3; i++)
        corio_stream_close(s[i]);
    /* With the backlog full and nobody accepting, a scope ends it. */
    CHECK_EQ(corio_unix_connect(&s[0], c->path, NULL), 0);
    CHECK_EQ(corio_unix_connect(&s[1], c->path, NULL), 0);
    int fds0 = net_count_fds();
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    CHECK_EQ(corio_unix_connect(&s[2], c->path, NULL), -ETIMEDOUT);
    corio_timeout_end();
    CHECK_EQ(net_count_fds(), fds0);
    corio_stream_close(s[0]);
    corio_stream_close(s[1]);
    corio_listener_close(l);
    return 0;
}

TEST(net, unix_connect_waits_out_full_backlog)
{
    unix_case c;
    snprintf(c.path, sizeof c.path, "@corio-backlog-%d", (int)getpid());
    CHECK_EQ(tst_run(unix_backlog_main, &c), 0);
}

/* ---- fault sweep ------------------------------------------------------------
 * One exchange per kind (TCP with happy eyeballs over a refusing and a live
 * address, corio_serve, Unix-domain, UDP), with system call or allocation
 * #1, #2, ... failing in turn: every run returns (an error or success), no
 * descriptor or memory is left behind, and the next clean run works. */

enum { SW_TCP, SW_SERVE, SW_UNIX, SW_UDP, SW_KINDS };

typedef struct sweep {
    int kind;
    corio_addr refuser;
    corio_listener *l;
    corio_event stop;
    char path[64];
} sweep;

static int sw_echo_handler(corio_stream *c, void *arg)
{
    (void)arg;
    return net_echo_lines(c);
}

static int sw_server(void *arg)
{
    sweep *w = arg;
    if (w->kind == SW_SERVE) {
        corio_serve_opts o = {.stop = &w->stop};
        return corio_serve(w->l, sw_echo_handler, NULL, &o);
    }
    corio_stream *s;
    int rc = corio_listener_accept(w->l, &s, NULL);
    if (rc < 0)
        return rc;
    rc = net_echo_lines(s);
    corio_stream_close(s);
    return rc < 0 ? rc : 0;
}

static int sw_client(void *arg)
{
    sweep *w = arg;
    corio_stream *s;
    corio_addr la;
    int rc = corio_listener_addr(w->l, &la);
    if (rc < 0)
        return rc;
    if (w->kind == SW_UNIX) {
        rc = corio_unix_connect(&s, w->path, NULL);
    } else {
        corio_addr addrs[2] = {w->refuser, la};
        rc = corio_tcp_connect_addrs(&s, addrs, 2, NULL);
    }
    if (rc < 0)
        return rc;
    char buf[16];
    rc = net_ask(s, "sweep\n", buf, sizeof buf);
    if (rc == 0 && strcmp(buf, "sweep\n"))
        rc = -EPROTO;
    corio_stream_close(s);
    if (w->kind == SW_SERVE)
        corio_event_set(&w->stop);
    return rc;
}

static int sw_udp(void)
{
    corio_udp *a, *b;
    corio_addr to;
    char buf[8];
    int rc = corio_udp_open(&a, "127.0.0.1", 0, NULL);
    if (rc < 0)
        return rc;
    rc = corio_udp_open(&b, NULL, 0, NULL);
    if (rc == 0)
        rc = corio_udp_addr(a, &to);
    if (rc == 0) {
        ssize_t n = corio_udp_sendto(b, "u", 1, &to);
        if (n >= 0)
            n = corio_udp_recvfrom(a, buf, sizeof buf, NULL);
        rc = n < 0 ? (int)n : n == 1 ? 0 : -EPROTO;
    }
    corio_udp_close(a);
    corio_udp_close(b);
    return rc;
}

static int sw_exchange(void *arg)
{
    sweep *w = arg;
    if (w->kind == SW_UDP)
        return sw_udp();
    corio_group *g;
    int rc = w->kind == SW_UNIX ? corio_unix_listen(&w->l, w->path, NULL)
                                : corio_tcp_listen(&w->l, "127.0.0.1", 0, NULL);
    if (rc < 0)
        return rc;
    corio_event_init(&w->stop);
    rc = corio_group_new(&g);
    if (rc == 0) {
        if ((rc = corio_group_spawn(g, sw_server, w)) == 0)
            rc = corio_group_spawn(g, sw_client, w);
        if (rc < 0)
            corio_group_cancel(g);
        int w_rc = corio_group_wait(g);
        if (rc == 0)
            rc = w_rc;
    }
    corio_listener_close(w->l);
    corio_event_destroy(&w->stop);
    return rc;
}

TEST_T(net, fault_sweep, 120)
{
    corio_options o = {.virtual_clock = 1};
    net_hold h = {0};
    sweep w;
    memset(&w, 0, sizeof w);
    net_refuser(&h, "::1", 0, &w.refuser);
    snprintf(w.path, sizeof w.path, "@corio-sweep-%d", (int)getpid());
    for (w.kind = 0; w.kind < SW_KINDS; w.kind++) {
        int fds0 = net_count_fds();
        CHECK_EQ(tst_run_ex(&o, sw_exchange, &w), 0);
        CHECK_EQ(net_count_fds(), fds0);
        int failures = 0;
        long n;
        for (n = 1;; n++) {
            corio__fault_arm(n, ENOMEM);
            int rc = tst_run_ex(&o, sw_exchange, &w);
            int fired = corio__fault_fired();
            corio__fault_disarm();
            if (net_count_fds() != fds0)
                fprintf(stderr, "    kind %d, call %ld: descriptors leaked\n",
                        w.kind, n);
            CHECK_EQ(net_count_fds(), fds0);
            if (!fired) {
                CHECK_EQ(rc, 0);
                break;
            }
            failures += rc < 0;
            CHECK_EQ(tst_run_ex(&o, sw_exchange, &w), 0);
        }
        printf("    kind %d: %ld calls failed in turn, %d runs failed\n",
               w.kind, n - 1, failures);
        CHECK(n > 10);
        CHECK(failures > 0);
    }
    net_hold_close(&h);
    tst_leak_check();
}

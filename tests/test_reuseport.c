/* test_reuseport.c — a server per loop: every loop listens on the same port
 * with SO_REUSEPORT and runs corio_serve.  Connections spread over the
 * loops and every one is served; the servers are stopped from a plain
 * thread by posting to each loop; a shutdown that starts on one loop (its
 * main cancelled) reaches every loop's server while connections are open
 * on all of them, each shutting down gracefully, nothing left open.
 *
 * The clients are a plain thread with blocking sockets, so the servers'
 * loops only serve.  The port is held by a bound, non-listening
 * SO_REUSEPORT socket of the test for its whole length. */
#include "net_util.h"

#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <stdbool.h>

#define MAXL 4

static corio_loops_opts vopts = {.loop = {.virtual_clock = 1}};

static struct {
    int port;
    size_t n;
    atomic_int ready;
    corio_loop *loop[MAXL];
    corio_task *main[MAXL];
    corio_event stop[MAXL];
    atomic_int served[MAXL];
    atomic_int live[MAXL];
    atomic_int cancelled;
    bool hold;  /* handlers keep the connection until the client closes */
    bool steer; /* listeners with steer_cpu */
} S;

static int hold_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    CHECK(fd >= 0);
    CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
    CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one), 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    CHECK_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    S.port = ntohs(a.sin_port);
    return fd;
}

static int handler(corio_stream *s, void *arg)
{
    size_t i = corio_loop_index();
    (void)arg;
    char c;
    atomic_fetch_add(&S.live[i], 1);
    ssize_t n = corio_stream_read(s, &c, 1);
    if (n == 1) {
        c = (char)('0' + i);
        if (corio_stream_write(s, &c, 1) == 0 && corio_stream_flush(s) == 0)
            atomic_fetch_add(&S.served[i], 1);
        while (S.hold && (n = corio_stream_read(s, &c, 1)) > 0)
            ;
    }
    if (n == -ECANCELED)
        atomic_fetch_add(&S.cancelled, 1);
    atomic_fetch_sub(&S.live[i], 1);
    return 0;
}

static int server_main(void *arg)
{
    (void)arg;
    size_t i = corio_loop_index();
    corio_listener *l;
    corio_listen_opts lo = {.reuseport = 1, .steer_cpu = S.steer};
    CHECK_EQ(corio_tcp_listen(&l, "127.0.0.1", S.port, &lo), 0);
    corio_event_init(&S.stop[i]);
    S.loop[i] = corio_loop_current();
    S.main[i] = corio_task_current();
    atomic_fetch_add(&S.ready, 1);
    corio_serve_opts so = {.stop = &S.stop[i], .grace_ns = CORIO_SECOND};
    int rc = corio_serve(l, handler, NULL, &so);
    corio_listener_close(l);
    corio_event_destroy(&S.stop[i]);
    return rc;
}

static void wait_ready(void)
{
    for (int i = 0; i < 5000 && atomic_load(&S.ready) < (int)S.n; i++)
        tst_nap_ms(1);
    CHECK_EQ(atomic_load(&S.ready), (int)S.n);
}

/* A blocking client connection that has sent its byte. */
static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)S.port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK_EQ(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_EQ(write(fd, "x", 1), 1);
    return fd;
}

static void set_stop(void *arg)
{
    corio_event_set(arg);
}

#define CONNS 200

static atomic_int answered[MAXL];

static void *spread_clients(void *arg)
{
    (void)arg;
    wait_ready();
    for (int k = 0; k < CONNS; k++) {
        int fd = dial();
        char c = 0;
        CHECK_EQ(read(fd, &c, 1), 1);
        CHECK(c >= '0' && c < '0' + (int)S.n);
        atomic_fetch_add(&answered[c - '0'], 1);
        close(fd);
    }
    for (size_t i = 0; i < S.n; i++)
        CHECK_EQ(corio_loop_post(S.loop[i], set_stop, &S.stop[i]), 0);
    return NULL;
}

static void reset(size_t n, bool hold)
{
    memset(&S, 0, sizeof S);
    memset(answered, 0, sizeof answered);
    S.n = n;
    S.hold = hold;
}

TEST(reuseport, connections_spread_over_the_loops_and_all_are_served)
{
    for (size_t n = 2; n <= 4; n += 2) {
        int fds = net_count_fds();
        reset(n, false);
        int held = hold_port();
        pthread_t th;
        CHECK_EQ(pthread_create(&th, NULL, spread_clients, NULL), 0);
        int result = -1;
        CHECK_EQ(corio_run_loops(n, &vopts, server_main, NULL, &result), 0);
        pthread_join(th, NULL);
        CHECK_EQ(result, 0); /* stopped through the events */
        int total = 0;
        for (size_t i = 0; i < n; i++) {
            CHECK(atomic_load(&answered[i]) > 0); /* the kernel spread them */
            CHECK_EQ(atomic_load(&answered[i]), atomic_load(&S.served[i]));
            total += atomic_load(&answered[i]);
        }
        CHECK_EQ(total, CONNS);
        close(held);
        CHECK_EQ(net_count_fds(), fds);
    }
}

/* ---- shutdown with connections open on every loop ----------------------- */

#define OPEN 64

static void cancel_main(void *arg)
{
    corio_task_cancel(arg);
}

static atomic_int closed_by_server;

static void *open_clients(void *arg)
{
    (void)arg;
    int fd[OPEN];
    wait_ready();
    for (int k = 0; k < OPEN; k++) {
        fd[k] = dial();
        char c;
        CHECK_EQ(read(fd[k], &c, 1), 1); /* served, and now held open */
    }
    for (size_t i = 0; i < S.n; i++)
        CHECK(atomic_load(&S.live[i]) > 0); /* open on every loop */
    /* The shutdown starts on the last loop only. */
    CHECK_EQ(corio_loop_post(S.loop[S.n - 1], cancel_main, S.main[S.n - 1]), 0);
    for (int k = 0; k < OPEN; k++) {
        struct pollfd p = {fd[k], POLLIN, 0};
        CHECK_EQ(poll(&p, 1, 5000), 1);
        char c;
        ssize_t n = read(fd[k], &c, 1);
        CHECK(n == 0 || (n < 0 && errno == ECONNRESET));
        atomic_fetch_add(&closed_by_server, 1);
        close(fd[k]);
    }
    return NULL;
}

TEST(reuseport, shutdown_reaches_every_loop_with_connections_open)
{
    for (size_t n = 2; n <= 4; n += 2) {
        int fds = net_count_fds();
        reset(n, true);
        atomic_store(&closed_by_server, 0);
        int held = hold_port();
        pthread_t th;
        CHECK_EQ(pthread_create(&th, NULL, open_clients, NULL), 0);
        int result = 0;
        CHECK_EQ(corio_run_loops(n, &vopts, server_main, NULL, &result), 0);
        pthread_join(th, NULL);
        CHECK_EQ(result, -ECANCELED);
        CHECK_EQ(atomic_load(&closed_by_server), OPEN);
        CHECK_EQ(atomic_load(&S.cancelled), OPEN); /* after the grace */
        for (size_t i = 0; i < n; i++)
            CHECK_EQ(atomic_load(&S.live[i]), 0);
        close(held);
        CHECK_EQ(net_count_fds(), fds);
    }
}

/* ---- steering by CPU ------------------------------------------------------
 */

static int cpus[2];

/* Connections made from a thread pinned to cpus[k]: loopback handles the
 * SYN on the sending CPU, so every one is received on cpus[k]. */
static void *steered_clients(void *arg)
{
    (void)arg;
    wait_ready();
    for (int k = 0; k < 2; k++) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpus[k], &set);
        CHECK_EQ(pthread_setaffinity_np(pthread_self(), sizeof set, &set), 0);
        for (int i = 0; i < 20; i++) {
            int fd = dial();
            char c = 0;
            CHECK_EQ(read(fd, &c, 1), 1);
            CHECK_EQ(c, '0' + k); /* the loop pinned to that CPU */
            atomic_fetch_add(&answered[k], 1);
            close(fd);
        }
    }
    for (size_t i = 0; i < S.n; i++)
        CHECK_EQ(corio_loop_post(S.loop[i], set_stop, &S.stop[i]), 0);
    return NULL;
}

TEST(reuseport, steer_cpu_serves_a_connection_on_the_cpu_that_received_it)
{
    cpu_set_t mine;
    CHECK_EQ(sched_getaffinity(0, sizeof mine, &mine), 0);
    int n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
        if (CPU_ISSET(c, &mine))
            cpus[n++] = c;
    if (n < 2 || tst_slow_env()) {
        /* One CPU (or qemu, whose threads the host schedules anywhere):
         * nothing to steer between. */
        printf("    skipped: needs two CPUs on a native run\n");
        return;
    }
    reset(2, false);
    S.steer = true;
    int held = hold_port();
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, steered_clients, NULL), 0);
    corio_loops_opts o = vopts;
    o.cpus = cpus;
    o.ncpus = 2;
    int result = -1;
    CHECK_EQ(corio_run_loops(2, &o, server_main, NULL, &result), 0);
    pthread_join(th, NULL);
    CHECK_EQ(result, 0);
    CHECK_EQ(atomic_load(&answered[0]), 20);
    CHECK_EQ(atomic_load(&answered[1]), 20);
    close(held);
}

/* bench/echo/client.c — TCP echo load client (plain epoll, one thread).
 *
 *   client stream   PORT CONNS SECS [options]   pipelined streaming
 *   client pingpong PORT CONNS SECS [options]   one message in flight per
 * connection client hold     PORT CONNS SECS [options]   hold CONNS
 * connections, one round trip each per second, and sample the server's RSS
 * every second Options:
 *   --host IP      server address (default 127.0.0.1; loopback only is the
 * point)
 *   --size N       message size (default 512)
 *   --window N     streaming: messages in flight per connection (default 16)
 *   --warmup S     seconds of traffic before measuring (default 0.5), and
 *                  longer until every connection has had an echo (20 s at
 *                  most; reported as <mode>_warmup_s)
 *   --pid PID      the server's pid: its CPU time (and, for hold, RSS) is
 *                  sampled from /proc over the measured window
 *   --cpu N        pin this process to CPU N (run.sh pins with taskset too)
 *   --wait S       retry the first connection for up to S seconds (default 10)
 *
 * Prints `metric value` lines on stdout (see docs/performance.md, "TCP echo"):
 *   stream:   stream_msgs_per_s, stream_mib_per_s
 *   pingpong: pingpong_msgs_per_s, pingpong_p50_us, pingpong_p99_us
 *   both, prefixed with the mode (stream_..., pingpong_...):
 *             client_cpu_share, server_cpu_share (CPU time over wall time
 *             while measured, all threads), server_cpu_ns_per_msg,
 *             warmup_s (until every connection had an echo), idle_conns
 *             (connections that echoed nothing while measured), errors
 *   hold:     hold_conns, hold_secs, hold_round_trips, hold_rss_connected_kib
 *             (after connecting and the first round), hold_rss_last_kib,
 *             hold_rss_max_kib, hold_rss_growth_pct (last vs connected),
 *             hold_late_rounds, hold_errors
 * Every echoed byte is checked against what was sent; any mismatch, reset,
 * early close or a drain that does not finish counts in `errors`, and the
 * exit status is then 1.
 *
 * Streaming: each connection sends 512-byte messages back to back, keeping
 * up to --window of them in flight (sent, not yet echoed back): whenever
 * echoes come back, as many whole messages as the window allows go out in
 * one write.  Ping-pong: each connection sends one message and waits for its
 * whole echo before sending the next.  Either way the run ends by draining:
 * no new messages, every byte in flight must come back. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PAT_PERIOD 251 /* pattern byte at stream offset o: o % 251 */
#define RBUF (64 * 1024)

enum { M_STREAM, M_PINGPONG, M_HOLD };

typedef struct conn {
    int fd;
    int connected;
    int dead;
    uint64_t sent;   /* bytes written */
    uint64_t recvd;  /* bytes read back */
    uint64_t target; /* ping-pong / hold: message end offset awaited */
    uint64_t msgs;   /* whole messages echoed while measured */
    uint64_t t_sent; /* ping-pong: ns when the message went out */
} conn;

static int mode, nconns;
static size_t msize = 512, window = 16;
static double secs, warmup = 0.5, wait_s = 10;
static const char *host = "127.0.0.1";
static int port, server_pid = -1;
static conn *conns;
static int ep;
static unsigned char *pat; /* PAT_PERIOD + largest write */
static size_t patlen;
static uint64_t errors;
static int measuring, draining;
static uint64_t *lat; /* ping-pong latencies while measured, ns */
static size_t nlat, caplat;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "client: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void fail(conn *c, const char *why, int err)
{
    if (!c->dead) {
        if (errors < 10)
            fprintf(stderr, "client: connection %d: %s%s%s\n", (int)(c - conns),
                    why, err ? ": " : "", err ? strerror(err) : "");
        errors++;
        c->dead = 1;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    }
}

/* CPU time of a process (all threads), ns, from /proc/PID/stat. */
static int64_t proc_cpu_ns(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p)
        return -1;
    unsigned long ut = 0, st = 0;
    /* after ')': state(3) ... utime is field 14, stime 15 */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) != 2)
        return -1;
    return (int64_t)(ut + st) * (1000000000 / sysconf(_SC_CLK_TCK));
}

static int64_t self_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
           (int64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static long proc_rss_kib(int pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long v = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* Write from the pattern at stream offset c->sent up to `upto`. */
static int send_upto(conn *c, uint64_t upto)
{
    while (c->sent < upto) {
        size_t n = upto - c->sent;
        if (n > patlen - PAT_PERIOD)
            n = patlen - PAT_PERIOD;
        ssize_t w = write(c->fd, pat + c->sent % PAT_PERIOD, n);
        if (w < 0) {
            if (errno == EAGAIN)
                return 0; /* EPOLLOUT (edge) calls again */
            if (errno == EINTR)
                continue;
            fail(c, "write", errno);
            return -1;
        }
        c->sent += (uint64_t)w;
    }
    return 0;
}

static void pump_writes(conn *c)
{
    if (c->dead || draining)
        return;
    if (mode == M_STREAM) {
        uint64_t win = window * msize;
        uint64_t inflight = c->sent - c->recvd;
        if (inflight + msize <= win) {
            /* whole messages only */
            uint64_t room = (win - inflight) / msize * msize;
            send_upto(c, c->sent + room);
        }
    } else if (c->sent < c->target) {
        send_upto(c, c->target);
    }
}

static void start_message(conn *c)
{
    c->target = c->sent + msize;
    c->t_sent = now_ns();
    send_upto(c, c->target);
}

static void on_readable(conn *c)
{
    static unsigned char buf[RBUF];
    for (;;) {
        size_t want = sizeof buf;
        if (mode != M_STREAM) {
            /* never read past the message awaited: the check stays exact */
            uint64_t left = c->sent - c->recvd;
            if (left == 0) {
                /* nothing owed: anything readable is an error or EOF */
                want = 1;
            } else if (left < want)
                want = left;
        }
        ssize_t r = read(c->fd, buf, want);
        if (r < 0) {
            if (errno == EAGAIN)
                return;
            if (errno == EINTR)
                continue;
            fail(c, "read", errno);
            return;
        }
        if (r == 0) {
            fail(c, "closed by the server", 0);
            return;
        }
        if ((uint64_t)r > c->sent - c->recvd) {
            fail(c, "more bytes echoed than sent", 0);
            return;
        }
        if (memcmp(buf, pat + c->recvd % PAT_PERIOD, (size_t)r) != 0) {
            fail(c, "echoed bytes differ from those sent", 0);
            return;
        }
        uint64_t before = c->recvd;
        c->recvd += (uint64_t)r;
        if (mode == M_STREAM) {
            if (measuring)
                c->msgs += c->recvd / msize - before / msize;
            pump_writes(c);
        } else if (c->recvd == c->target) {
            if (measuring) {
                c->msgs++;
                if (mode == M_PINGPONG) {
                    if (nlat == caplat) {
                        caplat = caplat ? caplat * 2 : 1 << 20;
                        lat = realloc(lat, caplat * sizeof *lat);
                        if (!lat)
                            die("realloc");
                    }
                    lat[nlat++] = now_ns() - c->t_sent;
                }
            }
            if (mode == M_PINGPONG && !draining)
                start_message(c);
            return; /* the read was exact: nothing more owed now */
        }
        if ((size_t)r < want)
            return; /* short read: drained (edge-triggered; a new edge comes) */
    }
}

static void on_event(conn *c, uint32_t ev)
{
    if (c->dead)
        return;
    if (!c->connected) {
        int err = 0;
        socklen_t len = sizeof err;
        if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err) {
                fail(c, "connect", err);
                return;
            }
            c->connected = 1;
        }
        return;
    }
    if (ev & EPOLLIN)
        on_readable(c);
    if (!c->dead && (ev & EPOLLOUT))
        pump_writes(c);
    if (!c->dead && (ev & EPOLLERR) && !(ev & EPOLLIN)) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        fail(c, "socket error", err);
    }
}

static struct epoll_event evs[1024];

/* Run the loop until `until` (ns) or until done() says so. */
static void run_loop(uint64_t until, int (*done)(void))
{
    for (;;) {
        uint64_t t = now_ns();
        if (t >= until || (done && done()))
            return;
        int ms = (int)((until - t) / 1000000) + 1;
        if (ms > 100)
            ms = 100;
        int n = epoll_wait(ep, evs, 1024, ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++)
            on_event(evs[i].data.ptr, evs[i].events);
    }
}

static struct sockaddr_in sa;
static int open_conn(conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 &&
        errno != EINPROGRESS)
        return -errno;
    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLET,
                            .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e) < 0)
        die("epoll_ctl");
    return 0;
}

/* Wait until the server listens: a blocking probe connection, retried. */
static void wait_for_server(void)
{
    uint64_t until = now_ns() + (uint64_t)(wait_s * 1e9);
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            die("socket");
        int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
        int err = errno;
        close(fd);
        if (r == 0)
            return;
        if (err != ECONNREFUSED || now_ns() > until) {
            errno = err;
            die("connect to the server");
        }
        usleep(20000);
    }
}

static void connect_all(void)
{
    /* in batches, so that the server's backlog never overflows */
    const int batch = 256;
    for (int i = 0; i < nconns; i += batch) {
        int end = i + batch < nconns ? i + batch : nconns;
        for (int j = i; j < end; j++) {
            int r = open_conn(&conns[j]);
            if (r < 0) {
                errno = -r;
                die("connect");
            }
        }
        uint64_t until = now_ns() + 10000000000ull;
        for (;;) {
            int k = 0;
            for (int j = i; j < end; j++)
                k += conns[j].connected || conns[j].dead;
            if (k == end - i)
                break;
            if (now_ns() > until) {
                fprintf(stderr, "client: connections not made in 10 s\n");
                exit(2);
            }
            run_loop(now_ns() + 10000000, NULL);
        }
    }
}

static int all_served(void)
{
    for (int i = 0; i < nconns; i++)
        if (!conns[i].dead && conns[i].recvd < msize)
            return 0;
    return 1;
}

static int all_drained(void)
{
    for (int i = 0; i < nconns; i++)
        if (!conns[i].dead && conns[i].recvd != conns[i].sent)
            return 0;
    return 1;
}

static void drain(void)
{
    draining = 1;
    run_loop(now_ns() + 5000000000ull, all_drained);
    for (int i = 0; i < nconns; i++)
        if (!conns[i].dead && conns[i].recvd != conns[i].sent)
            fail(&conns[i], "echo not complete 5 s after the end", 0);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int all_round_done(void)
{
    for (int i = 0; i < nconns; i++)
        if (!conns[i].dead && conns[i].recvd != conns[i].target)
            return 0;
    return 1;
}

static void hold(void)
{
    /* One round trip on every connection per second; RSS every second. */
    uint64_t t0 = now_ns();
    long rss0 = -1, rss_last = -1, rss_max = -1;
    uint64_t trips = 0, late = 0;
    int s;
    for (s = 0; s < (int)secs; s++) {
        uint64_t tick = t0 + (uint64_t)s * 1000000000ull;
        measuring = 1;
        for (int i = 0; i < nconns; i++)
            if (!conns[i].dead)
                start_message(&conns[i]);
        run_loop(tick + 1000000000ull, all_round_done);
        if (!all_round_done())
            late++;
        /* the round's echoes are in (or late): wait out the second */
        run_loop(tick + 1000000000ull, NULL);
        if (!all_round_done()) {
            for (int i = 0; i < nconns; i++)
                if (!conns[i].dead && conns[i].recvd != conns[i].target)
                    fail(&conns[i], "no echo within a second", 0);
        }
        if (server_pid > 0) {
            long r = proc_rss_kib(server_pid);
            if (r < 0) {
                fprintf(stderr, "client: the server (pid %d) is gone\n",
                        server_pid);
                errors++;
                break;
            }
            if (s == 0)
                rss0 = r;
            rss_last = r;
            if (r > rss_max)
                rss_max = r;
            fprintf(stderr, "hold: %2d s  rss %ld KiB\n", s + 1, r);
        }
    }
    for (int i = 0; i < nconns; i++)
        trips += conns[i].msgs;
    int alive = 0;
    for (int i = 0; i < nconns; i++)
        alive += !conns[i].dead;
    printf("hold_conns %d\n", alive);
    printf("hold_secs %d\n", s);
    printf("hold_round_trips %llu\n", (unsigned long long)trips);
    printf("hold_late_rounds %llu\n", (unsigned long long)late);
    if (server_pid > 0) {
        printf("hold_rss_connected_kib %ld\n", rss0);
        printf("hold_rss_last_kib %ld\n", rss_last);
        printf("hold_rss_max_kib %ld\n", rss_max);
        printf("hold_rss_growth_pct %.2f\n",
               rss0 > 0 ? 100.0 * (rss_last - rss0) / rss0 : 0.0);
    }
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr,
                "usage: %s stream|pingpong|hold PORT CONNS SECS [--host IP] "
                "[--size N] "
                "[--window N] [--warmup S] [--pid PID] [--cpu N] [--wait S]\n",
                argv[0]);
        return 2;
    }
    if (!strcmp(argv[1], "stream"))
        mode = M_STREAM;
    else if (!strcmp(argv[1], "pingpong"))
        mode = M_PINGPONG;
    else if (!strcmp(argv[1], "hold"))
        mode = M_HOLD;
    else {
        fprintf(stderr, "client: unknown mode %s\n", argv[1]);
        return 2;
    }
    port = atoi(argv[2]);
    nconns = atoi(argv[3]);
    secs = atof(argv[4]);
    int cpu = -1;
    for (int i = 5; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];
        if (!strcmp(o, "--host"))
            host = v;
        else if (!strcmp(o, "--size"))
            msize = (size_t)atol(v);
        else if (!strcmp(o, "--window"))
            window = (size_t)atol(v);
        else if (!strcmp(o, "--warmup"))
            warmup = atof(v);
        else if (!strcmp(o, "--pid"))
            server_pid = atoi(v);
        else if (!strcmp(o, "--cpu"))
            cpu = atoi(v);
        else if (!strcmp(o, "--wait"))
            wait_s = atof(v);
        else {
            fprintf(stderr, "client: unknown option %s\n", o);
            return 2;
        }
    }
    if (nconns < 1 || msize < 1 || window < 1 || secs <= 0) {
        fprintf(stderr, "client: bad arguments\n");
        return 2;
    }
    if (cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0)
            die("sched_setaffinity");
    }
    signal(SIGPIPE, SIG_IGN);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
        rl.rlim_cur < (rlim_t)nconns + 64) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    size_t maxw = mode == M_STREAM ? window * msize : msize;
    patlen = PAT_PERIOD + (maxw > RBUF ? maxw : RBUF);
    pat = malloc(patlen);
    conns = calloc((size_t)nconns, sizeof *conns);
    if (!pat || !conns)
        die("malloc");
    for (size_t i = 0; i < patlen; i++)
        pat[i] = (unsigned char)(i % PAT_PERIOD);

    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "client: bad host %s\n", host);
        return 2;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");

    wait_for_server();
    uint64_t tc = now_ns();
    connect_all();
    fprintf(stderr, "client: %d connections in %.2f s\n", nconns,
            (now_ns() - tc) / 1e9);
    if (errors) {
        printf("%s_errors %llu\n", argv[1], (unsigned long long)errors);
        return 1;
    }

    if (mode == M_HOLD) {
        hold();
        printf("hold_errors %llu\n", (unsigned long long)errors);
        return errors ? 1 : 0;
    }

    /* warm-up: start every connection, run, then measure */
    for (int i = 0; i < nconns; i++) {
        if (mode == M_STREAM)
            pump_writes(&conns[i]);
        else
            start_message(&conns[i]);
    }
    /* ... and on until every connection has had an echo (a server may be
     * slow to accept them all while it serves the first), at most 20 s */
    uint64_t tw = now_ns();
    run_loop(tw + (uint64_t)(warmup * 1e9), NULL);
    run_loop(tw + 20000000000ull, all_served);
    double served_s = (now_ns() - tw) / 1e9;

    uint64_t recv0 = 0;
    for (int i = 0; i < nconns; i++)
        recv0 += conns[i].recvd;
    int64_t srv0 = server_pid > 0 ? proc_cpu_ns(server_pid) : -1;
    int64_t me0 = self_cpu_ns();
    uint64_t t0 = now_ns();
    measuring = 1;
    run_loop(t0 + (uint64_t)(secs * 1e9), NULL);
    measuring = 0;
    uint64_t t1 = now_ns();
    int64_t me1 = self_cpu_ns();
    int64_t srv1 = server_pid > 0 ? proc_cpu_ns(server_pid) : -1;
    uint64_t recv1 = 0, msgs = 0;
    int idle = 0;
    for (int i = 0; i < nconns; i++) {
        recv1 += conns[i].recvd;
        msgs += conns[i].msgs;
        idle += conns[i].msgs == 0;
    }
    drain();

    double dt = (t1 - t0) / 1e9;
    const char *m = mode == M_STREAM ? "stream" : "pingpong";
    printf("%s_msgs_per_s %.0f\n", m, msgs / dt);
    if (mode == M_STREAM)
        printf("stream_mib_per_s %.1f\n", (recv1 - recv0) / dt / (1 << 20));
    if (mode == M_PINGPONG && nlat) {
        qsort(lat, nlat, sizeof *lat, cmp_u64);
        printf("pingpong_p50_us %.1f\n", lat[nlat / 2] / 1e3);
        printf("pingpong_p99_us %.1f\n", lat[nlat * 99 / 100] / 1e3);
    }
    printf("%s_client_cpu_share %.3f\n", m, (me1 - me0) / 1e9 / dt);
    if (srv0 >= 0 && srv1 >= 0) {
        printf("%s_server_cpu_share %.3f\n", m, (srv1 - srv0) / 1e9 / dt);
        if (msgs)
            printf("%s_server_cpu_ns_per_msg %.0f\n", m,
                   (double)(srv1 - srv0) / (double)msgs);
    }
    printf("%s_warmup_s %.2f\n", m, served_s);
    printf("%s_idle_conns %d\n", m, idle);
    printf("%s_errors %llu\n", m, (unsigned long long)errors);
    for (int i = 0; i < nconns; i++)
        close(conns[i].fd);
    return errors ? 1 : 0;
}

/* test_dns.c — corio_dns_resolve and connecting by name.
 *
 * Parts:
 *   numeric       addresses parsed on the spot, never on the pool.
 *   private files each test that resolves names first moves into its own
 *                 mount namespace (unshare + a private "/") and bind-mounts
 *                 its own /etc/hosts and /etc/resolv.conf, so lookups never
 *                 leave the machine: the resolver is pointed at a stub DNS
 *                 server on 127.45.67.89:53 that the test runs as a corio
 *                 task (a few lines of DNS wire format, below).
 *   cancellation  a lookup whose server never answers is abandoned at once
 *                 (real clock), and the loop ends without waiting for it;
 *                 a fake getaddrinfo held on a semaphore shows that the
 *                 thread frees an abandoned request and that a request
 *                 abandoned while queued is never looked up. */
#include "net_util.h"
#include "os/sys.h"
#include "net/net.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <time.h>

#define STUB_IP "127.45.67.89"

/* ---- a stub DNS server ---------------------------------------------------
 * Names under stub.test:
 *   v4    A 127.0.0.1             v6    AAAA ::1
 *   both  A 127.0.0.1, AAAA ::1   many  A 127.0.0.1, A 127.0.0.2 (twice),
 *                                       AAAA ::1
 *   nx    NXDOMAIN                fail  SERVFAIL
 *   slow  never answers           anything else: NXDOMAIN */

typedef struct stub {
    corio_udp *u;
    int queries;
} stub;

typedef struct rr {
    int type; /* 1 A, 28 AAAA */
    const char *ip;
} rr;

static size_t put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 8);
    p[1] = (unsigned char)v;
    return 2;
}

static int stub_answer(const char *name, int qtype, rr *out)
{
    static const struct {
        const char *name;
        int rcode;
        rr rrs[4];
    } zone[] = {
        {"v4.stub.test", 0, {{1, "127.0.0.1"}}},
        {"v6.stub.test", 0, {{28, "::1"}}},
        {"both.stub.test", 0, {{1, "127.0.0.1"}, {28, "::1"}}},
        {"many.stub.test",
         0,
         {{1, "127.0.0.1"}, {1, "127.0.0.2"}, {1, "127.0.0.2"}, {28, "::1"}}},
        {"fail.stub.test", 2, {{0, NULL}}},
        {"slow.stub.test", -1, {{0, NULL}}},
    };
    for (size_t i = 0; i < sizeof zone / sizeof zone[0]; i++) {
        if (strcasecmp(name, zone[i].name))
            continue;
        if (zone[i].rcode)
            return zone[i].rcode;
        int n = 0;
        for (int k = 0; k < 4 && zone[i].rrs[k].ip; k++)
            if (zone[i].rrs[k].type == qtype)
                out[n++] = zone[i].rrs[k];
        return -10 - n; /* NOERROR with n answers */
    }
    return 3; /* NXDOMAIN */
}

static int stub_main(void *arg)
{
    stub *st = arg;
    unsigned char q[512], r[1024];
    for (;;) {
        corio_addr from;
        ssize_t n = corio_udp_recvfrom(st->u, q, sizeof q, &from);
        if (n == -ECANCELED)
            return 0;
        if (n < 12)
            continue;
        st->queries++;
        /* The question: labels, then type and class. */
        char name[256];
        size_t off = 12, nl = 0;
        while (off < (size_t)n && q[off]) {
            size_t len = q[off++];
            if (off + len > (size_t)n || nl + len + 1 >= sizeof name)
                break;
            if (nl)
                name[nl++] = '.';
            memcpy(name + nl, q + off, len);
            nl += len;
            off += len;
        }
        name[nl] = 0;
        off++; /* the root label */
        if (off + 4 > (size_t)n)
            continue;
        int qtype = q[off] << 8 | q[off + 1];
        size_t qend = off + 4;
        rr ans[4];
        int code = stub_answer(name, qtype, ans);
        if (code == -1)
            continue; /* slow: never answer */
        int nans = code <= -10 ? -10 - code : 0;
        int rcode = code <= -10 ? 0 : code;
        memcpy(r, q, 2);                                   /* id */
        put16(r + 2, 0x8180 | (q[2] & 0x01) << 8 | rcode); /* QR RD RA */
        put16(r + 4, 1);
        put16(r + 6, (unsigned)nans);
        put16(r + 8, 0);
        put16(r + 10, 0);
        memcpy(r + 12, q + 12, qend - 12);
        size_t w = qend;
        for (int i = 0; i < nans; i++) {
            w += put16(r + w, 0xc00c); /* the name: a pointer to the question */
            w += put16(r + w, (unsigned)ans[i].type);
            w += put16(r + w, 1);
            w += put16(r + w, 0);
            w += put16(r + w, 60); /* TTL */
            if (ans[i].type == 1) {
                w += put16(r + w, 4);
                inet_pton(AF_INET, ans[i].ip, r + w);
                w += 4;
            } else {
                w += put16(r + w, 16);
                inet_pton(AF_INET6, ans[i].ip, r + w);
                w += 16;
            }
        }
        CORIO_IGNORE(corio_udp_sendto(st->u, r, w, &from));
    }
}

static corio_task *stub_start(stub *st)
{
    corio_task *t;
    CHECK_EQ(corio_udp_open(&st->u, STUB_IP, 53, NULL), 0);
    CHECK_EQ(corio_task_spawn(&t, stub_main, st), 0);
    return t;
}

static void stub_stop(stub *st, corio_task *t)
{
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    corio_udp_close(st->u);
}

/* ---- numeric ------------------------------------------------------------- */

static int no_gai(const char *n, const char *s, const struct addrinfo *h,
                  struct addrinfo **r)
{
    (void)n, (void)s, (void)h, (void)r;
    CHECK(!"getaddrinfo called for a numeric host");
    return EAI_FAIL;
}

static int numeric_main(void *arg)
{
    (void)arg;
    corio_addr *v = (corio_addr *)1;
    corio__sys.getaddrinfo = no_gai;
    CHECK_EQ(corio_dns_resolve(&v, "127.0.0.1", 80, NULL), 1);
    CHECK_EQ(v[0].u.sa.sa_family, AF_INET);
    CHECK_EQ(corio_addr_port(&v[0]), 80);
    corio_dns_free(v);
    CHECK_EQ(corio_dns_resolve(&v, "[::1]", 443, NULL), 1);
    CHECK_EQ(v[0].u.sa.sa_family, AF_INET6);
    corio_dns_free(v);
    corio_dns_opts o6 = {.family = AF_INET6};
    CHECK_EQ(corio_dns_resolve(&v, "127.0.0.1", 80, &o6), CORIO_ENOHOST);
    CHECK(v == NULL);
    CHECK_EQ(corio_dns_resolve(&v, "127.0.0.1", 65536, NULL), -EINVAL);
    CHECK_EQ(corio_dns_resolve(&v, "", 1, NULL), -EINVAL);
    CHECK_EQ(corio_dns_resolve(&v, NULL, 1, NULL), -EINVAL);
    corio_dns_opts bad = {.family = AF_UNIX};
    CHECK_EQ(corio_dns_resolve(&v, "x", 1, &bad), -EINVAL);
    corio_dns_opts badt = {.socktype = SOCK_RAW};
    CHECK_EQ(corio_dns_resolve(&v, "x", 1, &badt), -EINVAL);
    corio_dns_free(NULL);
    return 0;
}

TEST(dns, numeric_hosts_skip_the_pool)
{
    CHECK_EQ(tst_run(numeric_main, NULL), 0);
    corio_addr *v;
    CHECK_EQ(corio_dns_resolve(&v, "127.0.0.1", 1, NULL), -EPERM);
}

TEST(dns, error_mapping)
{
    CHECK_EQ(corio__dns_error(0, 0), 0);
    CHECK_EQ(corio__dns_error(EAI_NONAME, 0), CORIO_ENOHOST);
    CHECK_EQ(corio__dns_error(EAI_NODATA, 0), CORIO_ENOHOST);
    CHECK_EQ(corio__dns_error(EAI_ADDRFAMILY, 0), CORIO_ENOHOST);
    CHECK_EQ(corio__dns_error(EAI_AGAIN, 0), CORIO_EDNS);
    CHECK_EQ(corio__dns_error(EAI_FAIL, 0), CORIO_EDNS);
    CHECK_EQ(corio__dns_error(EAI_MEMORY, 0), -ENOMEM);
    CHECK_EQ(corio__dns_error(EAI_SYSTEM, EMFILE), -EMFILE);
    CHECK_EQ(corio__dns_error(EAI_SYSTEM, 0), CORIO_EDNS);
    CHECK_EQ(corio__dns_error(EAI_SERVICE, 0), -EINVAL);
    CHECK_EQ(corio__dns_error(EAI_FAMILY, 0), -EINVAL);
}

/* ---- /etc/hosts and the stub server -------------------------------------- */

static const char *hosts_text = "127.0.0.1 localhost\n"
                                "127.0.0.1 v4.hosts.test\n"
                                "::1 v6.hosts.test\n"
                                "::1 both.hosts.test\n"
                                "127.0.0.1 both.hosts.test\n";

static int has(const corio_addr *v, ssize_t n, const char *ip, int port)
{
    corio_addr a;
    CHECK_EQ(corio_addr_parse(&a, ip, port), 0);
    for (ssize_t i = 0; i < n; i++)
        if (corio__addr_equal(&v[i], &a))
            return 1;
    return 0;
}

static int names_main(void *arg)
{
    (void)arg;
    stub st = {0};
    corio_task *stt = stub_start(&st);
    corio_addr *v;
    ssize_t n;

    /* /etc/hosts */
    n = corio_dns_resolve(&v, "v4.hosts.test", 8080, NULL);
    CHECK_EQ(n, 1);
    CHECK(has(v, n, "127.0.0.1", 8080));
    corio_dns_free(v);
    n = corio_dns_resolve(&v, "v6.hosts.test", 1, NULL);
    CHECK_EQ(n, 1);
    CHECK(has(v, n, "::1", 1));
    corio_dns_free(v);
    n = corio_dns_resolve(&v, "both.hosts.test", 2, NULL);
    CHECK_EQ(n, 2);
    CHECK(has(v, n, "::1", 2) && has(v, n, "127.0.0.1", 2));
    corio_dns_free(v);
    corio_dns_opts o4 = {.family = AF_INET}, udp = {.socktype = SOCK_DGRAM};
    n = corio_dns_resolve(&v, "both.hosts.test", 3, &o4);
    CHECK_EQ(n, 1);
    CHECK(has(v, n, "127.0.0.1", 3));
    corio_dns_free(v);
    n = corio_dns_resolve(&v, "v4.hosts.test", 53, &udp);
    CHECK_EQ(n, 1);
    corio_dns_free(v);
    int q0 = st.queries;
    CHECK_EQ(q0, 0); /* all of that came from the file */

    /* the stub server */
    n = corio_dns_resolve(&v, "v4.stub.test", 80, NULL);
    CHECK_EQ(n, 1);
    CHECK(has(v, n, "127.0.0.1", 80));
    corio_dns_free(v);
    CHECK(st.queries > q0);
    n = corio_dns_resolve(&v, "v6.stub.test", 80, NULL);
    CHECK_EQ(n, 1);
    CHECK(has(v, n, "::1", 80));
    corio_dns_free(v);
    n = corio_dns_resolve(&v, "both.stub.test", 80, NULL);
    CHECK_EQ(n, 2);
    corio_dns_free(v);
    n = corio_dns_resolve(&v, "many.stub.test", 80, NULL); /* duplicates go */
    CHECK_EQ(n, 3);
    CHECK(has(v, n, "127.0.0.1", 80) && has(v, n, "127.0.0.2", 80) &&
          has(v, n, "::1", 80));
    corio_dns_free(v);
    corio_dns_opts o6 = {.family = AF_INET6};
    CHECK_EQ(corio_dns_resolve(&v, "v4.stub.test", 80, &o6), CORIO_ENOHOST);
    CHECK_EQ(corio_dns_resolve(&v, "nx.stub.test", 80, NULL), CORIO_ENOHOST);
    CHECK(v == NULL);
    CHECK_EQ(corio_dns_resolve(&v, "fail.stub.test", 80, NULL), CORIO_EDNS);
    CHECK(v == NULL);

    /* Many lookups at once share the pool. */
    stub_stop(&st, stt);
    return 0;
}

TEST(dns, hosts_file_and_stub_server)
{
    if (net_private_resolver(hosts_text, 1) < 0)
        return;
    CHECK_EQ(tst_run(names_main, NULL), 0);
    tst_leak_check();
}

typedef struct par {
    const char *name;
    ssize_t n;
} par;

static int par_resolve(void *arg)
{
    par *p = arg;
    corio_addr *v;
    p->n = corio_dns_resolve(&v, p->name, 1, NULL);
    if (p->n > 0)
        corio_dns_free(v);
    return 0;
}

static int parallel_main(void *arg)
{
    (void)arg;
    stub st = {0};
    corio_task *stt = stub_start(&st);
    enum { N = 24 };
    par p[N];
    corio_task *t[N];
    static const char *names[] = {"v4.stub.test", "both.stub.test",
                                  "nx.stub.test", "v6.hosts.test"};
    static const ssize_t want[] = {1, 2, CORIO_ENOHOST, 1};
    for (int i = 0; i < N; i++) {
        p[i].name = names[i % 4];
        CHECK_EQ(corio_task_spawn(&t[i], par_resolve, &p[i]), 0);
    }
    CHECK_EQ(corio_gather(t, N, NULL), 0);
    for (int i = 0; i < N; i++)
        CHECK_EQ(p[i].n, want[i % 4]);
    stub_stop(&st, stt);
    return 0;
}

TEST(dns, parallel_lookups)
{
    if (net_private_resolver(hosts_text, 1) < 0)
        return;
    CHECK_EQ(tst_run(parallel_main, NULL), 0);
}

/* Connecting by name: the resolver gives ::1 first (RFC 6724: loopback
 * IPv6 before IPv4), which is blackholed or refusing; IPv4 wins. */
typedef struct byname {
    const char *name;
    int blackhole;
} byname;

static int byname_acceptor(void *arg)
{
    corio_listener *l = arg;
    corio_stream *s;
    int rc = corio_listener_accept(l, &s, NULL);
    if (rc == 0) {
        rc = net_echo_lines(s);
        corio_stream_close(s);
    }
    return rc < 0 ? rc : 0;
}

static int byname_main(void *arg)
{
    byname *b = arg;
    stub st = {0};
    corio_task *stt = stub_start(&st);
    net_hold h = {0};
    corio_listener *l;
    CHECK_EQ(corio_tcp_listen(&l, "127.0.0.1", 0, NULL), 0);
    corio_addr la, a6;
    corio_listener_addr(l, &la);
    int port = corio_addr_port(&la);
    if (b->blackhole)
        net_blackhole(&h, "::1", port, &a6);
    else
        net_refuser(&h, "::1", port, &a6);
    corio_addr *v;
    ssize_t n = corio_dns_resolve(&v, b->name, port, NULL);
    CHECK_EQ(n, 2);
    int v6_first = v[0].u.sa.sa_family == AF_INET6;
    corio_dns_free(v);

    corio_task *acc;
    CHECK_EQ(corio_task_spawn(&acc, byname_acceptor, l), 0);
    corio_stream *s;
    int64_t t0 = corio_now();
    CHECK_EQ(corio_tcp_connect(&s, b->name, port), 0);
    CHECK_EQ(corio_now() - t0, b->blackhole && v6_first ? 250 * CORIO_MS : 0);
    char buf[32];
    CHECK_EQ(net_ask(s, "by name\n", buf, sizeof buf), 0);
    CHECK(!strcmp(buf, "by name\n"));
    corio_stream_close(s);
    CHECK_EQ(corio_task_join(acc, NULL), 0);
    corio_listener_close(l);
    net_hold_close(&h);

    CHECK_EQ(corio_tcp_connect(&s, "nx.stub.test", port), CORIO_ENOHOST);
    CHECK(s == NULL);
    stub_stop(&st, stt);
    return 0;
}

TEST(dns, connect_by_name_hosts_blackholed_v6)
{
    if (net_private_resolver(hosts_text, 1) < 0)
        return;
    byname b = {"both.hosts.test", 1};
    CHECK_EQ(tst_run(byname_main, &b), 0);
}

TEST(dns, connect_by_name_stub_refused_v6)
{
    if (net_private_resolver(hosts_text, 1) < 0)
        return;
    byname b = {"both.stub.test", 0};
    CHECK_EQ(tst_run(byname_main, &b), 0);
}

static int listen_name_main(void *arg)
{
    (void)arg;
    corio_listener *l;
    CHECK_EQ(corio_tcp_listen(&l, "v4.hosts.test", 0, NULL), 0);
    corio_addr a;
    corio_listener_addr(l, &a);
    CHECK_EQ(a.u.sa.sa_family, AF_INET);
    corio_listener_close(l);
    CHECK_EQ(corio_tcp_listen(&l, "nx.stub.test", 0, NULL),
             CORIO_EDNS); /* no server */
    CHECK(l == NULL);
    return 0;
}

TEST(dns, listen_by_name)
{
    if (net_private_resolver(hosts_text, 1) < 0)
        return;
    CHECK_EQ(tst_run(listen_name_main, NULL), 0);
}

/* ---- cancellation ----------------------------------------------------------
 */

typedef struct slow {
    int rc;
    int64_t took;
} slow;

static int slow_lookup(void *arg)
{
    slow *s = arg;
    corio_addr *v;
    int64_t t0 = tst_real_ns();
    s->rc = (int)corio_dns_resolve(&v, "slow.stub.test", 80, NULL);
    s->took = tst_real_ns() - t0;
    return 0;
}

static int slow_main(void *arg)
{
    (void)arg;
    stub st = {0};
    corio_task *stt = stub_start(&st);
    /* A timeout scope... */
    slow a;
    CHECK_EQ(corio_timeout_begin(100 * CORIO_MS), 0);
    slow_lookup(&a);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(a.rc, -ETIMEDOUT);
    CHECK(a.took < 600 * CORIO_MS);
    /* ... and a cancellation from another task. */
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, slow_lookup, &a), 0);
    CHECK_EQ(corio_sleep(50 * CORIO_MS), 0);
    int64_t t0 = tst_real_ns();
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK(tst_real_ns() - t0 < 100 * CORIO_MS);
    CHECK_EQ(a.rc, -ECANCELED);
    CHECK(st.queries >= 2);
    stub_stop(&st, stt);
    return 0;
}

TEST(dns, cancel_returns_at_once_while_server_is_silent)
{
    /* The resolver would wait 10 s per try: the lookups stay stuck in
     * their threads, and neither the task nor the end of the run waits. */
    if (net_private_resolver(hosts_text, 10) < 0)
        return;
    corio_options o = {0}; /* the real clock */
    int64_t t0 = tst_real_ns();
    CHECK_EQ(tst_run_ex(&o, slow_main, NULL), 0);
    CHECK(tst_real_ns() - t0 < 2 * CORIO_SECOND);
}

/* A fake getaddrinfo held on a semaphore: the thread is "stuck" until the
 * test lets it go. */
static sem_t gate;
static atomic_int fake_started, fake_returned;

static int held_gai(const char *n, const char *s, const struct addrinfo *h,
                    struct addrinfo **r)
{
    bool held = strcmp(n, "held.test") == 0; /* other names answer at once */
    atomic_fetch_add(&fake_started, 1);
    while (held && sem_wait(&gate) < 0)
        ;
    struct addrinfo hh = *h;
    hh.ai_flags |= AI_NUMERICHOST;
    int rc = getaddrinfo("127.0.0.1", s, &hh, r); /* a real result to free */
    atomic_fetch_add(&fake_returned, 1);
    return rc;
}

typedef struct held {
    int rc;
    int done;
    const char *host; /* NULL: "held.test", which held_gai holds */
} held;

static int held_lookup(void *arg)
{
    held *h = arg;
    corio_addr *v;
    ssize_t n =
        corio_dns_resolve(&v, h->host ? h->host : "held.test", 80, NULL);
    if (n > 0)
        corio_dns_free(v);
    h->rc = (int)n;
    h->done = 1;
    return 0;
}

static void wait_real(atomic_int *v, int want)
{
    for (int i = 0; i < 2000 && atomic_load(v) < want; i++)
        usleep(1000);
    CHECK_EQ(atomic_load(v), want);
}

static int abandon_main(void *arg)
{
    (void)arg;
    /* Four lookups occupy the DNS pool's four threads; a fifth queues. */
    enum { N = 5 };
    held h[N] = {{0}};
    corio_task *t[N];
    for (int i = 0; i < N; i++)
        CHECK_EQ(corio_task_spawn(&t[i], held_lookup, &h[i]), 0);
    CHECK_EQ(corio_yield(), 0);
    wait_real(&fake_started, 4);
    /* Cancel the queued one, then three running ones: each returns at once
     * though its thread is still held.  (The queued one first: a running
     * lookup abandoned lends its thread, and a new thread would take the
     * queued job.) */
    for (int i = N - 1; i >= 1; i--)
        corio_task_cancel(t[i]);
    for (int i = 1; i < N; i++) {
        CHECK_EQ(corio_task_join(t[i], NULL), 0);
        CHECK_EQ(h[i].rc, -ECANCELED);
    }
    CHECK_EQ(atomic_load(&fake_returned), 0);
    /* Let the threads go: the one still awaited delivers; the abandoned
     * ones free their results; the queued one is never looked up. */
    for (int i = 0; i < N; i++)
        sem_post(&gate);
    CHECK_EQ(corio_task_join(t[0], NULL), 0);
    CHECK_EQ(h[0].rc, 1);
    wait_real(&fake_returned, 4);
    usleep(50000); /* the fifth job runs and skips the lookup */
    CHECK_EQ(atomic_load(&fake_started), 4);
    return 0;
}

TEST(dns, abandoned_lookups_are_freed_by_their_thread)
{
    sem_init(&gate, 0, 0);
    corio__sys.getaddrinfo = held_gai;
    CHECK_EQ(tst_run(abandon_main, NULL), 0);
    usleep(20000); /* the threads finish freeing */
    tst_leak_check();
}

/* Lookups abandoned while stuck do not starve the next ones: each lends
 * its thread away, and a fresh lookup gets a new thread while all four of
 * the pool's own are still held. */
static int lend_main(void *arg)
{
    (void)arg;
    enum { N = 4 };
    held h[N] = {{0}}, fresh = {.host = "fresh.test"};
    corio_task *t[N], *f;
    for (int i = 0; i < N; i++)
        CHECK_EQ(corio_task_spawn(&t[i], held_lookup, &h[i]), 0);
    CHECK_EQ(corio_yield(), 0);
    wait_real(&fake_started, N);
    for (int i = 0; i < N; i++) {
        corio_task_cancel(t[i]);
        CHECK_EQ(corio_task_join(t[i], NULL), 0);
        CHECK_EQ(h[i].rc, -ECANCELED);
    }
    CHECK_EQ(corio_task_spawn(&f, held_lookup, &fresh), 0);
    CHECK_EQ(corio_task_join(f, NULL), 0);
    CHECK_EQ(fresh.rc, 1);
    CHECK_EQ(atomic_load(&fake_returned), 1); /* only the fresh one */
    for (int i = 0; i < N; i++)
        sem_post(&gate);
    wait_real(&fake_returned, N + 1);
    return 0;
}

TEST(dns, abandoned_stuck_lookups_do_not_starve_the_next)
{
    sem_init(&gate, 0, 0);
    corio__sys.getaddrinfo = held_gai;
    CHECK_EQ(tst_run(lend_main, NULL), 0);
    usleep(20000); /* the threads finish freeing */
    tst_leak_check();
}

/* The loop can end while a lookup it abandoned is still held. */
static int end_main(void *arg)
{
    (void)arg;
    held h = {0};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, held_lookup, &h), 0);
    CHECK_EQ(corio_yield(), 0);
    wait_real(&fake_started, 1);
    return 0; /* the run cancels t, which leaves at once */
}

TEST(dns, run_ends_while_a_lookup_is_stuck)
{
    sem_init(&gate, 0, 0);
    corio__sys.getaddrinfo = held_gai;
    CHECK_EQ(tst_run(end_main, NULL), 0);
    CHECK_EQ(atomic_load(&fake_returned), 0);
    sem_post(&gate);
    wait_real(&fake_returned, 1);
    usleep(20000);
    tst_leak_check();
}

static int fail_gai(const char *n, const char *s, const struct addrinfo *h,
                    struct addrinfo **r)
{
    (void)n, (void)s, (void)h, (void)r;
    return EAI_MEMORY;
}

static int faults_main(void *arg)
{
    (void)arg;
    corio_addr *v;
    corio__sys.getaddrinfo = fail_gai;
    CHECK_EQ(corio_dns_resolve(&v, "x.test", 1, NULL), -ENOMEM);
    corio__sys.getaddrinfo = getaddrinfo;
    /* Every allocation and call on the path failed in turn (the name is
     * in the private hosts file): an error or success, never a leak. */
    for (long k = 1;; k++) {
        corio__fault_arm(k, ENOMEM);
        ssize_t n = corio_dns_resolve(&v, "v4.hosts.test", 1, NULL);
        int fired = corio__fault_fired();
        corio__fault_disarm();
        if (n > 0) {
            CHECK_EQ(n, 1);
            corio_dns_free(v);
        } else {
            CHECK(n == -ENOMEM || n == -EAGAIN);
            CHECK(fired);
        }
        if (!fired)
            break;
        CHECK(k < 50);
    }
    return 0;
}

TEST(dns, faults)
{
    if (net_private_resolver(hosts_text, 1) < 0)
        return;
    CHECK_EQ(tst_run(faults_main, NULL), 0);
    usleep(20000);
    tst_leak_check();
}

/* pg/connect.c — making a connection: the conninfo parsed by libpq
 * (PQconninfoParse), host names resolved with corio's DNS, and a host's
 * addresses raced by happy eyeballs (RFC 8305).
 *
 *   host=h1,h2,...  the hosts in order, as libpq's multi-host failover: the
 *                   next host is tried only when every address of the one
 *                   before has failed.
 *   one host name   its addresses in the resolver's order (RFC 6724), each
 *                   attempt a libpq connection to that address only
 *                   (hostaddr=ip, host kept for TLS verification and
 *                   .pgpass).  An attempt runs alone for 250 ms (RFC 8305's
 *                   Connection Attempt Delay) before the next one starts
 *                   beside it; a failed attempt starts the next at once.
 *                   The first attempt that is through — TLS, authentication
 *                   and target_session_attrs included — wins; the others
 *                   are cancelled and closed.
 *   hostaddr given, a Unix socket directory, no host: one libpq connection
 *                   with the options as written.
 *
 * Each attempt is PQconnectStartParams (numeric address: libpq never calls
 * the blocking getaddrinfo) and PQconnectPoll driven on the loop. */
#include "pg/pg_int.h"

#include <arpa/inet.h>
#include <sys/epoll.h>

#define STAGGER (250 * CORIO_MS)

/* libpq's keyword/value arrays: every option of the conninfo but host,
 * hostaddr and port, then those three for the attempt at hand. */
typedef struct kv {
    const char **keys, **vals;
    int n, base;
} kv;

static void kv_free(kv *a)
{
    free(a->keys);
    free(a->vals);
}

/* Set host / hostaddr / port (NULL: left out) after the base options. */
static void kv_target(kv *a, const char *host, const char *hostaddr,
                      const char *port)
{
    const char *k[3] = {"host", "hostaddr", "port"};
    const char *v[3] = {host, hostaddr, port};
    a->n = a->base;
    for (int i = 0; i < 3; i++) {
        if (!v[i])
            continue;
        a->keys[a->n] = k[i];
        a->vals[a->n++] = v[i];
    }
    a->keys[a->n] = a->vals[a->n] = NULL;
}

static void copy_err(const corio_pg_opts *o, const char *msg)
{
    if (o && o->detail) {
        char *t = o->detail->text;
        snprintf(t, sizeof o->detail->text, "%s", msg ? msg : "");
        size_t l = strlen(t);
        while (l && t[l - 1] == '\n')
            t[--l] = 0;
    }
}

/* Drive a started connection until it is through: 0, CORIO_EPGCONN (the
 * message is libpq's), or the interruption.  pq stays the caller's.
 * PQconnectPoll may close the socket and open another (TLS retry, ...):
 * PQsocket is read anew at every step, and corio forgets the number before
 * libpq can close it. */
static int poll_conn(PGconn *pq)
{
    if (PQstatus(pq) == CONNECTION_BAD)
        return CORIO_EPGCONN;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED)
            return CORIO_EPGCONN;
        int fd = PQsocket(pq);
        int w = corio_fd_wait(fd, st == PGRES_POLLING_READING ? CORIO_READABLE
                                                              : CORIO_WRITABLE);
        corio_fd_forget(fd);
        if (w < 0)
            return w;
        st = PQconnectPoll(pq);
    }
    return 0;
}

/* One libpq connection with host / hostaddr / port as given. */
static int dial_as_is(PGconn **out, kv *a, const char *host,
                      const char *hostaddr, const char *port,
                      const corio_pg_opts *o)
{
    kv_target(a, host, hostaddr, port);
    PGconn *pq = PQconnectStartParams(a->keys, a->vals, 0);
    if (!pq)
        return -ENOMEM;
    int rc = poll_conn(pq);
    if (rc < 0) {
        copy_err(o,
                 rc == CORIO_EPGCONN ? PQerrorMessage(pq) : corio_strerror(rc));
        PQfinish(pq);
        return rc;
    }
    *out = pq;
    return 0;
}

/* ---- happy eyeballs ------------------------------------------------------ */

typedef struct attempt {
    PGconn *pq;      /* started by the dialer; freed by it */
    int rc;          /* 1 while running, 0 through, < 0 failed */
    corio_sem *done; /* released when the attempt ends */
} attempt;

static int attempt_main(void *arg)
{
    attempt *a = arg;
    a->rc = poll_conn(a->pq);
    corio_sem_release(a->done);
    return 0; /* never a group failure: the outcome is in the slot */
}

/* Start attempt v[i] (its PGconn) on addresses[i]. */
static int attempt_start(attempt *v, int i, kv *a, const char *host,
                         char (*ips)[INET6_ADDRSTRLEN], const char *port)
{
    kv_target(a, host, ips[i], port);
    v[i].pq = PQconnectStartParams(a->keys, a->vals, 0);
    v[i].rc = 1;
    return v[i].pq ? 0 : -ENOMEM;
}

/* Race n addresses; 0 and the winner in *out, or the first attempt's
 * error (its message in o->detail), or the interruption. */
static int race(PGconn **out, kv *a, const char *host,
                char (*ips)[INET6_ADDRSTRLEN], int n, const char *port,
                const corio_pg_opts *o)
{
    attempt *v = pg_calloc((size_t)n, sizeof *v);
    if (!v)
        return -ENOMEM;
    corio_sem done;
    corio_sem_init(&done, 0);
    corio_group *g;
    int rc = corio_group_new(&g);
    int started = 0, win = -1;
    while (rc == 0 && win < 0) {
        if (started < n) {
            v[started].done = &done;
            if ((rc = attempt_start(v, started, a, host, ips, port)) < 0 ||
                (rc = corio_group_spawn(g, attempt_main, &v[started])) < 0) {
                started += v[started].pq != NULL;
                break;
            }
            started++;
        }
        /* Wait for an attempt to end, at most one stagger while another
         * address is left to start. */
        bool timed = false;
        int w;
        if (started < n && corio_timeout_begin(STAGGER) == 0) {
            w = corio_sem_acquire(&done);
            timed = corio_timeout_end() == -ETIMEDOUT && w == -ETIMEDOUT;
        } else {
            w = corio_sem_acquire(&done);
        }
        if (w < 0 && !timed) {
            rc = w; /* the caller's cancel or deadline */
            break;
        }
        int failed = 0;
        for (int i = 0; i < started && win < 0; i++) {
            if (v[i].rc == 0)
                win = i;
            failed += v[i].rc < 0;
        }
        if (win < 0 && failed == n)
            rc = v[0].rc;
    }
    if (g) {
        corio_group_cancel(g);
        CORIO_IGNORE(corio_group_wait(g)); /* cancelled: drains at once */
    }
    corio_sem_destroy(&done);
    if (rc == CORIO_EPGCONN)
        copy_err(o, PQerrorMessage(v[0].pq));
    for (int i = 0; i < started; i++)
        if (i != win)
            PQfinish(v[i].pq);
    *out = win >= 0 ? v[win].pq : NULL;
    free(v);
    return win >= 0 ? 0 : rc;
}

/* One host name: resolved, then its addresses raced. */
static int dial_name(PGconn **out, kv *a, const char *host, const char *port,
                     const corio_pg_opts *o)
{
    corio_addr *addrs = NULL;
    ssize_t n = corio_dns_resolve(&addrs, host, port ? atoi(port) : 5432, NULL);
    if (n < 0) {
        copy_err(o, corio_strerror((int)n));
        return (int)n;
    }
    char(*ips)[INET6_ADDRSTRLEN] = pg_calloc((size_t)n, sizeof *ips);
    int rc = ips ? 0 : -ENOMEM;
    for (ssize_t k = 0; rc == 0 && k < n; k++) {
        const corio_addr *ad = &addrs[k];
        const void *src = ad->u.sa.sa_family == AF_INET6
                              ? (const void *)&ad->u.in6.sin6_addr
                              : (const void *)&ad->u.in4.sin_addr;
        if (!inet_ntop(ad->u.sa.sa_family, src, ips[k], sizeof ips[k]))
            rc = -EINVAL;
    }
    corio_dns_free(addrs);
    if (rc == 0) /* one address (a numeric host): no race, no task */
        rc = n == 1 ? dial_as_is(out, a, host, ips[0], port, o)
                    : race(out, a, host, ips, (int)n, port, o);
    free(ips);
    return rc;
}

/* The next element of a comma-separated list (copied into buf, at most
 * cap - 1 bytes); *list moves past it.  NULL at the end. */
static const char *next_item(const char **list, char *buf, size_t cap)
{
    if (!*list)
        return NULL;
    const char *comma = strchr(*list, ',');
    size_t l = comma ? (size_t)(comma - *list) : strlen(*list);
    snprintf(buf, cap, "%.*s", (int)(l < cap ? l : cap - 1), *list);
    *list = comma ? comma + 1 : NULL;
    return buf;
}

/* Every host of the list in turn (ports: one for all, or one each); the
 * first error is kept. */
static int dial_hosts(PGconn **out, kv *a, const char *hosts, const char *ports,
                      const corio_pg_opts *o)
{
    bool one_port = ports && !strchr(ports, ',');
    const char *hl = hosts, *pl = ports;
    char hbuf[256], pbuf[16];
    int first = 0;
    const char *h;
    corio_error_detail keep = {""};
    while ((h = next_item(&hl, hbuf, sizeof hbuf))) {
        const char *p = one_port ? ports : next_item(&pl, pbuf, sizeof pbuf);
        if (p && !*p)
            p = NULL;
        int rc = !*h || h[0] == '/' || h[0] == '@'
                     ? dial_as_is(out, a, h, NULL, p, o)
                     : dial_name(out, a, h, p, o);
        if (rc == 0)
            return 0;
        if (rc == -ECANCELED || rc == -ETIMEDOUT || rc == -ENOMEM)
            return rc;
        if (!first) {
            first = rc;
            if (o && o->detail)
                keep = *o->detail;
        }
    }
    if (o && o->detail)
        *o->detail = keep;
    return first ? first : -EINVAL;
}

/* ---- the connection ------------------------------------------------------ */

/* Notices (NOTICE, WARNING) are not errors; libpq's default prints them on
 * stderr, which a library must not do. */
static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static int setup_conn(corio_pg *c, const corio_pg_opts *o)
{
    PQsetNoticeProcessor(c->pq, quiet, NULL);
    c->sock = PQsocket(c->pq);
    if (PQsetnonblocking(c->pq, 1) != 0 || !PQenterPipelineMode(c->pq))
        return CORIO_EPGCONN;
    c->in_pipeline = true;
    c->epfd = corio__sys.epoll_create1(EPOLL_CLOEXEC);
    if (c->epfd < 0)
        return -errno;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = c->sock};
    if (corio__sys.epoll_ctl(c->epfd, EPOLL_CTL_ADD, c->sock, &ev) < 0)
        return -errno;
    c->ssl = PQsslInUse(c->pq) ? PQsslStruct(c->pq, "OpenSSL") : NULL;
    c->stmt_max =
        o && o->stmt_cache ? (o->stmt_cache < 0 ? 0 : o->stmt_cache) : 100;
    c->cancel_timeout =
        o && o->cancel_timeout > 0 ? o->cancel_timeout : 5 * CORIO_SECOND;
    c->born = c->idle_since = corio_now();
    corio__pg_set_error(c, NULL, "");
    return 0;
}

/* The base options of a (host, hostaddr, port set aside) with room for
 * those three. */
static int parse(kv *a, PQconninfoOption *opts, const char **host,
                 const char **hostaddr, const char **port)
{
    int n = 0;
    for (PQconninfoOption *p = opts; p->keyword; p++)
        n++;
    a->keys = pg_calloc((size_t)n + 4, sizeof *a->keys);
    a->vals = pg_calloc((size_t)n + 4, sizeof *a->vals);
    if (!a->keys || !a->vals)
        return -ENOMEM;
    for (PQconninfoOption *p = opts; p->keyword; p++) {
        if (!p->val)
            continue;
        if (!strcmp(p->keyword, "host"))
            *host = p->val;
        else if (!strcmp(p->keyword, "hostaddr"))
            *hostaddr = p->val;
        else if (!strcmp(p->keyword, "port"))
            *port = p->val;
        else {
            a->keys[a->base] = p->keyword;
            a->vals[a->base++] = p->val;
        }
    }
    if (!*host && !*hostaddr)
        *host = getenv("PGHOST");
    if (!*port)
        *port = getenv("PGPORT");
    return 0;
}

int corio_pg_connect_ex(corio_pg **out, const char *conninfo,
                        const corio_pg_opts *o)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!conninfo)
        return -EINVAL;
    if (!corio_task_current())
        return -EPERM;
    char *perr = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
    if (!opts) {
        copy_err(o, perr ? perr : "out of memory");
        int rc = perr ? -EINVAL : -ENOMEM;
        PQfreemem(perr);
        return rc;
    }
    kv a = {0};
    const char *host = NULL, *hostaddr = NULL, *port = NULL;
    PGconn *pq = NULL;
    int rc = parse(&a, opts, &host, &hostaddr, &port);
    if (rc == 0)
        rc = host && !hostaddr ? dial_hosts(&pq, &a, host, port, o)
                               : dial_as_is(&pq, &a, host, hostaddr, port, o);
    kv_free(&a);
    PQconninfoFree(opts);
    if (rc < 0)
        return rc;
    corio_pg *c = pg_calloc(1, sizeof *c);
    if (!c) {
        PQfinish(pq);
        return -ENOMEM;
    }
    c->pq = pq;
    c->epfd = -1;
    rc = setup_conn(c, o);
    if (rc < 0) {
        copy_err(o, PQerrorMessage(pq));
        corio_pg_close(c);
        return rc;
    }
    *out = c;
    return 0;
}

int corio_pg_connect(corio_pg **out, const char *conninfo)
{
    return corio_pg_connect_ex(out, conninfo, NULL);
}

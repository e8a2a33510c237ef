/* net/dns.c — corio_dns_resolve: getaddrinfo on the DNS thread pool, and
 * how a lookup is abandoned without waiting for it.
 *
 * A lookup is a request on the heap, shared by the waiting task and the
 * pool thread running getaddrinfo.  It is queued with corio__pool_submit
 * (a detached job: no task is bound to it), so the task is free to leave
 * at any time.  The request's mutex orders the two ends:
 *
 *   thread                           task (loop thread)
 *   getaddrinfo(...)                 parked; jobs_pending counts it, so the
 *   lock; done = 1; gone = abandoned     loop neither ends nor calls it
 *   unlock                               deadlocked
 *   gone ? free everything           interrupted: lock; if !done:
 *        : post to the loop              abandoned = 1, unlock, return
 *                                        -ECANCELED at once (the thread
 *                                        frees the request and result);
 *                                    if done: the post is on its way;
 *                                        stay parked for it (a moment)
 *
 * Whoever comes second frees the request, so nothing leaks and nothing is
 * touched after it is freed: the thread never touches the request after
 * posting it, and the post node lives in the request, which the task frees
 * only once the post has run.  A request abandoned while still queued is
 * not looked up at all; one abandoned while its thread is inside
 * getaddrinfo lends that thread away (corio__pool_lend), so the lookups
 * queued behind it get a new thread instead of waiting out a silent
 * server. */
#include "core/post.h"
#include "io/pool.h"
#include "net/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dns_req {
    corio__post post; /* first: the loop hands back &post */
    pthread_mutex_t lock;
    bool running;   /* the thread is inside getaddrinfo */
    bool done;      /* the thread is finished with getaddrinfo */
    bool abandoned; /* the task left; the thread frees everything */
    bool lent;      /* abandoned while running: its thread was lent */
    bool woken;     /* the post ran (loop thread only) */
    corio__loop *loop;
    corio_task *task;
    struct addrinfo hints;
    struct addrinfo *res;
    int eai, err;
    char service[8];
    char host[]; /* copied */
} dns_req;

typedef struct dns_wait {
    corio__wait w; /* first: the scheduler hands back &w */
    dns_req *req;
    bool left; /* abandoned: req may be freed by now, never touch it */
} dns_wait;

int (*corio__dns_fake)(const char *host, int port, corio_addr *out);

int corio__dns_error(int eai, int err)
{
    switch (eai) {
    case 0:
        return 0;
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return CORIO_ENOHOST;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_SYSTEM:
        return err > 0 ? -err : CORIO_EDNS;
    case EAI_SERVICE:
    case EAI_FAMILY:
    case EAI_SOCKTYPE:
    case EAI_BADFLAGS:
        return -EINVAL;
    default: /* EAI_AGAIN, EAI_FAIL, anything newer */
        return CORIO_EDNS;
    }
}

static void req_free(dns_req *r)
{
    if (r->res)
        freeaddrinfo(r->res);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* On a DNS pool thread. */
static void lookup(void *arg)
{
    dns_req *r = arg;
    pthread_mutex_lock(&r->lock);
    bool skip = r->abandoned;
    r->running = !skip;
    pthread_mutex_unlock(&r->lock);
    if (!skip) {
        r->eai =
            corio__sys.getaddrinfo(r->host, r->service, &r->hints, &r->res);
        r->err = errno;
    }
    pthread_mutex_lock(&r->lock);
    r->done = true;
    bool gone = r->abandoned, lent = r->lent;
    pthread_mutex_unlock(&r->lock);
    if (lent)
        corio__pool_unlend(CORIO__POOL_DNS);
    if (gone)
        req_free(r);
    else
        corio__post_send(r->loop, &r->post); /* r is the task's again */
}

/* On the loop thread: the lookup is back. */
static void lookup_done(corio__post *p)
{
    dns_req *r = (dns_req *)p;
    r->loop->jobs_pending--;
    r->woken = true;
    corio__wake(r->task, 0);
}

/* Leave the lookup to its thread unless it is already done.  True if left. */
static bool abandon(dns_req *r)
{
    pthread_mutex_lock(&r->lock);
    bool done = r->done;
    if (!done) {
        r->abandoned = true;
        if (r->running)
            r->lent = corio__pool_lend(CORIO__POOL_DNS);
    }
    pthread_mutex_unlock(&r->lock);
    if (!done)
        r->loop->jobs_pending--;
    return !done;
}

static bool dns_cancel(corio__wait *w, corio_task *t, int code)
{
    (void)t;
    (void)code;
    /* Not abandoned: the result is being posted; the task stays parked
     * until it arrives and then returns it. */
    dns_wait *dw = (dns_wait *)w;
    dw->left = abandon(dw->req);
    return dw->left;
}

/* Copy the IP addresses of the result, without duplicates. */
static ssize_t collect(corio_addr **out, const struct addrinfo *res)
{
    size_t n = 0, k = 0;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next)
        n++;
    corio_addr *v = corio__sys.malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof v[k].u)
            continue;
        memset(&v[k], 0, sizeof v[k]);
        memcpy(&v[k].u, ai->ai_addr, ai->ai_addrlen);
        v[k].len = ai->ai_addrlen;
        bool dup = false;
        for (size_t i = 0; i < k && !dup; i++)
            dup = corio__addr_equal(&v[i], &v[k]);
        if (!dup)
            k++;
    }
    if (!k) {
        free(v);
        return CORIO_ENOHOST;
    }
    *out = v;
    return (ssize_t)k;
}

ssize_t corio_dns_resolve(corio_addr **out, const char *host, int port,
                          const corio_dns_opts *o)
{
    corio_task *self = corio__self();
    int family = o ? o->family : 0, socktype = o ? o->socktype : 0;
    int64_t none = INT64_MAX;
    corio_addr num;

    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!self)
        return -EPERM;
    if (!host || !*host || port < 0 || port > 65535 ||
        (family != AF_UNSPEC && family != AF_INET && family != AF_INET6) ||
        (socktype && socktype != SOCK_STREAM && socktype != SOCK_DGRAM))
        return -EINVAL;

    /* A numeric address, or a test's fake name, needs no thread. */
    if ((corio__dns_fake && corio__dns_fake(host, port, &num)) ||
        corio__addr_numeric(&num, host, port) == 0) {
        if (family && num.u.sa.sa_family != family)
            return CORIO_ENOHOST;
        corio_addr *v = corio__sys.malloc(sizeof *v);
        if (!v)
            return -ENOMEM;
        *v = num;
        *out = v;
        return 1;
    }

    int rc = corio__interrupt_code(self, &none);
    if (rc < 0)
        return rc;
    size_t hl = strlen(host);
    dns_req *r = corio__sys.calloc(1, sizeof *r + hl + 1);
    if (!r)
        return -ENOMEM;
    memcpy(r->host, host, hl + 1);
    snprintf(r->service, sizeof r->service, "%d", port);
    r->hints.ai_family = family;
    r->hints.ai_socktype = socktype ? socktype : SOCK_STREAM;
    r->hints.ai_flags = AI_NUMERICSERV;
    r->post.fn = lookup_done;
    r->loop = self->loop;
    r->task = self;
    pthread_mutex_init(&r->lock, NULL);
    rc = corio__pool_submit(CORIO__POOL_DNS, lookup, r);
    if (rc < 0) {
        req_free(r);
        return rc;
    }
    self->loop->jobs_pending++;

    dns_wait dw = {{dns_cancel, "dns lookup", INT64_MAX}, r, false};
    rc = corio__park(&dw.w);
    if (dw.left)
        return rc < 0 ? rc : -ECANCELED; /* the thread frees r */
    if (!r->woken) {
        /* The park failed before sleeping: leave the lookup now. */
        if (abandon(r))
            return rc < 0 ? rc : -ECANCELED;
        /* Done but not yet posted: wait for the post, a moment away. */
        self->noint++;
        while (!r->woken)
            corio__park(&dw.w);
        self->noint--;
    }
    rc = corio__dns_error(r->eai, r->err);
    ssize_t n = rc < 0 ? rc : collect(out, r->res);
    req_free(r);
    return n;
}

void corio_dns_free(corio_addr *addrs)
{
    free(addrs);
}

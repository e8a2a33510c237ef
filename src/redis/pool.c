/* redis/pool.c — connections lent to one task at a time.
 *   slots    a FIFO semaphore of max_connections permits: holding one is
 *            the right to a connection (idle or new), so waiters are served
 *            in arrival order and acquire never fails for lack of room;
 *   idle     a stack (most recently used first: the least likely to have
 *            been dropped by the server);
 *   connect  with retries and backoff while the server refuses, e.g.
 *            during a restart;
 *   release  keeps only connections known to be quiet: no failure, no
 *            command in flight (an interrupted command's reply may still be
 *            coming, or a BLPOP may still be blocking), no pub/sub, no
 *            MULTI or WATCH left open. */
#include "redis/redis.h"

#include <stdlib.h>
#include <string.h>

struct corio_redis_pool {
    char *url;
    corio_redis_opts conn;
    size_t max;
    int64_t health_ns, retry_ns;
    corio_sem slots;
    corio_redis *idle;
    size_t open;
};

int corio_redis_pool_new(corio_redis_pool **out, const char *url,
                         const corio_redis_pool_opts *o)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    corio__redis_url u;
    int rc = corio__redis_url_parse(&u, url);
    if (rc < 0)
        return rc;
    corio__redis_url_free(&u);
    corio_redis_pool *p = corio__redis_calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->url = strdup(url);
    if (!p->url) {
        free(p);
        return -ENOMEM;
    }
    p->max = o && o->max_connections ? o->max_connections : 10;
    p->health_ns =
        o && o->health_check_ns ? o->health_check_ns : 30 * CORIO_SECOND;
    p->retry_ns = o && o->retry_ns ? o->retry_ns : 5 * CORIO_SECOND;
    if (o && o->conn)
        p->conn = *o->conn;
    corio_sem_init(&p->slots, (int64_t)p->max);
    *out = p;
    return 0;
}

void corio_redis_pool_free(corio_redis_pool *p)
{
    if (!p)
        return;
    while (p->idle) {
        corio_redis *c = p->idle;
        p->idle = c->pool_next;
        corio_redis_close(c);
    }
    corio_sem_destroy(&p->slots);
    free(p->url);
    free(p);
}

size_t corio_redis_pool_size(const corio_redis_pool *p)
{
    return p ? p->open : 0;
}

static bool retryable(int rc)
{
    return rc == -ECONNREFUSED || rc == -ECONNRESET || rc == -ENOENT ||
           rc == -EPIPE || rc == CORIO_EOF;
}

static void drop(corio_redis_pool *p, corio_redis *c)
{
    corio_redis_close(c);
    p->open--;
}

/* With a slot held: an idle connection that works, or a new one. */
static int get_conn(corio_redis_pool *p, corio_redis **out)
{
    while (p->idle) {
        corio_redis *c = p->idle;
        p->idle = c->pool_next;
        c->pool_next = NULL;
        if (c->err) {
            drop(p, c);
            continue;
        }
        if (p->health_ns >= 0 && corio_now() - c->idle_since > p->health_ns) {
            corio_redis_reply *r;
            int rc = corio_redis_command(c, &r, "PING");
            corio_redis_reply_free(r);
            if (rc < 0) {
                drop(p, c);
                if (rc == -ECANCELED || rc == -ETIMEDOUT)
                    return rc;
                continue;
            }
        }
        *out = c;
        return 0;
    }
    int64_t deadline = corio_now() + (p->retry_ns > 0 ? p->retry_ns : 0);
    int64_t backoff = 10 * CORIO_MS;
    for (;;) {
        int rc = corio_redis_connect_ex(out, p->url, &p->conn);
        if (rc == 0) {
            (*out)->exclusive = true; /* one user at a time: block in place */
            p->open++;
            return 0;
        }
        if (!retryable(rc) || p->retry_ns < 0 ||
            corio_now() + backoff > deadline)
            return rc;
        int s = corio_sleep(backoff);
        if (s < 0)
            return s;
        backoff = backoff * 2 > CORIO_SECOND ? CORIO_SECOND : backoff * 2;
    }
}

int corio_redis_pool_acquire(corio_redis_pool *p, corio_redis **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!p)
        return -EINVAL;
    int rc = corio_sem_acquire(&p->slots);
    if (rc < 0)
        return rc;
    rc = get_conn(p, out);
    if (rc < 0) {
        *out = NULL;
        corio_sem_release(&p->slots);
    }
    return rc;
}

void corio_redis_pool_release(corio_redis_pool *p, corio_redis *c)
{
    if (!p || !c)
        return;
    if (c->err || c->pubsub || c->nchannels || c->npatterns || c->nsent ||
        c->qhead || c->in_multi || c->watching) {
        drop(p, c);
    } else {
        c->idle_since = corio_now();
        c->pool_next = p->idle;
        p->idle = c;
    }
    corio_sem_release(&p->slots);
}

int corio_redis_pool_command(corio_redis_pool *p, corio_redis_reply **out,
                             const char *fmt, ...)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!p)
        return -EINVAL;
    char *cmd;
    va_list ap;
    va_start(ap, fmt);
    int n = corio__redis_format(&cmd, fmt, ap);
    va_end(ap);
    if (n < 0)
        return n;
    int rc = 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        corio_redis *c;
        rc = corio_redis_pool_acquire(p, &c);
        if (rc < 0)
            break;
        char *copy = corio__redis_malloc((size_t)n);
        if (!copy) {
            corio_redis_pool_release(p, c);
            rc = -ENOMEM;
            break;
        }
        memcpy(copy, cmd, (size_t)n);
        bool unsent;
        rc =
            corio__redis_submit(c, copy, (size_t)n, 1, REQ_PLAIN, out, &unsent);
        corio_redis_pool_release(p, c);
        if (rc == 0 && (*out)->type == CORIO_REDIS_ERROR)
            rc = CORIO_EREDIS;
        if (rc >= 0 || rc == CORIO_EREDIS || !unsent || rc == -ECANCELED ||
            rc == -ETIMEDOUT || rc == -ENOMEM)
            break;
    }
    free(cmd);
    return rc;
}

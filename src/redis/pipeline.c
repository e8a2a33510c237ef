/* redis/pipeline.c — explicit batches and MULTI/EXEC transactions: the
 * commands are formatted into one buffer and submitted as one request
 * expecting one reply each (two more for MULTI and EXEC), so the batch is
 * contiguous in the connection's stream even when other tasks share it. */
#include "redis/redis.h"

#include <stdlib.h>
#include <string.h>

struct corio_redis_pipeline {
    char *buf;
    size_t len, cap;
    size_t n;
    unsigned flags;
};

static const char multi[] = "*1\r\n$5\r\nMULTI\r\n";
static const char exec_[] = "*1\r\n$4\r\nEXEC\r\n";

int corio_redis_pipeline_new(corio_redis_pipeline **out, unsigned flags)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (flags & ~CORIO_REDIS_TRANSACTION)
        return -EINVAL;
    corio_redis_pipeline *p = corio__redis_calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->flags = flags;
    *out = p;
    return 0;
}

void corio_redis_pipeline_free(corio_redis_pipeline *p)
{
    if (!p)
        return;
    free(p->buf);
    free(p);
}

size_t corio_redis_pipeline_count(const corio_redis_pipeline *p)
{
    return p ? p->n : 0;
}

static int add(corio_redis_pipeline *p, char *cmd, int n)
{
    if (n < 0)
        return n;
    if (corio__redis_is_pubsub(cmd, (size_t)n)) {
        free(cmd);
        return -EINVAL;
    }
    if (p->len + (size_t)n > p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        while (cap < p->len + (size_t)n)
            cap *= 2;
        char *b = corio__redis_realloc(p->buf, cap);
        if (!b) {
            free(cmd);
            return -ENOMEM;
        }
        p->buf = b;
        p->cap = cap;
    }
    memcpy(p->buf + p->len, cmd, (size_t)n);
    p->len += (size_t)n;
    p->n++;
    free(cmd);
    return 0;
}

int corio_redis_pipeline_append(corio_redis_pipeline *p, const char *fmt, ...)
{
    if (!p)
        return -EINVAL;
    char *cmd;
    va_list ap;
    va_start(ap, fmt);
    int n = corio__redis_format(&cmd, fmt, ap);
    va_end(ap);
    return add(p, cmd, n);
}

int corio_redis_pipeline_append_argv(corio_redis_pipeline *p, int argc,
                                     const char **argv, const size_t *argvlen)
{
    if (!p)
        return -EINVAL;
    char *cmd;
    int n = corio__redis_format_argv(&cmd, argc, argv, argvlen);
    return add(p, cmd, n);
}

int corio_redis_pipeline_exec(corio_redis_pipeline *p, corio_redis *c,
                              corio_redis_reply **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!p || !c || p->n == 0 || c->pubsub || c->nchannels || c->npatterns)
        return -EINVAL;
    bool tx = p->flags & CORIO_REDIS_TRANSACTION;
    size_t len = p->len + (tx ? sizeof multi - 1 + sizeof exec_ - 1 : 0);
    char *cmd = corio__redis_malloc(len);
    if (!cmd)
        return -ENOMEM;
    char *o = cmd;
    if (tx) {
        memcpy(o, multi, sizeof multi - 1);
        o += sizeof multi - 1;
    }
    memcpy(o, p->buf, p->len);
    o += p->len;
    if (tx)
        memcpy(o, exec_, sizeof exec_ - 1);
    size_t nrep = p->n + (tx ? 2 : 0);
    corio_redis_reply *r;
    int rc = corio__redis_submit(c, cmd, len, nrep, REQ_PLAIN, &r, NULL);
    if (rc < 0)
        return rc;
    if (nrep == 1) {
        corio_redis_reply **v = corio__redis_malloc(sizeof *v);
        corio_redis_reply *a = v ? corio__redis_reply_array(v, 1) : NULL;
        if (!a) {
            free(v);
            corio_redis_reply_free(r);
            return -ENOMEM;
        }
        v[0] = r;
        *out = a;
        return 0;
    }
    if (!tx) {
        *out = r;
        return 0;
    }
    /* [MULTI's OK, QUEUED..., EXEC's reply]: give EXEC's. */
    corio_redis_reply *e = r->element[r->len - 1];
    r->element[r->len - 1] = NULL;
    r->len--;
    corio_redis_reply_free(r);
    if (e->type == CORIO_REDIS_NIL) {
        corio_redis_reply_free(e);
        return CORIO_EREDIS_ABORTED;
    }
    *out = e;
    return e->type == CORIO_REDIS_ERROR ? CORIO_EREDIS : 0;
}

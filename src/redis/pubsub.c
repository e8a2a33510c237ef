/* redis/pubsub.c — subscriptions and messages.  (P)SUBSCRIBE and
 * (P)UNSUBSCRIBE are requests like any other, answered by confirmations
 * in order; the reader (conn.c) counts the subscriptions from those and,
 * while there are any, takes "message"/"pmessage" arrays off the stream
 * into the connection's message queue, where corio_redis_message_wait
 * finds them. */
#include "redis/redis.h"

#include <stdlib.h>
#include <string.h>

struct corio_redis_message {
    corio_redis_reply *r;
};

static int sub(corio_redis *c, const char *verb, const char *name, int kind)
{
    if (!c)
        return -EINVAL;
    char *cmd;
    int n;
    size_t nrep = 1;
    if (name) {
        const char *argv[2] = {verb, name};
        n = corio__redis_format_argv(&cmd, 2, argv, NULL);
    } else {
        if (kind == REQ_SUBSCRIBE || kind == REQ_PSUBSCRIBE)
            return -EINVAL;
        const char *argv[1] = {verb};
        n = corio__redis_format_argv(&cmd, 1, argv, NULL);
        nrep = 0; /* one confirmation per subscription: counted */
    }
    if (n < 0)
        return n;
    corio_redis_reply *r;
    int rc = corio__redis_submit(c, cmd, (size_t)n, nrep, kind, &r, NULL);
    if (rc == 0 && r->type == CORIO_REDIS_ERROR)
        rc = CORIO_EREDIS;
    corio_redis_reply_free(r);
    return rc;
}

int corio_redis_subscribe(corio_redis *c, const char *channel)
{
    return channel ? sub(c, "SUBSCRIBE", channel, REQ_SUBSCRIBE) : -EINVAL;
}

int corio_redis_psubscribe(corio_redis *c, const char *pattern)
{
    return pattern ? sub(c, "PSUBSCRIBE", pattern, REQ_PSUBSCRIBE) : -EINVAL;
}

int corio_redis_unsubscribe(corio_redis *c, const char *channel)
{
    return sub(c, "UNSUBSCRIBE", channel, REQ_UNSUBSCRIBE);
}

int corio_redis_punsubscribe(corio_redis *c, const char *pattern)
{
    return sub(c, "PUNSUBSCRIBE", pattern, REQ_PUNSUBSCRIBE);
}

int corio_redis_message_wait(corio_redis *c, corio_redis_message **out)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!c)
        return -EINVAL;
    for (;;) {
        corio__redis_msg *m = c->mhead;
        if (m) {
            corio_redis_message *msg = corio__redis_malloc(sizeof *msg);
            if (!msg)
                return -ENOMEM;
            c->mhead = m->next;
            if (!c->mhead)
                c->mtail = NULL;
            msg->r = m->r;
            free(m);
            *out = msg;
            return 0;
        }
        if (c->err)
            return c->err;
        if (!c->pubsub && !c->nsent && !c->qhead)
            return -EINVAL; /* nothing subscribed, nothing on the way */
        corio_event_clear(&c->msg);
        c->refs++;
        int rc = corio_event_wait(&c->msg);
        bool closed = c->closed;
        corio__redis_unref(c);
        if (closed)
            return -EBADF;
        if (rc < 0)
            return rc;
    }
}

const char *corio_redis_message_channel(const corio_redis_message *m,
                                        size_t *len)
{
    if (!m)
        return NULL;
    return corio_redis_reply_string(m->r->element[m->r->len == 4 ? 2 : 1], len);
}

const char *corio_redis_message_pattern(const corio_redis_message *m,
                                        size_t *len)
{
    if (!m || m->r->len != 4) {
        if (len)
            *len = 0;
        return NULL;
    }
    return corio_redis_reply_string(m->r->element[1], len);
}

const char *corio_redis_message_data(const corio_redis_message *m, size_t *len)
{
    if (!m)
        return NULL;
    return corio_redis_reply_string(m->r->element[m->r->len - 1], len);
}

void corio_redis_message_free(corio_redis_message *m)
{
    if (!m)
        return;
    corio_redis_reply_free(m->r);
    free(m);
}

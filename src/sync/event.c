/* sync/event.c — corio_event: a flag tasks can wait for; set wakes all. */
#include "sync/waitq.h"

#include <assert.h>

#define EVENT_MAGIC 0x746e7665u /* "evnt" */

typedef struct event_impl {
    corio__waitq q;
    uint32_t set;
    uint32_t magic;
} event_impl;

static_assert(sizeof(event_impl) <= sizeof(corio_event),
              "corio_event too small");

static event_impl *impl(const corio_event *e)
{
    event_impl *v = (event_impl *)e;
    return v && v->magic == EVENT_MAGIC ? v : NULL;
}

int corio_event_init(corio_event *e)
{
    event_impl *v = (event_impl *)e;
    if (!e)
        return -EINVAL;
    v->q.head = v->q.tail = NULL;
    v->set = 0;
    v->magic = EVENT_MAGIC;
    return 0;
}

void corio_event_destroy(corio_event *e)
{
    event_impl *v = impl(e);
    if (!v)
        return;
    corio__waitq_grant_all(&v->q, -EBADF); /* the destructor rule */
    v->magic = 0;
}

void corio_event_set(corio_event *e)
{
    event_impl *v = impl(e);
    if (!v)
        return;
    v->set = 1;
    corio__waitq_grant_all(&v->q, 0);
}

void corio_event_clear(corio_event *e)
{
    event_impl *v = impl(e);
    if (v)
        v->set = 0;
}

int corio_event_is_set(const corio_event *e)
{
    event_impl *v = impl(e);
    return v && v->set;
}

int corio_event_wait(corio_event *e)
{
    event_impl *v = impl(e);
    if (!v)
        return -EINVAL;
    if (!corio__self())
        return -EPERM;
    if (v->set)
        return 0;
    corio__waiter w;
    return corio__waitq_park(&v->q, &w, "event", NULL);
}

corio__waitq *corio__event_waitq(corio_event *e)
{
    event_impl *v = impl(e);
    return v ? &v->q : NULL;
}

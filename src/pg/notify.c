/* pg/notify.c — LISTEN/NOTIFY: notifications are taken from libpq by every
 * pump (whoever leads), queued on the connection, and handed to
 * corio_pg_notify_wait callers in arrival order; none is lost while the
 * connection serves other queries. */
#include "pg/pg_int.h"

void corio__pg_collect_notifies(corio_pg *c)
{
    PGnotify *n;
    bool any = false;
    while ((n = PQnotifies(c->pq))) {
        pg_notice *q = pg_calloc(1, sizeof *q);
        if (q) {
            q->channel = pg_strdup(n->relname ? n->relname : "");
            q->payload = pg_strdup(n->extra ? n->extra : "");
            q->pid = n->be_pid;
            if (!q->channel || !q->payload) {
                free(q->channel);
                free(q->payload);
                free(q);
                q = NULL;
            }
        }
        PQfreemem(n);
        if (!q)
            continue; /* out of memory: this one is dropped */
        if (c->nq_tail)
            c->nq_tail->next = q;
        else
            c->nq_head = q;
        c->nq_tail = q;
        any = true;
    }
    if (!any)
        return;
    for (pg_waiter *w = c->waiters; w; w = w->next)
        if (w->notify) {
            w->done = true;
            corio_event_set(&w->ev);
        }
}

void corio__pg_notices_free(corio_pg *c)
{
    pg_notice *q;
    while ((q = c->nq_head)) {
        c->nq_head = q->next;
        free(q->channel);
        free(q->payload);
        free(q);
    }
    c->nq_tail = NULL;
}

int corio_pg_notify_wait(corio_pg *c, char **channel, char **payload)
{
    if (channel)
        *channel = NULL;
    if (payload)
        *payload = NULL;
    if (!c)
        return -EINVAL;
    if (!corio_task_current())
        return -EPERM;
    pg_waiter w;
    memset(&w, 0, sizeof w);
    corio_event_init(&w.ev);
    w.notify = true;
    corio__pg_waiter_add(c, &w);
    int rc = 0;
    if (!c->nq_head && !c->broken)
        corio__pg_pump(c); /* maybe something is already in the socket */
    while (!c->nq_head) {
        if (c->broken) {
            rc = CORIO_EPGCONN;
            break;
        }
        w.done = false;
        rc = corio__pg_wait_io(c, &w);
        if (rc < 0)
            break;
    }
    corio__pg_waiter_del(c, &w);
    corio_event_destroy(&w.ev);
    if (rc < 0) {
        if (rc == CORIO_EPGCONN)
            corio__pg_set_error(c, NULL, PQerrorMessage(c->pq));
        return rc;
    }
    pg_notice *q = c->nq_head;
    c->nq_head = q->next;
    if (!c->nq_head)
        c->nq_tail = NULL;
    int pid = q->pid > 0 ? q->pid : 1;
    if (channel)
        *channel = q->channel;
    else
        free(q->channel);
    if (payload)
        *payload = q->payload;
    else
        free(q->payload);
    free(q);
    return pid;
}

/* net/serve.c — corio_serve: the accept loop, one task per connection,
 * and the graceful shutdown.
 *
 * Tasks of one corio_serve call:
 *
 *   the caller (owner of group g)  waits on `stop`, then shuts down
 *   "serve accept"                 accepts, spawns each connection into g
 *   "serve stop"                   (with opts.stop) waits on the user's
 *                                  event and sets `stop`
 *   connections (children of g)    run fn, close the stream, return 0
 *
 * Shutdown, whatever started it (the user's event, the caller's
 * cancellation or deadline, a fatal accept error): inside a shield (so a
 * cancelled caller can still wait), the acceptor and watcher are cancelled
 * and gathered, so nothing new is accepted; then the caller waits up to the
 * grace period for the `idle` event (no connection left); then the group is
 * cancelled and drained.  Connection tasks never fail (fn's result is
 * ignored), so one connection can never cancel the others.
 *
 * Each connection's record is on the server's list from accept to the end
 * of its task, so a connection whose task was cancelled before it ever
 * ran (and so never closed its stream) is closed by the caller after the
 * group is drained: nothing leaks. */
#include "net/net.h"

#include <stdlib.h>

#define GRACE_DEFAULT (5 * CORIO_SECOND)
#define PAUSE (100 * CORIO_MS)

typedef struct conn conn;
typedef struct server server;

struct conn {
    conn *prev, *next;
    server *sv;
    corio_stream *s;
};

struct server {
    corio_listener *l;
    corio_serve_fn fn;
    void *arg;
    corio_group *g;
    corio_event *user_stop;
    corio_event stop; /* shutdown requested */
    corio_event idle; /* no connection running */
    corio_event slot; /* below max_connections again */
    size_t live, max;
    void (*on_shutdown)(void *arg);
    conn *conns;
    int accept_err;
};

static void unlink_conn(server *sv, conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        sv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    corio_stream_close(c->s);
    free(c);
    sv->live--;
    if (sv->max && sv->live < sv->max)
        corio_event_set(&sv->slot);
    if (!sv->live)
        corio_event_set(&sv->idle);
}

static int conn_main(void *arg)
{
    conn *c = arg;
    server *sv = c->sv;
    if (sv->fn(c->s, sv->arg) == CORIO_SERVE_KEPT)
        c->s = NULL; /* fn took the stream: not ours to close */
    unlink_conn(sv, c);
    return 0;
}

static int acceptor(void *arg)
{
    server *sv = arg;
    for (;;) {
        while (sv->max && sv->live >= sv->max) {
            corio_event_clear(&sv->slot);
            int rc = corio_event_wait(&sv->slot);
            if (rc < 0)
                return rc;
        }
        corio_stream *s;
        int rc = corio_listener_accept(sv->l, &s, NULL);
        switch (rc) {
        case 0:
            break;
        case -EMFILE: /* accept shed or paused: no spinning */
        case -ENFILE:
        case -ENOBUFS:
        case -ENOMEM:
            continue;
        case -ECANCELED: /* the shutdown */
        case -ETIMEDOUT:
            return rc;
        default:
            sv->accept_err = rc;
            corio_event_set(&sv->stop);
            return rc;
        }
        conn *c = corio__sys.malloc(sizeof *c);
        if (!c) {
            corio_stream_close(s);
            if ((rc = corio_sleep(PAUSE)) < 0)
                return rc;
            continue;
        }
        c->sv = sv;
        c->s = s;
        c->prev = NULL;
        c->next = sv->conns;
        if (sv->conns)
            sv->conns->prev = c;
        sv->conns = c;
        sv->live++;
        corio_event_clear(&sv->idle);
        rc = corio_group_spawn(sv->g, conn_main, c);
        if (rc < 0) {
            unlink_conn(sv, c);
            if (rc == -ECANCELED)
                return rc;
            if ((rc = corio_sleep(PAUSE)) <
                0) /* -ENOMEM: let memory come back */
                return rc;
        }
    }
}

static int watcher(void *arg)
{
    server *sv = arg;
    int rc = corio_event_wait(sv->user_stop);
    if (rc == 0)
        corio_event_set(&sv->stop);
    return rc;
}

int corio_serve(corio_listener *l, corio_serve_fn fn, void *arg,
                const corio_serve_opts *o)
{
    corio_task *tasks[2];
    size_t ntasks = 0;
    server sv = {0};
    int64_t grace = o && o->grace_ns ? o->grace_ns : GRACE_DEFAULT;

    if (!corio_task_current())
        return -EPERM;
    if (!l || !fn)
        return -EINVAL;
    sv.l = l;
    sv.fn = fn;
    sv.arg = arg;
    sv.on_shutdown = o ? o->on_shutdown : NULL;
    sv.user_stop = o ? o->stop : NULL;
    sv.max = o ? o->max_connections : 0;
    corio_event_init(&sv.stop);
    corio_event_init(&sv.idle);
    corio_event_init(&sv.slot);
    corio_event_set(&sv.idle);

    int rc = corio_group_new(&sv.g);
    if (rc < 0)
        goto out;
    corio_task_opts to = {.name = "serve accept"};
    rc = corio_task_spawn_ex(&tasks[ntasks], acceptor, &sv, &to);
    if (rc == 0) {
        ntasks++;
        if (sv.user_stop) {
            to.name = "serve stop";
            rc = corio_task_spawn_ex(&tasks[ntasks], watcher, &sv, &to);
            ntasks += rc == 0;
        }
    }
    if (rc == 0) {
        rc = corio_event_wait(
            &sv.stop); /* -ECANCELED / -ETIMEDOUT: the caller's */
        if (rc == 0)
            rc = sv.accept_err;
    }
    if (sv.on_shutdown)
        sv.on_shutdown(arg);

    /* Graceful shutdown.  The shield lets a cancelled caller still wait
     * out the grace period; without it (no memory) there is no grace. */
    bool shielded = corio_shield_begin() == 0;
    for (size_t i = 0; i < ntasks; i++)
        corio_task_cancel(tasks[i]);
    if (ntasks)
        CORIO_IGNORE(corio_gather(tasks, ntasks,
                                  NULL)); /* always releases the handles */
    if (shielded) {
        if (grace > 0 && sv.live && corio_timeout_begin(grace) == 0) {
            CORIO_IGNORE(corio_event_wait(&sv.idle));
            corio_timeout_end();
        }
        corio_shield_end();
    }
    corio_group_cancel(sv.g);
    CORIO_IGNORE(corio_group_wait(
        sv.g));      /* cancelled: -ECANCELED; every child is done */
    while (sv.conns) /* connections cancelled before they ran */
        unlink_conn(&sv, sv.conns);
out:
    corio_event_destroy(&sv.stop);
    corio_event_destroy(&sv.idle);
    corio_event_destroy(&sv.slot);
    return rc;
}

/* http/test_session.c — corio_http_test_session_new: a client session whose
 * dial makes an in-memory stream pair and serves the far end with
 * corio_http_serve_conn in a detached task (httpx.AsyncClient(app=app)).
 *
 * Parts:
 *   the dial state   router and server options, owned by the session
 *                    (freed by its on-free hook, http/session.h).
 *   a serving task   owns the server end of one pair and a copy of the
 *                    options, so it may outlive the session: it ends when
 *                    the client end is closed (end of stream) and closes
 *                    its end, unless a handler detached it.  The dial lets
 *                    it start before returning (found by corio_test_sweep:
 *                    a client failing right after the dial ended the run
 *                    with the task unstarted, leaking the pair). */
#include "os/sys.h"
#include "core/loop.h"
#include "http/server.h"
#include "http/session.h"

#include <stdlib.h>
#include <string.h>

typedef struct dialer {
    corio_http_router *r;
    corio_http_server_opts so;
} dialer;

typedef struct conn_task {
    corio_stream *s;
    corio_http_router *r;
    corio_http_server_opts so;
} conn_task;

static int serve_pair(void *arg)
{
    conn_task *ct = arg;
    if (corio_http_serve_conn(ct->s, ct->r, &ct->so) != CORIO_HTTP_DETACHED)
        corio_stream_close(ct->s);
    free(ct);
    return 0;
}

static int dial(corio_stream **out, const corio_url *u, void *arg)
{
    dialer *d = arg;
    corio_stream *client, *server;
    (void)u; /* every origin reaches the router */
    *out = NULL;
    conn_task *ct = corio__sys.malloc(sizeof *ct);
    if (!ct)
        return -ENOMEM;
    int rc = corio_stream_pair(&client, &server, 0);
    if (rc < 0) {
        free(ct);
        return rc;
    }
    ct->s = server;
    ct->r = d->r;
    ct->so = d->so;
    corio_task *t;
    corio_task_opts to = {.name = "http test server"};
    rc = corio_task_spawn_ex(&t, serve_pair, ct, &to);
    if (rc < 0) {
        corio_stream_close(client);
        corio_stream_close(server);
        free(ct);
        return rc;
    }
    corio_task_detach(t);
    /* Let the serving task start before going on: a task cancelled before
     * it started never runs, and this one owns ct and the server end (the
     * loop's end cancels what is left when a client gives up at once).
     * Uninterruptibly, so the caller's cancellation cannot skip it. */
    corio_task *self = corio__self();
    if (self) {
        self->noint++;
        CORIO_IGNORE(corio_yield());
        self->noint--;
    }
    *out = client;
    return 0;
}

int corio_http_test_session_new(corio_http_session **out, corio_http_router *r,
                                const corio_http_server_opts *so,
                                const corio_http_session_opts *co)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!r)
        return -EINVAL;
    dialer *d = corio__sys.calloc(1, sizeof *d);
    if (!d)
        return -ENOMEM;
    d->r = r;
    if (so)
        d->so = *so;
    corio_http_session_opts o = {0};
    if (co)
        o = *co;
    o.dial = dial;
    o.dial_arg = d;
    int rc = corio_http_session_new(out, &o);
    if (rc < 0) {
        free(d);
        return rc;
    }
    corio__http_session_on_free(*out, free, d);
    return 0;
}

/* demo_server.h — the stand-in server of the HTTP examples (http_gather,
 * http_semaphore, http_shared_session, http_task_group): a corio HTTP
 * server on 127.0.0.1, port 0, run by a task of the same program, so that
 * the examples need no network.  It is a real socket rather than the
 * in-process test session (see http_test_client.c) because these examples
 * show what a client meets on a network: a refused connection
 * (http_gather), connections opened once and then reused
 * (http_shared_session).
 *
 * Use: demo_server_init, add the routes to ->router (and options to
 * ->opts), demo_server_start, fetch from http://127.0.0.1:<->port>/, and
 * demo_server_stop on every path, a failed init or start included. */
#ifndef DEMO_SERVER_H
#define DEMO_SERVER_H

#include <corio.h>
#include <corio/http_server.h>
#include <stdbool.h>
#include <string.h>

typedef struct demo_server {
    corio_http_router *router;   /* the example's routes */
    corio_http_server_opts opts; /* for corio_http_serve; start sets .stop */
    int port;                    /* the listening port, once started */
    corio_listener *listener;
    corio_event stop;
    bool has_stop; /* stop was initialised */
    corio_task *task;
} demo_server;

/* An empty router and a stopped server. */
static inline int demo_server_init(demo_server *s)
{
    memset(s, 0, sizeof *s);
    int rc = corio_event_init(&s->stop);
    if (rc < 0)
        return rc;
    s->has_stop = true;
    return corio_http_router_new(&s->router);
}

/* The server's task by default: corio_http_serve with s->opts until
 * demo_server_stop sets the stop event. */
static inline int demo_server_serve(void *arg)
{
    demo_server *s = arg;
    return corio_http_serve(s->listener, s->router, &s->opts);
}

/* Listen on 127.0.0.1 (port 0: any free port, in s->port) and run serve
 * (NULL: demo_server_serve) with s as its argument in a task. */
static inline int demo_server_start(demo_server *s, corio_fn serve)
{
    corio_addr addr;
    int rc;

    s->opts.stop = &s->stop;
    if ((rc = corio_tcp_listen(&s->listener, "127.0.0.1", 0, NULL)) < 0 ||
        (rc = corio_listener_addr(s->listener, &addr)) < 0)
        return rc;
    s->port = corio_addr_port(&addr);
    return corio_task_spawn(&s->task, serve ? serve : demo_server_serve, s);
}

/* Stop serving (waiting for the server's task) and free everything. */
static inline void demo_server_stop(demo_server *s)
{
    if (s->task) {
        corio_event_set(&s->stop);
        CORIO_IGNORE(corio_task_join(s->task, NULL));
        s->task = NULL;
    }
    corio_listener_close(s->listener);
    s->listener = NULL;
    corio_http_router_free(s->router);
    s->router = NULL;
    if (s->has_stop)
        corio_event_destroy(&s->stop);
    s->has_stop = false;
}

#endif

/* corio HTTP server for bench/http: GET / answers "Hello, World!" as
 * text/plain, keep-alive — the same app as every peer.  SIGTERM stops it
 * gracefully (so profilers such as callgrind get to write their output).
 *
 *   corio_server PORT */
#include <corio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static int hello(corio_http_req *req, void *arg)
{
    (void)arg;
    return corio_http_reply(req, 200, "text/plain", "Hello, World!", 13);
}

/* Set the stop event on SIGTERM. */
static int on_term(void *arg)
{
    sigset_t mask;
    corio_signal *w;
    int signo;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    int rc = corio_signal_open(&w, &mask);
    if (rc < 0)
        return rc;
    rc = corio_signal_wait(w, &signo);
    corio_signal_close(w);
    if (rc == 0)
        corio_event_set(arg);
    return rc;
}

static int serve(void *arg)
{
    int port = *(int *)arg;
    corio_http_router *r;
    corio_listener *l;
    corio_listen_opts lo = {.backlog = 4096};
    corio_event stop;
    corio_task *watcher;
    corio_event_init(&stop);
    corio_http_server_opts so = {.stop = &stop, .grace_ns = CORIO_SECOND};
    int rc = corio_task_spawn(&watcher, on_term, &stop);
    if (rc == 0)
        rc = corio_http_router_new(&r);
    if (rc == 0)
        rc = corio_http_router_add(r, "GET", "/", hello, NULL);
    if (rc == 0)
        rc = corio_tcp_listen(&l, "127.0.0.1", port, &lo);
    if (rc < 0) {
        fprintf(stderr, "corio_server: %s\n", corio_strerror(rc));
        return rc;
    }
    rc = corio_http_serve(l, r, &so);
    corio_listener_close(l);
    corio_http_router_free(r);
    corio_task_cancel(watcher);
    CORIO_IGNORE(corio_task_join(watcher, NULL));
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: corio_server PORT\n");
        return 2;
    }
    int port = atoi(argv[1]);
    signal(SIGPIPE, SIG_IGN);
    int result = 0;
    return corio_run(serve, &port, &result) < 0 || result < 0;
}

/* redis_pubsub_ws.c — messages published to a Redis channel fan out to
 * WebSocket clients (the seeds' "real-time applications").
 *
 * The asyncio original (a websockets server with redis.asyncio):
 *
 *     async def feed(websocket):
 *         async with r.pubsub() as ps:
 *             await ps.subscribe("news")
 *             async for msg in ps.listen():
 *                 if msg["type"] == "message":
 *                     await websocket.send(msg["data"].decode())
 *
 * Each WebSocket connection gets its own subscription (a Redis connection
 * in pub/sub mode is dedicated to it); anything PUBLISHed to the channel,
 * by any process, reaches every client.  The C twin runs the WebSocket
 * server, three clients and the publisher in one program; the publisher
 * sends three headlines and "bye", on which the server closes the
 * WebSockets.  CORIO_REDIS_URL names the server (default
 * redis://127.0.0.1:6379). */
#include <corio.h>
#include <corio/http_server.h>
#include <corio/redis.h>
#include <corio/ws.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CLIENTS 3

static char channel[64];
static int subscribed; /* feeds subscribed so far */
static corio_event all_subscribed;

static const char *redis_url(void)
{
    const char *u = getenv("CORIO_REDIS_URL");
    return u ? u : "redis://127.0.0.1:6379";
}

/* async def feed(websocket): one subscription per WebSocket. */
static int feed(corio_http_req *req, void *arg)
{
    (void)arg;
    corio_redis *sub = NULL;
    corio_ws *ws = NULL;
    int rc = corio_ws_accept(&ws, req, NULL);
    if (rc < 0)
        return rc;
    if ((rc = corio_redis_connect(&sub, redis_url())) < 0 ||
        (rc = corio_redis_subscribe(sub, channel)) < 0)
        goto out;
    if (++subscribed == CLIENTS)
        corio_event_set(&all_subscribed);
    for (;;) {
        corio_redis_message *m;
        size_t len;
        if ((rc = corio_redis_message_wait(sub, &m)) < 0)
            break;
        const char *data = corio_redis_message_data(m, &len);
        int bye = len == 3 && !memcmp(data, "bye", 3);
        if (!bye)
            rc = corio_ws_send(ws, CORIO_WS_TEXT, data, len);
        corio_redis_message_free(m);
        if (bye || rc < 0)
            break;
    }
    if (rc >= 0)
        rc = corio_ws_close_handshake(ws, 1000, "bye");
out:
    corio_redis_close(sub);
    corio_ws_close(ws);
    return rc;
}

struct client {
    int port;
    char got[CLIENTS + 1][64];
    int n;
};

static int client(void *arg)
{
    struct client *c = arg;
    char url[64];
    corio_ws *ws;
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/feed", c->port);
    int rc = corio_ws_connect(&ws, url, NULL);
    if (rc < 0)
        return rc;
    for (;;) {
        int type;
        const void *data;
        ssize_t n = corio_ws_recv(ws, &type, &data);
        if (n < 0)
            break; /* the server closed: the feed is over */
        if (c->n < CLIENTS + 1)
            snprintf(c->got[c->n++], sizeof c->got[0], "%.*s", (int)n,
                     (const char *)data);
    }
    corio_ws_close(ws);
    return 0;
}

struct server {
    corio_listener *listener;
    corio_http_router *router;
    corio_event stop;
};

static int serve(void *arg)
{
    struct server *s = arg;
    corio_http_server_opts o = {.stop = &s->stop};
    return corio_http_serve(s->listener, s->router, &o);
}

static int async_main(void *arg)
{
    (void)arg;
    static const char *headlines[] = {"markets up", "rain tomorrow",
                                      "corio 1.0 out", "bye"};
    struct server srv = {0};
    struct client cl[CLIENTS] = {0};
    corio_task *server = NULL, *t[CLIENTS];
    corio_redis *pub = NULL;
    corio_addr addr;
    int rc, started = 0;

    snprintf(channel, sizeof channel, "news:%ld", (long)getpid());
    corio_event_init(&srv.stop);
    corio_event_init(&all_subscribed);
    if ((rc = corio_redis_connect(&pub, redis_url())) < 0 ||
        (rc = corio_http_router_new(&srv.router)) < 0 ||
        (rc = corio_http_router_add(srv.router, "GET", "/feed", feed, NULL)) <
            0 ||
        (rc = corio_tcp_listen(&srv.listener, "127.0.0.1", 0, NULL)) < 0 ||
        (rc = corio_listener_addr(srv.listener, &addr)) < 0 ||
        (rc = corio_task_spawn(&server, serve, &srv)) < 0)
        goto out;
    for (; started < CLIENTS; started++) {
        cl[started].port = corio_addr_port(&addr);
        if ((rc = corio_task_spawn(&t[started], client, &cl[started])) < 0)
            goto out;
    }
    if ((rc = corio_event_wait(&all_subscribed)) < 0)
        goto out;
    printf("%d WebSocket clients subscribed\n", subscribed);
    for (size_t i = 0; i < sizeof headlines / sizeof *headlines; i++) {
        corio_redis_reply *r;
        if ((rc = corio_redis_command(pub, &r, "PUBLISH %s %s", channel,
                                      headlines[i])) < 0)
            goto out;
        printf("PUBLISH \"%s\" reached %lld subscribers\n", headlines[i],
               corio_redis_reply_integer(r));
        corio_redis_reply_free(r);
    }
out:
    /* The clients end when the server closes their WebSockets (or fail on
     * their own): each one's outcome is what it received, printed below. */
    if (started)
        CORIO_IGNORE(corio_gather(t, (size_t)started, NULL));
    for (int i = 0; i < started; i++) {
        printf("client %d received:", i + 1);
        for (int k = 0; k < cl[i].n; k++)
            printf(" \"%s\"", cl[i].got[k]);
        printf("\n");
    }
    if (server) {
        corio_event_set(&srv.stop);
        CORIO_IGNORE(corio_task_join(server, NULL)); /* shutting down */
    }
    corio_listener_close(srv.listener);
    corio_http_router_free(srv.router);
    corio_event_destroy(&srv.stop);
    corio_redis_close(pub);
    return rc;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int res, rc = corio_run(async_main, NULL, &res);
    if (rc == 0)
        rc = res;
    if (rc < 0) {
        fprintf(stderr, "redis_pubsub_ws: %d\n", rc);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

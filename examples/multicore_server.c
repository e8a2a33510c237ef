/* multicore_server.c — an HTTP server on every core: one loop per CPU, each
 * with its own SO_REUSEPORT listener on the same port and its own
 * corio_http_serve, sharing nothing (Go's GOMAXPROCS, nginx's
 * worker_processes, in one process).
 *
 *   GET /hello   "hello from loop N"
 *   GET /work    ~200 us of CPU per request (SHA-256 over 64 KiB, five
 *                times), done on the connection's own loop
 *   GET /thread  the same work on the shared CPU pool (corio_to_thread):
 *                the naive way to use more cores from one loop
 *   GET /slow    a hundred times /work's (~20 ms) on the loop, without
 *                yielding: what makes one loop busy while the kernel keeps
 *                sending it connections (bench/multicore, "uneven load")
 *
 *   ./multicore_server                 self-test: 2 loops, 40 requests from
 *                                      a client task, each on a new
 *                                      connection; prints what was served
 *   ./multicore_server PORT [LOOPS [steer]]
 *                                      serve on PORT with LOOPS loops (0 or
 *                                      absent: one per CPU) until Ctrl-C;
 *                                      steer: loop i pinned to CPU i and
 *                                      its listener steered by CPU
 *                                      (steer_cpu)
 *
 * The loops meet only where they must: loops other than 0 ask loop 0 for
 * the port it bound (corio_loop_call, which waits until loop 0 has
 * listened), every loop tells loop 0 it is listening (corio_loop_post; the
 * self-test's client starts once all are), and the client tells every
 * loop to stop (corio_loop_post).
 * Ctrl-C cancels the main of the loop holding SIGINT; corio_run_loops
 * then cancels every other main, and each server shuts down gracefully. */
#include <corio.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LOOPS 256

typedef struct app {
    int port;              /* given, or bound by loop 0 */
    corio_event bound;     /* loop 0 is listening (a loop-0 object) */
    size_t nlistening;     /* loops listening (loop 0's count) */
    corio_event listening; /* ... all of them (a loop-0 object) */
    corio_event *stop[MAX_LOOPS];
    int served[MAX_LOOPS];
    int self_test;
    int steer; /* pin the loops and steer connections by CPU */
} app;

/* ---- the routes ------------------------------------------------------------
 */

static int hello(corio_http_req *req, void *arg)
{
    (void)arg;
    char body[64];
    int n = snprintf(body, sizeof body, "hello from loop %zu\n",
                     corio_loop_index());
    return corio_http_reply(req, 200, "text/plain", body, (size_t)n);
}

/* The CPU-bound part, the same in every peer of bench/multicore: five
 * rounds of SHA-256 over a fresh 64 KiB buffer, each feeding the next. */
static int sha_work(void *arg)
{
    enum { SIZE = 64 * 1024 };
    unsigned char *digest = arg, *buf = calloc(1, SIZE);
    if (!buf)
        return -ENOMEM;
    for (int i = 0; i < 5; i++) {
        SHA256(buf, SIZE, digest);
        buf[0] = digest[0];
    }
    free(buf);
    return 0;
}

static int work_reply(corio_http_req *req, const unsigned char *d)
{
    char hex[2 * SHA256_DIGEST_LENGTH + 2];
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    hex[2 * SHA256_DIGEST_LENGTH] = '\n';
    return corio_http_reply(req, 200, "text/plain", hex, sizeof hex - 1);
}

static int work(corio_http_req *req, void *arg)
{
    (void)arg;
    unsigned char d[SHA256_DIGEST_LENGTH];
    int rc = sha_work(d);
    return rc < 0 ? rc : work_reply(req, d);
}

static int slow(corio_http_req *req, void *arg)
{
    (void)arg;
    unsigned char d[SHA256_DIGEST_LENGTH];
    int rc = 0;
    for (int i = 0; i < 100 && rc == 0; i++)
        rc = sha_work(d);
    return rc < 0 ? rc : work_reply(req, d);
}

static int thread_work(corio_http_req *req, void *arg)
{
    (void)arg;
    unsigned char d[SHA256_DIGEST_LENGTH];
    int result = 0;
    int rc = corio_to_thread(sha_work, d, &result);
    if (rc == 0)
        rc = result;
    return rc < 0 ? rc : work_reply(req, d);
}

/* ---- one server per loop ---------------------------------------------------
 */

/* On loop 0, for the other loops: the port, once loop 0 has listened. */
static int get_port(void *arg)
{
    app *a = arg;
    int rc = corio_event_wait(&a->bound);
    return rc < 0 ? rc : a->port;
}

/* On loop 0: one more loop is listening. */
static void one_listening(void *arg)
{
    app *a = arg;
    if (++a->nlistening == corio_loop_count())
        corio_event_set(&a->listening);
}

static int serve_loop(void *arg)
{
    app *a = arg;
    size_t me = corio_loop_index();
    corio_event stop;
    corio_event_init(&stop);
    a->stop[me] = &stop;

    int port = a->port, rc = 0;
    if (me != 0 && port == 0 &&
        (rc = corio_loop_call(corio_loop_at(0), get_port, a, &port)) == 0 &&
        port < 0)
        rc = port;
    corio_listener *l = NULL;
    corio_listen_opts lo = {.reuseport = 1, .steer_cpu = a->steer};
    if (rc == 0)
        rc = corio_tcp_listen(&l, "127.0.0.1", port, &lo);
    corio_http_router *r = NULL;
    if (rc == 0)
        rc = corio_http_router_new(&r);
    if (rc == 0 &&
        (rc = corio_http_router_add(r, "GET", "/hello", hello, NULL)) == 0 &&
        (rc = corio_http_router_add(r, "GET", "/work", work, NULL)) == 0 &&
        (rc = corio_http_router_add(r, "GET", "/slow", slow, NULL)) == 0)
        rc = corio_http_router_add(r, "GET", "/thread", thread_work, NULL);
    if (rc == 0 && me == 0) {
        corio_addr addr;
        rc = corio_listener_addr(l, &addr);
        a->port = corio_addr_port(&addr);
        corio_event_set(&a->bound);
    }
    if (rc == 0)
        rc = corio_loop_post(corio_loop_at(0), one_listening, a);
    if (rc == 0) {
        corio_http_server_opts so = {.stop = &stop};
        rc = corio_http_serve(l, r, &so);
    }
    corio_http_router_free(r);
    corio_listener_close(l);
    corio_event_destroy(&stop);
    return rc;
}

/* ---- the self-test's client ------------------------------------------------
 */

static void stop_loop(void *arg)
{
    corio_event_set(arg);
}

/* One GET /hello on a new connection; the loop number that served it. */
static int fetch_hello(int port)
{
    corio_stream *s;
    int rc = corio_tcp_connect(&s, "127.0.0.1", port);
    if (rc < 0)
        return rc;
    static const char req[] =
        "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char resp[512];
    size_t got = 0;
    ssize_t n = 0;
    if ((rc = corio_stream_write(s, req, sizeof req - 1)) == 0 &&
        (rc = corio_stream_flush(s)) == 0)
        while ((n = corio_stream_read(s, resp + got, sizeof resp - 1 - got)) >
               0)
            got += (size_t)n;
    corio_stream_close(s);
    if (rc < 0 || n < 0)
        return rc < 0 ? rc : (int)n;
    resp[got] = 0;
    const char *p = strstr(resp, "hello from loop ");
    return p ? atoi(p + 16) : -EPROTO;
}

static int client(void *arg)
{
    app *a = arg;
    int rc = 0;
    for (int i = 0; i < 40 && rc >= 0; i++)
        if ((rc = fetch_hello(a->port)) >= 0)
            a->served[rc]++;
    for (size_t i = 0; i < corio_loop_count(); i++)
        CORIO_IGNORE(corio_loop_post(corio_loop_at(i), stop_loop, a->stop[i]));
    return rc < 0 ? rc : 0;
}

/* Loop 0 of the self-test also runs the client, once every loop listens. */
static int self_test_loop(void *arg)
{
    app *a = arg;
    if (corio_loop_index() != 0)
        return serve_loop(a);
    corio_task *server, *c;
    int rc = corio_task_spawn(&server, serve_loop, a);
    if (rc < 0)
        return rc;
    int crc = -1, src = -1;
    if (corio_event_wait(&a->listening) == 0 &&
        corio_task_spawn(&c, client, a) == 0 && corio_task_join(c, &crc) < 0)
        crc = -1;
    if (crc < 0)
        corio_task_cancel(server);
    CORIO_IGNORE(corio_task_join(server, &src));
    return crc < 0 ? crc : src;
}

int main(int argc, char **argv)
{
    static app a;
    size_t loops = 2;
    corio_fn fn = self_test_loop;
    if (argc > 1) {
        a.port = atoi(argv[1]);
        loops = argc > 2 ? (size_t)atoi(argv[2]) : 0;
        fn = serve_loop;
    }
    if (loops > MAX_LOOPS)
        loops = MAX_LOOPS;
    static int cpus[MAX_LOOPS];
    corio_loops_opts o = {0};
    if (argc > 3 && !strcmp(argv[3], "steer")) {
        a.steer = 1;
        for (int i = 0; i < MAX_LOOPS; i++)
            cpus[i] = i;
        o.cpus = cpus;
        size_t online = (size_t)sysconf(_SC_NPROCESSORS_ONLN);
        o.ncpus = loops && loops < online ? loops : online;
    }
    corio_event_init(&a.bound);
    corio_event_init(&a.listening);
    int result = 0;
    int rc = corio_run_loops(loops, &o, fn, &a, &result);
    corio_event_destroy(&a.bound);
    corio_event_destroy(&a.listening);
    if (rc < 0 || (result < 0 && result != -ECANCELED)) {
        fprintf(stderr, "multicore_server: %s\n",
                corio_strerror(rc < 0 ? rc : result));
        return 1;
    }
    if (argc > 1)
        return 0;
    int total = 0, every = 1;
    for (size_t i = 0; i < loops; i++) {
        total += a.served[i];
        every &= a.served[i] > 0;
    }
    printf("%d requests served by %zu loops on one port\n", total, loops);
    printf("every loop served some: %s\n", every ? "yes" : "no");
    return 0;
}

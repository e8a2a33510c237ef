/* corio HTTP client for bench/http: N GET requests of URL, C tasks at a
 * time, over one pooled session; prints the elapsed seconds.
 *
 *   corio_client URL N C */
#include <corio.h>
#include <stdio.h>
#include <stdlib.h>

static const char *url;
static long left, failed;
static corio_http_session *session;

static int worker(void *arg)
{
    (void)arg;
    char buf[16384];
    while (left > 0) {
        left--;
        corio_http_response *r;
        int rc = corio_http_session_get(session, url, &r);
        if (rc == 0) {
            ssize_t got;
            while ((got = corio_http_response_read(r, buf, sizeof buf)) > 0)
                ;
            if (got < 0 || corio_http_response_status(r) != 200)
                rc = -1;
            corio_http_response_free(r);
        }
        if (rc < 0)
            failed++;
    }
    return 0;
}

static int run(void *arg)
{
    long c = *(long *)arg;
    corio_http_session_opts o = {.max_connections = (size_t)c};
    corio_group *g;
    int rc = corio_http_session_new(&session, &o);
    if (rc == 0)
        rc = corio_group_new(&g);
    if (rc < 0)
        return rc;
    int64_t t0 = corio_now();
    for (long i = 0; i < c; i++)
        CORIO_IGNORE(corio_group_spawn(g, worker, NULL));
    rc = corio_group_wait(g);
    double dt = (double)(corio_now() - t0) / 1e9;
    corio_http_session_free(session);
    if (failed) {
        fprintf(stderr, "%ld requests failed\n", failed);
        return -1;
    }
    printf("%.6f\n", dt);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: corio_client URL N C\n");
        return 2;
    }
    url = argv[1];
    left = atol(argv[2]);
    long c = atol(argv[3]);
    int result = 0;
    return corio_run(run, &c, &result) < 0 || result < 0;
}

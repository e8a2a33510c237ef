/* soak_client — the load side of `make soak` (bench/soak/run.sh).
 *
 *   soak_client PORT CONNS SECONDS INTERVAL_MS
 *       Keeps CONNS keep-alive connections to 127.0.0.1:PORT, each sending
 *       GET / every INTERVAL_MS (their starts spread over one interval), for
 *       SECONDS; beside them a probe connection (the "normal client") sends
 *       GET / every 10 ms and records each round trip.  Every 10 s prints
 *       "t=S requests=N errors=E"; at the end "requests N errors E
 *       p50 X p99 Y p999 Z max W us" (the probe's latencies).
 *   soak_client --burst PORT CONNS
 *       Opens CONNS connections, makes one request on each while all are
 *       open, then closes them all: prints "burst ok N errors E".
 *   soak_client --probe PORT SECONDS
 *       The probe alone for SECONDS: prints its figures.
 *   soak_client --flood PORT SECONDS
 *       One connection streaming "\r\n" (blank lines a server skips
 *       before a request line) as fast as the server takes them, for
 *       SECONDS or until the server hangs up: prints when it did.  Run
 *       beside --probe, as a separate process (bench/soak/run.sh).
 *
 * An error is a connection that failed, ended, or answered anything but
 * "HTTP/1.1 200" with a 13-byte body (bench/http/corio_server's page). */
#include <corio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_EVERY (10 * CORIO_MS)
#define REQ "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

static int port, conns, secs, interval_ms;
static long requests, errors;
static int64_t *lat;
static size_t nlat, cap_lat;

/* One request on s; 0 or an error. */
static int get(corio_stream *s)
{
    char head[1024], body[13];
    int rc = corio_stream_write(s, REQ, sizeof REQ - 1);
    if (rc == 0)
        rc = corio_stream_flush(s);
    ssize_t n =
        rc < 0 ? rc
               : corio_stream_read_until(s, "\r\n\r\n", 4, head, sizeof head);
    if (n < 0)
        return (int)n;
    if (n < 12 || memcmp(head, "HTTP/1.1 200", 12) != 0)
        return -EPROTO;
    return corio_stream_read_exactly(s, body, sizeof body);
}

/* A connection of the crowd: GET / every interval until the deadline. */
static int crowd(void *arg)
{
    int64_t end = *(int64_t *)arg;
    int64_t every = (int64_t)interval_ms * CORIO_MS;
    corio_stream *s;
    /* Spread the connections' starts (and so their requests) over one
     * interval. */
    CORIO_IGNORE(corio_sleep(rand() % (every > 0 ? every : 1)));
    if (corio_tcp_connect(&s, "127.0.0.1", port) < 0) {
        errors++;
        return 0;
    }
    while (corio_now() < end) {
        if (get(s) < 0) {
            errors++;
            break;
        }
        requests++;
        if (corio_sleep(every) < 0)
            break;
    }
    corio_stream_close(s);
    return 0;
}

static int probe(void *arg)
{
    int64_t end = *(int64_t *)arg;
    corio_stream *s;
    if (corio_tcp_connect(&s, "127.0.0.1", port) < 0) {
        errors++;
        return 0;
    }
    while (corio_now() < end) {
        int64_t t0 = corio_now();
        if (get(s) < 0) {
            errors++;
            break;
        }
        if (nlat == cap_lat) {
            cap_lat = cap_lat ? 2 * cap_lat : 4096;
            lat = realloc(lat, cap_lat * sizeof *lat);
            if (!lat)
                abort();
        }
        lat[nlat++] = corio_now() - t0;
        requests++;
        if (corio_sleep(PROBE_EVERY) < 0)
            break;
    }
    corio_stream_close(s);
    return 0;
}

static int report(void *arg)
{
    int64_t start = corio_now(), end = *(int64_t *)arg;
    while (corio_sleep(10 * CORIO_SECOND) == 0 && corio_now() < end) {
        printf("t=%lld requests=%ld errors=%ld\n",
               (long long)((corio_now() - start) / CORIO_SECOND), requests,
               errors);
        fflush(stdout);
    }
    return 0;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct_us(double p)
{
    if (!nlat)
        return 0;
    size_t i = (size_t)(p * (double)(nlat - 1));
    return (double)lat[i] / 1000.0;
}

static int soak(void *arg)
{
    (void)arg;
    int64_t end = corio_now() + (int64_t)secs * CORIO_SECOND;
    corio_group *g;
    corio_task *rep;
    int rc = corio_group_new(&g);
    if (rc < 0)
        return rc;
    for (int i = 0; i < conns && rc == 0; i++)
        rc = corio_group_spawn(g, crowd, &end);
    if (rc == 0)
        rc = corio_group_spawn(g, probe, &end);
    if (rc == 0)
        rc = corio_task_spawn(&rep, report, &end);
    int wrc = corio_group_wait(g);
    if (rc == 0) {
        corio_task_cancel(rep);
        CORIO_IGNORE(corio_task_join(rep, NULL));
    }
    qsort(lat, nlat, sizeof *lat, cmp64);
    printf("requests %ld errors %ld p50 %.0f p99 %.0f p999 %.0f max %.0f us\n",
           requests, errors, pct_us(0.5), pct_us(0.99), pct_us(0.999),
           pct_us(1.0));
    return rc < 0 ? rc : wrc;
}

/* --flood: a hostile connection beside the probe. */
static int64_t flood_closed = -1;

static int flood(void *arg)
{
    int64_t start = corio_now(), end = *(int64_t *)arg;
    static char crlf[16384];
    corio_stream *s;
    for (size_t i = 0; i < sizeof crlf; i += 2)
        memcpy(crlf + i, "\r\n", 2);
    if (corio_tcp_connect(&s, "127.0.0.1", port) < 0) {
        errors++;
        return 0;
    }
    int rc = 0;
    while (rc == 0 && corio_now() < end) {
        rc = corio_stream_write(s, crlf, sizeof crlf);
        if (rc == 0)
            rc = corio_stream_flush(s);
    }
    if (rc < 0 && rc != -ECANCELED)
        flood_closed = corio_now() - start; /* the server hung up */
    corio_stream_close(s);
    return 0;
}

static int probe_only(void *arg)
{
    int64_t end = corio_now() + (int64_t) * (int *)arg * CORIO_SECOND;
    int rc = probe(&end);
    qsort(lat, nlat, sizeof *lat, cmp64);
    printf("probe: requests %zu errors %ld p50 %.0f p99 %.0f p999 %.0f max "
           "%.0f us\n",
           nlat, errors, pct_us(0.5), pct_us(0.99), pct_us(0.999), pct_us(1.0));
    return rc;
}

static int flood_only(void *arg)
{
    int64_t end = corio_now() + (int64_t) * (int *)arg * CORIO_SECOND;
    int rc = flood(&end);
    if (flood_closed >= 0)
        printf("flood closed by the server after %.3f s\n",
               (double)flood_closed / CORIO_SECOND);
    else
        printf("flood never closed\n");
    return rc;
}

/* --burst: every connection opens, answers once, and waits for all. */
static corio_event all_open;
static int opened, ok;

static int burst_one(void *arg)
{
    (void)arg;
    corio_stream *s = NULL;
    int rc = corio_tcp_connect(&s, "127.0.0.1", port);
    if (rc == 0)
        rc = get(s);
    if (rc == 0)
        ok++;
    else
        errors++;
    if (++opened == conns)
        corio_event_set(&all_open);
    else
        CORIO_IGNORE(corio_event_wait(&all_open));
    corio_stream_close(s);
    return 0;
}

static int burst(void *arg)
{
    (void)arg;
    corio_group *g;
    int rc = corio_group_new(&g);
    corio_event_init(&all_open);
    for (int i = 0; i < conns && rc == 0; i++)
        rc = corio_group_spawn(g, burst_one, NULL);
    int wrc = corio_group_wait(g);
    printf("burst ok %d errors %ld\n", ok, errors);
    return rc < 0 ? rc : wrc;
}

int main(int argc, char **argv)
{
    int result = 0, rc;
    signal(SIGPIPE, SIG_IGN);
    if (argc == 4 &&
        (strcmp(argv[1], "--flood") == 0 || strcmp(argv[1], "--probe") == 0)) {
        port = atoi(argv[2]);
        secs = atoi(argv[3]);
        rc = corio_run(argv[1][2] == 'f' ? flood_only : probe_only, &secs,
                       &result);
    } else if (argc == 4 && strcmp(argv[1], "--burst") == 0) {
        port = atoi(argv[2]);
        conns = atoi(argv[3]);
        rc = corio_run(burst, NULL, &result);
    } else if (argc == 5) {
        port = atoi(argv[1]);
        conns = atoi(argv[2]);
        secs = atoi(argv[3]);
        interval_ms = atoi(argv[4]);
        rc = corio_run(soak, NULL, &result);
    } else {
        fprintf(stderr, "usage: soak_client PORT CONNS SECONDS INTERVAL_MS\n"
                        "       soak_client --burst PORT CONNS\n"
                        "       soak_client --probe PORT SECONDS\n"
                        "       soak_client --flood PORT SECONDS\n");
        return 2;
    }
    if (rc < 0 || result < 0)
        fprintf(stderr, "soak_client: %s\n",
                corio_strerror(rc < 0 ? rc : result));
    return rc < 0 || result < 0 || errors > 0;
}

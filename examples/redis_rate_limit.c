/* redis_rate_limit.c — one rate limit shared by several processes, kept in
 * Redis: a fixed window counted with INCR, expired with EXPIRE, both in
 * one MULTI/EXEC so no count is ever left without its expiry.
 *
 * The asyncio original (the seeds' RateLimiter, which only limits its own
 * process; with redis.asyncio it limits all of them together):
 *
 *     async def allow(r, window_key, limit=10, window_s=60):
 *         async with r.pipeline(transaction=True) as p:
 *             count, _ = await p.incr(window_key).expire(window_key, window_s,
 * nx=True).execute() return count <= limit
 *
 * The C twin starts two copies of itself as worker processes (in the same
 * window: the parent names it), each attempting 8 calls at once from 8
 * tasks; each worker reports what it was allowed, and the parent shows
 * that together they stayed at the limit of 10 however the 16 attempts
 * interleaved.  CORIO_REDIS_URL names the server (default
 * redis://127.0.0.1:6379). */
#include <corio.h>
#include <corio/redis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIMIT 10
#define WINDOW_S 60
#define ATTEMPTS 8

static const char *redis_url(void)
{
    const char *u = getenv("CORIO_REDIS_URL");
    return u ? u : "redis://127.0.0.1:6379";
}

struct attempt {
    corio_redis *redis;
    const char *window_key;
    int allowed;
};

/* async def allow(r, window_key): 1 if allowed, 0 if over the limit */
static int allow(void *arg)
{
    struct attempt *a = arg;
    corio_redis_pipeline *p;
    corio_redis_reply *r;
    int rc = corio_redis_pipeline_new(&p, CORIO_REDIS_TRANSACTION);
    if (rc < 0)
        return rc;
    if ((rc = corio_redis_pipeline_append(p, "INCR %s", a->window_key)) == 0 &&
        (rc = corio_redis_pipeline_append(p, "EXPIRE %s %d NX", a->window_key,
                                          WINDOW_S)) == 0)
        rc = corio_redis_pipeline_exec(p, a->redis, &r);
    corio_redis_pipeline_free(p);
    if (rc < 0)
        return rc;
    long long count =
        corio_redis_reply_integer(corio_redis_reply_element(r, 0));
    corio_redis_reply_free(r);
    a->allowed = count <= LIMIT;
    return 0;
}

/* A worker process: ATTEMPTS concurrent calls on one connection; prints
 * how many were allowed. */
static int worker(void *arg)
{
    const char *window_key = arg;
    corio_redis *redis;
    int rc = corio_redis_connect(&redis, redis_url());
    if (rc < 0)
        return rc;
    struct attempt a[ATTEMPTS];
    corio_task *t[ATTEMPTS];
    for (int i = 0; i < ATTEMPTS; i++) {
        a[i] = (struct attempt){.redis = redis, .window_key = window_key};
        if ((rc = corio_task_spawn(&t[i], allow, &a[i])) < 0)
            return rc;
    }
    rc = corio_gather(t, ATTEMPTS, NULL);
    int allowed = 0;
    for (int i = 0; i < ATTEMPTS; i++)
        allowed += a[i].allowed;
    printf("%d\n", allowed);
    corio_redis_close(redis);
    return rc;
}

static const char *self_path;

static int parent(void *arg)
{
    (void)arg;
    char window_key[64];
    snprintf(window_key, sizeof window_key, "ratelimit:%ld:window",
             (long)getpid());
    const char *argv[] = {self_path, "worker", window_key, NULL};
    corio_process_opts o = {.stdout_mode = CORIO_STDIO_PIPE};
    corio_process *p[2] = {0};
    corio_process_output out[2] = {0};
    int rc = 0, total = 0;
    for (int i = 0; i < 2 && rc == 0; i++)
        rc = corio_process_spawn(&p[i], argv, &o);
    for (int i = 0; i < 2 && rc == 0; i++) {
        rc = corio_process_communicate(p[i], NULL, 0, 0, &out[i]);
        if (rc == 0 && out[i].status != 0)
            rc = -EIO;
        if (rc == 0)
            total += atoi(out[i].out);
    }
    if (rc == 0) {
        printf("2 processes x %d attempts in one window, limit %d:\n", ATTEMPTS,
               LIMIT);
        printf("  allowed together: %d\n", total);
        printf("  refused together: %d\n", 2 * ATTEMPTS - total);
        printf("  %s\n", total == LIMIT ? "the limit held across processes"
                                        : "LIMIT BROKEN");
    }
    for (int i = 0; i < 2; i++) {
        corio_process_output_destroy(&out[i]);
        corio_process_close(p[i]);
    }
    corio_redis *redis;
    if (corio_redis_connect(&redis, redis_url()) == 0) {
        corio_redis_reply *r;
        if (corio_redis_command(redis, &r, "DEL %s", window_key) == 0)
            corio_redis_reply_free(r);
        corio_redis_close(redis);
    }
    return rc;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    (void)argv;
    self_path = "/proc/self/exe"; /* this very program, whatever argv[0] says */
    int rc, res = 0;
    if (argc == 3 && !strcmp(argv[1], "worker"))
        rc = corio_run(worker, argv[2], &res);
    else
        rc = corio_run(parent, NULL, &res);
    if (rc == 0)
        rc = res;
    if (rc < 0) {
        fprintf(stderr, "redis_rate_limit: %d\n", rc);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

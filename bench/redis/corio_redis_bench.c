/* corio_redis_bench.c — GET or SET of 64-byte values from many tasks, the
 * corio side of bench/redis/run.sh.
 *
 *   redis_bench URL pooled|shared get|set TASKS CONNS N
 *
 *   pooled  one command in flight per task, each on a connection borrowed
 *           from a pool of TASKS connections (corio_redis_pool_command per
 *           command): redis-benchmark -P 1's shape.
 *   shared  TASKS tasks share CONNS connections (task i uses connection
 *           i % CONNS): their commands are pipelined automatically.
 * Runs until N commands have completed (after a warm-up of N/10) and prints
 * "ops_per_s cpu_us_per_op" for the timed part (CPU from getrusage, user +
 * system, of this process). */
#include <corio.h>
#include <corio/redis.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char *url, *mode, *op;
static int ntasks, nconns;
static long target, done_ops;
static corio_redis_pool *pool;
static corio_redis **conns;
static char value[65];

static int one(corio_redis *c, long i)
{
    (void)i;
    corio_redis_reply *r;
    int rc;
    if (op[0] == 's') {
        if (c)
            rc = corio_redis_command(c, &r, "SET key:__rand_int__ %b", value,
                                     (size_t)64);
        else
            rc = corio_redis_pool_command(pool, &r, "SET key:__rand_int__ %b",
                                          value, (size_t)64);
    } else {
        if (c)
            rc = corio_redis_command(c, &r, "GET key:__rand_int__");
        else
            rc = corio_redis_pool_command(pool, &r, "GET key:__rand_int__");
    }
    corio_redis_reply_free(r);
    return rc;
}

static int worker(void *arg)
{
    long id = (long)arg;
    corio_redis *c = mode[0] == 's' ? conns[id % nconns] : NULL;
    while (done_ops < target) {
        int rc = one(c, id);
        if (rc < 0)
            return rc;
        done_ops++;
    }
    return 0;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int round_of(long n)
{
    corio_task **t = calloc((size_t)ntasks, sizeof *t);
    done_ops = 0;
    target = n;
    for (long i = 0; i < ntasks; i++)
        if (corio_task_spawn(&t[i], worker, (void *)i) < 0)
            return -ENOMEM;
    int rc = corio_gather(t, (size_t)ntasks, NULL);
    free(t);
    return rc;
}

static int bench(void *arg)
{
    long n = *(long *)arg;
    int rc;
    memset(value, 'x', 64);
    if (mode[0] == 's') {
        conns = calloc((size_t)nconns, sizeof *conns);
        for (int i = 0; i < nconns; i++)
            if ((rc = corio_redis_connect(&conns[i], url)) < 0)
                return rc;
    } else {
        corio_redis_pool_opts po = {.max_connections = (size_t)ntasks};
        if ((rc = corio_redis_pool_new(&pool, url, &po)) < 0)
            return rc;
    }
    if ((rc = round_of(n / 10)) < 0) /* warm-up: connections made */
        return rc;
    double c0 = cpu_s();
    int64_t t0 = corio_now();
    if ((rc = round_of(n)) < 0)
        return rc;
    double secs = (double)(corio_now() - t0) / 1e9;
    double cpu = cpu_s() - c0;
    printf("%.0f %.3f\n", (double)done_ops / secs,
           cpu * 1e6 / (double)done_ops);
    if (conns)
        for (int i = 0; i < nconns; i++)
            corio_redis_close(conns[i]);
    corio_redis_pool_free(pool);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: %s URL pooled|shared get|set TASKS CONNS N\n",
                argv[0]);
        return 2;
    }
    url = argv[1];
    mode = argv[2];
    op = argv[3];
    ntasks = atoi(argv[4]);
    nconns = atoi(argv[5]);
    long n = atol(argv[6]);
    int res, rc = corio_run(bench, &n, &res);
    if (rc == 0)
        rc = res;
    if (rc < 0) {
        fprintf(stderr, "redis_bench: %s\n", corio_strerror(rc));
        return 1;
    }
    return 0;
}

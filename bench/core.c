/* bench/core.c — benchmarks of the core runtime, through the public API only.
 *
 * Each metric prints one or more machine-readable lines `metric value` on
 * stdout (bench/run.sh reads them); diagnostics go to stderr.
 *
 *   spawn    spawn_join_ns: spawn and join trivial tasks in batches of 1,000
 *            with corio_gather; ns per task, median of REPS runs of TOTAL
 *            tasks after one warm-up run.
 *   switch   switch_ns: two tasks calling corio_yield() in turn (ping-pong);
 *            ns per switch (one yield = one switch), median of REPS runs.
 *   sleep    sleep_rss_kib / sleep_pte_kib: N tasks sleeping at once; VmRSS
 *            and VmPTE growth from /proc/self/status divided by N, measured
 *            once every task has parked in corio_sleep().  Each task sleeps
 *            DELAY_MS again and again until released after the measurement,
 *            so none can finish early; sleep_count is how many finished
 *            normally (must be N), sleep_early how many had finished when
 *            memory was measured (must be 0), sleep_rewaits how many sleeps
 *            ended before the measurement (spawning took longer than one).
 *   timers   timer_ns_N: N tasks each sleeping 1 h (a timer each), then all
 *            cancelled and gathered; ns per task for spawn + arm + cancel +
 *            join, median of 5 runs (1 at N >= 1,000,000) after a warm-up at
 *            the same N, which commits the stacks.  The
 *            phases are printed too (timer_arm_ns_N: first run up to the
 *            armed sleep; timer_cancel_ns_N: cancel, wake, finish, gather).
 *
 * Usage:
 *   core                        everything, default sizes
 *   core spawn [TOTAL [REPS]]   default 1000000 5
 *   core switch [N [REPS]]      N yields per task, default 2000000 5
 *   core sleep [N [DELAY_MS]] [--virtual]
 *                               default 1000000 1000; --virtual runs the loop
 *                               on the virtual clock
 *   core timers [N ...]         default 10000 100000 1000000 */
#include <corio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 1000

static void die(const char *what, int rc)
{
    fprintf(stderr, "core: %s: %s (%d)\n", what, corio_strerror(rc), rc);
    exit(1);
}

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* VmRSS and VmPTE of this process, in KiB. */
static void read_mem(long *rss_kib, long *pte_kib)
{
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");

    *rss_kib = *pte_kib = -1;
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "VmRSS:", 6))
            *rss_kib = strtol(line + 6, NULL, 10);
        else if (!strncmp(line, "VmPTE:", 6))
            *pte_kib = strtol(line + 6, NULL, 10);
    }
    fclose(f);
}

/* Allocate n bytes and touch every page, so that the memory a benchmark
 * needs for its own bookkeeping is already resident in the baseline. */
static void *xalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p) {
        fprintf(stderr, "core: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    memset(p, 0, n);
    return p;
}

static void run(const corio_options *opts, corio_fn fn, void *arg)
{
    int result = 0;
    int rc = corio_run_ex(fn, arg, &result, opts);

    if (rc == 0)
        rc = result;
    if (rc < 0)
        die("corio_run", rc);
}

/* ---- spawn: spawn + gather in batches ---------------------------------- */

struct spawn_bench {
    long total;
    int reps;
    double *ns;
};

static int trivial(void *arg)
{
    (void)arg;
    return 0;
}

static int64_t spawn_round(long total)
{
    corio_task *tasks[BATCH];
    int results[BATCH];
    int64_t t0 = now_ns();
    long done;
    int i, rc;

    for (done = 0; done < total; done += BATCH) {
        for (i = 0; i < BATCH; i++) {
            rc = corio_task_spawn(&tasks[i], trivial, NULL);
            if (rc < 0)
                die("corio_task_spawn", rc);
        }
        rc = corio_gather(tasks, BATCH, results);
        if (rc < 0)
            die("corio_gather", rc);
    }
    return now_ns() - t0;
}

static int spawn_main(void *arg)
{
    struct spawn_bench *b = arg;
    int r;

    spawn_round(b->total); /* warm-up: fills the stack pool */
    for (r = 0; r < b->reps; r++)
        b->ns[r] = (double)spawn_round(b->total) / (double)b->total;
    return 0;
}

static void bench_spawn(long total, int reps)
{
    struct spawn_bench b;

    total = (total + BATCH - 1) / BATCH * BATCH;
    b.total = total;
    b.reps = reps;
    b.ns = xalloc(sizeof(double) * (size_t)reps);
    run(NULL, spawn_main, &b);
    printf("spawn_join_ns %.2f\n", median(b.ns, reps));
    free(b.ns);
}

/* ---- switch: yield ping-pong ------------------------------------------- */

struct switch_bench {
    long n;
    int reps;
    double *ns;
};

static int pinger(void *arg)
{
    long i, n = *(long *)arg;
    int rc;

    for (i = 0; i < n; i++) {
        rc = corio_yield();
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int switch_main(void *arg)
{
    struct switch_bench *b = arg;
    corio_task *t[2];
    int64_t t0;
    int r, rc;

    for (r = -1; r < b->reps; r++) { /* r == -1: warm-up */
        long n = r < 0 ? b->n / 10 : b->n;

        t0 = now_ns();
        if ((rc = corio_task_spawn(&t[0], pinger, &n)) < 0 ||
            (rc = corio_task_spawn(&t[1], pinger, &n)) < 0)
            die("corio_task_spawn", rc);
        rc = corio_gather(t, 2, NULL);
        if (rc < 0)
            die("corio_gather", rc);
        if (r >= 0)
            b->ns[r] = (double)(now_ns() - t0) / (2.0 * (double)n);
    }
    return 0;
}

static void bench_switch(long n, int reps)
{
    struct switch_bench b = {n, reps, xalloc(sizeof(double) * (size_t)reps)};

    run(NULL, switch_main, &b);
    printf("switch_ns %.2f\n", median(b.ns, reps));
    free(b.ns);
}

/* ---- sleep: memory of N sleeping tasks --------------------------------- */

struct sleep_bench {
    long n;
    int64_t delay;
    int released;
    long started, woke, wakeups;
    long early, rewaits;
    long rss0, pte0, rss1, pte1;
    int64_t spawn_ns, park_ns, wait_ns;
};

static int sleeper(void *arg)
{
    struct sleep_bench *b = arg;
    int rc;

    b->started++;
    /* Sleep again until released, so that no task can finish (and give its
     * memory back) before memory is measured, however long spawning takes;
     * the peers do the same. */
    for (;;) {
        rc = corio_sleep(b->delay);
        if (rc < 0)
            return rc;
        if (b->released)
            break;
        b->wakeups++;
    }
    b->woke++;
    return 0;
}

static int sleep_main(void *arg)
{
    struct sleep_bench *b = arg;
    corio_task **tasks = xalloc(sizeof(*tasks) * (size_t)b->n);
    int *results = xalloc(sizeof(*results) * (size_t)b->n);
    int64_t t0, t1, t2;
    long i;
    int rc;

    read_mem(&b->rss0, &b->pte0);
    t0 = now_ns();
    for (i = 0; i < b->n; i++) {
        rc = corio_task_spawn(&tasks[i], sleeper, b);
        if (rc < 0) {
            fprintf(stderr, "core: spawned %ld of %ld\n", i, b->n);
            die("corio_task_spawn", rc);
        }
    }
    t1 = now_ns();
    /* One yield lets every spawned task run up to its sleep; loop anyway in
     * case the scheduler ever splits a pass. */
    while (b->started < b->n)
        if ((rc = corio_yield()) < 0)
            die("corio_yield", rc);
    t2 = now_ns();
    read_mem(&b->rss1, &b->pte1);
    b->early = b->woke;
    b->rewaits = b->wakeups;
    b->released = 1;
    rc = corio_gather(tasks, (size_t)b->n, results);
    if (rc < 0)
        die("corio_gather", rc);
    b->spawn_ns = t1 - t0;
    b->park_ns = t2 - t1;
    b->wait_ns = now_ns() - t2;
    free(tasks);
    free(results);
    return 0;
}

static void bench_sleep(long n, int64_t delay_ms, int virtual_clock)
{
    struct sleep_bench b;
    corio_options o;

    memset(&b, 0, sizeof b);
    memset(&o, 0, sizeof o);
    o.virtual_clock = virtual_clock;
    b.n = n;
    b.delay = delay_ms * CORIO_MS;
    run(&o, sleep_main, &b);
    printf("sleep_n %ld\n", n);
    printf("sleep_rss_kib %.3f\n", (double)(b.rss1 - b.rss0) / (double)n);
    printf("sleep_pte_kib %.3f\n", (double)(b.pte1 - b.pte0) / (double)n);
    printf("sleep_count %ld\n", b.woke);
    printf("sleep_early %ld\n", b.early);
    printf("sleep_rewaits %ld\n", b.rewaits);
    printf("sleep_spawn_ns %.2f\n", (double)b.spawn_ns / (double)n);
    printf("sleep_park_ns %.2f\n", (double)b.park_ns / (double)n);
    printf("sleep_wait_ms %.1f\n", (double)b.wait_ns / 1e6);
    if (b.woke != n || b.early != 0)
        fprintf(stderr,
                "core: sleep: %ld of %ld woke, %ld before the measurement\n",
                b.woke, n, b.early);
}

/* ---- timers: N sleeping tasks, all cancelled --------------------------- */

struct timer_bench {
    long n;
    int reps;
    corio_task **tasks;
    long started, cancelled;
    double *total, *arm, *cancel;
};

static int hour_sleeper(void *arg)
{
    struct timer_bench *b = arg;
    int rc;

    b->started++;
    rc = corio_sleep(3600 * CORIO_SECOND);
    if (rc != -ECANCELED)
        return rc < 0 ? rc : -EPROTO; /* woke without being cancelled */
    b->cancelled++;
    return 0;
}

static int timer_main(void *arg)
{
    struct timer_bench *b = arg;
    int64_t t0, t1, t2;
    double n = (double)b->n;
    long i;
    int r, rc;

    for (r = -1; r < b->reps; r++) { /* r == -1: warm-up at the same n */
        b->started = b->cancelled = 0;
        t0 = now_ns();
        for (i = 0; i < b->n; i++)
            if ((rc = corio_task_spawn(&b->tasks[i], hour_sleeper, b)) < 0)
                die("corio_task_spawn", rc);
        while (b->started < b->n)
            if ((rc = corio_yield()) < 0)
                die("corio_yield", rc);
        t1 = now_ns();
        for (i = 0; i < b->n; i++)
            corio_task_cancel(b->tasks[i]);
        rc = corio_gather(b->tasks, (size_t)b->n, NULL);
        t2 = now_ns();
        if (rc < 0)
            die("corio_gather (a timer fired or was lost)", rc);
        if (b->cancelled != b->n) {
            fprintf(stderr, "core: timers: %ld of %ld cancelled\n",
                    b->cancelled, b->n);
            exit(1);
        }
        if (r >= 0) {
            b->total[r] = (double)(t2 - t0) / n;
            b->arm[r] = (double)(t1 - t0) / n;
            b->cancel[r] = (double)(t2 - t1) / n;
        }
    }
    return 0;
}

static void bench_timers(long n, int reps)
{
    struct timer_bench b;

    memset(&b, 0, sizeof b);
    b.n = n;
    b.reps = reps;
    b.tasks = xalloc(sizeof(*b.tasks) * (size_t)n);
    b.total = xalloc(sizeof(double) * (size_t)reps);
    b.arm = xalloc(sizeof(double) * (size_t)reps);
    b.cancel = xalloc(sizeof(double) * (size_t)reps);
    run(NULL, timer_main, &b);
    printf("timer_ns_%ld %.2f\n", n, median(b.total, reps));
    printf("timer_arm_ns_%ld %.2f\n", n, median(b.arm, reps));
    printf("timer_cancel_ns_%ld %.2f\n", n, median(b.cancel, reps));
    free(b.tasks);
    free(b.total);
    free(b.arm);
    free(b.cancel);
}

/* ---- command line ------------------------------------------------------- */

static long arg_long(int argc, char **argv, int i, long dflt)
{
    char *end;
    long v;

    if (i >= argc || argv[i][0] == '-')
        return dflt;
    v = strtol(argv[i], &end, 10);
    if (*end || v <= 0) {
        fprintf(stderr, "core: bad number '%s'\n", argv[i]);
        exit(2);
    }
    return v;
}

static int has_flag(int argc, char **argv, const char *flag)
{
    int i;

    for (i = 1; i < argc; i++)
        if (!strcmp(argv[i], flag))
            return 1;
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: core [spawn [TOTAL [REPS]] | switch [N [REPS]] |"
                    " sleep [N [DELAY_MS]] [--virtual] | timers [N ...]]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "all";
    int all = !strcmp(what, "all");
    int i;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (all || !strcmp(what, "spawn"))
        bench_spawn(arg_long(argc, argv, 2, 1000000),
                    (int)arg_long(argc, argv, 3, 5));
    if (all || !strcmp(what, "switch"))
        bench_switch(arg_long(argc, argv, 2, 2000000),
                     (int)arg_long(argc, argv, 3, 5));
    if (all || !strcmp(what, "sleep"))
        bench_sleep(arg_long(argc, argv, 2, 1000000),
                    arg_long(argc, argv, 3, 1000),
                    has_flag(argc, argv, "--virtual"));
    if (all || !strcmp(what, "timers")) {
        if (argc <= 2) {
            bench_timers(10000, 5);
            bench_timers(100000, 5);
            bench_timers(1000000, 1);
        }
        for (i = 2; i < argc; i++) {
            long n = arg_long(argc, argv, i, 0);
            bench_timers(n, n >= 1000000 ? 1 : 5);
        }
    }
    if (!all && strcmp(what, "spawn") && strcmp(what, "switch") &&
        strcmp(what, "sleep") && strcmp(what, "timers"))
        return usage();
    return 0;
}

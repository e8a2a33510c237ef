/* bench/sync.c — benchmarks of the sync primitives (corio/sync.h), through
 * the public API only.  Same conventions as bench/core.c: each metric prints
 * `metric value` lines on stdout (bench/run.sh reads them), diagnostics go
 * to stderr, and each figure is the median of REPS runs after a warm-up.
 *
 *   queue    queue_rt_ns: two tasks and two unbounded FIFO corio_queues,
 *            one each way; the pinger puts on the first and gets from the
 *            second, the ponger gets and puts back: ns per round trip (one
 *            put+get each way, two task switches).
 *   lock     lock_ns: corio_lock_acquire + corio_lock_release in a loop in one
 *            task, nobody else wanting the lock; ns per pair.
 *   handoff  lock_handoff_ns: two tasks each looping lock, corio_yield,
 *            unlock, so that the other is always waiting when the lock is
 *            released; ns per acquisition.  lock_handoff_share: the share
 *            of acquisitions that changed the owner (1 for a FIFO hand-off;
 *            the peers print theirs too).
 *   limiter  limiter_ns: corio_limiter_acquire(l, 1) in a loop on a bucket
 *            of rate 1e12 tokens/s and burst 1e9, so that it never waits:
 *            ns per acquire.
 *
 * Usage:
 *   sync                        everything, default sizes
 *   sync queue [N [REPS]]       N round trips, default 1000000 5
 *   sync lock [N [REPS]]        default 20000000 5
 *   sync handoff [N [REPS]]     N acquisitions per task, default 1000000 5
 *   sync limiter [N [REPS]]     default 20000000 5 */
#include <corio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void die(const char *what, int rc)
{
    fprintf(stderr, "sync: %s: %s (%d)\n", what, corio_strerror(rc), rc);
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

static double *xdoubles(int n)
{
    double *p = calloc((size_t)n, sizeof *p);

    if (!p) {
        fprintf(stderr, "sync: out of memory\n");
        exit(1);
    }
    return p;
}

/* Common shape: each benchmark's main task fills ns[0..reps-1]; a warm-up
 * run (r == -1, a tenth of n) comes first. */
struct bench {
    long n;
    int reps;
    double *ns;
    double share; /* handoff only */
};

static void run(corio_fn fn, struct bench *b)
{
    int result = 0;
    int rc = corio_run(fn, b, &result);

    if (rc == 0)
        rc = result;
    if (rc < 0)
        die("corio_run", rc);
}

static long warm(const struct bench *b, int r)
{
    return r < 0 ? (b->n / 10 > 0 ? b->n / 10 : 1) : b->n;
}

/* ---- queue: ping-pong over two queues ---------------------------------- */

struct pingpong {
    corio_queue *there, *back;
    long n;
};

static int pinger(void *arg)
{
    struct pingpong *p = arg;
    void *item;
    long i;
    int rc;

    for (i = 0; i < p->n; i++) {
        if ((rc = corio_queue_put(p->there, (void *)(i + 1))) < 0 ||
            (rc = corio_queue_get(p->back, &item)) < 0)
            return rc;
        if (item != (void *)(i + 1))
            return -EPROTO;
    }
    return 0;
}

static int ponger(void *arg)
{
    struct pingpong *p = arg;
    void *item;
    long i;
    int rc;

    for (i = 0; i < p->n; i++) {
        if ((rc = corio_queue_get(p->there, &item)) < 0 ||
            (rc = corio_queue_put(p->back, item)) < 0)
            return rc;
    }
    return 0;
}

static int queue_main(void *arg)
{
    struct bench *b = arg;
    struct pingpong p;
    corio_task *t[2];
    int results[2];
    int64_t t0;
    int r, rc;

    if ((rc = corio_queue_new(&p.there, NULL)) < 0 ||
        (rc = corio_queue_new(&p.back, NULL)) < 0)
        die("corio_queue_new", rc);
    for (r = -1; r < b->reps; r++) {
        p.n = warm(b, r);
        t0 = now_ns();
        if ((rc = corio_task_spawn(&t[0], ponger, &p)) < 0 ||
            (rc = corio_task_spawn(&t[1], pinger, &p)) < 0)
            die("corio_task_spawn", rc);
        if ((rc = corio_gather(t, 2, results)) < 0)
            die("corio_gather", rc);
        if (results[0] < 0 || results[1] < 0)
            die("ping-pong", results[0] < 0 ? results[0] : results[1]);
        if (r >= 0)
            b->ns[r] = (double)(now_ns() - t0) / (double)p.n;
    }
    corio_queue_free(p.there);
    corio_queue_free(p.back);
    return 0;
}

/* ---- lock: uncontended lock + unlock ----------------------------------- */

static int lock_main(void *arg)
{
    struct bench *b = arg;
    corio_lock l;
    int64_t t0;
    long i, n;
    int r, rc;

    corio_lock_init(&l);
    for (r = -1; r < b->reps; r++) {
        n = warm(b, r);
        t0 = now_ns();
        for (i = 0; i < n; i++) {
            if ((rc = corio_lock_acquire(&l)) < 0)
                die("corio_lock_acquire", rc);
            if ((rc = corio_lock_release(&l)) < 0)
                die("corio_lock_release", rc);
        }
        if (r >= 0)
            b->ns[r] = (double)(now_ns() - t0) / (double)n;
    }
    corio_lock_destroy(&l);
    return 0;
}

/* ---- handoff: two tasks taking a lock in turn -------------------------- */

struct handoff {
    corio_lock lock;
    long n;
    int last;     /* who held the lock last: 0, 1, or -1 */
    long changes; /* acquisitions that changed the owner */
};

struct handoff_arg {
    struct handoff *h;
    int id;
};

static int contender(void *arg)
{
    struct handoff_arg *a = arg;
    struct handoff *h = a->h;
    long i;
    int rc;

    for (i = 0; i < h->n; i++) {
        if ((rc = corio_lock_acquire(&h->lock)) < 0)
            return rc;
        if (h->last != a->id)
            h->changes++;
        h->last = a->id;
        if ((rc = corio_yield()) < 0 || (rc = corio_lock_release(&h->lock)) < 0)
            return rc;
    }
    return 0;
}

static int handoff_main(void *arg)
{
    struct bench *b = arg;
    struct handoff h;
    struct handoff_arg a[2] = {{&h, 0}, {&h, 1}};
    corio_task *t[2];
    int results[2];
    int64_t t0;
    int r, rc;

    corio_lock_init(&h.lock);
    for (r = -1; r < b->reps; r++) {
        h.n = warm(b, r);
        h.last = -1;
        h.changes = 0;
        t0 = now_ns();
        if ((rc = corio_task_spawn(&t[0], contender, &a[0])) < 0 ||
            (rc = corio_task_spawn(&t[1], contender, &a[1])) < 0)
            die("corio_task_spawn", rc);
        if ((rc = corio_gather(t, 2, results)) < 0)
            die("corio_gather", rc);
        if (results[0] < 0 || results[1] < 0)
            die("contender", results[0] < 0 ? results[0] : results[1]);
        if (r >= 0) {
            b->ns[r] = (double)(now_ns() - t0) / (2.0 * (double)h.n);
            b->share = (double)h.changes / (2.0 * (double)h.n);
        }
    }
    corio_lock_destroy(&h.lock);
    return 0;
}

/* ---- limiter: acquire that never waits --------------------------------- */

static int limiter_main(void *arg)
{
    struct bench *b = arg;
    corio_limiter *l;
    int64_t t0;
    long i, n;
    int r, rc;

    if ((rc = corio_limiter_new(&l, 1e12, 1000000000)) < 0)
        die("corio_limiter_new", rc);
    for (r = -1; r < b->reps; r++) {
        n = warm(b, r);
        t0 = now_ns();
        for (i = 0; i < n; i++)
            if ((rc = corio_limiter_acquire(l, 1)) < 0)
                die("corio_limiter_acquire", rc);
        if (r >= 0)
            b->ns[r] = (double)(now_ns() - t0) / (double)n;
    }
    corio_limiter_free(l);
    return 0;
}

/* ---- command line ------------------------------------------------------- */

static long arg_long(int argc, char **argv, int i, long dflt)
{
    char *end;
    long v;

    if (i >= argc)
        return dflt;
    v = strtol(argv[i], &end, 10);
    if (*end || v <= 0) {
        fprintf(stderr, "sync: bad number '%s'\n", argv[i]);
        exit(2);
    }
    return v;
}

static void bench(const char *metric, corio_fn fn, long n, int reps)
{
    struct bench b = {n, reps, xdoubles(reps), 0};

    run(fn, &b);
    printf("%s %.2f\n", metric, median(b.ns, reps));
    if (fn == handoff_main)
        printf("lock_handoff_share %.5f\n", b.share);
    free(b.ns);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name, *metric;
        corio_fn fn;
        long n;
    } all[] = {
        {"queue", "queue_rt_ns", queue_main, 1000000},
        {"lock", "lock_ns", lock_main, 20000000},
        {"handoff", "lock_handoff_ns", handoff_main, 1000000},
        {"limiter", "limiter_ns", limiter_main, 20000000},
    };
    const char *what = argc > 1 ? argv[1] : "all";
    size_t i;
    int found = 0;

    setvbuf(stdout, NULL, _IOLBF, 0);
    for (i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(what, "all") && strcmp(what, all[i].name))
            continue;
        found = 1;
        bench(all[i].metric, all[i].fn, arg_long(argc, argv, 2, all[i].n),
              (int)arg_long(argc, argv, 3, 5));
    }
    if (!found) {
        fprintf(stderr,
                "usage: sync [queue|lock|handoff|limiter [N [REPS]]]\n");
        return 2;
    }
    return 0;
}

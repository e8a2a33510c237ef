/* bench/multicore/messaging.c — messages between two loops (pinned to CPUs
 * 0 and 1 by bench/multicore/run.sh through corio_loops_opts):
 *
 *   call   corio_loop_call round trips: a task on loop 0 calls a function
 *          that returns at once on loop 1, CALLS times in a row.
 *   post   corio_loop_post one way: loop 1 posts POSTS calls to loop 0,
 *          which counts them; timed until the last has run.
 *
 * Prints "call <round trips/s>" and "post <posts/s>".
 *
 *   messaging [CALLS [POSTS [CPU0 CPU1 [POLL_NS]]]]
 *
 * POLL_NS is corio_loops_opts.poll_ns (0: the default; -1: no polling). */
#include <corio.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long calls = 200000, posts = 2000000;
static long received;
static corio_event all_in;
static double call_rate, post_rate;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int echo(void *arg)
{
    return (int)(intptr_t)arg;
}

static void count(void *arg)
{
    (void)arg;
    if (++received == posts)
        corio_event_set(&all_in);
}

static int bench_main(void *arg)
{
    (void)arg;
    if (corio_loop_index() == 1) {
        /* Posts start once loop 0 asks (after the calls). */
        return 0;
    }
    corio_loop *peer = corio_loop_at(1);
    double t0 = now();
    for (long i = 0; i < calls; i++) {
        int r;
        if (corio_loop_call(peer, echo, (void *)(intptr_t)i, &r) < 0 ||
            r != (int)i)
            return -EIO;
    }
    call_rate = (double)calls / (now() - t0);
    return 0;
}

static int poster(void *arg)
{
    (void)arg;
    corio_loop *to = corio_loop_at(0);
    for (long i = 0; i < posts; i++)
        while (corio_loop_post(to, count, NULL) == -ENOMEM)
            ;
    return 0;
}

static int post_main(void *arg)
{
    (void)arg;
    if (corio_loop_index() == 1)
        return corio_loop_call(corio_loop_at(1), poster, NULL, NULL);
    double t0 = now();
    int rc = corio_event_wait(&all_in);
    post_rate = (double)posts / (now() - t0);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc > 1)
        calls = atol(argv[1]);
    if (argc > 2)
        posts = atol(argv[2]);
    int cpus[2] = {0, 1};
    if (argc > 4) {
        cpus[0] = atoi(argv[3]);
        cpus[1] = atoi(argv[4]);
    }
    corio_loops_opts o = {.cpus = cpus, .ncpus = 2};
    if (argc > 5)
        o.poll_ns = atoll(argv[5]);
    int result = 0;
    corio_event_init(&all_in);
    if (corio_run_loops(2, &o, bench_main, NULL, &result) < 0 || result < 0 ||
        corio_run_loops(2, &o, post_main, NULL, &result) < 0 || result < 0) {
        fprintf(stderr, "messaging: failed\n");
        return 1;
    }
    corio_event_destroy(&all_in);
    printf("call %.0f\npost %.0f\n", call_rate, post_rate);
    return 0;
}

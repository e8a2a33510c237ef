/* worker_thread.c — plain worker threads and a loop feeding each other.
 *
 * The asyncio pattern (seeds "Integration with Synchronous Code" and "Use
 * threading when dealing with blocking C extensions / legacy code"): some
 * threads you own, not a pool, do blocking or CPU-heavy work; the loop
 * hands them jobs and gets the results back without ever blocking.  In
 * Python that takes loop.call_soon_threadsafe() or a queue.Queue /
 * janus-style bridge; in corio:
 *
 *   - corio_chan: a bounded, thread-safe channel.  The same put/get called
 *     from a task suspends only that task; called from a plain thread it
 *     blocks that thread.  Here one channel carries jobs from the loop to
 *     the workers, another carries results back.
 *   - corio_remote_call(): any thread runs a function on the loop's thread
 *     (call_soon_threadsafe).  Each worker says goodbye through it; the
 *     function runs on the loop and may touch loop-side state (here a
 *     counter and a corio_event), because that is the only thread that
 *     ever does.
 *
 * Which worker takes which job, and the order in which results arrive,
 * depend on the operating system's scheduler, so the program prints the
 * results sorted by job rather than as they arrive. */
#include <corio.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define NWORKER 4
#define NJOB 12
#define SPAN 50000 /* job k counts the primes in [k * SPAN, (k + 1) * SPAN) */

struct job {
    int id;
    int primes; /* the answer, written by a worker */
};

/* Everything the threads share with the loop.  Static, not on a task's
 * stack: a goodbye posted by a worker may run on the loop after the task
 * that started the worker has returned. */
static struct app {
    corio_chan *jobs, *results;
    corio_remote *remote;
    corio_event all_gone; /* set when every worker has said goodbye */
    int gone, reported;   /* loop thread only */
    int ended;            /* loop thread only: all_gone destroyed */
    struct worker {
        int id;
        int done; /* jobs done: written by the worker, read on the loop */
        pthread_t thread;
    } workers[NWORKER];
    struct job table[NJOB];
} app;

static int is_prime(int n)
{
    if (n < 2)
        return 0;
    for (int d = 2; d * d <= n; d++)
        if (n % d == 0)
            return 0;
    return 1;
}

/* Runs on the loop thread, outside any task: must not suspend. */
static void goodbye(void *arg)
{
    struct worker *w = arg;
    /* w->done was written before the call was posted, so it is safe to
     * read here: the post orders the two threads' memory. */
    app.reported += w->done;
    if (++app.gone == NWORKER && !app.ended)
        corio_event_set(&app.all_gone);
}

/* A plain pthread: no loop, no task.  corio_chan_get/put block it. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    void *p;

    while (corio_chan_get(app.jobs, &p) == 0) { /* CORIO_ESHUTDOWN: no more */
        struct job *job = p;
        int count = 0;
        for (int n = job->id * SPAN; n < (job->id + 1) * SPAN; n++)
            count += is_prime(n);
        job->primes = count;
        w->done++;
        if (corio_chan_put(app.results, job) < 0)
            break; /* the loop closed the channel: it is shutting down */
    }
    /* loop.call_soon_threadsafe(goodbye, w) */
    if (corio_remote_call(app.remote, goodbye, w) < 0)
        fprintf(stderr, "worker %d: the loop is gone\n", w->id);
    return NULL;
}

/* The loop feeding the workers: a task, so waiting for room in the jobs
 * channel suspends only this task. */
static int feeder(void *arg)
{
    (void)arg;
    int rc = 0;
    for (int k = 0; k < NJOB && rc == 0; k++) {
        app.table[k].id = k;
        rc = corio_chan_put(app.jobs, &app.table[k]);
    }
    corio_chan_shutdown(app.jobs); /* the workers drain it, then stop */
    return rc;
}

static int async_main(void *arg)
{
    (void)arg;
    corio_task *feed = NULL;
    int started = 0, received = 0, rc;

    corio_event_init(&app.all_gone);
    /* Small channels, so both directions really have to wait for room. */
    if ((rc = corio_chan_new(&app.jobs, 2)) < 0 ||
        (rc = corio_chan_new(&app.results, 2)) < 0 ||
        (rc = corio_remote_open(&app.remote)) < 0)
        goto out;

    for (; started < NWORKER; started++) {
        struct worker *w = &app.workers[started];
        w->id = started;
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
            rc = -EAGAIN;
            goto out;
        }
    }
    printf("main: %d worker threads started\n", NWORKER);
    rc = corio_task_spawn(&feed, feeder, NULL);
    if (rc < 0)
        goto out;

    /* Collect the results as they come, in whatever order. */
    while (received < NJOB) {
        void *p;
        rc = corio_chan_get(app.results, &p); /* suspends this task only */
        if (rc < 0)
            goto out;
        received++;
    }
    int fed;
    rc = corio_task_join(feed, &fed);
    feed = NULL;
    if (rc >= 0)
        rc = fed;
    if (rc < 0)
        goto out;

    /* Wait for every goodbye: after it, a worker touches nothing shared. */
    rc = corio_event_wait(&app.all_gone);
    if (rc < 0)
        goto out;
    printf("main: %d results received; %d workers said goodbye, "
           "reporting %d jobs done\n",
           received, app.gone, app.reported);

    int total = 0;
    for (int k = 0; k < NJOB; k++) {
        printf("  job %2d: %4d primes in [%d, %d)\n", k, app.table[k].primes,
               k * SPAN, (k + 1) * SPAN);
        total += app.table[k].primes;
    }
    printf("main: %d primes below %d\n", total, NJOB * SPAN);

out:
    /* On an error (or Ctrl-C) stop everything: closing both channels makes
     * every blocked get and put in the workers return CORIO_ESHUTDOWN. */
    if (feed) {
        corio_task_cancel(feed);
        CORIO_IGNORE(corio_task_join(feed, NULL));
    }
    corio_chan_shutdown(app.jobs);
    corio_chan_shutdown(app.results);
    /* The workers are done or finishing one job: joining them blocks the
     * loop at most that long. */
    for (int i = 0; i < started; i++)
        pthread_join(app.workers[i].thread, NULL);
    corio_remote_close(app.remote);
    /* After an error a goodbye may still be on its way; it checks ended. */
    app.ended = 1;
    corio_event_destroy(&app.all_gone);
    corio_chan_free(app.jobs);
    corio_chan_free(app.results);
    return rc;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int result;
    int rc = corio_run(async_main, NULL, &result);
    if (rc == 0)
        rc = result; /* main's own verdict */
    if (rc < 0) {
        fprintf(stderr, "worker_thread: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

/* graceful_shutdown.c — SIGTERM cancels the main group, and every worker
 * gets to clean up.
 *
 * The asyncio original (the usual service skeleton):
 *
 *     async def main():
 *         stop = asyncio.Event()
 *         loop = asyncio.get_running_loop()
 *         loop.add_signal_handler(signal.SIGTERM, stop.set)
 *         async with asyncio.TaskGroup() as tg:
 *             for i in range(3):
 *                 tg.create_task(worker(i))
 *             await stop.wait()
 *             raise Shutdown          # cancels the workers
 *
 *     async def worker(i):
 *         try:
 *             while True:
 *                 await do_one_job()
 *         except asyncio.CancelledError:
 *             await cleanup()
 *             raise
 *
 * In corio a signal is something a task waits for: corio_signal_open()
 * blocks SIGTERM in the loop thread and corio_signal_wait() suspends until
 * it arrives.  Here main owns a group of workers, waits for SIGTERM, then
 * cancels the group; each worker leaves its loop, runs its cleanup in a
 * shield and returns.  corio_group_wait() returns when all have finished.
 *
 * So that the output is the same on every run, a helper task sends the
 * signal itself, as `kill -TERM <pid>` from another terminal would. */
#include <corio.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int64_t start;

static double elapsed(void)
{
    return (double)(corio_now() - start) / CORIO_SECOND;
}

static int next_id = 1;

static int worker(void *arg)
{
    (void)arg;
    int id = next_id++, rc;
    for (int job = 1;; job++) {
        rc = corio_sleep(1 * CORIO_SECOND); /* one job */
        if (rc < 0)
            break; /* -ECANCELED: the shutdown */
        printf("worker %d: job %d done at %.1f s\n", id, job, elapsed());
    }
    /* Cleanup that must wait (flush, say goodbye to a peer) runs in a
     * shield: the cancellation is deferred until it ends. */
    int shield;
    CORIO_WITH_SHIELD(shield)
    {
        printf("worker %d: stopping, flushing state\n", id);
        (void)corio_sleep(100 * CORIO_MS);
    }
    printf("worker %d: stopped at %.1f s\n", id, elapsed());
    return rc;
}

/* Plays the operator who types `kill -TERM <pid>` at 2.5 s. */
static int operator(void *arg)
{
    (void)arg;
    int rc = corio_sleep(2500 * CORIO_MS);
    if (rc < 0)
        return rc;
    printf("operator: kill -TERM <pid> at %.1f s\n", elapsed());
    return kill(getpid(), SIGTERM) < 0 ? -errno : 0;
}

static int async_main(void *arg)
{
    (void)arg;
    corio_signal *sig;
    corio_group *g;
    corio_task *op;
    sigset_t set;
    int signo, rc;

    start = corio_now();
    /* loop.add_signal_handler(signal.SIGTERM, ...) */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    rc = corio_signal_open(&sig, &set);
    if (rc < 0)
        return rc;

    rc = corio_group_new(&g);
    if (rc < 0) {
        corio_signal_close(sig);
        return rc;
    }
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = corio_group_spawn(g, worker, NULL);
    if (rc == 0)
        rc = corio_task_spawn(&op, operator, NULL);
    if (rc == 0) {
        corio_task_detach(op); /* it ends on its own after the kill */
        printf("main: 3 workers started, waiting for SIGTERM\n");
        /* await stop.wait(); a failing worker would interrupt this too. */
        rc = corio_signal_wait(sig, &signo);
        if (rc == 0)
            printf("main: got %s at %.1f s, shutting down\n",
                   signo == SIGTERM ? "SIGTERM" : "a signal", elapsed());
    }
    corio_group_cancel(g);         /* raise Shutdown: cancel every worker */
    int grc = corio_group_wait(g); /* -ECANCELED: we cancelled it */
    printf("main: all workers stopped at %.1f s\n", elapsed());
    corio_signal_close(sig);
    if (rc == 0 && grc < 0 && grc != -ECANCELED)
        rc = grc; /* a worker failed */
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
        fprintf(stderr, "graceful_shutdown: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

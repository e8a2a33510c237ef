/* group.c — structured concurrency: a task group whose child fails.
 *
 * The asyncio original (seed "Use Structured Concurrency"):
 *
 *     async with asyncio.TaskGroup() as tg:
 *         tasks = [tg.create_task(fetch_url(session, url)) for url in urls]
 *     return [task.result() for task in tasks]
 *
 * A group owns its children: corio_group_wait() (the end of the `async
 * with` block) returns only when every child has finished, so no task
 * outlives the group.  When one child fails, that is, returns a negative
 * error other than -ECANCELED, the group cancels all the others and
 * corio_group_wait() returns the first error, where asyncio would raise an
 * ExceptionGroup.
 *
 * Here four workers start together; worker B fails after 1 s.  Worker D has
 * already finished by then; A and C are cancelled and clean up. */
#include <corio.h>
#include <stdio.h>
#include <stdlib.h>

static int64_t start;

static double elapsed(void)
{
    return (double)(corio_now() - start) / CORIO_SECOND;
}

/* One worker's job, and what became of it (the group keeps the task
 * handles, so each worker reports its outcome here). */
struct worker {
    const char *name;
    int64_t work_ns; /* how long the job takes */
    int fails;       /* 1: the job fails with -EIO when done */
    int result;      /* what the worker returned */
    double ended;    /* when it returned, in seconds */
};

static int worker(void *arg)
{
    struct worker *w = arg;
    int rc = corio_sleep(w->work_ns); /* the "work" */
    if (rc == 0 && w->fails) {
        printf("worker %s: failing with -EIO at %.1f s\n", w->name, elapsed());
        rc = -EIO;
    }
    /* A cancelled worker would release its resources here (see cancel.c)
     * and return -ECANCELED, which the group does not count as a failure. */
    w->result = rc;
    w->ended = elapsed();
    return rc;
}

static int async_main(void *arg)
{
    (void)arg;
    struct worker workers[] = {
        {"A", 3 * CORIO_SECOND, 0, 0, 0},
        {"B", 1 * CORIO_SECOND, 1, 0, 0},
        {"C", 2 * CORIO_SECOND, 0, 0, 0},
        {"D", 500 * CORIO_MS, 0, 0, 0},
    };
    size_t n = sizeof workers / sizeof workers[0];
    corio_group *g;
    int rc;

    start = corio_now();
    /* async with asyncio.TaskGroup() as tg: */
    rc = corio_group_new(&g);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        rc = corio_group_spawn(g, worker, &workers[i]); /* tg.create_task */
        if (rc < 0) {
            corio_group_cancel(g); /* give up: stop what did start... */
            break;
        }
        printf("main: started worker %s\n", workers[i].name);
    }
    /* ...and always wait: the group frees itself in corio_group_wait. */
    rc = corio_group_wait(g);
    printf("main: group_wait returned %d (%s) at %.1f s\n", rc,
           corio_strerror(rc), elapsed());

    for (size_t i = 0; i < n; i++) {
        struct worker *w = &workers[i];
        if (w->result == -ECANCELED)
            printf("  worker %s: cancelled at %.1f s\n", w->name, w->ended);
        else if (w->result < 0)
            printf("  worker %s: failed at %.1f s: %s\n", w->name, w->ended,
                   corio_strerror(w->result));
        else
            printf("  worker %s: finished at %.1f s\n", w->name, w->ended);
    }
    /* The failure was expected here, so the program itself succeeds. */
    return rc == -EIO ? 0 : rc;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int result;
    int rc = corio_run(async_main, NULL, &result);
    if (rc == 0)
        rc = result; /* main's own verdict */
    if (rc < 0) {
        fprintf(stderr, "group: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

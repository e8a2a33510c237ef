/* gather.c — run two coroutines concurrently and wait for both.
 *
 * The asyncio original (seed "Key Concepts in Asyncio: Coroutines"):
 *
 *     async def task1():
 *         print("Task 1 starting")
 *         await asyncio.sleep(2)
 *         print("Task 1 completed")
 *     async def task2():
 *         print("Task 2 starting")
 *         await asyncio.sleep(1)
 *         print("Task 2 completed")
 *     async def main():
 *         await asyncio.gather(task1(), task2())
 *     asyncio.run(main())
 *
 * asyncio.gather() wraps each coroutine in a task; in C we spawn the tasks
 * ourselves with corio_task_spawn() and hand the handles to corio_gather(),
 * which waits for all of them and collects their return values, like
 * gather(..., return_exceptions=True): one failing task does not stop the
 * others.  The two sleeps overlap, so the program takes 2 s, not 3 s. */
#include <corio.h>
#include <stdio.h>
#include <stdlib.h>

static int task1(void *arg)
{
    (void)arg;
    printf("Task 1 starting\n");
    int rc = corio_sleep(2 * CORIO_SECOND);
    if (rc < 0)
        return rc;
    printf("Task 1 completed\n");
    return 1;
}

static int task2(void *arg)
{
    (void)arg;
    printf("Task 2 starting\n");
    int rc = corio_sleep(1 * CORIO_SECOND);
    if (rc < 0)
        return rc;
    printf("Task 2 completed\n");
    return 2;
}

static int async_main(void *arg)
{
    (void)arg;
    int64_t start = corio_now();
    corio_task *tasks[2];
    int results[2];
    int rc;

    /* Spawning never suspends: both tasks are queued and first run when
     * main suspends, in the order they were spawned. */
    rc = corio_task_spawn(&tasks[0], task1, NULL);
    if (rc < 0)
        return rc;
    rc = corio_task_spawn(&tasks[1], task2, NULL);
    if (rc < 0) {
        /* Every task belongs to someone: don't leave task1 behind. */
        corio_task_cancel(tasks[0]);
        CORIO_IGNORE(corio_task_join(tasks[0], NULL));
        return rc;
    }

    /* await asyncio.gather(task1, task2): wait for both.  gather releases
     * the handles; results[i] is what tasks[i] returned. */
    rc = corio_gather(tasks, 2, results);
    if (rc < 0)
        return rc;
    printf("Results %d and %d after %.1f s\n", results[0], results[1],
           (double)(corio_now() - start) / CORIO_SECOND);
    return 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int result;
    int rc = corio_run(async_main, NULL, &result);
    if (rc == 0)
        rc = result; /* main's own verdict */
    if (rc < 0) {
        fprintf(stderr, "gather: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

/* create_task.c — start tasks first, await them later.
 *
 * The asyncio original (seed "Key Concepts in Asyncio: Tasks"):
 *
 *     async def main():
 *         task1 = asyncio.create_task(some_coroutine())
 *         task2 = asyncio.create_task(another_coroutine())
 *         await task1
 *         await task2
 *
 * corio_task_spawn() is asyncio.create_task(): it schedules the function
 * and returns a handle at once.  corio_task_join() is `await task`: it
 * waits for the task to finish, hands back its return value and releases
 * the handle.  Joining a task that has already finished returns at once. */
#include <corio.h>
#include <stdio.h>
#include <stdlib.h>

static int64_t start; /* when main began, to show the timeline */

static double elapsed(void)
{
    return (double)(corio_now() - start) / CORIO_SECOND;
}

static int some_coroutine(void *arg)
{
    (void)arg;
    printf("some_coroutine: started, needs 2 s\n");
    int rc = corio_sleep(2 * CORIO_SECOND);
    if (rc < 0)
        return rc;
    printf("some_coroutine: done at %.1f s\n", elapsed());
    return 42; /* a task's result: any value >= 0 means success */
}

static int another_coroutine(void *arg)
{
    (void)arg;
    printf("another_coroutine: started, needs 1 s\n");
    int rc = corio_sleep(1 * CORIO_SECOND);
    if (rc < 0)
        return rc;
    printf("another_coroutine: done at %.1f s\n", elapsed());
    return 7;
}

static int async_main(void *arg)
{
    (void)arg;
    corio_task *task1, *task2;
    int result1, result2, rc;

    start = corio_now();
    /* asyncio.create_task(): both tasks exist now, but neither has run yet;
     * they start when main suspends (in the first join below). */
    rc = corio_task_spawn(&task1, some_coroutine, NULL);
    if (rc < 0)
        return rc;
    rc = corio_task_spawn(&task2, another_coroutine, NULL);
    if (rc < 0) {
        corio_task_cancel(task1);
        CORIO_IGNORE(corio_task_join(task1, NULL));
        return rc;
    }

    /* await task1: meanwhile task2 runs too, and finishes first. */
    rc = corio_task_join(task1, &result1);
    if (rc < 0)
        return rc; /* we were cancelled; corio_run cancels what is left */
    printf("main: task1 returned %d at %.1f s\n", result1, elapsed());

    /* await task2: it finished a second ago, so this returns at once. */
    rc = corio_task_join(task2, &result2);
    if (rc < 0)
        return rc;
    printf("main: task2 returned %d at %.1f s\n", result2, elapsed());
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
        fprintf(stderr, "create_task: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

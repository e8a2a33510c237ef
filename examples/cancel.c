/* cancel.c — cancelling a task, and cleaning up when you are cancelled.
 *
 * Two asyncio originals.  The task being cancelled (seed "Cancellation
 * Handling"):
 *
 *     async def cancellable_operation():
 *         try:
 *             while True:
 *                 await asyncio.sleep(1)
 *                 # Perform operation
 *         except asyncio.CancelledError:
 *             await cleanup()
 *             raise  # Re-raise to propagate cancellation
 *
 * and the task cancelling it (seed "Cancellation"):
 *
 *     task = asyncio.create_task(some_coroutine())
 *     # Some time later...
 *     task.cancel()
 *     try:
 *         await task
 *     except asyncio.CancelledError:
 *         print("Task was cancelled")
 *
 * In corio, CancelledError is the return value -ECANCELED, and it is
 * level-triggered: once a task is cancelled, *every* call that would wait
 * returns -ECANCELED until the task returns, not just the first one.  A
 * task cannot "swallow" its cancellation by accident.  So cleanup that must
 * wait (asyncio's `await cleanup()`) runs inside a shield,
 * corio_shield_begin/end, which defers the cancellation until it ends. */
#include <corio.h>
#include <stdio.h>
#include <stdlib.h>

static int64_t start;

static double elapsed(void)
{
    return (double)(corio_now() - start) / CORIO_SECOND;
}

static int cleanup(void)
{
    int rc = corio_sleep(500 * CORIO_MS); /* e.g. flushing and closing */
    if (rc < 0)
        return rc;
    printf("operation: cleanup done at %.1f s\n", elapsed());
    return 0;
}

static int cancellable_operation(void *arg)
{
    (void)arg;
    int rc;

    for (int i = 1;; i++) {
        rc = corio_sleep(1 * CORIO_SECOND);
        if (rc < 0)
            break; /* -ECANCELED: leave the loop (the `except` clause) */
        printf("operation: step %d at %.1f s\n", i, elapsed());
    }

    printf("operation: cancelled at %.1f s, cleaning up\n", elapsed());
    /* Without the shield, cleanup's sleep would fail with -ECANCELED at
     * once: the cancellation is still in force. */
    int shield;
    CORIO_WITH_SHIELD(shield)
    {
        cleanup(); /* `finally:` under asyncio.shield */
    }

    /* Level-triggered: outside the shield, waiting fails again. */
    if (corio_sleep(1 * CORIO_SECOND) == -ECANCELED)
        printf("operation: still cancelled after the shield\n");
    return rc; /* `raise`: report the cancellation to whoever joins us */
}

static int async_main(void *arg)
{
    (void)arg;
    corio_task *task;
    int result;

    start = corio_now();
    int rc = corio_task_spawn(&task, cancellable_operation, NULL);
    if (rc < 0)
        return rc;

    /* Some time later... */
    rc = corio_sleep(2500 * CORIO_MS);
    if (rc < 0)
        return rc; /* corio_run would cancel and await the task for us */

    printf("main: cancelling the task at %.1f s\n", elapsed());
    corio_task_cancel(task); /* never suspends; only asks */

    /* await task: join waits for the task to finish its cleanup. */
    rc = corio_task_join(task, &result);
    if (rc < 0)
        return rc;
    if (result == -ECANCELED)
        printf("Task was cancelled\n");
    else
        printf("Task returned %d\n", result);
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
        fprintf(stderr, "cancel: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

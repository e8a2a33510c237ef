/* wait_for.c — putting a time limit on work: wait_for and timeout scopes.
 *
 * Part 1, the asyncio original (seed "Handling Timeouts"):
 *
 *     try:
 *         result = await asyncio.wait_for(long_running_task(), timeout=5.0)
 *     except asyncio.TimeoutError:
 *         print("The task took too long")
 *
 * corio_wait_for() waits for a task for at most the given time; when the
 * time is up it cancels the task, waits for it to finish its cleanup, and
 * returns -ETIMEDOUT (asyncio's TimeoutError).  The task is never left
 * running behind our back.
 *
 * Part 2, the asyncio original (seed "Error Handling"):
 *
 *     async def safe_operation():
 *         try:
 *             async with async_timeout.timeout(10):
 *                 await async_operation()
 *         except asyncio.TimeoutError:
 *             logger.error("Operation timed out")
 *         except Exception as e:
 *             logger.error(f"Operation failed: {e}")
 *         finally:
 *             await cleanup()
 *
 * A timeout scope (corio_timeout_begin/end, asyncio.timeout) limits a whole
 * block of code inside the current task rather than another task: once its
 * deadline passes, every call inside it that would wait returns -ETIMEDOUT
 * until the scope is closed.  We use 1 s instead of the seed's 10 s so the
 * demo stays short. */
#include <corio.h>
#include <stdio.h>
#include <stdlib.h>

static int64_t start;

static double elapsed(void)
{
    return (double)(corio_now() - start) / CORIO_SECOND;
}

/* ---- Part 1: asyncio.wait_for -------------------------------------- */

static int long_running_task(void *arg)
{
    (void)arg;
    printf("long_running_task: started, needs 10 s\n");
    int rc = corio_sleep(10 * CORIO_SECOND);
    if (rc == -ECANCELED)
        printf("long_running_task: cancelled at %.1f s\n", elapsed());
    if (rc < 0)
        return rc; /* pass the cancellation on, like `raise` */
    return 0;
}

static int wait_for_demo(void)
{
    corio_task *t;
    int result;
    int rc = corio_task_spawn(&t, long_running_task, NULL);
    if (rc < 0)
        return rc;

    /* result = await asyncio.wait_for(long_running_task(), timeout=5.0) */
    rc = corio_wait_for(t, 5 * CORIO_SECOND, &result);
    if (rc == -ETIMEDOUT) {
        printf("The task took too long\n");
        return 0;
    }
    if (rc < 0)
        return rc;
    printf("The task returned %d\n", result);
    return 0;
}

/* ---- Part 2: a timeout scope, with cleanup in "finally" ---------------- */

static int async_operation(void)
{
    return corio_sleep(2 * CORIO_SECOND); /* slower than our deadline */
}

static int cleanup(void)
{
    int rc = corio_sleep(100 * CORIO_MS); /* e.g. closing a connection */
    if (rc < 0)
        return rc;
    printf("cleanup: done at %.1f s\n", elapsed());
    return 0;
}

static int safe_operation(void)
{
    printf("safe_operation: an operation needing 2 s, with a 1 s timeout\n");

    /* async with async_timeout.timeout(1): the block form ends the scope
     * however the block is left, an early return included (a scope left
     * open would fail every later wait of this task).  rc is the begin's
     * result first, then whatever the block sets. */
    int rc;
    CORIO_WITH_TIMEOUT(1 * CORIO_SECOND, rc)
    {
        rc = async_operation();
    }

    if (rc == -ETIMEDOUT)
        printf("Operation timed out\n");
    else if (rc < 0 && rc != -ECANCELED)
        printf("Operation failed: %s\n", corio_strerror(rc));

    /* finally: await cleanup().  The scope is closed, so its deadline no
     * longer fails our calls and cleanup can still wait.  (If the task was
     * cancelled, it would: see cancel.c for shields.) */
    cleanup();
    return rc == -ECANCELED ? rc : 0;
}

static int async_main(void *arg)
{
    (void)arg;
    start = corio_now();
    int rc = wait_for_demo();
    if (rc < 0)
        return rc;
    return safe_operation();
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int result;
    int rc = corio_run(async_main, NULL, &result);
    if (rc == 0)
        rc = result; /* main's own verdict */
    if (rc < 0) {
        fprintf(stderr, "wait_for: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

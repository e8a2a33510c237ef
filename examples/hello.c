/* hello.c — the smallest corio program: print, sleep, print.
 *
 * The asyncio original (seed "Getting Started with Asyncio"):
 *
 *     async def hello_world():
 *         print("Hello")
 *         await asyncio.sleep(1)
 *         print("World")
 *     asyncio.run(hello_world())
 *
 * In corio a coroutine is a plain C function `int fn(void *arg)` that runs
 * as a task on its own stack; corio_run() plays the part of asyncio.run():
 * it creates a loop, runs the function as the first task, and once every
 * task has finished stores what the function returned in `result` (its own
 * return value is corio's status, so the two cannot be confused).  There is no
 * `await` keyword: a call such as corio_sleep() simply suspends the task and
 * lets the loop run others until it is time to continue. */
#include <corio.h>
#include <stdio.h>
#include <stdlib.h>

static int hello_world(void *arg)
{
    (void)arg;
    printf("Hello\n");
    /* await asyncio.sleep(1): suspend this task for one second.  Like every
     * call that can suspend, corio_sleep() returns 0 or a negative errno
     * (-ECANCELED if we were cancelled, e.g. by Ctrl-C). */
    int rc = corio_sleep(1 * CORIO_SECOND);
    if (rc < 0)
        return rc;
    printf("World\n");
    return 0;
}

int main(void)
{
    /* Line-buffer stdout so each line appears as it is printed, even when
     * the output goes to a pipe. */
    setvbuf(stdout, NULL, _IOLBF, 0);

    int result;
    int rc = corio_run(hello_world, NULL, &result);
    if (rc == 0)
        rc = result; /* main's own verdict */
    if (rc < 0) {
        fprintf(stderr, "hello: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

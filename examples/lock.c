/* lock.c — a lock around a shared resource that is updated across a wait.
 *
 * The asyncio original (seed "Synchronization Primitives"):
 *
 *     lock = asyncio.Lock()
 *     async def protected_resource():
 *         async with lock:
 *             # Access the protected resource
 *             await asyncio.sleep(1)
 *
 * Tasks on one loop never run at the same instant, so a lock is only needed
 * when an update of shared state spans a suspension: read, wait, write.
 * Here three tasks each deposit 100 into an account whose write-back takes
 * 1 s.  Without the lock all three read 0 and the last write wins: two
 * deposits are lost.  With the lock (corio_lock_acquire ... corio_lock_release,
 * the `async with lock:` block) they take turns in arrival order and the
 * balance is right.
 *
 * The unlock must happen on every path out of the block, including when
 * the wait inside it fails with -ECANCELED: C has no `async with`, so the
 * block ends at one label.  If corio_lock_acquire() itself fails, the task
 * does not hold the lock and must not unlock it; if it was handed the lock
 * in the same tick it was cancelled, it returns 0 and holds it. */
#include <corio.h>
#include <stdio.h>
#include <stdlib.h>

#define NDEPOSIT 3

static int64_t start;

static double elapsed(void)
{
    return (double)(corio_now() - start) / CORIO_SECOND;
}

/* The protected resource. */
static struct account {
    corio_lock lock;
    int balance;
} account;

static int use_lock; /* part 2 only */

/* The critical section: read, a slow write-back, write. */
static int update(const char *who)
{
    int seen = account.balance;
    printf("  %s: read %d at %.1f s\n", who, seen, elapsed());
    int rc = corio_sleep(1 * CORIO_SECOND); /* the slow write-back */
    if (rc < 0)
        return rc;
    account.balance = seen + 100;
    printf("  %s: wrote %d at %.1f s\n", who, account.balance, elapsed());
    return 0;
}

/* async def protected_resource(), as a deposit of 100. */
static int deposit(void *arg)
{
    const char *who = arg;
    int rc;

    if (!use_lock)
        return update(who);
    /* async with lock: the block runs only if the lock was acquired (rc),
     * and releases it however the block is left, a return included. */
    CORIO_WITH_LOCK(&account.lock, rc)
    {
        return update(who);
    }
    return rc; /* the acquire failed: nothing to release */
}

static int run_deposits(void)
{
    static const char *names[NDEPOSIT] = {"task A", "task B", "task C"};
    corio_task *tasks[NDEPOSIT];
    size_t n = 0;
    int rc = 0;

    account.balance = 0;
    start = corio_now();
    for (int i = 0; i < NDEPOSIT; i++) {
        rc = corio_task_spawn(&tasks[n], deposit, (void *)names[i]);
        if (rc < 0)
            break;
        n++;
    }
    int grc = corio_gather(tasks, n, NULL);
    if (rc >= 0)
        rc = grc;
    if (rc < 0)
        return rc;
    printf("  balance %d after %.1f s (expected %d)\n", account.balance,
           elapsed(), 100 * NDEPOSIT);
    return 0;
}

static int async_main(void *arg)
{
    (void)arg;
    int rc = corio_lock_init(&account.lock);
    if (rc < 0)
        return rc;

    printf("without the lock:\n");
    use_lock = 0;
    rc = run_deposits();
    if (rc < 0)
        return rc;

    printf("with the lock:\n");
    use_lock = 1;
    rc = run_deposits();
    if (rc < 0)
        return rc;

    /* Releasing a lock you do not hold is an error, not a silent bug. */
    rc = corio_lock_release(&account.lock);
    printf("unlocking a lock nobody holds: %s\n", corio_strerror(rc));
    corio_lock_destroy(&account.lock);
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
        fprintf(stderr, "lock: %s\n", corio_strerror(rc));
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

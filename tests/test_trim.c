/* test_trim.c — memory given back after a burst (core/trim.c): the stack
 * slots of finished tasks beyond those kept warm go back to the kernel
 * once the loop idles, trimmed slots are reused correctly (in every guard
 * mode), and a busy loop keeps its warm slots. */
#include "tst.h"
#include "core/loop.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOUCH (48 * 1024)

static long rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

/* Touch TOUCH bytes of stack, then sleep past the burst's peak. */
static int burst_task(void *arg)
{
    volatile char buf[TOUCH];
    memset((char *)buf, (int)(intptr_t)arg, sizeof buf);
    CHECK_EQ(corio_sleep(10 * CORIO_MS), 0);
    return buf[TOUCH - 1] + buf[0] == 2 * (char)(intptr_t)arg ? 0 : -1;
}

static long before, peak, after;

static int burst(void *arg)
{
    int n = (int)(intptr_t)arg;
    corio_group *g;
    before = rss_bytes();
    CHECK_EQ(corio_group_new(&g), 0);
    for (int i = 0; i < n; i++)
        CHECK_EQ(corio_group_spawn(g, burst_task, (void *)(intptr_t)1), 0);
    CHECK_EQ(corio_sleep(5 * CORIO_MS), 0);
    peak = rss_bytes();
    CHECK_EQ(corio_group_wait(g), 0);
    /* Idle for longer than the trim period: the loop trims once it may. */
    for (int i = 0; i < 3; i++)
        CHECK_EQ(corio_sleep(CORIO_SECOND / 2), 0);
    after = rss_bytes();
    return 0;
}

/* A burst of 2,000 tasks, each touching 48 KiB of stack, grows the
 * process by ~100 MB; after it, RSS falls back to within 10 % of the
 * burst's growth (the 16 slots kept warm are under 1 MB). */
static void burst_returns(void)
{
    CHECK_EQ(tst_run(burst, (void *)(intptr_t)2000), 0);
    fprintf(stderr, "rss before %ld kB, peak %ld kB, after %ld kB\n",
            before / 1024, peak / 1024, after / 1024);
    CHECK(peak - before > 80L * 1024 * 1024);
    CHECK(after - before < (peak - before) / 10);
}

TEST(trim, burst_memory_goes_back_when_idle)
{
    burst_returns();
}

TEST(trim, trimmed_canary_slots_are_reused)
{
    /* Trimming zeroes a canary; reuse must write it again, or the next
     * switch away from the task reports a false overflow. */
    setenv("CORIO_STACK_GUARD", "canary", 1);
    CHECK_EQ(corio__stack_guard_mode(), CORIO__GUARD_CANARY);
    burst_returns();
    CHECK_EQ(tst_run(burst, (void *)(intptr_t)2000), 0); /* reuse them */
}

static int busy_then_idle(void *arg)
{
    (void)arg;
    corio_group *g;
    CHECK_EQ(corio_group_new(&g), 0);
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(corio_group_spawn(g, burst_task, (void *)(intptr_t)2), 0);
    CHECK_EQ(corio_group_wait(g), 0);
    corio__loop *L = corio__cur;
    /* Not yet idle for a trim period: nothing given back. */
    CHECK_EQ(corio__stack_untrimmed(&L->stacks), 1000);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(corio_sleep(CORIO_SECOND / 2), 0);
    /* Idle: all but the warm ones went back; they serve the next burst
     * first, then the trimmed ones. */
    CHECK_EQ(corio__stack_untrimmed(&L->stacks), 16);
    CHECK_EQ(corio_group_new(&g), 0);
    for (int i = 0; i < 1000; i++)
        CHECK_EQ(corio_group_spawn(g, burst_task, (void *)(intptr_t)3), 0);
    CHECK_EQ(corio_group_wait(g), 0);
    return 0;
}

TEST(trim, warm_slots_kept_and_trimmed_slots_reused)
{
    CHECK_EQ(tst_run(busy_then_idle, NULL), 0);
}

/* test_task.c — join, cancel (level-triggered), detach, names, handles. */
#include "tst.h"

#include <string.h>

static int ret_arg(void *arg)
{
    return (int)(intptr_t)arg;
}

static int sleeper(void *arg)
{
    return corio_sleep((int64_t)(intptr_t)arg) == 0 ? 1 : -1;
}

static int join_basics(void *arg)
{
    (void)arg;
    corio_task *t;
    int r = 0;
    CHECK_EQ(corio_task_spawn(&t, ret_arg, (void *)(intptr_t)5), 0);
    CHECK_EQ(corio_task_join(t, &r), 0);
    CHECK_EQ(r, 5);
    CHECK_EQ(corio_task_spawn(&t, ret_arg, (void *)(intptr_t)-3), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(corio_task_join(corio_task_current(), NULL), -EDEADLK);
    CHECK_EQ(corio_task_join(NULL, NULL), -EINVAL);
    CHECK_EQ(corio_task_spawn(&t, NULL, NULL), -EINVAL);
    CHECK(t == NULL);
    return 0;
}

TEST(task, join_basics)
{
    CHECK_EQ(tst_run(join_basics, NULL), 0);
}

static corio_task *shared;

static int second_joiner(void *arg)
{
    (void)arg;
    return corio_task_join(shared, NULL);
}

static int one_joiner(void *arg)
{
    (void)arg;
    corio_task *j2;
    int r;
    CHECK_EQ(corio_task_spawn(&shared, sleeper, (void *)(intptr_t)CORIO_SECOND),
             0);
    CHECK_EQ(corio_task_spawn(&j2, second_joiner, NULL), 0);
    CHECK_EQ(corio_yield(), 0); /* shared sleeps, j2 ... */
    /* main joins first now; j2 already joined, so this one is second. */
    CHECK_EQ(corio_task_join(shared, &r), -EBUSY);
    CHECK_EQ(corio_task_join(j2, &r), 0);
    CHECK_EQ(r, 0);
    return 0;
}

TEST(task, one_joiner_per_task)
{
    CHECK_EQ(tst_run(one_joiner, NULL), 0);
}

static int joiner_cancelled(void *arg)
{
    (void)arg;
    corio_task *t;
    int r = 0;
    CHECK_EQ(
        corio_task_spawn(&t, sleeper, (void *)(intptr_t)(5 * CORIO_SECOND)), 0);
    corio_task_cancel(corio_task_current());
    CHECK_EQ(corio_task_join(t, &r), -ECANCELED);
    CHECK_EQ(corio_task_join(t, &r), -ECANCELED); /* level-triggered */
    return 0;
}

static int cancel_joiner(void *arg)
{
    (void)arg;
    corio_task *j;
    int r = 0;
    CHECK_EQ(corio_task_spawn(&j, joiner_cancelled, NULL), 0);
    CHECK_EQ(corio_task_join(j, &r), 0);
    CHECK_EQ(r, 0);
    return 0;
}

TEST(task, cancelled_joiner_keeps_handle_and_task)
{
    CHECK_EQ(tst_run(cancel_joiner, NULL), 0);
}

static int interrupted_join(void *arg)
{
    int *out = arg;
    corio_task *t;
    CHECK_EQ(
        corio_task_spawn(&t, sleeper, (void *)(intptr_t)(5 * CORIO_SECOND)), 0);
    out[0] = corio_task_join(t, NULL); /* cancelled while waiting */
    int r = 0;
    CHECK_EQ(corio_shield_begin(), 0);
    out[1] = corio_task_join(t, &r); /* the handle is still valid */
    corio_shield_end();
    out[2] = r;
    return 0;
}

static int cancel_while_joining(void *arg)
{
    (void)arg;
    int out[3] = {0, 0, 0};
    corio_task *j;
    CHECK_EQ(corio_task_spawn(&j, interrupted_join, out), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    corio_task_cancel(j);
    CHECK_EQ(corio_task_join(j, NULL), 0);
    CHECK_EQ(out[0], -ECANCELED);
    CHECK_EQ(out[1], 0);
    CHECK_EQ(out[2], 1); /* the sleeper ran to its end */
    return 0;
}

TEST(task, join_interrupted_then_rejoined)
{
    CHECK_EQ(tst_run(cancel_while_joining, NULL), 0);
}

static int ran;
static int never_runs(void *arg)
{
    (void)arg;
    ran = 1;
    return 0;
}

static int cancel_before_start(void *arg)
{
    (void)arg;
    corio_task *t;
    int r = 0;
    CHECK_EQ(corio_task_spawn(&t, never_runs, NULL), 0);
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, &r), 0);
    CHECK_EQ(r, -ECANCELED);
    CHECK_EQ(ran, 0);
    return 0;
}

TEST(task, cancelled_before_start_never_runs)
{
    CHECK_EQ(tst_run(cancel_before_start, NULL), 0);
}

static int level(void *arg)
{
    int *count = arg;
    corio_task *done;
    int r = 0;
    CHECK_EQ(corio_task_spawn(&done, ret_arg, (void *)(intptr_t)9), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);          /* done has finished */
    CHECK_EQ(corio_sleep(CORIO_SECOND), -ECANCELED); /* cancelled meanwhile */
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(corio_sleep(CORIO_MS), -ECANCELED);
        CHECK_EQ(corio_yield(), -ECANCELED);
        ++*count;
    }
    /* Completing without waiting still works: reap the finished task. */
    CHECK_EQ(corio_task_join(done, &r), 0);
    CHECK_EQ(r, 9);
    return -ECANCELED;
}

static int level_triggered(void *arg)
{
    (void)arg;
    corio_task *t;
    int count = 0, r = 0;
    CHECK_EQ(corio_task_spawn(&t, level, &count), 0);
    CHECK_EQ(corio_sleep(CORIO_SECOND + CORIO_MS), 0);
    corio_task_cancel(t);
    corio_task_cancel(t); /* twice is the same as once */
    CHECK_EQ(corio_task_join(t, &r), 0);
    CHECK_EQ(r, -ECANCELED);
    CHECK_EQ(count, 5);
    return 0;
}

TEST(task, cancellation_is_level_triggered)
{
    CHECK_EQ(tst_run(level_triggered, NULL), 0);
}

static int self_cancel(void *arg)
{
    (void)arg;
    corio_task_cancel(corio_task_current());
    CHECK_EQ(corio_yield(), -ECANCELED);
    return 0;
}

TEST(task, self_cancel_hits_next_wait)
{
    CHECK_EQ(tst_run(self_cancel, NULL), 0);
}

static int finished_count;
static int counts(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_sleep(CORIO_SECOND), 0);
    finished_count++;
    return 0;
}

static int detaching(void *arg)
{
    (void)arg;
    corio_task *a, *b;
    CHECK_EQ(corio_task_spawn(&a, counts, NULL), 0);
    CHECK_EQ(corio_task_spawn(&b, ret_arg, NULL), 0);
    CHECK_EQ(corio_yield(), 0); /* b has finished */
    corio_task_detach(a);       /* runs on, freed when done */
    corio_task_detach(b);       /* done: freed now */
    CHECK_EQ(corio_task_spawn(NULL, counts, NULL), 0);
    CHECK_EQ(corio_sleep(2 * CORIO_SECOND), 0);
    CHECK_EQ(finished_count, 2);
    return 0;
}

TEST(task, detach)
{
    CHECK_EQ(tst_run(detaching, NULL), 0);
}

static int named(void *arg)
{
    (void)arg;
    CHECK(strcmp(corio_task_name(NULL), "fetcher") == 0);
    return 0;
}

static int names(void *arg)
{
    (void)arg;
    corio_task *t, *u;
    corio_task_opts o = {.name = "fetcher"};
    CHECK(strcmp(corio_task_name(NULL), "main") == 0);
    CHECK_EQ(corio_task_spawn_ex(&t, named, NULL, &o), 0);
    CHECK(strcmp(corio_task_name(t), "fetcher") == 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(corio_task_spawn(&u, ret_arg, NULL), 0);
    CHECK(strncmp(corio_task_name(u), "task-", 5) == 0);
    o.name = "a-name-much-longer-than-thirty-two-bytes-total";
    CHECK_EQ(corio_task_spawn_ex(&t, ret_arg, NULL, &o), 0);
    CHECK_EQ(strlen(corio_task_name(t)), CORIO_TASK_NAME_MAX - 1);
    corio_task *list[2] = {t, u};
    CHECK_EQ(corio_gather(list, 2, NULL), 0);
    return 0;
}

TEST(task, names)
{
    CHECK_EQ(tst_run(names, NULL), 0);
}

static int deep(void *arg)
{
    volatile char buf[200 * 1024];
    buf[0] = 1;
    buf[sizeof buf - 1] = (char)(intptr_t)arg;
    return buf[0] + buf[sizeof buf - 1];
}

static int stack_sizes(void *arg)
{
    (void)arg;
    corio_task *t;
    corio_task_opts o = {.name = "big", .stack_size = 1024 * 1024};
    int r = 0;
    CHECK_EQ(corio_task_spawn_ex(&t, deep, (void *)(intptr_t)2, &o), 0);
    CHECK_EQ(corio_task_join(t, &r), 0);
    CHECK_EQ(r, 3);
    return 0;
}

TEST(task, custom_stack_size)
{
    CHECK_EQ(tst_run(stack_sizes, NULL), 0);
}

/* ---- regressions found in code review ---------------------------------- */

/* A huge stack_size is misuse and must fail, not crash.
 * corio__stack_round() overflows to 0 for sizes near SIZE_MAX, and the
 * class's region length (slots * (size + page)) wraps for sizes near 2^60:
 * the record is then written outside the mapping. */

static int huge_stack_main(void *arg)
{
    (void)arg;
    size_t sizes[] = {(size_t)1 << 60, SIZE_MAX, SIZE_MAX - 4096};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        corio_task *t = (corio_task *)1;
        corio_task_opts o = {.stack_size = sizes[i]};
        int rc = corio_task_spawn_ex(&t, ret_arg, NULL, &o);
        CHECK(rc == -ENOMEM || rc == -EINVAL);
        CHECK(t == NULL);
    }
    return 0;
}

TEST(task, huge_stack_size_fails_cleanly)
{
    CHECK_EQ(tst_run(huge_stack_main, NULL), 0);
}

/* ---- a reused slot's record ---------------------------------------------- */

/* A spawn leaves the record's joiner and timer as the slot's last task
 * left them (NULL, not armed).  Each case below ends a task in a different
 * way and returns its released handle; the next spawn takes the same slot
 * (the pool is LIFO).  The probe then parks without a deadline and is woken
 * while another task's timer is in the heap (a stale timer index would
 * unlink that timer, and its sleeper would never wake), and finishes while
 * its spawner sleeps (a stale joiner would wake the spawner early). */

static int fails(void *arg)
{
    (void)arg;
    return -5;
}

static corio_event probe_ev;

static int probe(void *arg)
{
    (void)arg;
    return corio_event_wait(&probe_ev) == 0 ? 7 : -1;
}

static corio_task *end_cancelled(void)
{
    corio_task *t;
    int r = 0;
    CHECK_EQ(corio_task_spawn(&t, sleeper, (void *)(intptr_t)CORIO_SECOND), 0);
    CHECK_EQ(corio_yield(), 0);
    corio_task_cancel(t);
    CHECK_EQ(corio_task_join(t, &r), 0);
    CHECK_EQ(r, -1);
    return t;
}

static corio_task *end_failed(void)
{
    corio_task *t;
    int r = 0;
    CHECK_EQ(corio_task_spawn(&t, fails, NULL), 0);
    CHECK_EQ(corio_task_join(t, &r), 0);
    CHECK_EQ(r, -5);
    return t;
}

static corio_task *end_wait_for_timed_out(void)
{
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, sleeper, (void *)(intptr_t)CORIO_SECOND), 0);
    CHECK_EQ(corio_wait_for(t, 10 * CORIO_MS, NULL), -ETIMEDOUT);
    return t;
}

static corio_task *end_join_timed_out(void)
{
    corio_task *t;
    int r = 0, rc;
    CHECK_EQ(corio_task_spawn(&t, sleeper, (void *)(intptr_t)CORIO_SECOND), 0);
    CHECK_EQ(corio_timeout_begin(10 * CORIO_MS), 0);
    rc = corio_task_join(t, &r);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(rc, -ETIMEDOUT);
    CHECK_EQ(corio_task_join(t, &r), 0); /* the sleep ends after 1 s */
    CHECK_EQ(r, 1);
    return t;
}

static corio_task *end_gather_timed_out(void)
{
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, sleeper, (void *)(intptr_t)CORIO_SECOND), 0);
    CHECK_EQ(corio_timeout_begin(10 * CORIO_MS), 0);
    int rc = corio_gather(&t, 1, NULL);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(rc, -ETIMEDOUT);
    return t;
}

static corio_task *end_detached(void)
{
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, sleeper, (void *)(intptr_t)CORIO_MS), 0);
    corio_task_detach(t);
    CHECK_EQ(corio_sleep(2 * CORIO_MS), 0); /* it finishes meanwhile */
    return t;
}

static corio_task *end_slept(void)
{
    corio_task *t;
    int r = 0;
    CHECK_EQ(corio_task_spawn(&t, sleeper, (void *)(intptr_t)CORIO_MS), 0);
    CHECK_EQ(corio_task_join(t, &r), 0);
    CHECK_EQ(r, 1);
    return t;
}

static int reused_slots(void *arg)
{
    (void)arg;
    corio_task *(*ends[])(void) = {
        end_cancelled,      end_failed,           end_wait_for_timed_out,
        end_join_timed_out, end_gather_timed_out, end_detached,
        end_slept,
    };
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        corio_task *old = ends[i](), *p, *s;
        int r = 0;
        CHECK_EQ(corio_event_init(&probe_ev), 0);
        CHECK_EQ(corio_task_spawn(&p, probe, NULL), 0);
        CHECK(p == old); /* the case's slot, or the test proves nothing */
        CHECK_EQ(corio_task_spawn(&s, sleeper, (void *)(intptr_t)CORIO_SECOND),
                 0);
        CHECK_EQ(corio_yield(), 0); /* both park */
        corio_event_set(&probe_ev);
        int64_t t0 = corio_now();
        CHECK_EQ(corio_sleep(2 * CORIO_SECOND), 0); /* p finishes */
        CHECK_EQ(corio_now() - t0, 2 * CORIO_SECOND);
        CHECK_EQ(corio_task_join(p, &r), 0);
        CHECK_EQ(r, 7);
        CHECK_EQ(corio_task_join(s, &r), 0);
        CHECK_EQ(r, 1);
        corio_event_destroy(&probe_ev);
    }
    return 0;
}

TEST(task, reused_slot_has_no_stale_joiner_or_timer)
{
    CHECK_EQ(tst_run(reused_slots, NULL), 0);
}

/* Parking with a deadline never allocates: every slot comes with room for
 * its task's timer in the heap, also when a spawn reuses a slot whose
 * earlier task never armed one. */
#define MANY 300

static int parking_needs_no_allocation(void *arg)
{
    (void)arg;
    static corio_task *t[MANY];
    static int r[MANY];
    for (int i = 0; i < MANY; i++) /* carve the slots; no timer armed */
        CHECK_EQ(corio_task_spawn(&t[i], ret_arg, (void *)(intptr_t)1), 0);
    CHECK_EQ(corio_gather(t, MANY, r), 0);
    CHECK_EQ(corio_test_fail_alloc(1), 0);
    for (int i = 0; i < MANY; i++) /* reuse them: each task arms one */
        CHECK_EQ(corio_task_spawn(&t[i], sleeper, (void *)(intptr_t)CORIO_MS),
                 0);
    int rc = corio_gather(t, MANY, r);
    int fired = corio_test_fault_fired();
    corio_test_fault_clear();
    CHECK_EQ(rc, 0);
    CHECK_EQ(fired, 0);
    for (int i = 0; i < MANY; i++)
        CHECK_EQ(r[i], 1);
    return 0;
}

TEST(task, parking_in_reused_slots_needs_no_allocation)
{
    CHECK_EQ(tst_run(parking_needs_no_allocation, NULL), 0);
}

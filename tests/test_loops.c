/* test_loops.c — corio_run_loops and corio_loop_post: every loop runs main
 * with its index, the handles name the loops; one main failing, or
 * SIGINT, cancels the others' mains; a loop waiting on another loop is not
 * deadlocked; posts run on the
 * target loop's thread, FIFO per sender, none lost (1,000,000 between two
 * loops); a post to a loop that has ended returns -ESHUTDOWN and every
 * post it accepted before ran.
 *
 * Loops are real threads on the virtual clock; 2 and 4 loops, so also
 * more loops than this machine's 2 cores. */
#include "tst.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

static corio_loops_opts vopts = {.loop = {.virtual_clock = 1}};

/* ---- identity ------------------------------------------------------------ */

#define MAXL 4

static struct {
    atomic_int ran[MAXL];
    corio_loop *self[MAXL];
    pthread_t thread[MAXL];
} id;

static int id_main(void *arg)
{
    size_t n = (size_t)(uintptr_t)arg;
    size_t i = corio_loop_index();
    CHECK(i < n);
    CHECK_EQ(corio_loop_count(), n);
    CHECK(corio_loop_current() == corio_loop_at(i));
    CHECK(corio_loop_at(n) == NULL);
    for (size_t j = 0; j < n; j++)
        CHECK(corio_loop_at(j) != NULL);
    id.self[i] = corio_loop_current();
    id.thread[i] = pthread_self();
    atomic_fetch_add(&id.ran[i], 1);
    return (int)i + 10;
}

static void identity(size_t n)
{
    memset(&id, 0, sizeof id);
    int result = -1;
    CHECK_EQ(corio_run_loops(n, &vopts, id_main, (void *)(uintptr_t)n, &result),
             0);
    CHECK_EQ(result, 10); /* loop 0's main */
    for (size_t i = 0; i < n; i++) {
        CHECK_EQ(atomic_load(&id.ran[i]), 1);
        for (size_t j = 0; j < i; j++) {
            CHECK(id.self[i] != id.self[j]);
            CHECK(!pthread_equal(id.thread[i], id.thread[j]));
        }
    }
    CHECK(pthread_equal(id.thread[0], pthread_self()));
    CHECK(corio_loop_current() == NULL);
    CHECK_EQ(corio_loop_count(), 0);
}

TEST(loops, every_loop_runs_main_with_its_index)
{
    identity(2);
    identity(4);
}

static int plain_main(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_loop_index(), 0);
    CHECK_EQ(corio_loop_count(), 1);
    CHECK(corio_loop_at(0) == corio_loop_current());
    CHECK(corio_loop_at(1) == NULL);
    return 0;
}

TEST(loops, a_plain_run_is_loop_0_of_1)
{
    CHECK_EQ(tst_run(plain_main, NULL), 0);
}

static int nop_main(void *arg)
{
    (void)arg;
    return 0;
}

static int nested_main(void *arg)
{
    (void)arg;
    return corio_run_loops(2, NULL, nop_main, NULL, NULL);
}

TEST(loops, refuses_bad_arguments)
{
    int result = 0;
    CHECK_EQ(corio_run_loops(2, NULL, NULL, NULL, &result), -EINVAL);
    corio_loops_opts o = {.ncpus = 1};
    CHECK_EQ(corio_run_loops(2, &o, nop_main, NULL, &result), -EINVAL);
    int bad_cpu = CPU_SETSIZE + 1;
    o.cpus = &bad_cpu;
    CHECK_EQ(corio_run_loops(2, &o, nop_main, NULL, &result), -EINVAL);
    CHECK_EQ(corio_run(nested_main, NULL, &result), 0);
    CHECK_EQ(result, -EBUSY);
}

static int pinned_main(void *arg)
{
    cpu_set_t set;
    CHECK_EQ(sched_getaffinity(0, sizeof set, &set), 0);
    CHECK_EQ(CPU_COUNT(&set), 1);
    if (corio_loop_index() >= MAXL)
        return 0;
    return id_main(arg);
}

TEST(loops, n_0_is_one_loop_per_cpu_and_pinning_works)
{
    memset(&id, 0, sizeof id);
    cpu_set_t before, after;
    CHECK_EQ(sched_getaffinity(0, sizeof before, &before), 0);
    int ncpu = CPU_COUNT(&before), cpu0 = -1;
    for (int c = 0; c < CPU_SETSIZE && cpu0 < 0; c++)
        if (CPU_ISSET(c, &before))
            cpu0 = c;
    corio_loops_opts o = {.cpus = &cpu0, .ncpus = 1};
    int result = -1;
    CHECK_EQ(
        corio_run_loops(0, &o, pinned_main, (void *)(uintptr_t)ncpu, &result),
        0);
    CHECK_EQ(result, 10);
    for (int i = 0; i < ncpu && i < MAXL; i++)
        CHECK_EQ(atomic_load(&id.ran[i]), 1);
    CHECK_EQ(sched_getaffinity(0, sizeof after, &after), 0);
    CHECK(CPU_EQUAL(&before, &after)); /* the caller's affinity came back */
}

/* ---- one main failing, or SIGINT, stops the others -------------------- */

static atomic_int waiting;
static atomic_int cancelled_mains;

/* Waits for nothing that any loop will ever give: only the cross-loop
 * cancellation can end it (the loop must not call this a deadlock). */
static int wait_forever(void)
{
    corio_event never;
    corio_event_init(&never);
    atomic_fetch_add(&waiting, 1);
    int rc = corio_event_wait(&never);
    corio_event_destroy(&never);
    if (rc == -ECANCELED)
        atomic_fetch_add(&cancelled_mains, 1);
    return rc;
}

static int fail_main(void *arg)
{
    size_t bad = (size_t)(uintptr_t)arg;
    if (corio_loop_index() != bad)
        return wait_forever();
    /* Fail once the others are waiting (their cancellation must reach
     * them parked, across threads). */
    while (atomic_load(&waiting) < (int)corio_loop_count() - 1)
        CHECK_EQ(corio_sleep(CORIO_MS), 0);
    return -EIO;
}

TEST(loops, one_main_failing_cancels_the_others)
{
    for (size_t n = 2; n <= 4; n += 2) {
        for (size_t bad = 0; bad < n; bad++) {
            atomic_store(&waiting, 0);
            atomic_store(&cancelled_mains, 0);
            int result = 0;
            CHECK_EQ(corio_run_loops(n, &vopts, fail_main,
                                     (void *)(uintptr_t)bad, &result),
                     0);
            CHECK_EQ(result, -EIO);
            CHECK_EQ(atomic_load(&cancelled_mains), (int)n - 1);
        }
    }
}

static void *sigint_thread(void *arg)
{
    int n = (int)(uintptr_t)arg;
    for (int i = 0; i < 5000 && atomic_load(&waiting) < n; i++)
        tst_nap_ms(1);
    CHECK_EQ(atomic_load(&waiting), n);
    kill(getpid(), SIGINT);
    return NULL;
}

static int sigint_main(void *arg)
{
    (void)arg;
    /* Only a thread outside the loops (the signal's) can end this wait:
     * the open remote tells the deadlock check so. */
    corio_remote *r;
    CHECK_EQ(corio_remote_open(&r), 0);
    int rc = wait_forever();
    corio_remote_close(r);
    return rc;
}

TEST(loops, sigint_stops_every_loop)
{
    for (int n = 2; n <= 4; n += 2) {
        atomic_store(&waiting, 0);
        atomic_store(&cancelled_mains, 0);
        pthread_t th;
        CHECK_EQ(pthread_create(&th, NULL, sigint_thread, (void *)(intptr_t)n),
                 0);
        int result = 0;
        CHECK_EQ(corio_run_loops((size_t)n, &vopts, sigint_main, NULL, &result),
                 0);
        pthread_join(th, NULL);
        CHECK_EQ(result, -ECANCELED);
        CHECK_EQ(atomic_load(&cancelled_mains), n);
        struct sigaction sa;
        CHECK_EQ(sigaction(SIGINT, NULL, &sa), 0);
        CHECK(sa.sa_handler == SIG_DFL); /* restored */
    }
}

/* ---- deadlock ------------------------------------------------------------ */

static corio_chan *slow_chan;

static void *slow_putter(void *arg)
{
    (void)arg;
    tst_nap_ms(50); /* loop 1 waits on this thread, loop 0 on loop 1 */
    CHECK_EQ(corio_chan_put(slow_chan, (void *)7), 0);
    return NULL;
}

static int slow_get(void *arg)
{
    (void)arg;
    void *item = NULL;
    int rc = corio_chan_get(slow_chan, &item);
    return rc < 0 ? rc : (int)(uintptr_t)item;
}

static int waits_on_other_loop(void *arg)
{
    (void)arg;
    if (corio_loop_index() != 0)
        return 0;
    int result = 0;
    int rc = corio_loop_call(corio_loop_at(1), slow_get, NULL, &result);
    CHECK_EQ(rc, 0);
    return result;
}

TEST(loops, a_loop_waiting_on_another_is_not_deadlocked)
{
    CHECK_EQ(corio_chan_new(&slow_chan, 1), 0);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, slow_putter, NULL), 0);
    int result = 0;
    CHECK_EQ(corio_run_loops(2, &vopts, waits_on_other_loop, NULL, &result), 0);
    pthread_join(th, NULL);
    CHECK_EQ(result, 7);
    corio_chan_free(slow_chan);
}

/* ---- posts --------------------------------------------------------------- */

typedef struct sink {
    long next[MAXL + 1]; /* per sender: the next sequence number expected */
    long got, want;
    int bad_order, off_thread, in_task;
    pthread_t thread;
    corio_event all;
} sink;

typedef struct post_arg {
    sink *s;
    int sender;
    long seq;
} post_arg;

static void receive(void *arg)
{
    post_arg *p = arg;
    sink *s = p->s;
    if (p->seq != s->next[p->sender])
        s->bad_order++;
    s->next[p->sender] = p->seq + 1;
    if (!pthread_equal(pthread_self(), s->thread))
        s->off_thread++;
    if (corio_task_current())
        s->in_task++;
    free(p);
    if (++s->got == s->want)
        corio_event_set(&s->all);
}

static sink *the_sink;
static long per_sender;

static _Atomic(corio_loop *) loop0;

static void send_all(int sender)
{
    corio_loop *to = atomic_load(&loop0);
    for (long i = 0; i < per_sender; i++) {
        post_arg *p = malloc(sizeof *p);
        CHECK(p != NULL);
        *p = (post_arg){the_sink, sender, i};
        CHECK_EQ(corio_loop_post(to, receive, p), 0);
    }
}

static void *plain_sender(void *arg)
{
    for (int i = 0; i < 5000 && !atomic_load(&loop0); i++)
        tst_nap_ms(1);
    send_all(MAXL);
    (void)arg;
    return NULL;
}

static int post_main(void *arg)
{
    (void)arg;
    size_t i = corio_loop_index();
    atomic_store(&loop0, corio_loop_at(0));
    if (i != 0) {
        send_all((int)i);
        return 0;
    }
    /* With a plain thread posting too, loop 0 may wait on it alone: the
     * open remote says so (without it, that would be a deadlock). */
    corio_remote *r;
    CHECK_EQ(corio_remote_open(&r), 0);
    sink *s = the_sink;
    CHECK_EQ(corio_event_wait(&s->all), 0);
    corio_remote_close(r);
    return 0;
}

static void posts(size_t n, long each, bool plain)
{
    sink *s = calloc(1, sizeof *s);
    CHECK(s != NULL);
    the_sink = s;
    per_sender = each;
    s->want = each * (long)(n - 1 + plain);
    corio_event_init(&s->all);
    s->thread = pthread_self(); /* loop 0's */
    atomic_store(&loop0, NULL);
    pthread_t th;
    if (plain) /* a thread that is no loop posts too, while loops run */
        CHECK_EQ(pthread_create(&th, NULL, plain_sender, NULL), 0);
    int result = -1;
    CHECK_EQ(corio_run_loops(n, &vopts, post_main, NULL, &result), 0);
    if (plain)
        pthread_join(th, NULL);
    CHECK_EQ(result, 0);
    CHECK_EQ(s->got, s->want);
    CHECK_EQ(s->bad_order, 0);
    CHECK_EQ(s->off_thread, 0);
    CHECK_EQ(s->in_task, 0);
    for (size_t i = 1; i < n; i++)
        CHECK_EQ(s->next[i], each);
    corio_event_destroy(&s->all);
    free(s);
}

TEST(loops, posts_run_on_the_loop_fifo_per_sender)
{
    posts(4, 2000, true);
}

TEST_T(loops, a_million_posts_between_two_loops_lose_nothing, 300)
{
    posts(2, tst_slow_env() ? 100000 : 1000000, false);
}

static atomic_int late_ran;

static void late(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_loop_index(), 1);
    atomic_fetch_add(&late_ran, 1);
}

/* On loop 0 after every main returned: post to loop 1 until it has
 * ended; every post it accepted must still run there. */
static int late_poster(void *arg)
{
    int *accepted = arg;
    CHECK_EQ(corio_shield_begin(), 0); /* the end of the run cancels it */
    int64_t t0 = tst_real_ns();
    int rc;
    while ((rc = corio_loop_post(corio_loop_at(1), late, NULL)) == 0) {
        (*accepted)++;
        CHECK(tst_real_ns() - t0 < 5 * CORIO_SECOND);
        CHECK_EQ(corio_sleep(CORIO_MS), 0);
    }
    CHECK_EQ(rc, -ESHUTDOWN);
    corio_shield_end();
    return 0;
}

static int accepted_posts;

static int post_after_end(void *arg)
{
    (void)arg;
    if (corio_loop_index() != 0)
        return 0;
    CHECK_EQ(corio_loop_post(NULL, late, NULL), -EINVAL);
    CHECK_EQ(corio_loop_post(corio_loop_at(1), NULL, NULL), -EINVAL);
    /* This main runs: loop 1 cannot have ended yet. */
    CHECK_EQ(corio_loop_post(corio_loop_at(1), late, NULL), 0);
    accepted_posts++;
    CHECK_EQ(corio_task_spawn(NULL, late_poster, &accepted_posts), 0);
    return 0;
}

TEST(loops, a_post_to_an_ended_loop_is_refused_and_none_accepted_is_lost)
{
    CHECK_EQ(corio_run_loops(2, &vopts, post_after_end, NULL, NULL), 0);
    CHECK_EQ(atomic_load(&late_ran), accepted_posts);
}

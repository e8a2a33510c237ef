/* core/loops.c — corio_run_loops: a loop per thread running the same main,
 * stopped together like a task group, and the loop handles.
 *
 * Every loop is made on its own thread (an io_uring ring belongs to the
 * thread that made it), then all wait at a barrier, so no main starts
 * before every loop can be posted to.  Each loop's main task runs
 * `loop_main`, which runs the user's main and then waits, without being
 * interruptible, until every main has returned: a loop whose main is done
 * keeps serving calls from loops still running theirs.  The first main to
 * fail or be cancelled posts a cancellation to every other loop's main.
 * The last main to return posts `all_done` to every loop.
 *
 * Deadlock across loops.  A loop that nothing but another loop could wake
 * (sched.c's "stuck") sleeps and counts itself idle in the set; it
 * uncounts itself when it wakes, before it takes its posts.  The loop
 * whose count makes every loop idle checks that nothing is posted to any
 * of them and that no loop woke meanwhile (the `wakes` epoch): every loop
 * then waits on what only an idle loop could give, a deadlock, and each
 * loop is told by a post to escalate as corio_run does.  A loop whose run
 * has ended counts as idle for good.  The argument: posts come from
 * running loops (an idle one sends nothing) or from outside threads, which
 * a stuck loop does not wait for (thread jobs, corio_remote and channel
 * waits keep it from being stuck); a loop leaving idle bumps `wakes` after
 * uncounting itself and before taking its posts, so a check that sees
 * `wakes` unchanged from before its count read to after its scan saw every
 * inbox while every loop was idle.
 *
 * After its run, a loop is closed to posts once its list is empty
 * (posts already taken still run), and its memory stays
 * until every thread is joined, so a late post finds it closed rather
 * than freed. */
#include "core/post.h"

#include <sched.h>
#include <stdlib.h>

#define CORIO__POLL_NS_DEFAULT (20 * 1000)

typedef struct member {
    corio__loop L;
    pthread_t thread;
    bool started;        /* thread created */
    bool made;           /* corio__loop_init succeeded */
    int rc;              /* corio__loop_init's, then corio__loop_run's */
    int result;          /* its main's */
    bool all_done;       /* every main has returned (loop thread only) */
    corio_task *waiting; /* loop_main parked until all_done */
    corio__post cancel_post, done_post, deadlock_post;
    atomic_bool cancel_sent;
} member;

typedef struct corio__loops {
    size_t n;
    member *m;
    const corio_loops_opts *opts;
    corio_fn main;
    void *arg;
    pthread_barrier_t ready, ran;
    atomic_int setup_rc;      /* first loop that could not be made */
    atomic_size_t mains_left; /* mains still running */
    atomic_int first_error;   /* first failing main's result */
    atomic_size_t idle;       /* loops counted idle (or ended) */
    atomic_ulong wakes;       /* bumped by every loop leaving idle */
    atomic_size_t reports;    /* deadlock posts sent and not yet run */
} corio__loops;

static member *member_of(corio__loop *L)
{
    return (member *)L; /* L is the first field */
}

static void on_cancel(corio__post *p)
{
    member *m = (member *)((char *)p - offsetof(member, cancel_post));
    if (m->L.main)
        corio__cancel(m->L.main);
}

static void on_all_done(corio__post *p)
{
    member *m = (member *)((char *)p - offsetof(member, done_post));
    m->all_done = true;
    if (m->waiting)
        corio__wake(m->waiting, 0);
}

static void on_deadlock(corio__post *p)
{
    member *m = (member *)((char *)p - offsetof(member, deadlock_post));
    corio__deadlock(&m->L);
    atomic_fetch_sub(&m->L.set->reports, 1);
}

/* Every loop idle, nothing posted to any, and none woke during the scan. */
static bool all_stuck(corio__loops *s)
{
    unsigned long epoch = atomic_load(&s->wakes);
    if (atomic_load(&s->idle) != s->n)
        return false;
    for (size_t i = 0; i < s->n; i++) {
        corio__loop *L = &s->m[i].L;
        if (corio__post_pending(L) || atomic_load(&L->wake_armed) ||
            atomic_load(&L->sigint))
            return false;
    }
    return atomic_load(&s->wakes) == epoch;
}

bool corio__loops_idle(corio__loop *L)
{
    corio__loops *s = L->set;
    L->set_idle = true;
    if (atomic_fetch_add(&s->idle, 1) + 1 != s->n || !all_stuck(s))
        return false;
    /* A loop that woke for nothing (a stale eventfd count) and went idle
     * again may find the set stuck while this report is being sent: the
     * first report must have run everywhere before the next is sent, or a
     * post node would be linked twice. */
    size_t none = 0;
    if (!atomic_compare_exchange_strong(&s->reports, &none, s->n))
        return false;
    for (size_t i = 0; i < s->n; i++) /* an ended loop refuses it */
        if (corio__post_send(&s->m[i].L, &s->m[i].deadlock_post) < 0)
            atomic_fetch_sub(&s->reports, 1);
    return true;
}

void corio__loops_busy(corio__loop *L)
{
    /* Uncount, then bump the epoch, then (the caller) take the posts: a
     * check that missed the uncount sees the bump (see the top). */
    L->set_idle = false;
    atomic_fetch_sub(&L->set->idle, 1);
    atomic_fetch_add(&L->set->wakes, 1);
}

/* A main failed: cancel every other loop's main (once per loop). */
static void fail(corio__loops *s, size_t self, int err)
{
    int none = 0;
    atomic_compare_exchange_strong(&s->first_error, &none, err);
    for (size_t i = 0; i < s->n; i++)
        if (i != self && !atomic_exchange(&s->m[i].cancel_sent, true))
            corio__post_send(&s->m[i].L, &s->m[i].cancel_post);
}

static int loop_main(void *arg)
{
    corio__loops *s = arg;
    corio__loop *L = corio__cur;
    member *m = member_of(L);
    corio_task *self = L->current;
    int rc = s->main(s->arg);
    m->result = rc;
    if (rc < 0 || self->cancelled)
        fail(s, L->index, rc < 0 ? rc : -ECANCELED);
    if (atomic_fetch_sub(&s->mains_left, 1) == 1)
        for (size_t i = 0; i < s->n; i++)
            corio__post_send(&s->m[i].L, &s->m[i].done_post);
    self->noint++;
    while (!m->all_done) {
        corio__wait w = {NULL, "other loops' mains", INT64_MAX};
        m->waiting = self;
        corio__park(&w);
        m->waiting = NULL;
    }
    self->noint--;
    return rc;
}

void corio__loops_end(corio__loop *L)
{
    /* Posts taken before the close still run (each accepted post runs
     * once), and so do the tasks they spawn. */
    while (!corio__post_close(L)) {
        corio__post_run(L);
        corio__loop_drive(L);
    }
    /* Ended: idle for good.  The others may be waiting on nothing else. */
    if (!L->set_idle)
        (void)corio__loops_idle(L);
}

static int pin(const corio_loops_opts *o, size_t i)
{
    if (!o || !o->ncpus)
        return 0;
    int cpu = o->cpus[i % o->ncpus];
    if (cpu < 0 || cpu >= CPU_SETSIZE)
        return -EINVAL;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return -pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static int64_t poll_ns(const corio_loops_opts *o)
{
    if (!o || !o->poll_ns)
        return CORIO__POLL_NS_DEFAULT;
    return o->poll_ns < 0 ? 0 : o->poll_ns;
}

static void run_member(corio__loops *s, size_t i)
{
    member *m = &s->m[i];
    corio__loop *L = &m->L;
    m->rc = pin(s->opts, i);
    if (m->rc == 0)
        m->rc = corio__loop_init(L, s->opts ? &s->opts->loop : NULL);
    if (m->rc == 0) {
        m->made = true;
        L->set = s;
        L->index = i;
        L->poll_ns = poll_ns(s->opts);
        m->cancel_post.fn = on_cancel;
        m->done_post.fn = on_all_done;
        m->deadlock_post.fn = on_deadlock;
    } else {
        int none = 0;
        atomic_compare_exchange_strong(&s->setup_rc, &none, m->rc);
    }
    pthread_barrier_wait(&s->ready);
    if (!m->made)
        return;
    if (atomic_load(&s->setup_rc) == 0) {
        m->rc = corio__loop_run(L, loop_main, s, NULL);
        /* A loop that abandoned its run frees the stacks of the tasks it
         * gave up on, and a task waiting in corio_loop_call holds its call
         * record there while another loop may still answer it: every loop
         * finishes running before any frees anything. */
        pthread_barrier_wait(&s->ran);
    } else
        (void)corio__post_close(L); /* nothing ran; its memory stays */
    corio__loop_destroy(L);
    corio__cur = NULL;
}

typedef struct start {
    corio__loops *s;
    size_t i;
} start;

static void *thread_main(void *arg)
{
    start *st = arg;
    run_member(st->s, st->i);
    free(st);
    return NULL;
}

static size_t cpus_here(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) < 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? (size_t)n : 1;
}

int corio_run_loops(size_t n, const corio_loops_opts *opts, corio_fn main,
                    void *arg, int *result)
{
    if (corio__cur)
        return -EBUSY;
    if (!main || (opts && opts->ncpus && !opts->cpus))
        return -EINVAL;
    if (n == 0)
        n = cpus_here();
    cpu_set_t saved;
    bool restore =
        opts && opts->ncpus && sched_getaffinity(0, sizeof saved, &saved) == 0;
    corio__loops s = {.n = n, .opts = opts, .main = main, .arg = arg};
    s.m = corio__sys.calloc(n, sizeof *s.m);
    if (!s.m)
        return -ENOMEM;
    atomic_init(&s.mains_left, n);
    pthread_barrier_init(&s.ready, NULL, (unsigned)n);
    pthread_barrier_init(&s.ran, NULL, (unsigned)n);
    size_t made = 1;
    for (; made < n; made++) {
        start *st = corio__sys.malloc(sizeof *st);
        if (!st)
            break;
        *st = (start){&s, made};
        if (pthread_create(&s.m[made].thread, NULL, thread_main, st) != 0) {
            free(st);
            break;
        }
        s.m[made].started = true;
    }
    if (made < n) {
        /* The barrier counts n threads: stand in for the missing ones
         * so the others get past it and see the failure. */
        atomic_store(&s.setup_rc, -EAGAIN);
        for (size_t i = made; i < n; i++)
            s.m[i].rc = -EAGAIN;
        for (size_t i = made; i < n; i++)
            pthread_barrier_wait(&s.ready);
    }
    run_member(&s, 0);
    for (size_t i = 1; i < n; i++)
        if (s.m[i].started)
            pthread_join(s.m[i].thread, NULL);
    if (restore)
        sched_setaffinity(0, sizeof saved, &saved);

    int rc = atomic_load(&s.setup_rc);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (s.m[i].rc < 0)
            rc = s.m[i].rc;
    if (rc == 0 && result) {
        int err = atomic_load(&s.first_error);
        *result = err ? err : s.m[0].result;
    }
    pthread_barrier_destroy(&s.ready);
    pthread_barrier_destroy(&s.ran);
    free(s.m);
    return rc;
}

size_t corio_loop_index(void)
{
    corio__loop *L = corio__cur;
    return L ? L->index : 0;
}

size_t corio_loop_count(void)
{
    corio__loop *L = corio__cur;
    return !L ? 0 : L->set ? L->set->n : 1;
}

corio_loop *corio_loop_current(void)
{
    return (corio_loop *)corio__cur;
}

corio_loop *corio_loop_at(size_t i)
{
    corio__loop *L = corio__cur;
    if (!L)
        return NULL;
    if (!L->set)
        return i == 0 ? (corio_loop *)L : NULL;
    return i < L->set->n ? (corio_loop *)&L->set->m[i].L : NULL;
}

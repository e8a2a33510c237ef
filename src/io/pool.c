/* io/pool.c — thread pools and the hand-off of jobs between a loop and its
 * pool threads.
 *
 * A job lives on the waiting task's stack.  The task parks until a pool
 * thread has run it and posted it back to the loop (core/post.h); the loop
 * then wakes the task.  Cancellation: a job still queued is unlinked and
 * dropped at once; a running one gets its `cancelled` flag set (seen by
 * corio_thread_cancelled) and the task keeps waiting for it, so fn never
 * runs after corio_to_thread returns.
 *
 * Detached jobs (corio__pool_submit) are heap nodes with no task behind
 * them: the worker runs fn and frees the node; fn reports its own result.
 *
 * Pool threads block every signal, start on demand up to the pool's size,
 * and exit after 30 s idle.  A detached job its owner gave up on while it
 * runs (a DNS lookup stuck on a silent server) lends its thread away: the
 * pool may start one more thread in its place until the job ends
 * (corio__pool_lend / corio__pool_unlend), at most MAX_LENT per pool, so
 * abandoned lookups cannot starve the ones that follow. */
#include "io/pool.h"
#include "core/post.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { JOB_QUEUED, JOB_RUNNING, JOB_DROPPED };

typedef struct corio__job corio__job;

struct corio__job {
    corio__post post; /* how the finished job goes back to its loop */
    corio__job *next, *prev;
    corio_fn fn;
    void (*detached)(void *arg); /* corio__pool_submit: no task, no post */
    void *arg;
    int result;
    int code; /* interrupt code delivered while running */
    int state;
    bool reaped;
    atomic_int cancelled;
    corio__loop *loop;
    corio_task *task;
    struct corio__pool *pool;
};

typedef struct corio__pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    corio__job *head, *tail;
    int nthreads, nidle, max, nqueued;
    int lent; /* threads held by abandoned jobs, not counted against max */
} corio__pool;

#define IDLE_EXIT_S 30
#define MAX_LENT 64

static corio__pool pools[CORIO__POOL_KINDS] = {
    [CORIO__POOL_CPU] = {.lock = PTHREAD_MUTEX_INITIALIZER,
                         .cond = PTHREAD_COND_INITIALIZER,
                         .max = 0},
    [CORIO__POOL_DNS] = {.lock = PTHREAD_MUTEX_INITIALIZER,
                         .cond = PTHREAD_COND_INITIALIZER,
                         .max = 4},
    [CORIO__POOL_FILE] = {.lock = PTHREAD_MUTEX_INITIALIZER,
                          .cond = PTHREAD_COND_INITIALIZER,
                          .max = 4},
};
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static CORIO__TLS corio__job *cur_job;

/* After fork only the forking thread exists: forget the others. */
static void atfork_child(void)
{
    for (int i = 0; i < CORIO__POOL_KINDS; i++) {
        pthread_mutex_init(&pools[i].lock, NULL);
        pthread_cond_init(&pools[i].cond, NULL);
        pools[i].head = pools[i].tail = NULL;
        pools[i].nthreads = pools[i].nidle = pools[i].nqueued = 0;
        pools[i].lent = 0;
    }
}

static void atfork_register(void)
{
    pthread_atfork(NULL, NULL, atfork_child);
}

/* The CPU pool is process-wide: sized at its first use, by the loop's
 * corio_options.threads or min(32, CPUs + 4); a later loop asking for more
 * threads grows it, none ever shrinks or resets it (design.md). */
static void size_cpu_pool(corio__pool *p, int threads)
{
    if (threads <= 0 && p->max > 0)
        return;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int n = threads > 0 ? threads : (int)(ncpu + 4 < 32 ? ncpu + 4 : 32);
    if (n > p->max)
        p->max = n;
}

static void unlink_job(corio__pool *p, corio__job *j)
{
    p->nqueued--;
    if (j->prev)
        j->prev->next = j->next;
    else
        p->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        p->tail = j->prev;
}

/* On the loop thread: the job is back; wake its task. */
static void job_done(corio__post *p)
{
    corio__job *j = (corio__job *)p;
    j->loop->jobs_pending--;
    j->reaped = true;
    corio__wake(j->task, 0);
}

static void *worker(void *arg)
{
    corio__pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && p->nthreads <= p->max + p->lent) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += IDLE_EXIT_S;
            p->nidle++;
            int rc = pthread_cond_timedwait(&p->cond, &p->lock, &ts);
            p->nidle--;
            if (rc && !p->head)
                break;
        }
        if (!p->head || p->nthreads > p->max + p->lent)
            break;
        corio__job *j = p->head;
        unlink_job(p, j);
        j->state = JOB_RUNNING;
        pthread_mutex_unlock(&p->lock);
        if (j->detached) {
            j->detached(j->arg);
            free(j);
            pthread_mutex_lock(&p->lock);
            continue;
        }
        cur_job = j;
        j->result = j->fn(j->arg);
        cur_job = NULL;
        corio__post_send(j->loop, &j->post);
        pthread_mutex_lock(&p->lock);
    }
    p->nthreads--;
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* Start a thread if every idle one is spoken for and the pool may grow.
 * Called with p->lock held. */
static void grow(corio__pool *p)
{
    if (p->nqueued >= p->nidle && p->nthreads < p->max + p->lent) {
        pthread_t th;
        pthread_attr_t a;
        sigset_t all, old;
        sigfillset(&all);
        pthread_attr_init(&a);
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        pthread_sigmask(SIG_SETMASK, &all, &old); /* inherited: no signals */
        int rc = corio__sys.pthread_create(&th, &a, worker, p);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        pthread_attr_destroy(&a);
        if (rc == 0)
            p->nthreads++;
    }
}

/* Queue j, growing the pool if need be.  Called with p->lock held.
 * -EAGAIN if the pool has no thread at all. */
static int submit(corio__pool *p, corio__job *j)
{
    grow(p);
    if (!p->nthreads)
        return -EAGAIN;
    j->next = NULL;
    j->prev = p->tail;
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    p->nqueued++;
    pthread_cond_signal(&p->cond);
    return 0;
}

typedef struct job_wait {
    corio__wait w; /* first: the scheduler hands back &w */
    corio__job *job;
} job_wait;

static bool job_cancel(corio__wait *w, corio_task *t, int code)
{
    corio__job *j = ((job_wait *)w)->job;
    corio__pool *p = j->pool;
    (void)t;
    pthread_mutex_lock(&p->lock);
    if (j->state == JOB_QUEUED) {
        unlink_job(p, j);
        j->state = JOB_DROPPED;
        pthread_mutex_unlock(&p->lock);
        j->loop->jobs_pending--;
        return true;
    }
    j->code = code;
    atomic_store(&j->cancelled, 1);
    pthread_mutex_unlock(&p->lock);
    return false;
}

int corio__pool_run(int kind, corio_fn fn, void *arg, int *result)
{
    corio_task *self = corio__self();
    int64_t none = INT64_MAX;
    if (!self)
        return -EPERM;
    if (!fn)
        return -EINVAL;
    int rc = corio__interrupt_code(self, &none);
    if (rc < 0) {
        if (result)
            *result = rc;
        return rc;
    }
    corio__job j;
    memset(&j, 0, sizeof j);
    j.post.fn = job_done;
    j.fn = fn;
    j.arg = arg;
    j.loop = self->loop;
    j.task = self;
    j.pool = &pools[kind];
    pthread_once(&atfork_once, atfork_register);
    pthread_mutex_lock(&j.pool->lock);
    if (kind == CORIO__POOL_CPU)
        size_cpu_pool(j.pool, self->loop->pool_threads);
    rc = submit(j.pool, &j);
    pthread_mutex_unlock(&j.pool->lock);
    if (rc < 0)
        return rc;
    self->loop->jobs_pending++;
    job_wait jw = {{job_cancel, "thread job", INT64_MAX}, &j};
    rc = corio__park(&jw.w);
    if (j.state == JOB_DROPPED) {
        if (result)
            *result = rc;
        return rc;
    }
    if (!j.reaped) {
        /* park returned before sleeping: a deadline that passed or a
         * cancellation that came since the check above (a slow machine
         * can take longer than a short timeout to get here), or no memory
         * for the timer.  Deliver it to the job as an interruption while
         * sleeping would have: a queued job is dropped, a running one sees
         * corio_thread_cancelled().  The job lives on this stack, so what
         * was not dropped is waited out. */
        if ((rc == -ECANCELED || rc == -ETIMEDOUT) &&
            job_cancel(&jw.w, self, rc)) {
            if (result)
                *result = rc;
            return rc;
        }
        self->noint++;
        while (!j.reaped)
            corio__park(&jw.w);
        self->noint--;
    }
    if (result)
        *result = j.result;
    if (j.code < 0) { /* a later cancellation beats the deadline */
        int64_t none2 = INT64_MAX;
        int now = corio__interrupt_code(self, &none2);
        return now < 0 ? now : j.code;
    }
    return j.code;
}

int corio__pool_submit(int kind, void (*fn)(void *arg), void *arg)
{
    corio__job *j = corio__sys.calloc(1, sizeof *j);
    if (!j)
        return -ENOMEM;
    j->detached = fn;
    j->arg = arg;
    j->pool = &pools[kind];
    pthread_once(&atfork_once, atfork_register);
    pthread_mutex_lock(&j->pool->lock);
    int rc = submit(j->pool, j);
    pthread_mutex_unlock(&j->pool->lock);
    if (rc < 0)
        free(j);
    return rc;
}

bool corio__pool_lend(int kind)
{
    corio__pool *p = &pools[kind];
    pthread_mutex_lock(&p->lock);
    bool ok = p->lent < MAX_LENT;
    if (ok) {
        p->lent++;
        if (p->head)
            grow(p); /* jobs are queued behind the abandoned one */
    }
    pthread_mutex_unlock(&p->lock);
    return ok;
}

void corio__pool_unlend(int kind)
{
    corio__pool *p = &pools[kind];
    pthread_mutex_lock(&p->lock);
    p->lent--;
    pthread_mutex_unlock(&p->lock);
}

int corio_to_thread(corio_fn fn, void *arg, int *result)
{
    return corio__pool_run(CORIO__POOL_CPU, fn, arg, result);
}

int corio_thread_cancelled(void)
{
    return cur_job && atomic_load(&cur_job->cancelled);
}

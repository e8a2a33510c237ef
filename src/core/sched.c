/* core/sched.c — the scheduler: the ready queue, parking and waking, the
 * choice of the next task, blocking for I/O and timers, the virtual clock's
 * jumps and deadlock detection.
 *
 * Tasks switch directly to one another: the code that picks the next task
 * runs on the stack of the task that is suspending (it is small), so a yield
 * costs one context switch.  The root context (corio_run's own stack) is
 * resumed only when no task is left.  A finished task cannot free the stack
 * it runs on, so it leaves itself in L->zombie and the next context frees it
 * right after the switch.
 *
 * Deadlock: nothing is ready and nothing can wake a task — no timer, no fd
 * waiter, no thread job, no open corio_remote, nothing posted.  In a set of
 * loops (corio_run_loops) another loop may still post: the loop sleeps,
 * and the set declares a deadlock when every loop is in that state
 * (core/loops.c).
 *
 * Passes: the tasks that are ready when a pass starts run once each, in FIFO
 * order; before the next pass, I/O readiness and timers are checked (without
 * blocking), so a task that keeps yielding cannot starve I/O.  The check is
 * skipped when nothing could be ready (no fd waiter, thread job or timer).
 * The turn's hooks (core/turn.h: coalesced writes) run before every poll,
 * blocking or not, and before the root is resumed at the end of the run. */
#include "core/loop.h"
#include "core/engine.h"
#include "core/post.h"
#include "core/turn.h"

#include <string.h>

CORIO__TLS corio__loop *corio__cur;

/* With more tasks than this ready, corio__park prefetches (see there). */
#define PREFETCH_READY 16

/* Prefetch what task n will touch first when it runs: the frames under
 * its saved stack pointer, and the record of the task after it.  A
 * prefetch never faults. */

static inline void prefetch_task(const corio_task *n)
{
    const char *sp = n->ctx.sp;
    __builtin_prefetch(sp);
    __builtin_prefetch(sp + 64);
    __builtin_prefetch(sp + 128);
    __builtin_prefetch(sp + 192);
    __builtin_prefetch(n->next);
}

static corio_task *dequeue(corio__loop *L)
{
    corio_task *t = L->ready_head;
    L->ready_head = t->next;
    if (!L->ready_head)
        L->ready_tail = NULL;
    L->nready--;
    return t;
}

static void reap_zombie(corio__loop *L)
{
    corio_task *z = L->zombie;
    L->zombie = NULL;
    corio__task_release(z);
}

/* Run by every context a switch resumes: free the stack of the task that
 * finished and switched here (L->exiting was cleared by its exit). */
static inline void after_switch(corio__loop *L)
{
    if (L->zombie)
        reap_zombie(L);
}

void corio__wake(corio_task *t, int value)
{
    if (t->state != CORIO__PARKED)
        return; /* already woken: a task is never queued twice */
    /* Only a loop with armed timers can have one in t; without any, the
     * disarm would load a cache line of t for nothing. */
    if (t->loop->timers.n)
        corio__timer_disarm(&t->loop->timers, &t->timer);
    t->wake = value;
    t->state = CORIO__READY;
    corio__enqueue(t->loop, t);
}

void corio__interrupt(corio_task *t, int code)
{
    if (t->state != CORIO__PARKED || t->interrupted)
        return;
    t->interrupted = 1;
    corio__wait *w = t->wait;
    if (w->cancel && !w->cancel(w, t, code)) {
        /* The waker still owns the task (a running thread job). */
        corio__timer_disarm(&t->loop->timers, &t->timer);
        return;
    }
    corio__wake(t, code);
}

/* A parked task's deadline: its own wait ended, or a scope expired. */
static void task_timer_fire(corio__timer *tm)
{
    corio_task *t = (corio_task *)((char *)tm - offsetof(corio_task, timer));
    int64_t deadline = t->wait->until;
    int rc = corio__interrupt_check(t, &deadline);
    if (rc < 0)
        corio__interrupt(t, rc);
    else if (t->wait->until <= corio__loop_now(t->loop))
        corio__wake(t, 0);
    else
        corio__timer_arm(&t->loop->timers, &t->timer, deadline);
}

static void cancel_main(corio__loop *L)
{
    if (L->main && !L->main_done)
        corio_task_cancel(L->main);
}

static void check_sigint(corio__loop *L)
{
    /* A plain load first: the exchange is a locked instruction, paid at
     * every pass otherwise. */
    if (atomic_load_explicit(&L->sigint, memory_order_relaxed) &&
        atomic_exchange(&L->sigint, 0))
        cancel_main(L);
}

/* What other threads sent: a call's answer in its record, which only wakes
 * its caller (no switch to the root's stack, as posts need), then the
 * posts. */
static inline void take_inbox(corio__loop *L)
{
    if (L->flag_call)
        (void)corio__call_collect(L);
    if (corio__post_pending(L))
        corio__loop_run_posts(L);
}

/* Non-blocking check between passes. */
static void pass_poll(corio__loop *L)
{
    if (L->nfd_waiting || L->jobs_pending || atomic_load(&L->sigint) ||
        atomic_load(&L->wake_armed)) /* the eventfd was written */
        L->engine->wait(L, 0);
    take_inbox(L); /* posted without a wake-up (post.c) */
    if (L->timers.n)
        corio__timer_run(&L->timers, corio__loop_now(L));
    check_sigint(L);
}

static void cancel_one(corio_task *t, void *ctx)
{
    (void)ctx;
    corio__cancel(t);
}

/* Every task is blocked and nothing can wake one (in a set of loops: in
 * every loop, core/loops.c).  Escalate: cancel the main task, then every
 * task, then give up on the run. */
void corio__deadlock(corio__loop *L)
{
    L->deadlock_level++;
    if (L->set)
        fprintf(stderr,
                "corio: deadlock across loops: every loop is blocked and "
                "only another loop could wake it; loop %zu of %zu, %zu "
                "tasks (escalation %d)\n",
                L->index, corio_loop_count(), L->nalive, L->deadlock_level);
    else
        fprintf(stderr,
                "corio: deadlock: all %zu tasks are blocked and nothing "
                "can wake one (escalation %d)\n",
                L->nalive, L->deadlock_level);
    corio__dump(L, stderr);
    if (L->deadlock_level == 1 && L->main && !L->main_done) {
        cancel_main(L);
    } else if (L->deadlock_level <= 2) {
        corio__each_task(L, cancel_one, NULL);
    } else {
        fprintf(stderr, "corio: deadlock: abandoning the run\n");
        L->abandoned = true;
    }
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

/* Polling, Seastar's way: a loop of corio_run_loops that waits for another
 * loop (a corio_loop_call of one of its tasks) or was posted to by one
 * since it last slept spins on its inbox for up to poll_ns before it
 * sleeps, so a reply or the next request finds it awake: no eventfd write
 * for the sender, no trip through the kernel's scheduler for either.  The
 * price is up to poll_ns of CPU per sleep.  Watched descriptors are
 * checked every POLL_IO_NS meanwhile, so I/O waits that much at most.
 * Returns true when there is something to do (a call's answer in its
 * record is collected here already). */
#define POLL_IO_NS (8 * 1000)

static bool poll_inbox(corio__loop *L, int64_t next)
{
    if (!L->poll_ns || !(L->calls_out || L->poll_due))
        return false;
    L->poll_due = false;
    int64_t now = corio__mono(), end = now + L->poll_ns;
    int64_t io_at = now + POLL_IO_NS;
    if (!L->virtual_clock && next < end)
        end = next;
    while (now < end) {
        for (int i = 0; i < 32; i++) {
            if (corio__post_pending(L) ||
                (L->flag_call && corio__call_collect(L)))
                return true;
            cpu_relax();
        }
        now = corio__mono();
        if (atomic_load_explicit(&L->sigint, memory_order_relaxed))
            return true;
        if (L->nfd_waiting && now >= io_at) {
            L->engine->wait(L, 0);
            if (L->nready)
                return true;
            io_at = now + POLL_IO_NS;
        }
    }
    return false;
}

/* Sleep in the engine for up to timeout (-1: until woken); the engine's
 * result, or 1 when something was posted meanwhile and the loop did not
 * sleep but ran it. */
static int sleep_in_engine(corio__loop *L, int64_t timeout)
{
    if (!corio__post_sleep_begin(L)) {
        corio__loop_run_posts(L);
        return 1;
    }
    int n = L->engine->wait(L, timeout);
    corio__post_sleep_end(L);
    return n;
}

/* Nothing can wake the loop but what it already waits for: no timer, no
 * fd waiter, no thread job, no open cross-thread handle.  (Posts were
 * checked just before.) */
static bool nothing_can_wake(corio__loop *L, int64_t next)
{
    return next == INT64_MAX && !L->nfd_waiting && !L->jobs_pending &&
           !atomic_load(&L->remotes_open) && !atomic_load(&L->wake_armed);
}

/* Nothing can wake the loop.  Alone, it is deadlocked; in a set of loops
 * another loop may still post to it, so it sleeps, unless every loop is in
 * the same state (then each is told, core/loops.c). */
static void stuck(corio__loop *L)
{
    if (!L->set)
        corio__deadlock(L);
    else if (L->set_idle || !corio__loops_idle(L))
        sleep_in_engine(L, -1);
}

/* Nothing is ready: wait for a timer, I/O, a thread job, a post or a
 * signal. */
static void block(corio__loop *L)
{
    while (!L->nready && L->nalive && !L->abandoned) {
        check_sigint(L);
        if (L->nready)
            break;
        if (L->flag_call && corio__call_collect(L))
            continue;
        if (corio__post_pending(L)) {
            corio__loop_run_posts(L);
            continue;
        }
        int64_t next = corio__timer_next(&L->timers);
        if (poll_inbox(L, next)) { /* an answer is collected there */
            if (corio__post_pending(L))
                corio__loop_run_posts(L);
            continue;
        }
        /* Every sleep and every count as idle below comes after this: a
         * call answered in its record must be answered by a post from
         * here on, which wakes the loop and which the set's deadlock
         * check sees. */
        if (L->flag_call && !corio__call_sleep(L)) {
            corio__call_collect(L);
            continue;
        }
        if (nothing_can_wake(L, next)) {
            stuck(L);
            continue;
        }
        if (L->virtual_clock) {
            /* Time stands still while a thread job is pending or I/O is
             * ready; otherwise jump to the next timer (after waiting
             * `autojump` of real time for I/O).  A manual clock never
             * jumps: with only timers left nothing can wake a task.
             * Trimming sees the time the loop is jumping to. */
            corio__trim_idle(L, next == INT64_MAX ? L->vnow : next);
            if (L->jobs_pending || next == INT64_MAX) {
                sleep_in_engine(L, -1);
            } else if (L->autojump == CORIO_NEVER) {
                if (nothing_can_wake(L, INT64_MAX)) {
                    stuck(L);
                    continue;
                }
                sleep_in_engine(L, -1);
            } else if (sleep_in_engine(L, L->autojump) == 0) {
                if (next > L->vnow)
                    L->vnow = next;
                corio__timer_run(&L->timers, L->vnow);
            }
            continue;
        }
        int64_t now = corio__mono();
        if (next > now) { /* about to sleep: perhaps trim first */
            int64_t trim = corio__trim_idle(L, now);
            if (trim < next)
                next = trim;
        }
        int64_t timeout = -1;
        if (next != INT64_MAX) {
            timeout = next - now;
            if (timeout < 0)
                timeout = 0;
        }
        if (L->debug && L->stopping && !L->stop_reported &&
            (timeout < 0 || timeout > CORIO_SECOND))
            timeout = CORIO_SECOND; /* wake up to report a slow shutdown */
        sleep_in_engine(L, timeout);
        if (L->timers.n)
            corio__timer_run(&L->timers, corio__mono());
        if (L->debug && L->stopping)
            corio__debug_stopping(L);
    }
}

/* The next context to run: a ready task, or the root once no task is left
 * (or the run was abandoned).  May block. */
static corio_task *pick_slow(corio__loop *L)
{
    for (;;) {
        if (L->turn_head)
            corio__turn_run(L);
        if (!L->nready) {
            if (!L->nalive || L->abandoned)
                return &L->root;
            block(L);
            L->pass_left = L->nready;
            continue;
        }
        if (!L->pass_left) {
            pass_poll(L);
            L->pass_left = L->nready;
        }
        L->pass_left--;
        return dequeue(L);
    }
}

/* Whether the end of a pass has anything to do: no turn hook, fd waiter,
 * thread job, timer, signal, eventfd wake-up, post or call answered in its
 * record means pick_slow's poll
 * would find nothing, so a new pass can start inline.  (Plain loads: a post or
 * a signal that lands just after is seen at the next pass.) */
static inline bool pass_idle(corio__loop *L)
{
    return !L->turn_head && !L->nfd_waiting && !L->jobs_pending &&
           !L->timers.n &&
           !atomic_load_explicit(&L->sigint, memory_order_relaxed) &&
           !atomic_load_explicit(&L->wake_armed, memory_order_relaxed) &&
           /* posts come without a wake-up to an awake loop (post.c), and
            * so does a call's answer in its record (call.c); a closed
            * inbox (loop shutdown) only takes the slow path */
           !atomic_load_explicit(&L->posts, memory_order_relaxed) &&
           !L->flag_call;
}

/* The common case inline: a task is ready and the pass is not over, or it
 * is over with nothing to poll (two tasks yielding to each other end a
 * pass at every second switch).  NULL otherwise: pick_slow's turn, which
 * runs hooks and posts and may block. */
static inline __attribute__((always_inline)) corio_task *
pick_ready(corio__loop *L)
{
    if (CORIO__LIKELY(L->nready)) {
        if (CORIO__LIKELY(L->pass_left)) {
            L->pass_left--;
            return dequeue(L);
        }
        if (pass_idle(L)) {
            L->pass_left = L->nready - 1;
            return dequeue(L);
        }
    }
    return NULL;
}

static inline corio_task *pick(corio__loop *L)
{
    corio_task *next = pick_ready(L);
    return CORIO__LIKELY(next != NULL) ? next : pick_slow(L);
}

/* A switch away from self in a loop that checks something at every
 * suspension: a stack canary (once the pool has handed out a slot guarded
 * by one), the debug mode's slice.
 * Out of line (in pick_checked), so that the hot path keeps one
 * predictable branch and no frame for the name; the canary is checked
 * against this frame, deeper than the caller's. */
static __attribute__((noinline, cold)) void suspend_checks(corio__loop *L,
                                                           corio_task *self)
{
    if (self->stack.guard == CORIO__GUARD_CANARY) {
        char name[CORIO_TASK_NAME_MAX];
        corio__stack_check(&self->stack, __builtin_frame_address(0),
                           corio__task_label(self, name));
    }
    if (L->debug)
        corio__debug_suspend(L, self);
}

/* The next context for a finished task, when hooks or posts may run
 * first: they must not free the stack this runs on. */
static __attribute__((noinline)) corio_task *exit_pick_slow(corio__loop *L,
                                                            corio_task *self)
{
    L->exiting = self;
    corio_task *next = pick_slow(L);
    L->exiting = NULL; /* nothing runs between here and the switch */
    return next;
}

/* The next context, away from self (exiting: finished), for a loop that
 * checks something at every switch (a stack canary, the debug mode's slice
 * and resume): the hot paths test one condition for all of it. */
static __attribute__((noinline, cold)) corio_task *
pick_checked(corio__loop *L, corio_task *self, bool exiting)
{
    suspend_checks(L, self);
    corio_task *next = pick_ready(L);
    if (!next)
        next = exiting ? exit_pick_slow(L, self) : pick_slow(L);
    if (L->debug)
        corio__debug_resume(L, next);
    return next;
}

void corio__schedule(corio__loop *L, corio_task *self)
{
    corio_task *next;
    if (CORIO__UNLIKELY(L->debug | L->stacks.canaries))
        next = pick_checked(L, self, false);
    else
        next = pick(L);
    if (next == self) {
        self->state = CORIO__RUNNING;
        return;
    }
    L->current = next;
    next->state = CORIO__RUNNING;
    corio__ctx_switch(&self->ctx, &next->ctx);
    after_switch(L);
}

void corio__rearm(corio_task *t)
{
    if (!t || t->state != CORIO__PARKED || t->interrupted)
        return;
    int64_t deadline = t->wait->until;
    int rc = corio__interrupt_check(t, &deadline);
    if (rc < 0) {
        corio__interrupt(t, rc);
    } else if (deadline != INT64_MAX) {
        t->timer.fire = task_timer_fire;
        (void)corio__timer_arm(&t->loop->timers, &t->timer, deadline);
    }
}

void (*corio__suspend_hook)(corio_task *t);

int corio__suspend_slow(corio_task *t, int64_t *deadline)
{
    if (CORIO__UNLIKELY(corio__suspend_hook))
        corio__suspend_hook(t);
    return corio__interrupt_code(t, deadline);
}

int corio__park(corio__wait *w)
{
    corio__loop *L = corio__cur;
    corio_task *t = L->current;
    int64_t deadline = w->until;
    int rc = corio__suspend_check(t, &deadline);
    if (rc < 0) {
        if (CORIO__UNLIKELY(L->debug) && rc == -ETIMEDOUT)
            corio__scope_report_poisoned(t);
        return rc;
    }
    if (deadline != INT64_MAX) {
        t->timer.fire = task_timer_fire;
        if (corio__timer_arm(&L->timers, &t->timer, deadline) < 0)
            return -ENOMEM;
    }
    t->wait = w;
    t->interrupted = 0;
    t->state = CORIO__PARKED;
    /* A server with many connections parks each task after its I/O while
     * a poll's worth of others are ready; their records and the frames
     * under their saved stack pointers were last touched a turn ago and
     * are cold, so every switch waited for memory (the first load from the
     * new stack was the costliest user-space instruction of the
     * 1,000-connection ping-pong).  The task that runs next is too close
     * to help; the one after it has this task's whole run ahead, and the
     * record after that one is what the next park here reads.  Only
     * here, and only with many tasks ready: spawn, yield and small queues
     * run on warm memory and skip it. */
    corio_task *h = L->ready_head;
    if (L->nready > PREFETCH_READY && h->next)
        prefetch_task(h->next);
    corio__schedule(L, t);
    t->wait = NULL;
    t->coop = CORIO__COOP_BUDGET;
    return t->wake;
}

int corio__coop_checkpoint(corio_task *t)
{
    int rc = corio_yield(); /* delivers what is pending, else yields */
    if (rc < 0)
        t->coop = 1; /* level-triggered: the next operation checks again */
    return rc;
}

int corio_yield(void)
{
    corio_task *t = corio__self();
    if (!t)
        return -EPERM;
    if (CORIO__UNLIKELY(t->nscopes || t->cancelled)) {
        /* corio__suspend_check, with `none` only on this path: the hot
         * path then keeps no stack slot for it. */
        int64_t none = INT64_MAX;
        int rc = corio__suspend_slow(t, &none);
        if (rc < 0)
            return rc;
    }
    t->state = CORIO__READY;
    corio__enqueue(t->loop, t);
    corio__schedule(t->loop, t);
    t->coop = CORIO__COOP_BUDGET;
    return 0;
}

int corio_sleep(int64_t ns)
{
    corio_task *t = corio__self();
    if (!t)
        return -EPERM;
    if (ns <= 0)
        return corio_yield();
    int64_t now = corio__loop_now(t->loop);
    corio__wait w = {NULL, "sleep",
                     ns > INT64_MAX - now ? INT64_MAX - 1 : now + ns};
    return corio__park(&w);
}

/* A finished task switches away for good: its stack is freed by the next
 * context (L->zombie) or by whoever releases its handle.  The common case
 * tests one condition and picks inline. */
static inline __attribute__((noreturn)) void task_exit(corio__loop *L,
                                                       corio_task *self)
{
    corio_task *next;
    if (CORIO__UNLIKELY(L->debug | L->stacks.canaries)) {
        next = pick_checked(L, self, true);
    } else {
        next = pick_ready(L);
        if (CORIO__UNLIKELY(!next))
            next = exit_pick_slow(L, self);
    }
    L->current = next;
    next->state = CORIO__RUNNING;
    corio__ctx_exit(&self->ctx, &next->ctx);
}

/* fn and arg come with the first switch (corio__ctx_make), equal to t->fn
 * and t->arg, which are in a line of the record that this task need not
 * read otherwise. */
void corio__task_entry(void *task, void *fn, void *arg)
{
    corio_task *t = task;
    corio__ctx_started();
    after_switch(t->loop);
    int r = t->cancelled ? -ECANCELED : ((corio_fn)fn)(arg);
    corio__task_finish(t, r);
    task_exit(t->loop, t);
}

void corio__loop_drive(corio__loop *L)
{
    corio_task *next = pick(L);
    if (CORIO__UNLIKELY(L->debug))
        corio__debug_resume(L, next);
    if (next == &L->root)
        return;
    L->current = next;
    next->state = CORIO__RUNNING;
    /* The root is resumed for good at the end of the run, and meanwhile
     * to run posts on its own (large) stack for a task's pick(). */
    for (;;) {
        corio__ctx_switch(&L->root.ctx, &next->ctx);
        if (!L->post_caller)
            break;
        next = L->post_caller;
        L->post_caller = NULL;
        corio__post_run(L);
    }
    after_switch(L);
}

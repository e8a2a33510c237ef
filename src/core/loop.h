/* core/loop.h — corio's internal model: the loop, the task record, parking.
 *
 * Parts:
 *   corio__loop   one per thread running corio_run: ready queue, timers,
 *                 the I/O engine, the stack pool, and the root context (the
 *                 thread's own stack, where corio_run waits).
 *   corio_task    the task record.  It lives in the top of the task's own
 *                 stack (see arch/stack.h), so a spawn allocates nothing
 *                 but a pooled stack slot.
 *   corio__wait   what a parked task waits on: how to unlink it when it is
 *                 interrupted, and a label for the task dump.
 *
 * Every suspension goes through corio__park(), which is where cancellation,
 * deadlines and shields are applied (core/scope.c decides, core/sched.c
 * switches). */
#ifndef CORIO_CORE_LOOP_H
#define CORIO_CORE_LOOP_H

#include <corio.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "arch/context.h"
#include "arch/stack.h"
#include "os/sys.h"
#include "core/timer.h"

/* Thread-locals use the initial-exec model: in libcorio.so the default
 * (global-dynamic) would call __tls_get_addr on every access. */
#define CORIO__TLS __thread __attribute__((tls_model("initial-exec")))
#define CORIO__UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CORIO__LIKELY(x) __builtin_expect(!!(x), 1)
/* The unit that moves between CPUs when one writes what another reads. */
#define CORIO__CACHE_LINE 64

typedef struct corio__loop corio__loop;
typedef struct corio__engine corio__engine;
typedef struct corio__fdtab corio__fdtab;         /* io/fd.h; opaque here */
typedef struct corio__turn_hook corio__turn_hook; /* core/turn.h */

enum corio__state {
    CORIO__NEW,     /* spawned, queued, never run */
    CORIO__READY,   /* queued */
    CORIO__RUNNING, /* the current task */
    CORIO__PARKED,  /* waiting in corio__park */
    CORIO__DONE,    /* returned; record kept until the handle is released */
};

enum corio__owner {
    CORIO__OWNED,    /* a user handle exists */
    CORIO__DETACHED, /* freed when done */
    CORIO__GROUPED,  /* belongs to a group, freed when done */
    CORIO__CALLED,   /* runs a corio_loop_call, freed when done */
    CORIO__MAIN,     /* L->main, the run's first task, freed when done */
};

/* A parked task's wait.  cancel (may be NULL) unlinks the task from what it
 * waits on when it is interrupted and returns true if the task may resume
 * at once, false if the waker will still wake it (a running thread job). */
typedef struct corio__wait {
    bool (*cancel)(struct corio__wait *w, corio_task *t, int code);
    const char *what; /* for the task dump: "sleep", "join", "fd 7 read" ... */
    int64_t until;    /* the wait's own wake-up time (sleep), or INT64_MAX */
} corio__wait;

enum corio__scope_kind {
    CORIO__SCOPE_TIMEOUT,
    CORIO__SCOPE_SHIELD,
    CORIO__SCOPE_GROUP,
    CORIO__SCOPE_OBJECT, /* a corio_scope in the caller's storage */
};

typedef struct corio__scope_obj corio__scope_obj;
/* Task-local values (core/local.c): a refcounted copy-on-write table of
 * (key, value) pairs, shared by a spawner and its children until one of
 * them sets a value. */
typedef struct corio__locals {
    uint32_t refs, n, cap;
    struct corio__local_kv {
        const corio_local *key;
        void *value;
    } v[];
} corio__locals;

/* One entry of a task's scope stack.  file/line: where it began (debug
 * reports), NULL when begun through the plain function. */
typedef struct corio__scope {
    uint8_t kind;
    uint8_t reported; /* debug mode named it once already */
    int line;
    int64_t deadline; /* TIMEOUT */
    union {
        corio_group *group;    /* GROUP */
        corio__scope_obj *obj; /* OBJECT: deadline and cancel live there */
    };
    const char *file;
} corio__scope;

/* corio_scope's layout (include/corio/scope.h keeps its size). */
struct corio__scope_obj {
    corio_task *task; /* the task it belongs to while open */
    int64_t deadline;
    uint32_t magic;
    uint8_t cancelled;
    uint8_t open;
};

#define CORIO__TASK_MAGIC 0x6b736174u /* "task" */
#define CORIO__INLINE_SCOPES 2

/* The task record.  Hot fields first; the whole record sits in the top page
 * of the task's stack.  Line 0 holds every field that a spawn writes and a
 * run, a finish and a gather's check read, so that with many tasks in
 * flight (their lines evicted from L1 between the phases) each phase of a
 * task's life misses on as few lines as possible; the rest is read at
 * entry (fn, arg), by a release (stack) or off the common path.
 *
 * A record comes back from the pool as its last task left it (see
 * corio__spawn), and two fields are not written again by a spawn because
 * every release leaves them so: joiner is NULL (a finish, a cancelled or
 * failed wait clears it, and only an unjoined task is detached or
 * released) and the timer is not armed (it is armed only while the task
 * is parked, and a finished task is not). */
struct corio_task {
    /* cache line 0: the hot fields */
    corio__ctx ctx;   /* saved stack pointer while switched out */
    corio_task *next; /* ready-queue link */
    corio__loop *loop;
    uint8_t state;       /* enum corio__state */
    uint8_t owner;       /* enum corio__owner */
    uint8_t cancelled;   /* corio_task_cancel was called */
    uint8_t interrupted; /* the current wait was interrupted once */
    uint8_t noint;       /* >0: waits ignore cancellation and scopes */
    uint8_t named;       /* name[] holds the name (else made on demand) */
    uint8_t gathered;    /* handed to the corio_gather under way */
    uint8_t coop;        /* operations left before a checkpoint (sched.c) */
    uint16_t nscopes, capscopes;
    uint32_t magic;
    int result;            /* fn's return value once DONE */
    corio_task *joiner;    /* a task parked in join/gather/wait_for */
    corio__locals *locals; /* task-local values, shared with the spawner
                              until one side sets one (NULL: none) */
    /* cache line 1 */
    corio_fn fn;
    void *arg;
    corio__stack stack;
    uint64_t id;
    int wake; /* value the waker (or interrupter) delivers */
    /* cache line 2 */
    corio__wait *wait;  /* while PARKED */
    corio_group *group; /* CORIO__GROUPED only: the group and siblings */
    corio__timer timer; /* deadline of the current wait */
    corio_task *gprev, *gnext;
    corio__scope *scopes; /* inline_scopes or heap; set at first use */
    corio__scope inline_scopes[CORIO__INLINE_SCOPES];
    char name[CORIO_TASK_NAME_MAX];
};

struct corio_group {
    corio_task *owner;
    corio_task *children; /* list through gnext/gprev */
    size_t nchildren;
    int first_error;
    bool cancelled;
    bool explicit_cancel; /* corio_group_cancel was called */
    bool waiting;         /* the owner is in corio_group_wait */
};

struct corio__loop {
    corio_task *current;
    corio_task *ready_head, *ready_tail;
    size_t nready;
    size_t pass_left;    /* tasks left in this pass before the next poll */
    corio_task *zombie;  /* finished task whose stack awaits reuse */
    corio_task *exiting; /* finished task whose stack pick() runs on */
    corio_task
        *post_caller; /* task whose pick() switched to the root to run posts */
    corio_task root;  /* the thread's own stack (corio_run) */
    corio_task *main; /* the first task */
    int main_result;
    bool main_done;
    bool stopping;      /* main returned: everything left was cancelled */
    int deadlock_level; /* escalations so far (see sched.c) */
    bool abandoned;
    size_t nalive; /* tasks not DONE */
    uint64_t next_id;

    corio__timer_heap timers;
    int64_t start;   /* the clock when the loop started */
    int64_t vnow;    /* virtual clock: the current time */
    int64_t trim_at; /* core/trim.c: no trimming before this time */
    bool virtual_clock;
    int64_t autojump; /* virtual clock: real time to wait for I/O before
                         jumping to the next timer (0: none; CORIO_NEVER:
                         never jump, the test kit's manual clock) */

    corio__stack_pool stacks;
    size_t default_stack;

    /* I/O engine (core/engine.h). */
    const corio__engine *engine;
    void *engine_data;   /* the engine's own state (io_uring's ring) */
    int wakefd;          /* eventfd: thread jobs done, SIGINT */
    corio__fdtab *fdtab; /* io/fd.c's descriptor records */
    size_t nfd_waiting;  /* tasks parked on fds */

    /* Work run before each poll (core/turn.h): coalesced writes. */
    corio__turn_hook *turn_head;
    corio__turn_hook **turn_tail;

    /* Work posted by other threads (core/post.h).  Senders write these
     * four fields and a polling loop reads them: they get a cache line to
     * themselves (padding on both sides, whatever the alignment of the
     * allocation), so a post moves only that line between CPUs, and the
     * loop's own writes to its neighbours do not pull it back. */
    char inbox_before[CORIO__CACHE_LINE];
    _Atomic(struct corio__post *) posts; /* newest first */
    atomic_long senders;    /* outside threads between push and wake-up */
    atomic_bool wake_armed; /* the eventfd was written and not yet read */
    atomic_bool sleeping;   /* may block in the engine: senders write the
                               eventfd (core/post.c has the argument) */
    char inbox_after[CORIO__CACHE_LINE];
    bool poll_due;    /* a peer's post ran since the loop last slept */
    size_t calls_out; /* corio_loop_calls this loop's tasks wait on */
    struct corio__call *flag_call; /* the one call answered in its record
                                      (core/call.c) */
    int64_t poll_ns;               /* inbox polling before sleeping (0: none) */
    size_t jobs_pending;           /* thread jobs submitted and not reaped */
    int pool_threads;              /* corio_options.threads (io/pool.c) */
    atomic_long remotes_open;      /* corio_remote handles not yet closed */
    struct corio_remote *remotes;  /* every remote made on this loop */

    /* corio_run_loops (core/loops.c); NULL in a plain corio_run. */
    struct corio__loops *set;
    size_t index;
    bool set_idle; /* counted idle in the set (deadlock across loops) */

    /* SIGINT (core/sigint.c). */
    atomic_int sigint;
    bool sigint_owner;

    /* Debug mode (core/debug.c). */
    bool debug;
    int64_t slow_ns;
    int64_t slice_start;      /* real time the current task resumed */
    _Atomic int64_t wd_slice; /* same, for the watchdog thread */
    _Atomic(const char *) wd_name;
    atomic_bool wd_stop;
    pthread_t watchdog;
    bool has_watchdog;
    int64_t stopping_since;
    bool stop_reported;
    size_t hiwater;      /* deepest stack use seen */
    size_t hiwater_size; /* ... and that stack's size */
    char hiwater_task[CORIO_TASK_NAME_MAX];
};

extern CORIO__EXPORT CORIO__TLS corio__loop *corio__cur;

/* The calling task, or NULL outside a task (also on the root context). */
static inline corio_task *corio__self(void)
{
    corio__loop *L = corio__cur;
    if (!L || L->current == &L->root)
        return NULL;
    return L->current;
}

/* Append t to the ready queue. */
static inline void corio__enqueue(corio__loop *L, corio_task *t)
{
    t->next = NULL;
    if (L->ready_tail)
        L->ready_tail->next = t;
    else
        L->ready_head = t;
    L->ready_tail = t;
    L->nready++;
}

/* t is a live handle owned by the caller's loop.  (The root is none: its
 * magic is 0.) */
static inline bool corio__handle_ok(const corio_task *t)
{
    corio__loop *L = corio__cur;
    return t && L && t->magic == CORIO__TASK_MAGIC && t->loop == L &&
           t->owner == CORIO__OWNED;
}

/* sched.c */
CORIO__EXPORT int corio__park(corio__wait *w);
/* Called with the task at each of its suspension points (every
 * corio__park and corio_yield, before the interrupt rule is asked) when
 * set, but only on the slow path of that check (a scope open, or the task
 * cancelled), so the hot path pays nothing: the test kit's cancel sweep
 * keeps a scope open on the task it watches, counts its suspension points
 * and cancels it at one of them.  NULL outside tests. */
extern CORIO__EXPORT void (*corio__suspend_hook)(corio_task *t);
CORIO__EXPORT void corio__wake(corio_task *t, int value);
CORIO__EXPORT void corio__interrupt(corio_task *t, int code);
void corio__schedule(corio__loop *L, corio_task *self);
void corio__loop_drive(corio__loop *L);
/* A task's first code: t, t->fn and t->arg (see corio__ctx_make). */
void corio__task_entry(void *t, void *fn, void *arg) __attribute__((noreturn));

/* task.c */
int corio__spawn(corio_task **out, const corio_task_opts *o, corio_fn fn,
                 void *arg, int owner);
/* Give t's slot back to the pool (inline: join and gather release every
 * task they wait for).  The free-list node goes over the record's first
 * bytes (ctx, next, loop), which are hot; magic, further on, stays 0, and
 * stack, further on too, stays for the slot's next spawn. */
static inline void corio__task_release(corio_task *t)
{
    corio__ctx_free(&t->ctx);
    t->magic = 0;
    corio__stack_free(&t->stack, t);
}
/* fn returned result: mark t DONE and hand it to its owner (wake its
 * joiner, tell its group or caller; a detached task becomes L->zombie).
 * The caller, corio__task_entry, then switches away for good. */
void corio__task_finish(corio_task *t, int result);
int corio__join_wait(corio_task *t);
void corio__cancel(corio_task *t);
/* t's name without formatting into the record (async-signal-safe, little
 * stack): its name, or "task-<id>" written into buf. */
const char *corio__task_label(const corio_task *t,
                              char buf[CORIO_TASK_NAME_MAX]);
/* Call fn for every task record of L not yet released, in slot order. */
void corio__each_task(corio__loop *L, void (*fn)(corio_task *t, void *ctx),
                      void *ctx);

/* The cooperative budget (sched.c, design.md): every operation that may
 * complete without waiting (an fd read or write, an HTTP body read) spends
 * one unit first; when the task has spent CORIO__COOP_BUDGET since it last
 * suspended, the operation passes a checkpoint before it runs: a pending
 * cancellation or an expired deadline is delivered there (the operation
 * returns it and does nothing), otherwise the task yields once.  A busy
 * peer can then neither starve the loop nor outrun a deadline. */
#define CORIO__COOP_BUDGET 128
CORIO__EXPORT int corio__coop_checkpoint(corio_task *t);
static inline int corio__coop(corio_task *t)
{
    if (CORIO__LIKELY(--t->coop > 0))
        return 0;
    return corio__coop_checkpoint(t);
}

/* local.c: drop one reference to a task's task-local table. */
void corio__locals_release(corio__locals *m);

/* scope.c */
CORIO__EXPORT int corio__interrupt_code(corio_task *t, int64_t *deadline);
/* The same, with the common case inline (no scope open, not cancelled:
 * nothing to deliver and no deadline), for the scheduler's hot paths. */
static inline int corio__interrupt_check(corio_task *t, int64_t *deadline)
{
    if (CORIO__LIKELY(!t->nscopes && !t->cancelled))
        return 0;
    return corio__interrupt_code(t, deadline);
}
/* sched.c: corio__interrupt_check at a suspension point, where the slow
 * path also calls corio__suspend_hook. */
int corio__suspend_slow(corio_task *t, int64_t *deadline);
static inline int corio__suspend_check(corio_task *t, int64_t *deadline)
{
    if (CORIO__LIKELY(!t->nscopes && !t->cancelled))
        return 0;
    return corio__suspend_slow(t, deadline);
}
void corio__recheck(corio_task *t);
/* sched.c: t's scopes changed (a deadline moved): if t is parked,
 * interrupt it or re-arm its timer at the new earliest deadline. */
void corio__rearm(corio_task *t);
int corio__scope_push(corio_task *t, corio__scope s);
/* Debug mode: name the expired scope a wait failed on at its start. */
void corio__scope_report_poisoned(corio_task *t);
void corio__scopes_close(corio_task *t);

/* group.c */
void corio__group_child_done(corio_task *t);

/* call.c: a corio_loop_call task ended (also one cancelled before it
 * ran): report its result to the caller's loop. */
void corio__call_done(corio_task *t);

/* loop.c: a loop's life in three steps (corio_run_ex, corio_run_loops).
 * run: make L current, run main and every task to the end; 0 or
 * CORIO_EABANDONED, main's result in *result.  destroy leaves L's memory
 * to the caller (other loops may still post to it). */
int corio__loop_init(corio__loop *L, const corio_options *o);
int corio__loop_run(corio__loop *L, corio_fn main, void *arg, int *result);
void corio__loop_destroy(corio__loop *L);

/* sched.c: the loop (alone, or with every loop of its set) is deadlocked:
 * report it and escalate one step. */
void corio__deadlock(corio__loop *L);

/* loops.c: main's run is over; for a loop of corio_run_loops, close it to
 * posts, run those that came first and their tasks. */
void corio__loops_end(corio__loop *L);

/* clock.c */
int64_t corio__mono(void);
/* The loop is about to sleep: give back memory left by a burst (trim.c).
 * Returns when the loop should wake up at the latest to do it (INT64_MAX:
 * nothing to do). */
int64_t corio__trim_idle(corio__loop *L, int64_t now);
CORIO__EXPORT int64_t corio__loop_now(corio__loop *L);

/* sigint.c */
void corio__sigint_install(corio__loop *L);
void corio__sigint_restore(corio__loop *L);

/* debug.c */
CORIO__EXPORT void corio__warn(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
#define CORIO__MISUSE(L, ...)                                                  \
    do {                                                                       \
        if ((L) && (L)->debug)                                                 \
            corio__warn(__VA_ARGS__);                                          \
    } while (0)
void corio__debug_start(corio__loop *L);
void corio__debug_suspend(corio__loop *L, corio_task *self);
void corio__debug_resume(corio__loop *L, corio_task *next);
void corio__debug_task_done(corio__loop *L, corio_task *t);
void corio__debug_stopping(corio__loop *L);
void corio__debug_finish(corio__loop *L);
void corio__dump(corio__loop *L, FILE *out);

/* Validation shared by join, gather and wait_for. */
static inline int corio__join_check(corio_task *t, corio_task *self)
{
    if (!self)
        return -EPERM;
    if (t == self) {
        CORIO__MISUSE(corio__cur, "task '%s' joins itself", corio_task_name(t));
        return -EDEADLK;
    }
    if (!corio__handle_ok(t)) {
        CORIO__MISUSE(corio__cur, "join: %p is not a live task handle",
                      (void *)t);
        return -EINVAL;
    }
    if (t->joiner && t->joiner != self)
        return -EBUSY;
    return 0;
}

#endif

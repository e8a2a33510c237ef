/* core/call.c — corio_loop_call: run a function as a task on another loop
 * and wait for it, with cancellation and deadlines carried across.
 *
 * The call record lives on the caller's stack and carries three post nodes,
 * four posts:
 *
 *   caller's loop A                         target loop B
 *   ---------------                         -------------
 *   post `start` ─────────────────────────▶ spawn task T (owner CALLED)
 *   park                                     T runs fn(arg)
 *     interrupted: post `cancel` ─────────▶ cancel T (if alive), post `ack`
 *   ◀──────────────────────────── `done`    T ended (corio__call_done)
 *   ◀──────────────────────────── `ack`
 *   woken when every post it expects has come back
 *
 * `done` travels in `start`'s node: B has taken `start` off its list before
 * it runs it, so the node is free again by the time T ends.  Posts from one
 * thread are FIFO, so `cancel` always runs after `start`.
 * T's end is reported by the task's finish itself (CORIO__CALLED), so a T
 * cancelled before it ever ran (by `cancel`, or by B shutting down) still
 * reports, with -ECANCELED.  The caller leaves only when `done` and, if it
 * sent `cancel`, `ack` have run: after that nothing on B refers to the
 * record.  While it waits, its loop polls for the answer before sleeping
 * (sched.c) and is not declared deadlocked unless every loop of its set
 * is blocked (core/loops.c).
 *
 * The answer in the record.  A post back costs two more cache-line
 * transfers (A's list head goes to B and back) than B writing the result
 * into the record A is polling anyway.  So one call at a time per loop,
 * to a loop of the same set (L->flag_call), is answered through `state`:
 *
 *   POLLING ──B: result written, then CAS──▶ ANSWERED   A collects it
 *      │
 *      └────A: CAS, before it sleeps or counts itself idle──▶ ASLEEP
 *                                            B posts `done` as before
 *
 * One word decides between them, so B never touches the record after A
 * may have seen ANSWERED (A's task may return at once), and a loop that
 * sleeps is always woken by a post, which the set's deadlock check sees.
 * Other calls (a second one outstanding on the loop, a call to the loop
 * itself or to another run's loop, whose end B cannot see) use the post.
 * An interruption changes nothing here: `cancel` and `ack` are posts. */
#include "core/post.h"

#include <assert.h>
#include <string.h>

/* The record, drawn by cache line:
 *
 *   line 0, the wire  post (`start`, then `done`)  in/out  task  state
 *   line 1+           from, the caller's wait, `cancel`, `ack`, A's counters
 *
 * A call that is not interrupted moves only line 0 between the CPUs: A
 * fills it and posts it, B reads it, writes the result and the state into
 * it (or reuses the node for `done`), A reads it back.  Nothing on B reads
 * the caller's task record or A's side of the call; `from` only when B
 * must post back. */
enum { NO_FLAG, POLLING, ANSWERED, ASLEEP };

typedef struct corio__call {
    _Alignas(CORIO__CACHE_LINE) corio__post post;
    union {
        struct {
            corio_fn fn;
            void *arg;
        } in; /* A to B, read when T starts */
        struct {
            int result; /* fn's, or why it never ran */
            int status; /* 0: T ran (or was cancelled); < 0: never made */
        } out;          /* B to A, written when T has ended */
    } io;
    corio_task *task; /* T while it lives (B's thread only) */
    atomic_int state; /* NO_FLAG, or the answer in the record (above) */

    corio__loop *from; /* A: where `done` goes */
    corio__wait w;
    corio__post cancel; /* to B */
    corio__post ack;    /* to A */
    corio__loop *to;
    corio_task *caller;
    int code;            /* the caller's interruption */
    int arrived, needed; /* posts back on A */
} call;

static_assert(offsetof(call, from) == CORIO__CACHE_LINE,
              "a call's wire is one cache line");

#define CALL_OF(p, field) ((call *)((char *)(p)-offsetof(call, field)))

/* On A. */
static void came_back(call *c)
{
    if (++c->arrived == c->needed)
        corio__wake(c->caller, 0);
}

static void on_done(corio__post *p)
{
    came_back(CALL_OF(p, post));
}

static void on_ack(corio__post *p)
{
    came_back(CALL_OF(p, ack));
}

static int call_main(void *arg)
{
    call *c = arg;
    return c->io.in.fn(c->io.in.arg);
}

bool corio__call_collect(corio__loop *L)
{
    call *c = L->flag_call;
    if (atomic_load_explicit(&c->state, memory_order_acquire) != ANSWERED)
        return false;
    L->flag_call = NULL;
    came_back(c);
    return true;
}

bool corio__call_sleep(corio__loop *L)
{
    int polling = POLLING;
    if (!atomic_compare_exchange_strong(&L->flag_call->state, &polling, ASLEEP))
        return false; /* answered: collect it instead */
    L->flag_call = NULL;
    return true;
}

/* On B: `start` has been taken from B's list, so its node carries `done`
 * (a node that is never dropped: A is waiting for it), unless the answer
 * goes in the record.  After a successful CAS A may return at once: the
 * record is not touched again. */
static void send_done(call *c, int result, int status)
{
    c->task = NULL;
    c->io.out.result = result;
    c->io.out.status = status;
    int polling = POLLING;
    if (atomic_load_explicit(&c->state, memory_order_relaxed) == POLLING &&
        atomic_compare_exchange_strong(&c->state, &polling, ANSWERED))
        return;
    c->post.fn = on_done;
    c->post.drop = NULL;
    corio__post_send(c->from, &c->post);
}

/* On B: T ended. */
void corio__call_done(corio_task *t)
{
    send_done(t->arg, t->result, 0);
}

static void on_start(corio__post *p)
{
    call *c = CALL_OF(p, post);
    static const char name[] = "loop call";
    /* The common spawn (no options), then the name: a spawn with options
     * takes the slow path, which copies the name with strncpy. */
    int rc = corio__cur->stopping
                 ? -ESHUTDOWN
                 : corio__spawn(&c->task, NULL, call_main, c, CORIO__CALLED);
    if (rc < 0) { /* no task will run; report why */
        send_done(c, rc, rc);
        return;
    }
    static_assert(sizeof name <= sizeof c->task->name, "the name fits");
    memcpy(c->task->name, name, sizeof name);
    c->task->named = 1;
}

/* A plain corio_run loop drops the posts still queued when it ends (a
 * corio_run_loops loop runs them): the caller still hears back. */
static void start_dropped(corio__post *p)
{
    send_done(CALL_OF(p, post), -ESHUTDOWN, -ESHUTDOWN);
}

static void cancel_dropped(corio__post *p)
{
    call *c = CALL_OF(p, cancel);
    corio__post_send(c->from, &c->ack);
}

static void on_cancel(corio__post *p)
{
    call *c = CALL_OF(p, cancel);
    if (c->task)
        corio__cancel(c->task);
    cancel_dropped(p);
}

/* On A, from the caller's interruption (or its failed park). */
static void send_cancel(call *c)
{
    c->needed++;
    if (corio__post_send(c->to, &c->cancel) < 0)
        c->needed--; /* B ended: T is long done, nothing to cancel */
}

static bool call_interrupted(corio__wait *w, corio_task *t, int code)
{
    call *c = CALL_OF(w, w);
    (void)t;
    c->code = code;
    send_cancel(c);
    return false; /* woken by the posts coming back */
}

int corio_loop_call(corio_loop *loop, corio_fn fn, void *arg, int *result)
{
    corio_task *self = corio__self();
    int64_t none = INT64_MAX;
    if (!self)
        return -EPERM;
    if (!loop || !fn)
        return -EINVAL;
    int rc = corio__interrupt_code(self, &none);
    if (rc < 0) {
        if (result)
            *result = rc;
        return rc;
    }
    call c = {
        .post = {.fn = on_start, .drop = start_dropped},
        .io.in = {fn, arg},
        .from = self->loop,
        .w = {call_interrupted, "loop call", INT64_MAX},
        .cancel = {.fn = on_cancel, .drop = cancel_dropped},
        .ack = {.fn = on_ack},
        .to = (corio__loop *)loop,
        .caller = self,
        .needed = 1,
    };
    /* A call inside the caller's set of loops is answered by a loop that
     * the set's deadlock check watches (core/loops.c); one to a loop of
     * another run is an outside wait, like an open corio_remote. */
    corio__loop *A = self->loop;
    bool outside = c.to != A && (!A->set || c.to->set != A->set);
    bool flag = c.to != A && !outside && !A->flag_call;
    atomic_init(&c.state, flag ? POLLING : NO_FLAG);
    if (corio__post_send(c.to, &c.post) < 0) {
        if (result)
            *result = -ESHUTDOWN;
        return -ESHUTDOWN;
    }
    if (flag)
        A->flag_call = &c;
    A->calls_out++; /* the loop polls for the answer (sched.c) */
    if (outside)
        atomic_fetch_add(&A->remotes_open, 1);
    rc = corio__park(&c.w);
    if (c.arrived < c.needed) {
        /* park failed before sleeping (no memory for the timer): the
         * record is in flight on B, so cancel T and wait it out. */
        c.code = rc < 0 ? rc : -ENOMEM;
        send_cancel(&c);
        self->noint++;
        while (c.arrived < c.needed)
            corio__park(&c.w);
        self->noint--;
    }
    A->calls_out--;
    if (outside)
        atomic_fetch_sub(&A->remotes_open, 1);
    if (result)
        *result = c.io.out.result;
    if (c.code < 0) { /* a later cancellation beats the deadline */
        int now = corio__interrupt_code(self, &none);
        return now < 0 ? now : c.code;
    }
    return c.io.out.status;
}

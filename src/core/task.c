/* core/task.c — the task record's life: spawn, finish, join, cancel,
 * detach, release, names.
 *
 * The record is carved from the top of the task's stack slot (see
 * arch/stack.h), 64-byte aligned; the rest of the slot below it is the
 * task's stack.  A record stays valid until its handle is released: by
 * join, gather, wait_for, detach (at once if done, else when it finishes),
 * by its group, or at the end of the run. */
#include "core/loop.h"

#include <assert.h>
#include <string.h>

static_assert(offsetof(corio_task, magic) >= sizeof(struct corio__free_slot),
              "a freed slot's node must not cover the record's magic");
static_assert(offsetof(corio_task, stack) >= sizeof(struct corio__free_slot),
              "a freed slot's node must not cover the record's stack[]");
static_assert(offsetof(corio_task, joiner) >= sizeof(struct corio__free_slot),
              "a freed slot's node must not cover joiner, kept NULL");
#if !defined(CORIO__UCONTEXT) && !defined(CORIO__ASAN) && !defined(CORIO__TSAN)
static_assert(offsetof(corio_task, locals) + sizeof(void *) <= 64,
              "the hot fields must stay in the record's first cache line");
#endif

/* The record of the slot [lo, lo + size).  Slots are a fixed stride apart,
 * so records at the same offset would all fall in the same few L1 cache
 * sets; the offset is staggered by 64 bytes per slot, over 32 colours (at
 * most 1984 bytes, still inside the top page). */
static corio_task *record_of(char *lo, size_t size)
{
    uintptr_t colour = (((uintptr_t)lo >> 12) & 31) * 64;
    uintptr_t top = (uintptr_t)lo + size - colour;
    return (corio_task *)((top - sizeof(corio_task)) & ~(uintptr_t)63);
}

/* Make t, whose slot's description is in t->stack, a new task of L ready
 * to run fn(arg).  Only the fields read before they are written, one by
 * one rather than a memset: this is the spawn hot path and the record's
 * first touch.  Set later, before any read: next (enqueue), wake (wake),
 * result (finish), wait (park), scopes (first scope), group links (group
 * spawn).  Left as every release leaves them (loop.h): joiner (NULL) and
 * the timer (not armed); spawn_slow sets both, for slots that come from
 * elsewhere.  The eight one-byte fields are written together, in their
 * order (interrupted too, though park sets it), so that the compiler can
 * merge them into one store. */
static inline void init_task(corio__loop *L, corio_task *t, corio_fn fn,
                             void *arg, int owner)
{
    t->loop = L;
    t->state = CORIO__NEW;
    t->owner = (uint8_t)owner;
    t->cancelled = 0;
    t->interrupted = 0;
    t->noint = 0;
    t->named = 0;
    t->gathered = 0;
    t->coop = CORIO__COOP_BUDGET;
    t->nscopes = 0;
    t->capscopes = 0;
    t->magic = CORIO__TASK_MAGIC;
    t->fn = fn;
    t->arg = arg;
    t->id = ++L->next_id;
    /* Task-locals: the child shares its spawner's table (copy-on-write);
     * the root context never has one. */
    corio__locals *lv = L->current->locals;
    t->locals = lv;
    if (CORIO__UNLIKELY(lv != NULL))
        lv->refs++;
    corio__ctx_make(&t->ctx, t->stack.lo, (size_t)((char *)t - t->stack.lo),
                    corio__task_entry, t, (void *)fn, arg);
    L->nalive++;
    corio__enqueue(L, t);
}

/* Timers beyond one per task slot: the heap also holds the timers of
 * other objects (an idle session, a limiter). */
#define TIMER_SPARE 64

/* Every spawn but the common one: options, a slot from the pool, room in
 * the timer heap, errors. */
static __attribute__((noinline)) int spawn_slow(corio_task **out,
                                                const corio_task_opts *o,
                                                corio_fn fn, void *arg,
                                                int owner)
{
    corio__loop *L = corio__cur;
    corio__stack st;
    if (out)
        *out = NULL;
    if (!L)
        return -EPERM;
    if (!fn) {
        CORIO__MISUSE(L, "corio_task_spawn: fn is NULL");
        return -EINVAL;
    }
    size_t size = o && o->stack_size ? corio__stack_round(o->stack_size)
                                     : L->default_stack;
    /* Every task may arm one timer when it parks: keep room for all of them
     * in the heap, so that parking does not fail for lack of memory.  Room
     * for one per slot (this spawn may carve one more): a task holds a
     * slot, so the common spawn, which reuses one, need not check. */
    size_t need = L->stacks.nslots + 1 + TIMER_SPARE;
    if (L->timers.cap < need && corio__timer_reserve(&L->timers, 2 * need) < 0)
        return -ENOMEM;
    corio_task *t = corio__stack_pop(&L->stacks, size);
    if (!t) {
        if (!size || corio__stack_alloc(&L->stacks, size, &st) < 0)
            return -ENOMEM;
        t = record_of(st.lo, st.size);
        t->stack = st;
    }
    /* A fresh or trimmed slot holds zeros: give it the state a release
     * leaves (a free slot has it already). */
    t->joiner = NULL;
    t->timer.idx = CORIO__NOT_ARMED;
    init_task(L, t, fn, arg, owner);
    if (o && o->name) {
        strncpy(t->name, o->name, sizeof t->name - 1);
        t->name[sizeof t->name - 1] = 0;
        t->named = 1;
    }
    if (out)
        *out = t;
    return 0;
}

/* The common spawn calls nothing, so it saves no registers: default
 * options and a slot freed by corio__task_release in the size class used
 * last, which comes back with its record as the last task left it (the
 * free-list node over its first bytes, stack[] intact) and already has its
 * room in the timer heap.  Everything else goes to spawn_slow. */
int corio__spawn(corio_task **out, const corio_task_opts *o, corio_fn fn,
                 void *arg, int owner)
{
    corio__loop *L = corio__cur;
    if (CORIO__LIKELY(L && fn && !o)) {
        corio_task *t = corio__stack_pop(&L->stacks, L->default_stack);
        if (CORIO__LIKELY(t != NULL)) {
            init_task(L, t, fn, arg, owner);
            if (out)
                *out = t;
            return 0;
        }
    }
    return spawn_slow(out, o, fn, arg, owner);
}

int corio_task_spawn(corio_task **out, corio_fn fn, void *arg)
{
    return corio__spawn(out, NULL, fn, arg,
                        out ? CORIO__OWNED : CORIO__DETACHED);
}

int corio_task_spawn_ex(corio_task **out, corio_fn fn, void *arg,
                        const corio_task_opts *o)
{
    return corio__spawn(out, o, fn, arg, out ? CORIO__OWNED : CORIO__DETACHED);
}

typedef struct each_ctx {
    void (*fn)(corio_task *t, void *ctx);
    void *ctx;
} each_ctx;

static void each_slot(char *lo, size_t size, void *arg)
{
    each_ctx *e = arg;
    corio_task *t = record_of(lo, size);
    if (t->magic == CORIO__TASK_MAGIC)
        e->fn(t, e->ctx);
}

/* Live records are found by scanning the stack pool rather than kept on a
 * list: a list would make every spawn and release touch two more records
 * (two more pages), and walking all tasks is rare (shutdown, dumps). */
void corio__each_task(corio__loop *L, void (*fn)(corio_task *t, void *ctx),
                      void *ctx)
{
    each_ctx e = {fn, ctx};
    corio__stack_each(&L->stacks, each_slot, &e);
}

static void cancel_one(corio_task *t, void *ctx)
{
    (void)ctx;
    corio__cancel(t);
}

/* Cancel everything still alive once main has returned. */
static void stop_all(corio__loop *L)
{
    L->stopping = true;
    L->stopping_since = corio__mono();
    corio__each_task(L, cancel_one, NULL);
}

/* The two halves of every finish: t is DONE with its result ... */
static inline void mark_done(corio__loop *L, corio_task *t, int result)
{
    t->result = result;
    t->state = CORIO__DONE;
    L->nalive--;
}

/* ... and goes to whoever owns it: its joiner (woken last, so that the
 * call is a tail call), or, detached, the next context frees it. */
static inline void hand_over(corio__loop *L, corio_task *t)
{
    if (t->owner != CORIO__OWNED)
        L->zombie = t;
    corio_task *j = t->joiner;
    if (j) {
        t->joiner = NULL;
        corio__wake(j, 0);
    }
}

/* A finish with duties beyond the two halves: scopes or task-locals to
 * give back, debug mode, the main task, a group or a cross-loop call to
 * tell. */
static __attribute__((noinline)) void finish_slow(corio__loop *L, corio_task *t,
                                                  int result)
{
    /* capscopes stays 0 until the task's first scope. */
    if (t->capscopes) {
        if (t->nscopes)
            CORIO__MISUSE(L, "task '%s' returned with %u scope(s) still open",
                          corio_task_name(t), t->nscopes);
        /* Also with every scope closed: a task that once nested more than
         * CORIO__INLINE_SCOPES scopes still holds the grown array. */
        if (t->capscopes > CORIO__INLINE_SCOPES || t->nscopes)
            corio__scopes_close(t);
    }
    if (t->locals != NULL) {
        corio__locals_release(t->locals);
        t->locals = NULL;
    }
    mark_done(L, t, result);
    if (L->debug)
        corio__debug_task_done(L, t);
    if (t->owner == CORIO__MAIN) {
        L->main_done = true;
        L->main_result = result;
        L->main = NULL;
        stop_all(L);
    }
    if (t->owner == CORIO__GROUPED)
        corio__group_child_done(t);
    else if (t->owner == CORIO__CALLED)
        corio__call_done(t);
    hand_over(L, t);
}

/* The common finish (no scope ever opened, no task-locals, not main, owned
 * or detached, no debug mode) saves no registers: its only call, the
 * joiner's wake, is its last. */
void corio__task_finish(corio_task *t, int result)
{
    corio__loop *L = t->loop;
    if (CORIO__UNLIKELY(t->capscopes || t->locals || L->debug ||
                        t->owner > CORIO__DETACHED)) {
        finish_slow(L, t, result);
        return;
    }
    mark_done(L, t, result);
    hand_over(L, t);
}

/* A join's wait: the joined task travels with it. */
typedef struct join_wait {
    corio__wait w; /* first: the scheduler hands back &w */
    corio_task *target;
} join_wait;

static bool join_cancel(corio__wait *w, corio_task *self, int code)
{
    corio_task *target = ((join_wait *)w)->target;
    (void)code;
    if (target->joiner == self)
        target->joiner = NULL;
    return true;
}

int corio__join_wait(corio_task *t)
{
    corio_task *self = corio__cur->current;
    join_wait jw = {{join_cancel, "join", INT64_MAX}, t};
    t->joiner = self;
    int rc = corio__park(&jw.w);
    if (rc < 0 && t->joiner == self)
        t->joiner = NULL;
    return rc;
}

int corio_task_join(corio_task *t, int *result)
{
    corio_task *self = corio__self();
    int rc = corio__join_check(t, self);
    if (rc < 0)
        return rc;
    if (t->state != CORIO__DONE) {
        rc = corio__join_wait(t);
        if (rc < 0)
            return rc;
    }
    if (result)
        *result = t->result;
    corio__task_release(t);
    return 0;
}

void corio__cancel(corio_task *t)
{
    if (t->state == CORIO__DONE)
        return;
    t->cancelled = 1;
    corio__recheck(t);
}

void corio_task_cancel(corio_task *t)
{
    corio__loop *L = corio__cur;
    if (!t || !L || t->magic != CORIO__TASK_MAGIC || t->loop != L) {
        CORIO__MISUSE(L, "corio_task_cancel: %p is not a task", (void *)t);
        return;
    }
    corio__cancel(t);
}

void corio_task_detach(corio_task *t)
{
    if (!corio__handle_ok(t)) {
        CORIO__MISUSE(corio__cur, "corio_task_detach: %p is not a live handle",
                      (void *)t);
        return;
    }
    if (t->joiner) {
        CORIO__MISUSE(corio__cur, "corio_task_detach: '%s' is being joined",
                      corio_task_name(t));
        return;
    }
    if (t->state == CORIO__DONE && t == t->loop->exiting) {
        t->owner =
            CORIO__DETACHED; /* its stack is in use: freed after the switch */
        t->loop->zombie = t;
    } else if (t->state == CORIO__DONE) {
        corio__task_release(t);
    } else {
        t->owner = CORIO__DETACHED;
    }
}

const char *corio__task_label(const corio_task *t,
                              char buf[CORIO_TASK_NAME_MAX])
{
    char num[21], *p = num + sizeof num - 1;
    uint64_t v = t->id;
    if (t->named)
        return t->name;
    *p = 0;
    do
        *--p = (char)('0' + v % 10);
    while ((v /= 10));
    memcpy(buf, "task-", 5);
    memcpy(buf + 5, p, (size_t)(num + sizeof num - p)); /* with the NUL */
    return buf;
}

corio_task *corio_task_current(void)
{
    return corio__self();
}

const char *corio_task_name(const corio_task *ct)
{
    corio_task *t = (corio_task *)ct;
    if (!t) {
        t = corio__self();
        if (!t)
            return "";
    }
    if (!t->named) {
        snprintf(t->name, sizeof t->name, "task-%llu",
                 (unsigned long long)t->id);
        t->named = 1;
    }
    return t->name;
}

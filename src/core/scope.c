/* core/scope.c — timeout scopes, shields and the one rule that decides
 * whether a wait is interrupted.
 *
 * A task keeps a stack of scopes: timeouts, shields and the groups it owns.
 * corio__interrupt_code() walks it from the innermost scope outwards and
 * stops at the first shield, since a shield defers everything opened
 * outside it (the task's own cancellation included):
 *
 *     innermost  [timeout 2s] [group g] [shield] [timeout 10s]  outermost
 *                 counts       counts    stop     deferred
 *
 * The result is -ECANCELED if the task or a group scope seen is cancelled,
 * else -ETIMEDOUT if a timeout scope seen has expired, else 0 — and the
 * earliest deadline seen, so the wait can arm its timer.  The rule is
 * level-triggered: it is evaluated afresh at every wait. */
#include "core/loop.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* A scope's own deadline and cancellation (timeout and object scopes). */
static int64_t scope_deadline(const corio__scope *s)
{
    return s->kind == CORIO__SCOPE_OBJECT ? s->obj->deadline : s->deadline;
}

int corio__interrupt_code(corio_task *t, int64_t *deadline)
{
    if (CORIO__UNLIKELY(t->noint))
        return 0;
    if (!t->nscopes)
        return t->cancelled ? -ECANCELED : 0;
    bool cancelled = false, timed_out = false, shielded = false;
    int64_t now = INT64_MIN;
    for (int i = t->nscopes - 1; i >= 0; i--) {
        corio__scope *s = &t->scopes[i];
        if (s->kind == CORIO__SCOPE_SHIELD) {
            shielded = true;
            break;
        }
        if (s->kind == CORIO__SCOPE_GROUP) {
            cancelled |= s->group->cancelled;
            continue;
        }
        if (s->kind == CORIO__SCOPE_OBJECT && s->obj->cancelled) {
            cancelled = true;
            continue;
        }
        int64_t d = scope_deadline(s);
        if (d == INT64_MAX)
            continue;
        if (now == INT64_MIN)
            now = corio__loop_now(t->loop);
        if (d <= now)
            timed_out = true;
        else if (d < *deadline)
            *deadline = d;
    }
    if (!shielded && t->cancelled)
        cancelled = true;
    return cancelled ? -ECANCELED : timed_out ? -ETIMEDOUT : 0;
}

void corio__scope_report_poisoned(corio_task *t)
{
    /* A wait that fails at its start because a scope had already expired:
     * the symptom of a scope that should have ended (an early return that
     * skipped corio_timeout_end).  Named once per scope. */
    int64_t now = corio__loop_now(t->loop);
    for (int i = t->nscopes - 1; i >= 0; i--) {
        corio__scope *s = &t->scopes[i];
        if (s->kind == CORIO__SCOPE_SHIELD)
            return;
        if (s->kind == CORIO__SCOPE_GROUP || scope_deadline(s) > now ||
            s->reported)
            continue;
        s->reported = 1;
        corio__warn("task '%s' waits inside a timeout scope that expired "
                    "before the wait began (opened at %s:%d): every wait "
                    "fails with -ETIMEDOUT until it ends — was its end "
                    "skipped?",
                    corio_task_name(t), s->file ? s->file : "?", s->line);
        return;
    }
}

void corio__recheck(corio_task *t)
{
    if (t->state != CORIO__PARKED || t->interrupted)
        return;
    int64_t none = INT64_MAX;
    int rc = corio__interrupt_code(t, &none);
    if (rc < 0)
        corio__interrupt(t, rc);
}

int corio__scope_push(corio_task *t, corio__scope s)
{
    if (!t->capscopes) { /* first scope of this task (spawn leaves it unset) */
        t->scopes = t->inline_scopes;
        t->capscopes = CORIO__INLINE_SCOPES;
    }
    if (t->nscopes == t->capscopes) {
        if (t->capscopes >= UINT16_MAX / 2)
            return -ENOMEM;
        size_t cap = (size_t)t->capscopes * 2;
        corio__scope *v = corio__sys.malloc(cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        memcpy(v, t->scopes, t->nscopes * sizeof *v);
        if (t->capscopes > CORIO__INLINE_SCOPES)
            free(t->scopes);
        t->scopes = v;
        t->capscopes = (uint16_t)cap;
    }
    t->scopes[t->nscopes++] = s;
    return 0;
}

void corio__scopes_close(corio_task *t)
{
    if (t->capscopes > CORIO__INLINE_SCOPES)
        free(t->scopes);
    t->capscopes = 0;
    t->nscopes = 0;
}

static corio__scope *innermost(corio_task *t)
{
    return t->nscopes ? &t->scopes[t->nscopes - 1] : NULL;
}

static int64_t deadline_in(corio_task *t, int64_t timeout_ns)
{
    int64_t now = corio__loop_now(t->loop);
    return timeout_ns <= 0                ? INT64_MIN
           : timeout_ns > INT64_MAX - now ? INT64_MAX - 1
                                          : now + timeout_ns;
}

int corio__timeout_begin_at_loc(int64_t deadline, const char *file, int line)
{
    corio_task *t = corio__self();
    if (!t)
        return -EPERM;
    if (deadline == INT64_MAX)
        deadline = INT64_MAX - 1; /* still a timeout scope, never expiring */
    return corio__scope_push(t, (corio__scope){.kind = CORIO__SCOPE_TIMEOUT,
                                               .deadline = deadline,
                                               .file = file,
                                               .line = line});
}

int corio__timeout_begin_loc(int64_t timeout_ns, const char *file, int line)
{
    corio_task *t = corio__self();
    if (!t)
        return -EPERM;
    return corio__timeout_begin_at_loc(deadline_in(t, timeout_ns), file, line);
}

int(corio_timeout_begin)(int64_t timeout_ns)
{
    return corio__timeout_begin_loc(timeout_ns, NULL, 0);
}

int(corio_timeout_begin_at)(int64_t deadline)
{
    return corio__timeout_begin_at_loc(deadline, NULL, 0);
}

int corio_timeout_end(void)
{
    corio_task *t = corio__self();
    if (!t)
        return -EPERM;
    corio__scope *s = innermost(t);
    if (!s || s->kind != CORIO__SCOPE_TIMEOUT) {
        CORIO__MISUSE(t->loop, "corio_timeout_end: the innermost scope is not "
                               "a timeout scope");
        return -EINVAL;
    }
    int64_t d = s->deadline;
    t->nscopes--;
    return d <= corio__loop_now(t->loop) ? -ETIMEDOUT : 0;
}

int corio__shield_begin_loc(const char *file, int line)
{
    corio_task *t = corio__self();
    if (!t)
        return -EPERM;
    return corio__scope_push(t, (corio__scope){.kind = CORIO__SCOPE_SHIELD,
                                               .file = file,
                                               .line = line});
}

int(corio_shield_begin)(void)
{
    return corio__shield_begin_loc(NULL, 0);
}

int corio_shield_end(void)
{
    corio_task *t = corio__self();
    if (!t)
        return -EPERM;
    corio__scope *s = innermost(t);
    if (!s || s->kind != CORIO__SCOPE_SHIELD) {
        CORIO__MISUSE(t->loop, "corio_shield_end: the innermost scope is not "
                               "a shield");
        return -EINVAL;
    }
    t->nscopes--;
    return 0;
}

/* ---- scope objects (Trio's CancelScope) ---------------------------------- */

#define SCOPE_MAGIC 0x65706f63u /* "cope" */

static_assert(sizeof(corio__scope_obj) <= sizeof(corio_scope),
              "corio_scope too small");

static corio__scope_obj *obj_of(corio_scope *s)
{
    corio__scope_obj *o = (corio__scope_obj *)s;
    return o && o->magic == SCOPE_MAGIC && o->open ? o : NULL;
}

int corio__scope_begin_loc(corio_scope *s, int64_t deadline, const char *file,
                           int line)
{
    corio_task *t = corio__self();
    corio__scope_obj *o = (corio__scope_obj *)s;
    if (!s)
        return -EINVAL;
    if (!t)
        return -EPERM;
    if (o->magic == SCOPE_MAGIC && o->open) {
        CORIO__MISUSE(t->loop, "corio_scope_begin: the scope is already open");
        return -EBUSY;
    }
    *o = (corio__scope_obj){t, deadline, SCOPE_MAGIC, 0, 0};
    int rc = corio__scope_push(t, (corio__scope){.kind = CORIO__SCOPE_OBJECT,
                                                 .obj = o,
                                                 .file = file,
                                                 .line = line});
    if (rc == 0)
        o->open = 1;
    return rc;
}

int(corio_scope_begin)(corio_scope *s, int64_t deadline)
{
    return corio__scope_begin_loc(s, deadline, NULL, 0);
}

int corio_scope_end(corio_scope *s)
{
    corio__scope_obj *o = obj_of(s);
    corio_task *t = corio__self();
    if (!t)
        return -EPERM;
    corio__scope *top = innermost(t);
    if (!o || o->task != t || !top || top->kind != CORIO__SCOPE_OBJECT ||
        top->obj != o) {
        CORIO__MISUSE(t->loop, "corio_scope_end: not the innermost open scope "
                               "of this task");
        return -EINVAL;
    }
    t->nscopes--;
    o->open = 0;
    o->task = NULL;
    if (o->cancelled)
        return -ECANCELED;
    return o->deadline <= corio__loop_now(t->loop) ? -ETIMEDOUT : 0;
}

void corio_scope_cancel(corio_scope *s)
{
    corio__scope_obj *o = obj_of(s);
    if (!o || o->cancelled)
        return;
    o->cancelled = 1;
    corio__recheck(o->task); /* interrupts it if it waits inside s */
}

void corio_scope_set_deadline(corio_scope *s, int64_t deadline)
{
    corio__scope_obj *o = obj_of(s);
    if (!o)
        return;
    o->deadline = deadline;
    corio__rearm(o->task);
}

int64_t corio_scope_deadline(const corio_scope *s)
{
    const corio__scope_obj *o = (const corio__scope_obj *)s;
    return o && o->magic == SCOPE_MAGIC && o->open ? o->deadline : CORIO_NEVER;
}

void corio__scope_guard_end(corio_scope *s)
{
    if (obj_of(s))
        (void)corio_scope_end(s);
}

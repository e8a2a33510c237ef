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

#include <stdlib.h>
#include <string.h>

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
        if (now == INT64_MIN)
            now = corio__loop_now(t->loop);
        if (s->deadline <= now)
            timed_out = true;
        else if (s->deadline < *deadline)
            *deadline = s->deadline;
    }
    if (!shielded && t->cancelled)
        cancelled = true;
    return cancelled ? -ECANCELED : timed_out ? -ETIMEDOUT : 0;
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

int corio_timeout_begin(int64_t timeout_ns)
{
    corio_task *t = corio__self();
    if (!t)
        return -EPERM;
    int64_t now = corio__loop_now(t->loop);
    int64_t d = timeout_ns <= 0                ? INT64_MIN
                : timeout_ns > INT64_MAX - now ? INT64_MAX - 1
                                               : now + timeout_ns;
    return corio__scope_push(t, (corio__scope){CORIO__SCOPE_TIMEOUT, d, NULL});
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

int corio_shield_begin(void)
{
    corio_task *t = corio__self();
    if (!t)
        return -EPERM;
    return corio__scope_push(t, (corio__scope){CORIO__SCOPE_SHIELD, 0, NULL});
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

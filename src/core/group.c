/* core/group.c — task groups (structured concurrency).
 *
 * A group is a scope on its owner's scope stack (core/scope.c): when the
 * group is cancelled (explicitly, or because a child failed) every wait the
 * owner makes inside it fails with -ECANCELED, exactly like Trio's nursery
 * cancel scope.  corio_group_wait pops that scope first, so the wait itself
 * is only interrupted by what encloses the group. */
#include "core/loop.h"

#include <stdlib.h>

int corio_group_new(corio_group **out)
{
    corio_task *self = corio__self();
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (!self)
        return -EPERM;
    corio_group *g = corio__sys.calloc(1, sizeof *g);
    if (!g)
        return -ENOMEM;
    g->owner = self;
    int rc = corio__scope_push(
        self, (corio__scope){.kind = CORIO__SCOPE_GROUP, .group = g});
    if (rc < 0) {
        free(g);
        return rc;
    }
    *out = g;
    return 0;
}

static void cancel_children(corio_group *g)
{
    g->cancelled = true;
    for (corio_task *c = g->children; c; c = c->gnext)
        corio__cancel(c);
    if (!g->waiting)
        corio__recheck(g->owner);
}

static int group_spawn(corio_group *g, corio_fn fn, void *arg, corio_task **out)
{
    corio_task *t;
    if (!corio__cur)
        return -EPERM;
    if (!g || g->owner->loop != corio__cur)
        return -EINVAL;
    if (g->cancelled)
        return -ECANCELED;
    int rc = corio__spawn(&t, NULL, fn, arg, CORIO__GROUPED);
    if (rc < 0)
        return rc;
    t->group = g;
    t->gprev = NULL;
    t->gnext = g->children;
    if (g->children)
        g->children->gprev = t;
    g->children = t;
    g->nchildren++;
    if (out)
        *out = t;
    return 0;
}

int corio_group_spawn(corio_group *g, corio_fn fn, void *arg)
{
    return group_spawn(g, fn, arg, NULL);
}

void corio_group_cancel(corio_group *g)
{
    if (!g)
        return;
    g->explicit_cancel = true;
    cancel_children(g);
}

static void start_child_done(corio_task *t);

void corio__group_child_done(corio_task *t)
{
    corio_group *g = t->group;
    start_child_done(t);
    if (t->gprev)
        t->gprev->gnext = t->gnext;
    else
        g->children = t->gnext;
    if (t->gnext)
        t->gnext->gprev = t->gprev;
    g->nchildren--;
    if (t->result < 0 && t->result != -ECANCELED && !g->first_error &&
        !g->explicit_cancel) {
        g->first_error = t->result;
        cancel_children(g);
    }
    if (!g->nchildren && g->waiting)
        corio__wake(g->owner, 0);
}

static bool group_wait_cancel(corio__wait *w, corio_task *t, int code)
{
    (void)w, (void)t, (void)code;
    return true;
}

int corio_group_wait(corio_group *g)
{
    corio_task *self = corio__self();
    corio__wait w = {group_wait_cancel, "group wait", INT64_MAX};
    int rc = 0;
    if (!g)
        return -EINVAL;
    if (self != g->owner) {
        CORIO__MISUSE(corio__cur, "corio_group_wait called by a task that is "
                                  "not the group's owner");
        return -EPERM;
    }
    if (!self->nscopes || self->scopes[self->nscopes - 1].group != g) {
        CORIO__MISUSE(corio__cur, "corio_group_wait: a scope opened inside "
                                  "the group is still open");
        return -EINVAL;
    }
    self->nscopes--;
    g->waiting = true;
    while (g->nchildren) {
        int r = corio__park(&w);
        if (r < 0) {
            /* Interrupted from outside the group: cancel, then drain. */
            rc = r;
            cancel_children(g);
            self->noint++;
            while (g->nchildren)
                corio__park(&w);
            self->noint--;
        }
    }
    rc = g->first_error       ? g->first_error
         : rc                 ? rc
         : g->explicit_cancel ? -ECANCELED
                              : 0;
    free(g);
    return rc;
}

/* ---- corio_group_start (Trio's nursery.start) ---------------------------
 *
 * The child runs start_entry, whose argument is the start record on the
 * starter's stack.  corio_task_started() recognises such a child by its
 * entry function (no field in the task record: spawning costs nothing
 * more) and clears t->arg, so it reports once.  A child that ends without
 * reporting — also one cancelled before it ever ran, whose start_entry
 * never runs — is caught in corio__group_child_done, before its failure
 * cancels the group (so the starter learns the child's own error rather
 * than the group's cancellation).  The starter never leaves before one of
 * the two happened, so the record outlives every use. */

typedef struct start_rec {
    corio_fn fn;
    void *arg;
    corio_task *starter;
    int result;   /* the child's return value, once done */
    bool started; /* corio_task_started was called */
    bool done;    /* the child ended before that */
} start_rec;

static int start_entry(void *arg)
{
    start_rec *rec = arg;
    return rec->fn(rec->arg);
}

/* The child t ended (from corio__group_child_done). */
static void start_child_done(corio_task *t)
{
    if (CORIO__LIKELY(t->fn != start_entry) || !t->arg)
        return;
    start_rec *rec = t->arg;
    t->arg = NULL;
    rec->result = t->result;
    rec->done = true;
    corio__wake(rec->starter, 0);
}

int corio_task_started(void)
{
    corio_task *self = corio__self();
    if (!self)
        return -EPERM;
    if (self->fn != start_entry || !self->arg) {
        CORIO__MISUSE(corio__cur,
                      "corio_task_started: task '%s' was not "
                      "started by corio_group_start, or already reported",
                      corio_task_name(self));
        return -EINVAL;
    }
    start_rec *rec = self->arg;
    self->arg = NULL;
    rec->started = true;
    corio__wake(rec->starter, 0);
    return 0;
}

static bool start_wait_cancel(corio__wait *w, corio_task *t, int code)
{
    (void)w, (void)t, (void)code;
    return true; /* the starter then cancels the child and waits for it */
}

int corio_group_start(corio_group *g, corio_fn fn, void *arg)
{
    corio_task *self = corio__self();
    corio_task *t;
    if (!corio__cur)
        return -EPERM;
    if (!g || !fn || g->owner->loop != corio__cur)
        return -EINVAL;
    if (!self)
        return -EPERM;
    start_rec rec = {fn, arg, self, 0, false, false};
    int rc = group_spawn(g, start_entry, &rec, &t);
    if (rc < 0)
        return rc;
    corio__wait w = {start_wait_cancel, "group start", INT64_MAX};
    while (!rec.started && !rec.done) {
        rc = corio__park(&w);
        if (rc < 0 && !rec.started && !rec.done) {
            /* Interrupted first: the child must not report to a starter
             * that has left.  Cancel it and wait, uninterruptibly, until
             * it has ended or reported (t is alive until one of them). */
            corio__cancel(t);
            self->noint++;
            while (!rec.started && !rec.done)
                corio__park(&w);
            self->noint--;
            return rc;
        }
    }
    if (rec.started)
        return 0; /* also when reported in the tick of an interruption */
    return rec.result < 0 ? rec.result : -ECHILD;
}

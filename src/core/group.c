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
    int rc = corio__scope_push(self, (corio__scope){.kind = CORIO__SCOPE_GROUP, .group = g});
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

int corio_group_spawn(corio_group *g, corio_fn fn, void *arg)
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
    return 0;
}

void corio_group_cancel(corio_group *g)
{
    if (!g)
        return;
    g->explicit_cancel = true;
    cancel_children(g);
}

void corio__group_child_done(corio_task *t)
{
    corio_group *g = t->group;
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
    rc = g->first_error ? g->first_error
         : rc            ? rc
         : g->explicit_cancel ? -ECANCELED
                              : 0;
    free(g);
    return rc;
}

/* core/local.c — task-local values (see corio/local.h).
 *
 * A task's values are one small table of (key, value) pairs, shared
 * copy-on-write: a spawn makes the child point at its spawner's table and
 * counts a reference (core/task.c), and corio_local_set writes in place
 * only when the table has a single owner, otherwise it makes its own copy
 * first.  So neither side ever sees the other's later changes, and a
 * program that never sets a value pays one load and one store per spawn.
 * Tables are small (a handful of keys): a linear scan beats a hash. */
#include "core/loop.h"

#include <stdlib.h>
#include <string.h>

typedef struct corio__local_kv kv;

void corio__locals_release(corio__locals *m)
{
    if (--m->refs == 0)
        free(m);
}

static int find(const corio__locals *m, const corio_local *key)
{
    for (uint32_t i = 0; m && i < m->n; i++)
        if (m->v[i].key == key)
            return (int)i;
    return -1;
}

int corio_local_set(corio_local *key, void *value)
{
    corio_task *self = corio__self();
    if (!key)
        return -EINVAL;
    if (!self)
        return -EPERM;
    corio__locals *m = self->locals;
    int i = find(m, key);
    if (m && m->refs == 1) { /* ours alone: write in place */
        if (i >= 0) {
            m->v[i].value = value;
            return 0;
        }
        if (m->n == m->cap) {
            if (m->cap >= UINT32_MAX / 2)
                return -ENOMEM;
            uint32_t cap = m->cap * 2;
            corio__locals *g =
                corio__sys.realloc(m, sizeof *m + cap * sizeof(kv));
            if (!g)
                return -ENOMEM;
            g->cap = cap;
            self->locals = m = g;
        }
        m->v[m->n++] = (kv){key, value};
        return 0;
    }
    /* Shared with a spawner or children (or none yet): copy, then write. */
    uint32_t n = m ? m->n : 0, cap = n + (i < 0);
    cap = cap < 4 ? 4 : cap;
    corio__locals *c = corio__sys.malloc(sizeof *c + cap * sizeof(kv));
    if (!c)
        return -ENOMEM;
    c->refs = 1;
    c->n = n;
    c->cap = cap;
    if (n)
        memcpy(c->v, m->v, n * sizeof(kv));
    if (i >= 0)
        c->v[i].value = value;
    else
        c->v[c->n++] = (kv){key, value};
    if (m)
        corio__locals_release(m);
    self->locals = c;
    return 0;
}

void *corio_local_get(const corio_local *key)
{
    corio_task *self = corio__self();
    if (!key)
        return NULL;
    corio__locals *m = self ? self->locals : NULL;
    int i = find(m, key);
    return i >= 0 ? m->v[i].value : key->initial;
}

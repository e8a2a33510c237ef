/* corio/local.h — task-local values (asyncio's contextvars).
 *
 * A corio_local is a key, normally in static storage.  Each task holds its
 * own value for each key; a task spawned (corio_task_spawn, a group, gather
 * helpers, corio_map) starts with a copy of its spawner's values, taken at
 * the spawn, exactly like asyncio.create_task copies the current context:
 * later corio_local_set calls on either side are not seen by the other.
 * Typical uses are request ids and loggers that every task working for one
 * request should see without passing them down by hand.
 *
 *     static corio_local request_id = CORIO_LOCAL_INIT("request_id", NULL);
 *
 *     if ((rc = corio_local_set(&request_id, req)) < 0)
 *         return rc;
 *     ... tasks spawned from here on see req ...
 *     const char *id = corio_local_get(&request_id);
 *
 * Values are pointers the caller owns (corio stores them, never frees or
 * dereferences them): what they point to must outlive every task that may
 * read it.  Thread jobs (corio_to_thread) and other loops see nothing.
 *
 * Cost: the values are shared copy-on-write between a spawner and its
 * children, so a spawn costs one reference count (nothing when no value was
 * ever set in the spawner), and the first set after a spawn copies the
 * table (a few words per key).
 *
 * Thread-safety: loop-thread only; each task sees only its own values. */
#ifndef CORIO_LOCAL_H
#define CORIO_LOCAL_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A key.  name: a label (not copied); initial: what corio_local_get
 * returns in a task where the key was never set (nor inherited). */
typedef struct corio_local {
    const char *name;
    void *initial;
} corio_local;

#define CORIO_LOCAL_INIT(name, initial)                                        \
    {                                                                          \
        (name), (initial)                                                      \
    }

/* Set the calling task's value for key (NULL is a value like any other:
 * corio_local_get then returns NULL, not key->initial).  Tasks spawned
 * afterwards inherit it; tasks spawned before do not see it.
 * Returns 0, or:
 *   -EINVAL  key is NULL.
 *   -EPERM   called outside a task.
 *   -ENOMEM  the table could not be copied or grown (nothing changed).
 * Never suspends. */
CORIO_API CORIO_NODISCARD int corio_local_set(corio_local *key, void *value);

/* The calling task's value for key: the last corio_local_set by this task,
 * else the value inherited at its spawn, else key->initial (also outside a
 * task; NULL for a NULL key).  Never suspends. */
CORIO_API void *corio_local_get(const corio_local *key);

#ifdef __cplusplus
}
#endif
#endif

/* corio/scope.h — timeout scopes, scope objects, cancellation shields, and
 * block forms that end them on every path.
 *
 * Scopes belong to the calling task and nest strictly: the innermost scope
 * (timeout, scope object, shield or group) must be ended first.  Inside a
 * timeout scope whose deadline has passed, every call that would wait
 * returns -ETIMEDOUT until the scope ends; inside a cancelled scope object,
 * every such call returns -ECANCELED until it ends.  A shield defers
 * cancellation and the deadlines of scopes opened outside it; scopes opened
 * inside it still work.  When a cancellation and a deadline are both
 * pending, -ECANCELED wins.  Scopes still open when a task returns are
 * closed (debug mode warns).
 *
 * What still succeeds without waiting: a call that can complete at once
 * (data is ready, a lock is free) succeeds even in a cancelled task or an
 * expired scope — but not forever.  Every operation that reaches a
 * transport (an fd read or write, a memory-pair read or write, an HTTP
 * body read) spends one unit of the task's cooperative budget, 128 units
 * between two suspensions; the operation that finds it spent first passes
 * a checkpoint: a pending cancellation or expired deadline is returned
 * there (the operation does nothing), otherwise the task yields once.  So
 * a peer that always has data ready can neither starve the loop nor
 * outrun a deadline by more than 128 operations.  Reads served from a
 * stream's own buffer spend nothing (their work is bounded by the buffer).
 *
 * A scope that is never ended poisons every later wait of its task.  The
 * block forms below (CORIO_WITH_TIMEOUT, CORIO_WITH_SHIELD,
 * CORIO_SCOPE_AUTO, and in sync.h CORIO_WITH_LOCK / CORIO_WITH_SEM) end
 * or release on every exit from their block, an early `return` included
 * (GCC/Clang's cleanup attribute).  Debug mode names, at the first wait it
 * fails at its start, an expired scope with the file and line where it
 * began.
 *
 * Thread-safety: loop-thread only; none of these suspend. */
#ifndef CORIO_SCOPE_H
#define CORIO_SCOPE_H

#include "base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Open a timeout scope that expires timeout_ns from now (<= 0: already
 * expired).
 * Returns 0, or -EPERM outside a task, -ENOMEM. */
CORIO_API CORIO_NODISCARD int corio_timeout_begin(int64_t timeout_ns);

/* Open a timeout scope that expires at the absolute time `deadline` on
 * corio_now()'s clock (CORIO_NEVER: never; a time already past: expired).
 * Returns 0, or -EPERM outside a task, -ENOMEM. */
CORIO_API CORIO_NODISCARD int corio_timeout_begin_at(int64_t deadline);

/* Close the innermost scope, which must be a timeout scope.
 * Returns 0, or:
 *   -ETIMEDOUT  its own deadline has passed (an outer scope that fired keeps
 *               failing the calls inside it).
 *   -EINVAL     the innermost scope is not a timeout scope, or none is open.
 *   -EPERM      called outside a task. */
CORIO_API int corio_timeout_end(void);

/* Open a shield: cancellation and outer deadlines are deferred until the
 * matching corio_shield_end().
 * Returns 0, or -EPERM outside a task, -ENOMEM. */
CORIO_API CORIO_NODISCARD int corio_shield_begin(void);

/* Close the innermost scope, which must be a shield.  A deferred
 * cancellation arrives at the first suspension after this call.
 * Returns 0, or -EINVAL (the innermost scope is not a shield), -EPERM. */
CORIO_API int corio_shield_end(void);

/* ---- Scope objects (Trio's CancelScope) --------------------------------- */

/* A scope in the caller's storage, so other tasks can cancel it or move its
 * deadline while it is open.  Initialise with CORIO_SCOPE_INIT (or zero). */
typedef struct corio_scope {
    uint64_t opaque[4];
} corio_scope;
#define CORIO_SCOPE_INIT                                                       \
    {                                                                          \
        {                                                                      \
            0, 0, 0, 0                                                         \
        }                                                                      \
    }

/* Open s as the calling task's innermost scope, expiring at the absolute
 * time `deadline` (CORIO_NEVER: no deadline).
 * Returns 0, or -EINVAL (s NULL), -EBUSY (s already open), -EPERM outside a
 * task, -ENOMEM. */
CORIO_API CORIO_NODISCARD int corio_scope_begin(corio_scope *s,
                                                int64_t deadline);

/* Close s, which must be the calling task's innermost scope.  What happened
 * inside does not leak out: later waits are not failed by it.
 * Returns 0, or:
 *   -ECANCELED  s was cancelled with corio_scope_cancel (Trio's
 *               cancelled_caught).
 *   -ETIMEDOUT  its deadline passed.
 *   -EINVAL     s is not the innermost open scope of this task.
 *   -EPERM      called outside a task. */
CORIO_API int corio_scope_end(corio_scope *s);

/* Cancel s (from any task of the loop): every wait inside it returns
 * -ECANCELED until it ends, including one under way now.  A no-op if s is
 * not open. */
CORIO_API void corio_scope_cancel(corio_scope *s);

/* Move s's deadline (absolute; CORIO_NEVER: none), from any task of the
 * loop; a wait under way inside s sees the new deadline at once.  A no-op
 * if s is not open. */
CORIO_API void corio_scope_set_deadline(corio_scope *s, int64_t deadline);

/* s's deadline, or CORIO_NEVER (none, or s not open). */
CORIO_API int64_t corio_scope_deadline(const corio_scope *s);

/* ---- Block forms ----------------------------------------------------------
 *
 *   CORIO_WITH_TIMEOUT(2 * CORIO_SECOND, rc) {       async with timeout(2):
 *       rc = corio_stream_read_exactly(s, buf, n);
 *       if (rc < 0)
 *           return rc;                   the scope ends here too
 *   }
 *
 * CORIO_WITH_TIMEOUT(timeout_ns, rc) / CORIO_WITH_TIMEOUT_AT(deadline, rc):
 * rc (an int lvalue) receives corio_timeout_begin's result and the block
 * runs only if it is 0; the scope ends when the block is left in any way.
 * CORIO_WITH_SHIELD(rc): the same for a shield.  `continue` inside leaves
 * the block like `break`.
 *
 * CORIO_SCOPE_AUTO declares a corio_scope that is ended when it goes out of
 * C scope if it is still open:
 *
 *   CORIO_SCOPE_AUTO sc = CORIO_SCOPE_INIT;
 *   if ((rc = corio_scope_begin(&sc, corio_now() + CORIO_SECOND)) < 0)
 *       return rc;
 *   ...                          an early return ends sc
 *   rc = corio_scope_end(&sc);   or end it to learn what happened
 *
 * The begin macros also record the file and line for debug mode's reports.
 * Available with GCC and Clang (the cleanup attribute). */

/* Internals of the block forms and of the located begins (not to be
 * called directly: use the names above, which pass the caller's file and
 * line for debug mode's reports).
 *   corio__timeout_begin_loc, corio__timeout_begin_at_loc,
 *   corio__shield_begin_loc, corio__scope_begin_loc
 *        as corio_timeout_begin, corio_timeout_begin_at, corio_shield_begin
 *        and corio_scope_begin: same returns, none suspends, loop thread.
 *   corio__scope_guard_end
 *        CORIO_SCOPE_AUTO's cleanup: ends s if it is still open (as
 *        corio_scope_end, its result dropped), else does nothing. */
CORIO_API CORIO_NODISCARD int
corio__timeout_begin_loc(int64_t timeout_ns, const char *file, int line);
CORIO_API CORIO_NODISCARD int
corio__timeout_begin_at_loc(int64_t deadline, const char *file, int line);
/* corio_shield_begin with the caller's file and line (see above). */
CORIO_API CORIO_NODISCARD int corio__shield_begin_loc(const char *file,
                                                      int line);
/* corio_scope_begin with the caller's file and line (see above). */
CORIO_API CORIO_NODISCARD int corio__scope_begin_loc(corio_scope *s,
                                                     int64_t deadline,
                                                     const char *file,
                                                     int line);
/* The end of a CORIO_SCOPE_AUTO scope (see above); never fails. */
CORIO_API void corio__scope_guard_end(corio_scope *s);

#if defined(__GNUC__) || defined(__clang__)
#define corio_timeout_begin(ns)                                                \
    corio__timeout_begin_loc((ns), __FILE__, __LINE__)
#define corio_timeout_begin_at(deadline)                                       \
    corio__timeout_begin_at_loc((deadline), __FILE__, __LINE__)
#define corio_shield_begin() corio__shield_begin_loc(__FILE__, __LINE__)
#define corio_scope_begin(s, deadline)                                         \
    corio__scope_begin_loc((s), (deadline), __FILE__, __LINE__)

/* The state of one block form: what to call on leaving it (only if its
 * begin succeeded), and whether the block still has to run. */
typedef struct corio__block {
    void (*end)(void *obj);
    void *obj;
    int run;
} corio__block;

static inline void corio__block_exit(corio__block *g)
{
    if (g->end)
        g->end(g->obj);
}

static inline corio__block corio__block_make(void (*end)(void *), void *obj,
                                             int rc, int *out)
{
    corio__block g = {rc == 0 ? end : 0, obj, rc == 0};
    *out = rc;
    return g;
}

static inline void corio__timeout_block_end(void *unused)
{
    (void)unused;
    (void)corio_timeout_end();
}

static inline void corio__shield_block_end(void *unused)
{
    (void)unused;
    (void)corio_shield_end();
}

#define CORIO__CAT2(a, b) a##b
#define CORIO__CAT(a, b) CORIO__CAT2(a, b)
#define CORIO__WITH(g, init)                                                   \
    for (corio__block g __attribute__((cleanup(corio__block_exit))) = (init);  \
         g.run; g.run = 0)

#define CORIO_WITH_TIMEOUT(timeout_ns, rc)                                     \
    CORIO__WITH(CORIO__CAT(corio__g, __LINE__),                                \
                corio__block_make(corio__timeout_block_end, 0,                 \
                                  corio__timeout_begin_loc(                    \
                                      (timeout_ns), __FILE__, __LINE__),       \
                                  &(rc)))
#define CORIO_WITH_TIMEOUT_AT(deadline, rc)                                    \
    CORIO__WITH(CORIO__CAT(corio__g, __LINE__),                                \
                corio__block_make(corio__timeout_block_end, 0,                 \
                                  corio__timeout_begin_at_loc(                 \
                                      (deadline), __FILE__, __LINE__),         \
                                  &(rc)))
#define CORIO_WITH_SHIELD(rc)                                                  \
    CORIO__WITH(CORIO__CAT(corio__g, __LINE__),                                \
                corio__block_make(corio__shield_block_end, 0,                  \
                                  corio__shield_begin_loc(__FILE__, __LINE__), \
                                  &(rc)))
#define CORIO_SCOPE_AUTO                                                       \
    __attribute__((cleanup(corio__scope_guard_end))) corio_scope
#endif

#ifdef __cplusplus
}
#endif
#endif

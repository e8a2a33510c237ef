/* corio/scope.h — timeout scopes and cancellation shields.
 *
 * Scopes belong to the calling task and nest strictly: the innermost scope
 * (timeout, shield or group) must be ended first.  Inside a timeout scope
 * whose deadline has passed, every call that would wait returns -ETIMEDOUT
 * until the scope ends.  A shield defers cancellation and the deadlines of
 * scopes opened outside it; scopes opened inside it still work.  When a
 * cancellation and a deadline are both pending, -ECANCELED wins.  Scopes
 * still open when a task returns are closed (debug mode warns).
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
CORIO_API int corio_timeout_begin(int64_t timeout_ns);

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
CORIO_API int corio_shield_begin(void);

/* Close the innermost scope, which must be a shield.  A deferred
 * cancellation arrives at the first suspension after this call.
 * Returns 0, or -EINVAL (the innermost scope is not a shield), -EPERM. */
CORIO_API int corio_shield_end(void);

#ifdef __cplusplus
}
#endif
#endif

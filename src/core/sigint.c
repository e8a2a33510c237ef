/* core/sigint.c — SIGINT cancels the main task, like KeyboardInterrupt in
 * asyncio.run.
 *
 * One loop at a time holds the SIGINT role: the first whose run starts while
 * no other loop holds it, and only if SIGINT has its default disposition.
 * The handler may run on any thread (pool threads block all signals); it
 * only sets a flag and writes the loop's eventfd, which wakes the loop to
 * cancel main.  A second SIGINT while that cancellation is under way puts
 * the default disposition back and re-raises: the process dies as usual. */
#include "core/loop.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static _Atomic(corio__loop *) owner;
static atomic_int cancelling;

static void on_sigint(int sig)
{
    corio__loop *L = atomic_load(&owner);
    int saved = errno;
    if (!L || atomic_exchange(&cancelling, 1)) {
        signal(sig, SIG_DFL);
        raise(sig);
        errno = saved;
        return;
    }
    atomic_store(&L->sigint, 1);
    uint64_t one = 1;
    if (write(L->wakefd, &one, sizeof one) < 0) {
        /* The loop also polls L->sigint between passes. */
    }
    errno = saved;
}

void corio__sigint_install(corio__loop *L)
{
    struct sigaction old, sa;
    corio__loop *none = NULL;
    if (sigaction(SIGINT, NULL, &old) < 0 || old.sa_handler != SIG_DFL ||
        (old.sa_flags & SA_SIGINFO))
        return;
    if (!atomic_compare_exchange_strong(&owner, &none, L))
        return;
    atomic_store(&cancelling, 0);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    L->sigint_owner = true;
}

void corio__sigint_restore(corio__loop *L)
{
    struct sigaction cur;
    if (!L->sigint_owner)
        return;
    if (sigaction(SIGINT, NULL, &cur) == 0 && cur.sa_handler == on_sigint)
        signal(SIGINT, SIG_DFL);
    atomic_store(&owner, NULL);
    L->sigint_owner = false;
}

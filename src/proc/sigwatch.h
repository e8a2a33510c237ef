/* io/sigwatch.h — what io/signal.c tells io/process.c: the signal mask a
 * child process should start with (the loop thread's mask without the
 * signals corio blocked for its watchers). */
#ifndef CORIO_PROC_SIGWATCH_H
#define CORIO_PROC_SIGWATCH_H

#include <signal.h>

/* The calling thread's mask minus the signals corio_signal_open blocked. */
void corio__signal_child_mask(sigset_t *out);

#endif

/* io/pool.h — process-wide thread pools, one per kind of work, so that one
 * kind cannot starve another (libuv's single pool let slow DNS lookups block
 * file I/O).  corio_to_thread uses the CPU pool; the DNS and file pools are
 * for the networking and file layers. */
#ifndef CORIO_IO_POOL_H
#define CORIO_IO_POOL_H

#include "core/loop.h"

enum corio__pool_kind {
    CORIO__POOL_CPU,  /* corio_to_thread; size corio_options.threads */
    CORIO__POOL_DNS,  /* getaddrinfo; 4 threads */
    CORIO__POOL_FILE, /* blocking file calls; 4 threads */
    CORIO__POOL_KINDS
};

/* Run fn(arg) on a thread of pool `kind`, as corio_to_thread describes. */
int corio__pool_run(int kind, corio_fn fn, void *arg, int *result);
/* Queue fn(arg) on a thread of pool `kind` with no task waiting for it:
 * nothing is posted back and the loop does not count it, so fn hands its
 * result over itself (net/dns.c does, so that a lookup can be abandoned
 * while a thread is stuck in it).  Any thread.  0, -ENOMEM or -EAGAIN. */
int corio__pool_submit(int kind, void (*fn)(void *arg), void *arg);
/* The owner of a detached job running on pool `kind` gave up on it: let
 * the pool start a thread in its place until corio__pool_unlend (called
 * when that job ends).  False (nothing lent) past the cap of 64 lent
 * threads per pool.  Any thread. */
bool corio__pool_lend(int kind);
void corio__pool_unlend(int kind);

#endif

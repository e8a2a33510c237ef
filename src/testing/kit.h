/* testing/kit.h — what the test kit's files share (corio/testing.h is the
 * public side).
 *
 * Parts:
 *   runner.c  registry, corio_test_main, the checks
 *   run.c     corio_test_run, the manual clock, quiescence
 *   leaks.c   counts, baselines, corio_test_assert_no_leaks
 *   fault.c   fault injection, the fault sweep and the cancel sweep
 *   fakes.c   memory stream faults, the fake resolver
 *
 * The kit is the top layer (src/testing): it may include any folder of
 * libcorio's, and links libcorio alone (not corio-tls or corio-http). */
#ifndef CORIO_TESTING_KIT_H
#define CORIO_TESTING_KIT_H

#include <corio.h>
#include <corio/testing.h>

/* leaks.c: take the descriptor baseline (the runner, as a test starts). */
void corio__test_fd_baseline(void);
/* leaks.c: true when heap counts are exact: a sanitizer's allocator, or
 * glibc's with its per-thread cache off (CORIO__TCACHE_OFF among the
 * tunables, as corio_test_main arranges). */
#define CORIO__TCACHE_OFF "glibc.malloc.tcache_count=0"
int corio__test_heap_exact(void);
/* leaks.c: compare now with *before (heap bytes too if heap): what leaked
 * first, with a description in buf, else 0. */
enum { CORIO__LEAK_FDS = 1, CORIO__LEAK_HEAP, CORIO__LEAK_LSAN };
int corio__test_leaked(const corio_test_counts *before, int heap, char *buf,
                       size_t cap);

#endif

/* testing/leaks.c — what the process holds (descriptors, heap bytes,
 * tasks), baselines, and corio_test_assert_no_leaks.
 *
 * Heap bytes are the allocator's own count of bytes in use: glibc's
 * mallinfo2 (every arena, and chunks it mmapped), or, in a program built
 * with AddressSanitizer, the sanitizer's allocator (glibc's count is then
 * empty).  glibc counts the chunks its per-thread cache holds as in
 * use, so corio_test_main runs the tests with that cache off, and heap
 * growth counts as a leak only when it is off (or under a sanitizer).  The
 * sanitizer's entry points are weak references, so the kit
 * built without sanitizers still finds them in a sanitized program. */
#include "testing/kit.h"
#include "core/loop.h"

#include <dirent.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern size_t __sanitizer_get_current_allocated_bytes(void)
    __attribute__((weak));
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

static corio_test_counts base;
static int have_fds, have_heap;

/* Entries of a /proc/self directory. */
static long count_entries(const char *dir)
{
    long n = 0;
    struct dirent *e;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static long count_fds(void)
{
    return count_entries("/proc/self/fd") - 1; /* the DIR's own */
}

int corio__test_heap_exact(void)
{
    const char *t = getenv("GLIBC_TUNABLES");
    return __sanitizer_get_current_allocated_bytes != NULL ||
           (t && strstr(t, CORIO__TCACHE_OFF));
}

static long long heap_bytes(void)
{
    if (__sanitizer_get_current_allocated_bytes)
        return (long long)__sanitizer_get_current_allocated_bytes();
    struct mallinfo2 m = mallinfo2();
    return (long long)(m.uordblks + m.hblkhd);
}

void corio_test_counts_get(corio_test_counts *out)
{
    corio__loop *L = corio__cur;
    out->fds = count_fds();
    out->heap_bytes = heap_bytes();
    out->heap_exact = corio__test_heap_exact();
    out->tasks = L ? (long)L->nalive : 0;
    out->threads = count_entries("/proc/self/task");
}

void corio__test_fd_baseline(void)
{
    base.fds = count_fds();
    have_fds = 1;
}

void corio_test_leak_baseline(void)
{
    corio_test_counts_get(&base);
    have_fds = have_heap = 1;
}

int corio__test_leaked(const corio_test_counts *before, int heap, char *buf,
                       size_t cap)
{
    corio_test_counts now;
    corio_test_counts_get(&now);
    if (now.fds > before->fds) {
        snprintf(buf, cap, "leaked %ld descriptor(s)", now.fds - before->fds);
        return CORIO__LEAK_FDS;
    }
    if (heap && corio__test_heap_exact() &&
        now.heap_bytes > before->heap_bytes) {
        snprintf(buf, cap, "leaked %lld heap bytes",
                 now.heap_bytes - before->heap_bytes);
        return CORIO__LEAK_HEAP;
    }
    /* Where heap bytes were compared, LeakSanitizer (slow: it scans the
     * whole process) would add nothing. */
    if (!(heap && corio__test_heap_exact()) &&
        __lsan_do_recoverable_leak_check &&
        __lsan_do_recoverable_leak_check() != 0) {
        snprintf(buf, cap, "leaked memory (LeakSanitizer's report above)");
        return CORIO__LEAK_LSAN;
    }
    return 0;
}

void corio_test_assert_no_leaks_at(const char *file, int line)
{
    char what[96];
    corio_test_counts b = base;
    int in_loop = corio__cur != NULL; /* the loop's own are open */
    if (!have_fds || in_loop)
        b.fds = 1L << 30;
    if (corio__test_leaked(&b, have_heap && !in_loop, what, sizeof what))
        corio_test_fail(file, line, "no leaks: %s", what);
}

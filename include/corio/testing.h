/* corio/testing.h — the deterministic test kit (component corio-testing,
 * pkg-config module corio-testing; not included by corio.h).
 *
 *   runner      CORIO_TEST registers a test; corio_test_main runs each in a
 *               forked child with a timeout: -f filter, --list, --tap, and
 *               the closing line "N passed, N failed".
 *   checks      CORIO_CHECK, _EQ, _STR, _MEM, _ERR end the test with the
 *               expression, both values (error names for _ERR) and where.
 *   run         corio_test_run: a body as the root task of a fresh loop on
 *               the virtual clock (pytest-asyncio's mark in one call).
 *   clock       corio_test_advance, corio_test_autojump, corio_test_now:
 *               a manual clock when wanted (Trio's MockClock).
 *   quiescence  corio_test_wait_all_blocked (Trio's wait_all_tasks_blocked,
 *               Go's synctest.Wait).
 *   faults      corio_test_fail_syscall, corio_test_fail_alloc: fail the
 *               n-th call corio makes; corio_test_sweep fails each call of
 *               a scenario in turn (curl's torture mode), and
 *               corio_test_cancel_sweep cancels it at each of its
 *               suspension points in turn.
 *   fakes       faults of memory stream pairs (short reads and writes, a
 *               stall, a reset), a fake resolver (corio_test_dns_add).  The
 *               in-process HTTP test session, corio_http_test_session_new,
 *               lives in corio/http_server.h (component corio-http), so a
 *               program that does not use HTTP does not link it.
 *   leaks       counters of descriptors, heap bytes and tasks, and
 *               corio_test_assert_no_leaks.
 *
 * A test program:
 *
 *     #include <corio.h>
 *     #include <corio/testing.h>
 *
 *     static int body(void *arg) {
 *         CORIO_CHECK_ERR(corio_sleep(CORIO_SECOND), 0);  // no real wait
 *         return 0;
 *     }
 *     CORIO_TEST(clock, sleep) { CORIO_CHECK_EQ(corio_test_run(body, 0), 0); }
 *     int main(int argc, char **argv) { return corio_test_main(argc, argv); }
 *
 * built with `pkg-config --cflags --libs corio-testing`.  docs/testing.md
 * is the guide.  Everything here is for tests: the fault and sweep calls
 * change process-wide state and are not thread-safe; call them from the
 * test's own thread, outside any loop unless said otherwise. */
#ifndef CORIO_TESTING_H
#define CORIO_TESTING_H

#include "base.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Runner ------------------------------------------------------------ */

typedef void (*corio_test_fn)(void);

/* Register a test (what CORIO_TEST does before main; names are borrowed and
 * must stay valid).  At most 4096 tests. */
CORIO_API void corio_test_register(const char *suite, const char *name,
                                   corio_test_fn fn, int timeout_s);

/* Run the registered tests, each in a forked child that is killed after its
 * timeout (times 4 when corio_test_slow()), and print one line per test
 * and the closing line "N passed, N failed".  Arguments:
 *   -f PATTERN, or PATTERN alone   run the tests whose "suite.name" or
 *       suite matches the shell pattern (fnmatch); several are or-ed.
 *   -l, --list   print the names of the selected tests, run nothing.
 *   --tap        TAP output: "1..N", "ok K - suite.name", and the closing
 *                line as a comment.
 * To make heap counts exact (corio_test_sweep), it first re-executes the
 * program once with glibc's per-thread cache off (GLIBC_TUNABLES), except
 * under a sanitizer or when CORIO_TEST_SLOW is set (emulators).
 * Returns the exit status for main: 0 if every test passed, 1 if one
 * failed, 2 on a bad argument. */
CORIO_API int corio_test_main(int argc, char **argv);

/* Define and register a test: the block that follows is its body, run in
 * its own child process; it passes unless a check fails, it crashes, or
 * it outlives timeout_s seconds. */
#define CORIO_TEST_T(suite, name, timeout_s)                                   \
    static void corio__tc_##suite##__##name(void);                             \
    __attribute__((constructor)) static void corio__tr_##suite##__##name(void) \
    {                                                                          \
        corio_test_register(#suite, #name, corio__tc_##suite##__##name,        \
                            timeout_s);                                        \
    }                                                                          \
    static void corio__tc_##suite##__##name(void)
#define CORIO_TEST(suite, name) CORIO_TEST_T(suite, name, 30)

/* True when built with a sanitizer or CORIO_TEST_SLOW is set (qemu): large
 * tests may shrink, and the runner's timeouts grow. */
CORIO_API int corio_test_slow(void);

/* ---- Checks --------------------------------------------------------------
 * A failed check prints what failed, where, and the context set with
 * corio_test_context, then ends the test (the child process) with status
 * 1.  Each argument is evaluated once.  Checks may be used in any task and
 * on any thread of the test. */

#define CORIO_CHECK(c)                                                         \
    do {                                                                       \
        if (!(c))                                                              \
            corio_test_fail(__FILE__, __LINE__, "CHECK(%s) failed", #c);       \
    } while (0)
/* Integers (and pointers) compared as long long. */
#define CORIO_CHECK_EQ(a, b)                                                   \
    corio_test_check_eq(__FILE__, __LINE__, #a, #b, (long long)(a),            \
                        (long long)(b))
/* Strings compared with strcmp; NULL equals only NULL. */
#define CORIO_CHECK_STR(a, b)                                                  \
    corio_test_check_str(__FILE__, __LINE__, #a, #b, (a), (b))
/* n bytes compared; a failure shows the first differing offset. */
#define CORIO_CHECK_MEM(a, b, n)                                               \
    corio_test_check_mem(__FILE__, __LINE__, #a, #b, (a), (b), (n))
/* An int result and the code expected (0, -ETIMEDOUT, CORIO_EOF...); a
 * failure prints both by name: "-ECANCELED, expected -ETIMEDOUT". */
#define CORIO_CHECK_ERR(expr, err)                                             \
    corio_test_check_err(__FILE__, __LINE__, #expr, (long long)(expr),         \
                         (int)(err))

/* End the test now with a message (printf format) at file:line. */
CORIO_API void corio_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
/* Say what the test is doing, printed with any failure until changed
 * ("victim 3, cancelled while queued"); NULL clears it.  Copied. */
CORIO_API void corio_test_context(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* The functions behind the check macros. */
CORIO_API void corio_test_check_eq(const char *file, int line, const char *a,
                                   const char *b, long long va, long long vb);
/* CORIO_CHECK_STR's function: fails the test (exits the child) on a
 * mismatch.  Never suspends. */
CORIO_API void corio_test_check_str(const char *file, int line, const char *a,
                                    const char *b, const char *va,
                                    const char *vb);
/* CORIO_CHECK_MEM's function: fails the test on a mismatch. */
CORIO_API void corio_test_check_mem(const char *file, int line, const char *a,
                                    const char *b, const void *va,
                                    const void *vb, size_t n);
/* CORIO_CHECK_ERR's function: fails the test, naming both codes. */
CORIO_API void corio_test_check_err(const char *file, int line,
                                    const char *expr, long long got,
                                    int expected);

/* ---- Run -------------------------------------------------------------- */

/* Run fn(arg) as the root task of a new loop on the virtual clock (time
 * moves only when every task is blocked, straight to the next timer), in
 * the calling thread, which must not be running a loop.  Returns corio's
 * own failure (< 0, from corio_run_ex) if there was one, else fn's
 * result. */
CORIO_API int corio_test_run(corio_fn fn, void *arg);
/* The same with options (o may be NULL: the real clock and defaults). */
CORIO_API int corio_test_run_ex(corio_fn fn, void *arg, const corio_options *o);

/* ---- Clock -------------------------------------------------------------
 * On a loop with the virtual clock; from a task of it. */

/* When every task is blocked, wait `threshold` ns of real time for I/O or
 * another thread before jumping to the next timer: 0 (the default) jumps
 * at once, CORIO_NEVER makes the clock manual — it then moves only by
 * corio_test_advance, and a loop whose tasks all wait for timers is
 * deadlocked (Trio's MockClock(autojump_threshold=...)).
 * Returns 0, -EINVAL (threshold < 0, or not the virtual clock) or
 * -EPERM (not in a loop). */
CORIO_API int corio_test_autojump(int64_t threshold);
/* Move the virtual clock ns (>= 0) forward and fire the timers now due:
 * the tasks they wake run once the caller suspends (Trio's
 * MockClock.jump).  Returns 0, -EINVAL or -EPERM as above. */
CORIO_API int corio_test_advance(int64_t ns);
/* Nanoseconds of the loop's clock since the loop started (the same on
 * every run on the virtual clock); 0 outside a loop. */
CORIO_API int64_t corio_test_now(void);

/* ---- Quiescence --------------------------------------------------------- */

/* Return once every other task of the loop is blocked — none ready, no
 * thread job or post from another thread pending — yielding meanwhile
 * (Trio's wait_all_tasks_blocked, Go's synctest.Wait).  Time does not
 * move.  Returns 0, -EPERM outside a task, -ECANCELED / -ETIMEDOUT.
 * While a thread job runs this yields in a busy loop. */
CORIO_API int corio_test_wait_all_blocked(void);

/* ---- Fault injection -----------------------------------------------------
 * Every system call and allocation corio makes goes through one table
 * (src/os/sys.h lists them: malloc, calloc, realloc, read, write, connect,
 * epoll_wait, the io_uring submits...).  A failed call returns what the
 * real one would on that error (-1 and errno, NULL, a negative code), so
 * corio's error paths run as they would.  Calls the program makes itself
 * are not affected. */

/* Fail the nth (>= 1) call of the entry called name from now on with err
 * (an errno value).  Replaces any fault armed before.  Returns 0, or
 * -EINVAL for an unknown name or nth < 1. */
CORIO_API int corio_test_fail_syscall(const char *name, long nth, int err);
/* Fail the nth (>= 1) allocation (malloc, calloc or realloc) with ENOMEM.
 * Returns 0 or -EINVAL. */
CORIO_API int corio_test_fail_alloc(long nth);
/* True once the armed fault has fired. */
CORIO_API int corio_test_fault_fired(void);
/* Disarm; returns how many calls were counted since arming. */
CORIO_API long corio_test_fault_clear(void);

/* ---- Sweeps ------------------------------------------------------------
 * A scenario is a task body that runs the code under test and judges the
 * outcome: it returns 0 for the right answer, a negative error if the code
 * under test reported one, and a positive value for a wrong answer (an
 * item lost, a sum off) — an error passed silently.  It runs on a fresh
 * loop on the virtual clock each time (corio_test_run). */

/* Run the scenario once, counting the calls it makes through the table (it
 * must return 0), then once per call failing that call with ENOMEM (call 1,
 * 2, ... N; curl's torture mode).  After each run check that it returned
 * 0 or an error, never a wrong answer, and that it leaked nothing: no
 * descriptor, no heap byte (against the first run's end; where the count
 * is exact: under corio_test_main, which turns glibc's per-thread cache
 * off, or a sanitizer), nothing LeakSanitizer sees when built with it.  Each
 * bad run is reported on stderr ("corio_test_sweep: call 7 of 31 (malloc)
 * failed: leaked 64 bytes").  Returns the number of bad runs (0: the sweep
 * passed), or -EINVAL if the first run did not return 0, -EPERM inside a loop.
 */
CORIO_API int corio_test_sweep(corio_fn scenario, void *arg);

/* Run the scenario once, counting the suspension points of its root task
 * (every wait and yield; it must return 0), then once per point k, with
 * the task cancelled at its k-th suspension point: that wait and every
 * later one fail with -ECANCELED, so the scenario must finish its checks
 * without waiting (or under CORIO_WITH_SHIELD).  The scenario runs inside
 * a timeout scope that never expires (how the kit sees each point).  The same
 * checks as corio_test_sweep after each run: 0 or an error, never a wrong
 * answer; nothing leaked.  Returns the number of bad runs, or -EINVAL / -EPERM
 * as corio_test_sweep. */
CORIO_API int corio_test_cancel_sweep(corio_fn scenario, void *arg);

/* ---- Fakes -------------------------------------------------------------- */

/* Faults of one end of a memory stream pair (corio_stream_pair):
 *   max_read   each read of the end takes at most this many bytes (0: no
 *              limit): short reads, so framing code sees split messages.
 *   max_write  the end's writes go into the pair at most this many bytes
 *              at a time, yielding between pieces (0: no limit): the peer
 *              sees each piece on its own.
 *   stall      nonzero: the end's reads and writes wait (a peer that does
 *              not answer) until stall is set back to 0, or they are
 *              interrupted (deadlines see a hang).
 *   reset      nonzero: both ends' reads and writes fail with -ECONNRESET
 *              from now on (final). */
typedef struct corio_test_stream_faults {
    size_t max_read;
    size_t max_write;
    int stall;
    int reset;
} corio_test_stream_faults;

/* Set the faults of s, one end of a memory pair (f NULL: none), and wake
 * its waiting calls to look again.  Returns 0, or -EINVAL if s is not a
 * memory stream.  Loop thread only. */
CORIO_API int corio_test_stream_set_faults(corio_stream *s,
                                           const corio_test_stream_faults *f);

/* Make corio_dns_resolve (and so corio_tcp_connect, the HTTP client...)
 * answer host with addr, without a lookup: "127.0.0.1", "::1", or with a
 * port that replaces the caller's: "127.0.0.1:8080", "[::1]:8080".  Adding
 * a host again replaces its address.  Copied.  Returns 0, -EINVAL (a host
 * or address that does not parse), -ENOMEM. */
CORIO_API int corio_test_dns_add(const char *host, const char *addr);
/* Forget every fake name. */
CORIO_API void corio_test_dns_clear(void);

/* ---- Leaks ------------------------------------------------------------- */

/* What the process holds now. */
typedef struct corio_test_counts {
    long fds;             /* open descriptors */
    long long heap_bytes; /* bytes allocated and not freed, whoever
                             allocated them (the allocator's count) */
    int heap_exact;       /* heap_bytes counts no allocator cache (see
                             corio_test_sweep); else heap growth is not
                             taken for a leak */
    long tasks;           /* tasks alive in the calling thread's loop (0
                             outside one) */
    long threads;         /* threads of the process (a new pool thread
                             takes heap for its thread-local storage) */
} corio_test_counts;

/* Fill *out. */
CORIO_API void corio_test_counts_get(corio_test_counts *out);
/* Take the counts now as the baseline corio_test_assert_no_leaks compares
 * with.  The runner takes one for descriptors as each test starts; heap
 * bytes are compared only against a baseline taken with this call, after a
 * first run has built what lives until exit (thread pools, the stack-guard
 * probe). */
CORIO_API void corio_test_leak_baseline(void);
/* Fail the test if more descriptors are open than at the baseline, more
 * heap bytes are in use than at a baseline taken with
 * corio_test_leak_baseline, or (when built with LeakSanitizer) memory is
 * unreachable.  Inside a loop (whose own descriptors and memory are in
 * use) only the last is checked. */
#define corio_test_assert_no_leaks()                                           \
    corio_test_assert_no_leaks_at(__FILE__, __LINE__)
/* corio_test_assert_no_leaks()'s function (file and line for the
 * report): fails the test on a leak.  Never suspends. */
CORIO_API void corio_test_assert_no_leaks_at(const char *file, int line);

#ifdef __cplusplus
}
#endif

#endif

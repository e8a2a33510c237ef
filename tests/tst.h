/* tst.h — corio's own tests on the public test kit (corio/testing.h).
 *
 * The old short names stay as aliases, so tests can be written either
 * way: TEST/TEST_T are CORIO_TEST/CORIO_TEST_T, CHECK/CHECK_EQ the kit's
 * checks, tst_run the kit's corio_test_run.  The runner is the kit's
 * corio_test_main (tst.c).  What is left here are helpers corio's own
 * tests share and a user's would not need. */
#ifndef TST_H
#define TST_H

#include <corio.h>
#include <corio/testing.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define TEST_T(suite, name, timeout_s) CORIO_TEST_T(suite, name, timeout_s)
#define TEST(suite, name) CORIO_TEST(suite, name)
#define CHECK(c) CORIO_CHECK(c)
#define CHECK_EQ(a, b) CORIO_CHECK_EQ(a, b)
#define CHECK_STR(a, b) CORIO_CHECK_STR(a, b)
#define CHECK_ERR(expr, err) CORIO_CHECK_ERR(expr, err)
#define CHECK_MEM(a, b, n) CORIO_CHECK_MEM(a, b, n)
/* Fail at file:line with "CHECK(what) failed" (for checks that add their
 * own context first); tst_fail_eq is the failure of a CHECK_EQ. */
#define tst_fail(file, line, what)                                             \
    corio_test_fail(file, line, "CHECK(%s) failed", what)
#define tst_fail_eq corio_test_check_eq

/* Run fn(arg) as the root task of a new loop on the virtual clock (or with
 * explicit options); corio's own failure if any, else fn's result. */
#define tst_run(fn, arg) corio_test_run(fn, arg)
#define tst_run_ex(o, fn, arg) corio_test_run_ex(fn, arg, o)
/* True when built with a sanitizer or run under qemu: scale tests shrink. */
#define tst_slow_env() corio_test_slow()
/* Open descriptors of this process. */
int tst_count_fds(void);
/* No leak since the test started (descriptors; memory under
 * LeakSanitizer). */
#define tst_leak_check() corio_test_assert_no_leaks()

/* The monotonic clock in nanoseconds (real time, whatever the loop's
 * clock is). */
int64_t tst_real_ns(void);
/* Sleep the calling thread for ms milliseconds of real time (another
 * thread of a test letting the loop go idle). */
void tst_nap_ms(int ms);
/* Wait in real time until *flag is nonzero, at most 5 s (a broken runtime
 * fails the test instead of hanging it).  The flag's final value. */
int tst_await_flag(atomic_int *flag);
/* The next number of a test's pseudo-random sequence (xorshift64 over the
 * caller's state, which must start nonzero): the same sequence every run. */
uint64_t tst_rand(uint64_t *state);

#endif

/* tst.h — corio's test framework.
 *
 * A test is a plain function registered with TEST(suite, name).  The runner
 * forks each test into its own child with a timeout, so a crash or a hang
 * fails one test only.  Most tests run their body as the root task of a
 * fresh loop with tst_run() (virtual clock on) and check with CHECK/CHECK_EQ,
 * which print the failing expression and end the child.  The runner ends
 * with the line "N passed, N failed". */
#ifndef TST_H
#define TST_H

#include <corio.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*tst_fn)(void);
void tst_register(const char *suite, const char *name, tst_fn fn,
                  int timeout_s);
void tst_fail(const char *file, int line, const char *what);
void tst_fail_eq(const char *file, int line, const char *a, const char *b,
                 long long va, long long vb);

/* Run fn(arg) as the root task of a new loop on the virtual clock; returns
 * what corio_run_ex returned. */
int tst_run(corio_fn fn, void *arg);
/* The same with explicit options. */
int tst_run_ex(const corio_options *o, corio_fn fn, void *arg);
/* Open descriptors of this process (not counting the one used to look). */
int tst_count_fds(void);
/* True when built with a sanitizer or run under qemu: scale tests shrink. */
int tst_slow_env(void);
/* Under LeakSanitizer: check that nothing allocated is unreachable now
 * (a forked test ends with _exit, which skips LeakSanitizer's own check).
 * Elsewhere nothing. */
#define tst_leak_check() tst_leak_check_at(__FILE__, __LINE__)
void tst_leak_check_at(const char *file, int line);
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

#define TEST_T(suite, name, timeout_s)                                         \
    static void suite##_##name(void);                                          \
    __attribute__((constructor)) static void reg_##suite##_##name(void)        \
    {                                                                          \
        tst_register(#suite, #name, suite##_##name, timeout_s);                \
    }                                                                          \
    static void suite##_##name(void)
#define TEST(suite, name) TEST_T(suite, name, 30)

#define CHECK(c)                                                               \
    do {                                                                       \
        if (!(c))                                                              \
            tst_fail(__FILE__, __LINE__, #c);                                  \
    } while (0)
#define CHECK_EQ(a, b)                                                         \
    do {                                                                       \
        long long va_ = (long long)(a), vb_ = (long long)(b);                  \
        if (va_ != vb_)                                                        \
            tst_fail_eq(__FILE__, __LINE__, #a, #b, va_, vb_);                 \
    } while (0)

#endif

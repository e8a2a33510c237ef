/* tst.c — the main of corio's test binaries (the kit's runner) and the
 * helpers tst.h declares.
 *
 * Usage: corio_tests [-l|--list] [--tap] [[-f] suite | suite.name |
 * pattern]...; with no pattern every test runs. */
#include "tst.h"

#include <time.h>

int tst_count_fds(void)
{
    corio_test_counts c;
    corio_test_counts_get(&c);
    return (int)c.fds;
}

int64_t tst_real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * CORIO_SECOND + ts.tv_nsec;
}

void tst_nap_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int tst_await_flag(atomic_int *flag)
{
    for (int i = 0; i < 5000 && !atomic_load(flag); i++)
        tst_nap_ms(1);
    return atomic_load(flag);
}

uint64_t tst_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

int main(int argc, char **argv)
{
    return corio_test_main(argc, argv);
}

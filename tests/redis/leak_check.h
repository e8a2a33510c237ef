/* leak_check.h — under AddressSanitizer, ask LeakSanitizer for leaks now
 * (the runner's children end with _exit, which skips its check at exit);
 * elsewhere 0. */
#ifndef LEAK_CHECK_H
#define LEAK_CHECK_H

#if defined(__SANITIZE_ADDRESS__)
#define REDIS_HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REDIS_HAVE_LSAN 1
#endif
#endif
#ifdef REDIS_HAVE_LSAN
#include <sanitizer/lsan_interface.h>
static int leak_check(void)
{
    return __lsan_do_recoverable_leak_check();
}
#else
static int leak_check(void)
{
    return 0;
}
#endif

#endif

/* redis/alloc.c — corio-redis allocates through corio's system table
 * (exported by libcorio for its components), so that the fault sweep of
 * the tests fails its allocations too.  hiredis's own buffers (the reader's
 * input buffer, formatted commands) stay on the C library's malloc. */
#include "redis/redis.h"

#include "os/sys.h"

void *corio__redis_malloc(size_t n)
{
    return corio__sys.malloc(n);
}

void *corio__redis_calloc(size_t n, size_t size)
{
    return corio__sys.calloc(n, size);
}

void *corio__redis_realloc(void *p, size_t n)
{
    return corio__sys.realloc(p, n);
}

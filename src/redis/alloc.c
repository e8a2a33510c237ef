/* redis/alloc.c — corio-redis allocates through corio's system table when
 * it is linked with the static libcorio, so that the fault sweep of the
 * tests fails its allocations too; the table is internal to libcorio, so
 * it is referenced weakly and, when absent (the shared library), the C
 * library's functions are used.  hiredis's own buffers (the reader's
 * input buffer, formatted commands) stay on the C library's malloc. */
#include "redis/redis.h"

#include "os/sys.h"

#include <stdlib.h>

extern corio__sys_table corio__sys __attribute__((weak));

void *corio__redis_malloc(size_t n)
{
    return &corio__sys ? corio__sys.malloc(n) : malloc(n);
}

void *corio__redis_calloc(size_t n, size_t size)
{
    return &corio__sys ? corio__sys.calloc(n, size) : calloc(n, size);
}

void *corio__redis_realloc(void *p, size_t n)
{
    return &corio__sys ? corio__sys.realloc(p, n) : realloc(p, n);
}

/* core/error.c — corio_strerror: messages for errno values and corio's own
 * codes. */
#include "core/loop.h"

#include <string.h>

const char *corio_strerror(int err)
{
    if (err >= 0)
        return "success";
    if (err == CORIO_EDEADLOCK)
        return "deadlock: every task was blocked and nothing could wake one";
    if (err > CORIO_ERRBASE)
        return strerror(-err); /* glibc: static text for every known errno */
    return "unknown corio error";
}

/* core/error.c — corio_strerror and corio_err_name, both generated from
 * the one table of corio/errno.h; errno values are named by the C library
 * (strerrorname_np), except the two every suspending call returns, whose
 * meaning in corio is narrower than the C library's text. */
#include "core/loop.h"

#include <string.h>

const char *corio_strerror(int err)
{
    if (err >= 0)
        return "success";
    switch (err) {
#define MSG(name, off, msg)                                                    \
    case CORIO_##name:                                                         \
        return msg;
        CORIO_ERRNO_MAP(MSG)
#undef MSG
    case -ETIMEDOUT:
        return "timed out (a deadline passed)";
    case -ECANCELED:
        return "cancelled";
    default:
        break;
    }
    if (err > CORIO_ERRBASE)
        return strerror(-err); /* glibc: static text for every known errno */
    return "unknown corio error";
}

const char *corio_err_name(int err)
{
    if (err >= 0)
        return "0";
    switch (err) {
#define NAME(name, off, msg)                                                   \
    case CORIO_##name:                                                         \
        return "CORIO_" #name;
        CORIO_ERRNO_MAP(NAME)
#undef NAME
    default:
        break;
    }
    if (err <= CORIO_ERRBASE)
        return "CORIO_E?";
    const char *n = strerrorname_np(-err);
    return n ? n : "E?";
}

/* redis/format.c — commands to RESP bytes, by hiredis.
 *
 * redisvFormatCommand builds the command in an sds string grown piece by
 * piece (with a printf per length): a third of the client's CPU per command
 * in the pipelined benchmark.  Most formats use only %s and %b, so those are
 * split into words here (the same rules: words separated by spaces, a
 * conversion inside a word joins it) and given to redisFormatCommandArgv,
 * which sizes the command first and allocates it once.  Any other
 * conversion (%d, %lld, ...) goes to redisvFormatCommand unchanged. */
#include "redis/redis.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 32
#define MAX_PIECES 8

typedef struct piece {
    const char *p;
    size_t n;
} piece;

/* Whether fmt fits the fast path: only %s, %b and %%, at most MAX_WORDS
 * words of at most MAX_PIECES pieces. */
static bool simple(const char *fmt)
{
    int words = 0, pieces = 0;
    bool in_word = false, in_lit = false;
    for (const char *c = fmt; *c; c++) {
        if (*c == ' ') {
            in_word = in_lit = false;
            continue;
        }
        if (!in_word) {
            in_word = true;
            pieces = 0;
            if (++words > MAX_WORDS)
                return false;
        }
        if (*c == '%') {
            if (c[1] != 's' && c[1] != 'b' && c[1] != '%')
                return false;
            c++;
            in_lit = false;
            if (++pieces > MAX_PIECES)
                return false;
        } else if (!in_lit) {
            in_lit = true;
            if (++pieces > MAX_PIECES)
                return false;
        }
    }
    return words > 0;
}

int corio__redis_format(char **out, const char *fmt, va_list ap)
{
    *out = NULL;
    if (!fmt)
        return -EINVAL;
    int n;
    if (!simple(fmt)) {
        n = redisvFormatCommand(out, fmt, ap);
        if (n == -2)
            return -EINVAL;
        return n < 0 ? -ENOMEM : n;
    }
    const char *argv[MAX_WORDS];
    size_t argvlen[MAX_WORDS];
    char *joined[MAX_WORDS];
    int argc = 0, njoined = 0, rc = 0;
    const char *c = fmt;
    while (*c) {
        while (*c == ' ')
            c++;
        if (!*c)
            break;
        piece pc[MAX_PIECES];
        int np = 0;
        while (*c && *c != ' ') {
            if (*c == '%') {
                if (c[1] == 's') {
                    const char *s = va_arg(ap, const char *);
                    if (!s) {
                        rc = -EINVAL;
                        goto done;
                    }
                    pc[np++] = (piece){s, strlen(s)};
                } else if (c[1] == 'b') {
                    const char *b = va_arg(ap, const char *);
                    size_t bl = va_arg(ap, size_t);
                    if (!b && bl) {
                        rc = -EINVAL;
                        goto done;
                    }
                    pc[np++] = (piece){b ? b : "", bl};
                } else {
                    pc[np++] = (piece){c + 1, 1}; /* %% */
                }
                c += 2;
            } else {
                const char *start = c;
                while (*c && *c != ' ' && *c != '%')
                    c++;
                pc[np++] = (piece){start, (size_t)(c - start)};
            }
        }
        if (np == 1) {
            argv[argc] = pc[0].p;
            argvlen[argc] = pc[0].n;
        } else {
            size_t total = 0;
            for (int i = 0; i < np; i++)
                total += pc[i].n;
            char *j = corio__redis_malloc(total + 1);
            if (!j) {
                rc = -ENOMEM;
                goto done;
            }
            joined[njoined++] = j;
            size_t o = 0;
            for (int i = 0; i < np; i++) {
                memcpy(j + o, pc[i].p, pc[i].n);
                o += pc[i].n;
            }
            argv[argc] = j;
            argvlen[argc] = total;
        }
        argc++;
    }
    n = redisFormatCommandArgv(out, argc, argv, argvlen);
    rc = n < 0 ? -ENOMEM : n;
done:
    for (int i = 0; i < njoined; i++)
        free(joined[i]);
    return rc;
}

int corio__redis_format_argv(char **out, int argc, const char **argv,
                             const size_t *argvlen)
{
    *out = NULL;
    if (argc <= 0 || !argv)
        return -EINVAL;
    for (int i = 0; i < argc; i++)
        if (!argv[i])
            return -EINVAL;
    int n = redisFormatCommandArgv(out, argc, argv, argvlen);
    if (n < 0)
        return -ENOMEM;
    return n;
}

/* fake_server.h — a RESP server in the test's own loop, over one end of a
 * memory stream pair: deterministic under the virtual clock, so the cancel
 * sweep can hit every suspension point of a command's life in turn.
 *   GET k     -> the bulk string "val:" k
 *   SET k v   -> +OK
 *   PING      -> +PONG
 *   ECHO x    -> x
 *   RAW x     -> x sent as is (a crafted reply)
 *   anything else -> -ERR unknown
 * Each reply waits delay_ns(seq) of (virtual) time first, and is flushed at
 * once, so replies trickle in one by one. */
#ifndef FAKE_SERVER_H
#define FAKE_SERVER_H

#include "../tst.h"
#include <corio/redis.h>

#include <stdlib.h>
#include <string.h>

typedef struct fake_server {
    corio_stream *s;
    int64_t (*delay_ns)(long seq);
    long received; /* commands read */
    long replied;
} fake_server;

static int fake_read_word(corio_stream *s, char *buf, size_t cap, size_t *len)
{
    char line[64];
    ssize_t n = corio_stream_read_line(s, line, sizeof line);
    if (n <= 0)
        return n == 0 ? CORIO_EOF : (int)n;
    if (line[0] != '$')
        return -EPROTO;
    size_t l = (size_t)atol(line + 1);
    if (l + 2 > cap)
        return -EPROTO;
    int rc = corio_stream_read_exactly(s, buf, l + 2);
    if (rc < 0)
        return rc;
    buf[l] = 0;
    *len = l;
    return 0;
}

static int fake_server_main(void *arg)
{
    fake_server *f = arg;
    corio_stream *s = f->s;
    char line[64], w[3][4096];
    size_t wl[3];
    for (long seq = 0;; seq++) {
        ssize_t n = corio_stream_read_line(s, line, sizeof line);
        if (n <= 0)
            break;
        if (line[0] != '*')
            return -EPROTO;
        int argc = atoi(line + 1);
        if (argc < 1 || argc > 3)
            return -EPROTO;
        for (int i = 0; i < argc; i++)
            if (fake_read_word(s, w[i], sizeof w[i], &wl[i]) < 0)
                return -EPROTO;
        f->received++;
        if (f->delay_ns) {
            int64_t d = f->delay_ns(seq);
            if (d > 0 && corio_sleep(d) < 0)
                break;
        }
        char out[8192];
        int len;
        if (!strcmp(w[0], "GET") && argc == 2)
            len = snprintf(out, sizeof out, "$%zu\r\nval:%s\r\n", wl[1] + 4,
                           w[1]);
        else if (!strcmp(w[0], "SET") || !strcmp(w[0], "SELECT") ||
                 !strcmp(w[0], "AUTH"))
            len = snprintf(out, sizeof out, "+OK\r\n");
        else if (!strcmp(w[0], "PING"))
            len = snprintf(out, sizeof out, "+PONG\r\n");
        else if (!strcmp(w[0], "ECHO") && argc == 2)
            len = snprintf(out, sizeof out, "$%zu\r\n%s\r\n", wl[1], w[1]);
        else if (!strcmp(w[0], "RAW") && argc == 2)
            len = snprintf(out, sizeof out, "%s", w[1]);
        else
            len = snprintf(out, sizeof out, "-ERR unknown\r\n");
        if (corio_stream_write(s, out, (size_t)len) < 0 ||
            corio_stream_flush(s) < 0)
            break;
        f->replied++;
    }
    corio_stream_close(s);
    return 0;
}

#endif

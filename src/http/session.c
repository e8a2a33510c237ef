/* http/session.c — the client session: options and their defaults,
 * corio_http_session_new / _free, the reference count that keeps a freed
 * session alive for its open responses, and the on-free hooks (the
 * in-process test session stops its servers there). */
#include "http/session.h"

#include "os/sys.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)
#define DEFAULT_UA                                                             \
    "corio/" STR(CORIO_VERSION_MAJOR) "." STR(CORIO_VERSION_MINOR) "." STR(    \
        CORIO_VERSION_PATCH)

int corio_http_session_new(corio_http_session **out,
                           const corio_http_session_opts *o)
{
    corio_http_session_opts d = {0};
    if (!out)
        return -EINVAL;
    *out = NULL;
    if (o)
        d = *o;
    if (!d.max_connections)
        d.max_connections = 100;
    if (!d.max_per_host || d.max_per_host > d.max_connections)
        d.max_per_host = d.max_connections;
    if (!d.idle_timeout_ns)
        d.idle_timeout_ns = 15 * CORIO_SECOND;
    if (!d.connect_timeout_ns)
        d.connect_timeout_ns = 30 * CORIO_SECOND;
    if (!d.read_timeout_ns)
        d.read_timeout_ns = 30 * CORIO_SECOND;
    if (!d.timeout_ns)
        d.timeout_ns = 300 * CORIO_SECOND;
    if (!d.max_redirects)
        d.max_redirects = 10;
    if (!d.max_body)
        d.max_body = (size_t)64 << 20;
    if (!d.max_headers)
        d.max_headers = 100;
    if (!d.limits.max_start_line)
        d.limits.max_start_line = 8 << 10;
    if (!d.limits.max_head)
        d.limits.max_head = 64 << 10;
    /* The head is parsed in the stream's read buffer, which is at most
     * CORIO_STREAM_BUFFER_MAX; the header array is on the stack up to
     * CORIO__HTTP_STACK_HEADERS and allocated per request beyond, so its
     * size is bounded too. */
    if (d.limits.max_head > CORIO_STREAM_BUFFER_MAX || d.max_headers > 10000)
        return -EINVAL;

    const char *ua = d.user_agent ? d.user_agent : DEFAULT_UA;
    size_t ualen = strlen(ua);
    if (strpbrk(ua, "\r\n"))
        return -EINVAL;
    corio_http_session *s = corio__sys.calloc(1, sizeof *s + ualen + 1);
    if (!s)
        return -ENOMEM;
    if (ualen) {
        s->user_agent = (char *)(s + 1);
        memcpy(s->user_agent, ua, ualen + 1);
    }
    d.user_agent = s->user_agent;
    s->o = d;
    s->idle_timer.idx = CORIO__NOT_ARMED;
    s->refs = 1;
    *out = s;
    return 0;
}

void corio__http_session_on_free(corio_http_session *s, void (*fn)(void *),
                                 void *arg)
{
    assert(s->non_free < CORIO__HTTP_ON_FREE_MAX);
    s->on_free[s->non_free].fn = fn;
    s->on_free[s->non_free].arg = arg;
    s->non_free++;
}

void corio__http_session_ref(corio_http_session *s)
{
    s->refs++;
}

void corio__http_session_unref(corio_http_session *s)
{
    if (--s->refs)
        return;
    corio__http_pool_free(s);
    for (int i = 0; i < s->non_free; i++)
        s->on_free[i].fn(s->on_free[i].arg);
    free(s);
}

void corio_http_session_free(corio_http_session *s)
{
    if (!s || s->freed)
        return;
    s->freed = true;
    corio__http_pool_close_idle(s);
    corio__http_session_unref(s);
}

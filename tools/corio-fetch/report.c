/* report.c — per-URL output: --json's one JSON object per URL on its own
 * line (JSON Lines), built with jansson so URLs and messages are escaped
 * correctly whatever they hold, and the plain description of -v and the
 * failure lines (fetch_describe). */
#include "fetch.h"

#include <corio/tls.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

/* The error's message: corio's text, then the detail (the TLS reason). */
static void message(char *buf, size_t cap, const struct fetch_result *r)
{
    /* corio's own texts for TLS failures are for programmers; a user gets
     * a plain prefix and the reason itself. */
    const char *what = r->err == CORIO_ECERT  ? "certificate refused"
                       : r->err == CORIO_ETLS ? "TLS handshake failed"
                                              : corio_strerror(r->err);
    if (r->err == -ECANCELED)
        snprintf(buf, cap, "stopped (Ctrl-C) while in flight");
    else if (r->detail && *r->detail)
        snprintf(buf, cap, "%s: %s", what, r->detail);
    else
        snprintf(buf, cap, "%s", what);
}

void fetch_describe(char *buf, size_t cap, const struct fetch_result *r)
{
    if (r->err < 0) {
        char m[400];
        message(m, sizeof m, r);
        snprintf(buf, cap, "%s (%s)", fetch_kind_name(fetch_error_kind(r->err)),
                 m);
    } else {
        snprintf(buf, cap, "%d", r->status);
    }
}

int fetch_report_json(FILE *out, const struct fetch_result *r, size_t index)
{
    json_t *o = json_object();
    if (!o)
        return -ENOMEM;
    int bad = 0;
    bad |= json_object_set_new(o, "index", json_integer((json_int_t)index));
    bad |= json_object_set_new(o, "url", json_string(r->url ? r->url : ""));
    bad |= json_object_set_new(
        o, "status", r->status > 0 ? json_integer(r->status) : json_null());
    bad |= json_object_set_new(o, "bytes", json_integer((json_int_t)r->bytes));
    bad |= json_object_set_new(o, "ms", json_real((double)r->ns / CORIO_MS));
    bad |= json_object_set_new(o, "attempts", json_integer(r->attempts));
    if (r->err < 0) {
        char m[400];
        message(m, sizeof m, r);
        json_t *e =
            json_pack("{s:s, s:s}", "kind",
                      fetch_kind_name(fetch_error_kind(r->err)), "message", m);
        bad |= json_object_set_new(o, "error", e);
    } else {
        bad |= json_object_set_new(o, "error", json_null());
    }
    if (bad) {
        json_decref(o);
        return -ENOMEM;
    }
    /* One line, keys in the order above. */
    char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                   JSON_REAL_PRECISION(6));
    json_decref(o);
    if (!line)
        return -ENOMEM;
    int rc = fprintf(out, "%s\n", line) < 0 ? -EIO : 0;
    free(line);
    return rc;
}

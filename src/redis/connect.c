/* redis/connect.c — corio_redis_connect: the URL's transport (TCP, TLS
 * over TCP, Unix socket), then AUTH and SELECT through the connection
 * itself, so they obey the caller's scope like any command. */
#include "redis/redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keep the server's words about a refused AUTH or SELECT for the caller. */
static void note(corio_error_detail *d, const corio_redis_reply *r)
{
    if (d && r && r->str)
        snprintf(d->text, sizeof d->text, "%s", r->str);
}

static int handshake(corio_redis *c, const corio__redis_url *u,
                     corio_error_detail *d)
{
    corio_redis_reply *r = NULL;
    int rc = 0;
    if (u->password) {
        if (u->user)
            rc = corio_redis_command(c, &r, "AUTH %s %s", u->user, u->password);
        else
            rc = corio_redis_command(c, &r, "AUTH %s", u->password);
        if (rc == CORIO_EREDIS)
            note(d, r);
        corio_redis_reply_free(r);
        r = NULL;
        if (rc == CORIO_EREDIS)
            return CORIO_EREDIS_AUTH;
        if (rc < 0)
            return rc;
    }
    if (u->db > 0) {
        rc = corio_redis_command(c, &r, "SELECT %ld", u->db);
        if (rc == CORIO_EREDIS)
            note(d, r);
        if (rc == CORIO_EREDIS && r && r->len >= 6 &&
            !strncmp(r->str, "NOAUTH", 6))
            rc = CORIO_EREDIS_AUTH;
        corio_redis_reply_free(r);
        if (rc < 0)
            return rc;
    } else if (!u->password) {
        /* Nothing to send, but a server that wants a password says so only
         * when asked something: find out now, not at the first command. */
        rc = corio_redis_command(c, &r, "PING");
        if (rc == CORIO_EREDIS)
            note(d, r);
        if (rc == CORIO_EREDIS && r && r->len >= 6 &&
            !strncmp(r->str, "NOAUTH", 6))
            rc = CORIO_EREDIS_AUTH;
        corio_redis_reply_free(r);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int corio_redis_connect_ex(corio_redis **out, const char *url,
                           const corio_redis_opts *o)
{
    if (!out)
        return -EINVAL;
    *out = NULL;
    corio_redis_opts defaults = {0};
    if (!o)
        o = &defaults;
    if (o->detail)
        o->detail->text[0] = 0;
    corio__redis_url u;
    int rc = corio__redis_url_parse(&u, url);
    if (rc < 0)
        return rc;
    corio_stream *s = NULL;
    if (u.kind == 2) {
        rc = corio_unix_connect(&s, u.host, &o->stream);
    } else {
        corio_tcp_opts to = {.stream = o->stream};
        rc = corio_tcp_connect_ex(&s, u.host, u.port, &to);
        if (rc == 0 && u.kind == 1) {
            corio_tls_opts tls = {.ctx = o->tls,
                                  .server_name = u.host,
                                  .stream = o->stream,
                                  .detail = o->detail};
            corio_stream *t;
            rc = corio_tls_client(&t, s, &tls); /* closes s on failure */
            s = rc == 0 ? t : NULL;
        }
    }
    corio_redis *c = NULL;
    if (rc == 0)
        rc = corio_redis_from_stream(&c, s); /* owns s, even on failure */
    if (rc == 0)
        rc = handshake(c, &u, o->detail);
    corio__redis_url_free(&u);
    size_t ul = strlen(url) + 1;
    if (rc == 0 && !(c->url = corio__redis_malloc(ul)))
        rc = -ENOMEM;
    if (rc == 0)
        memcpy(c->url, url, ul);
    if (rc < 0) {
        corio_redis_close(c);
        return rc;
    }
    c->opts = *o;
    c->opts.detail = NULL; /* the caller's, for this call only */
    *out = c;
    return 0;
}

int corio_redis_connect(corio_redis **out, const char *url)
{
    return corio_redis_connect_ex(out, url, NULL);
}

#!/bin/sh
# `make install PREFIX=dir` must give include/, each component's static and
# shared library (versioned soname) and pkg-config module, bin/corio-fetch
# with its manual page and bash completion.  Then, for each component, one
# program compiled as strict ISO C11 (-std=c11 -pedantic -Werror) and as
# C++, linked shared and static using only pkg-config, must run — and a
# program using only libcorio must not need OpenSSL, zlib or jansson.
set -eu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
make --no-print-directory install PREFIX="$dir/prefix" >/dev/null
P=$dir/prefix
components="corio corio-tls corio-http corio-testing"
# corio-redis is built only where hiredis is (libhiredis-dev).
[ -e "$P/lib/pkgconfig/corio-redis.pc" ] && components="$components corio-redis"
# corio-pg is built only where libpq is (libpq-dev).
[ -e "$P/lib/pkgconfig/corio-pg.pc" ] && components="$components corio-pg"
for c in $components; do
    for f in lib/lib$c.a lib/lib$c.so lib/lib$c.so.0 lib/pkgconfig/$c.pc; do
        [ -e "$P/$f" ] || { echo "missing $f" >&2; exit 1; }
    done
    soname=$(objdump -p "$P/lib/lib$c.so" | awk '/SONAME/ {print $2}')
    [ "$soname" = "lib$c.so.0" ] || { echo "$c: soname is '$soname'" >&2; exit 1; }
done
for f in include/corio.h include/corio/task.h include/corio/errno.h \
         include/corio/http_json.h include/corio/testing.h bin/corio-fetch \
         share/man/man1/corio-fetch.1 \
         share/bash-completion/completions/corio-fetch; do
    [ -e "$P/$f" ] || { echo "missing $f" >&2; exit 1; }
done
"$P/bin/corio-fetch" --help >/dev/null
if objdump -p "$P/lib/libcorio.so" | grep -E 'NEEDED.*(ssl|crypto|libz|jansson)'; then
    echo "libcorio.so needs a dependency it must not" >&2
    exit 1
fi
export PKG_CONFIG_PATH="$P/lib/pkgconfig"

# One program per component.
cat > "$dir/core.c" <<'C'
#include <corio.h>
static int m(void *a) { (void)a; return corio_sleep(CORIO_MS) == 0 ? 7 : 1; }
int main(void)
{
    int result = 0;
    return corio_run(m, NULL, &result) == 0 && result == 7 ? 0 : 1;
}
C
cat > "$dir/tls.c" <<'C'
#include <corio.h>
int main(void)
{
    corio_tls_ctx *ctx;
    if (corio_tls_ctx_new(&ctx, CORIO_TLS_CLIENT, NULL) != 0)
        return 1;
    corio_tls_ctx_free(ctx);
    return 0;
}
C
cat > "$dir/http.c" <<'C'
#include <corio.h>
#include <corio/http_json.h>
#include <string.h>
static int hello(corio_http_req *req, void *arg)
{
    (void)arg;
    return corio_http_reply(req, 200, "application/json", "{\"n\": 7}", 8);
}
static int m(void *arg)
{
    corio_http_router *r = (corio_http_router *)arg;
    corio_http_session *s;
    corio_http_response *res;
    json_t *j = NULL;
    int n = -1;
    if (corio_http_test_session_new(&s, r, NULL, NULL) != 0)
        return 1;
    if (corio_http_session_get(s, "http://app/x", &res) == 0) {
        if (corio_http_response_json(res, &j) == 0)
            n = (int)json_integer_value(json_object_get(j, "n"));
        json_decref(j); /* jansson's inline: needs -ljansson */
        corio_http_response_free(res);
    }
    corio_http_session_free(s);
    return n == 7 ? 0 : 1;
}
int main(void)
{
    corio_http_router *r;
    int result = 1;
    if (corio_http_router_new(&r) != 0 ||
        corio_http_router_add(r, "GET", "/x", hello, NULL) != 0)
        return 1;
    int rc = corio_run(m, r, &result);
    corio_http_router_free(r);
    return rc == 0 && result == 0 ? 0 : 1;
}
C
cat > "$dir/testing.c" <<'C'
#include <corio.h>
#include <corio/testing.h>
static int body(void *arg)
{
    (void)arg;
    CORIO_CHECK_ERR(corio_sleep(CORIO_SECOND), 0);
    CORIO_CHECK_EQ(corio_test_now(), CORIO_SECOND);
    return 0;
}
CORIO_TEST(kit, virtual_sleep)
{
    CORIO_CHECK_EQ(corio_test_run(body, NULL), 0);
}
int main(int argc, char **argv)
{
    return corio_test_main(argc, argv);
}
C
cat > "$dir/redis.c" <<'C'
#include <corio.h>
#include <corio/redis.h>
static int m(void *arg)
{
    corio_redis *c;
    corio_redis_pipeline *p;
    (void)arg;
    if (corio_redis_connect(&c, "redis://") != -EINVAL) /* no host */
        return 1;
    if (corio_redis_pipeline_new(&p, CORIO_REDIS_TRANSACTION) != 0)
        return 1;
    if (corio_redis_pipeline_append(p, "SET %s %b", "k", "v", (size_t)1) != 0 ||
        corio_redis_pipeline_count(p) != 1)
        return 1;
    corio_redis_pipeline_free(p);
    return 7;
}
int main(void)
{
    int result = 0;
    return corio_run(m, NULL, &result) == 0 && result == 7 ? 0 : 1;
}
C
cat > "$dir/pg.c" <<'C'
#include <corio.h>
#include <corio/pg.h>
static int m(void *arg)
{
    corio_pg *c = NULL;
    corio_error_detail d;
    corio_pg_opts o = {0};
    (void)arg;
    o.detail = &d;
    if (corio_pg_connect_ex(&c, "this is not = a conninfo '", &o) != -EINVAL || c)
        return 1;
    corio_pg_close(NULL);
    return 7;
}
int main(void)
{
    int result = 0;
    return corio_run(m, NULL, &result) == 0 && result == 7 ? 0 : 1;
}
C
pairs="core:corio tls:corio-tls http:corio-http testing:corio-testing"
case "$components" in *corio-redis*) pairs="$pairs redis:corio-redis" ;; esac
case "$components" in *corio-pg*) pairs="$pairs pg:corio-pg" ;; esac
for pair in $pairs; do
    t=${pair%%:*}
    mod=${pair#*:}
    cc -std=c11 -pedantic -Wall -Wextra -Werror "$dir/$t.c" -o "$dir/$t" \
        $(pkg-config --cflags --libs "$mod") -Wl,-rpath,"$P/lib"
    "$dir/$t"
    cc -std=c11 -pedantic -Werror -static-libgcc "$dir/$t.c" -o "$dir/$t-static" \
        $(pkg-config --cflags "$mod") \
        -Wl,-Bstatic $(pkg-config --static --libs-only-l "$mod" | tr ' ' '\n' |
                       grep -E -- '-lcorio' | tr '\n' ' ') \
        -Wl,-Bdynamic $(pkg-config --static --libs-only-L "$mod") \
        $(pkg-config --static --libs-only-l "$mod" | tr ' ' '\n' |
          grep -vE -- '-lcorio' | tr '\n' ' ')
    if ldd "$dir/$t-static" | grep -q libcorio; then
        echo "$t-static links libcorio dynamically" >&2
        exit 1
    fi
    "$dir/$t-static"
    # The headers are C++ too.
    cp "$dir/$t.c" "$dir/$t.cc"
    c++ -std=c++11 -Wall -Werror -fpermissive -w -c "$dir/$t.cc" -o "$dir/$t.o" \
        $(pkg-config --cflags "$mod")
done
# A libcorio-only program, and a test program using the kit, link without
# OpenSSL, zlib or jansson.
for t in core testing; do
    ldd "$dir/$t" | grep -E 'ssl|crypto|libz|jansson|corio-http' && {
        echo "$t pulled in a heavy dependency" >&2
        exit 1
    }
done
echo "install layout ok: $(cd "$P" && find . -type f | sort | tr '\n' ' ')"

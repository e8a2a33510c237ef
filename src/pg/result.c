/* pg/result.c — results: counts, column names and types, the command tag,
 * and the typed getters that decode PostgreSQL's binary format (results are
 * always asked for in binary: no text parsing on the hot path, and
 * timestamps, floats and uuids come exact).
 *
 * Binary layouts used here (network byte order):
 *   int2/int4/int8/oid  big-endian integers;  float4/float8 IEEE bits
 *   bool                one byte
 *   timestamp(tz)       int8 microseconds since 2000-01-01 00:00 UTC
 *   date                int4 days since 2000-01-01
 *   numeric             int2 ndigits, int2 weight, uint2 sign, uint2 dscale,
 *                       ndigits x int2 base-10000 digits
 *   uuid                16 bytes;  jsonb  version byte 1 + text
 *   array               int4 ndim, int4 hasnull, oid elem, ndim x (int4 size,
 *                       int4 lbound), then per element int4 len (-1 NULL)
 *                       and its bytes */
#include "pg/pg_int.h"

#include <math.h>
#include <stdarg.h>
#include <strings.h>
#include <time.h>
#include <stdio.h>

corio_pg_result *corio__pg_result_wrap(PGresult *res)
{
    corio_pg_result *r = pg_malloc(sizeof *r);
    if (r)
        r->res = res;
    return r;
}

void corio_pg_result_free(corio_pg_result *r)
{
    if (!r)
        return;
    PQclear(r->res);
    free(r);
}

int corio_pg_result_rows(const corio_pg_result *r)
{
    return r ? PQntuples(r->res) : 0;
}

int corio_pg_result_cols(const corio_pg_result *r)
{
    return r ? PQnfields(r->res) : 0;
}

const char *corio_pg_result_colname(const corio_pg_result *r, int col)
{
    return r ? PQfname(r->res, col) : NULL;
}

int corio_pg_result_colindex(const corio_pg_result *r, const char *name)
{
    int i = r && name ? PQfnumber(r->res, name) : -1;
    return i < 0 ? -ENOENT : i;
}

unsigned corio_pg_result_coltype(const corio_pg_result *r, int col)
{
    return r ? (unsigned)PQftype(r->res, col) : 0;
}

const char *corio_pg_result_tag(const corio_pg_result *r)
{
    const char *t = r ? PQcmdStatus(r->res) : NULL;
    return t ? t : "";
}

int64_t corio_pg_result_affected(const corio_pg_result *r)
{
    const char *n = r ? PQcmdTuples(r->res) : NULL;
    return n && *n ? strtoll(n, NULL, 10) : 0;
}

int corio_pg_isnull(const corio_pg_result *r, int row, int col)
{
    if (!r || row < 0 || col < 0 || row >= PQntuples(r->res) ||
        col >= PQnfields(r->res))
        return 1;
    return PQgetisnull(r->res, row, col);
}

/* The raw value: 0 with its bytes, length and type, or -ERANGE / -ENODATA. */
int corio__pg_value(const corio_pg_result *r, int row, int col,
                    const unsigned char **p, int *len, unsigned *oid)
{
    if (!r || row < 0 || col < 0 || row >= PQntuples(r->res) ||
        col >= PQnfields(r->res))
        return -ERANGE;
    if (PQgetisnull(r->res, row, col))
        return -ENODATA;
    *p = (const unsigned char *)PQgetvalue(r->res, row, col);
    *len = PQgetlength(r->res, row, col);
    *oid = (unsigned)PQftype(r->res, col);
    if (PQfformat(r->res, col) != 1)
        *oid = OID_TEXT; /* a text-format column (not from corio's calls) */
    return 0;
}

uint64_t corio__pg_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Any integer type as int64.  0, -EINVAL. */
int corio__pg_as_int(const unsigned char *p, int len, unsigned oid, int64_t *v)
{
    switch (oid) {
    case OID_INT2:
        if (len != 2)
            return -EINVAL;
        *v = (int16_t)corio__pg_be(p, 2);
        return 0;
    case OID_INT4:
        if (len != 4)
            return -EINVAL;
        *v = (int32_t)corio__pg_be(p, 4);
        return 0;
    case OID_OID:
        if (len != 4)
            return -EINVAL;
        *v = (uint32_t)corio__pg_be(p, 4);
        return 0;
    case OID_INT8:
        if (len != 8)
            return -EINVAL;
        *v = (int64_t)corio__pg_be(p, 8);
        return 0;
    default:
        return -EINVAL;
    }
}

int corio__pg_as_double(const unsigned char *p, int len, unsigned oid,
                        double *v)
{
    if (oid == OID_FLOAT8 && len == 8) {
        uint64_t b = corio__pg_be(p, 8);
        memcpy(v, &b, 8);
        return 0;
    }
    if (oid == OID_FLOAT4 && len == 4) {
        uint32_t b = (uint32_t)corio__pg_be(p, 4);
        float f;
        memcpy(&f, &b, 4);
        *v = f;
        return 0;
    }
    int64_t i;
    if (corio__pg_as_int(p, len, oid, &i) == 0) {
        *v = (double)i;
        return 0;
    }
    return -EINVAL;
}

int corio_pg_get_int64(const corio_pg_result *r, int row, int col, int64_t *v)
{
    const unsigned char *p;
    int len;
    unsigned oid;
    int rc = corio__pg_value(r, row, col, &p, &len, &oid);
    return rc < 0 ? rc : corio__pg_as_int(p, len, oid, v);
}

int corio_pg_get_int32(const corio_pg_result *r, int row, int col, int32_t *v)
{
    int64_t x;
    int rc = corio_pg_get_int64(r, row, col, &x);
    if (rc < 0)
        return rc;
    if (x < INT32_MIN || x > INT32_MAX)
        return -ERANGE;
    *v = (int32_t)x;
    return 0;
}

int corio_pg_get_int16(const corio_pg_result *r, int row, int col, int16_t *v)
{
    int64_t x;
    int rc = corio_pg_get_int64(r, row, col, &x);
    if (rc < 0)
        return rc;
    if (x < INT16_MIN || x > INT16_MAX)
        return -ERANGE;
    *v = (int16_t)x;
    return 0;
}

int corio_pg_get_double(const corio_pg_result *r, int row, int col, double *v)
{
    const unsigned char *p;
    int len;
    unsigned oid;
    int rc = corio__pg_value(r, row, col, &p, &len, &oid);
    return rc < 0 ? rc : corio__pg_as_double(p, len, oid, v);
}

int corio_pg_get_float(const corio_pg_result *r, int row, int col, float *v)
{
    double d;
    int rc = corio_pg_get_double(r, row, col, &d);
    if (rc == 0)
        *v = (float)d;
    return rc;
}

int corio_pg_get_bool(const corio_pg_result *r, int row, int col, bool *v)
{
    const unsigned char *p;
    int len;
    unsigned oid;
    int rc = corio__pg_value(r, row, col, &p, &len, &oid);
    if (rc < 0)
        return rc;
    if (oid != OID_BOOL || len != 1)
        return -EINVAL;
    *v = p[0] != 0;
    return 0;
}

int corio_pg_get_time(const corio_pg_result *r, int row, int col, int64_t *ns)
{
    const unsigned char *p;
    int len;
    unsigned oid;
    int rc = corio__pg_value(r, row, col, &p, &len, &oid);
    if (rc < 0)
        return rc;
    int64_t us;
    if ((oid == OID_TIMESTAMP || oid == OID_TIMESTAMPTZ) && len == 8) {
        us = (int64_t)corio__pg_be(p, 8);
    } else if (oid == OID_DATE && len == 4) {
        int32_t d = (int32_t)corio__pg_be(p, 4);
        if (d == INT32_MAX || d == INT32_MIN)
            return -ERANGE;
        us = (int64_t)d * 86400 * 1000000;
    } else {
        return -EINVAL;
    }
    if (us == INT64_MAX || us == INT64_MIN) /* 'infinity' */
        return -ERANGE;
    int64_t unix_us = us + PG_EPOCH_US;
    if (unix_us > INT64_MAX / 1000 || unix_us < INT64_MIN / 1000)
        return -ERANGE;
    *ns = unix_us * 1000;
    return 0;
}

const char *corio_pg_get_bytes(const corio_pg_result *r, int row, int col,
                               size_t *len)
{
    const unsigned char *p;
    int l;
    unsigned oid;
    if (corio__pg_value(r, row, col, &p, &l, &oid) < 0)
        return NULL;
    if (oid == OID_JSONB && l > 0) { /* skip the format version byte */
        p++;
        l--;
    }
    if (len)
        *len = (size_t)l;
    return (const char *)p;
}

/* ---- text forms
 * -------------------------------------------------------------- */

typedef struct sbuf {
    char *buf;
    size_t cap, len;
} sbuf;

static void put(sbuf *s, const char *p, size_t n)
{
    if (s->len < s->cap) {
        size_t k = s->cap - s->len < n ? s->cap - s->len : n;
        memcpy(s->buf + s->len, p, k);
    }
    s->len += n;
}

static void putc_(sbuf *s, char ch)
{
    put(s, &ch, 1);
}

static void putf(sbuf *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void putf(sbuf *s, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        put(s, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void fmt_double(sbuf *s, double d, int maxprec)
{
    if (isnan(d)) {
        put(s, "NaN", 3);
        return;
    }
    if (isinf(d)) {
        if (d < 0)
            put(s, "-Infinity", 9);
        else
            put(s, "Infinity", 8);
        return;
    }
    /* The shortest form that reads back exactly, as PostgreSQL prints. */
    char tmp[40];
    for (int prec = maxprec == 9 ? 6 : 15; prec <= maxprec; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (maxprec == 9 ? (float)strtod(tmp, NULL) == (float)d
                         : strtod(tmp, NULL) == d)
            break;
    }
    put(s, tmp, strlen(tmp));
}

static int fmt_numeric(sbuf *s, const unsigned char *p, int len)
{
    if (len < 8)
        return -EINVAL;
    int nd = (int16_t)corio__pg_be(p, 2),
        weight = (int16_t)corio__pg_be(p + 2, 2);
    unsigned sign = (unsigned)corio__pg_be(p + 4, 2);
    int dscale = (int)corio__pg_be(p + 6, 2);
    if (len < 8 + 2 * nd)
        return -EINVAL;
    if (sign == 0xC000) {
        put(s, "NaN", 3);
        return 0;
    }
    if (sign == 0xD000) {
        put(s, "Infinity", 8);
        return 0;
    }
    if (sign == 0xF000) {
        put(s, "-Infinity", 9);
        return 0;
    }
    const unsigned char *dg = p + 8;
#define DIG(i)                                                                 \
    ((i) >= 0 && (i) < nd ? (int)(int16_t)corio__pg_be(dg + 2 * (i), 2) : 0)
    if (sign == 0x4000)
        putc_(s, '-');
    if (weight < 0) {
        putc_(s, '0');
    } else {
        for (int d = 0; d <= weight; d++)
            putf(s, d == 0 ? "%d" : "%04d", DIG(d));
    }
    if (dscale > 0) {
        putc_(s, '.');
        int left = dscale;
        for (int d = weight + 1; left > 0; d++) {
            char four[8];
            snprintf(four, sizeof four, "%04d", DIG(d));
            int k = left < 4 ? left : 4;
            put(s, four, (size_t)k);
            left -= k;
        }
    }
#undef DIG
    return 0;
}

static void fmt_ts(sbuf *s, int64_t us, bool tz, bool date_only)
{
    if (us == INT64_MAX || us == INT64_MIN) {
        put(s, us > 0 ? "infinity" : "-infinity", us > 0 ? 8 : 9);
        return;
    }
    int64_t secs = (us + PG_EPOCH_US) / 1000000,
            frac = (us + PG_EPOCH_US) % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    putf(s, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    if (date_only)
        return;
    putf(s, " %02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (frac) {
        char f[8];
        snprintf(f, sizeof f, "%06lld", (long long)frac);
        int n = 6;
        while (n > 1 && f[n - 1] == '0')
            n--;
        putc_(s, '.');
        put(s, f, (size_t)n);
    }
    if (tz)
        put(s, "+00", 3);
}

static bool is_textlike(unsigned oid)
{
    switch (oid) {
    case OID_TEXT:
    case OID_VARCHAR:
    case OID_BPCHAR:
    case OID_NAME:
    case OID_JSON:
    case OID_XML:
    case OID_UNKNOWN:
    case OID_CHAR:
        return true;
    default:
        return false;
    }
}

static unsigned array_elem(unsigned oid)
{
    switch (oid) {
    case 1000:
        return OID_BOOL;
    case 1001:
        return OID_BYTEA;
    case 1005:
        return OID_INT2;
    case 1007:
        return OID_INT4;
    case 1009:
        return OID_TEXT;
    case 1014:
        return OID_BPCHAR;
    case 1015:
        return OID_VARCHAR;
    case 1016:
        return OID_INT8;
    case 1021:
        return OID_FLOAT4;
    case 1022:
        return OID_FLOAT8;
    case 1028:
        return OID_OID;
    case 1115:
        return OID_TIMESTAMP;
    case 1182:
        return OID_DATE;
    case 1185:
        return OID_TIMESTAMPTZ;
    case 1231:
        return OID_NUMERIC;
    case 2951:
        return OID_UUID;
    case 199:
        return OID_JSON;
    case 3807:
        return OID_JSONB;
    default:
        return 0;
    }
}

static int fmt_value(sbuf *s, const unsigned char *p, int len, unsigned oid,
                     bool in_array);

static int fmt_array(sbuf *s, const unsigned char *p, int len, unsigned oid)
{
    pg_array a;
    int rc = corio__pg_array_open(&a, p, len, oid);
    if (rc < 0)
        return rc;
    putc_(s, '{');
    for (int i = 0; i < a.n; i++) {
        const unsigned char *e;
        int el;
        if ((rc = corio__pg_array_next(&a, &e, &el)) < 0)
            return rc;
        if (i)
            putc_(s, ',');
        if (rc == 1)
            put(s, "NULL", 4);
        else if ((rc = fmt_value(s, e, el, a.elem, true)) < 0)
            return rc;
    }
    putc_(s, '}');
    return 0;
}

int corio__pg_array_open(pg_array *a, const unsigned char *p, int len,
                         unsigned oid)
{
    a->elem = array_elem(oid);
    if (!a->elem || len < 12)
        return -EINVAL;
    int ndim = (int)corio__pg_be(p, 4);
    a->n = 0;
    a->q = p + 12;
    a->end = p + len;
    if (ndim == 0)
        return 0;
    if (ndim != 1 || len < 20)
        return -EINVAL; /* several dimensions are not read */
    a->n = (int32_t)corio__pg_be(p + 12, 4);
    a->q = p + 20;
    return a->n < 0 ? -EINVAL : 0;
}

int corio__pg_array_next(pg_array *a, const unsigned char **p, int *len)
{
    if (a->end - a->q < 4)
        return -EINVAL;
    int el = (int32_t)corio__pg_be(a->q, 4);
    a->q += 4;
    if (el < 0)
        return 1;
    if (a->end - a->q < el)
        return -EINVAL;
    *p = a->q;
    *len = el;
    a->q += el;
    return 0;
}

static void put_quoted(sbuf *s, const unsigned char *p, int len)
{
    bool q = len == 0 || (len == 4 && !strncasecmp((const char *)p, "NULL", 4));
    for (int i = 0; i < len && !q; i++)
        if (strchr("{},\"\\ \t\n\r\v\f", p[i]))
            q = true;
    if (!q) {
        put(s, (const char *)p, (size_t)len);
        return;
    }
    putc_(s, '"');
    for (int i = 0; i < len; i++) {
        if (p[i] == '"' || p[i] == '\\')
            putc_(s, '\\');
        putc_(s, (char)p[i]);
    }
    putc_(s, '"');
}

static int fmt_value(sbuf *s, const unsigned char *p, int len, unsigned oid,
                     bool in_array)
{
    int64_t i;
    double d;
    if (is_textlike(oid) || oid == OID_JSONB) {
        if (oid == OID_JSONB && len > 0) {
            p++;
            len--;
        }
        if (in_array)
            put_quoted(s, p, len);
        else
            put(s, (const char *)p, (size_t)len);
        return 0;
    }
    if (corio__pg_as_int(p, len, oid, &i) == 0) {
        putf(s, "%lld", (long long)i);
        return 0;
    }
    switch (oid) {
    case OID_BOOL:
        if (len != 1)
            return -EINVAL;
        putc_(s, p[0] ? 't' : 'f');
        return 0;
    case OID_FLOAT4:
    case OID_FLOAT8:
        if (corio__pg_as_double(p, len, oid, &d) < 0)
            return -EINVAL;
        fmt_double(s, d, oid == OID_FLOAT4 ? 9 : 17);
        return 0;
    case OID_NUMERIC:
        return fmt_numeric(s, p, len);
    case OID_UUID:
        if (len != 16)
            return -EINVAL;
        for (int k = 0; k < 16; k++) {
            if (k == 4 || k == 6 || k == 8 || k == 10)
                putc_(s, '-');
            putf(s, "%02x", p[k]);
        }
        return 0;
    case OID_BYTEA:
        if (in_array)
            put(s, "\"\\\\x", 4);
        else
            put(s, "\\x", 2);
        for (int k = 0; k < len; k++)
            putf(s, "%02x", p[k]);
        if (in_array)
            putc_(s, '"');
        return 0;
    case OID_TIMESTAMP:
    case OID_TIMESTAMPTZ:
        if (len != 8)
            return -EINVAL;
        if (in_array)
            putc_(s, '"');
        fmt_ts(s, (int64_t)corio__pg_be(p, 8), oid == OID_TIMESTAMPTZ, false);
        if (in_array)
            putc_(s, '"');
        return 0;
    case OID_DATE:
        if (len != 4)
            return -EINVAL;
        fmt_ts(s, (int64_t)(int32_t)corio__pg_be(p, 4) * 86400 * 1000000, false,
               true);
        return 0;
    default:
        if (!in_array && array_elem(oid))
            return fmt_array(s, p, len, oid);
        return -EINVAL;
    }
}

ssize_t corio_pg_get_text(const corio_pg_result *r, int row, int col, char *buf,
                          size_t cap)
{
    if (buf && cap)
        buf[0] = 0;
    const unsigned char *p;
    int len;
    unsigned oid;
    int rc = corio__pg_value(r, row, col, &p, &len, &oid);
    if (rc < 0)
        return rc;
    sbuf s = {buf, buf && cap ? cap - 1 : 0, 0};
    rc = fmt_value(&s, p, len, oid, false);
    if (rc < 0) {
        if (buf && cap)
            buf[0] = 0;
        return rc;
    }
    if (buf && cap)
        buf[s.len < s.cap ? s.len : s.cap] = 0;
    return (ssize_t)s.len;
}

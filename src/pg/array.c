/* pg/array.c — typed getters for one-dimensional arrays (int2[], int4[],
 * int8[], oid[], float4[], float8[], bool[], and text-like / bytea arrays as
 * views), decoded from the binary format result.c describes.
 *
 * One walk (get_array) serves every type: it opens the array, checks its
 * element type, steps over the elements and hands each to a small decoder
 * that stores it at index i of the caller's array (a NULL element as 0,
 * false or a NULL view). */
#include "pg/pg_int.h"

typedef struct elem_kind {
    bool (*accepts)(unsigned oid);
    /* Store element i (p NULL: a NULL element).  0 or -ERANGE/-EINVAL. */
    int (*store)(const unsigned char *p, int len, unsigned oid, void *out,
                 size_t i);
    bool null_in_value; /* a NULL element needs no flag (views) */
} elem_kind;

/* Returns the element count (the caller's arrays hold the first cap), or
 * -ENODATA (the value is NULL, or an element is while nulls is NULL),
 * -ERANGE, -EINVAL. */
static ssize_t get_array(const corio_pg_result *r, int row, int col,
                         const elem_kind *k, void *out, bool *nulls, size_t cap)
{
    const unsigned char *p;
    int len;
    unsigned oid;
    int rc = corio__pg_value(r, row, col, &p, &len, &oid);
    if (rc < 0)
        return rc;
    pg_array a;
    if ((rc = corio__pg_array_open(&a, p, len, oid)) < 0)
        return rc;
    if (!k->accepts(a.elem))
        return -EINVAL;
    for (size_t i = 0; out && i < (size_t)a.n && i < cap; i++) {
        const unsigned char *e = NULL;
        int el = 0;
        if ((rc = corio__pg_array_next(&a, &e, &el)) < 0)
            return rc;
        if (nulls)
            nulls[i] = rc == 1;
        else if (rc == 1 && !k->null_in_value)
            return -ENODATA;
        if ((rc = k->store(rc == 1 ? NULL : e, el, a.elem, out, i)) < 0)
            return rc;
    }
    return a.n;
}

static bool int_oid(unsigned oid)
{
    return oid == OID_INT2 || oid == OID_INT4 || oid == OID_INT8 ||
           oid == OID_OID;
}

static bool number_oid(unsigned oid)
{
    return int_oid(oid) || oid == OID_FLOAT4 || oid == OID_FLOAT8;
}

static bool bool_oid(unsigned oid)
{
    return oid == OID_BOOL;
}

static bool bytes_oid(unsigned oid)
{
    return oid == OID_TEXT || oid == OID_VARCHAR || oid == OID_BPCHAR ||
           oid == OID_NAME || oid == OID_JSON || oid == OID_JSONB ||
           oid == OID_BYTEA;
}

static int store_int64(const unsigned char *p, int len, unsigned oid, void *out,
                       size_t i)
{
    int64_t v = 0;
    int rc = p ? corio__pg_as_int(p, len, oid, &v) : 0;
    ((int64_t *)out)[i] = v;
    return rc;
}

static int store_int32(const unsigned char *p, int len, unsigned oid, void *out,
                       size_t i)
{
    int64_t v = 0;
    int rc = p ? corio__pg_as_int(p, len, oid, &v) : 0;
    if (rc == 0 && (v < INT32_MIN || v > INT32_MAX))
        rc = -ERANGE;
    ((int32_t *)out)[i] = rc == 0 ? (int32_t)v : 0;
    return rc;
}

static int store_double(const unsigned char *p, int len, unsigned oid,
                        void *out, size_t i)
{
    double v = 0;
    int rc = p ? corio__pg_as_double(p, len, oid, &v) : 0;
    ((double *)out)[i] = v;
    return rc;
}

static int store_bool(const unsigned char *p, int len, unsigned oid, void *out,
                      size_t i)
{
    (void)oid;
    if (p && len != 1)
        return -EINVAL;
    ((bool *)out)[i] = p && p[0];
    return 0;
}

typedef struct views {
    const char **v;
    size_t *len;
} views;

static int store_view(const unsigned char *p, int len, unsigned oid, void *out,
                      size_t i)
{
    views *w = out;
    if (oid == OID_JSONB && p && len > 0) { /* the format version byte */
        p++;
        len--;
    }
    w->v[i] = (const char *)p;
    if (w->len)
        w->len[i] = p ? (size_t)len : 0;
    return 0;
}

static const elem_kind k_int64 = {int_oid, store_int64, false};
static const elem_kind k_int32 = {int_oid, store_int32, false};
static const elem_kind k_double = {number_oid, store_double, false};
static const elem_kind k_bool = {bool_oid, store_bool, false};
static const elem_kind k_view = {bytes_oid, store_view, true};

ssize_t corio_pg_get_int64_array(const corio_pg_result *r, int row, int col,
                                 int64_t *v, bool *nulls, size_t cap)
{
    return get_array(r, row, col, &k_int64, v, nulls, cap);
}

ssize_t corio_pg_get_int32_array(const corio_pg_result *r, int row, int col,
                                 int32_t *v, bool *nulls, size_t cap)
{
    return get_array(r, row, col, &k_int32, v, nulls, cap);
}

ssize_t corio_pg_get_double_array(const corio_pg_result *r, int row, int col,
                                  double *v, bool *nulls, size_t cap)
{
    return get_array(r, row, col, &k_double, v, nulls, cap);
}

ssize_t corio_pg_get_bool_array(const corio_pg_result *r, int row, int col,
                                bool *v, bool *nulls, size_t cap)
{
    return get_array(r, row, col, &k_bool, v, nulls, cap);
}

ssize_t corio_pg_get_bytes_array(const corio_pg_result *r, int row, int col,
                                 const char **v, size_t *len, size_t cap)
{
    views w = {v, len};
    return get_array(r, row, col, &k_view, v ? &w : NULL, NULL, cap);
}

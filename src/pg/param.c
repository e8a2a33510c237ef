/* pg/param.c — typed parameters for corio_pg_query_params: constructors
 * that encode a C value in PostgreSQL's binary format (big-endian, IEEE
 * floats, timestamps as microseconds since 2000-01-01) inside the
 * parameter itself, so building one allocates nothing. */
#include "pg/pg_int.h"

static corio_pg_param bin(unsigned type, uint64_t bits, int len)
{
    corio_pg_param p = {type, 1, len, NULL, {0}};
    for (int i = len - 1; i >= 0; i--, bits >>= 8)
        p.inline_[i] = (unsigned char)bits;
    return p;
}

corio_pg_param corio_pg_param_null(void)
{
    corio_pg_param p = {0, 0, -1, NULL, {0}};
    return p;
}

corio_pg_param corio_pg_param_bool(bool v)
{
    return bin(OID_BOOL, v ? 1 : 0, 1);
}

corio_pg_param corio_pg_param_int2(int16_t v)
{
    return bin(OID_INT2, (uint16_t)v, 2);
}

corio_pg_param corio_pg_param_int4(int32_t v)
{
    return bin(OID_INT4, (uint32_t)v, 4);
}

corio_pg_param corio_pg_param_int8(int64_t v)
{
    return bin(OID_INT8, (uint64_t)v, 8);
}

corio_pg_param corio_pg_param_float4(float v)
{
    uint32_t b;
    memcpy(&b, &v, 4);
    return bin(OID_FLOAT4, b, 4);
}

corio_pg_param corio_pg_param_float8(double v)
{
    uint64_t b;
    memcpy(&b, &v, 8);
    return bin(OID_FLOAT8, b, 8);
}

corio_pg_param corio_pg_param_timestamptz(int64_t ns)
{
    /* Floor division: a time before 1970 rounds down, as the server does. */
    int64_t us = ns / 1000 - (ns % 1000 < 0);
    return bin(OID_TIMESTAMPTZ, (uint64_t)(us - PG_EPOCH_US), 8);
}

corio_pg_param corio_pg_param_bytea(const void *p, size_t len)
{
    corio_pg_param v = {OID_BYTEA, 1, (int)len, p ? p : "", {0}};
    return v;
}

corio_pg_param corio_pg_param_text(const char *s)
{
    corio_pg_param v = {0, 0, s ? 0 : -1, s, {0}};
    return v;
}

corio_pg_param corio_pg_param_typed(unsigned type, const char *s)
{
    corio_pg_param v = {type, 0, s ? 0 : -1, s, {0}};
    return v;
}

corio_pg_param corio_pg_param_numeric(const char *s)
{
    return corio_pg_param_typed(OID_NUMERIC, s);
}

corio_pg_param corio_pg_param_uuid(const unsigned char *u)
{
    corio_pg_param v = {OID_UUID, 1, u ? 16 : -1, u, {0}};
    return v;
}

/* redis/reply.c — reply trees: hiredis's RESP reader calls the functions
 * here to build corio_redis_reply nodes directly (no hiredis redisReply is
 * ever made), and the public accessors read them.  A string node holds its
 * bytes inline, after the struct, so a GET reply is one allocation. */
#include "redis/redis.h"

#include <hiredis/read.h>
#include <stdlib.h>
#include <string.h>

static void attach(const redisReadTask *t, corio_redis_reply *r)
{
    if (t->parent) {
        corio_redis_reply *p = t->parent->obj;
        p->element[t->idx] = r;
    }
}

static void *create_string(const redisReadTask *t, char *s, size_t len)
{
    corio_redis_reply *r = corio__redis_malloc(sizeof *r + len + 1);
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    r->type = t->type == REDIS_REPLY_STATUS  ? CORIO_REDIS_STATUS
              : t->type == REDIS_REPLY_ERROR ? CORIO_REDIS_ERROR
                                             : CORIO_REDIS_STRING;
    r->str = (char *)(r + 1);
    memcpy(r->str, s, len);
    r->str[len] = 0;
    r->len = len;
    attach(t, r);
    return r;
}

static void *create_array(const redisReadTask *t, int n)
{
    corio_redis_reply *r = corio__redis_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->type = CORIO_REDIS_ARRAY;
    if (n > 0) {
        r->element = corio__redis_calloc((size_t)n, sizeof *r->element);
        if (!r->element) {
            free(r);
            return NULL;
        }
    }
    r->len = n > 0 ? (size_t)n : 0;
    attach(t, r);
    return r;
}

static void *create_integer(const redisReadTask *t, long long v)
{
    corio_redis_reply *r = corio__redis_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->type = CORIO_REDIS_INTEGER;
    r->integer = v;
    attach(t, r);
    return r;
}

static void *create_nil(const redisReadTask *t)
{
    corio_redis_reply *r = corio__redis_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->type = CORIO_REDIS_NIL;
    attach(t, r);
    return r;
}

static void free_object(void *p)
{
    corio_redis_reply_free(p);
}

static redisReplyObjectFunctions functions = {
    create_string, create_array, create_integer, create_nil, free_object,
};

void *corio__redis_reader_new(void)
{
    return redisReaderCreateWithFunctions(&functions);
}

void corio__redis_reader_free(void *reader)
{
    if (reader)
        redisReaderFree(reader);
}

corio_redis_reply *corio__redis_reply_array(corio_redis_reply **v, size_t n)
{
    corio_redis_reply *r = corio__redis_calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->type = CORIO_REDIS_ARRAY;
    r->element = v;
    r->len = n;
    return r;
}

corio_redis_type corio_redis_reply_type(const corio_redis_reply *r)
{
    return r ? r->type : CORIO_REDIS_NIL;
}

long long corio_redis_reply_integer(const corio_redis_reply *r)
{
    return r && r->type == CORIO_REDIS_INTEGER ? r->integer : 0;
}

const char *corio_redis_reply_string(const corio_redis_reply *r, size_t *len)
{
    if (!r || !r->str) {
        if (len)
            *len = 0;
        return NULL;
    }
    if (len)
        *len = r->len;
    return r->str;
}

size_t corio_redis_reply_count(const corio_redis_reply *r)
{
    return r && r->type == CORIO_REDIS_ARRAY ? r->len : 0;
}

corio_redis_reply *corio_redis_reply_element(const corio_redis_reply *r,
                                             size_t i)
{
    if (!r || r->type != CORIO_REDIS_ARRAY || i >= r->len)
        return NULL;
    return r->element[i];
}

void corio_redis_reply_free(corio_redis_reply *r)
{
    if (!r)
        return;
    if (r->type == CORIO_REDIS_ARRAY) {
        for (size_t i = 0; i < r->len; i++)
            corio_redis_reply_free(r->element[i]);
        free(r->element);
    }
    free(r);
}

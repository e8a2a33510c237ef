/* test_local.c — task-local values: initial values, inheritance at spawn
 * (a copy: later changes on either side stay on that side), grandchildren,
 * many keys, NULL as a value, outside a task. */
#include "tst.h"

#include <string.h>

static corio_local rid = CORIO_LOCAL_INIT("request_id", "none");
static corio_local logger = CORIO_LOCAL_INIT("logger", NULL);

static char A[] = "a", B[] = "b", C[] = "c", D[] = "d";

static int grandchild(void *arg)
{
    (void)arg;
    CHECK(corio_local_get(&rid) == C); /* the child's value at our spawn */
    CHECK(corio_local_get(&logger) == A);
    return 0;
}

static int child(void *arg)
{
    corio_event *go = arg;
    corio_task *g;
    CHECK(corio_local_get(&rid) == A); /* the parent's value at spawn */
    CHECK(corio_local_get(&logger) == A);
    CHECK_EQ(corio_event_wait(go), 0);
    CHECK(corio_local_get(&rid) == A); /* the parent's later set: unseen */
    CHECK_EQ(corio_local_set(&rid, C), 0);
    CHECK_EQ(corio_task_spawn(&g, grandchild, NULL), 0);
    CHECK_EQ(corio_local_set(&rid, D), 0); /* after the spawn: unseen */
    CHECK_EQ(corio_task_join(g, NULL), 0);
    CHECK(corio_local_get(&rid) == D);
    return 0;
}

static int inherit(void *arg)
{
    (void)arg;
    corio_event go;
    corio_task *t, *plain;
    CHECK(strcmp(corio_local_get(&rid), "none") == 0); /* initial */
    CHECK(corio_local_get(&logger) == NULL);
    CHECK_EQ(corio_local_set(&rid, A), 0);
    CHECK_EQ(corio_local_set(&logger, A), 0);
    CHECK_EQ(corio_event_init(&go), 0);
    CHECK_EQ(corio_task_spawn(&t, child, &go), 0);
    CHECK_EQ(corio_yield(), 0);
    CHECK_EQ(corio_local_set(&rid, B), 0); /* the child keeps A */
    corio_event_set(&go);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK(corio_local_get(&rid) == B); /* the child's sets: unseen */
    /* NULL is a value, not "unset". */
    CHECK_EQ(corio_local_set(&rid, NULL), 0);
    CHECK(corio_local_get(&rid) == NULL);
    (void)plain;
    corio_event_destroy(&go);
    return 0;
}

TEST(local, inherited_as_a_copy_at_spawn)
{
    CHECK_EQ(tst_run(inherit, NULL), 0);
}

#define NKEYS 40
static corio_local keys[NKEYS];
static int vals[NKEYS];

static int check_keys(void *arg)
{
    int upto = (int)(intptr_t)arg;
    for (int i = 0; i < NKEYS; i++)
        if (corio_local_get(&keys[i]) != (i < upto ? &vals[i] : NULL))
            return -EINVAL;
    return 0;
}

static int many(void *arg)
{
    (void)arg;
    corio_task *t[NKEYS];
    for (int i = 0; i < NKEYS; i++) {
        CHECK_EQ(corio_local_set(&keys[i], &vals[i]), 0); /* grows in place */
        CHECK_EQ(corio_task_spawn(&t[i], check_keys, (void *)(intptr_t)(i + 1)),
                 0);
    }
    CHECK_EQ(corio_gather(t, NKEYS, NULL), 0);
    CHECK_EQ(check_keys((void *)(intptr_t)NKEYS), 0);
    return 0;
}

TEST(local, many_keys_and_many_snapshots)
{
    CHECK_EQ(tst_run(many, NULL), 0);
}

static corio_local in_group = CORIO_LOCAL_INIT("g", NULL);

static int group_child(void *arg)
{
    return corio_local_get(&in_group) == arg ? 0 : -EINVAL;
}

static int groups(void *arg)
{
    (void)arg;
    corio_group *g;
    CHECK_EQ(corio_local_set(&in_group, A), 0);
    CHECK_EQ(corio_group_new(&g), 0);
    CHECK_EQ(corio_group_spawn(g, group_child, A), 0);
    CHECK_EQ(corio_local_set(&in_group, B), 0);
    CHECK_EQ(corio_group_spawn(g, group_child, B), 0);
    CHECK_EQ(corio_group_wait(g), 0);
    /* Detached children release their copy when they end (LeakSanitizer
     * would see a leak otherwise). */
    CHECK_EQ(corio_task_spawn(NULL, group_child, B), 0);
    return 0;
}

TEST(local, group_children_and_detached_tasks)
{
    CHECK_EQ(tst_run(groups, NULL), 0);
}

TEST(local, outside_a_task)
{
    CHECK(strcmp(corio_local_get(&rid), "none") == 0);
    CHECK(corio_local_get(NULL) == NULL);
    CHECK_EQ(corio_local_set(&rid, A), -EPERM);
}

static int null_key(void *arg)
{
    (void)arg;
    CHECK_EQ(corio_local_set(NULL, A), -EINVAL);
    return 0;
}

TEST(local, null_key)
{
    CHECK_EQ(tst_run(null_key, NULL), 0);
}

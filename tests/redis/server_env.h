/* server_env.h — where the test redis-server is: the files written by
 * scripts/redis-test-server.sh in $CORIO_REDIS_TEST_DIR (the ctest fixture
 * sets it), loaded into the environment once. */
#ifndef SERVER_ENV_H
#define SERVER_ENV_H

#include "../tst.h"

#include <stdlib.h>
#include <string.h>

static const char *redis_env(const char *name)
{
    static int loaded;
    if (!loaded) {
        loaded = 1;
        const char *dir = getenv("CORIO_REDIS_TEST_DIR");
        char path[512], line[1024];
        snprintf(path, sizeof path, "%s/env", dir ? dir : ".");
        FILE *f = fopen(path, "r");
        if (f) {
            while (fgets(line, sizeof line, f)) {
                line[strcspn(line, "\n")] = 0;
                char *eq = strchr(line, '=');
                if (eq) {
                    *eq = 0;
                    setenv(line, eq + 1, 0);
                }
            }
            fclose(f);
        }
    }
    const char *v = getenv(name);
    if (!v) {
        fprintf(stderr,
                "no test redis-server (%s unset): run "
                "scripts/redis-test-server.sh start DIR and set "
                "CORIO_REDIS_TEST_DIR=DIR\n",
                name);
        exit(1);
    }
    return v;
}

/* Run fn on a loop with the real clock (the server is real). */
static int run_real(corio_fn fn, void *arg)
{
    corio_options o = {.virtual_clock = 0};
    return tst_run_ex(&o, fn, arg);
}

#endif

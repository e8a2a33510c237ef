/* testing.c — the seeds' test of fetch_data, with corio's test kit.
 *
 * The asyncio original (seed "Testing Async Code"):
 *
 *     @pytest.mark.asyncio
 *     async def test_fetch_data():
 *         result = await fetch_data("https://api.example.com/data")
 *         assert result is not None
 *         assert "key" in result
 *
 * Here the same test runs offline and deterministically: the app behind
 * api.example.com is a router in this process, reached through the
 * in-process test session (httpx.AsyncClient(app=app)) or, for code that
 * dials by name, through the fake resolver and a real local server.  Then
 * what pytest cannot do in one line: a timeout tested on the virtual clock
 * (no real waiting), every call fetch_data makes failed in turn, and
 * fetch_data cancelled at each of its suspension points.
 *
 * Build: cc testing.c $(pkg-config --cflags --libs corio-testing
 * corio-http); run it with --tap, -f 'fetch.*', --list. */
#include <corio.h>
#include <corio/http_json.h>
#include <corio/testing.h>
#include <string.h>

/* ---- the app --------------------------------------------------------------
 */

/* GET /data: a JSON object, after a (simulated) one-second lookup. */
static int get_data(corio_http_req *req, void *arg)
{
    (void)arg;
    int rc = corio_sleep(1 * CORIO_SECOND);
    if (rc < 0)
        return rc;
    static const char body[] = "{\"key\": \"value\", \"items\": [1, 2, 3]}";
    return corio_http_reply(req, 200, "application/json", body,
                            sizeof body - 1);
}

/* GET /slow: answers after a minute. */
static int get_slow(corio_http_req *req, void *arg)
{
    (void)arg;
    int rc = corio_sleep(60 * CORIO_SECOND);
    return rc < 0 ? rc : corio_http_reply(req, 200, "text/plain", "late", 4);
}

static corio_http_router *app_new(void)
{
    corio_http_router *app;
    if (corio_http_router_new(&app) < 0)
        return NULL;
    if (corio_http_router_add(app, "GET", "/data", get_data, NULL) < 0 ||
        corio_http_router_add(app, "GET", "/slow", get_slow, NULL) < 0) {
        corio_http_router_free(app);
        return NULL;
    }
    return app;
}

/* ---- the code under test ------------------------------------------------ */

/* The parsed JSON body of a GET into *result (json_decref it); 0, or the
 * error (CORIO_EHTTP for a status other than 200). */
static int fetch_data(corio_http_session *client, const char *url,
                      json_t **result)
{
    corio_http_response *r;
    *result = NULL;
    int rc = corio_http_session_get(client, url, &r);
    if (rc < 0)
        return rc;
    if (corio_http_response_status(r) != 200)
        rc = CORIO_EHTTP;
    else
        rc = corio_http_response_json(r, result);
    corio_http_response_free(r);
    return rc;
}

/* ---- test_fetch_data -----------------------------------------------------
 * The body of a test is a task: corio_test_run runs it on a fresh loop on
 * the virtual clock, so the app's one-second lookup takes no real time. */

static int test_fetch_data(void *arg)
{
    (void)arg;
    corio_http_router *app = app_new();
    corio_http_session *client;
    json_t *result;
    CORIO_CHECK(app != NULL);
    CORIO_CHECK_ERR(corio_http_test_session_new(&client, app, NULL, NULL), 0);
    CORIO_CHECK_ERR(fetch_data(client, "https://api.example.com/data", &result),
                    0);
    CORIO_CHECK(result != NULL);
    CORIO_CHECK(json_object_get(result, "key") != NULL);
    CORIO_CHECK_STR(json_string_value(json_object_get(result, "key")), "value");
    CORIO_CHECK_EQ(corio_test_now(), CORIO_SECOND); /* virtual time */
    json_decref(result);
    corio_http_session_free(client);
    corio_http_router_free(app);
    return 0;
}

CORIO_TEST(fetch, test_fetch_data)
{
    CORIO_CHECK_EQ(corio_test_run(test_fetch_data, NULL), 0);
}

/* ---- the same through the network, offline --------------------------------
 * Code that makes its own session dials api.example.com by name: the fake
 * resolver sends it to a server of this process on a port the kernel
 * picked.  (Plain HTTP: serving https would need a certificate.) */

static int serve(void *arg)
{
    void **a = arg;
    return corio_http_serve(a[0], a[1], NULL);
}

static int offline_by_name(void *arg)
{
    (void)arg;
    corio_http_router *app = app_new();
    corio_listener *l;
    corio_addr addr;
    corio_task *server;
    char spec[64];
    CORIO_CHECK(app != NULL);
    CORIO_CHECK_ERR(corio_tcp_listen(&l, "127.0.0.1", 0, NULL), 0);
    CORIO_CHECK_ERR(corio_listener_addr(l, &addr), 0);
    snprintf(spec, sizeof spec, "127.0.0.1:%d", corio_addr_port(&addr));
    CORIO_CHECK_ERR(corio_test_dns_add("api.example.com", spec), 0);
    void *server_args[2] = {l, app};
    CORIO_CHECK_ERR(corio_task_spawn(&server, serve, server_args), 0);

    corio_http_session *client;
    json_t *result;
    CORIO_CHECK_ERR(corio_http_session_new(&client, NULL), 0);
    CORIO_CHECK_ERR(fetch_data(client, "http://api.example.com/data", &result),
                    0);
    CORIO_CHECK_STR(json_string_value(json_object_get(result, "key")), "value");
    json_decref(result);
    corio_http_session_free(client);
    corio_task_cancel(server); /* how a server is stopped */
    CORIO_CHECK_ERR(corio_task_join(server, NULL), 0);
    corio_listener_close(l);
    corio_http_router_free(app);
    return 0;
}

CORIO_TEST(fetch, offline_by_name)
{
    CORIO_CHECK_EQ(corio_test_run(offline_by_name, NULL), 0);
}

/* ---- a timeout on the virtual clock ----------------------------------------
 * async-timeout's test, without waiting: the deadline passes the moment
 * every task is blocked, and at exactly 5 s of virtual time. */

static int times_out(void *arg)
{
    (void)arg;
    corio_http_router *app = app_new();
    corio_http_session *client;
    json_t *result = NULL;
    int rc = 0, trc;
    CORIO_CHECK(app != NULL);
    CORIO_CHECK_ERR(corio_http_test_session_new(&client, app, NULL, NULL), 0);
    CORIO_WITH_TIMEOUT(5 * CORIO_SECOND, trc)
    {
        rc = fetch_data(client, "https://api.example.com/slow", &result);
    }
    CORIO_CHECK_ERR(trc, 0);
    CORIO_CHECK_ERR(rc, -ETIMEDOUT);
    CORIO_CHECK(result == NULL);
    CORIO_CHECK_EQ(corio_test_now(), 5 * CORIO_SECOND);
    corio_http_session_free(client);
    corio_http_router_free(app);
    return 0;
}

CORIO_TEST(fetch, times_out_on_the_virtual_clock)
{
    CORIO_CHECK_EQ(corio_test_run(times_out, NULL), 0);
}

/* ---- sweeps ----------------------------------------------------------------
 * A scenario judges fetch_data's outcome: 0 for the right answer, the
 * error it reported, or 1 for a wrong answer passed as success. */

static int scenario(void *arg)
{
    corio_http_router *app = arg;
    corio_http_session *client = NULL;
    json_t *result = NULL;
    int rc = corio_http_test_session_new(&client, app, NULL, NULL);
    if (rc == 0)
        rc = fetch_data(client, "https://api.example.com/data", &result);
    if (rc == 0)
        rc = json_object_get(result, "key") != NULL ? 0 : 1;
    json_decref(result);
    corio_http_session_free(client);
    return rc;
}

/* Every system call and allocation fetch_data (and corio under it) makes,
 * failed in turn: each must come back as an error, never as a wrong
 * answer, and leave nothing behind.  (The app is made outside the runs:
 * its serving tasks may outlive a run's main task, never the router.) */
CORIO_TEST_T(fetch, every_failed_call_is_an_error, 120)
{
    corio_http_router *app = app_new();
    CORIO_CHECK(app != NULL);
    CORIO_CHECK_EQ(corio_test_sweep(scenario, app), 0);
    corio_http_router_free(app);
}

/* fetch_data cancelled at each of its suspension points in turn. */
CORIO_TEST_T(fetch, cancel_safe, 120)
{
    corio_http_router *app = app_new();
    CORIO_CHECK(app != NULL);
    CORIO_CHECK_EQ(corio_test_cancel_sweep(scenario, app), 0);
    corio_http_router_free(app);
}

int main(int argc, char **argv)
{
    return corio_test_main(argc, argv);
}

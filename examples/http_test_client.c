/* http_test_client.c — testing an HTTP app in-process, without sockets.
 *
 * The asyncio original (seed "Testing Async Code", with the app tested
 * through httpx.AsyncClient(app=app) as pytest-asyncio users do):
 *
 *     @pytest.mark.asyncio
 *     async def test_fetch_data():
 *         result = await fetch_data("https://api.example.com/data")
 *         assert result is not None
 *         assert "key" in result
 *
 * In corio the app is a router of handlers, and
 * corio_http_test_session_new gives a client session whose connections are
 * in-memory stream pairs served by that router: every request goes through
 * the real client and the real server code, but no port is opened and no
 * name is resolved — "https://api.example.com" reaches the app whatever
 * the host says.  The test is a task; on the virtual clock
 * (CORIO_VIRTUAL_CLOCK=1) even the app's one-second delay costs nothing.
 *
 * JSON comes back as a jansson value (corio_http_response_json). */
#include <corio.h>
#include <corio/http_json.h>
#include <stdio.h>
#include <stdlib.h>
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

/* ---- the code under test ------------------------------------------------ */

/* fetch_data(url): the parsed JSON body of a GET, or NULL on any failure
 * (the caller json_decref's it). */
static json_t *fetch_data(corio_http_session *client, const char *url)
{
    corio_http_response *r;
    json_t *result = NULL;
    if (corio_http_session_get(client, url, &r) < 0)
        return NULL;
    if (corio_http_response_status(r) != 200 ||
        corio_http_response_json(r, &result) < 0)
        result = NULL;
    corio_http_response_free(r);
    return result;
}

/* ---- the test --------------------------------------------------------------
 */

static int failures;

static void check(int ok, const char *what)
{
    printf("  %s %s\n", ok ? "ok  " : "FAIL", what);
    failures += !ok;
}

static int test_fetch_data(void *arg)
{
    corio_http_router *app = arg;
    corio_http_session *client;
    int rc = corio_http_test_session_new(&client, app, NULL, NULL);
    if (rc < 0)
        return rc;

    printf("test_fetch_data\n");
    int64_t t0 = corio_now();
    json_t *result = fetch_data(client, "https://api.example.com/data");
    check(result != NULL, "result is not None");
    check(result && json_object_get(result, "key") != NULL,
          "\"key\" in result");
    check(result && !strcmp(json_string_value(json_object_get(result, "key")),
                            "value"),
          "result[\"key\"] == \"value\"");
    check(result && json_array_size(json_object_get(result, "items")) == 3,
          "len(result[\"items\"]) == 3");
    json_decref(result);
    printf("  took %.1f s of virtual time\n", (double)(corio_now() - t0) / 1e9);

    printf("test_unknown_path\n");
    corio_http_response *r;
    rc = corio_http_session_get(client, "https://api.example.com/nope", &r);
    check(rc == 0 && corio_http_response_status(r) == 404, "GET /nope is 404");
    if (rc == 0)
        corio_http_response_free(r);
    check(fetch_data(client, "https://api.example.com/nope") == NULL,
          "fetch_data of a missing path is None");

    corio_http_session_free(client);
    printf("%s\n", failures ? "FAILED" : "2 passed");
    return failures ? 1 : 0;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    corio_http_router *app;
    int result = 0;
    int rc = corio_http_router_new(&app);
    if (rc == 0)
        rc = corio_http_router_add(app, "GET", "/data", get_data, NULL);
    if (rc == 0)
        rc = corio_run(test_fetch_data, app, &result);
    if (rc == 0)
        rc = result; /* main's own verdict */
    corio_http_router_free(app);
    if (rc < 0)
        fprintf(stderr, "http_test_client: %s\n", corio_strerror(rc));
    return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

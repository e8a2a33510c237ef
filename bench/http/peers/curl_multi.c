/* libcurl multi client for bench/http: N GET requests of URL, C at a time,
 * easy handles reused so connections are kept alive in the multi handle's
 * pool; prints the elapsed seconds.
 *
 *   curl_multi URL N C */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: curl_multi URL N C\n");
        return 2;
    }
    const char *url = argv[1];
    long n = atol(argv[2]), c = atol(argv[3]), started = 0, failed = 0;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *m = curl_multi_init();
    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS, c);
    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, c);
    double t0 = now();
    for (long i = 0; i < c && started < n; i++, started++) {
        CURL *e = curl_easy_init();
        curl_easy_setopt(e, CURLOPT_URL, url);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
        curl_multi_add_handle(m, e);
    }
    int running = 1;
    while (running) {
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *e = msg->easy_handle;
            long status = 0;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
            if (msg->data.result != CURLE_OK || status != 200)
                failed++;
            curl_multi_remove_handle(m, e);
            if (started < n) {
                started++;
                curl_multi_add_handle(m, e);
                running = 1;
            } else {
                curl_easy_cleanup(e);
            }
        }
        if (running)
            curl_multi_poll(m, NULL, 0, 1000, NULL);
    }
    double dt = now() - t0;
    curl_multi_cleanup(m);
    curl_global_cleanup();
    if (failed) {
        fprintf(stderr, "%ld requests failed\n", failed);
        return 1;
    }
    printf("%.6f\n", dt);
    return 0;
}

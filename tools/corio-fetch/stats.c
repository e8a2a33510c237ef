/* stats.c — corio-fetch's results: counting each finished URL or request
 * (fetch_stats_add), exact latency percentiles (fetch_percentile: sort,
 * then nearest rank — no sketch, 8 bytes a request), the interned failure
 * reasons (fetch_stats_reason), and what is printed at the end: the
 * summary (fetch_stats_print, with load mode's histogram) or load mode's
 * JSON summary (fetch_stats_json).
 *
 * The latency figures are of responses only (any status: a 404 took as
 * long as it took).  An attempt that ended without a response (refused,
 * timed out, a TLS refusal) says nothing about the server's speed — a
 * refused connection takes microseconds — so errors are counted by kind
 * and their times are kept apart. */
#include "fetch.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int fetch_result_failed(const struct fetch_result *r)
{
    return r->err < 0 || r->status < 200 || r->status > 399;
}

int fetch_stats_init(struct fetch_stats *s, size_t total, int64_t start_ns)
{
    memset(s, 0, sizeof *s);
    s->total = total;
    s->start_ns = start_ns;
    /* Room for every URL up front in list mode (no reallocation while
     * fetching); load mode grows as it goes. */
    s->latency_cap = total && total <= 10000000 ? total : 4096;
    s->latency = malloc(s->latency_cap * sizeof *s->latency);
    return s->latency ? 0 : -ENOMEM;
}

void fetch_stats_destroy(struct fetch_stats *s)
{
    free(s->latency);
    free(s->err_latency);
    s->latency = s->err_latency = NULL;
    while (s->reasons) {
        struct fetch_reason *r = s->reasons;
        s->reasons = r->next;
        free(r);
    }
}

const char *fetch_stats_reason(struct fetch_stats *s, const char *text)
{
    for (struct fetch_reason *r = s->reasons; r; r = r->next)
        if (strcmp(r->text, text) == 0)
            return r->text;
    size_t len = strlen(text);
    struct fetch_reason *r = malloc(sizeof *r + len + 1);
    if (!r)
        return NULL;
    r->count = 0;
    memcpy(r->text, text, len + 1);
    /* Appended, so the summary lists reasons in the order first seen. */
    struct fetch_reason **tail = &s->reasons;
    while (*tail)
        tail = &(*tail)->next;
    r->next = NULL;
    *tail = r;
    return r->text;
}

static int push(int64_t **v, size_t *n, size_t *cap, int64_t x)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 256;
        int64_t *nv = realloc(*v, c * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = x;
    return 0;
}

int fetch_stats_add(struct fetch_stats *s, const struct fetch_result *r)
{
    s->done++;
    s->sorted = 0;
    s->attempts += (size_t)r->attempts;
    s->bytes += r->bytes;
    if (fetch_result_failed(r))
        s->failed++;
    if (r->detail)
        for (struct fetch_reason *x = s->reasons; x; x = x->next)
            if (x->text == r->detail)
                x->count++;
    if (r->err < 0) {
        s->errors++;
        s->kind[fetch_error_kind(r->err)]++;
        return push(&s->err_latency, &s->nerr_latency, &s->err_latency_cap,
                    r->ns);
    }
    s->kind[FETCH_OK]++;
    if (r->status >= 100 && r->status <= 999) {
        s->status_code[r->status]++;
        if (r->status < 600)
            s->status_class[r->status / 100]++;
    }
    return push(&s->latency, &s->nlatency, &s->latency_cap, r->ns);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void sort_all(struct fetch_stats *s)
{
    if (s->sorted)
        return;
    if (s->nlatency) /* an empty array may be NULL: not for qsort */
        qsort(s->latency, s->nlatency, sizeof *s->latency, cmp_i64);
    if (s->nerr_latency)
        qsort(s->err_latency, s->nerr_latency, sizeof *s->err_latency, cmp_i64);
    s->sorted = 1;
}

int64_t fetch_percentile(const int64_t *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    /* Nearest rank: the smallest value with at least p% of the values at or
     * below it. */
    double rank = ceil(p / 100.0 * (double)n - 1e-9); /* 99.9% of 1000 is
                                                        999, not 999.0..01 */
    size_t k = rank < 1 ? 1 : (size_t)rank;
    if (k > n)
        k = n;
    return sorted[k - 1];
}

size_t fetch_histogram(const int64_t *lat, size_t n, size_t nb, int64_t *upto,
                       size_t *count)
{
    if (n == 0 || nb == 0)
        return 0;
    if (nb > 64)
        nb = 64;
    int64_t lo = lat[0], hi = lat[n - 1];
    if (hi == lo)
        nb = 1;
    /* Latencies spread over orders of magnitude (a fast body and a slow
     * tail) get logarithmic buckets, else the body lands in the first
     * bucket; a narrow spread gets even ones. */
    int log_scale = lo > 0 && hi > 4 * lo;
    for (size_t b = 0; b < nb; b++) {
        double f = (double)(b + 1) / (double)nb;
        if (b + 1 == nb)
            upto[b] = hi; /* the last is exactly the maximum */
        else if (log_scale)
            upto[b] = (int64_t)((double)lo * pow((double)hi / (double)lo, f));
        else
            upto[b] = lo + (int64_t)((double)(hi - lo) * f);
        count[b] = 0;
    }
    size_t b = 0;
    for (size_t i = 0; i < n; i++) {
        while (lat[i] > upto[b])
            b++;
        count[b]++;
    }
    return nb;
}

/* Milliseconds with a precision that suits their size. */
static void fmt_ms(char *buf, size_t cap, int64_t ns)
{
    double ms = (double)ns / CORIO_MS;
    snprintf(buf, cap, "%.*f ms",
             ms < 1     ? 3
             : ms < 10  ? 2
             : ms < 100 ? 1
                        : 0,
             ms);
}

static void print_ms(FILE *out, const char *label, int64_t ns)
{
    char b[32];
    fmt_ms(b, sizeof b, ns);
    fprintf(out, "  %s %s", label, b);
}

static void print_bytes(FILE *out, uint64_t b)
{
    if (b < 1024)
        fprintf(out, "%llu B", (unsigned long long)b);
    else if (b < 1024 * 1024)
        fprintf(out, "%.1f KiB", (double)b / 1024);
    else if (b < 1024ull * 1024 * 1024)
        fprintf(out, "%.1f MiB", (double)b / (1024 * 1024));
    else
        fprintf(out, "%.2f GiB", (double)b / (1024.0 * 1024 * 1024));
}

#define HIST_BUCKETS 10
#define HIST_BAR 40

static void print_histogram(struct fetch_stats *s, FILE *out)
{
    int64_t upto[HIST_BUCKETS];
    size_t count[HIST_BUCKETS], most = 0;
    size_t nb =
        fetch_histogram(s->latency, s->nlatency, HIST_BUCKETS, upto, count);
    for (size_t b = 0; b < nb; b++)
        if (count[b] > most)
            most = count[b];
    fprintf(out, "  histogram (responses, ms at most):\n");
    for (size_t b = 0; b < nb; b++) {
        char ms[32], bar[HIST_BAR + 1];
        int len = most ? (int)((count[b] * HIST_BAR + most - 1) / most) : 0;
        memset(bar, '#', (size_t)len);
        bar[len] = 0;
        fmt_ms(ms, sizeof ms, upto[b]);
        fprintf(out, "    %11s [%8zu] |%s\n", ms, count[b], bar);
    }
}

void fetch_stats_print(struct fetch_stats *s, FILE *out, int64_t now_ns)
{
    double wall = (double)(now_ns - s->start_ns) / CORIO_SECOND;
    const char *noun = s->load ? "request" : "URL";
    sort_all(s);

    if (s->total)
        fprintf(out, "summary: %zu of %zu %s%s in %.2f s, %.1f %ss/s", s->done,
                s->total, noun, fetch_plural(s->total), wall,
                wall > 0 ? (double)s->done / wall : 0.0, noun);
    else
        fprintf(out, "summary: %zu %s%s in %.2f s, %.1f %ss/s", s->done, noun,
                fetch_plural(s->done), wall,
                wall > 0 ? (double)s->done / wall : 0.0, noun);
    if (!s->load || s->attempts != s->done)
        fprintf(out, ", %zu attempt%s", s->attempts, fetch_plural(s->attempts));
    fputc('\n', out);
    if (s->cancelled)
        fprintf(out, "  stopped %zu in flight (not counted below)\n",
                s->cancelled);

    fprintf(out, "  status  ");
    for (int c = 1; c <= 5; c++)
        if (c >= 2 || s->status_class[c])
            fprintf(out, "%s%dxx %zu",
                    c > 2 || (c == 2 && s->status_class[1]) ? "  " : "", c,
                    s->status_class[c]);
    fputc('\n', out);
    int any = 0;
    for (int code = 100; code <= 999; code++) {
        if (!s->status_code[code])
            continue;
        fprintf(out, "%s%d x%zu", any ? ", " : "  codes   ", code,
                s->status_code[code]);
        any = 1;
    }
    if (any)
        fputc('\n', out);

    fprintf(out, "  errors  %zu", s->errors);
    any = 0;
    for (int k = FETCH_OK + 1; k < FETCH_NKINDS; k++) {
        if (!s->kind[k])
            continue;
        fprintf(out, "%s%s %zu", any ? ", " : " (", fetch_kind_name(k),
                s->kind[k]);
        any = 1;
    }
    if (any)
        fputc(')', out);
    if (s->nerr_latency) {
        /* Their own figures: how long a failure took to show. */
        char p50[32], max[32];
        fmt_ms(p50, sizeof p50,
               fetch_percentile(s->err_latency, s->nerr_latency, 50));
        fmt_ms(max, sizeof max, s->err_latency[s->nerr_latency - 1]);
        fprintf(out, ", after p50 %s, max %s", p50, max);
    }
    fputc('\n', out);
    for (struct fetch_reason *r = s->reasons; r; r = r->next)
        if (r->count)
            fprintf(out, "  reason  %s (%zu)\n", r->text, r->count);

    fprintf(out, "  bytes   ");
    print_bytes(out, s->bytes);
    if (s->load && wall > 0) {
        fputs(", ", out);
        print_bytes(out, (uint64_t)((double)s->bytes / wall));
        fputs("/s", out);
    }
    fputc('\n', out);

    size_t n = s->nlatency;
    if (n) {
        fprintf(out, "  latency");
        print_ms(out, "p50", fetch_percentile(s->latency, n, 50));
        print_ms(out, "p90", fetch_percentile(s->latency, n, 90));
        print_ms(out, "p99", fetch_percentile(s->latency, n, 99));
        if (s->load)
            print_ms(out, "p99.9", fetch_percentile(s->latency, n, 99.9));
        print_ms(out, "max", s->latency[n - 1]);
        fprintf(out, " (%zu response%s)\n", n, fetch_plural(n));
        if (s->load)
            print_histogram(s, out);
    } else {
        fprintf(out, "  latency none: no response\n");
    }
    if (!s->load)
        fprintf(out,
                "  failed  %zu of %zu (an error, or a status that is not "
                "2xx/3xx)\n",
                s->failed, s->done);
}

static double ms_of(int64_t ns)
{
    return (double)ns / CORIO_MS;
}

int fetch_stats_json(struct fetch_stats *s, FILE *out, int64_t now_ns,
                     const char *url)
{
    double wall = (double)(now_ns - s->start_ns) / CORIO_SECOND;
    size_t n = s->nlatency;
    sort_all(s);
    json_t *o = json_object(), *status = json_object(), *kinds = json_object(),
           *lat = json_object(), *hist = json_array(), *reasons = json_object();
    int bad = !o || !status || !kinds || !lat || !hist || !reasons;
    if (bad) {
        json_decref(o);
        json_decref(status);
        json_decref(kinds);
        json_decref(lat);
        json_decref(hist);
        json_decref(reasons);
        return -ENOMEM;
    }
    bad |= json_object_set_new(o, "url", json_string(url ? url : ""));
    bad |=
        json_object_set_new(o, "requests", json_integer((json_int_t)s->done));
    bad |= json_object_set_new(o, "responses", json_integer((json_int_t)n));
    bad |=
        json_object_set_new(o, "errors", json_integer((json_int_t)s->errors));
    bad |= json_object_set_new(o, "cancelled",
                               json_integer((json_int_t)s->cancelled));
    bad |= json_object_set_new(o, "seconds", json_real(wall));
    bad |=
        json_object_set_new(o, "requests_per_second",
                            json_real(wall > 0 ? (double)s->done / wall : 0.0));
    bad |= json_object_set_new(o, "bytes", json_integer((json_int_t)s->bytes));
    for (int code = 100; code <= 999; code++) {
        if (!s->status_code[code])
            continue;
        char k[8];
        snprintf(k, sizeof k, "%d", code);
        bad |= json_object_set_new(
            status, k, json_integer((json_int_t)s->status_code[code]));
    }
    bad |= json_object_set_new(o, "status", status);
    for (int k = FETCH_OK + 1; k < FETCH_NKINDS; k++)
        if (s->kind[k])
            bad |= json_object_set_new(kinds, fetch_kind_name(k),
                                       json_integer((json_int_t)s->kind[k]));
    bad |= json_object_set_new(o, "error_kinds", kinds);
    for (struct fetch_reason *r = s->reasons; r; r = r->next)
        if (r->count)
            bad |= json_object_set_new(reasons, r->text,
                                       json_integer((json_int_t)r->count));
    bad |= json_object_set_new(o, "reasons", reasons);
    if (n) {
        double sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += (double)s->latency[i];
        bad |= json_object_set_new(lat, "min", json_real(ms_of(s->latency[0])));
        bad |= json_object_set_new(lat, "mean",
                                   json_real(sum / (double)n / CORIO_MS));
        static const struct {
            const char *name;
            double p;
        } ps[] = {{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}};
        for (size_t i = 0; i < 4; i++)
            bad |= json_object_set_new(
                lat, ps[i].name,
                json_real(ms_of(fetch_percentile(s->latency, n, ps[i].p))));
        bad |= json_object_set_new(lat, "max",
                                   json_real(ms_of(s->latency[n - 1])));
        int64_t upto[HIST_BUCKETS];
        size_t count[HIST_BUCKETS];
        size_t nb = fetch_histogram(s->latency, n, HIST_BUCKETS, upto, count);
        for (size_t b = 0; b < nb; b++)
            bad |= json_array_append_new(
                hist, json_pack("{s:f, s:I}", "le_ms", ms_of(upto[b]), "count",
                                (json_int_t)count[b]));
    }
    bad |= json_object_set_new(o, "latency_ms", lat);
    bad |= json_object_set_new(o, "histogram", hist);
    char *line = bad ? NULL
                     : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
                                         JSON_REAL_PRECISION(6));
    json_decref(o);
    if (!line)
        return -ENOMEM;
    int rc = fprintf(out, "%s\n", line) < 0 ? -EIO : 0;
    free(line);
    return rc;
}

/* stats.c — corio-fetch's results: counting each finished URL
 * (fetch_stats_add), exact latency percentiles over every URL
 * (fetch_percentile: sort, then nearest rank — no sketch, 8 bytes a URL),
 * and the summary printed at the end (fetch_stats_print). */
#include "fetch.h"

#include <errno.h>
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
    s->latency = malloc((total ? total : 1) * sizeof *s->latency);
    return s->latency ? 0 : -ENOMEM;
}

void fetch_stats_destroy(struct fetch_stats *s)
{
    free(s->latency);
    s->latency = NULL;
}

void fetch_stats_add(struct fetch_stats *s, const struct fetch_result *r)
{
    if (s->done < s->total)
        s->latency[s->done] = r->ns;
    s->done++;
    s->attempts += (size_t)r->attempts;
    s->bytes += r->bytes;
    if (fetch_result_failed(r))
        s->failed++;
    if (r->err < 0) {
        s->errors++;
        s->kind[fetch_error_kind(r->err)]++;
        return;
    }
    s->kind[FETCH_OK]++;
    if (r->status >= 100 && r->status <= 999) {
        s->status_code[r->status]++;
        if (r->status < 600)
            s->status_class[r->status / 100]++;
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t fetch_percentile(const int64_t *sorted, size_t n, double p)
{
    if (n == 0)
        return 0;
    /* Nearest rank: the smallest value with at least p% of the values at or
     * below it. */
    double rank = ceil(p / 100.0 * (double)n);
    size_t k = rank < 1 ? 1 : (size_t)rank;
    if (k > n)
        k = n;
    return sorted[k - 1];
}

/* Milliseconds with a precision that suits their size. */
static void print_ms(FILE *out, const char *label, int64_t ns)
{
    double ms = (double)ns / CORIO_MS;
    fprintf(out, "  %s %.*f ms", label, ms < 10 ? 2 : ms < 100 ? 1 : 0, ms);
}

static void print_bytes(FILE *out, uint64_t b)
{
    if (b < 1024)
        fprintf(out, "%llu B", (unsigned long long)b);
    else if (b < 1024 * 1024)
        fprintf(out, "%.1f KiB", (double)b / 1024);
    else
        fprintf(out, "%.1f MiB", (double)b / (1024 * 1024));
}

void fetch_stats_print(struct fetch_stats *s, FILE *out, int64_t now_ns)
{
    size_t n = s->done < s->total ? s->done : s->total;
    double wall = (double)(now_ns - s->start_ns) / CORIO_SECOND;

    fprintf(out,
            "summary: %zu of %zu URLs in %.2f s, %.1f requests/s, "
            "%zu attempts\n",
            s->done, s->total, wall, wall > 0 ? (double)s->done / wall : 0.0,
            s->attempts);

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
    fputs(any ? ")\n" : "\n", out);

    fprintf(out, "  bytes   ");
    print_bytes(out, s->bytes);
    fputc('\n', out);

    if (n) {
        qsort(s->latency, n, sizeof *s->latency, cmp_i64);
        fprintf(out, "  latency");
        print_ms(out, "p50", fetch_percentile(s->latency, n, 50));
        print_ms(out, "p90", fetch_percentile(s->latency, n, 90));
        print_ms(out, "p99", fetch_percentile(s->latency, n, 99));
        print_ms(out, "max", s->latency[n - 1]);
        fputc('\n', out);
    }
    fprintf(out,
            "  failed  %zu of %zu (an error, or a status that is not "
            "2xx/3xx)\n",
            s->failed, s->done);
}

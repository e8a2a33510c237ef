/* fuzz/replay.c — runs the fuzz harnesses over their corpora without
 * libFuzzer, so the normal test suite (ctest entry fuzz_corpus, built with
 * the main compiler) replays every seed and every crasher ever found.
 *
 * Usage: fuzz_replay NAME DIR [NAME DIR ...] — NAME is a harness (parse,
 * differential, utf8, ws_frame, decode, resolve), DIR its corpus; every regular
 * file in DIR is one input. The harnesses abort() on a violation; this prints
 * the file first.  The last line is "N passed, 0 failed" like the test
 * runner's. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int fuzz_parse_one(const unsigned char *data, size_t size);
int fuzz_differential_one(const unsigned char *data, size_t size);
int fuzz_utf8_one(const unsigned char *data, size_t size);
int fuzz_ws_frame_one(const unsigned char *data, size_t size);
int fuzz_decode_one(const unsigned char *data, size_t size);
int fuzz_resolve_one(const unsigned char *data, size_t size);

static const struct {
    const char *name;
    int (*fn)(const unsigned char *, size_t);
} harnesses[] = {
    {"parse", fuzz_parse_one},   {"differential", fuzz_differential_one},
    {"utf8", fuzz_utf8_one},     {"ws_frame", fuzz_ws_frame_one},
    {"decode", fuzz_decode_one}, {"resolve", fuzz_resolve_one},
};

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static size_t replay(int (*fn)(const unsigned char *, size_t), const char *dir)
{
    DIR *dp = opendir(dir);
    if (!dp) {
        perror(dir);
        exit(1);
    }
    char *names[4096];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dp)) && n < sizeof names / sizeof *names)
        if (de->d_name[0] != '.')
            names[n++] = strdup(de->d_name);
    closedir(dp);
    qsort(names, n, sizeof *names, cmp);
    size_t done = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        free(names[i]);
        struct stat st;
        FILE *f = fopen(path, "rb");
        if (!f || fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
            if (f)
                fclose(f);
            continue;
        }
        unsigned char *buf = malloc((size_t)st.st_size + 1);
        size_t len = fread(buf, 1, (size_t)st.st_size, f);
        fclose(f);
        fprintf(stderr, "%s\n", path); /* named before a crash */
        /* an exact-size copy: any read past the input is a heap overflow */
        unsigned char *exact = malloc(len ? len : 1);
        memcpy(exact, buf, len);
        free(buf);
        fn(exact, len);
        free(exact);
        done++;
    }
    if (done == 0) {
        fprintf(stderr, "%s: empty corpus\n", dir);
        exit(1);
    }
    return done;
}

int main(int argc, char **argv)
{
    size_t total = 0;
    if (argc < 3 || argc % 2 == 0) {
        fprintf(stderr, "usage: %s NAME DIR [NAME DIR ...]\n", argv[0]);
        return 2;
    }
    for (int i = 1; i + 1 < argc; i += 2) {
        size_t k = 0;
        for (; k < sizeof harnesses / sizeof *harnesses; k++)
            if (strcmp(argv[i], harnesses[k].name) == 0)
                break;
        if (k == sizeof harnesses / sizeof *harnesses) {
            fprintf(stderr, "no harness %s\n", argv[i]);
            return 2;
        }
        total += replay(harnesses[k].fn, argv[i + 1]);
    }
    printf("%zu passed, 0 failed\n", total);
    return 0;
}

/* fuzz/utf8.c — libFuzzer harness for the incremental UTF-8 validator
 * (src/ws/utf8.c), checked against a reference written the slow, obvious
 * way: each sequence decoded bit by bit and its code point range compared
 * with RFC 3629's limits.
 *
 * Invariants:
 *   reference  corio__utf8_valid(input) holds exactly when every prefix of
 *              the input can begin valid UTF-8 and the input ends on a code
 *              point boundary.  A prefix "can begin valid UTF-8" when its
 *              last, unfinished sequence can still be completed: the code
 *              points its free low bits allow meet [smallest for its length,
 *              U+10FFFF] outside the surrogates.
 *   earliest   corio__utf8_feed over the prefix of length k returns false
 *              exactly when some prefix of length <= k cannot begin valid
 *              UTF-8 (it refuses as soon as the bad byte is in, as
 *              WebSocket's fail-fast rule needs), and when it returns true
 *              corio__utf8_complete agrees with the reference's boundary.
 *   pieces     the input fed in pieces (cut at every point of a sample,
 *              byte by byte, and at the cuts the input's first byte picks)
 *              gives the same answer and the same final state as one call.
 *   alignment  the answer does not depend on the input's address (the
 *              validator skips ASCII eight bytes at a time).
 * Every buffer is a heap block of exactly the bytes fed, so ASan catches a
 * read past the end (the word-at-a-time loop).  Built by fuzz/CMakeLists.txt
 * and, with the entry point renamed, into the corpus replay. */
#include "ws/utf8.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUST(c)                                                                \
    do {                                                                       \
        if (!(c)) {                                                            \
            fprintf(stderr, "fuzz/utf8.c:%d: %s\n", __LINE__, #c);             \
            abort();                                                           \
        }                                                                      \
    } while (0)

/* Can the sequence s[0..k) (k >= 1, k <= its length) still be completed? */
static int viable(const unsigned char *s, size_t k)
{
    unsigned c = s[0], len;
    unsigned long cp;
    if (c < 0x80)
        return k == 1;
    if ((c & 0xE0) == 0xC0)
        len = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
        len = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
        len = 4, cp = c & 0x07;
    else
        return 0; /* a continuation byte or F8..FF as a lead */
    if (k > len)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    /* the code points still reachable: the missing bits all 0 .. all 1 */
    unsigned free_bits = 6 * (len - (unsigned)k);
    unsigned long first = cp << free_bits;
    unsigned long last = first | ((1ul << free_bits) - 1);
    static const unsigned long min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (first < min[len])
        first = min[len];
    if (last > 0x10FFFF)
        last = 0x10FFFF;
    if (first > last)
        return 0;
    /* all of [first, last] a surrogate? */
    if (first >= 0xD800 && last <= 0xDFFF)
        return 0;
    return 1;
}

static unsigned seq_len(unsigned char c)
{
    return c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
}

/* The reference: bad = the length of the shortest prefix that cannot begin
 * valid UTF-8 (len + 1 if none); boundary[k] = prefix k ends a code point. */
static size_t reference(const unsigned char *s, size_t len, char *boundary)
{
    size_t start = 0;
    boundary[0] = 1;
    for (size_t k = 1; k <= len; k++) {
        if (!viable(s + start, k - start))
            return k;
        int done = k - start == seq_len(s[start]);
        boundary[k] = (char)done;
        if (done)
            start = k;
    }
    return len + 1;
}

/* Feed data[0..len) cut at the ascending positions cuts[0..ncuts), each
 * piece an exact heap copy.  Returns the result and the state in *u. */
static int feed_pieces(const unsigned char *data, size_t len,
                       const size_t *cuts, size_t ncuts, corio__utf8 *u)
{
    size_t pos = 0;
    memset(u, 0, sizeof *u);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;
        if (end < pos)
            continue;
        size_t k = end - pos;
        unsigned char *p = malloc(k ? k : 1);
        MUST(p);
        memcpy(p, data + pos, k);
        int ok = corio__utf8_feed(u, p, k);
        free(p);
        if (!ok)
            return 0;
        pos = end;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char *boundary = malloc(size + 1);
    size_t *cuts = malloc((size + 1) * sizeof *cuts);
    MUST(boundary && cuts);
    size_t bad = reference(data, size, boundary);
    int want = bad > size && boundary[size];

    /* whole, at each alignment */
    unsigned char *buf = malloc(size + 8);
    MUST(buf);
    for (size_t off = 0; off < 8; off++) {
        memcpy(buf + off, data, size);
        MUST(corio__utf8_valid(buf + off, size) == want);
    }
    free(buf);
    unsigned char *exact = malloc(size ? size : 1);
    MUST(exact);
    memcpy(exact, data, size);
    MUST(corio__utf8_valid(exact, size) == want);
    free(exact);

    /* every prefix (a sample of them for long inputs) */
    size_t step = size <= 256 ? 1 : size / 101 + 1;
    for (size_t k = 0; k <= size; k += step) {
        corio__utf8 u;
        int ok = feed_pieces(data, k, NULL, 0, &u);
        MUST(ok == (k < bad));
        if (ok)
            MUST(corio__utf8_complete(&u) == boundary[k]);
    }

    /* pieces: one cut anywhere, byte by byte, and the input's own cuts */
    corio__utf8 whole;
    int r = feed_pieces(data, size, NULL, 0, &whole);
    for (size_t cut = 0; cut <= size; cut += step) {
        corio__utf8 u;
        MUST(feed_pieces(data, size, &cut, 1, &u) == r);
        if (r)
            MUST(memcmp(&u, &whole, sizeof u) == 0);
    }
    for (size_t i = 0; i < size; i++)
        cuts[i] = i + 1;
    corio__utf8 u;
    MUST(feed_pieces(data, size, cuts, size, &u) == r);
    if (r)
        MUST(memcmp(&u, &whole, sizeof u) == 0);
    if (size) {
        /* cut lengths from the first byte's bits: 1..8 bytes, repeating */
        size_t n = 0, pos = 0;
        for (unsigned i = 0; pos < size; i++) {
            pos += 1 + ((data[0] >> (i % 6)) & 7);
            if (pos < size)
                cuts[n++] = pos;
        }
        MUST(feed_pieces(data, size, cuts, n, &u) == r);
        if (r)
            MUST(memcmp(&u, &whole, sizeof u) == 0);
    }
    free(boundary);
    free(cuts);
    return 0;
}

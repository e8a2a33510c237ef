/* testing/fakes.c — the faults of memory stream pairs (kept on the pair,
 * stream/mem_transport.c) and the fake resolver.
 *
 * Fake names are a list that net/dns.c asks first through its hook
 * (corio__dns_fake), on the loop thread, before any lookup: a fake name is
 * answered at once like a numeric address, so tests stay deterministic and
 * offline. */
#include "testing/kit.h"
#include "net/net.h"
#include "stream/transport.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int corio_test_stream_set_faults(corio_stream *s,
                                 const corio_test_stream_faults *f)
{
    corio_test_stream_faults none = {0, 0, 0, 0};
    if (!f)
        f = &none;
    return corio__mem_faults(s, f->max_read, f->max_write, f->stall != 0,
                             f->reset != 0);
}

typedef struct fake_name {
    struct fake_name *next;
    char *host;
    char ip[CORIO_ADDR_STRLEN];
    int port; /* -1: the caller's */
} fake_name;

static fake_name *names;

static fake_name *find(const char *host)
{
    for (fake_name *f = names; f; f = f->next)
        if (!strcasecmp(f->host, host))
            return f;
    return NULL;
}

static int answer(const char *host, int port, corio_addr *out)
{
    fake_name *f = find(host);
    return f &&
           corio_addr_parse(out, f->ip, f->port >= 0 ? f->port : port) == 0;
}

/* Split "ip", "ip4:port", "[ip6]:port" into ip and port (-1: none). */
static int split(const char *addr, char *ip, int *port)
{
    const char *colon = strrchr(addr, ':'), *end = NULL;
    size_t n = strlen(addr);
    *port = -1;
    if (addr[0] == '[') {
        end = strchr(addr, ']');
        if (!end || (end[1] && end[1] != ':'))
            return -EINVAL;
        addr++;
        n = (size_t)(end - addr);
        colon = end[1] ? end + 1 : NULL;
    } else if (colon && strchr(addr, ':') == colon) {
        n = (size_t)(colon - addr); /* IPv4 with a port */
    } else {
        colon = NULL; /* IPv6 without brackets: no port */
    }
    if (n >= CORIO_ADDR_STRLEN)
        return -EINVAL;
    memcpy(ip, addr, n);
    ip[n] = 0;
    if (colon) {
        char *e;
        long p = strtol(colon + 1, &e, 10);
        if (!colon[1] || *e || p < 0 || p > 65535)
            return -EINVAL;
        *port = (int)p;
    }
    corio_addr check;
    return corio_addr_parse(&check, ip, 0);
}

int corio_test_dns_add(const char *host, const char *addr)
{
    char ip[CORIO_ADDR_STRLEN];
    int port;
    if (!host || !*host || !addr || split(addr, ip, &port) < 0)
        return -EINVAL;
    fake_name *f = find(host);
    if (!f) {
        f = calloc(1, sizeof *f);
        char *h = strdup(host);
        if (!f || !h) {
            free(f);
            free(h);
            return -ENOMEM;
        }
        f->host = h;
        f->next = names;
        names = f;
    }
    memcpy(f->ip, ip, sizeof ip);
    f->port = port;
    corio__dns_fake = answer;
    return 0;
}

void corio_test_dns_clear(void)
{
    corio__dns_fake = NULL;
    while (names) {
        fake_name *f = names;
        names = f->next;
        free(f->host);
        free(f);
    }
}

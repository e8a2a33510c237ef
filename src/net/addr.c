/* net/addr.c — corio_addr: numeric parsing, Unix-domain paths, text, and
 * the IPv4-mapped conversions that let one dual-stack IPv6 socket talk to
 * IPv4 peers while users only ever see plain IPv4 addresses. */
#include "net/net.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int corio__addr_numeric(corio_addr *out, const char *host, int port)
{
    char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 4];
    if (!out || !host || port < 0 || port > 65535)
        return -EINVAL;
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        if (n - 2 >= sizeof buf)
            return -EINVAL;
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = 0;
        host = buf;
    }
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, host, &out->u.in4.sin_addr) == 1) {
        out->u.in4.sin_family = AF_INET;
        out->u.in4.sin_port = htons((uint16_t)port);
        out->len = sizeof out->u.in4;
        return 0;
    }
    /* IPv6, with an optional %scope (an interface name or number). */
    const char *pct = strchr(host, '%');
    char ip[INET6_ADDRSTRLEN];
    size_t iplen = pct ? (size_t)(pct - host) : strlen(host);
    if (iplen >= sizeof ip)
        return -EINVAL;
    memcpy(ip, host, iplen);
    ip[iplen] = 0;
    if (inet_pton(AF_INET6, ip, &out->u.in6.sin6_addr) != 1)
        return -EINVAL;
    if (pct) {
        char *end;
        unsigned long id = strtoul(pct + 1, &end, 10);
        if (!pct[1])
            return -EINVAL;
        if (*end) /* a name: if_nametoindex reads a table, never suspends long
                   */
            id = if_nametoindex(pct + 1);
        if (!id)
            return -EINVAL;
        out->u.in6.sin6_scope_id = (uint32_t)id;
    }
    out->u.in6.sin6_family = AF_INET6;
    out->u.in6.sin6_port = htons((uint16_t)port);
    out->len = sizeof out->u.in6;
    return 0;
}

int corio_addr_parse(corio_addr *out, const char *ip, int port)
{
    return corio__addr_numeric(out, ip, port);
}

int corio_addr_unix(corio_addr *out, const char *path)
{
    if (!out || !path || !*path)
        return -EINVAL;
    size_t n = strlen(path);
    if (n >= sizeof out->u.un.sun_path)
        return -ENAMETOOLONG;
    memset(out, 0, sizeof *out);
    out->u.un.sun_family = AF_UNIX;
    memcpy(out->u.un.sun_path, path, n);
    if (path[0] == '@') {
        /* Abstract: a leading NUL, and the length says where it ends. */
        out->u.un.sun_path[0] = 0;
        out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
    } else {
        out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    }
    return 0;
}

int corio_addr_format(const corio_addr *a, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN], scope[IF_NAMESIZE + 12] = "";
    int n;
    if (!a || !buf)
        return -EINVAL;
    switch (a->u.sa.sa_family) {
    case AF_INET:
        inet_ntop(AF_INET, &a->u.in4.sin_addr, ip, sizeof ip);
        n = snprintf(buf, cap, "%s:%u", ip, ntohs(a->u.in4.sin_port));
        break;
    case AF_INET6:
        inet_ntop(AF_INET6, &a->u.in6.sin6_addr, ip, sizeof ip);
        if (a->u.in6.sin6_scope_id)
            snprintf(scope, sizeof scope, "%%%u", a->u.in6.sin6_scope_id);
        n = snprintf(buf, cap, "[%s%s]:%u", ip, scope,
                     ntohs(a->u.in6.sin6_port));
        break;
    case AF_UNIX: {
        size_t off = offsetof(struct sockaddr_un, sun_path);
        size_t len = a->len > off ? a->len - off : 0;
        if (len && a->u.un.sun_path[0] == 0) { /* abstract */
            n = snprintf(buf, cap, "@%.*s", (int)(len - 1),
                         a->u.un.sun_path + 1);
        } else {
            n = snprintf(buf, cap, "%.*s", (int)strnlen(a->u.un.sun_path, len),
                         a->u.un.sun_path);
        }
        break;
    }
    default:
        return -EAFNOSUPPORT;
    }
    if (n < 0 || (size_t)n >= cap)
        return -ENOSPC;
    return n;
}

int corio_addr_port(const corio_addr *a)
{
    if (a && a->u.sa.sa_family == AF_INET)
        return ntohs(a->u.in4.sin_port);
    if (a && a->u.sa.sa_family == AF_INET6)
        return ntohs(a->u.in6.sin6_port);
    return -EAFNOSUPPORT;
}

void corio__addr_unmap(corio_addr *a)
{
    if (a->u.sa.sa_family != AF_INET6 ||
        !IN6_IS_ADDR_V4MAPPED(&a->u.in6.sin6_addr))
        return;
    struct sockaddr_in v4;
    memset(&v4, 0, sizeof v4);
    v4.sin_family = AF_INET;
    v4.sin_port = a->u.in6.sin6_port;
    memcpy(&v4.sin_addr, a->u.in6.sin6_addr.s6_addr + 12, 4);
    memset(&a->u, 0, sizeof a->u);
    a->u.in4 = v4;
    a->len = sizeof v4;
}

const corio_addr *corio__addr_for(const corio_addr *a, int family,
                                  corio_addr *tmp)
{
    if (family != AF_INET6 || a->u.sa.sa_family != AF_INET)
        return a;
    memset(tmp, 0, sizeof *tmp);
    tmp->u.in6.sin6_family = AF_INET6;
    tmp->u.in6.sin6_port = a->u.in4.sin_port;
    tmp->u.in6.sin6_addr.s6_addr[10] = 0xff;
    tmp->u.in6.sin6_addr.s6_addr[11] = 0xff;
    memcpy(tmp->u.in6.sin6_addr.s6_addr + 12, &a->u.in4.sin_addr, 4);
    tmp->len = sizeof tmp->u.in6;
    return tmp;
}

int corio__addr_equal(const corio_addr *a, const corio_addr *b)
{
    if (a->u.sa.sa_family != b->u.sa.sa_family)
        return 0;
    switch (a->u.sa.sa_family) {
    case AF_INET:
        return a->u.in4.sin_port == b->u.in4.sin_port &&
               a->u.in4.sin_addr.s_addr == b->u.in4.sin_addr.s_addr;
    case AF_INET6:
        return a->u.in6.sin6_port == b->u.in6.sin6_port &&
               a->u.in6.sin6_scope_id == b->u.in6.sin6_scope_id &&
               !memcmp(&a->u.in6.sin6_addr, &b->u.in6.sin6_addr, 16);
    default:
        return a->len == b->len && !memcmp(&a->u, &b->u, a->len);
    }
}

/* test_tls.c — TLS streams against real peers.
 *
 * Each test makes a throwaway PKI with the openssl command in a temporary
 * directory: a test CA, a server certificate for localhost and 127.0.0.1,
 * an expired one, one for the wrong host, a self-signed one and a client
 * certificate.  Then:
 *   - corio's client against `openssl s_server` (real clock, loopback):
 *     verification with the test CA, SNI, ALPN, resumption, and the
 *     refusals (wrong host, expired, self-signed, untrusted by the system
 *     store) with their messages;
 *   - corio's server against `openssl s_client`: verification, ALPN, SNI,
 *     resumption, close_notify;
 *   - corio against corio over memory pairs (virtual clock): large
 *     transfers both ways, half-close, truncation, mutual TLS, not-TLS
 *     peers, and cancellation and timeouts in the handshake, in reads (a
 *     record cut in two by a relay) and in writes (nothing lost, nothing
 *     sent twice);
 *   - a fault sweep over a handshake and an exchange on a socketpair. */
#include "tst.h"
#include "os/sys.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- the test PKI ----------------------------------------------------- */

static char pki_dir[64];

/* A path in the PKI directory (a few rotating buffers). */
static const char *P(const char *name)
{
    static char bufs[8][128];
    static int i;
    char *b = bufs[i++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", pki_dir, name);
    return b;
}

static void sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int st = system(cmd);
    if (st != 0) {
        fprintf(stderr, "    command failed (%d): %s\n", st, cmd);
        CHECK(st == 0);
    }
}

#define EC "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

/* A certificate `name` signed by the test CA, valid for `days` (negative:
 * already expired), with the given subjectAltName. */
static void leaf(const char *name, const char *cn, const char *san, int days,
                 int serial)
{
    sh("openssl req -new " EC
       " -keyout %s/%s.key -out %s/%s.csr -subj '/CN=%s' "
       "2>/dev/null",
       pki_dir, name, pki_dir, name, cn);
    sh("printf "
       "'basicConstraints=CA:FALSE\\nextendedKeyUsage=serverAuth,clientAuth\\n"
       "%s%s\\n' > %s/%s.ext",
       san ? "subjectAltName=" : "", san ? san : "", pki_dir, name);
    sh("openssl x509 -req -in %s/%s.csr -CA %s/ca.pem -CAkey %s/ca.key "
       "-set_serial %d -days %d -extfile %s/%s.ext -out %s/%s.pem 2>/dev/null",
       pki_dir, name, pki_dir, pki_dir, serial, days, pki_dir, name, pki_dir,
       name);
}

static void pki_make(void)
{
    signal(SIGPIPE, SIG_IGN); /* writes to a peer that left: EPIPE */
    strcpy(pki_dir, "/tmp/corio-tls-XXXXXX");
    CHECK(mkdtemp(pki_dir) != NULL);
    sh("openssl req -x509 " EC " -keyout %s/ca.key -out %s/ca.pem "
       "-subj '/CN=corio test CA' -days 2 2>/dev/null",
       pki_dir, pki_dir);
    leaf("server", "localhost", "DNS:localhost,IP:127.0.0.1", 2, 2);
    leaf("expired", "localhost", "DNS:localhost,IP:127.0.0.1", -1, 3);
    leaf("wrong", "wrong.example", "DNS:wrong.example", 2, 4);
    leaf("client", "corio test client", NULL, 2, 5);
    sh("openssl req -x509 " EC " -keyout %s/self.key -out %s/self.pem "
       "-subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
       "-days 2 2>/dev/null",
       pki_dir, pki_dir);
    sh("printf 'hello over TLS\\n' > %s/hello.txt", pki_dir);
}

static void pki_remove(void)
{
    if (pki_dir[0])
        sh("rm -rf %s", pki_dir);
}

/* ---- openssl child processes ------------------------------------------ */

/* Run `openssl args...` with stdin from in_fd (-1: /dev/null) and stdout and
 * stderr into the file `out`; it dies with the test (PDEATHSIG). */
static pid_t spawn_openssl(int in_fd, const char *out, const char *const *args)
{
    const char *argv[64];
    int n = 0;
    argv[n++] = "openssl";
    for (; *args; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    unlink(out); /* no stale output from an earlier child */
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int o = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int i = in_fd >= 0 ? in_fd : open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (o < 0 || i < 0 || dup2(i, 0) < 0 || dup2(o, 1) < 0 ||
            dup2(o, 2) < 0)
            _exit(126);
        if (pki_dir[0] && chdir(pki_dir) != 0)
            _exit(126);
        execvp("openssl", (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* The whole file (NUL-terminated; static buffer). */
static const char *slurp(const char *path)
{
    static char buf[65536];
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return buf;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    close(fd);
    return buf;
}

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

typedef struct s_server {
    pid_t pid;
    int port;
} s_server;

/* Start `openssl s_server -accept 127.0.0.1:0 args...` with stdin from
 * in_fd (-1: /dev/null) and read its port from the ACCEPT line. */
static s_server server_start_stdin(int in_fd, const char *const *args)
{
    const char *argv[48] = {"s_server", "-accept", "127.0.0.1:0"};
    int n = 3;
    for (; *args; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    s_server s = {spawn_openssl(in_fd, P("s_server.out"), argv), 0};
    for (int i = 0; i < 500 && !s.port; i++) {
        const char *p = strstr(slurp(P("s_server.out")), "ACCEPT 127.0.0.1:");
        if (p)
            s.port = atoi(p + strlen("ACCEPT 127.0.0.1:"));
        else
            msleep(10);
    }
    if (!s.port)
        fprintf(stderr, "    s_server did not start: %s\n",
                slurp(P("s_server.out")));
    CHECK(s.port > 0);
    return s;
}

static s_server server_start(const char *const *args)
{
    return server_start_stdin(-1, args);
}

static void server_stop(s_server *s)
{
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
}

/* A TCP stream to 127.0.0.1:port (a blocking connect: loopback). */
static corio_stream *tcp(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    CHECK_EQ(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    corio_stream *s;
    CHECK_EQ(corio_stream_from_fd(&s, fd, NULL), 0);
    return s;
}

static int real_clock(corio_fn fn, void *arg)
{
    corio_options o = {0};
    return tst_run_ex(&o, fn, arg);
}

/* Where the calls below that leave no object write why they failed (the
 * pair tests give each peer its own). */
static corio_error_detail why;

/* A client context trusting the test CA. */
static corio_tls_ctx *client_ctx(const char *alpn, unsigned flags)
{
    corio_tls_config c = {
        .ca_file = P("ca.pem"), .alpn = alpn, .flags = flags, .detail = &why};
    corio_tls_ctx *ctx;
    int rc = corio_tls_ctx_new(&ctx, CORIO_TLS_CLIENT, &c);
    if (rc < 0)
        fprintf(stderr, "    ctx: %s\n", why.text);
    CHECK_EQ(rc, 0);
    return ctx;
}

static corio_tls_ctx *server_ctx(const char *name, const char *alpn,
                                 unsigned flags)
{
    char cert[128], key[128];
    snprintf(cert, sizeof cert, "%s/%s.pem", pki_dir, name);
    snprintf(key, sizeof key, "%s/%s.key", pki_dir, name);
    corio_tls_config c = {.cert_file = cert,
                          .key_file = key,
                          .alpn = alpn,
                          .flags = flags,
                          .ca_file = P("ca.pem"),
                          .detail = &why};
    corio_tls_ctx *ctx;
    int rc = corio_tls_ctx_new(&ctx, CORIO_TLS_SERVER, &c);
    if (rc < 0)
        fprintf(stderr, "    ctx: %s\n", why.text);
    CHECK_EQ(rc, 0);
    return ctx;
}

/* Send req, then read to the end of the stream into buf.  Returns the
 * length, or the error that ended the reading. */
static ssize_t fetch(corio_stream *s, const char *req, char *buf, size_t cap)
{
    int rc = corio_stream_write(s, req, strlen(req));
    if (rc == 0)
        rc = corio_stream_flush(s);
    if (rc < 0)
        return rc;
    size_t len = 0;
    for (;;) {
        ssize_t n = corio_stream_read(s, buf + len, cap - 1 - len);
        if (n < 0)
            return n;
        if (n == 0)
            break;
        len += (size_t)n;
        CHECK(len < cap - 1);
    }
    buf[len] = '\0';
    return (ssize_t)len;
}

/* ---- contexts --------------------------------------------------------- */

static int ctx_errors_body(void *arg)
{
    (void)arg;
    corio_tls_ctx *ctx = (corio_tls_ctx *)1;
    corio_tls_config c = {.cert_file = P("missing.pem"), .detail = &why};

    CHECK_EQ(corio_tls_ctx_new(&ctx, CORIO_TLS_SERVER, &c), CORIO_ETLS);
    CHECK(ctx == NULL);
    CHECK(strstr(why.text, "missing.pem") != NULL);

    c = (corio_tls_config){.cert_file = P("server.pem"),
                           .key_file = P("wrong.key"),
                           .detail = &why};
    CHECK_EQ(corio_tls_ctx_new(&ctx, CORIO_TLS_SERVER, &c), CORIO_ETLS);
    CHECK(strstr(why.text, "mismatch") != NULL);

    c = (corio_tls_config){.detail = &why};
    CHECK_EQ(corio_tls_ctx_new(&ctx, CORIO_TLS_SERVER, &c), CORIO_ETLS);
    CHECK(strstr(why.text, "cert_file") != NULL);
    CHECK_EQ(corio_tls_ctx_new(&ctx, CORIO_TLS_SERVER, NULL), CORIO_ETLS);

    c = (corio_tls_config){.ca_file = P("nope.pem")};
    CHECK_EQ(corio_tls_ctx_new(&ctx, CORIO_TLS_CLIENT, &c), CORIO_ETLS);

    c = (corio_tls_config){.alpn = "h2,,http/1.1"};
    CHECK_EQ(corio_tls_ctx_new(&ctx, CORIO_TLS_CLIENT, &c), -EINVAL);
    c = (corio_tls_config){.min_version = 0x0301};
    CHECK_EQ(corio_tls_ctx_new(&ctx, CORIO_TLS_CLIENT, &c), -EINVAL);
    CHECK_EQ(corio_tls_ctx_new(&ctx, 7, NULL), -EINVAL);

    /* The client needs a name to check unless verification is off; the
     * stream underneath is closed on every failure. */
    corio_stream *a, *b, *t = (corio_stream *)1;
    CHECK_EQ(corio_stream_pair(&a, &b, 0), 0);
    corio_tls_opts o = {0};
    CHECK_EQ(corio_tls_client(&t, a, &o), -EINVAL);
    CHECK(t == NULL);
    char x;
    CHECK_EQ(corio_stream_read(b, &x, 1), 0); /* a was closed */
    corio_stream_close(b);

    CHECK_EQ(corio_stream_pair(&a, &b, 0), 0);
    CHECK_EQ(corio_tls_server(&t, a, &o), -EINVAL); /* no server context */
    corio_stream_close(b);

    CHECK_EQ(corio_tls_ctx_new(&ctx, CORIO_TLS_CLIENT, NULL), 0);
    corio_tls_ctx_free(ctx);
    corio_tls_ctx_free(NULL);

    /* Queries on a stream that is not TLS. */
    CHECK_EQ(corio_stream_pair(&a, &b, 0), 0);
    CHECK(corio_tls_alpn(a) == NULL);
    CHECK_EQ(corio_tls_resumed(a), -EINVAL);
    CHECK(corio_tls_version(a) == NULL);
    CHECK(strcmp(corio_tls_error(a), "") == 0);
    corio_stream_close(a);
    corio_stream_close(b);
    CHECK(strstr(corio_strerror(CORIO_ETLS), "TLS") != NULL);
    CHECK(strstr(corio_strerror(CORIO_ECERT), "certificate") != NULL);
    return 0;
}

TEST(tls, ctx_errors)
{
    pki_make();
    CHECK_EQ(tst_run(ctx_errors_body, NULL), 0);
    pki_remove();
    tst_leak_check();
}

/* ---- corio's client against openssl s_server -------------------------- */

typedef struct fetch_case {
    int port;
    corio_tls_ctx *ctx; /* NULL: the default context */
    const char *name;   /* server_name */
    const char *req;
    int want;        /* expected return of corio_tls_client */
    const char *err; /* expected in the detail */
    char body[8192];
    char alpn[32];
    char version[16];
    int resumed;
} fetch_case;

static int fetch_body(void *arg)
{
    fetch_case *f = arg;
    corio_stream *t;
    corio_tls_opts o = {.ctx = f->ctx, .server_name = f->name, .detail = &why};
    int rc = corio_tls_client(&t, tcp(f->port), &o);
    if (rc != f->want)
        fprintf(stderr, "    corio_tls_client: %d (%s: %s)\n", rc,
                corio_strerror(rc), why.text);
    CHECK_EQ(rc, f->want);
    if (rc < 0) {
        CHECK(t == NULL);
        if (f->err && !strstr(why.text, f->err)) {
            fprintf(stderr, "    message \"%s\" lacks \"%s\"\n", why.text,
                    f->err);
            CHECK(0);
        }
        return 0;
    }
    snprintf(f->alpn, sizeof f->alpn, "%s",
             corio_tls_alpn(t) ? corio_tls_alpn(t) : "-");
    snprintf(f->version, sizeof f->version, "%s", corio_tls_version(t));
    f->resumed = corio_tls_resumed(t);
    CHECK(strcmp(corio_tls_server_name(t), f->name) == 0);
    ssize_t n = fetch(t, f->req, f->body, sizeof f->body);
    if (n < 0)
        fprintf(stderr, "    fetch: %zd %s\n", n, corio_tls_error(t));
    CHECK(n > 0);
    CHECK_EQ(corio_stream_shutdown(t), 0);
    corio_stream_close(t);
    return 0;
}

static void do_fetch(fetch_case *f)
{
    CHECK_EQ(real_clock(fetch_body, f), 0);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

TEST(tls, client_verifies_s_server)
{
    pki_make();
    s_server srv =
        server_start(ARGS("-cert", P("server.pem"), "-key", P("server.key"),
                          "-WWW", "-alpn", "http/1.1"));
    fetch_case f = {.port = srv.port,
                    .name = "localhost",
                    .req = "GET /hello.txt HTTP/1.0\r\n\r\n"};
    f.ctx = client_ctx("foo,http/1.1", 0);
    do_fetch(&f);
    CHECK(strstr(f.body, "HTTP/1.0 200 ok") == f.body);
    CHECK(strstr(f.body, "\r\n\r\nhello over TLS\n") != NULL);
    CHECK(strcmp(f.alpn, "http/1.1") == 0); /* negotiated */
    CHECK(strcmp(f.version, "TLSv1.3") == 0);

    /* By IP address: checked against the certificate's IP entry. */
    f.name = "127.0.0.1";
    do_fetch(&f);
    CHECK(strstr(f.body, "hello over TLS") != NULL);

    /* TLS 1.2 too. */
    corio_tls_config c12 = {.ca_file = P("ca.pem"),
                            .max_version = CORIO_TLS_1_2};
    corio_tls_ctx *ctx12;
    CHECK_EQ(corio_tls_ctx_new(&ctx12, CORIO_TLS_CLIENT, &c12), 0);
    fetch_case g = {.port = srv.port,
                    .ctx = ctx12,
                    .name = "localhost",
                    .req = "GET /hello.txt HTTP/1.0\r\n\r\n"};
    do_fetch(&g);
    CHECK(strcmp(g.version, "TLSv1.2") == 0);
    CHECK(strstr(g.body, "hello over TLS") != NULL);
    corio_tls_ctx_free(ctx12);
    corio_tls_ctx_free(f.ctx);
    server_stop(&srv);
    pki_remove();
    tst_leak_check();
}

TEST(tls, client_resumes_session)
{
    pki_make();
    s_server srv = server_start(
        ARGS("-cert", P("server.pem"), "-key", P("server.key"), "-www"));
    for (int v = 0; v < 2; v++) {
        corio_tls_config c = {.ca_file = P("ca.pem"),
                              .max_version = v ? CORIO_TLS_1_2 : 0};
        corio_tls_ctx *ctx;
        CHECK_EQ(corio_tls_ctx_new(&ctx, CORIO_TLS_CLIENT, &c), 0);
        fetch_case f = {.port = srv.port,
                        .ctx = ctx,
                        .name = "localhost",
                        .req = "GET / HTTP/1.0\r\n\r\n"};
        do_fetch(&f);
        CHECK_EQ(f.resumed, 0);
        CHECK(strstr(f.body, "New, TLSv1.") != NULL);
        do_fetch(&f);
        CHECK_EQ(f.resumed, 1);
        CHECK(strstr(f.body, "Reused, TLSv1.") != NULL); /* the server agrees */
        /* Another key is another cache entry. */
        f.name = "127.0.0.1";
        do_fetch(&f);
        CHECK_EQ(f.resumed, 0);
        corio_tls_ctx_free(ctx);

        /* Without tickets, no resumption. */
        c.flags = CORIO_TLS_NO_TICKETS;
        CHECK_EQ(corio_tls_ctx_new(&ctx, CORIO_TLS_CLIENT, &c), 0);
        f.ctx = ctx;
        f.name = "localhost";
        do_fetch(&f);
        do_fetch(&f);
        CHECK_EQ(f.resumed, 0);
        corio_tls_ctx_free(ctx);
    }
    server_stop(&srv);
    pki_remove();
    tst_leak_check();
}

TEST(tls, client_sends_sni)
{
    pki_make();
    /* The default certificate is for the wrong host; the right one is
     * served only to clients that say "localhost" in SNI. */
    s_server srv =
        server_start(ARGS("-cert", P("wrong.pem"), "-key", P("wrong.key"),
                          "-servername", "localhost", "-cert2", P("server.pem"),
                          "-key2", P("server.key"), "-WWW"));
    fetch_case f = {.port = srv.port,
                    .name = "localhost",
                    .req = "GET /hello.txt HTTP/1.0\r\n\r\n"};
    f.ctx = client_ctx(NULL, 0);
    do_fetch(&f);
    CHECK(strstr(f.body, "hello over TLS") != NULL);
    /* An IP address is not sent as SNI: the default certificate comes. */
    f.name = "127.0.0.1";
    f.want = CORIO_ECERT;
    f.err = "IP address mismatch";
    do_fetch(&f);
    corio_tls_ctx_free(f.ctx);
    server_stop(&srv);
    pki_remove();
    tst_leak_check();
}

static void refused(const char *cert, const char *name, const char *err)
{
    char key[128];
    snprintf(key, sizeof key, "%s/%s.key", pki_dir, cert);
    char pem[128];
    snprintf(pem, sizeof pem, "%s/%s.pem", pki_dir, cert);
    s_server srv = server_start(ARGS("-cert", pem, "-key", key, "-WWW"));
    fetch_case f = {
        .port = srv.port, .name = name, .want = CORIO_ECERT, .err = err};
    f.ctx = client_ctx(NULL, 0);
    do_fetch(&f);
    corio_tls_ctx_free(f.ctx);
    server_stop(&srv);
}

TEST(tls, client_refuses_bad_certificates)
{
    pki_make();
    refused("wrong", "localhost",
            "certificate verify failed: hostname mismatch");
    refused("server", "other.example", "hostname mismatch");
    refused("expired", "localhost", "certificate has expired");
    refused("self", "localhost", "self-signed certificate");
    pki_remove();
    tst_leak_check();
}

TEST(tls, client_default_context_uses_system_store)
{
    pki_make();
    s_server srv = server_start(
        ARGS("-cert", P("server.pem"), "-key", P("server.key"), "-WWW"));
    /* The test CA is not in the system store. */
    fetch_case f = {.port = srv.port,
                    .name = "localhost",
                    .want = CORIO_ECERT,
                    .err = "unable to get local issuer certificate"};
    do_fetch(&f);
    /* Verification off, explicitly: the same server is accepted. */
    corio_tls_config c = {.flags = CORIO_TLS_NO_VERIFY};
    CHECK_EQ(corio_tls_ctx_new(&f.ctx, CORIO_TLS_CLIENT, &c), 0);
    f.want = 0;
    f.name = "anything.example";
    f.req = "GET /hello.txt HTTP/1.0\r\n\r\n";
    do_fetch(&f);
    CHECK(strstr(f.body, "hello over TLS") != NULL);
    corio_tls_ctx_free(f.ctx);
    server_stop(&srv);
    pki_remove();
    tst_leak_check();
}

/* A TLS 1.3 key update the server asks to be answered: the client answers
 * while it reads, and both sides go on with new keys. */
typedef struct ku {
    int port, in_fd;
} ku;

static int key_update_body(void *arg)
{
    ku *k = arg;
    corio_tls_ctx *ctx = client_ctx(NULL, 0);
    corio_stream *t;
    corio_tls_opts o = {.ctx = ctx, .server_name = "localhost"};
    CHECK_EQ(corio_tls_client(&t, tcp(k->port), &o), 0);
    /* s_server takes "K" on its standard input as "send a key update and
     * request one back". */
    CHECK_EQ(write(k->in_fd, "K\n", 2), 2);
    /* Separate reads of s_server's stdin: it reports the update only in
     * buffered output, so give it time. */
    CHECK_EQ(corio_sleep(300 * CORIO_MS), 0);
    CHECK_EQ(write(k->in_fd, "after the update\n", 17), 17);
    char line[64];
    CHECK(corio_stream_read_line(t, line, sizeof line) > 0);
    CHECK(strcmp(line, "after the update\n") == 0);
    CHECK_EQ(corio_stream_write(t, "client still here\n", 18), 0);
    CHECK_EQ(corio_stream_flush(t), 0);
    for (int i = 0;
         i < 500 && !strstr(slurp(P("s_server.out")), "client still here"); i++)
        CHECK_EQ(corio_sleep(10 * CORIO_MS), 0);
    CHECK(strstr(slurp(P("s_server.out")), "client still here") != NULL);
    corio_stream_close(t);
    corio_tls_ctx_free(ctx);
    return 0;
}

TEST(tls, client_answers_key_update)
{
    pki_make();
    int in[2];
    CHECK_EQ(pipe2(in, O_CLOEXEC), 0);
    s_server srv = server_start_stdin(
        in[0], ARGS("-cert", P("server.pem"), "-key", P("server.key")));
    close(in[0]);
    ku k = {srv.port, in[1]};
    CHECK_EQ(real_clock(key_update_body, &k), 0);
    close(in[1]);
    server_stop(&srv);
    pki_remove();
    tst_leak_check();
}

/* TLS 1.2 renegotiation asked by the server is refused (an alert), and
 * s_server gives up on the connection: a clear error, not a hang. */
static int reneg_body(void *arg)
{
    ku *k = arg;
    corio_tls_ctx *ctx = client_ctx(NULL, 0);
    corio_stream *t;
    corio_tls_opts o = {.ctx = ctx, .server_name = "localhost"};
    CHECK_EQ(corio_tls_client(&t, tcp(k->port), &o), 0);
    CHECK(strcmp(corio_tls_version(t), "TLSv1.2") == 0);
    CHECK_EQ(write(k->in_fd, "r\n", 2), 2);
    char buf[64];
    ssize_t n = corio_stream_read(t, buf, sizeof buf);
    CHECK_EQ(n, CORIO_ETLS);
    CHECK(strstr(corio_tls_error(t), "alert") != NULL);
    corio_stream_close(t);
    corio_tls_ctx_free(ctx);
    return 0;
}

TEST(tls, client_refuses_renegotiation)
{
    pki_make();
    int in[2];
    CHECK_EQ(pipe2(in, O_CLOEXEC), 0);
    s_server srv =
        server_start_stdin(in[0], ARGS("-cert", P("server.pem"), "-key",
                                       P("server.key"), "-tls1_2"));
    close(in[0]);
    ku k = {srv.port, in[1]};
    CHECK_EQ(real_clock(reneg_body, &k), 0);
    close(in[1]);
    server_stop(&srv);
    pki_remove();
    tst_leak_check();
}

/* ---- corio's server against openssl s_client -------------------------- */

typedef struct serve_case {
    int lfd;
    corio_tls_ctx *ctx;
    int resumed;
    char sni[64];
} serve_case;

static int serve_body(void *arg)
{
    serve_case *sc = arg;
    CHECK(corio_fd_wait(sc->lfd, CORIO_READABLE) > 0);
    int fd = accept4(sc->lfd, NULL, NULL, SOCK_CLOEXEC);
    CHECK(fd >= 0);
    corio_stream *raw, *t;
    CHECK_EQ(corio_stream_from_fd(&raw, fd, NULL), 0);
    corio_tls_opts o = {.ctx = sc->ctx, .detail = &why};
    int rc = corio_tls_server(&t, raw, &o);
    if (rc < 0)
        fprintf(stderr, "    server: %s\n", why.text);
    CHECK_EQ(rc, 0);
    sc->resumed = corio_tls_resumed(t);
    const char *sni = corio_tls_server_name(t);
    snprintf(sc->sni, sizeof sc->sni, "%s", sni ? sni : "-");
    char line[128], reply[256];
    ssize_t n = corio_stream_read_line(t, line, sizeof line);
    CHECK(n > 0);
    line[strcspn(line, "\n")] = '\0';
    snprintf(reply, sizeof reply, "pong to %s: alpn=%s sni=%s\n", line,
             corio_tls_alpn(t) ? corio_tls_alpn(t) : "-", sc->sni);
    CHECK_EQ(corio_stream_write(t, reply, strlen(reply)), 0);
    CHECK_EQ(corio_stream_shutdown(t), 0); /* flush + close_notify */
    /* s_client answers with its own close_notify, then goes. */
    CHECK_EQ(corio_stream_read(t, line, sizeof line), 0);
    corio_stream_close(t);
    return 0;
}

static int listen_loopback(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_EQ(listen(fd, 8), 0);
    CHECK_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* One s_client connection to a corio server; returns s_client's output. */
static const char *s_client_run(serve_case *sc, const char *const *extra)
{
    int port;
    sc->lfd = listen_loopback(&port);
    char connect[32];
    snprintf(connect, sizeof connect, "127.0.0.1:%d", port);
    const char *argv[32] = {"s_client", "-connect",  connect,
                            "-CAfile",  P("ca.pem"), "-verify_return_error",
                            "-ign_eof"};
    int n = 7;
    for (; *extra; extra++)
        argv[n++] = *extra;
    argv[n] = NULL;
    int in[2];
    CHECK_EQ(pipe2(in, O_CLOEXEC), 0);
    CHECK_EQ(write(in[1], "ping\n", 5), 5);
    close(in[1]);
    pid_t pid = spawn_openssl(in[0], P("s_client.out"), argv);
    close(in[0]);
    CHECK_EQ(real_clock(serve_body, sc), 0);
    int st;
    CHECK_EQ(waitpid(pid, &st, 0), pid);
    close(sc->lfd);
    return slurp(P("s_client.out"));
}

TEST(tls, server_with_s_client)
{
    pki_make();
    serve_case sc = {.ctx = server_ctx("server", "h2,http/1.1", 0)};
    const char *out =
        s_client_run(&sc, ARGS("-servername", "localhost", "-alpn",
                               "http/1.1,h2", "-sess_out", P("sess.pem")));
    if (!strstr(out, "pong to ping: alpn=h2 sni=localhost"))
        fprintf(stderr, "    s_client said:\n%s\n", out);
    CHECK(strstr(out, "Verification: OK") != NULL);
    CHECK(strstr(out, "ALPN protocol: h2") !=
          NULL); /* the server's preference */
    CHECK(strstr(out, "pong to ping: alpn=h2 sni=localhost") != NULL);
    CHECK(strstr(out, "New, TLSv1.3") != NULL);
    CHECK_EQ(sc.resumed, 0);

    /* Resumption with the session s_client saved. */
    out = s_client_run(
        &sc, ARGS("-servername", "localhost", "-sess_in", P("sess.pem")));
    CHECK(strstr(out, "Reused, TLSv1.3") != NULL);
    CHECK(strstr(out, "pong to ping: alpn=- sni=localhost") != NULL);
    CHECK_EQ(sc.resumed, 1);

    /* TLS 1.2, no SNI (connecting by address). */
    out = s_client_run(&sc, ARGS("-tls1_2"));
    CHECK(strstr(out, "New, TLSv1.2") != NULL);
    CHECK(strstr(out, "pong to ping: alpn=- sni=-") != NULL);
    corio_tls_ctx_free(sc.ctx);
    pki_remove();
    tst_leak_check();
}

/* ---- corio against corio over memory pairs ---------------------------- */

typedef struct peer {
    corio_stream *under;
    corio_tls_ctx *ctx;
    const char *name;
    corio_stream *tls;
    int rc;
    corio_error_detail why;
} peer;

static int server_task(void *arg)
{
    peer *p = arg;
    corio_tls_opts o = {.ctx = p->ctx, .detail = &p->why};
    p->rc = corio_tls_server(&p->tls, p->under, &o);
    return 0;
}

/* Handshake both ends of a fresh pair; returns the client's result. */
static int handshake_pair(peer *cl, peer *sv, size_t capacity)
{
    CHECK_EQ(corio_stream_pair(&cl->under, &sv->under, capacity), 0);
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, server_task, sv), 0);
    corio_tls_opts o = {
        .ctx = cl->ctx, .server_name = cl->name, .detail = &cl->why};
    cl->rc = corio_tls_client(&cl->tls, cl->under, &o);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    return cl->rc;
}

typedef struct xfer {
    corio_stream *s;
    size_t n;
    unsigned seed;
    size_t got;
    int rc;
} xfer;

static unsigned char pattern(unsigned seed, size_t i)
{
    return (unsigned char)((i * 131 + seed * 7 + (i >> 11)) & 0xff);
}

static int send_task(void *arg)
{
    xfer *x = arg;
    unsigned char buf[10000];
    size_t off = 0;
    while (off < x->n) {
        size_t m = x->n - off < sizeof buf ? x->n - off : sizeof buf;
        for (size_t i = 0; i < m; i++)
            buf[i] = pattern(x->seed, off + i);
        int rc = corio_stream_write(x->s, buf, m);
        if (rc < 0)
            return x->rc = rc;
        off += m;
    }
    return x->rc = corio_stream_shutdown(x->s);
}

static int recv_task(void *arg)
{
    xfer *x = arg;
    unsigned char buf[7000];
    for (;;) {
        ssize_t n = corio_stream_read(x->s, buf, sizeof buf);
        if (n < 0)
            return x->rc = (int)n;
        if (n == 0)
            return x->rc = 0;
        for (ssize_t i = 0; i < n; i++)
            if (buf[i] != pattern(x->seed, x->got + (size_t)i))
                return x->rc = -EILSEQ;
        x->got += (size_t)n;
    }
}

static int pair_body(void *arg)
{
    (void)arg;
    peer cl = {.ctx = client_ctx("x-test,h2", 0), .name = "localhost"};
    peer sv = {.ctx = server_ctx("server", "h2,http/1.1", 0)};
    CHECK_EQ(handshake_pair(&cl, &sv, 0), 0);
    CHECK_EQ(sv.rc, 0);
    CHECK(strcmp(corio_tls_alpn(cl.tls), "h2") == 0);
    CHECK(strcmp(corio_tls_alpn(sv.tls), "h2") == 0);
    CHECK(strcmp(corio_tls_server_name(sv.tls), "localhost") == 0);
    CHECK_EQ(corio_tls_resumed(cl.tls), 0);
    CHECK_EQ(corio_stream_fd(cl.tls), -1);

    /* 3 MB each way at once, each side reading and writing in two tasks;
     * the shutdowns' close_notify end both readers with 0. */
    xfer c2s = {.s = cl.tls, .n = 3000000, .seed = 1};
    xfer s2c = {.s = sv.tls, .n = 3000000, .seed = 2};
    xfer rs = {.s = sv.tls, .seed = 1}, rc_ = {.s = cl.tls, .seed = 2};
    corio_task *t[4];
    CHECK_EQ(corio_task_spawn(&t[0], send_task, &c2s), 0);
    CHECK_EQ(corio_task_spawn(&t[1], send_task, &s2c), 0);
    CHECK_EQ(corio_task_spawn(&t[2], recv_task, &rs), 0);
    CHECK_EQ(corio_task_spawn(&t[3], recv_task, &rc_), 0);
    CHECK_EQ(corio_gather(t, 4, NULL), 0);
    CHECK_EQ(c2s.rc, 0);
    CHECK_EQ(s2c.rc, 0);
    CHECK_EQ(rs.rc, 0);
    CHECK_EQ(rc_.rc, 0);
    CHECK_EQ(rs.got, 3000000);
    CHECK_EQ(rc_.got, 3000000);
    /* After shutdown, writing is refused; reading stays at end. */
    CHECK_EQ(corio_stream_write(cl.tls, "x", 1), -EPIPE);
    char c;
    CHECK_EQ(corio_stream_read(cl.tls, &c, 1), 0);
    corio_stream_close(cl.tls);
    corio_stream_close(sv.tls);

    /* The second connection resumes; the server agrees. */
    CHECK_EQ(handshake_pair(&cl, &sv, 0), 0);
    CHECK_EQ(corio_tls_resumed(cl.tls), 1);
    CHECK_EQ(corio_tls_resumed(sv.tls), 1);
    CHECK_EQ(corio_stream_write(sv.tls, "hi", 2), 0);
    CHECK_EQ(corio_stream_flush(sv.tls), 0);
    char buf[8];
    CHECK_EQ(corio_stream_read_exactly(cl.tls, buf, 2), 0);
    CHECK(memcmp(buf, "hi", 2) == 0);
    corio_stream_close(cl.tls);
    corio_stream_close(sv.tls);
    corio_tls_ctx_free(cl.ctx);
    corio_tls_ctx_free(sv.ctx);
    return 0;
}

TEST(tls, pair_transfer_and_resume)
{
    pki_make();
    CHECK_EQ(tst_run(pair_body, NULL), 0);
    pki_remove();
    tst_leak_check();
}

static int pair_refusals_body(void *arg)
{
    (void)arg;
    /* A self-signed server: the client refuses, the server hears why. */
    peer cl = {.ctx = client_ctx(NULL, 0), .name = "localhost"};
    peer sv = {.ctx = server_ctx("self", NULL, 0)};
    CHECK_EQ(handshake_pair(&cl, &sv, 0), CORIO_ECERT);
    CHECK(cl.tls == NULL);
    CHECK_EQ(sv.rc, CORIO_ETLS);
    CHECK(strstr(sv.why.text, "alert") != NULL);
    CHECK(strstr(cl.why.text, "certificate verify failed") != NULL);
    corio_tls_ctx_free(sv.ctx);

    /* Mutual TLS: a client without a certificate is refused by the
     * server (in TLS 1.3 the client learns it at its first read). */
    sv.ctx = server_ctx("server", NULL, CORIO_TLS_VERIFY_CLIENT);
    handshake_pair(&cl, &sv, 0);
    CHECK_EQ(sv.rc, CORIO_ECERT);
    if (cl.rc == 0) {
        char c;
        CHECK_EQ(corio_stream_read(cl.tls, &c, 1), CORIO_ETLS);
        CHECK(strstr(corio_tls_error(cl.tls), "certificate required") != NULL);
        corio_stream_close(cl.tls);
    }
    corio_tls_ctx_free(cl.ctx);

    /* With its certificate it is let in. */
    corio_tls_config c = {.ca_file = P("ca.pem"),
                          .cert_file = P("client.pem"),
                          .key_file = P("client.key")};
    CHECK_EQ(corio_tls_ctx_new(&cl.ctx, CORIO_TLS_CLIENT, &c), 0);
    CHECK_EQ(handshake_pair(&cl, &sv, 0), 0);
    CHECK_EQ(sv.rc, 0);
    corio_stream_close(cl.tls);
    corio_stream_close(sv.tls);
    corio_tls_ctx_free(cl.ctx);
    corio_tls_ctx_free(sv.ctx);
    return 0;
}

TEST(tls, pair_refusals_and_mutual_tls)
{
    pki_make();
    CHECK_EQ(tst_run(pair_refusals_body, NULL), 0);
    pki_remove();
    tst_leak_check();
}

static int not_tls_body(void *arg)
{
    (void)arg;
    corio_stream *a, *b, *t;
    corio_tls_ctx *ctx = client_ctx(NULL, 0);
    CHECK_EQ(corio_stream_pair(&a, &b, 0), 0);
    const char *resp = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
    CHECK_EQ(corio_stream_write(b, resp, strlen(resp)), 0);
    CHECK_EQ(corio_stream_shutdown(b), 0);
    corio_tls_opts o = {.ctx = ctx, .server_name = "localhost", .detail = &why};
    CHECK_EQ(corio_tls_client(&t, a, &o), CORIO_ETLS);
    CHECK(strstr(why.text, "handshake: ") == why.text);
    corio_stream_close(b);

    /* A peer that hangs up during the handshake. */
    CHECK_EQ(corio_stream_pair(&a, &b, 0), 0);
    CHECK_EQ(corio_stream_shutdown(b), 0);
    CHECK_EQ(corio_tls_client(&t, a, &o), CORIO_ETLS);
    CHECK(strstr(why.text, "handshake: the peer closed the connection") !=
          NULL);
    corio_stream_close(b);
    /* One gone altogether: the error of the stream underneath. */
    CHECK_EQ(corio_stream_pair(&a, &b, 0), 0);
    corio_stream_close(b);
    CHECK_EQ(corio_tls_client(&t, a, &o), -EPIPE);
    corio_tls_ctx_free(ctx);
    return 0;
}

TEST(tls, not_tls_peer)
{
    pki_make();
    CHECK_EQ(tst_run(not_tls_body, NULL), 0);
    pki_remove();
    tst_leak_check();
}

static int truncation_body(void *arg)
{
    (void)arg;
    for (int ragged = 0; ragged < 2; ragged++) {
        peer cl = {.ctx = client_ctx(NULL, ragged ? CORIO_TLS_RAGGED_EOF : 0),
                   .name = "localhost"};
        peer sv = {.ctx = server_ctx("server", NULL, 0)};
        CHECK_EQ(handshake_pair(&cl, &sv, 0), 0);
        CHECK_EQ(corio_stream_write(sv.tls, "data", 4), 0);
        CHECK_EQ(corio_stream_flush(sv.tls), 0);
        corio_stream_close(sv.tls); /* no close_notify */
        char buf[16];
        CHECK_EQ(corio_stream_read(cl.tls, buf, sizeof buf), 4);
        if (ragged) {
            CHECK_EQ(corio_stream_read(cl.tls, buf, sizeof buf), 0);
        } else {
            CHECK_EQ(corio_stream_read(cl.tls, buf, sizeof buf), CORIO_ETLS);
            CHECK(strstr(corio_tls_error(cl.tls), "without close_notify") !=
                  NULL);
            /* Sticky. */
            CHECK_EQ(corio_stream_read(cl.tls, buf, sizeof buf), CORIO_ETLS);
            CHECK_EQ(corio_stream_write(cl.tls, "x", 1), 0); /* buffered */
            CHECK_EQ(corio_stream_flush(cl.tls), CORIO_ETLS);
        }
        corio_stream_close(cl.tls);
        corio_tls_ctx_free(cl.ctx);
        corio_tls_ctx_free(sv.ctx);
    }
    return 0;
}

TEST(tls, truncation_is_an_error)
{
    pki_make();
    CHECK_EQ(tst_run(truncation_body, NULL), 0);
    pki_remove();
    tst_leak_check();
}

/* STARTTLS (asyncio's start_tls): a plaintext exchange, then both ends
 * upgrade the same streams.  The client sends its ClientHello right behind
 * its plaintext line, so the server's read_line buffers part of the
 * handshake, which corio_tls_server must take from the buffer. */
static int starttls_server(void *arg)
{
    peer *p = arg;
    char line[64];
    if (corio_stream_read_line(p->under, line, sizeof line) <= 0 ||
        strcmp(line, "STARTTLS\n") != 0)
        return p->rc = -EPROTO;
    corio_tls_opts o = {.ctx = p->ctx};
    p->rc = corio_tls_server(&p->tls, p->under, &o);
    if (p->rc == 0 && corio_stream_read_line(p->tls, line, sizeof line) > 0 &&
        strcmp(line, "secret\n") == 0)
        p->rc = corio_stream_write(p->tls, "ok\n", 3);
    if (p->rc == 0)
        p->rc = corio_stream_shutdown(p->tls);
    return 0;
}

static int starttls_body(void *arg)
{
    (void)arg;
    peer sv = {.ctx = server_ctx("server", NULL, 0)};
    corio_tls_ctx *cctx = client_ctx(NULL, 0);
    corio_stream *c, *t;
    CHECK_EQ(corio_stream_pair(&c, &sv.under, 0), 0);
    corio_task *task;
    CHECK_EQ(corio_task_spawn(&task, starttls_server, &sv), 0);
    CHECK_EQ(corio_stream_write(c, "STARTTLS\n", 9), 0); /* not flushed */
    corio_tls_opts o = {.ctx = cctx, .server_name = "localhost"};
    CHECK_EQ(corio_tls_client(&t, c, &o), 0); /* line + ClientHello */
    CHECK_EQ(corio_stream_write(t, "secret\n", 7), 0);
    CHECK_EQ(corio_stream_flush(t), 0);
    char line[16];
    CHECK_EQ(corio_stream_read_line(t, line, sizeof line), 3);
    CHECK(strcmp(line, "ok\n") == 0);
    CHECK_EQ(corio_stream_read_line(t, line, sizeof line), 0);
    CHECK_EQ(corio_task_join(task, NULL), 0);
    CHECK_EQ(sv.rc, 0);
    corio_stream_close(t);
    corio_stream_close(sv.tls);
    corio_tls_ctx_free(cctx);
    corio_tls_ctx_free(sv.ctx);
    return 0;
}

TEST(tls, starttls_upgrade)
{
    pki_make();
    CHECK_EQ(tst_run(starttls_body, NULL), 0);
    pki_remove();
    tst_leak_check();
}

/* ---- cancellation and timeouts ---------------------------------------- */

typedef struct hs {
    corio_stream *under;
    corio_tls_ctx *ctx;
    corio_stream *tls;
    int rc;
} hs;

static int client_task(void *arg)
{
    hs *h = arg;
    corio_tls_opts o = {.ctx = h->ctx, .server_name = "localhost"};
    h->rc = corio_tls_client(&h->tls, h->under, &o);
    return 0;
}

static int handshake_cancel_body(void *arg)
{
    (void)arg;
    corio_tls_ctx *ctx = client_ctx(NULL, 0);
    corio_stream *a, *b, *t = (corio_stream *)1;
    char buf[512];

    /* A timeout: the peer never answers. */
    CHECK_EQ(corio_stream_pair(&a, &b, 0), 0);
    corio_tls_opts o = {.ctx = ctx, .server_name = "localhost"};
    int64_t t0 = corio_now();
    CHECK_EQ(corio_timeout_begin(5 * CORIO_SECOND), 0);
    CHECK_EQ(corio_tls_client(&t, a, &o), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(corio_now() - t0, 5 * CORIO_SECOND);
    CHECK(t == NULL);
    /* The ClientHello went out, then the stream was closed. */
    ssize_t n = corio_stream_read(b, buf, sizeof buf);
    CHECK(n > 5 && buf[0] == 0x16); /* a handshake record */
    while ((n = corio_stream_read(b, buf, sizeof buf)) > 0)
        ;
    CHECK_EQ(n, 0);
    corio_stream_close(b);

    /* A cancellation while it waits. */
    hs h = {.ctx = ctx};
    CHECK_EQ(corio_stream_pair(&h.under, &b, 0), 0);
    corio_task *task;
    CHECK_EQ(corio_task_spawn(&task, client_task, &h), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    corio_task_cancel(task);
    CHECK_EQ(corio_task_join(task, NULL), 0);
    CHECK_EQ(h.rc, -ECANCELED);
    CHECK(h.tls == NULL);
    corio_stream_close(b);

    /* A server handshake times out the same way. */
    corio_tls_ctx *sctx = server_ctx("server", NULL, 0);
    CHECK_EQ(corio_stream_pair(&a, &b, 0), 0);
    corio_tls_opts so = {.ctx = sctx};
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    CHECK_EQ(corio_tls_server(&t, a, &so), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    corio_stream_close(b);
    corio_tls_ctx_free(sctx);
    corio_tls_ctx_free(ctx);
    return 0;
}

TEST(tls, handshake_timeout_and_cancel)
{
    pki_make();
    CHECK_EQ(tst_run(handshake_cancel_body, NULL), 0);
    pki_remove();
    tst_leak_check();
}

/* A relay between two pairs that forwards the server's bytes to the client
 * only as far as `allow` says, so a test can cut a record in two. */
typedef struct relay {
    corio_stream *from, *to;
    size_t allow, passed;
    corio_event more;
} relay;

static int relay_task(void *arg)
{
    relay *r = arg;
    unsigned char buf[1];
    for (;;) {
        while (r->passed >= r->allow) {
            corio_event_clear(&r->more);
            if (corio_event_wait(&r->more) < 0)
                return 0;
        }
        /* One byte at a time, so that a read already waiting when the
         * test lowers `allow` takes a byte that still counts toward it. */
        ssize_t n = corio_stream_read(r->from, buf, 1);
        if (n <= 0)
            return 0;
        if (corio_stream_write(r->to, buf, (size_t)n) < 0 ||
            corio_stream_flush(r->to) < 0)
            return 0;
        r->passed += (size_t)n;
    }
}

static int copy_task(void *arg)
{
    corio_stream **s = arg; /* from, to */
    char buf[4096];
    ssize_t n;
    while ((n = corio_stream_read(s[0], buf, sizeof buf)) > 0)
        if (corio_stream_write(s[1], buf, (size_t)n) < 0 ||
            corio_stream_flush(s[1]) < 0)
            break;
    return 0;
}

static int read_cut_record_body(void *arg)
{
    (void)arg;
    corio_tls_ctx *cctx = client_ctx(NULL, 0),
                  *sctx = server_ctx("server", NULL, 0);
    /* client c <-> r1 | relay | r2 <-> s server */
    corio_stream *c, *r1, *r2, *s;
    CHECK_EQ(corio_stream_pair(&c, &r1, 0), 0);
    CHECK_EQ(corio_stream_pair(&r2, &s, 0), 0);
    relay down = {.from = r2, .to = r1, .allow = (size_t)-1};
    corio_event_init(&down.more);
    corio_stream *up[2] = {r1, r2};
    corio_task *rt, *ct;
    CHECK_EQ(corio_task_spawn(&rt, relay_task, &down), 0);
    CHECK_EQ(corio_task_spawn(&ct, copy_task, up), 0);

    peer sv = {.under = s, .ctx = sctx};
    corio_task *st;
    CHECK_EQ(corio_task_spawn(&st, server_task, &sv), 0);
    corio_stream *t;
    corio_tls_opts o = {.ctx = cctx, .server_name = "localhost"};
    CHECK_EQ(corio_tls_client(&t, c, &o), 0);
    CHECK_EQ(corio_task_join(st, NULL), 0);
    CHECK_EQ(sv.rc, 0);
    /* Let the tickets through, then read nothing for a while. */
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    char buf[64];
    CHECK_EQ(corio_stream_read(t, buf, sizeof buf), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);

    /* Now only the first 10 bytes of a record get through. */
    down.allow = down.passed + 10;
    CHECK_EQ(corio_stream_write(sv.tls, "one whole record", 16), 0);
    CHECK_EQ(corio_stream_flush(sv.tls), 0);
    CHECK_EQ(corio_timeout_begin(CORIO_SECOND), 0);
    CHECK_EQ(corio_stream_read(t, buf, sizeof buf), -ETIMEDOUT);
    CHECK_EQ(corio_timeout_end(), -ETIMEDOUT);
    CHECK_EQ(down.passed, down.allow);
    /* A cancelled read the same. */
    CHECK_EQ(corio_timeout_begin(0), 0);
    CHECK_EQ(corio_stream_read(t, buf, sizeof buf), -ETIMEDOUT);
    corio_timeout_end();
    /* The rest arrives: the whole record is read, nothing lost. */
    down.allow = (size_t)-1;
    corio_event_set(&down.more);
    ssize_t n = corio_stream_read(t, buf, sizeof buf);
    CHECK_EQ(n, 16);
    CHECK(memcmp(buf, "one whole record", 16) == 0);

    corio_stream_close(t);
    corio_stream_close(sv.tls);
    corio_task_cancel(rt);
    corio_task_cancel(ct);
    CHECK_EQ(corio_task_join(rt, NULL), 0);
    CHECK_EQ(corio_task_join(ct, NULL), 0);
    corio_stream_close(r1);
    corio_stream_close(r2);
    corio_event_destroy(&down.more);
    corio_tls_ctx_free(cctx);
    corio_tls_ctx_free(sctx);
    return 0;
}

TEST(tls, read_interrupted_mid_record)
{
    pki_make();
    CHECK_EQ(tst_run(read_cut_record_body, NULL), 0);
    pki_remove();
    tst_leak_check();
}

static int write_interrupted_body(void *arg)
{
    (void)arg;
    peer cl = {.ctx = client_ctx(NULL, 0), .name = "localhost"};
    peer sv = {.ctx = server_ctx("server", NULL, 0)};
    /* A small pipe between them: writes soon wait for the reader. */
    CHECK_EQ(handshake_pair(&cl, &sv, 4096), 0);

    /* Small writes (buffered) and big ones (over the 64 KiB write buffer:
     * straight from the caller's buffer), each interrupted by a timeout
     * while nobody reads. */
    static unsigned char big[400000];
    static const size_t sizes[] = {1000, 5000, 50000, 1000, 100000, 20000};
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = pattern(9, i);
    size_t sent = 0;
    for (int round = 0; round < 6; round++) {
        CHECK_EQ(corio_timeout_begin((round + 1) * CORIO_MS), 0);
        size_t m = sizes[round];
        int rc = corio_stream_write(cl.tls, big + sent, m);
        CHECK(rc == 0 || rc == -ETIMEDOUT);
        if (rc == 0)
            sent += m; /* taken whole: buffered or written */
        rc = corio_stream_flush(cl.tls);
        CHECK(rc == 0 || rc == -ETIMEDOUT);
        corio_timeout_end();
    }
    /* A reader comes; the flush completes and exactly the bytes taken
     * arrive, in order, once each. */
    xfer rx = {.s = sv.tls, .seed = 9};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, recv_task, &rx), 0);
    CHECK_EQ(corio_stream_write(cl.tls, big + sent, sizeof big - sent), 0);
    CHECK_EQ(corio_stream_shutdown(cl.tls), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(rx.rc, 0);
    CHECK_EQ(rx.got, sizeof big);

    /* The other way: a shutdown that cannot get the data and close_notify
     * out times out, and finishes once the peer reads. */
    CHECK_EQ(corio_timeout_begin(CORIO_MS), 0);
    int rc = corio_stream_write(sv.tls, big, sizeof big);
    CHECK(rc == 0 || rc == -ETIMEDOUT);
    CHECK_EQ(corio_stream_shutdown(sv.tls), -ETIMEDOUT);
    corio_timeout_end();
    xfer rx2 = {.s = cl.tls, .seed = 9};
    CHECK_EQ(corio_task_spawn(&t, recv_task, &rx2), 0);
    CHECK_EQ(corio_stream_shutdown(sv.tls), 0);
    CHECK_EQ(corio_task_join(t, NULL), 0);
    CHECK_EQ(rx2.rc, 0);
    CHECK_EQ(rx2.got, rc == 0 ? sizeof big : 0);
    corio_stream_close(cl.tls);
    corio_stream_close(sv.tls);
    corio_tls_ctx_free(cl.ctx);
    corio_tls_ctx_free(sv.ctx);
    return 0;
}

TEST(tls, write_interrupted_nothing_lost)
{
    pki_make();
    CHECK_EQ(tst_run(write_interrupted_body, NULL), 0);
    pki_remove();
    tst_leak_check();
}

static int stream_close_body(void *arg)
{
    (void)arg;
    peer cl = {.ctx = client_ctx(NULL, 0), .name = "localhost"};
    peer sv = {.ctx = server_ctx("server", NULL, 0)};
    CHECK_EQ(handshake_pair(&cl, &sv, 0), 0);
    /* A task blocked reading a TLS stream that another task closes. */
    xfer rx = {.s = cl.tls, .seed = 0};
    corio_task *t;
    CHECK_EQ(corio_task_spawn(&t, recv_task, &rx), 0);
    CHECK_EQ(corio_sleep(CORIO_MS), 0);
    corio_stream_close(cl.tls);
    int res;
    CHECK_EQ(corio_task_join(t, &res), 0);
    CHECK_EQ(res, -EBADF);
    /* The server sees the end of the connection. */
    char c;
    CHECK_EQ(corio_stream_read(sv.tls, &c, 1), CORIO_ETLS);
    corio_stream_close(sv.tls);
    corio_tls_ctx_free(cl.ctx);
    corio_tls_ctx_free(sv.ctx);
    return 0;
}

TEST(tls, close_while_reading)
{
    pki_make();
    CHECK_EQ(tst_run(stream_close_body, NULL), 0);
    pki_remove();
    tst_leak_check();
}

/* ---- fault sweep ------------------------------------------------------ */

typedef struct sweep {
    corio_tls_ctx *cctx, *sctx;
} sweep;

typedef struct sweep_srv {
    corio_stream *under;
    corio_tls_ctx *ctx;
    int rc;
} sweep_srv;

static int sweep_server(void *arg)
{
    sweep_srv *p = arg;
    corio_stream *t;
    corio_tls_opts o = {.ctx = p->ctx};
    char buf[8];
    int rc = corio_tls_server(&t, p->under, &o);
    if (rc < 0)
        return p->rc = rc;
    rc = corio_stream_read_exactly(t, buf, 4);
    if (rc == 0)
        rc = corio_stream_write(t, "pong", 4);
    if (rc == 0)
        rc = corio_stream_shutdown(t);
    corio_stream_close(t);
    return p->rc = rc;
}

/* The scenario: a handshake over a socketpair, ping, pong, close_notify
 * one way.  Returns 0 or the first error. */
static int sweep_body(void *arg)
{
    sweep *w = arg;
    int sv[2];
    corio_stream *a = NULL, *t = NULL;
    sweep_srv p = {.ctx = w->sctx};
    corio_task *task = NULL;
    char buf[8];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    int rc = corio_stream_from_fd(&a, sv[0], NULL);
    if (rc < 0) {
        close(sv[0]);
        close(sv[1]);
        return rc;
    }
    rc = corio_stream_from_fd(&p.under, sv[1], NULL);
    if (rc < 0) {
        close(sv[1]);
        corio_stream_close(a);
        return rc;
    }
    rc = corio_task_spawn(&task, sweep_server, &p);
    if (rc < 0) {
        corio_stream_close(a);
        corio_stream_close(p.under);
        return rc;
    }
    corio_tls_opts o = {.ctx = w->cctx, .server_name = "localhost"};
    rc = corio_tls_client(&t, a, &o);
    if (rc == 0)
        rc = corio_stream_write(t, "ping", 4);
    if (rc == 0)
        rc = corio_stream_flush(t);
    if (rc == 0)
        rc = corio_stream_read_exactly(t, buf, 4);
    if (rc == 0 && corio_stream_read(t, buf, 1) != 0)
        rc = -EPROTO;
    corio_stream_close(t);
    int jrc = corio_task_join(task, NULL);
    if (rc == 0)
        rc = jrc < 0 ? jrc : p.rc;
    return rc;
}

TEST_T(tls, fault_sweep, 120)
{
    pki_make();
    sweep w = {client_ctx(NULL, 0), server_ctx("server", NULL, 0)};
    corio_options o = {.virtual_clock = 1, .threads = 2};
    CHECK_EQ(tst_run_ex(&o, sweep_body, &w), 0);
    int fds0 = tst_count_fds();
    long n;
    int failures = 0;
    for (n = 1;; n++) {
        corio__fault_arm(n, ENOMEM);
        int rc = tst_run_ex(&o, sweep_body, &w);
        int fired = corio__fault_fired();
        corio__fault_disarm();
        if (!fired) {
            CHECK_EQ(rc, 0);
            break; /* fewer than n calls: all swept */
        }
        failures += rc < 0;
        CHECK_EQ(tst_count_fds(), fds0);             /* nothing leaked */
        CHECK_EQ(tst_run_ex(&o, sweep_body, &w), 0); /* all is well */
    }
    CHECK(n > 20);
    CHECK(failures > 0);
    corio_tls_ctx_free(w.cctx);
    corio_tls_ctx_free(w.sctx);
    pki_remove();
    tst_leak_check();
}

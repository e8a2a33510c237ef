/* tls_client.c — a TLS client: asyncio's
 *
 *     ctx = ssl.create_default_context(cafile="ca.pem")
 *     reader, writer = await asyncio.open_connection(
 *         "127.0.0.1", port, ssl=ctx, server_hostname="localhost")
 *     writer.write(b"GET /hello.txt HTTP/1.0\r\n\r\n")
 *     print(await reader.read())
 *
 * in C with corio.  The program brings its own server: it makes a
 * throwaway certificate authority and a certificate for "localhost" with
 * the openssl command, and starts `openssl s_server -WWW` (a tiny HTTPS
 * file server) on a loopback port the system picks.  Then it
 *   1. connects over TCP and upgrades the stream to TLS, verifying the
 *      server's certificate against the throwaway CA and the name
 *      "localhost", and offering ALPN "h2,http/1.1";
 *   2. sends an HTTP/1.0 request and prints the response;
 *   3. connects again: the client's context resumes the TLS session;
 *   4. connects asking for another name: the certificate is refused.
 *
 * Verification is on by default: a context made with NULL config trusts
 * the system's CA store, and only CORIO_TLS_NO_VERIFY turns checking off. */
#include <corio.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>

static char dir[64]; /* the throwaway PKI and the served file */

/* Run a command to completion, its output discarded; 0 if it succeeded. */
static int run(const char *const *argv)
{
    corio_process *p;
    corio_process_opts o = {.stdout_mode = CORIO_STDIO_DEVNULL,
                            .stderr_mode = CORIO_STDIO_DEVNULL,
                            .cwd = dir};
    int status = -1;
    int rc = corio_process_spawn(&p, argv, &o);
    if (rc == 0)
        rc = corio_process_wait(p, &status);
    corio_process_close(p);
    return rc < 0 ? rc : status;
}

#define RUN(...) run((const char *const[]){__VA_ARGS__, NULL})
#define EC "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"

/* A CA, a certificate for localhost signed by it, and a file to serve. */
static int make_pki(void)
{
    int rc = RUN("openssl", "req", "-x509", EC, "-keyout", "ca.key", "-out",
                 "ca.pem", "-subj", "/CN=throwaway CA", "-days", "1");
    if (rc == 0)
        rc = RUN("openssl", "req", "-new", EC, "-keyout", "server.key", "-out",
                 "server.csr", "-subj", "/CN=localhost");
    if (rc == 0)
        rc = RUN(
            "sh", "-c",
            "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext "
            "&& "
            "printf 'Hello from openssl s_server, over TLS.\\n' > hello.txt");
    if (rc == 0)
        rc = RUN("openssl", "x509", "-req", "-in", "server.csr", "-CA",
                 "ca.pem", "-CAkey", "ca.key", "-set_serial", "1", "-days", "1",
                 "-extfile", "san.ext", "-out", "server.pem");
    return rc;
}

/* Start the server and learn its port from its "ACCEPT 127.0.0.1:PORT". */
static int start_server(corio_process **srv, int *port)
{
    const char *argv[] = {"openssl", "s_server",   "-accept",  "127.0.0.1:0",
                          "-cert",   "server.pem", "-key",     "server.key",
                          "-WWW",    "-alpn",      "http/1.1", NULL};
    corio_process_opts o = {.stdin_mode = CORIO_STDIO_DEVNULL,
                            .stdout_mode = CORIO_STDIO_PIPE,
                            .stderr_mode = CORIO_STDIO_STDOUT,
                            .cwd = dir};
    char line[256];
    int rc = corio_process_spawn(srv, argv, &o);
    *port = 0;
    while (rc == 0 && !*port) {
        ssize_t n = corio_stream_read_line(corio_process_stdout(*srv), line,
                                           sizeof line);
        if (n <= 0)
            return n < 0 ? (int)n : -EPIPE;
        if (!strncmp(line, "ACCEPT 127.0.0.1:", 17))
            *port = atoi(line + 17);
    }
    return rc;
}

/* Connect, upgrade to TLS, say what was agreed.  Returns the TLS stream. */
static int connect_tls(corio_stream **out, int port, corio_tls_ctx *ctx,
                       const char *name, int n)
{
    corio_stream *tcp;
    int rc = corio_tcp_connect(&tcp, "127.0.0.1", port);
    if (rc < 0)
        return rc;
    corio_error_detail why; /* a refused handshake leaves no stream to ask */
    corio_tls_opts o = {.ctx = ctx, .server_name = name, .detail = &why};
    rc = corio_tls_client(out, tcp, &o); /* owns tcp from now on */
    if (rc < 0) {
        printf("connect %d (asking for %s): refused: %s\n", n, name, why.text);
        return rc;
    }
    printf("connect %d: %s, ALPN %s, certificate verified for %s, %s session\n",
           n, corio_tls_version(*out),
           corio_tls_alpn(*out) ? corio_tls_alpn(*out) : "-",
           corio_tls_server_name(*out),
           corio_tls_resumed(*out) ? "resumed" : "new");
    return 0;
}

/* Send a GET and print the response line by line until end of stream. */
static int get(corio_stream *s, const char *path)
{
    char req[128], line[256];
    snprintf(req, sizeof req, "GET %s HTTP/1.0\r\n\r\n", path);
    printf("> GET %s HTTP/1.0\n", path);
    int rc = corio_stream_write(s, req, strlen(req));
    if (rc == 0)
        rc = corio_stream_flush(s);
    while (rc == 0) {
        ssize_t n = corio_stream_read_line(s, line, sizeof line);
        if (n < 0)
            return (int)n; /* CORIO_ETLS: ended without close_notify */
        if (n == 0)
            break;
        line[strcspn(line, "\r\n")] = '\0';
        printf(line[0] ? "< %s\n" : "<\n", line);
    }
    if (rc == 0)
        printf("end of stream: the server sent close_notify\n");
    return rc;
}

static int fetch(void *arg)
{
    (void)arg;
    corio_process *srv = NULL;
    corio_tls_ctx *ctx = NULL;
    corio_stream *s;
    int port, rc;

    rc = make_pki();
    if (rc == 0)
        rc = start_server(&srv, &port);
    if (rc != 0) {
        fprintf(stderr, "could not start the test server (%d)\n", rc);
        corio_process_close(srv);
        return 1;
    }
    printf("server: openssl s_server -WWW on 127.0.0.1 (a port the system "
           "picked)\n");

    /* Trust the throwaway CA (instead of the system store); offer h2 and
     * http/1.1.  The context also keeps sessions for resumption. */
    char ca[96];
    snprintf(ca, sizeof ca, "%s/ca.pem", dir);
    corio_tls_config cfg = {.ca_file = ca, .alpn = "h2,http/1.1"};
    rc = corio_tls_ctx_new(&ctx, CORIO_TLS_CLIENT, &cfg);

    if (rc == 0)
        rc = connect_tls(&s, port, ctx, "localhost", 1);
    if (rc == 0) {
        rc = get(s, "/hello.txt");
        corio_stream_close(s);
    }
    if (rc == 0) {
        rc = connect_tls(&s, port, ctx, "localhost", 2);
        if (rc == 0) {
            corio_stream_shutdown(s); /* our close_notify */
            corio_stream_close(s);
        }
    }
    if (rc == 0) {
        int refused = connect_tls(&s, port, ctx, "www.example.com", 3);
        printf("  corio_strerror: %s\n", corio_strerror(refused));
        if (refused == 0) {
            corio_stream_close(s);
            rc = 1; /* it must not have worked */
        }
    }
    if (rc < 0)
        fprintf(stderr, "error: %s\n", corio_strerror(rc));

    corio_tls_ctx_free(ctx);
    corio_process_close(srv); /* kills and reaps the server */
    RUN("rm", "-rf", dir);
    return rc == 0 ? 0 : 1;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    strcpy(dir, "/tmp/corio-tls-example-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    int result;
    int rc = corio_run(fetch, NULL, &result);
    return rc < 0 || result != 0;
}

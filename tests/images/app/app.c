/*
 * bluegreen test app: a tiny HTTP/1.1 server whose behaviour is set by env vars,
 * so tests and the demo can play every kind of release (healthy, slow, broken...).
 * Built static (`gcc -static -O2 -pthread`) into the image bluegreen-test/app.
 *
 * Environment (all optional; durations in seconds accept fractions, e.g. 0.5):
 *   APP_PORT          listening port (default 8000)
 *   APP_VERSION       version reported in X-App-Version and GET / (default "dev")
 *   BLUEGREEN_COLOR   reported in X-App-Color (default "none")
 *   APP_HEALTH        behaviour of /health and /health/simple:
 *                       ok       200 "ok" (default)
 *                       fail     503 always
 *                       slow     wait APP_HEALTH_DELAY s (default 10), then 200 "ok"
 *                       flap     200 and 503 alternately (counted across all connections)
 *                       redirect 301 to /login
 *   APP_START_DELAY   wait this long before opening the listening socket (slow boot)
 *   APP_DIE_AFTER     exit with code 3 this long after start (a crash)
 *   APP_FAIL_AFTER    from this long after start, every non-health request answers 500
 *   APP_FAIL_HEALTH   with APP_FAIL_AFTER: "1" makes health answer 500 too
 *   APP_SLOW_AFTER    from this long after start, non-health requests take APP_SLOW_MS
 *   APP_SLOW_MS       extra milliseconds for APP_SLOW_AFTER (default 1000)
 *
 * Routes (every response has Content-Length, X-App-Version and X-App-Color):
 *   GET  /              200 "version=<v> color=<c>\n"
 *   GET  /health, /health/simple   see APP_HEALTH
 *   GET  /slow?s=N      sleep N seconds (float), then 200 "slept <N>\n"
 *   GET  /env?name=X    200 "set\n" or "unset\n"; never the value
 *   GET  /login         200 "login\n" (target of APP_HEALTH=redirect)
 *   POST <any path>     read the body (Content-Length or chunked), 200 "<bytes>\n"
 *   other GET paths     404; other methods 405
 *
 * Keep-alive follows HTTP/1.1 (HTTP/1.0 only with "Connection: keep-alive"); idle
 * connections close after 30 s. One thread per connection. SIGTERM/SIGINT exit 0 at
 * once (the binary is PID 1 in its container, so it must handle them itself).
 * On start it prints "app <version> listening on :<port>".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 16384
#define MAX_CONNS 4096
#define IDLE_TIMEOUT_S 30
#define MAX_SLEEP_S 600.0

enum health_mode { H_OK, H_FAIL, H_SLOW, H_FLAP, H_REDIRECT };

static struct {
    int port;
    const char *version;
    const char *color;
    enum health_mode health;
    double health_delay;
    double fail_after;  /* < 0: never */
    int fail_health;
    double slow_after;  /* < 0: never */
    double slow_ms;
} cfg;

static struct timespec started;
static atomic_uint flap_counter;
static atomic_int active_conns;

/* ---------- small utilities ---------- */

static double env_num(const char *name, double def) {
    const char *v = getenv(name);
    if (!v || !*v) return def;
    char *end;
    double d = strtod(v, &end);
    if (end == v || d < 0) {
        fprintf(stderr, "app: ignoring bad %s=%s\n", name, v);
        return def;
    }
    return d;
}

static const char *env_str(const char *name, const char *def) {
    const char *v = getenv(name);
    return (v && *v) ? v : def;
}

static double elapsed(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - started.tv_sec) + (now.tv_nsec - started.tv_nsec) / 1e9;
}

static void sleep_s(double s) {
    if (s <= 0) return;
    if (s > MAX_SLEEP_S) s = MAX_SLEEP_S;
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

static void on_term(int sig) {
    static const char msg[] = "app: got termination signal, exiting\n";
    (void)sig;
    ssize_t r = write(STDOUT_FILENO, msg, sizeof msg - 1);
    (void)r;
    _exit(0);
}

static void *die_later(void *arg) {
    double at = *(double *)arg;
    sleep_s(at - elapsed());
    printf("app %s: APP_DIE_AFTER reached, exiting with code 3\n", cfg.version);
    fflush(stdout);
    _exit(3);
    return NULL;
}

/* ---------- connection buffer ---------- */

struct conn {
    int fd;
    size_t len;   /* bytes in buf */
    char buf[BUF_SIZE + 1];
};

/* Read more bytes into the buffer. Returns bytes read, 0 on EOF/timeout/error. */
static ssize_t conn_fill(struct conn *c) {
    if (c->len >= BUF_SIZE) return 0;
    for (;;) {
        ssize_t n = recv(c->fd, c->buf + c->len, BUF_SIZE - c->len, 0);
        if (n > 0) {
            c->len += (size_t)n;
            c->buf[c->len] = '\0';
            return n;
        }
        if (n < 0 && errno == EINTR) continue;
        return 0;
    }
}

static void conn_consume(struct conn *c, size_t n) {
    if (n > c->len) n = c->len;
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
    c->buf[c->len] = '\0';
}

/* Discard `n` body bytes, counting them. Returns 0 on success. */
static int conn_skip(struct conn *c, unsigned long long n, unsigned long long *count) {
    while (n > 0) {
        if (c->len == 0 && conn_fill(c) == 0) return -1;
        size_t take = c->len < n ? c->len : (size_t)n;
        conn_consume(c, take);
        n -= take;
        *count += take;
    }
    return 0;
}

/* Take one CRLF-terminated line (without CRLF) into out. Returns 0 on success. */
static int conn_line(struct conn *c, char *out, size_t outsz) {
    char *eol;
    while (!(eol = memmem(c->buf, c->len, "\r\n", 2))) {
        if (conn_fill(c) == 0) return -1;
    }
    size_t n = (size_t)(eol - c->buf);
    if (n >= outsz) return -1;
    memcpy(out, c->buf, n);
    out[n] = '\0';
    conn_consume(c, n + 2);
    return 0;
}

static int read_chunked(struct conn *c, unsigned long long *count) {
    char line[256];
    for (;;) {
        if (conn_line(c, line, sizeof line) != 0) return -1;
        char *end;
        unsigned long long size = strtoull(line, &end, 16);
        if (end == line) return -1;
        if (size == 0) break;
        if (conn_skip(c, size, count) != 0) return -1;
        if (conn_line(c, line, sizeof line) != 0 || line[0]) return -1;
    }
    do { /* trailers until the empty line */
        if (conn_line(c, line, sizeof line) != 0) return -1;
    } while (line[0]);
    return 0;
}

static int send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---------- HTTP ---------- */

struct request {
    char method[16];
    char path[4096];
    char query[4096];
    int http11;
    int keep_alive;
    int chunked;
    int expect_continue;
    long long content_length; /* -1: none */
};

static const char *reason(int code) {
    switch (code) {
    case 100: return "Continue";
    case 200: return "OK";
    case 301: return "Moved Permanently";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Status";
    }
}

static int respond(int fd, int code, int keep_alive, int head_only, const char *extra,
                   const char *fmt, ...) {
    char body[1024];
    va_list ap;
    va_start(ap, fmt);
    int blen = vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    if (blen < 0) blen = 0;
    if ((size_t)blen >= sizeof body) blen = sizeof body - 1;

    char head[2048];
    int hlen = snprintf(head, sizeof head,
                        "HTTP/1.1 %d %s\r\n"
                        "Content-Type: text/plain\r\n"
                        "Content-Length: %d\r\n"
                        "X-App-Version: %s\r\n"
                        "X-App-Color: %s\r\n"
                        "Connection: %s\r\n"
                        "%s"
                        "\r\n",
                        code, reason(code), blen, cfg.version, cfg.color,
                        keep_alive ? "keep-alive" : "close", extra ? extra : "");
    if (hlen < 0 || (size_t)hlen >= sizeof head) return -1;
    if (send_all(fd, head, (size_t)hlen) != 0) return -1;
    if (!head_only && send_all(fd, body, (size_t)blen) != 0) return -1;
    return 0;
}

static int hexval(char ch) {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* Copy the url-decoded value of query parameter `name` into out; 0 if found. */
static int query_param(const char *query, const char *name, char *out, size_t outsz) {
    size_t nlen = strlen(name);
    const char *p = query;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t plen = amp ? (size_t)(amp - p) : strlen(p);
        if (plen > nlen && strncmp(p, name, nlen) == 0 && p[nlen] == '=') {
            const char *v = p + nlen + 1, *vend = p + plen;
            size_t o = 0;
            while (v < vend && o + 1 < outsz) {
                if (*v == '%' && vend - v >= 3 && hexval(v[1]) >= 0 && hexval(v[2]) >= 0) {
                    out[o++] = (char)(hexval(v[1]) * 16 + hexval(v[2]));
                    v += 3;
                } else {
                    out[o++] = (*v == '+') ? ' ' : *v;
                    v++;
                }
            }
            out[o] = '\0';
            return 0;
        }
        p = amp ? amp + 1 : NULL;
    }
    return -1;
}

/* Parse the request head (terminated by CRLFCRLF at head_end) into r. 0 on success. */
static int parse_head(char *head, struct request *r) {
    memset(r, 0, sizeof *r);
    r->content_length = -1;
    char *line_end = strstr(head, "\r\n");
    if (!line_end) return -1;
    *line_end = '\0';

    char target[4096], version[16];
    if (sscanf(head, "%15s %4095s %15s", r->method, target, version) != 3) return -1;
    if (strncmp(version, "HTTP/1.", 7) != 0) return -1;
    r->http11 = strcmp(version, "HTTP/1.0") != 0;
    r->keep_alive = r->http11;

    char *q = strchr(target, '?');
    if (q) {
        *q = '\0';
        snprintf(r->query, sizeof r->query, "%s", q + 1);
    }
    snprintf(r->path, sizeof r->path, "%s", target);

    char *line = line_end + 2;
    while (*line) {
        char *eol = strstr(line, "\r\n");
        if (!eol) break;
        *eol = '\0';
        char *colon = strchr(line, ':');
        if (colon) {
            *colon = '\0';
            char *value = colon + 1;
            while (*value == ' ' || *value == '\t') value++;
            if (strcasecmp(line, "Content-Length") == 0) {
                char *end;
                r->content_length = strtoll(value, &end, 10);
                if (end == value || r->content_length < 0) return -1;
            } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
                r->chunked = strcasestr(value, "chunked") != NULL;
            } else if (strcasecmp(line, "Connection") == 0) {
                if (strcasestr(value, "close")) r->keep_alive = 0;
                else if (strcasestr(value, "keep-alive")) r->keep_alive = 1;
            } else if (strcasecmp(line, "Expect") == 0) {
                r->expect_continue = strcasestr(value, "100-continue") != NULL;
            }
        }
        line = eol + 2;
    }
    return 0;
}

static int is_health(const char *path) {
    return strcmp(path, "/health") == 0 || strcmp(path, "/health/simple") == 0;
}

static int handle_health(int fd, int ka, int head_only) {
    if (cfg.fail_after >= 0 && cfg.fail_health && elapsed() >= cfg.fail_after)
        return respond(fd, 500, ka, head_only, NULL, "failing\n");
    switch (cfg.health) {
    case H_FAIL:
        return respond(fd, 503, ka, head_only, NULL, "unhealthy\n");
    case H_SLOW:
        sleep_s(cfg.health_delay);
        return respond(fd, 200, ka, head_only, NULL, "ok");
    case H_FLAP:
        if (atomic_fetch_add(&flap_counter, 1) % 2 == 0)
            return respond(fd, 200, ka, head_only, NULL, "ok");
        return respond(fd, 503, ka, head_only, NULL, "unhealthy\n");
    case H_REDIRECT:
        return respond(fd, 301, ka, head_only, "Location: /login\r\n", "moved\n");
    case H_OK:
    default:
        return respond(fd, 200, ka, head_only, NULL, "ok");
    }
}

/* Serve one request whose head has already been parsed; the body is still unread. */
static int handle(struct conn *c, struct request *r) {
    int fd = c->fd, ka = r->keep_alive;
    int is_get = strcmp(r->method, "GET") == 0, is_head = strcmp(r->method, "HEAD") == 0;

    if (r->expect_continue && !r->http11) r->expect_continue = 0;
    if (r->expect_continue && send_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) != 0) return -1;

    unsigned long long body_bytes = 0;
    if (r->chunked) {
        if (read_chunked(c, &body_bytes) != 0) return -1;
    } else if (r->content_length > 0) {
        if (conn_skip(c, (unsigned long long)r->content_length, &body_bytes) != 0) return -1;
    }

    if (is_health(r->path) && (is_get || is_head)) return handle_health(fd, ka, is_head);

    double t = elapsed();
    if (cfg.fail_after >= 0 && t >= cfg.fail_after)
        return respond(fd, 500, ka, is_head, NULL, "failing\n");
    if (cfg.slow_after >= 0 && t >= cfg.slow_after) sleep_s(cfg.slow_ms / 1000.0);

    if (strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0)
        return respond(fd, 200, ka, 0, NULL, "%llu\n", body_bytes);
    if (!is_get && !is_head)
        return respond(fd, 405, ka, 0, "Allow: GET, HEAD, POST, PUT\r\n", "method not allowed\n");

    char arg[1024];
    if (strcmp(r->path, "/") == 0)
        return respond(fd, 200, ka, is_head, NULL, "version=%s color=%s\n", cfg.version, cfg.color);
    if (strcmp(r->path, "/slow") == 0) {
        double s = 0;
        if (query_param(r->query, "s", arg, sizeof arg) == 0) s = strtod(arg, NULL);
        if (!(s > 0)) s = 0; /* also rejects NaN */
        sleep_s(s);
        return respond(fd, 200, ka, is_head, NULL, "slept %g\n", s);
    }
    if (strcmp(r->path, "/env") == 0) {
        if (query_param(r->query, "name", arg, sizeof arg) != 0 || !arg[0])
            return respond(fd, 400, ka, is_head, NULL, "missing ?name=\n");
        return respond(fd, 200, ka, is_head, NULL, "%s\n", getenv(arg) ? "set" : "unset");
    }
    if (strcmp(r->path, "/login") == 0) return respond(fd, 200, ka, is_head, NULL, "login\n");
    return respond(fd, 404, ka, is_head, NULL, "not found\n");
}

static void *serve_conn(void *arg) {
    struct conn *c = arg;
    struct timeval tv = {IDLE_TIMEOUT_S, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    for (;;) {
        char *end;
        while (!(end = memmem(c->buf, c->len, "\r\n\r\n", 4))) {
            if (c->len >= BUF_SIZE) {
                respond(c->fd, 431, 0, 0, NULL, "request head too large\n");
                goto done;
            }
            if (conn_fill(c) == 0) goto done;
        }
        size_t head_len = (size_t)(end - c->buf) + 4;
        char head[BUF_SIZE + 1];
        memcpy(head, c->buf, head_len);
        head[head_len] = '\0';
        conn_consume(c, head_len);

        struct request r;
        if (parse_head(head, &r) != 0) {
            respond(c->fd, 400, 0, 0, NULL, "bad request\n");
            goto done;
        }
        if (handle(c, &r) != 0 || !r.keep_alive) goto done;
    }
done:
    close(c->fd);
    free(c);
    atomic_fetch_sub(&active_conns, 1);
    return NULL;
}

static enum health_mode parse_health(const char *v) {
    if (strcmp(v, "ok") == 0) return H_OK;
    if (strcmp(v, "fail") == 0) return H_FAIL;
    if (strcmp(v, "slow") == 0) return H_SLOW;
    if (strcmp(v, "flap") == 0) return H_FLAP;
    if (strcmp(v, "redirect") == 0) return H_REDIRECT;
    fprintf(stderr, "app: unknown APP_HEALTH=%s, using ok\n", v);
    return H_OK;
}

int main(void) {
    clock_gettime(CLOCK_MONOTONIC, &started);
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct sigaction sa = {0};
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    cfg.port = (int)env_num("APP_PORT", 8000);
    if (cfg.port <= 0 || cfg.port > 65535) {
        fprintf(stderr, "app: APP_PORT must be 1-65535\n");
        return 2;
    }
    cfg.version = env_str("APP_VERSION", "dev");
    cfg.color = env_str("BLUEGREEN_COLOR", "none");
    cfg.health = parse_health(env_str("APP_HEALTH", "ok"));
    cfg.health_delay = env_num("APP_HEALTH_DELAY", 10);
    cfg.fail_after = env_num("APP_FAIL_AFTER", -1);
    cfg.fail_health = strcmp(env_str("APP_FAIL_HEALTH", "0"), "1") == 0;
    cfg.slow_after = env_num("APP_SLOW_AFTER", -1);
    cfg.slow_ms = env_num("APP_SLOW_MS", 1000);
    /* A header value must not carry CR/LF. */
    if (strpbrk(cfg.version, "\r\n")) cfg.version = "invalid";
    if (strpbrk(cfg.color, "\r\n")) cfg.color = "invalid";

    static double die_at;
    die_at = env_num("APP_DIE_AFTER", -1);
    if (die_at >= 0) {
        pthread_t t;
        if (pthread_create(&t, NULL, die_later, &die_at) != 0) {
            perror("app: pthread_create");
            return 1;
        }
        pthread_detach(t);
    }

    sleep_s(env_num("APP_START_DELAY", 0));

    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) {
        perror("app: socket");
        return 1;
    }
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)cfg.port);
    addr.sin_addr.s_addr = htonl(INADDR_ANY);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 1024) != 0) {
        perror("app: bind/listen");
        return 1;
    }
    printf("app %s listening on :%d\n", cfg.version, cfg.port);

    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);

    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS)
                sleep_s(0.01); /* back off under fd pressure instead of spinning */
            continue;
        }
        if (atomic_fetch_add(&active_conns, 1) >= MAX_CONNS) {
            respond(fd, 503, 0, 0, NULL, "too many connections\n");
            close(fd);
            atomic_fetch_sub(&active_conns, 1);
            continue;
        }
        struct conn *c = malloc(sizeof *c);
        pthread_t t;
        if (!c) {
            close(fd);
            atomic_fetch_sub(&active_conns, 1);
            continue;
        }
        c->fd = fd;
        c->len = 0;
        c->buf[0] = '\0';
        if (pthread_create(&t, &attr, serve_conn, c) != 0) {
            close(fd);
            free(c);
            atomic_fetch_sub(&active_conns, 1);
        }
    }
}

/*
 * Load generator for `make bench`: blocking sockets, one pthread per client,
 * so that it costs a fraction of a core and the server is what is measured.
 * Traffic goes to 127.0.0.1 only. Every mode prints one line of key=value
 * pairs, including its own CPU time (getrusage), and exits 0 unless it could
 * not run at all.
 *
 *   sessions PORT THREADS SECONDS USER PASS FILE
 *       THREADS clients loop connect, 220, USER/PASS, TYPE I, PASV, RETR FILE,
 *       226, QUIT for SECONDS; counts the sessions completed in the window.
 *   hold PORT N USER PASS
 *       logs N sessions in and keeps them idle; prints "ready ..." and waits
 *       for a line on stdin, then QUITs them all (leaving no TIME_WAIT).
 *   greet PORT N
 *       N sequential connects; p50 and p99 of connect to complete 220, in ms
 *       (then QUIT, leaving no TIME_WAIT).
 *   list PORT USER PASS DIR
 *       time of LIST in DIR, from PASV to 226, and the lines received.
 *   fetch PORT N USER PASS FILE LOCAL
 *       N concurrent downloads of FILE, each compared with the local copy.
 *   ftps PORT CAFILE FILE
 *       anonymous RETR of FILE over explicit FTPS (AUTH TLS, PBSZ 0, PROT P);
 *       the data connection's TLS handshake starts after the 150, as ftplib
 *       does (pyftpdlib resets one that starts before RETR, as curl's does).
 *       Built only with -DWITH_TLS (and -lssl -lcrypto).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef WITH_TLS
#include <openssl/ssl.h>
#endif

/* A blocking call that takes longer than this is a failed session, not a hang. */
#define IO_TIMEOUT_S 30

static int port;
static const char *user, *pass, *file;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec +
         u.ru_stime.tv_usec / 1e6;
}

static int dial(int to_port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct timeval tv = {IO_TIMEOUT_S, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(to_port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* A control connection with its read buffer. */
typedef struct {
  int fd;
#ifdef WITH_TLS
  SSL *ssl; /* once AUTH TLS is done */
#endif
  int len;
  char buf[2048];
  char line[512]; /* the last reply's final line */
} ctl;

/* Reads one reply (multi-line aware); returns its code, or -1. */
static int reply(ctl *c) {
  for (;;) {
    char *nl;
    while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
      int n = nl - c->buf + 1;
      int last = n >= 4 && c->buf[3] == ' ' && c->buf[0] >= '1' && c->buf[0] <= '5';
      if (last) {
        int k = n < (int)sizeof c->line ? n : (int)sizeof c->line - 1;
        memcpy(c->line, c->buf, k);
        c->line[k] = 0;
      }
      memmove(c->buf, c->buf + n, c->len - n);
      c->len -= n;
      if (last) return atoi(c->line);
    }
    if (c->len == (int)sizeof c->buf) c->len = 0; /* an over-long line: drop it */
#ifdef WITH_TLS
    ssize_t r = c->ssl ? SSL_read(c->ssl, c->buf + c->len, sizeof c->buf - c->len)
                       : read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
#else
    ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
#endif
    if (r <= 0) return -1;
    c->len += r;
  }
}

static int send_line(ctl *c, const char *fmt, ...) {
  char out[600];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(out, sizeof out - 2, fmt, ap);
  va_end(ap);
  out[n++] = '\r';
  out[n++] = '\n';
#ifdef WITH_TLS
  if (c->ssl) return SSL_write(c->ssl, out, n) == n ? 0 : -1;
#endif
  return write(c->fd, out, n) == n ? 0 : -1;
}

static int command(ctl *c, const char *fmt, const char *arg) {
  if (send_line(c, fmt, arg) < 0) return -1;
  return reply(c);
}

/* Connect, 220, USER/PASS; 0 when logged in. */
static int login(ctl *c) {
  memset(c, 0, sizeof *c);
  c->fd = dial(port);
  if (c->fd < 0) return -1;
  if (reply(c) != 220) return -1;
  int code = command(c, "USER %s", user);
  if (code == 331) code = command(c, "PASS %s", pass);
  return code == 230 ? 0 : -1;
}

/* PASV and connect to the port it names; the data socket, or -1. */
static int passive(ctl *c) {
  if (command(c, "PASV", "") != 227) return -1;
  char *p = strchr(c->line, '(');
  int h1, h2, h3, h4, p1, p2;
  if (p == NULL || sscanf(p + 1, "%d,%d,%d,%d,%d,%d", &h1, &h2, &h3, &h4, &p1, &p2) != 6) {
    return -1;
  }
  return dial(p1 * 256 + p2);
}

/* RETR (or LIST when cmd says so) into buf, or counting bytes; the bytes read, or -1. */
static long transfer(ctl *c, const char *cmd, char *into, long cap, long *lines) {
  int d = passive(c);
  if (d < 0) return -1;
  int code = command(c, cmd, file);
  if (code != 150 && code != 125) {
    close(d);
    return -1;
  }
  char chunk[65536];
  long total = 0;
  for (;;) {
    char *dst = into != NULL && total < cap ? into + total : chunk;
    long room = into != NULL && total < cap ? cap - total : (long)sizeof chunk;
    ssize_t r = read(d, dst, room < (long)sizeof chunk ? room : (long)sizeof chunk);
    if (r < 0) {
      close(d);
      return -1;
    }
    if (r == 0) break;
    if (lines != NULL) {
      for (ssize_t i = 0; i < r; i++) *lines += dst[i] == '\n';
    }
    total += r;
  }
  close(d);
  return reply(c) == 226 ? total : -1;
}

static void quit(ctl *c) {
  command(c, "QUIT", "");
  close(c->fd);
}

/*
 * Teardown outside a measurement: after QUIT, wait for the server to close,
 * then reset instead of closing, so that neither side keeps the connection
 * in TIME_WAIT and the session-rate windows keep their ephemeral ports.
 */
static void quit_leaving_nothing(ctl *c) {
  char sink[512];
  while (read(c->fd, sink, sizeof sink) > 0) {
  }
  struct linger reset = {1, 0};
  setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  close(c->fd);
}

/* ---- sessions ---- */

static volatile int stop;
static double deadline;

typedef struct {
  pthread_t t;
  long done, failed;
} worker;

static void *session_loop(void *arg) {
  worker *w = arg;
  ctl *c = malloc(sizeof *c);
  while (!stop) {
    int ok = login(c) == 0 && command(c, "TYPE I", "") == 200 &&
             transfer(c, "RETR %s", NULL, 0, NULL) >= 0;
    if (c->fd >= 0) {
      if (ok) quit(c);
      else close(c->fd);
    }
    if (now() > deadline) break; /* finished after the window: not counted */
    if (ok) w->done++;
    else {
      w->failed++;
      usleep(1000); /* a server that refuses everything is not spun against */
    }
  }
  free(c);
  return NULL;
}

static int run_sessions(int threads, double seconds) {
  worker *ws = calloc(threads, sizeof *ws);
  double t0 = now();
  deadline = t0 + seconds;
  for (int i = 0; i < threads; i++) {
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, 256 << 10);
    pthread_create(&ws[i].t, &a, session_loop, &ws[i]);
  }
  struct timespec nap = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
  nanosleep(&nap, NULL);
  stop = 1;
  long done = 0, failed = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(ws[i].t, NULL);
    done += ws[i].done;
    failed += ws[i].failed;
  }
  printf("sessions=%ld failed=%ld seconds=%.3f rate=%.1f cpu=%.3f\n", done, failed, seconds,
         done / seconds, cpu_seconds());
  return 0;
}

/* ---- hold ---- */

static int n_hold;
static ctl *held;
static long held_ok;
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;
static int next_slot;

static void *hold_loop(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&held_lock);
    int i = next_slot < n_hold ? next_slot++ : -1;
    pthread_mutex_unlock(&held_lock);
    if (i < 0) return NULL;
    if (login(&held[i]) == 0) __sync_fetch_and_add(&held_ok, 1);
  }
}

static int run_hold(int n) {
  n_hold = n;
  held = calloc(n, sizeof *held);
  /* A few logins at a time: fast enough for 5,000, gentle on forking servers. */
  pthread_t ts[8];
  for (int i = 0; i < 8; i++) pthread_create(&ts[i], NULL, hold_loop, NULL);
  for (int i = 0; i < 8; i++) pthread_join(ts[i], NULL);
  printf("ready held=%ld of=%d cpu=%.3f\n", held_ok, n, cpu_seconds());
  fflush(stdout);
  char line[16];
  if (fgets(line, sizeof line, stdin) == NULL) { /* the bench went away: close anyway */
  }
  for (int i = 0; i < n; i++)
    if (held[i].fd > 0) send_line(&held[i], "QUIT");
  for (int i = 0; i < n; i++) {
    if (held[i].fd <= 0) continue;
    reply(&held[i]);
    quit_leaving_nothing(&held[i]);
  }
  return 0;
}

/* ---- greet ---- */

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static int run_greet(int n) {
  double *ms = calloc(n, sizeof *ms);
  int got = 0;
  ctl *c = malloc(sizeof *c);
  for (int i = 0; i < n; i++) {
    memset(c, 0, sizeof *c);
    double t0 = now();
    c->fd = dial(port);
    if (c->fd < 0) continue;
    if (reply(c) == 220) ms[got++] = (now() - t0) * 1000;
    send_line(c, "QUIT");
    reply(c);
    quit_leaving_nothing(c);
  }
  qsort(ms, got, sizeof *ms, cmp_double);
  double p50 = got ? ms[(got - 1) / 2] : -1, p99 = got ? ms[(int)((got - 1) * 0.99)] : -1;
  printf("greeted=%d of=%d p50=%.3f p99=%.3f cpu=%.3f\n", got, n, p50, p99, cpu_seconds());
  return 0;
}

/* ---- list ---- */

static int run_list(const char *dir) {
  ctl c;
  long lines = 0;
  if (login(&c) != 0 || command(&c, "TYPE I", "") != 200 || command(&c, "CWD %s", dir) != 250) {
    printf("error=login-or-cwd cpu=%.3f\n", cpu_seconds());
    return 0;
  }
  double t0 = now();
  long bytes = transfer(&c, "LIST", NULL, 0, &lines);
  double t = now() - t0;
  quit(&c);
  if (bytes < 0) printf("error=list cpu=%.3f\n", cpu_seconds());
  else printf("seconds=%.4f lines=%ld bytes=%ld cpu=%.3f\n", t, lines, bytes, cpu_seconds());
  return 0;
}

/* ---- fetch ---- */

static char *expected;
static long expected_len;
static long fetched_ok, fetched_bad;

static void *fetch_one(void *arg) {
  (void)arg;
  ctl *c = malloc(sizeof *c);
  char *got = malloc(expected_len + 1);
  long n = -1;
  if (login(c) == 0 && command(c, "TYPE I", "") == 200) {
    n = transfer(c, "RETR %s", got, expected_len + 1, NULL);
  }
  if (c->fd >= 0) quit(c);
  int ok = n == expected_len && memcmp(got, expected, expected_len) == 0;
  __sync_fetch_and_add(ok ? &fetched_ok : &fetched_bad, 1);
  free(got);
  free(c);
  return NULL;
}

static int run_fetch(int n, const char *local) {
  FILE *f = fopen(local, "rb");
  struct stat st;
  if (f == NULL || fstat(fileno(f), &st) != 0) {
    printf("error=local-file cpu=%.3f\n", cpu_seconds());
    return 1;
  }
  expected_len = st.st_size;
  expected = malloc(expected_len);
  if (fread(expected, 1, expected_len, f) != (size_t)expected_len) return 1;
  fclose(f);
  pthread_t *ts = calloc(n, sizeof *ts);
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setstacksize(&a, 256 << 10);
  double t0 = now();
  int started = 0;
  for (; started < n; started++)
    if (pthread_create(&ts[started], &a, fetch_one, NULL) != 0) break;
  for (int i = 0; i < started; i++) pthread_join(ts[i], NULL);
  printf("ok=%ld bad=%ld of=%d seconds=%.3f cpu=%.3f\n", fetched_ok, fetched_bad + n - started, n,
         now() - t0, cpu_seconds());
  return 0;
}

/* ---- ftps ---- */

#ifdef WITH_TLS
static SSL *tls_connect(SSL_CTX *ctx, int fd) {
  SSL *ssl = SSL_new(ctx);
  SSL_set_tlsext_host_name(ssl, "localhost");
  SSL_set1_host(ssl, "localhost");
  SSL_set_fd(ssl, fd);
  if (SSL_connect(ssl) != 1) {
    SSL_free(ssl);
    return NULL;
  }
  return ssl;
}

/* AUTH TLS, login, PBSZ 0, PROT P, TYPE I; NULL, or the step that failed. */
static const char *ftps_login(ctl *c, SSL_CTX *ctx) {
  c->fd = dial(port);
  if (c->fd < 0 || reply(c) != 220 || command(c, "AUTH TLS", "") != 234) return "auth-tls";
  if ((c->ssl = tls_connect(ctx, c->fd)) == NULL) return "control-handshake";
  int code = command(c, "USER anonymous", "");
  if (code == 331) code = command(c, "PASS bench@", "");
  if (code != 230) return "login";
  if (command(c, "PBSZ 0", "") != 200 || command(c, "PROT P", "") != 200) return "prot-p";
  return command(c, "TYPE I", "") == 200 ? NULL : "type-i";
}

/* PASV, RETR FILE, TLS on the data connection after the 150; the bytes read, or -1. */
static long ftps_retr(ctl *c, SSL_CTX *ctx, const char **fail) {
  int d = passive(c);
  *fail = "pasv";
  if (d < 0) return -1;
  int code = command(c, "RETR %s", file);
  SSL *ds = code == 150 || code == 125 ? tls_connect(ctx, d) : NULL;
  *fail = code == 150 || code == 125 ? "data-handshake" : "retr";
  long total = -1;
  if (ds != NULL) {
    static char chunk[1 << 18];
    total = 0;
    for (int r; (r = SSL_read(ds, chunk, sizeof chunk)) > 0;) total += r;
    SSL_shutdown(ds); /* some servers answer 226 only after the client's close_notify */
    SSL_free(ds);
  }
  close(d);
  if (total >= 0 && reply(c) != 226) {
    *fail = "no-226";
    return -1;
  }
  return total;
}

static int run_ftps(const char *cafile) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
    printf("error=cafile cpu=%.3f\n", cpu_seconds());
    return 0;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  ctl *c = calloc(1, sizeof *c);
  const char *fail = ftps_login(c, ctx);
  double t0 = now();
  long total = fail ? -1 : ftps_retr(c, ctx, &fail);
  double t = now() - t0;
  if (total < 0) printf("error=%s cpu=%.3f\n", fail, cpu_seconds());
  else printf("bytes=%ld seconds=%.4f rate=%.1f cpu=%.3f\n", total, t, total / t / 1e6,
              cpu_seconds());
  return 0;
}
#endif

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *mode = argc > 2 ? argv[1] : "";
  if (argc > 2) port = atoi(argv[2]);
  if (strcmp(mode, "sessions") == 0 && argc == 8) {
    user = argv[5], pass = argv[6], file = argv[7];
    return run_sessions(atoi(argv[3]), atof(argv[4]));
  }
  if (strcmp(mode, "hold") == 0 && argc == 6) {
    user = argv[4], pass = argv[5];
    return run_hold(atoi(argv[3]));
  }
  if (strcmp(mode, "greet") == 0 && argc == 4) return run_greet(atoi(argv[3]));
  if (strcmp(mode, "list") == 0 && argc == 6) {
    user = argv[3], pass = argv[4];
    return run_list(argv[5]);
  }
  if (strcmp(mode, "fetch") == 0 && argc == 8) {
    user = argv[4], pass = argv[5], file = argv[6];
    return run_fetch(atoi(argv[3]), argv[7]);
  }
#ifdef WITH_TLS
  if (strcmp(mode, "ftps") == 0 && argc == 5) {
    file = argv[4];
    return run_ftps(argv[3]);
  }
#endif
  fprintf(stderr, "usage: see the comment at the top of loadgen.c\n");
  return 2;
}

/*
 * conn.c — a connection on a uv_tcp_t: handshake, then frames (conn.h has
 * the contract; frame.c and handshake.c the formats).
 *
 * States: CONNECTING (initiator, TCP connect pending) -> HANDSHAKE ->
 * OPEN -> ENDING (conn_close: FINAL frame queued, shutdown pending), and
 * from anywhere to CLOSING (handles closing; no callback but on_close
 * fires from here). Invariants: `queued` is the sum of the sizes of the
 * write requests libuv holds; on_close fires once, from the close callback
 * of the last of the two handles (tcp, timer), after which the conn is
 * freed, so callbacks that run while closing (cancelled writes) still see
 * a valid conn. The handshake timer runs from the start until the
 * handshake ends.
 *
 * Workload: one uv_write per message (batching comes with the sync layer's
 * measurements); reads land in a 64 KiB per-connection buffer and are
 * decoded in place.
 */
/* libuv's headers need POSIX types (pthread_rwlock_t) */
#define _POSIX_C_SOURCE 200809L

#include "conn.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "accord.h"
#include "frame.h"
#include "mem.h"

enum { CS_CONNECTING, CS_HANDSHAKE, CS_OPEN, CS_ENDING, CS_CLOSING };

#define READ_BYTES 65536

struct conn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_connect_t creq;
  uv_shutdown_t sreq;
  conn_callbacks cb;
  void *ud;
  void (*log)(void *, const char *);
  void *log_ud;
  uint32_t handshake_ms;
  size_t queue_max, queued;
  int state, want_drain, handles, silent;
  int reason;
  char detail[160];
  char name[64];
  hs hs;
  frame_enc enc;
  frame_dec dec;
  /* an accepted connection still in its handshake: on its listener's
   * list (lst, lnext), so that closing the listener ends it too */
  struct conn_listener *lst;
  struct conn *lnext;
  uint8_t rbuf[READ_BYTES];
};

struct conn_listener {
  uv_tcp_t tcp;
  conn_options opts;
  uint8_t ws_key[HS_KEY_BYTES], pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES];
  uint8_t more[HS_MAX_KEYS - 1][HS_KEY_BYTES];
  conn_callbacks cb;
  void *ud;
  int port;
  conn *pending; /* accepted, handshake not over (conn.lst) */
};

/* A write: the request and its bytes in one allocation. */
typedef struct wreq {
  uv_write_t req;
  conn *c;
  size_t n;
  uint8_t data[];
} wreq;

const char *conn_reason_str(int reason) {
  switch (reason) {
  case CONN_CLOSED: return "closed";
  case CONN_PEER_CLOSED: return "closed by peer";
  case CONN_EOF: return "connection dropped by peer";
  case CONN_IO: return "socket error";
  case CONN_CONNECT: return "connect failed";
  case CONN_TIMEOUT: return "handshake timeout";
  case CONN_HANDSHAKE: return "handshake refused";
  case CONN_FRAME: return "bad frame";
  case CONN_NOMEM: return "out of memory";
  default: return "unknown";
  }
}

static void logf_(void (*log)(void *, const char *), void *ud,
                  const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void logf_(void (*log)(void *, const char *), void *ud,
                  const char *fmt, ...) {
  if (!log) return;
  char line[320];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  log(ud, line);
}

static void set_err(char *err, size_t errlen, const char *what, int uverr) {
  if (err && errlen) snprintf(err, errlen, "%s: %s", what, uv_strerror(uverr));
}

static void addr_name(const struct sockaddr *sa, char *out, size_t n) {
  char ip[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    uv_ip6_name(a, ip, sizeof ip);
    snprintf(out, n, "[%s]:%u", ip, ntohs(a->sin6_port));
  } else {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    uv_ip4_name(a, ip, sizeof ip);
    snprintf(out, n, "%s:%u", ip, ntohs(a->sin_port));
  }
}

/* ---- closing ------------------------------------------------------------- */

/* Takes an accepted connection off its listener's list (its handshake is
 * over, or it is gone). */
static void unlist(conn *c) {
  if (!c->lst) return;
  for (conn **pp = &c->lst->pending; *pp; pp = &(*pp)->lnext)
    if (*pp == c) {
      *pp = c->lnext;
      break;
    }
  c->lst = NULL;
  c->lnext = NULL;
}

static void on_handle_closed(uv_handle_t *h) {
  conn *c = h->data;
  if (--c->handles > 0) return;
  unlist(c);
  if (!c->silent && c->cb.on_close)
    c->cb.on_close(c, c->reason, c->detail, c->ud);
  hs_clear(&c->hs);
  frame_enc_clear(&c->enc);
  frame_dec_free(&c->dec);
  mem_free(c);
}

/* Ends the connection with a reason (the first one wins), logged. */
static void conn_fail(conn *c, int reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void conn_fail(conn *c, int reason, const char *fmt, ...) {
  if (c->state == CS_CLOSING) return;
  c->state = CS_CLOSING;
  c->reason = reason;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->detail, sizeof c->detail, fmt, ap);
  va_end(ap);
  if (!c->silent)
    logf_(c->log, c->log_ud, "accord net: %s: %s: %s", c->name,
          conn_reason_str(reason), c->detail);
  uv_read_stop((uv_stream_t *)&c->tcp);
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
  uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

/* ---- writing ------------------------------------------------------------- */

static void on_written(uv_write_t *req, int status) {
  wreq *w = (wreq *)req;
  conn *c = w->c;
  c->queued -= w->n;
  mem_free(w);
  if (status < 0 && status != UV_ECANCELED) {
    conn_fail(c, CONN_IO, "write: %s", uv_strerror(status));
    return;
  }
  if (c->want_drain && c->state == CS_OPEN && c->queued <= c->queue_max / 2) {
    c->want_drain = 0;
    if (c->cb.on_drain) c->cb.on_drain(c, c->ud);
  }
}

static wreq *wreq_new(conn *c, size_t n) {
  wreq *w = mem_alloc(sizeof *w + n);
  if (!w) return NULL;
  w->c = c;
  w->n = n;
  return w;
}

/* Hands w to libuv; on failure the conn closes (w freed). */
static int wreq_submit(conn *c, wreq *w) {
  uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->n);
  int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written);
  if (rc < 0) {
    mem_free(w);
    conn_fail(c, CONN_IO, "write: %s", uv_strerror(rc));
    return ACCORD_EINVAL;
  }
  c->queued += w->n;
  return 0;
}

int conn_send_raw(conn *c, const void *p, size_t n) {
  if (!c || c->state == CS_CLOSING) return ACCORD_EINVAL;
  wreq *w = wreq_new(c, n);
  if (!w) return ACCORD_ENOMEM;
  memcpy(w->data, p, n);
  return wreq_submit(c, w);
}

int conn_send(conn *c, const uint8_t *msg, size_t n) {
  if (!c || (!msg && n)) return ACCORD_EINVAL;
  if (c->state != CS_OPEN) return ACCORD_EINVAL;
  if (n > FRAME_MSG_MAX) return ACCORD_ETOOBIG;
  if (!frame_is_msgpack(msg, n)) return ACCORD_EINVAL;
  size_t fs = frame_size(n);
  if (c->queued > 0 && c->queued + fs > c->queue_max) {
    c->want_drain = 1;
    return ACCORD_EBUSY;
  }
  wreq *w = wreq_new(c, fs);
  if (!w) return ACCORD_ENOMEM;
  int rc = frame_enc_seal(&c->enc, msg, n, 0, w->data);
  if (rc) {
    mem_free(w);
    return rc;
  }
  return wreq_submit(c, w);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  conn *c = req->data;
  if (status < 0 && status != UV_ECANCELED)
    conn_fail(c, CONN_IO, "shutdown: %s", uv_strerror(status));
  else
    conn_fail(c, CONN_CLOSED, "closed by this node");
}

void conn_close(conn *c) {
  if (!c || c->state == CS_CLOSING || c->state == CS_ENDING) return;
  if (c->state != CS_OPEN) {
    conn_fail(c, CONN_CLOSED, "closed by this node during the handshake");
    return;
  }
  c->state = CS_ENDING;
  wreq *w = wreq_new(c, frame_size(0));
  if (!w) {
    conn_fail(c, CONN_CLOSED, "closed by this node (no memory to end it)");
    return;
  }
  frame_enc_seal(&c->enc, NULL, 0, 1, w->data);
  if (wreq_submit(c, w)) return;
  c->sreq.data = c;
  int rc = uv_shutdown(&c->sreq, (uv_stream_t *)&c->tcp, on_shutdown);
  if (rc < 0) conn_fail(c, CONN_CLOSED, "closed by this node");
}

/* ---- reading ------------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  conn *c = h->data;
  *b = uv_buf_init((char *)c->rbuf, sizeof c->rbuf);
}

/* The handshake succeeded: start both streams. */
static int open_streams(conn *c, const uint8_t *last, size_t last_len) {
  /* the last handshake message (responder) and our stream header go out
   * in one write */
  wreq *w = wreq_new(c, last_len + FRAME_HEADER_BYTES);
  if (!w) {
    conn_fail(c, CONN_NOMEM, "starting the streams");
    return -1;
  }
  memcpy(w->data, last, last_len);
  if (frame_enc_init(&c->enc, c->hs.tx_key, w->data + last_len)) {
    mem_free(w);
    conn_fail(c, CONN_NOMEM, "starting the streams");
    return -1;
  }
  frame_dec_init(&c->dec, c->hs.rx_key);
  crypto_wipe(c->hs.tx_key, sizeof c->hs.tx_key);
  crypto_wipe(c->hs.rx_key, sizeof c->hs.rx_key);
  if (wreq_submit(c, w)) return -1;
  uv_timer_stop(&c->timer);
  c->state = CS_OPEN;
  unlist(c);
  if (c->cb.on_open) c->cb.on_open(c, c->ud);
  return c->state == CS_CLOSING ? -1 : 0;
}

/* Feeds the handshake; *p, *n advance past what it used. -1: stop. */
static int read_handshake(conn *c, const uint8_t **p, size_t *n) {
  while (*n > 0 && c->state == CS_HANDSHAKE) {
    size_t used = 0;
    int rc = hs_feed(&c->hs, *p, *n, &used);
    *p += used;
    *n -= used;
    uint8_t out[HS_MSG_MAX];
    size_t olen = hs_take_output(&c->hs, out);
    if (rc == HS_FAIL) {
      /* nothing is sent: a peer without the key gets no answer */
      conn_fail(c, CONN_HANDSHAKE, "%s", hs_reason_str(c->hs.reason));
      return -1;
    }
    if (rc == HS_DONE) return open_streams(c, out, olen);
    if (olen && conn_send_raw(c, out, olen)) return -1;
  }
  return c->state == CS_CLOSING ? -1 : 0;
}

static void read_frames(conn *c, const uint8_t *p, size_t n) {
  while (n > 0 && (c->state == CS_OPEN || c->state == CS_ENDING)) {
    const uint8_t *msg;
    size_t len;
    int rc = frame_dec_next(&c->dec, &p, &n, &msg, &len);
    if (rc == FRAME_MSG) {
      /* after conn_close the caller expects no more messages */
      if (c->state == CS_OPEN && c->cb.on_message)
        c->cb.on_message(c, msg, len, c->ud);
    } else if (rc == FRAME_END) {
      if (n > 0) {
        conn_fail(c, CONN_FRAME, "%s", frame_status_str(FRAME_EENDED));
        return;
      }
      conn_fail(c, CONN_PEER_CLOSED, "the peer ended its stream");
      return;
    } else if (rc < 0) {
      conn_fail(c, CONN_FRAME, "%s", frame_status_str(rc));
      return;
    }
  }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b) {
  conn *c = s->data;
  if (c->state == CS_CLOSING) return;
  if (nread < 0) {
    if (nread == UV_EOF)
      conn_fail(c, CONN_EOF, "%s",
                c->state == CS_HANDSHAKE ? "during the handshake"
                                         : "without ending its stream");
    else
      conn_fail(c, CONN_IO, "read: %s", uv_strerror((int)nread));
    return;
  }
  const uint8_t *p = (const uint8_t *)b->base;
  size_t n = (size_t)nread;
  if (c->state == CS_HANDSHAKE && read_handshake(c, &p, &n)) return;
  read_frames(c, p, n);
}

/* ---- starting ------------------------------------------------------------ */

static void on_timeout(uv_timer_t *t) {
  conn *c = t->data;
  conn_fail(c, CONN_TIMEOUT, "handshake not finished within %u ms",
            (unsigned)c->handshake_ms);
}

static conn *conn_new(uv_loop_t *loop, const conn_options *o,
                      const conn_callbacks *cb, void *ud) {
  conn *c = mem_calloc(1, sizeof *c);
  if (!c) return NULL;
  c->cb = *cb;
  c->ud = ud;
  c->log = o->log;
  c->log_ud = o->log_ud;
  c->handshake_ms = o->handshake_ms ? o->handshake_ms : CONN_HANDSHAKE_MS;
  c->queue_max = o->send_queue_max ? o->send_queue_max : CONN_QUEUE_DEFAULT;
  snprintf(c->name, sizeof c->name, "?");
  uv_tcp_init(loop, &c->tcp);
  uv_timer_init(loop, &c->timer);
  c->tcp.data = c->timer.data = c;
  c->handles = 2;
  return c;
}

/* Starts the handshake and its deadline. 0 or -1 (conn closing). */
static int begin(conn *c, int initiator, const hs_config *h) {
  int rc = hs_init(&c->hs, initiator, h);
  if (rc) {
    conn_fail(c, rc == ACCORD_ENOMEM ? CONN_NOMEM : CONN_HANDSHAKE,
              "handshake setup: %s", accord_strerror(rc));
    return -1;
  }
  c->state = CS_HANDSHAKE;
  /* an initiator's deadline runs from conn_connect: connecting counts */
  if (!uv_is_active((uv_handle_t *)&c->timer))
    uv_timer_start(&c->timer, on_timeout, c->handshake_ms, 0);
  rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  if (rc < 0) {
    conn_fail(c, CONN_IO, "read: %s", uv_strerror(rc));
    return -1;
  }
  uint8_t out[HS_MSG_MAX];
  size_t olen = hs_take_output(&c->hs, out);
  if (olen && conn_send_raw(c, out, olen)) return -1;
  return 0;
}

static void on_connected(uv_connect_t *req, int status) {
  conn *c = req->data;
  if (c->state == CS_CLOSING) return;
  if (status < 0) {
    conn_fail(c, CONN_CONNECT, "%s", uv_strerror(status));
    return;
  }
  /* the keys waited in the hs state (conn_connect); hs_init clears its
   * target before copying, so they are read from a copy */
  hs tmp = c->hs;
  hs_config h = {.ws_key = tmp.ws_key, .pk = tmp.pk, .sk = tmp.sk,
                 .is_member = tmp.is_member, .userdata = tmp.userdata};
  begin(c, 1, &h);
  hs_clear(&tmp);
}

static int check_opts(const conn_options *o, const conn_callbacks *cb,
                      char *err, size_t errlen) {
  if (!o || !cb || !o->hs.ws_key || !o->hs.pk || !o->hs.sk) {
    if (err && errlen) snprintf(err, errlen, "missing keys or callbacks");
    return ACCORD_EINVAL;
  }
  return 0;
}

int conn_connect(uv_loop_t *loop, const struct sockaddr *addr,
                 const conn_options *opts, const conn_callbacks *cb,
                 void *ud, conn **out, char *err, size_t errlen) {
  if (out) *out = NULL;
  if (!loop || !addr || !out) return ACCORD_EINVAL;
  int rc = check_opts(opts, cb, err, errlen);
  if (rc) return rc;
  conn *c = conn_new(loop, opts, cb, ud);
  if (!c) return ACCORD_ENOMEM;
  addr_name(addr, c->name, sizeof c->name);
  /* the keys wait in the hs state until the TCP connection is up */
  memcpy(c->hs.ws_key, opts->hs.ws_key, HS_KEY_BYTES);
  memcpy(c->hs.pk, opts->hs.pk, SIGN_PUBLIC_BYTES);
  memcpy(c->hs.sk, opts->hs.sk, SIGN_SECRET_BYTES);
  c->hs.is_member = opts->hs.is_member;
  c->hs.userdata = opts->hs.userdata;
  c->creq.data = c;
  c->state = CS_CONNECTING;
  rc = uv_tcp_connect(&c->creq, &c->tcp, addr, on_connected);
  if (rc < 0) {
    set_err(err, errlen, "connect", rc);
    c->silent = 1; /* the caller gets the error, not a callback */
    conn_fail(c, CONN_CONNECT, "%s", uv_strerror(rc));
    return ACCORD_EINVAL;
  }
  uv_timer_start(&c->timer, on_timeout, c->handshake_ms, 0);
  *out = c;
  return 0;
}

const uint8_t *conn_peer_key(const conn *c) {
  return c && (c->state == CS_OPEN || c->state == CS_ENDING) ? c->hs.peer_pk
                                                             : NULL;
}
const char *conn_peer_name(const conn *c) { return c ? c->name : ""; }
size_t conn_ws_index(const conn *c) { return c ? c->hs.ws_index : 0; }
int conn_is_stranger(const conn *c) { return c ? c->hs.stranger : 0; }
size_t conn_queued(const conn *c) { return c ? c->queued : 0; }
void conn_set_userdata(conn *c, void *ud) { c->ud = ud; }
void *conn_userdata(const conn *c) { return c->ud; }

/* ---- listening ----------------------------------------------------------- */

static void free_handle(uv_handle_t *h) { mem_free(h); }

static void on_connection(uv_stream_t *server, int status) {
  conn_listener *l = server->data;
  if (status < 0) {
    logf_(l->opts.log, l->opts.log_ud, "accord net: accept: %s",
          uv_strerror(status));
    return;
  }
  conn *c = conn_new(server->loop, &l->opts, &l->cb, l->ud);
  if (!c) {
    /* accept and drop, or the listener would spin on this connection */
    uv_tcp_t *t = mem_alloc(sizeof *t);
    if (t && uv_tcp_init(server->loop, t) == 0) {
      (void)uv_accept(server, (uv_stream_t *)t); /* then drop it */
      uv_close((uv_handle_t *)t, free_handle);
    } else {
      mem_free(t);
    }
    logf_(l->opts.log, l->opts.log_ud, "accord net: accept: out of memory");
    return;
  }
  c->lst = l;
  c->lnext = l->pending;
  l->pending = c;
  int rc = uv_accept(server, (uv_stream_t *)&c->tcp);
  if (rc < 0) {
    c->silent = 1;
    conn_fail(c, CONN_IO, "accept: %s", uv_strerror(rc));
    logf_(l->opts.log, l->opts.log_ud, "accord net: accept: %s",
          uv_strerror(rc));
    return;
  }
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0)
    addr_name((struct sockaddr *)&ss, c->name, sizeof c->name);
  begin(c, 0, &l->opts.hs);
}

int conn_listen(uv_loop_t *loop, const struct sockaddr *addr,
                const conn_options *opts, const conn_callbacks *cb, void *ud,
                conn_listener **out, char *err, size_t errlen) {
  if (out) *out = NULL;
  if (!loop || !addr || !out) return ACCORD_EINVAL;
  int rc = check_opts(opts, cb, err, errlen);
  if (rc) return rc;
  conn_listener *l = mem_calloc(1, sizeof *l);
  if (!l) return ACCORD_ENOMEM;
  l->opts = *opts;
  memcpy(l->ws_key, opts->hs.ws_key, HS_KEY_BYTES);
  memcpy(l->pk, opts->hs.pk, SIGN_PUBLIC_BYTES);
  memcpy(l->sk, opts->hs.sk, SIGN_SECRET_BYTES);
  l->opts.hs.ws_key = l->ws_key;
  l->opts.hs.pk = l->pk;
  l->opts.hs.sk = l->sk;
  if (opts->hs.n_more >= HS_MAX_KEYS) {
    if (err && errlen) snprintf(err, errlen, "too many workspace keys");
    mem_free(l);
    return ACCORD_EINVAL;
  }
  if (opts->hs.n_more)
    memcpy(l->more, opts->hs.more_keys, opts->hs.n_more * HS_KEY_BYTES);
  l->opts.hs.more_keys = l->more[0];
  l->cb = *cb;
  l->ud = ud;
  uv_tcp_init(loop, &l->tcp);
  l->tcp.data = l;
  unsigned flags = addr->sa_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0;
  const char *what = "bind";
  rc = uv_tcp_bind(&l->tcp, addr, flags);
  if (rc == 0) {
    what = "listen";
    rc = uv_listen((uv_stream_t *)&l->tcp, 128, on_connection);
  }
  if (rc < 0) {
    char name[64];
    addr_name(addr, name, sizeof name);
    if (err && errlen)
      snprintf(err, errlen, "%s %s: %s", what, name, uv_strerror(rc));
    conn_listener_close(l);
    return ACCORD_EINVAL;
  }
  struct sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getsockname(&l->tcp, (struct sockaddr *)&ss, &len) == 0)
    l->port = ntohs(ss.ss_family == AF_INET6
                        ? ((struct sockaddr_in6 *)&ss)->sin6_port
                        : ((struct sockaddr_in *)&ss)->sin_port);
  *out = l;
  return 0;
}

int conn_listener_port(const conn_listener *l) { return l ? l->port : 0; }

int conn_listener_add_key(conn_listener *l, const uint8_t *key) {
  if (!l || !key || l->opts.hs.n_more + 1 >= HS_MAX_KEYS)
    return ACCORD_EINVAL;
  memcpy(l->more[l->opts.hs.n_more], key, HS_KEY_BYTES);
  l->opts.hs.n_more++;
  return 0;
}

static void on_listener_closed(uv_handle_t *h) {
  conn_listener *l = h->data;
  crypto_wipe(l, sizeof *l);
  mem_free(l);
}

void conn_listener_close(conn_listener *l) {
  if (!l || uv_is_closing((uv_handle_t *)&l->tcp)) return;
  /* connections accepted but not yet open end with it, silently: their
   * callbacks and log would otherwise reach an owner that may be gone
   * (the net is freed once its peers closed, and these are no peers) */
  while (l->pending) {
    conn *c = l->pending;
    l->pending = c->lnext;
    c->lst = NULL;
    c->lnext = NULL;
    c->silent = 1;
    conn_fail(c, CONN_IO, "listener closed");
  }
  uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
}

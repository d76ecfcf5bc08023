/*
 * beacon.c — LAN discovery on libuv UDP (beacon.h has the contract,
 * beacon_codec.c the bytes).
 *
 * One UDP socket bound to the group's port on every address (with
 * SO_REUSEADDR, so several nodes on one host can listen), joined to the
 * group, multicast loopback on and TTL 1; one timer for the rounds.
 * Sending uses uv_udp_try_send: a beacon is 83 bytes and best effort, so a
 * full socket buffer skips a round instead of queueing (no memory grows
 * with a stuck network). Received datagrams land in a fixed buffer one
 * byte larger than a beacon; anything that does not fit is refused as the
 * wrong size.
 *
 * Invariants: keys[i] is k_beacon of ws[i]; after beacon_stop (stopped
 * set) no callback runs; the struct is freed from the close callback of
 * the second handle, with its keys wiped.
 *
 * Workload: nws datagrams sent per interval (seconds), a few received per
 * second on a busy LAN.
 */
#define _POSIX_C_SOURCE 200809L

#include "beacon.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "accord.h"
#include "mem.h"

struct beacon {
  uv_udp_t udp;
  uv_timer_t timer;
  int handles, stopped;
  uint8_t pk[SIGN_PUBLIC_BYTES];
  uint16_t listen_port;
  size_t nws;
  uint8_t ids[BEACON_WS_MAX][16];
  uint8_t keys[BEACON_WS_MAX][32];
  uint32_t interval_ms;
  struct sockaddr_in dest;
  beacon_found_fn on_found;
  void *ud;
  void (*log)(void *, const char *);
  void *log_ud;
  int logged; /* bit per rejection kind already logged */
  beacon_seen seen;
  beacon_stats st;
  uint8_t rbuf[BEACON_BYTES + 1];
};

static void blog(beacon *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void blog(beacon *b, const char *fmt, ...) {
  if (!b->log) return;
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  b->log(b->log_ud, line);
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- sending ------------------------------------------------------------- */

int beacon_announce(beacon *b) {
  if (!b || b->stopped || !b->listen_port) return ACCORD_EINVAL;
  for (size_t i = 0; i < b->nws; i++) {
    beacon_msg m;
    uint8_t out[BEACON_BYTES];
    m.port = b->listen_port;
    memcpy(m.pk, b->pk, sizeof m.pk);
    m.time = wall_ms();
    int rc = beacon_seal(b->keys[i], &m, 1, out);
    if (rc) return rc;
    uv_buf_t buf = uv_buf_init((char *)out, sizeof out);
    rc = uv_udp_try_send(&b->udp, &buf, 1, (const struct sockaddr *)&b->dest);
    if (rc < 0) {
      if (!b->st.send_failed)
        blog(b, "accord beacon: send: %s", uv_strerror(rc));
      b->st.send_failed++;
    } else {
      b->st.sent++;
    }
  }
  return 0;
}

static void on_timer(uv_timer_t *t) {
  beacon *b = t->data;
  if (b->stopped) return;
  beacon_announce(b);
  uint32_t r;
  crypto_random(&r, sizeof r);
  uint64_t span = (uint64_t)b->interval_ms * 2 / 5; /* ±20% */
  uint64_t wait = b->interval_ms - span / 2 + (span ? r % (span + 1) : 0);
  uv_timer_start(&b->timer, on_timer, wait ? wait : 1, 0);
}

/* ---- receiving ----------------------------------------------------------- */

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  beacon *b = h->data;
  *buf = uv_buf_init((char *)b->rbuf, sizeof b->rbuf);
}

static void reject(beacon *b, int status, const struct sockaddr *from) {
  b->st.rejected[-status]++;
  if (b->logged & (1 << -status)) return;
  b->logged |= 1 << -status;
  char ip[INET6_ADDRSTRLEN] = "?";
  if (from && from->sa_family == AF_INET)
    uv_ip4_name((const struct sockaddr_in *)from, ip, sizeof ip);
  blog(b, "accord beacon: from %s: %s (further ones counted, not logged)",
       ip, beacon_status_str(status));
}

static void on_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                    const struct sockaddr *from, unsigned flags) {
  beacon *b = h->data;
  /* no address: nothing was read (an empty datagram has one) */
  if (b->stopped || nread < 0 || !from) return;
  b->st.received++;
  if (from->sa_family != AF_INET) {
    reject(b, BEACON_ESIZE, NULL);
    return;
  }
  size_t which = 0;
  beacon_msg m;
  int rc = (flags & UV_UDP_PARTIAL)
               ? BEACON_ESIZE
               : beacon_open((const uint8_t *)buf->base, (size_t)nread,
                             (const uint8_t(*)[32])b->keys, b->nws, &which,
                             &m);
  if (rc == BEACON_OK && !memcmp(m.pk, b->pk, sizeof b->pk)) {
    b->st.own++;
    return;
  }
  if (rc == BEACON_OK) rc = beacon_check(&b->seen, &m, wall_ms());
  if (rc != BEACON_OK) {
    reject(b, rc, from);
    return;
  }
  b->st.found++;
  struct sockaddr_in peer = *(const struct sockaddr_in *)from;
  peer.sin_port = htons(m.port);
  char ip[INET_ADDRSTRLEN], text[INET_ADDRSTRLEN + 8];
  uv_ip4_name(&peer, ip, sizeof ip);
  snprintf(text, sizeof text, "%s:%u", ip, (unsigned)m.port);
  if (b->on_found)
    b->on_found(b->ud, b->ids[which], m.pk, (const struct sockaddr *)&peer,
                text);
}

/* ---- starting and stopping ----------------------------------------------- */

static void on_closed(uv_handle_t *h) {
  beacon *b = h->data;
  if (--b->handles > 0) return;
  crypto_wipe(b->keys, sizeof b->keys);
  mem_free(b);
}

void beacon_stop(beacon *b) {
  if (!b || b->stopped) return;
  b->stopped = 1;
  uv_udp_recv_stop(&b->udp);
  uv_close((uv_handle_t *)&b->udp, on_closed);
  uv_close((uv_handle_t *)&b->timer, on_closed);
}

static int fail(beacon *b, char *err, size_t errlen, const char *what,
                int uverr) {
  if (err && errlen) snprintf(err, errlen, "%s: %s", what, uv_strerror(uverr));
  beacon_stop(b);
  return ACCORD_EINVAL;
}

int beacon_start(uv_loop_t *loop, const beacon_options *o, beacon **out,
                 char *err, size_t errlen) {
  if (out) *out = NULL;
  if (!loop || !o || !out || !o->pk || !o->ws || o->nws == 0 ||
      o->nws > BEACON_WS_MAX) {
    if (err && errlen) snprintf(err, errlen, "bad beacon options");
    return ACCORD_EINVAL;
  }
  for (size_t i = 0; i < o->nws; i++)
    if (!o->ws[i].id || !o->ws[i].key) {
      if (err && errlen) snprintf(err, errlen, "a workspace without a key");
      return ACCORD_EINVAL;
    }
  int rc = crypto_init();
  if (rc) return rc;
  const char *group = o->group ? o->group : BEACON_GROUP;
  uint16_t port = o->port ? o->port : BEACON_PORT;
  struct sockaddr_in dest, any;
  if (uv_ip4_addr(group, port, &dest) ||
      (ntohl(dest.sin_addr.s_addr) >> 28) != 0xe) {
    if (err && errlen)
      snprintf(err, errlen, "%s is not an IPv4 multicast group", group);
    return ACCORD_EINVAL;
  }
  beacon *b = mem_calloc(1, sizeof *b);
  if (!b) return ACCORD_ENOMEM;
  memcpy(b->pk, o->pk, sizeof b->pk);
  b->listen_port = o->listen_port;
  b->nws = o->nws;
  for (size_t i = 0; i < o->nws; i++) {
    memcpy(b->ids[i], o->ws[i].id, 16);
    beacon_key(o->ws[i].key, b->keys[i]);
  }
  b->interval_ms = o->interval_ms ? o->interval_ms : BEACON_INTERVAL_MS;
  b->dest = dest;
  b->on_found = o->on_found;
  b->ud = o->ud;
  b->log = o->log;
  b->log_ud = o->log_ud;
  uv_udp_init(loop, &b->udp);
  uv_timer_init(loop, &b->timer);
  b->udp.data = b->timer.data = b;
  b->handles = 2;
  uv_ip4_addr("0.0.0.0", port, &any);
  if ((rc = uv_udp_bind(&b->udp, (const struct sockaddr *)&any,
                        UV_UDP_REUSEADDR)))
    return fail(b, err, errlen, "bind", rc);
  if ((rc = uv_udp_set_membership(&b->udp, group, o->interface,
                                  UV_JOIN_GROUP)))
    return fail(b, err, errlen, "joining the group", rc);
  if (o->interface &&
      (rc = uv_udp_set_multicast_interface(&b->udp, o->interface)))
    return fail(b, err, errlen, "multicast interface", rc);
  if ((rc = uv_udp_set_multicast_loop(&b->udp, 1)) ||
      (rc = uv_udp_set_multicast_ttl(&b->udp, 1)))
    return fail(b, err, errlen, "multicast options", rc);
  if ((rc = uv_udp_recv_start(&b->udp, on_alloc, on_recv)))
    return fail(b, err, errlen, "receive", rc);
  if (b->listen_port) uv_timer_start(&b->timer, on_timer, 0, 0);
  *out = b;
  return 0;
}

const beacon_stats *beacon_get_stats(const beacon *b) { return &b->st; }

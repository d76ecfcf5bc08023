/*
 * netproxy.h — a fault-injecting TCP proxy for the network tests (test
 * utility, not part of the library).
 *
 * The proxy listens on an ephemeral loopback port and forwards every
 * connection it accepts to one target address, on the caller's loop. Each
 * direction (NP_UP: from the connecting side to the target; NP_DOWN: back)
 * has its own fault settings, which the test may change at any time: they
 * apply to the bytes read after the change. Faults are decided per chunk
 * (one socket read) by a PRNG seeded at netproxy_start, so a run is
 * reproducible up to the kernel's segmentation:
 *
 *   drop      a random span of the chunk is discarded
 *   delay     the chunk is held for 1..delay_ms ms (order is kept: later
 *             chunks of the direction wait behind it)
 *   dup       the chunk is sent twice
 *   truncate  only a random proper prefix of the chunk is sent
 *   corrupt   1..3 random bits of the chunk are flipped
 *   cut       the connection (both sockets) is closed instead
 *
 * Each fault has a probability in per mille (0: never, 1000: every chunk).
 * All zeros is "clean": bytes pass unchanged. A chunk may suffer several
 * faults (in the order above, cut first).
 *
 * Bounded memory: per direction, the bytes held (delayed or being written)
 * stay under NP_HOLD_MAX plus one read; above it the proxy stops reading
 * that direction's source until half has drained (backpressure, as a real
 * middlebox would apply). A half-close (EOF) is passed on once the held
 * bytes are written; a socket error closes the whole connection.
 *
 * The first NP_CAPTURE bytes of each direction of the latest connection
 * are kept, as delivered (after faults), for replay attacks in tests.
 *
 * Threading: everything on the loop's thread.
 */
#ifndef ACCORD_NETPROXY_H
#define ACCORD_NETPROXY_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define NP_HOLD_MAX ((size_t)1 << 20)
#define NP_CAPTURE 4096

enum { NP_UP = 0, NP_DOWN = 1 };

typedef struct np_faults {
  uint32_t drop, delay, dup, truncate, corrupt, cut; /* per mille */
  uint32_t delay_ms; /* the longest delay (0: 20 ms) */
} np_faults;

/* What the proxy did, per direction (summed over its connections). */
typedef struct np_stats {
  uint64_t bytes_in, bytes_out, chunks;
  uint64_t dropped, delayed, duplicated, truncated, corrupted, cuts;
  /* connections (kept in direction 0's counters): accepted, connected
   * to the target, closed */
  uint64_t accepted, connected, closed;
} np_stats;

typedef struct netproxy netproxy;

/* Listens on 127.0.0.1 (ephemeral port) and forwards to target. seed
 * drives every fault decision; it is printed. log (may be NULL) receives
 * one line per connection event and cut. 0 or a libuv error code. */
int netproxy_start(uv_loop_t *loop, const struct sockaddr *target,
                   uint64_t seed, void (*log)(void *ud, const char *line),
                   void *log_ud, netproxy **out);
/* The port the proxy listens on. */
int netproxy_port(const netproxy *p);
/* 127.0.0.1:port of the proxy into addr. */
void netproxy_addr(const netproxy *p, struct sockaddr_in *addr);
/* Sets the faults of one direction (NP_UP or NP_DOWN); f NULL: clean. */
void netproxy_set(netproxy *p, int dir, const np_faults *f);
/* Both directions clean. */
void netproxy_clean(netproxy *p);
/* Closes every open proxied connection now. */
void netproxy_cut_all(netproxy *p);
/* Connections currently open through the proxy. */
int netproxy_open_count(const netproxy *p);
const np_stats *netproxy_stats(const netproxy *p, int dir);
/* The first bytes (up to NP_CAPTURE) that went out in direction dir on
 * the latest connection; *len gets their number. Borrowed until the next
 * accepted connection or netproxy_close. */
const uint8_t *netproxy_captured(const netproxy *p, int dir, size_t *len);
/* Stops listening and closes every connection; the proxy is freed once
 * libuv has closed its handles (run the loop). NULL is a no-op. */
void netproxy_close(netproxy *p);

#endif

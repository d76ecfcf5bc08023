/*
 * beacon.h — LAN discovery over UDP (DESIGN §6 "Discovery"): every
 * interval a node sends one beacon per workspace it belongs to
 * (beacon_codec.h: sealed under a key derived from the workspace key, so
 * only members recognise it) and listens for its teammates' beacons;
 * on_found tells the network layer whom to expect where. Internal API for
 * net/, on the caller's libuv loop.
 *
 * Multicast rather than broadcast: an IPv4 multicast group in the
 * organisation-local scope (239.255.0.0/16, RFC 2365) reaches only hosts
 * that joined it instead of waking every host on the segment; a TTL of 1
 * keeps beacons on the local link; multicast loopback lets two nodes on
 * one machine (and the tests, on 127.0.0.1) find each other; and the same
 * design carries over to IPv6, which has no broadcast (ff02:: link-local
 * groups: later). Several processes on one host share the port
 * (SO_REUSEADDR), each receiving every beacon.
 *
 * What an observer learns: that some host sends 83-byte datagrams to the
 * group every few seconds. Not the workspace, not the node, not whether
 * two beacons come from the same node or workspace.
 *
 * on_found fires for each valid beacon of another node (so every interval
 * per teammate and workspace), never for our own, and never after
 * beacon_stop. Beacons that fail are counted (beacon_get_stats) and the
 * first of each kind is logged. Turning discovery off is beacon_stop (or
 * never starting it).
 *
 * Threading: everything on the loop's thread. Includes uv.h: define
 * _POSIX_C_SOURCE 200809L first (see conn.h).
 */
#ifndef ACCORD_BEACON_H
#define ACCORD_BEACON_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "beacon_codec.h"

#define BEACON_GROUP "239.255.77.77"
#define BEACON_PORT 47701
#define BEACON_INTERVAL_MS 5000
#define BEACON_WS_MAX 64

typedef struct beacon beacon;

typedef struct beacon_ws {
  const uint8_t *id;  /* 16 bytes: the workspace id (handed to on_found) */
  const uint8_t *key; /* 32 bytes: the workspace key */
} beacon_ws;

/* A teammate: ws (16 bytes) and pk (32) are borrowed for the call; addr
 * is the sender's IP with the TCP port its beacon announced, addr_text
 * the same as "ip:port". */
typedef void (*beacon_found_fn)(void *ud, const uint8_t *ws,
                                const uint8_t *pk,
                                const struct sockaddr *addr,
                                const char *addr_text);

typedef struct beacon_options {
  const uint8_t *pk;     /* 32: our identity (sent; our own beacons are
                            recognised by it and ignored) */
  uint16_t listen_port;  /* our TCP port, announced; 0: listen only */
  const beacon_ws *ws;   /* the workspaces to announce and recognise */
  size_t nws;            /* 1..BEACON_WS_MAX; ids and keys are copied */
  uint32_t interval_ms;  /* 0: BEACON_INTERVAL_MS (each wait is jittered
                            by up to ±20%, so nodes do not fall in step) */
  const char *group;     /* IPv4 multicast group; NULL: BEACON_GROUP */
  uint16_t port;         /* UDP port; 0: BEACON_PORT */
  const char *interface; /* local IPv4 address to send and join on; NULL:
                            the system's choice */
  beacon_found_fn on_found;
  void *ud;
  void (*log)(void *log_ud, const char *line); /* NULL: nowhere */
  void *log_ud;
} beacon_options;

typedef struct beacon_stats {
  uint64_t sent, send_failed, received, found, own;
  uint64_t rejected[6]; /* indexed by -beacon_status (1..5) */
} beacon_stats;

/* Starts discovery: binds the port, joins the group, sends a first round
 * of beacons at once. 0, or ACCORD_EINVAL (bad options, or the socket
 * cannot be set up: err says why) or ACCORD_ENOMEM; then nothing runs. */
int beacon_start(uv_loop_t *loop, const beacon_options *o, beacon **out,
                 char *err, size_t errlen);
/* Sends a round of beacons now (e.g. when the listen port changed). 0 or
 * ACCORD_EINVAL (stopped, or listen only). */
int beacon_announce(beacon *b);
const beacon_stats *beacon_get_stats(const beacon *b);
/* Turns discovery off: no more beacons sent or callbacks made. Freed
 * once libuv has closed the handles (run the loop). NULL is a no-op. */
void beacon_stop(beacon *b);

#endif

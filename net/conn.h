/*
 * conn.h — one encrypted connection over libuv TCP (IPv4 or IPv6): the
 * handshake (handshake.h) under a deadline, then framed msgpack messages
 * (frame.h) both ways. Internal API for the sync layer to sit on; the
 * public networking API (issue 6) comes later.
 *
 * Life of a connection
 *   conn_connect() or an accepted connection of a conn_listener starts it.
 *   on_open fires once the handshake has proved the peer (conn_peer_key);
 *   on_message fires for each message received; on_close fires exactly
 *   once, whatever ends it (unless conn_connect itself returned an error),
 *   with a reason and a one-line detail that is also logged. After
 *   on_close returns the conn is freed: drop every pointer to it.
 *
 * Backpressure (the choice: EBUSY plus a drain callback)
 *   Messages are encrypted when conn_send is called and queued in libuv
 *   until the kernel takes them. conn_send refuses with ACCORD_EBUSY when
 *   the bytes queued would exceed send_queue_max (a message is always
 *   accepted when the queue is empty, so any message up to FRAME_MSG_MAX
 *   can be sent); after an EBUSY, on_drain fires once the queue has fallen
 *   to half the limit. Memory per connection is thus bounded by
 *   send_queue_max + one message, whatever the peer's reading speed.
 *
 * Threading: everything runs on the loop's thread.
 *
 * This header includes uv.h, which under -std=c11 needs POSIX types: a file
 * including it defines _POSIX_C_SOURCE 200809L first. Only net/ and its
 * tests include it (core/ never sees libuv, DESIGN §1).
 */
#ifndef ACCORD_CONN_H
#define ACCORD_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "handshake.h"

#define CONN_HANDSHAKE_MS 10000         /* default handshake deadline */
#define CONN_QUEUE_DEFAULT ((size_t)1 << 20)

typedef struct conn conn;
typedef struct conn_listener conn_listener;

/* Why a connection closed (on_close's reason; conn_reason_str names it). */
typedef enum conn_reason {
  CONN_CLOSED = 0,  /* conn_close on this side */
  CONN_PEER_CLOSED, /* the peer ended its stream cleanly */
  CONN_EOF,         /* the peer dropped the connection without ending its
                       stream (a responder refusing a handshake does this) */
  CONN_IO,          /* socket error */
  CONN_CONNECT,     /* could not connect */
  CONN_TIMEOUT,     /* handshake not finished before the deadline */
  CONN_HANDSHAKE,   /* handshake refused: detail is hs_reason_str */
  CONN_FRAME,       /* the peer's stream is broken: detail is
                       frame_status_str (too big, bad tag, ...) */
  CONN_NOMEM
} conn_reason;

const char *conn_reason_str(int reason);

typedef struct conn_callbacks {
  void (*on_open)(conn *c, void *ud);
  /* msg is borrowed: valid during the call. */
  void (*on_message)(conn *c, const uint8_t *msg, size_t len, void *ud);
  void (*on_drain)(conn *c, void *ud);
  void (*on_close)(conn *c, int reason, const char *detail, void *ud);
} conn_callbacks;

typedef struct conn_options {
  hs_config hs;             /* keys are copied */
  /* Deadline from conn_connect (or the accept) to the end of the
   * handshake, in ms; 0: CONN_HANDSHAKE_MS. */
  uint32_t handshake_ms;
  size_t send_queue_max;    /* bytes; 0: CONN_QUEUE_DEFAULT */
  /* Where close reasons and listener errors go (one line, no newline);
   * NULL: nowhere. */
  void (*log)(void *log_ud, const char *line);
  void *log_ud;
} conn_options;

/* Connects to addr (sockaddr_in or sockaddr_in6) as the handshake's
 * initiator. cb and opts are copied; ud is passed to every callback.
 * 0 (then on_close fires exactly once, a failed connect included) or
 * ACCORD_EINVAL (bad address or options; err says why) or ACCORD_ENOMEM:
 * then no callback fires. */
int conn_connect(uv_loop_t *loop, const struct sockaddr *addr,
                 const conn_options *opts, const conn_callbacks *cb,
                 void *ud, conn **out, char *err, size_t errlen);

/* Sends one msgpack message (n bytes, copied and encrypted at once).
 * Errors: ACCORD_EBUSY (send queue full: wait for on_drain),
 * ACCORD_ETOOBIG (n > FRAME_MSG_MAX), ACCORD_EINVAL (not one canonical
 * msgpack value, or the conn is not open: before on_open or after
 * conn_close), ACCORD_ENOMEM. */
int conn_send(conn *c, const uint8_t *msg, size_t n);

/* Ends the connection: once what is queued is sent, a FINAL frame tells
 * the peer, and on_close fires with CONN_CLOSED. Before the handshake
 * finishes, it just drops the connection. Calling it again is a no-op. */
void conn_close(conn *c);

/* The peer's proven identity (SIGN_PUBLIC_BYTES), or NULL before on_open. */
const uint8_t *conn_peer_key(const conn *c);
/* Which workspace key the peer's handshake used (an accepted conn whose
 * options held more_keys: 0 for ws_key, i for more_keys' i-th), and
 * whether it is a stranger (options allowed strangers, and the membership
 * check refused its proven key). Valid from on_open. */
size_t conn_ws_index(const conn *c);
int conn_is_stranger(const conn *c);
/* The peer's address as text ("127.0.0.1:5000", "[::1]:5000"). */
const char *conn_peer_name(const conn *c);
/* Bytes queued for sending (accepted by conn_send, not yet written). */
size_t conn_queued(const conn *c);
void conn_set_userdata(conn *c, void *ud);
void *conn_userdata(const conn *c);

/* Test hook (and the fault-injecting proxy's, later): writes raw bytes to
 * the socket, bypassing framing. 0 or ACCORD_ENOMEM / EINVAL (closing). */
int conn_send_raw(conn *c, const void *p, size_t n);

/* ---- listening ----------------------------------------------------------- */
/* Listens on addr (port 0: an ephemeral port, see conn_listener_port);
 * every accepted connection is a handshake responder with these options
 * and callbacks (ud for each; conn_set_userdata changes it per conn).
 * 0, or ACCORD_EINVAL (the address cannot be bound or listened on: err
 * says why, e.g. no IPv6) or ACCORD_ENOMEM. */
int conn_listen(uv_loop_t *loop, const struct sockaddr *addr,
                const conn_options *opts, const conn_callbacks *cb, void *ud,
                conn_listener **out, char *err, size_t errlen);
/* The port bound, or 0 if unknown. */
int conn_listener_port(const conn_listener *l);
/* One more workspace key (32 bytes, copied) accepted from now on, with
 * the next index (conn_ws_index). 0, or ACCORD_EINVAL (NULL, or already
 * HS_MAX_KEYS keys). */
int conn_listener_add_key(conn_listener *l, const uint8_t *key);
/* Stops listening; the listener is freed once libuv has closed it.
 * Connections it accepted that are open live on; those still in their
 * handshake end with it, silently (no on_close, no log line: their owner
 * may be gone next). NULL is a no-op. */
void conn_listener_close(conn_listener *l);

#endif

/*
 * net.h — internals of the public accord_net (net.c: the handle, its
 * thread or loop, peers and reconnection; session.c: the sync protocol of
 * docs/sync.md on one connection, for one workspace). Only net/, its
 * tests and accord-bench include it.
 *
 * Threading: everything here runs on the network thread (accord.h's
 * threading rule); only the call queue (calls, mu) is touched by others.
 */
#ifndef ACCORD_NET_H
#define ACCORD_NET_H

#include "beacon.h"
#include "conn.h"
#include "node_net.h"

/* ---- bounds (docs/sync.md) ----------------------------------------------- */
#define NET_SUM_PER_MSG 2048      /* summary entries per SUM message */
#define NET_DOCS_MAX 1000000      /* documents a peer may announce per round */
#define NET_BATCH_BYTES (1u << 20) /* batch bytes per CHG message */
/* A batch larger than a message travels in pieces (CHG_PART) that the
 * receiver reassembles, so that chains are not cut (a verifying receiver
 * needs every chain to end at its seal); only past this many bytes of one
 * document are chains cut. Also the reassembly limit per peer. */
#define NET_ASM_MAX_DEFAULT ((size_t)32 << 20)
#define NET_ASM_MAX net_asm_max
/* NET_ASM_MAX_DEFAULT unless a test lowered it (so that documents past
 * the limit are tested without writing 32 MiB): set it before starting
 * nets, restore it after. */
extern size_t net_asm_max;
#define NET_QUEUE_BYTES ((size_t)8 << 20)
#define NET_DOC_CACHE 16          /* documents kept open by the network */
#define NET_ROLE_MAX 64           /* bytes of a role in a JOIN */
#define NET_PEERS_MAX 64          /* open connections a node accepts */
/* Across all peers: batches being sent in pieces, and pieces gathered.
 * With the per-peer limits this bounds the net's memory (docs/sync.md). */
#define NET_OUT_TOTAL ((size_t)128 << 20)
#define NET_IN_TOTAL ((size_t)64 << 20)

/* Message types: the first element of every message (an array). */
enum {
  MSG_SUM = 1,
  MSG_VV = 2,
  MSG_CHG = 3,
  MSG_JOIN = 5,
  MSG_GENESIS = 6,
  MSG_HELLO = 7
};

/* CHG flags */
#define CHG_LAST 1u /* the last message answering a VV */
#define CHG_PART 2u /* a piece of a batch: more pieces follow */
/* A CHG's `remaining`: at most the changes a document can hold (every
 * actor's chain, ACCORD_MAX_ACTORS of them, at the largest seq), so that
 * progress sums cannot wrap (session.c checks the figure). */
#define NET_REMAINING_MAX ((uint64_t)4096 * UINT32_MAX)

/* What we know a peer has of one document. Invariant: the array of a peer
 * is sorted by id. */
typedef struct pdoc {
  uint8_t id[ACCORD_DOC_ID_BYTES];
  store_heads known; /* changes the peer has or that are on their way */
  uint8_t valid;     /* known is what the peer has (else wait for its VV) */
  uint8_t dirty;     /* it may lack something: pump it */
  uint8_t reply;     /* bit 0: it asked (VV): end with a CHG_LAST; other
                        bits: session.c's PD_* */
  uint8_t system;    /* a "system" document: pumped first */
  /* asked (PD_ASKED): the changes of its answer still to come, as counted
   * in the peer's prog.changes_total (the sender's `remaining`) */
  uint64_t expect;
} pdoc;

typedef struct dial dial;
struct accord_net;

/* One workspace the net serves: its key, its last summary (sorted by id)
 * and the connection options that dial with its key. */
#define NET_WS_MAX HS_MAX_KEYS
typedef struct netws {
  struct accord_net *net;
  uint8_t id[ACCORD_WS_ID_BYTES];
  uint8_t key[32];
  node_net_doc *sum;
  size_t nsum;
  conn_options copts;
} netws;

/* One connection and its session. */
#define PEER_MAGIC 0x70656572u
#define NET_MAGIC 0x6e657421u

typedef struct peer {
  uint32_t magic; /* PEER_MAGIC: first, see net.c's is_net */
  struct accord_net *net;
  netws *w;         /* the workspace of this connection */
  conn *c;
  dial *d;          /* the address we dialled, or NULL (accepted) */
  struct peer *next;
  int open;         /* handshake done */
  int synced;       /* its first summary arrived */
  int stranger;     /* not a member: may only send a JOIN */
  int joined_here;  /* it redeemed an invite on this connection */
  int closing;
  int announced;    /* the peer callback said "connected" */
  uint64_t opened_ms;
  int recorded;     /* its first complete session is in the peers table */
  int sum_ended;    /* its summary's last message arrived */
  size_t nasked;    /* documents with a VV of ours unanswered (PD_ASKED) */
  uint8_t pk[32];
  char name[80];
  pdoc *docs;
  size_t ndocs, capdocs;
  size_t ndirty;
  /* an incoming summary spans several messages: the docs it listed */
  uint64_t round_docs;
  accord_net_progress prog;
  uint64_t msgs_in, msgs_out;
  /* a batch going out in pieces: sent before anything else */
  int out_active;
  buf out;
  size_t out_off;
  node_net_doc out_rec;
  unsigned out_flags;
  uint64_t out_remaining;
  int starved;      /* a batch waited for NET_OUT_TOTAL room */
  /* pieces received so far of one batch (in_id's) */
  buf in;
  uint8_t in_id[ACCORD_DOC_ID_BYTES];
} peer;

struct dial {
  struct accord_net *net;
  netws *w;         /* the workspace (key) this address is dialled for */
  struct sockaddr_storage addr;
  char text[80];
  uv_timer_t timer;
  uint32_t backoff;
  peer *p;          /* the connection in progress or open */
  uint8_t pk[32];   /* the member expected there, when has_pk */
  int has_pk;
  int all_ws;       /* added by accord_net_add_peer: for every workspace */
  dial *next;
  int removed;
};

typedef struct callq {
  void (*fn)(accord_net *, void *);
  void *ud;
  struct callq *next;
} callq;

typedef struct ndcache {
  uint8_t ws[ACCORD_WS_ID_BYTES];
  uint8_t id[ACCORD_DOC_ID_BYTES];
  accord_doc *doc;
  uint64_t used;
} ndcache;

struct accord_net {
  uint32_t magic; /* NET_MAGIC: first */
  accord_node *node;
  netws ws[NET_WS_MAX]; /* ws[0] is the one a join is for */
  size_t nws;
  uint8_t more_keys[NET_WS_MAX - 1][32]; /* the listener's: ws[1..] */
  accord_net_opts o;
  accord_net_callbacks cb;
  uv_loop_t *loop;
  uv_loop_t own_loop;
  int own;
  uv_thread_t thread;
  uv_async_t async;
  uv_mutex_t mu;
  callq *calls, *calls_tail;
  int stop_req;
  uv_timer_t poll, ae;
  uv_prepare_t prepare;
  int handles;
  conn_listener *listener;
  int port;
  conn_options copts;
  peer *peers;
  dial *dials;
  size_t npeers;
  int stopping;
  uint64_t counter;          /* accord_node_changed at the last scan */
  uint64_t ws_counter;       /* ... at the last look for new workspaces */
  int fixed_ws;              /* one workspace (opts.workspace, a join) */
  ndcache cache[NET_DOC_CACHE];
  uint64_t tick;
  uint64_t rng;
  size_t out_total, in_total; /* bytes of peers' out and in buffers */
  int in_pump;
  /* joining (accord_net_join): until the member we dial sends the genesis
   * record, the workspace is not ours and nothing is synced */
  int joining, join_failed;
  dial *join_dial;
  uint8_t join_secret[32];
  char join_name[257], join_role[NET_ROLE_MAX + 1];
  int join_has_role;
  /* LAN discovery (beacon.h), or NULL: off, or not started yet (joining) */
  beacon *beacon;
  char listen_host[64]; /* the IPv4 literal listened on, or "" */
  /* test hooks (net_debug_*) */
  int (*debug_member)(void *, const uint8_t *);
  void *debug_member_ud;
  uint32_t drop_pushes;
  uint64_t stat_msgs_out, stat_msgs_in;
};

/* ---- net.c --------------------------------------------------------------- */
void net_log(accord_net *net, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* An open document of the workspace (kept in a small cache; do not close
 * it). Errors: as accord_node_doc_open. */
int net_doc(accord_net *net, const uint8_t *ws, const uint8_t *id,
            accord_doc **out);
uint64_t net_now_ms(void);
/* Tells the embedder a peer is connected (once; strangers only after
 * they joined). */
void net_announce(peer *p);
/* The join ended: 0 (the workspace is adopted) or an error (the attempt is
 * over; the dial is removed). Reports through the joined callback. */
void net_join_done(accord_net *net, int rc);
uint64_t net_random(accord_net *net);
/* Wall-clock ms since the epoch (the peers table's times). */
int64_t net_wall_ms(void);
/* A proven member pk of w was seen at addr ("host:port", or NULL):
 * recorded in the store's peers table (node_peer_seen); a failure is
 * logged, not fatal (the table is a hint). */
void net_peer_seen(accord_net *net, netws *w, const uint8_t *pk,
                   const char *addr);
/* A peer's first complete session: node_peer_synced. */
void net_peer_synced(peer *p);

/* ---- session.c ----------------------------------------------------------- */
/* A connection opened: send our summary. */
void session_open(peer *p);
/* One message from the peer (validated here; a bad one closes). */
void session_message(peer *p, const uint8_t *msg, size_t len);
/* The send queue drained: go on sending. */
void session_pump(peer *p);
/* Sends a summary (want_reply: the peer answers with its own). */
int session_send_summary(peer *p, int want_reply);
/* The store moved: compare summaries, mark what peers may lack, pump. */
void session_scan(accord_net *net);
/* Frees the session state of a peer. */
void session_free(peer *p);
/* Ends the connection with a reason, logged. */
void session_fail(peer *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- test hooks ---------------------------------------------------------- */
/* The next n pushes (CHG messages that answer no VV) are dropped as if the
 * network lost them: the peer's known state advances, nothing is sent. */
void net_debug_drop_pushes(accord_net *net, uint32_t n);
/* Replaces the membership check of incoming connections (NULL: back to
 * node_member_check): for the stranger tests while membership is a stub. */
void net_debug_member_override(accord_net *net,
                               int (*fn)(void *, const uint8_t *), void *ud);
/* LAN discovery of the nets started after this call, in this process:
 * multicast group (NULL: BEACON_GROUP), UDP port (0: BEACON_PORT) and
 * interval (0: BEACON_INTERVAL_MS), so parallel test runs do not hear
 * each other. Not thread-safe: call before starting nets. */
void net_debug_beacon_config(const char *group, uint16_t port,
                             uint32_t interval_ms);
/* The net's beacon, or NULL (discovery off or failed to start). */
beacon *net_debug_beacon(accord_net *net);
/* Messages sent and received so far by this node. */
void net_debug_stats(const accord_net *net, uint64_t *out, uint64_t *in);
/* The connection to a peer (first open one), for attack tests. */
conn *net_debug_conn(accord_net *net);

#endif

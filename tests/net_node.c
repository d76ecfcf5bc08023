/*
 * net_node.c — a small node process for the multi-process network test
 * (test_net_proc.c): opens the node directory given, serves its only
 * workspace on an ephemeral loopback port (written to a file, atomically,
 * for the test to read), dials the peer given, and runs until SIGTERM
 * (clean stop, exit 0) or a 60 s safety limit (exit 3).
 *
 * usage: net_node DIR PORTFILE [PEER-ADDRESS]
 */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "accord.h"

static accord_net *net;
static uv_signal_t sig;
static uv_timer_t limit;
static int status;

static void log_line(void *ud, const char *line) {
  fprintf(stderr, "[%s] %s\n", (const char *)ud, line);
}

static void stop(void) {
  accord_net_stop(net);
  net = NULL;
  uv_close((uv_handle_t *)&sig, NULL);
  uv_close((uv_handle_t *)&limit, NULL);
}

static void on_signal(uv_signal_t *s, int signum) { stop(); }

static void on_limit(uv_timer_t *t) {
  status = 3;
  stop();
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: net_node DIR PORTFILE [PEER]\n");
    return 2;
  }
  accord_node *node;
  int rc = accord_node_open(argv[1], NULL, &node);
  if (rc) {
    fprintf(stderr, "open %s: %s\n", argv[1], accord_strerror(rc));
    return 1;
  }
  uv_loop_t *loop = uv_default_loop();
  accord_net_opts o;
  memset(&o, 0, sizeof o);
  o.uv_loop = loop;
  o.listen = "127.0.0.1:0";
  o.anti_entropy_ms = 500;
  o.reconnect_min_ms = 50;
  o.reconnect_max_ms = 500;
  o.no_discovery = 1; /* the test gives the peers */
  o.cb.log = log_line;
  o.cb.userdata = argv[1];
  if ((rc = accord_net_start(node, &o, &net))) {
    fprintf(stderr, "net: %s\n", accord_strerror(rc));
    return 1;
  }
  if (argc > 3 && (rc = accord_net_add_peer(net, argv[3]))) {
    fprintf(stderr, "peer %s: %s\n", argv[3], accord_strerror(rc));
    return 1;
  }
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
  FILE *f = fopen(tmp, "w");
  if (!f || fprintf(f, "%d\n", accord_net_port(net)) < 0 || fclose(f) ||
      rename(tmp, argv[2])) {
    fprintf(stderr, "cannot write %s\n", argv[2]);
    return 1;
  }
  uv_signal_init(loop, &sig);
  uv_signal_start(&sig, on_signal, SIGTERM);
  uv_timer_init(loop, &limit);
  uv_timer_start(&limit, on_limit, 60000, 0);
  uv_run(loop, UV_RUN_DEFAULT);
  accord_node_close(node);
  return uv_loop_close(loop) ? 4 : status;
}

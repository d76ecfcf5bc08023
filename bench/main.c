/*
 * main.c — accord-bench's command line: argument parsing, usage, loading
 * the trace and dispatching to the command (run_baseline.c, run_trace.c,
 * run_merge.c, run_crdt.c).
 *
 * Exit status: 0 success, 1 failure (missing or malformed file, engine
 * error, text differing from endContent, a benchmark's result differing
 * from what it must be), 2 usage error.
 */
#include "bench.h"
#include "trace.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPEAT_MAX 1000
#define CRDT_N_DEFAULT 6000
#define CRDT_N_MAX 10000000
#define CRDT_SEED_DEFAULT 42

static void usage(FILE *f)
{
  fputs(
      "usage: accord-bench COMMAND FILE [--out PATH] [--repeat N]\n"
      "       accord-bench crdt [--n N] [--only NAME | --all] [--seed S]\n"
      "       accord-bench store [--commits N] [--trace PATH] [--dir DIR]\n"
      "                          [--repeat N]\n"
      "                         [--trace PATH]\n"
      "       accord-bench gossip [--edits N]\n"
      "       accord-bench crypto\n"
      "\n"
      "Replays an editing trace (JSON, optionally gzipped; see\n"
      "traces/README.md) and prints one line of JSON with the measurements.\n"
      "\n"
      "commands:\n"
      "  trace     sequential trace on accord, one transaction per patch;\n"
      "            also measures save, load, memory and a gap-buffer baseline\n"
      "  merge     concurrent trace on one accord replica per agent; then\n"
      "            merges every replica into a fresh document\n"
      "  baseline  sequential trace on a plain gap buffer only\n"
      "  verify    sequential trace sealed every 1,000 changes: importing\n"
      "            it with seal verification against without, live (a\n"
      "            sealed batch at a time) and as one catch-up batch\n"
      "  crdt      the crdt-benchmarks suite (B1.1-B1.11, B2.1-B2.4,\n"
      "            B3.1-B3.4, B4, B4x100), one JSON line per benchmark\n"
      "  store     the node store: durable commits against raw LMDB,\n"
      "            batched commits of a trace, its size on disk, reopening\n"
      "  sync      a trace's history synced to a fresh node over encrypted\n"
      "            loopback TCP into LMDB\n"
      "  gossip    live edits between two nodes (latency, sustained rate),\n"
      "            then 32 nodes of degree 3 (reach time, messages)\n"
      "  crypto    what a verified import's cryptography costs here: a\n"
      "            hash chain step, a BLAKE2b block, an Ed25519 seal check\n"
      "\n"
      "options:\n"
      "  --out PATH    write the final text to PATH\n"
      "  --repeat N    time N runs and report the best (default 3: a\n"
      "                process's first run also pays its first page faults)\n"
      "  -h, --help    print this help\n"
      "\n"
      "options of crdt:\n"
      "  --n N         the suite's N (default 6000)\n"
      "  --only NAME   one benchmark (B1.4, B4x100) or group (B1, B2, B3)\n"
      "  --all         every benchmark; without --only or --all, all but\n"
      "                B4x100 (26 million edits)\n"
      "  --seed S      seed of the random inputs (default 42)\n"
      "  --trace PATH  B4's trace (default ../shared/traces/\n"
      "                automerge-paper.json.gz beside the source tree)\n"
      "\n"
      "The final text must equal the trace's endContent (crdt: each\n"
      "benchmark's result must be what it defines), or the command fails\n"
      "with status 1.\n",
      f);
}

BENCH_PRINTF(1, 2)
static int usage_error(const char *fmt, ...)
{
  va_list ap;
  fputs("accord-bench: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  usage(stderr);
  return 2;
}

/* Parses a decimal number in [min, max] into *out; 0 or -1. */
static int parse_number(const char *s, unsigned long long min,
                        unsigned long long max, unsigned long long *out)
{
  char *end;
  unsigned long long n;
  if (*s == '\0' || *s == '-' || *s == '+')
    return -1;
  errno = 0;
  n = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || n < min || n > max)
    return -1;
  *out = n;
  return 0;
}

/* `accord-bench crdt ...`: argv[0] is the first option. */
static int main_crdt(int argc, char **argv)
{
  crdt_opts o = {CRDT_N_DEFAULT, CRDT_SEED_DEFAULT, NULL, 0,
                 BENCH_DEFAULT_TRACE};
  unsigned long long v;

  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *val;
    if (strcmp(a, "--all") == 0) {
      o.all = 1;
      continue;
    }
    if (strcmp(a, "--n") != 0 && strcmp(a, "--only") != 0 &&
        strcmp(a, "--seed") != 0 && strcmp(a, "--trace") != 0)
      return a[0] == '-' ? usage_error("unknown option '%s'", a)
                         : usage_error("unexpected argument '%s'", a);
    if (i + 1 >= argc)
      return usage_error("%s needs a value", a);
    val = argv[++i];
    if (strcmp(a, "--n") == 0) {
      if (parse_number(val, 1, CRDT_N_MAX, &v) != 0)
        return usage_error("--n wants a number from 1 to %d, not '%s'",
                           CRDT_N_MAX, val);
      o.n = (size_t)v;
    } else if (strcmp(a, "--seed") == 0) {
      if (parse_number(val, 0, UINT64_MAX, &v) != 0)
        return usage_error("--seed wants a number from 0 to 2^64-1, not "
                           "'%s'", val);
      o.seed = (uint64_t)v;
    } else if (strcmp(a, "--only") == 0) {
      if (!crdt_known(val))
        return usage_error("--only: no benchmark '%s' (try B1.4, B2, "
                           "B4x100)", val);
      o.only = val;
    } else {
      o.trace = val;
    }
  }
  if (o.all && o.only != NULL)
    return usage_error("%s", "--only and --all exclude each other");
  return cmd_crdt(&o) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
  const char *cmd, *path = NULL, *base;
  bench_opts o = {NULL, NULL, 3};
  int (*run)(const trace *, const bench_opts *);
  int want_concurrent;
  trace *t = NULL;
  char *name = NULL;
  int rc = 1;

  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    }
  }
  if (argc < 2)
    return usage_error("%s", "missing command");
  cmd = argv[1];
  if (strcmp(cmd, "crdt") == 0)
    return main_crdt(argc - 2, argv + 2);
  if (strcmp(cmd, "crypto") == 0) {
    if (argc > 2)
      return usage_error("crypto: unexpected argument '%s'", argv[2]);
    return cmd_crypto() ? 1 : 0;
  }
  if (strcmp(cmd, "store") == 0) /* run_store.c parses its own options */
    return cmd_store(argc - 2, argv + 2);
  if (strcmp(cmd, "gossip") == 0) {
    unsigned long edits = 1000;
    for (int i = 2; i < argc; i++) {
      char *end;
      if (strcmp(argv[i], "--edits") == 0 && i + 1 < argc) {
        edits = strtoul(argv[++i], &end, 10);
        if (*end || edits < 1 || edits > 1000000)
          return usage_error("--edits wants 1..1000000, not '%s'", argv[i]);
      } else {
        return usage_error("gossip: unknown option '%s'", argv[i]);
      }
    }
    return cmd_gossip((unsigned)edits) ? 1 : 0;
  }
  if (strcmp(cmd, "trace") == 0) {
    run = cmd_trace;
    want_concurrent = 0;
  } else if (strcmp(cmd, "merge") == 0) {
    run = cmd_merge;
    want_concurrent = 1;
  } else if (strcmp(cmd, "baseline") == 0) {
    run = cmd_baseline;
    want_concurrent = 0;
  } else if (strcmp(cmd, "verify") == 0) {
    run = cmd_verify;
    want_concurrent = 0;
  } else if (strcmp(cmd, "sync") == 0) {
    run = cmd_sync;
    want_concurrent = 0;
  } else {
    return usage_error("unknown command '%s'", cmd);
  }

  for (int i = 2; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--out") == 0) {
      if (i + 1 >= argc)
        return usage_error("%s needs a PATH", a);
      o.out = argv[++i];
    } else if (strcmp(a, "--repeat") == 0) {
      char *end;
      unsigned long n;
      if (i + 1 >= argc)
        return usage_error("%s needs a number", a);
      n = strtoul(argv[++i], &end, 10);
      if (*argv[i] == '\0' || *end != '\0' || *argv[i] == '-' || n < 1 ||
          n > REPEAT_MAX)
        return usage_error("--repeat wants a number from 1 to 1000, not '%s'",
                           argv[i]);
      o.repeat = (unsigned)n;
    } else if (a[0] == '-' && a[1] != '\0') {
      return usage_error("unknown option '%s'", a);
    } else if (path == NULL) {
      path = a;
    } else {
      return usage_error("unexpected argument '%s'", a);
    }
  }
  if (path == NULL)
    return usage_error("%s", "missing FILE");

  base = strrchr(path, '/');
  base = base != NULL && base[1] != '\0' ? base + 1 : path;
  bench_set_context(base);
  name = trace_name(path);
  if (name == NULL) {
    bench_fail("out of memory");
    goto done;
  }
  o.name = name;
  if (trace_load(path, &t) != 0)
    goto done;
  if (t->concurrent != want_concurrent) {
    bench_fail("%s trace: use 'accord-bench %s'",
               t->concurrent ? "a concurrent" : "a sequential",
               t->concurrent ? "merge" : "trace");
    goto done;
  }
  if (run(t, &o) == 0)
    rc = 0;
done:
  trace_free(t);
  free(name);
  return rc;
}

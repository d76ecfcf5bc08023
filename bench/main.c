/*
 * main.c — accord-bench's command line: argument parsing, usage, loading
 * the trace and dispatching to the command (run_baseline.c, run_trace.c,
 * run_merge.c).
 *
 * Exit status: 0 success, 1 failure (missing or malformed file, engine
 * error, text differing from endContent), 2 usage error.
 */
#include "bench.h"
#include "trace.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPEAT_MAX 1000

static void usage(FILE *f)
{
  fputs(
      "usage: accord-bench COMMAND FILE [--out PATH] [--repeat N]\n"
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
      "\n"
      "options:\n"
      "  --out PATH    write the final text to PATH\n"
      "  --repeat N    time N runs and report the best (default 1)\n"
      "  -h, --help    print this help\n"
      "\n"
      "The final text must equal the trace's endContent, or the command\n"
      "fails with status 1.\n",
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

int main(int argc, char **argv)
{
  const char *cmd, *path = NULL, *base;
  bench_opts o = {NULL, NULL, 1};
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
  if (strcmp(cmd, "trace") == 0) {
    run = cmd_trace;
    want_concurrent = 0;
  } else if (strcmp(cmd, "merge") == 0) {
    run = cmd_merge;
    want_concurrent = 1;
  } else if (strcmp(cmd, "baseline") == 0) {
    run = cmd_baseline;
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

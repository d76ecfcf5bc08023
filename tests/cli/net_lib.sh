# net_lib.sh — helpers for the network cases (t_net*.sh), sourced by them
# after run.sh's: nodes in $T/NAME, `accord serve` in the background on an
# ephemeral loopback port, every server stopped when the case ends.
#
#   node NAME ARGS...      runs accord on node NAME (like `a`)
#   serve NAME [ARGS...]   starts `accord serve --listen 127.0.0.1:0` on node
#                          NAME; its port in $port, its pid in $spid, its
#                          log in $T/NAME.serve.log
#   stop PID               SIGTERM, and waits for a clean exit (status 0)
#   wait_for SECONDS CMD   retries CMD every 0.1 s until it succeeds
SERVERS=""
trap 'for p in $SERVERS; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"' EXIT

node() {
  local n=$1
  shift
  ACCORD_DIR=$T/$n a "$@"
}
nok() {
  local n=$1
  shift
  node "$n" "$@"
  [ "$rc" -eq 0 ] || fail "accord ($n) $* exited $rc: $(cat "$T/err")"
}

wait_for() {
  local limit=$(( $1 * 10 )) i=0
  shift
  while ! "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    [ "$i" -le "$limit" ] || return 1
    sleep 0.1
  done
}

serve() {
  local n=$1
  shift
  # emptied here, not only by the child's redirection: a log left by an
  # earlier serve of this node would otherwise answer the wait below
  : >"$T/$n.serve.log"
  ACCORD_DIR=$T/$n "$ACCORD" serve --listen 127.0.0.1:0 "$@" \
    >"$T/$n.serve.out" 2>"$T/$n.serve.log" &
  spid=$!
  SERVERS="$SERVERS $spid"
  wait_for 10 grep -q "listening 127.0.0.1:[1-9]" "$T/$n.serve.log" ||
    fail "serve on $n did not start: $(cat "$T/$n.serve.log")"
  port=$(sed -n 's/.*listening 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/$n.serve.log" | head -1)
}

stop() {
  kill -TERM "$1"
  local st=0
  wait "$1" || st=$?
  [ "$st" -eq 0 ] || fail "serve (pid $1) exited $st after SIGTERM"
}

# export_of NAME: the workspace as JSON, as node NAME has it
export_of() { ACCORD_DIR=$T/$1 "$ACCORD" --json export; }

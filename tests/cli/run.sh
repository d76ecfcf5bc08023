#!/usr/bin/env bash
# run.sh — runs one end-to-end case of the `accord` command (tests/cli/t_*.sh)
# in a fresh temporary directory, with the helpers below.
#
#   bash tests/cli/run.sh ACCORD PEER CASE.sh
#
# ACCORD is the binary under test, PEER is accord-test-peer (a second member's
# replica, see peer.c). A case is a list of checks; the first failing check
# prints what it expected and the case exits 1.
set -u
ACCORD=$1
PEER=$2
CASE=$3
T=$(mktemp -d "${TMPDIR:-/tmp}/accord-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
export ACCORD_DIR=$T/node NO_COLOR=1 ACCORD_NOW=2026-01-01 TMPDIR=$T
unset VISUAL EDITOR XDG_DATA_HOME
cd "$T"

fail() {
  echo "FAIL ($CASE): $*" >&2
  exit 1
}

# a ARGS...: runs accord, output in $T/out and $T/err, exit status in $rc.
a() {
  "$ACCORD" "$@" >"$T/out" 2>"$T/err"
  rc=$?
}

# ok ARGS...: accord must succeed.
ok() {
  a "$@"
  [ "$rc" -eq 0 ] || fail "accord $* exited $rc: $(cat "$T/err")"
}

# out: the last stdout.
out() { cat "$T/out"; }

# has TEXT / lacks TEXT: the last stdout contains (or not) TEXT.
has() {
  grep -qF -- "$1" "$T/out" || fail "output lacks \"$1\":
$(cat "$T/out")"
}
lacks() {
  ! grep -qF -- "$1" "$T/out" || fail "output has \"$1\":
$(cat "$T/out")"
}
err_has() {
  grep -qiF -- "$1" "$T/err" || fail "stderr lacks \"$1\": $(cat "$T/err")"
}

# snapshot: the whole store as `accord --json export` shows it (every
# document with its change count), plus the workspace's document list.
snapshot() {
  "$ACCORD" --json export 2>&1
  ls -R "$ACCORD_DIR" 2>&1 | grep -v '^lock' || true
}

# bad CODE ARGS...: accord must fail with exit status CODE, one sentence on
# stderr beginning "accord: ", nothing on stdout, and no change to the store.
bad() {
  local code=$1 before after
  shift
  before=$(snapshot)
  a "$@"
  [ "$rc" -eq "$code" ] || fail "accord $* exited $rc, expected $code: $(cat "$T/err")"
  [ "$(wc -l <"$T/err")" -eq 1 ] || fail "accord $*: stderr is not one line: $(cat "$T/err")"
  grep -q '^accord: ' "$T/err" || fail "accord $*: stderr: $(cat "$T/err")"
  [ ! -s "$T/out" ] || fail "accord $*: printed on stdout: $(cat "$T/out")"
  after=$(snapshot)
  [ "$before" = "$after" ] || fail "accord $* changed the store:
$(diff <(echo "$before") <(echo "$after"))"
}

# json_has KEY VALUE: the last stdout (pretty JSON) has the line "KEY": VALUE
json_has() {
  grep -qE -- "^ *\"$1\": $2,?\$" "$T/out" || fail "JSON lacks \"$1\": $2:
$(cat "$T/out")"
}

# init_node [NAME] [ROLE]: a fresh node in $ACCORD_DIR.
init_node() {
  ok init --name "${1:-Ana}" --role "${2:-product}" --workspace "Team"
}

# new_goal ARGS...: adds a goal, its short id in $id.
new_goal() {
  ok goal add "$@"
  id=$(out)
}
new_msg() {
  ok msg add "$@"
  id=$(out)
}

. "$CASE"
echo "ok: $(basename "$CASE")"

# join, sync, serve between two `accord` processes over loopback: Ana
# invites Ben, Ben joins; both edit offline; one `sync` converges both
# ways; `serve` on both gossips a commit made by a separate process; and
# bad input (malformed, reused or expired token, unreachable peer, a
# closed port) fails with one sentence, status 5 or 2, no change.
. "$(dirname "$CASE")/net_lib.sh"

# The last progress line of the last command (stderr is not a terminal: a
# line per received document) reached its totals: every document asked
# for arrived, and the counts say so ("received N/N documents (M/M
# changes)"), which is what lets join and sync end after one quiet window.
progress_met() {
  local l
  l=$(grep '^received ' "$T/err" | tail -1)
  [ -n "$l" ] || fail "no progress line: $(cat "$T/err")"
  echo "$l" | grep -qE '^received ([0-9]+)/\1 documents \(([0-9]+)/\2 changes\)$' ||
    fail "the progress did not reach its totals: $l"
}

ACCORD_DIR=$T/ana init_node Ana product
nok ana goal add "Q1 launch" --metric signups --baseline 100 --target 150 --due 2026-03-31
g=$(out)
nok ana msg add "Launch messaging"
m=$(out)
nok ana msg set "$m" value-prop "Plan goals and messaging together. Work offline. Sync when you meet."
nok ana link "$g" "$m"

serve ana
a_port=$port
a_pid=$spid
nok ana invite --addr "127.0.0.1:$a_port" --expires 1h
tok=$(out)

# Ben joins: the workspace and its documents are his after one command
nok ben join "$tok" --name Ben --role marketing
has "joined the workspace"
progress_met
nok ben --json goal show "$g"
json_has target 150
nok ben members
has "Ben (you)"
has "Ana"

# offline: both edit the goal and different places of the value prop
nok ben goal set "$g" target 170 --why "the partner deal"
nok ben msg set "$m" value-prop "Plan goals and messaging together. Work offline, for days. Sync when you meet."
nok ana goal set "$g" target 160 --why "board plan"
nok ana msg set "$m" value-prop "Plan shared goals and messaging together. Work offline. Sync when you meet."

# one sync converges both ways (Ana's serve answers)
nok ben sync "127.0.0.1:$a_port"
has "in sync with Ana"
progress_met
[ "$(export_of ana)" = "$(export_of ben)" ] || fail "exports differ after sync:
$(diff <(export_of ana) <(export_of ben))"
nok ben --json msg show "$m"
json_has value_prop '"Plan shared goals and messaging together. Work offline, for days. Sync when you meet."'
nok ana conflicts "$g"
has "170"
has "160"
has "by Ben"
nok ben --json sync "127.0.0.1:$a_port"
json_has member '"Ana"'

# serve on Ben too, dialling Ana: a commit by another process on Ana's
# directory reaches Ben's within a few seconds, and back
serve ben --peer "127.0.0.1:$a_port"
b_pid=$spid
wait_for 10 grep -q "connected Ana" "$T/ben.serve.log" || fail "ben's serve did not connect: $(cat "$T/ben.serve.log")"
nok ana resolve "$g" target 165 --why "met halfway"
target_is() { ACCORD_DIR=$T/$1 "$ACCORD" --json goal show "$g" | grep -q "\"target\": $2,"; }
wait_for 5 target_is ben 165 || fail "Ana's commit did not reach Ben's node"
grep -q "changed: goal" "$T/ben.serve.log" || fail "ben's serve did not log the change: $(cat "$T/ben.serve.log")"
nok ben goal checkin "$g" 120 --note "week 2"
current_is() { ACCORD_DIR=$T/ana "$ACCORD" --json goal show "$g" | grep -q '"current": 120,'; }
wait_for 5 current_is || fail "Ben's commit did not reach Ana's node"
stop "$b_pid"
grep -q "stopping" "$T/ben.serve.log" || fail "serve did not say it stopped"

# a port in use: one sentence with the reason, status 5
ACCORD_DIR=$T/ben bad 5 serve --listen "127.0.0.1:$a_port"
err_has "address already in use"

# status lists what it knows
nok ana --json status
has '"peers": ['

# bad input: nothing changes, one sentence, the right status
export ACCORD_DIR=$T/ben
bad 2 join "not-a-token" --name Ben
err_has "not a valid invite"
bad 2 join "${tok}x" --name Ben
bad 2 join "$tok"
err_has "--name"
bad 1 join "$tok" --name Ben
err_has "already a member"
bad 2 sync nocolon
err_has "HOST:PORT"
bad 2 sync "127.0.0.1:$a_port" --timeout soon
# a reused token: a third node that exists already (its own workspace)
ACCORD_DIR=$T/cat init_node Cat shared
ACCORD_DIR=$T/cat bad 5 join "$tok" --name Cat
err_has "refused the invite"
# an expired one (made with a 1 s lifetime)
nok ana invite --addr "127.0.0.1:$a_port" --expires 1s
old=$(out)
sleep 1.2
ACCORD_DIR=$T/cat bad 2 join "$old" --name Cat
err_has "expired"
# a closed port: stop Ana's server, then sync and join to it
stop "$a_pid"
bad 5 sync "127.0.0.1:$a_port"
err_has "connection refused"
nok ana invite --addr "127.0.0.1:$a_port"
fresh=$(out)
ACCORD_DIR=$T/cat bad 5 join "$fresh" --name Cat
err_has "cannot reach"

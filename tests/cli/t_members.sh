# members, member remove, invite: the workspace's membership from the
# command line. Ben's replica (accord-test-peer) is added as a member when
# it forks; after his removal his later changes are refused.
init_node Ana product
ok members
has "Ana (you)"
has "(founder)"
ok --json members
json_has you true
json_has removed null

# invite: a token, and bad arguments change nothing
ok invite --addr 192.0.2.7:7311 --addr laptop.local:7311 --expires 2d
out | grep -qE '^accord-invite:[a-z2-7]+$' || fail "invite printed \"$(out)\""
ok --json invite
has '"token": "accord-invite:'
has '"expires": "'
bad 2 invite --addr nocolon
err_has "HOST:PORT"
bad 2 invite --expires soon
err_has "duration"
bad 2 invite --expires 400d

# Ben joins (the peer adds him), writes, is shown by name
new_goal "Grow weekly active teams" --baseline 120 --target 150 --due 2026-06-30
g=$id
ben=$("$PEER" fork "$ACCORD_DIR" "$g" "$T/ben.state" set target 170) || fail "peer fork"
"$PEER" merge "$ACCORD_DIR" "$g" "$T/ben.state" >/dev/null || fail "peer merge"
ok members
has "Ben"
has "${ben:0:8}"
has "marketing"
ok --json status
json_has members 2

# remove him: by name or id; unknown members and a second removal fail
bad 3 member remove Nobody
bad 2 member frobnicate Ben
ok member remove "${ben:0:8}"
has "removed Ben"
ok members
has "by Ana"
ok --json members
has '"removed": {'
ok --json status
json_has members 1
bad 1 member remove Ben
err_has "already removed"

# his next change is refused (the peer's merge fails, nothing changes)
"$PEER" fork "$ACCORD_DIR" "$g" "$T/ben.state" set target 180 >/dev/null 2>&1 || fail "peer fork"
before=$(snapshot)
if "$PEER" merge "$ACCORD_DIR" "$g" "$T/ben.state" >/dev/null 2>"$T/peer.err"; then
  fail "a removed member's change was imported"
fi
grep -q "not a member" "$T/peer.err" || fail "peer merge: $(cat "$T/peer.err")"
[ "$(snapshot)" = "$before" ] || fail "a refused import changed the store"
ok --json goal show "$g"
json_has target 170

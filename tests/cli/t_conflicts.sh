# concurrent edits of one field: conflicts side by side with authors,
# resolve, and the history of it. Ben's edits come from a replica made with
# accord-test-peer and imported as a sync would.
init_node Ana product
new_goal "Grow weekly active teams" --baseline 120 --target 150 --due 2026-06-30
g=$id
ok conflicts
has "No conflicts."
ok --json conflicts
[ "$(out)" = "[]" ] || fail "empty conflicts JSON is $(out)"

ben=$("$PEER" fork "$ACCORD_DIR" "$g" "$T/ben.state" set target 170) || fail "peer fork"
ok goal set "$g" target 160 --why "webinar data"
"$PEER" merge "$ACCORD_DIR" "$g" "$T/ben.state" >/dev/null || fail "peer merge"

ok conflicts
has "target"
has "160"
has "170"
has "by Ana"
has "by Ben"  # a member: shown by name
ok conflicts "$g"
has "target"
ok --json conflicts
has '"target": ['
has '"value": 170'
has '"value": 160'
has '"author": "Ana"'
has "\"author_id\": \"$ben\""
ok --json goal show "$g"
has '"conflicts": {'
has '"target": ['
ok goal show "$g"
has "conflicts"
ok align
has "Unresolved conflicts  1"
has "target has 2 concurrent values"

# resolve: bad input first, nothing changes
bad 3 resolve "$g" baseline 100
err_has "no concurrent values"
bad 2 resolve "$g" target many
bad 2 resolve "$g" colour 5
bad 3 resolve 00000000000 target 5
ok resolve "$g" target 165 --why "split the difference"
has "target of"
ok conflicts
has "No conflicts."
ok --json goal show "$g"
json_has target 165
json_has conflicts '\{\}'
ok goal history "$g"
has "split the difference"
has "webinar data"
has "Ben"
ok log "$g"
has "Ben's edit"

# messaging status conflicts too
new_msg "Launch"
m=$id
"$PEER" fork "$ACCORD_DIR" "$m" "$T/ben2.state" set status review >/dev/null || fail "peer fork"
ok msg set "$m" status approved
"$PEER" merge "$ACCORD_DIR" "$m" "$T/ben2.state" >/dev/null || fail "peer merge"
ok --json conflicts "$m"
has '"status": ['
ok resolve "$m" status review
ok --json msg show "$m"
json_has status '"review"'
json_has conflicts '\{\}'

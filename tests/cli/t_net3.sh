# three `accord` processes over loopback: Ben and Cat join Ana's workspace;
# Ana edits the positioning in a scripted $EDITOR (splices) while Ben edits
# the same text elsewhere and Cat adds a key message; syncs through Ana's
# serve converge all three, with both text edits kept.
. "$(dirname "$CASE")/net_lib.sh"

ACCORD_DIR=$T/ana init_node Ana product
nok ana msg add "Launch messaging" --product accord
m=$(out)
nok ana msg set "$m" positioning "For product teams who plan in separate tools, accord is the shared workspace. Unlike wikis, it works offline."
# a port nobody listens on: a server started and stopped
serve ana
dead=$port
stop "$spid"
serve ana
a_pid=$spid
# Ben's token has only the good address; Cat's lists the dead one first,
# which join tries, then the next
nok ana invite --addr "127.0.0.1:$port"
nok ben join "$(out)" --name ben --role marketing
nok ana invite --addr "127.0.0.1:$dead" --addr "localhost:$port"
nok cat join "$(out)" --name cat --role marketing
nok cat members
has "ben"
has "cat (you)"

# offline edits, all at once
EDITOR="sed -i s/product\ teams/PM\ and\ marketing\ teams/" nok ana msg edit "$m" positioning
has "1 splice"
nok ben msg set "$m" positioning "For product teams who plan in separate tools, accord is the shared workspace. Unlike wikis, it works offline. It never loses an edit."
nok cat msg key add "$m" "Works offline for days" --proof "local-first store"

nok ben sync "127.0.0.1:$port"
nok cat sync "127.0.0.1:$port"
nok ben sync "127.0.0.1:$port"
want='"For PM and marketing teams who plan in separate tools, accord is the shared workspace. Unlike wikis, it works offline. It never loses an edit."'
for who in ana ben cat; do
  nok "$who" --json msg show "$m"
  json_has positioning "$want"
  has "Works offline for days"
done
[ "$(export_of ana)" = "$(export_of ben)" ] || fail "ana and ben differ"
[ "$(export_of ana)" = "$(export_of cat)" ] || fail "ana and cat differ"

# --json serve: events as JSON lines on stdout, a clean stop on SIGINT
ACCORD_DIR=$T/cat "$ACCORD" --json serve --listen 127.0.0.1:0 --peer "127.0.0.1:$port" \
  >"$T/cat.json" 2>"$T/cat.err" &
cpid=$!
SERVERS="$SERVERS $cpid"
wait_for 10 grep -q '"event": "connected", "member": "Ana"' "$T/cat.json" ||
  fail "cat's --json serve: $(cat "$T/cat.json" "$T/cat.err")"
grep -q '^{"event": "listening", "address": "127.0.0.1:[0-9]*", "text": "workspace Team"}$' "$T/cat.json" ||
  fail "no listening event: $(cat "$T/cat.json")"
kill -INT "$cpid"
wait "$cpid" || fail "--json serve exited $? on SIGINT"
grep -q '"event": "stopping", "text": "SIGINT"' "$T/cat.json" || fail "no stopping event"
[ ! -s "$T/cat.err" ] || fail "--json serve wrote to stderr: $(cat "$T/cat.err")"

# a node of another workspace refuses the handshake: sync fails, status 5
ACCORD_DIR=$T/dan init_node Dan shared
serve dan
ACCORD_DIR=$T/ben bad 5 sync "127.0.0.1:$port"
err_has "cannot sync"
stop "$spid"
stop "$a_pid"

# three `accord` processes over loopback: Ben and Cat join Ana's workspace;
# Ana edits the positioning in a scripted $EDITOR (splices) while Ben edits
# the same text elsewhere and Cat adds a key message; syncs through Ana's
# serve converge all three, with both text edits kept.
. "$(dirname "$CASE")/net_lib.sh"

ACCORD_DIR=$T/ana init_node Ana product
nok ana msg add "Launch messaging" --product accord
m=$(out)
nok ana msg set "$m" positioning "For product teams who plan in separate tools, accord is the shared workspace. Unlike wikis, it works offline."
serve ana
a_pid=$spid
for who in ben cat; do
  nok ana invite --addr "127.0.0.1:$port"
  tok=$(out)
  nok "$who" join "$tok" --name "$who" --role marketing
done
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
stop "$a_pid"

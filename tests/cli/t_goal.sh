# goal add/list/show/set/checkin/history, their JSON, and bad input.
init_node Ana product

new_goal "Grow weekly active teams" --metric "weekly active teams" --unit teams \
  --baseline 120 --target 150 --due 2026-06-30 --team shared --owner Ana \
  --direction up --description "Teams that plan together stay."
g=$id
echo "$g" | grep -qE '^[0-9a-f]{8,}$' || fail "goal add printed \"$g\""

ok goal list
has "Grow weekly active teams"
has "120 / 150 teams"
has "0%"
has "2026-06-30"
ok --json goal list
json_has title '"Grow weekly active teams"'
json_has metric '"weekly active teams"'
json_has baseline 120
json_has target 150
json_has current null
json_has due '"2026-06-30"'
json_has status '"on-track"'
json_has team '"shared"'
json_has conflicts '\{\}'

ok goal show "$g"
has "Teams that plan together stay."
has "owners     Ana"

# every field can be set
ok goal set "$g" title "Grow weekly active workspaces"
ok goal set "$g" description "Workspaces that plan together stay."
ok goal set "$g" metric "weekly active workspaces"
ok goal set "$g" unit workspaces
ok goal set "$g" baseline 100
ok goal set "$g" target 160 --why "Q1 webinar data"
ok goal set "$g" direction up
ok goal set "$g" due 2026-09-30
ok goal set "$g" team product
ok goal set "$g" status at-risk --why "launch slipped"
ok goal set "$g" target 160
has "nothing changed"
ok --json goal show "$g"
json_has title '"Grow weekly active workspaces"'
json_has description '"Workspaces that plan together stay."'
json_has metric '"weekly active workspaces"'
json_has unit '"workspaces"'
json_has baseline 100
json_has target 160
json_has due '"2026-09-30"'
json_has team '"product"'
json_has status '"at-risk"'

# check-ins move the current value and the progress bar
ACCORD_NOW=2026-02-01 ok goal checkin "$g" 130 --note "webinar sign-ups"
ACCORD_NOW=2026-02-02 ok goal checkin "$g" 115.5
ok --json goal show "$g"
json_has current 115.5
json_has value 130
json_has note '"webinar sign-ups"'
json_has author '"Ana"'
ok goal list
has "115.5 / 160 workspaces"
has "26%"
has "█"

# history: every target and status change, with who and why
ok goal history "$g"
has "Q1 webinar data"
has "launch slipped"
has "Ana"
ok --json goal history "$g"
has '"why": "Q1 webinar data"'
has '"field": "status"'
[ "$(grep -c '"field": "target"' "$T/out")" -eq 2 ] || fail "two target changes expected"

# bad input: nothing changes
bad 3 goal show ffffffffffff
bad 2 goal show xyz
bad 3 goal set 0000000000 target 5
bad 2 goal set "$g" colour red
err_has "no such field"
bad 2 goal set "$g" target lots
err_has "not a number"
bad 2 goal set "$g" target 12abc
bad 2 goal set "$g" baseline ""
bad 2 goal set "$g" due 2026-02-30
err_has "YYYY-MM-DD"
bad 2 goal set "$g" due tomorrow
bad 2 goal set "$g" status fine
bad 2 goal set "$g" team sales
bad 2 goal set "$g" title ""
bad 2 goal set "$g" target
bad 2 goal set "$g" target 5 extra
bad 2 goal set "$g" target 5 --bogus
bad 2 goal checkin "$g" many
bad 2 goal add "No target" --target soon
bad 2 goal add "Bad date" --due 2026-13-01
bad 2 goal add "Bad team" --team sales
bad 3 goal add "Unknown owner" --owner Zed
bad 2 goal add ""
bad 2 goal frob
bad 2 goal

# a messaging id where a goal is expected
new_msg "Launch"
bad 3 goal show "$id"
err_has "not a goal"

# ambiguous prefixes: with 17 goals two share a first hex digit
for i in $(seq 1 16); do ok goal add "Goal $i"; done
ok --json goal list
first=$(grep -E '^    "id": ' "$T/out" | sed -E 's/.*"(.)[0-9a-f]*",?$/\1/' | sort | uniq -d | head -n 1)
[ -n "$first" ] || fail "no shared first digit among 17 goals"
bad 2 goal show "$first"
err_has "ambiguous"

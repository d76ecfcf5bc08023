# msg add/list/show/set/edit/key/approve, link, their JSON, and bad input.
init_node Ana product
new_goal "Grow weekly active teams" --target 150
g=$id
new_msg "Launch messaging" --product accord --audience "PMs" --audience "Marketers" --goal "$g"
m=$id

ok msg list
has "Launch messaging"
has "accord"
has "draft"
ok --json msg show "$m"
json_has title '"Launch messaging"'
json_has product '"accord"'
json_has status '"draft"'
has '"PMs"'
has '"Marketers"'
json_has approvals '\{\}'
json_has key_messages '\[\]'
gid=$(grep -E '^  "goals"' -A1 "$T/out" | tail -n 1 | tr -d ' ",')
case "$gid" in "$g"*) ;; *) fail "goals lists \"$gid\", not $g" ;; esac
ok --json goal show "$g"
has "\"$m"

# every field can be set; text fields by splices
ok msg set "$m" title "Launch messaging v2"
ok msg set "$m" product "accord 1.0"
ok msg set "$m" value-prop "Agree on what success means."
ok msg set "$m" positioning "For product teams who plan in separate tools, accord is the shared workspace."
ok msg set "$m" press-release "Today we launch accord."
ok msg set "$m" faq "Q: Does it work offline? A: Yes."
ok msg set "$m" status review
ok msg set "$m" value_prop "Agree on what success means, then say it everywhere."
ok --json msg show "$m"
json_has title '"Launch messaging v2"'
json_has product '"accord 1.0"'
json_has value_prop '"Agree on what success means, then say it everywhere."'
json_has positioning '"For product teams who plan in separate tools, accord is the shared workspace."'
json_has press_release '"Today we launch accord."'
json_has faq '"Q: Does it work offline\? A: Yes\."'
json_has status '"review"'
ok log "$m"
has "+24/-0 chars"   # the value-prop edit was a splice, not a rewrite

# msg edit: the editor's saved text becomes splices
EDITOR="sed -i s/separate/different/" ok msg edit "$m" positioning
has "positioning: 1 splice"
VISUAL="sed -i s/accord/Accord/" EDITOR=false ok msg edit "$m" positioning
ok --json msg show "$m"
json_has positioning '"For product teams who plan in different tools, Accord is the shared workspace."'
EDITOR=true ok msg edit "$m" faq
has "no change"
EDITOR=false bad 1 msg edit "$m" positioning
err_has "editor"
EDITOR=true bad 2 msg edit "$m" status
err_has "not a text field"
EDITOR="sh -c 'printf \"\\377\" > \"\$1\"' sh" bad 2 msg edit "$m" faq
err_has "UTF-8"

# key messages
ok msg key add "$m" "Goals and messaging side by side." --proof "one workspace" --proof "works offline"
ok msg key add "$m" "Syncs peer to peer."
ok msg key add "$m" "Third."
ok msg key rm "$m" 3
ok --json msg show "$m"
has '"message": "Goals and messaging side by side."'
has '"works offline"'
has '"message": "Syncs peer to peer."'
lacks "Third."
ok msg show "$m"
has "1. Goals and messaging side by side."
has "- one workspace"

# approvals: as this member's role, or the role given
ok msg approve "$m"
has "as product"
ok --json msg show "$m"
has '"role": "product"'
has '"name": "Ana"'
json_has status '"review"'

# link both ways
new_goal "Second goal"
g2=$id
new_msg "Unlinked"
m2=$id
ok link "$m2" "$g2"
has "linked goal"
ok --json msg show "$m2"
has "\"$g2"
ok --json goal show "$g2"
has "\"$m2"

# bad input
bad 2 msg set "$m" target 5
err_has "no such field"
bad 2 msg set "$m" status published
bad 2 msg set "$m" title ""
bad 3 msg show 00000000000
bad 3 msg show "$g"
bad 2 msg key rm "$m" zero
bad 2 msg key rm "$m" 0
bad 3 msg key rm "$m" 9
bad 2 msg key add "$m" ""
bad 2 msg key add "$m" "x" --proof ""
bad 2 msg key frob "$m"
bad 2 msg key
bad 2 msg approve "$m" --role sales
bad 2 msg add ""
bad 2 msg add "x" --audience ""
bad 3 msg add "x" --goal 0000000000000
bad 3 msg add "x" --goal "$m"
bad 2 link "$g" "$g2"
err_has "both are goals"
bad 3 link "$g" 00000000000
bad 2 link "$g"
bad 2 msg

# without a role, approving asks for one
ok --dir "$T/ben" init --name Ben
ok --dir "$T/ben" msg add "Ben's launch"
mb=$(out)
ACCORD_DIR=$T/ben bad 2 msg approve "$mb"
err_has "--role"
ok --dir "$T/ben" msg approve "$mb" --role marketing

# text from documents never reaches the terminal as control sequences
ok msg set "$m" product "$(printf 'evil\033]0;pwned\007')"
ok msg show "$m"
! grep -q $'\033' "$T/out" || fail "an escape from a document reached the output"
ok msg list
! grep -q $'\033' "$T/out" || fail "an escape from a document reached the table"
ok --json msg show "$m"
has '"product": "evil\u001b]0;pwned\u0007"'

# the alignment report: unlinked goals and messaging, goals at risk (the
# rule in docs/schema.md), approvals by both functions, conflicts.
init_node Ana product
ok align
has "Everything is aligned."

new_goal "Behind" --baseline 0 --target 100 --due 2026-01-21
behind=$id
new_goal "Ahead" --baseline 0 --target 10 --due 2026-01-21
ahead=$id
new_goal "Done" --target 10 --due 2026-01-11
done_=$id
ok goal set "$done_" status done
new_msg "Launch" --goal "$ahead"
m=$id
new_msg "Orphan"
orphan=$id
ACCORD_NOW=2026-01-02 ok goal checkin "$behind" 10
ACCORD_NOW=2026-01-02 ok goal checkin "$ahead" 6

# ten days in: Behind is 10% along with 50% of the time gone
ACCORD_NOW=2026-01-11 ok align
has "Goals without messaging  2"
has "Messaging without goals  1"
has "Goals at risk  1"
has "10% of the way to the target with 50% of the time to the due date gone"
has "Messaging not approved by both product and marketing  2"
has "Unresolved conflicts  0"
ACCORD_NOW=2026-01-11 ok --json align
has '"goals_without_messaging": ['
has '"messaging_without_goals": ['
has '"goals_at_risk": ['
has '"messaging_not_approved": ['
has '"conflicts": []'
json_has progress 0.1
json_has elapsed 0.5
has "approved by neither product nor marketing"

# a status of at-risk lists a goal whatever its numbers
ok goal set "$ahead" status off-track
ACCORD_NOW=2026-01-11 ok align
has "Goals at risk  2"
has "its status is off-track"

# approvals: product here, marketing from Ben's replica
ok msg approve "$m"
ok align
has "approved by product, not yet by marketing"
"$PEER" fork "$ACCORD_DIR" "$m" "$T/ben.state" approve marketing Ben >/dev/null || fail "peer fork"
"$PEER" merge "$ACCORD_DIR" "$m" "$T/ben.state" >/dev/null || fail "peer merge"
ACCORD_NOW=2026-01-11 ok --json align
has '"title": "Orphan"'
ok --json msg show "$m"
json_has status '"approved"'
has '"role": "marketing"'
has '"name": "Ben"'
ok msg list
has "product ✓  marketing ✓"

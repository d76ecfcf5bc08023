# msg edit with a scripted editor produces splices, so a concurrent edit
# elsewhere in the same text survives the merge.
init_node Ana product
new_msg "Launch"
m=$id
ok msg set "$m" positioning "For product teams who plan in separate tools, accord is the shared workspace. Unlike wikis, it works offline."

# Ben appends to the end on his replica...
"$PEER" fork "$ACCORD_DIR" "$m" "$T/ben.state" append positioning " It never loses an edit." >/dev/null || fail "peer fork"
# ...while Ana rewrites the audience at the start in her editor
EDITOR="sed -i s/product\ teams/PM\ and\ marketing\ teams/" ok msg edit "$m" positioning
has "1 splice"
"$PEER" merge "$ACCORD_DIR" "$m" "$T/ben.state" >/dev/null || fail "peer merge"
ok --json msg show "$m"
json_has positioning '"For PM and marketing teams who plan in separate tools, accord is the shared workspace. Unlike wikis, it works offline. It never loses an edit."'

# a multi-line edit of a longer text
ok msg set "$m" faq "Q: Offline?
A: Yes.
Q: Server?
A: None."
EDITOR="sed -i s/None/No\ server\ at\ all/" ok msg edit "$m" faq
ok --json msg show "$m"
json_has faq '"Q: Offline\?\\nA: Yes.\\nQ: Server\?\\nA: No server at all."'
ok log "$m"
has "edit faq"

# init, id, members, status, --help, --version, and node directories that
# are missing or belong to something else.

ok --version
has "accord 0."
ok --help
has "goal"
has "sync"
for cmd in init id members goal msg link align conflicts resolve log export status join serve sync; do
  ok "$cmd" --help
  has "usage: accord"
done
ok goal add --help
has "--target N"
ok msg key --help
has "msg key rm ID N"

# no node yet: every command says so, and creates nothing
bad 3 goal list
err_has "accord init"
[ ! -e "$ACCORD_DIR" ] || fail "a failed command created $ACCORD_DIR"
bad 3 id
bad 2 init
err_has "--name"
bad 2 init --name Ana --role janitor
bad 2 frobnicate
bad 2 join
err_has "accord join"
bad 2 sync
bad 2 serve --listen nowhere
[ ! -e "$ACCORD_DIR" ] || fail "a failed network command created $ACCORD_DIR"
bad 2 --dir
bad 2 --bogus goal list

# a foreign directory
mkdir "$T/foreign"
echo hello >"$T/foreign/notes.txt"
bad 6 --dir "$T/foreign" goal list
err_has "not an accord node"
bad 6 --dir "$T/foreign" init --name Ana
[ "$(ls "$T/foreign")" = notes.txt ] || fail "foreign directory was changed"

# init prints the member id
ok init --name Ana --role product --workspace "Q2 team"
member=$(out)
echo "$member" | grep -qE '^[0-9a-f]{16}$' || fail "init printed \"$member\""
bad 1 init --name Ana
err_has "already"
ok id
has "$member"
has "Ana"
has "Q2 team"
ok --json id
json_has member "\"$member\""
json_has name '"Ana"'
json_has role '"product"'
ok members
has "Ana (you)"
ok --json members
json_has you true
ok status
has "goals       0"
has "pending     0"
ok --json status
json_has goals 0
json_has pending 0

# --dir and ACCORD_DIR agree; --ws picks a workspace by name
ok --dir "$ACCORD_DIR" --ws "Q2 team" id
has "$member"
bad 3 --ws "no such team" goal list
ACCORD_DIR= "$ACCORD" --dir "$ACCORD_DIR" id >/dev/null || fail "--dir without ACCORD_DIR"

# a second node in another directory is another member
ok --dir "$T/ben" --json init --name Ben --role marketing
json_has name '"Ben"'
ok --dir "$T/ben" id
lacks "$member"

# colour never goes to a pipe, even without NO_COLOR
env -u NO_COLOR "$ACCORD" goal list >"$T/out" 2>&1
! grep -q $'\033' "$T/out" || fail "colour escape codes on a pipe"

# export (JSON and Markdown, workspace or one document) and log.
init_node Ana product
new_goal "Grow weekly active teams" --metric "weekly active teams" --baseline 120 --target 150
g=$id
new_msg "Launch" --goal "$g"
m=$id
ok msg set "$m" value-prop "Say it the same way everywhere."

ok --json export
has '"workspace": {'
has '"name": "Team"'
has '"goals": ['
has '"messaging": ['
has '"members": ['
has '"changes": {'
has '"value_prop": "Say it the same way everywhere."'
ok export --format json
has '"goals": ['
ok export --format md
has "# Team"
has "## Goals"
has "### Grow weekly active teams"
has "baseline → target: 120 → 150"
has "## Messaging"
has "**Value proposition**"
ok export --format md "$m"
has "### Launch"
lacks "### Grow weekly"
ok export "$g"
json_has title '"Grow weekly active teams"'
lacks '"workspace"'
bad 2 export --format pdf
bad 3 export 00000000000
bad 2 export "$g" "$m"

ok log
has "add goal"
has "add messaging"
has "set value-prop"
has "Ana"
ok --json log
has '"message": "add goal"'
has '"type": "messaging"'
has '"author": "Ana"'
ok log "$g"
lacks "add messaging"
bad 3 log 00000000000

#!/bin/sh
# api_docs.sh — docs/api.md's reference lists every function of the public
# header (each ACCORD_API declaration, and the static inline value
# constructors), one entry per line starting "- `name(" (or "- `name`" for
# the exported variable), and lists nothing the header lacks, so the manual
# cannot silently fall behind a rename or an addition.
# usage: api_docs.sh include/accord.h docs/api.md
set -eu
header=$1
doc=$2
# Declarations may span lines: join the header, then take the last
# identifier before the first "(" or ";" after each ACCORD_API / static
# inline.
names=$(tr '\n' ' ' <"$header" |
  grep -oE '(ACCORD_API|static inline)[^(;#]*' |
  grep -oE '[A-Za-z_][A-Za-z0-9_]*[[:space:]]*$' | tr -d ' \t' |
  grep '^accord_' | sort -u)
listed=$(grep -oE '^- `accord_[a-z0-9_]+' "$doc" | sed 's/^- `//' | sort -u)
[ -n "$names" ] || { echo "no ACCORD_API declarations found in $header"; exit 1; }

missing=$(printf '%s\n' "$names" | grep -vxF "$listed" || true)
stale=$(printf '%s\n' "$listed" | grep -vxF "$names" || true)
status=0
if [ -n "$missing" ]; then
  echo "in $header but not in the reference of $doc:"
  printf '  %s\n' $missing
  status=1
fi
if [ -n "$stale" ]; then
  echo "in the reference of $doc but not in $header:"
  printf '  %s\n' $stale
  status=1
fi
[ "$status" -eq 0 ] || exit 1
echo "api docs ok: $(printf '%s\n' "$names" | wc -l) functions documented"

#!/bin/sh
# Checks that the shared library exports only accord_* symbols, and the
# ones the header promises (DESIGN §9, STYLE "only accord_* symbols").
# usage: exports.sh LIBACCORD.so
set -eu
lib=$1
# AddressSanitizer adds an __odr_asan.<name> guard for each exported
# global; those come from the instrumentation, not from us.
syms=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^__odr_asan\.')
bad=$(printf '%s\n' "$syms" | grep -v '^accord_' || true)
if [ -n "$bad" ]; then
  echo "exported symbols without the accord_ prefix:"
  printf '  %s\n' $bad
  exit 1
fi
for want in accord_doc_new accord_txn_commit accord_doc_import accord_version; do
  printf '%s\n' "$syms" | grep -qx "$want" || { echo "missing export: $want"; exit 1; }
done
echo "exports ok: $(printf '%s\n' "$syms" | wc -l) accord_* symbols"

#!/bin/sh
# install_test.sh — accord as an embedder gets it (issue 8). Installs the
# build into a temporary prefix, then builds the embedding examples out of
# tree against that prefix only, four ways:
#   pkg-config + plain cc, shared     (pkg-config --cflags --libs accord)
#   pkg-config + plain cc, static     (pkg-config --static --libs accord)
#   CMake find_package(accord), shared  (accord::accord)
#   CMake find_package(accord), static  (accord::accord_static)
# and runs every binary, checking its output and exit status, and that the
# shared ones load the installed libaccord.so.N and the static ones none.
# The network examples bring what they use themselves, as an embedder
# would: embed_node its own libuv (pkg-config module libuv, or
# pkg_check_modules in CMake), embed_thread POSIX threads (-pthread, or
# Threads::Threads). A static link must still get libaccord's own libuv,
# LMDB, libsodium, zstd and threads from accord.pc's Requires.private /
# Libs.private or the CMake package alone.
#
# usage: install_test.sh BUILD_DIR SOURCE_DIR
# environment:
#   CC                the compiler the build used (default cc)
#   ACCORD_CONSUMER_FLAGS  compile and link flags the consumers need; the
#                     ASan build passes its sanitizer flags here, because
#                     its installed library is instrumented and only links
#                     into instrumented programs. The binaries then run
#                     under ASan/UBSan too.
set -eu
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
cc=${CC:-cc}
flags=${ACCORD_CONSUMER_FLAGS:-}
examples="embed_memory embed_store embed_node embed_thread"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/accord-install-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
fails=0

fail() {
  echo "FAIL: $*"
  fails=$((fails + 1))
}

# ---- install -----------------------------------------------------------------
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; echo "FAIL: cmake --install"; exit 1; }
pc=$(find "$prefix" -name accord.pc | head -n 1)
[ -n "$pc" ] || { echo "FAIL: no accord.pc installed"; exit 1; }
libdir=$(dirname "$(dirname "$pc")")
echo "installed into $prefix (libdir ${libdir#"$prefix"/})"

version=$(sed -n 's/^#define ACCORD_VERSION_STRING "\(.*\)"$/\1/p' \
  "$prefix/include/accord.h")
[ -n "$version" ] || fail "include/accord.h has no ACCORD_VERSION_STRING"
for f in "$libdir/libaccord.a" "$libdir/libaccord.so" \
  "$libdir/cmake/accord/accordConfig.cmake" \
  "$libdir/cmake/accord/accordConfigVersion.cmake" \
  "$libdir/cmake/accord/accordTargets.cmake"; do
  [ -e "$f" ] || fail "not installed: ${f#"$prefix"/}"
done
# The SONAME carries the ABI version, and the name it gives is installed.
soname=$(objdump -p "$libdir/libaccord.so" | awk '$1 == "SONAME" {print $2}')
case $soname in
  libaccord.so.[0-9]*) [ -e "$libdir/$soname" ] ||
    fail "SONAME $soname is not installed" ;;
  *) fail "libaccord.so has SONAME '$soname', want libaccord.so.<ABI>" ;;
esac
if [ -e "$build/cli/accord" ] || [ -e "$build/accord" ]; then
  [ -x "$prefix/bin/accord" ] || fail "the accord binary is not installed"
fi

# ---- checks on a built consumer ------------------------------------------------
# check_run LABEL BINARY EXAMPLE shared|static: runs it and checks it.
check_run() {
  label=$1 bin=$2 example=$3 kind=$4
  needed=$(objdump -p "$bin" | awk '$1 == "NEEDED" {print $2}')
  if [ "$kind" = shared ]; then
    printf '%s\n' "$needed" | grep -qx "$soname" ||
      fail "$label: does not load $soname (NEEDED: $(echo $needed))"
  elif printf '%s\n' "$needed" | grep -q '^libaccord'; then
    fail "$label: linked statically, yet loads $(echo "$needed" | grep libaccord)"
  fi
  out=$tmp/$label.out
  if ! LD_LIBRARY_PATH=$libdir "$bin" >"$out" 2>&1; then
    cat "$out"
    fail "$label: exit status not 0"
    return
  fi
  case $example in
    embed_memory)
      grep -Eq "^libaccord $version \\(header $version\\)$" "$out" &&
        grep -q '^b after sync: .*"title":"Ship the public beta on Friday"' \
          "$out" &&
        grep -qx 'replicas converged' "$out" ;;
    embed_store)
      grep -q '^reopened: {"note":"Ship the public beta on Friday"}$' \
        "$out" && grep -qx 'reopened intact' "$out" ;;
    embed_node | embed_thread)
      grep -qx 'ben sees: {"note":"Ship the public beta on Friday"}' \
        "$out" &&
        grep -qx "ana sees: $reply_json" "$out" &&
        grep -qx "members on ana's node: ana (product), ben (marketing)" \
          "$out" &&
        if [ "$example" = embed_node ]; then
          grep -qx 'loop closed cleanly' "$out"
        else
          grep -qx 'networks stopped' "$out"
        fi ;;
  esac || { cat "$out"; fail "$label: unexpected output"; return; }
  echo "ok: $label"
}

reply_json='{"note":"Ship the public beta on Friday","reply":"Agreed: I will write the release notes"}'

# What an example needs besides accord: pkg-config modules, and flags.
ex_modules() {
  case $1 in embed_node) echo libuv ;; esac
}
ex_flags() {
  case $1 in embed_thread) echo -pthread ;; esac
}

# ---- pkg-config and a plain cc -------------------------------------------------
# PKG_CONFIG_PATH comes before the default search path, which still finds
# the system's libuv.pc for embed_node.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pcv=$(pkg-config --modversion accord) || pcv=""
[ "$pcv" = "$version" ] ||
  fail "pkg-config --modversion accord says '$pcv', the header $version"
for ex in $examples; do
  mods=$(ex_modules "$ex")
  exflags=$(ex_flags "$ex")
  # shellcheck disable=SC2086 # word lists
  cflags="$(pkg-config --cflags accord $mods) $exflags"
  # shellcheck disable=SC2086
  libs="$(pkg-config --libs accord $mods) $exflags"
  # --static adds Requires.private and Libs.private; -l:libaccord.a makes
  # the linker take the archive although libaccord.so lies next to it.
  # shellcheck disable=SC2086
  static_libs="$(pkg-config --static --libs accord $mods |
    sed 's/\(^\| \)-laccord\( \|$\)/\1-l:libaccord.a\2/') $exflags"
  # shellcheck disable=SC2086 # flags are word lists
  if $cc $flags $cflags "$src/examples/$ex.c" -o "$tmp/$ex.pc-shared" \
    $libs $flags 2>"$tmp/cc.log"; then
    check_run "$ex.pkg-config.shared" "$tmp/$ex.pc-shared" "$ex" shared
  else
    cat "$tmp/cc.log"; fail "$ex: cc with pkg-config --libs"
  fi
  # shellcheck disable=SC2086
  if $cc $flags $cflags "$src/examples/$ex.c" -o "$tmp/$ex.pc-static" \
    $static_libs $flags 2>"$tmp/cc.log"; then
    check_run "$ex.pkg-config.static" "$tmp/$ex.pc-static" "$ex" static
  else
    cat "$tmp/cc.log"; fail "$ex: cc with pkg-config --static --libs"
  fi
done
unset PKG_CONFIG_PATH

# ---- CMake: find_package(accord) -------------------------------------------------
proj=$tmp/consumer
mkdir -p "$proj"
want=$(echo "$version" | cut -d. -f1,2)
cat >"$proj/CMakeLists.txt" <<EOF
cmake_minimum_required(VERSION 3.18)
project(accord_consumer C)
find_package(accord $want REQUIRED)
message(STATUS "accord package: \${accord_DIR} \${accord_VERSION}")
# The examples' own dependencies (not accord's: the package brings those).
find_package(PkgConfig REQUIRED)
pkg_check_modules(UV REQUIRED IMPORTED_TARGET libuv)
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
foreach(ex $examples)
  add_executable(\${ex}_shared "$src/examples/\${ex}.c")
  target_link_libraries(\${ex}_shared PRIVATE accord::accord)
  add_executable(\${ex}_static "$src/examples/\${ex}.c")
  target_link_libraries(\${ex}_static PRIVATE accord::accord_static)
endforeach()
foreach(kind shared static)
  target_link_libraries(embed_node_\${kind} PRIVATE PkgConfig::UV)
  target_link_libraries(embed_thread_\${kind} PRIVATE Threads::Threads)
endforeach()
EOF
if cmake -S "$proj" -B "$proj/build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$flags" \
  -DCMAKE_EXE_LINKER_FLAGS="$flags" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$tmp/cmake.log" 2>&1 &&
  cmake --build "$proj/build" >>"$tmp/cmake.log" 2>&1; then
  found=$(sed -n 's/^-- accord package: \([^ ]*\) .*/\1/p' "$tmp/cmake.log")
  case $found in
    "$prefix"/*) ;;
    *) fail "find_package(accord) found '$found', not the one in $prefix" ;;
  esac
  for ex in $examples; do
    check_run "$ex.cmake.shared" "$proj/build/${ex}_shared" "$ex" shared
    check_run "$ex.cmake.static" "$proj/build/${ex}_static" "$ex" static
  done
else
  cat "$tmp/cmake.log"
  fail "the find_package(accord) project does not build"
fi

if [ "$fails" -ne 0 ]; then
  echo "install test: $fails failure(s)"
  exit 1
fi
echo "install ok: pkg-config and find_package, shared and static"

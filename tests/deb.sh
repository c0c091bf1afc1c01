#!/bin/sh
# The Debian package as a user meets it (run by `make check-deb`, as root,
# on a machine where no other vg package is installed): lintian finds no
# error nor warning; `apt-get install ./vg_….deb` installs it with its
# dependencies; the installed vg runs an example that imports the stdlib
# from an unrelated folder, man finds its pages and bash its completion;
# `apt-get purge` leaves no file of it behind.
# Usage: tests/deb.sh path/to/vg_VERSION_ARCH.deb
set -u
deb=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "deb: FAIL: $1"; }
export DEBIAN_FRONTEND=noninteractive
. tests/coretype.sh

if [ "$(id -u)" -ne 0 ]; then
    echo "deb: installing the package needs root" >&2
    exit 1
fi
if dpkg-query -W -f='${Status}' vg 2>/dev/null | grep -q installed; then
    echo "deb: a vg package is installed already; remove it first (apt-get purge vg)" >&2
    exit 1
fi

# lintian's errors and warnings (E: and W: lines) fail; infos are printed
lintian --info "$deb" >"$tmp/lintian" 2>&1
grep -v 'running with root privileges' "$tmp/lintian"
if grep -q '^[EW]: ' "$tmp/lintian"; then bad "lintian"; else ok; fi

if apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends "$deb" >"$tmp/apt" 2>&1; then ok
else cat "$tmp/apt"; bad "apt-get install $deb"; fi
files=$(dpkg -L vg 2>/dev/null | while read -r f; do [ -f "$f" ] && echo "$f"; done)

mkdir "$tmp/elsewhere"
if (cd "$tmp/elsewhere" && OPENBLAS_NUM_THREADS=1 /usr/bin/vg run --quiet \
        /usr/share/doc/vg/examples/resnet2016.vg >"$tmp/out" 2>&1) &&
    grep -q "^vg .* 1 thread$" "$tmp/out"; then ok
else cat "$tmp/out"; bad "the installed vg runs examples/resnet2016.vg from $tmp/elsewhere"; fi
if [ "$(man -w vg)" = /usr/share/man/man1/vg.1.gz ] &&
    [ "$(man -w 7 vg-language)" = /usr/share/man/man7/vg-language.7.gz ]; then ok
else bad "man does not find vg(1) and vg-language(7)"; fi
# bash-completion loads completions on demand from its folder
if bash -c '. /usr/share/bash-completion/bash_completion &&
        __load_completion vg && complete -p vg' 2>/dev/null | grep -q -- '-F _vg vg$'; then ok
else bad "bash-completion does not load the completion of vg"; fi

if apt-get purge -y -qq -o DPkg::Lock::Timeout=300 vg >"$tmp/apt" 2>&1; then ok
else cat "$tmp/apt"; bad "apt-get purge vg"; fi
if dpkg -L vg >/dev/null 2>&1; then bad "dpkg -L vg still lists files after the purge"; else ok; fi
left=$(for f in $files; do [ -e "$f" ] && echo "$f"; done)
if [ -z "$files" ]; then bad "the package installed no file"
elif [ -n "$left" ]; then bad "files left after the purge: $left"
else ok; fi
for d in /usr/share/vg /usr/share/doc/vg; do
    if [ -e "$d" ]; then bad "$d left after the purge"; else ok; fi
done

echo "deb: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

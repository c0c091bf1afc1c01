#!/bin/sh
# Golden tests: every tests/golden/*.vg is run through vg and its stdout,
# stderr and exit status are compared with NAME.out, NAME.err and NAME.code
# (a missing .out/.err means "must be empty", a missing .code means 0).
# The first line may say which command to run: "# vg: check" (default: run).
# A NAME.cmd file instead holds a whole argument list (for cases that are
# not one .vg file: a missing file, a bad option).
# A NAME.gen file is a shell script that writes the .vg file to run on its
# stdout, for inputs too big to commit; it runs as gen/NAME.vg in a
# scratch folder, so messages name that path (its first line may choose
# the command too).
# VG_STDLIB is the checkout's stdlib, named relatively so that messages
# do not depend on where the checkout is (tests/install.sh tests the
# stdlib found from the executable's path).
# BLESS=1 rewrites the expected files from the current output (never the
# inputs), naming each file it changes; T, a shell pattern, limits the run
# to the cases whose name (NAME without folder) it matches.
# Usage: tests/golden/run.sh path/to/vg [DIR]   (DIR: default tests/golden)
set -u
. "$(dirname "$0")/../lib.sh"
vg=${1:-build/vg}
dir=${2:-$(dirname "$0")}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
for t in "$dir"/*.vg "$dir"/*.cmd "$dir"/*.gen; do
    [ -f "$t" ] || continue
    name=${t%.*}
    selected "$(basename "$name")" || continue
    at=.
    case "${t##*.}" in
    cmd) args=$(cat "$t"); file= ;;
    gen) mkdir -p "$tmp/gen"
         file=gen/$(basename "$name").vg
         sh "$t" >"$tmp/$file"
         args=$(sed -n '1s/^# vg: //p' "$tmp/$file"); at=$tmp
         [ -n "$args" ] || args=run ;;
    *)   args=$(sed -n '1s/^# vg: //p' "$t"); file=$t
         [ -n "$args" ] || args=run ;;
    esac
    vgpath=$(cd "$(dirname "$vg")" && pwd)/$(basename "$vg")
    stdlib=stdlib; [ "$at" = . ] || stdlib=$PWD/stdlib
    # shellcheck disable=SC2086
    (cd "$at" && NO_COLOR=1 VG_PATH= VG_STDLIB=$stdlib "$vgpath" $args $file >"$tmp/out" 2>"$tmp/err" </dev/null)
    echo $? >"$tmp/code"
    [ -n "$file" ] && [ "$at" != . ] && rm -f "$tmp/$file"
    if [ "${BLESS:-0}" = 1 ]; then
        for k in out err; do
            if [ -s "$tmp/$k" ]; then bless "$name.$k" "$tmp/$k"; else unbless "$name.$k"; fi
        done
        if [ "$(cat "$tmp/code")" = 0 ]; then unbless "$name.code"; else bless "$name.code" "$tmp/code"; fi
        pass=$((pass + 1))
        continue
    fi
    ok=1
    for k in out err; do
        if [ -f "$name.$k" ]; then exp="$name.$k"; else exp=/dev/null; fi
        if ! diff -u "$exp" "$tmp/$k" >"$tmp/diff"; then
            echo "golden: $t: $k differs:"; cat "$tmp/diff"; ok=0
        fi
    done
    want=0; [ -f "$name.code" ] && want=$(cat "$name.code")
    if [ "$(cat "$tmp/code")" != "$want" ]; then
        echo "golden: $t: exit status $(cat "$tmp/code"), expected $want"; ok=0
    fi
    if [ $ok = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo "golden ($dir): $pass passed, $fail failed"
[ "$fail" -eq 0 ]

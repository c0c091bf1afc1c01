#!/bin/sh
# Golden tests: every tests/golden/*.vg is run through vg and its stdout,
# stderr and exit status are compared with NAME.out, NAME.err and NAME.code
# (a missing .out/.err means "must be empty", a missing .code means 0).
# The first line may say which command to run: "# vg: check" (default: run).
# A NAME.cmd file instead holds a whole argument list (for cases that are
# not one .vg file: a missing file, a bad option).
# BLESS=1 rewrites the expected files from the current output.
# Usage: tests/golden/run.sh path/to/vg
set -u
vg=${1:-build/vg}
dir=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
for t in "$dir"/*.vg "$dir"/*.cmd; do
    [ -f "$t" ] || continue
    name=${t%.*}
    if [ "${t##*.}" = cmd ]; then
        args=$(cat "$t"); file=
    else
        args=$(sed -n '1s/^# vg: //p' "$t"); file=$t
        [ -n "$args" ] || args=run
    fi
    # shellcheck disable=SC2086
    NO_COLOR=1 VG_PATH= "$vg" $args $file >"$tmp/out" 2>"$tmp/err" </dev/null
    echo $? >"$tmp/code"
    if [ "${BLESS:-0}" = 1 ]; then
        for k in out err; do
            if [ -s "$tmp/$k" ]; then cp "$tmp/$k" "$name.$k"; else rm -f "$name.$k"; fi
        done
        if [ "$(cat "$tmp/code")" = 0 ]; then rm -f "$name.code"; else cp "$tmp/code" "$name.code"; fi
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
echo "golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

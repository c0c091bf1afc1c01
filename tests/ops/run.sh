#!/bin/sh
# The op check passes on the tree, and fails, naming each op and what it
# lacks, on a copy without the gru row of docs/language.md and without the
# recurrent gradcheck models (the only ones that train with mse).
# Usage: tests/ops/run.sh VG
vg=${1:-build/vg}
here=$(dirname "$0")
sh "$here/check.sh" "$vg" . || exit 1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/docs" "$tmp/tests/gradcheck"
grep -v '^| `gru(' docs/language.md >"$tmp/docs/language.md"
for m in tests/gradcheck/*.vg; do
    case $m in */recurrent*|*/lstm*) ;; *) cp "$m" "$tmp/tests/gradcheck/" ;; esac
done
out=$(sh "$here/check.sh" "$vg" "$tmp") && { echo "ops: a missing row and models passed"; exit 1; }
# two tests per op of the table, all but the 5 failures passing
passed=$(( 2 * $("$vg" complete ops | wc -l) - 5 ))
want="ops: 'mse' is used by no model of tests/gradcheck
ops: 'rnn' is used by no model of tests/gradcheck
ops: 'lstm' is used by no model of tests/gradcheck
ops: 'gru' has no row in the op tables of docs/language.md
ops: 'gru' is used by no model of tests/gradcheck
ops: $passed passed, 5 failed"
[ "$out" = "$want" ] || { printf 'ops: expected\n%s\ngot\n%s\n' "$want" "$out"; exit 1; }
echo "ops: the check fails on a missing row and missing models"

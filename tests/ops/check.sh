#!/bin/sh
# Fails when an op of vg's op table (`vg complete ops`) has no row in the
# op tables of docs/language.md (its "Built-ins" section: a code span
# `NAME(…)`, `NAME` or `x NAME y`), or when no model of tests/gradcheck
# uses it (an op of the graph `vg ir` prints, or the loss `vg gradcheck`
# attaches). Two tests per op; the last line counts them.
# Usage: tests/ops/check.sh VG [ROOT]   (ROOT: the source tree, default .)
vg=${1:-build/vg}
root=${2:-.}
doc=$root/docs/language.md
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
"$vg" complete ops >"$tmp/ops" && [ -s "$tmp/ops" ] || { echo "ops: vg complete ops failed"; exit 2; }
[ -f "$doc" ] || { echo "ops: no $doc"; exit 2; }

# names the op tables document: each code span's leading name, and the
# operator of a span "x OP y"
awk '/^## / { builtins = ($0 ~ /^## Built-ins/) }
    builtins && /^\|/ {
        n = split($0, part, "`")
        for (i = 2; i < n; i += 2) {
            if (match(part[i], /^[A-Za-z_][A-Za-z_0-9]*/)) print substr(part[i], 1, RLENGTH)
            if (split(part[i], w, " ") == 3) print w[2]
        }
    }' "$doc" | sort -u >"$tmp/documented"

# ops the gradcheck models use
for m in "$root"/tests/gradcheck/*.vg; do
    [ -f "$m" ] || continue
    "$vg" ir "$m" | awk '/^  %[0-9]+ / { print $2 }'
    "$vg" gradcheck "$m" | sed -n '1s/.*, loss \([^,]*\),.*/\1/p'
done | sort -u >"$tmp/checked"

pass=0; fail=0
while IFS= read -r op; do
    if grep -qxF -- "$op" "$tmp/documented"; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "ops: '$op' has no row in the op tables of docs/language.md"
    fi
    if grep -qxF -- "$op" "$tmp/checked"; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "ops: '$op' is used by no model of tests/gradcheck"
    fi
done <"$tmp/ops"
echo "ops: $pass passed, $fail failed"
[ "$fail" = 0 ]

#!/bin/sh
# vg fmt over the tree. For every .vg file that parses: formatting is
# idempotent (fmt of the output is the output), keeps every comment (the
# same '#' comments, in the same order), and leaves `vg ir` (the graph, or
# the exit status when there is none) unchanged. Then `vg fmt --check` over the examples
# and the stdlib: they are kept formatted.
# Usage: tests/fmt/run.sh path/to/vg
set -u
vg=$(cd "$(dirname "${1:-build/vg}")" && pwd)/$(basename "${1:-build/vg}")
tmp=$(mktemp -d)
copy=
trap 'rm -rf "$tmp"; [ -n "$copy" ] && rm -f "$copy"' EXIT
pass=0; fail=0
# The comments of a file, one per line: what follows '#' outside strings.
comments() {
    sed -n 's/^\([^"#]*\("[^"]*"[^"#]*\)*\)#/#/p' "$1"
}
for f in $(find examples stdlib tests -name '*.vg' | sort); do
    VG_PATH= "$vg" fmt "$f" >"$tmp/once.vg" 2>/dev/null || continue
    ok=1
    VG_PATH= "$vg" fmt "$tmp/once.vg" >"$tmp/twice.vg" 2>&1
    if ! cmp -s "$tmp/once.vg" "$tmp/twice.vg"; then
        echo "fmt: $f: formatting is not idempotent:"; diff -u "$tmp/once.vg" "$tmp/twice.vg"; ok=0
    fi
    comments "$f" | awk '{ sub(/[ \t]+$/, ""); print }' >"$tmp/c1"
    comments "$tmp/once.vg" >"$tmp/c2"
    if ! cmp -s "$tmp/c1" "$tmp/c2"; then
        echo "fmt: $f: comments differ:"; diff -u "$tmp/c1" "$tmp/c2"; ok=0
    fi
    # beside the original, so that its relative imports resolve alike
    copy=$(dirname "$f")/.fmt-check-$$.vg
    cp "$tmp/once.vg" "$copy"
    (VG_PATH= "$vg" ir "$f" >"$tmp/a" 2>/dev/null; echo "exit $?" >>"$tmp/a")
    (VG_PATH= "$vg" ir "$copy" >"$tmp/b" 2>/dev/null; echo "exit $?" >>"$tmp/b")
    if ! cmp -s "$tmp/a" "$tmp/b"; then
        echo "fmt: $f: vg ir differs after formatting:"; diff -u "$tmp/a" "$tmp/b"; ok=0
    fi
    rm -f "$copy"; copy=
    if [ $ok = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
# -w: rewrites a file that changes (keeping its mode), leaves one that does
# not parse as it was, with its diagnostics and exit status 2.
check() {
    if [ "$1" = ok ]; then pass=$((pass + 1)); else echo "fmt: $2"; fail=$((fail + 1)); fi
}
cp tests/golden/fmt_comments.vg "$tmp/w.vg"; chmod 640 "$tmp/w.vg"
"$vg" fmt -w "$tmp/w.vg"; rc=$?
cmp -s "$tmp/w.vg" tests/golden/fmt_comments.out && [ $rc = 0 ] &&
    [ "$(stat -c %a "$tmp/w.vg")" = 640 ] && check ok || check no "-w did not rewrite the file"
printf 'model m() {\n    input x[2]\n    return x +\n}\n' >"$tmp/bad.vg"; cp "$tmp/bad.vg" "$tmp/bad0.vg"
"$vg" fmt -w "$tmp/bad.vg" 2>"$tmp/err"; rc=$?
cmp -s "$tmp/bad.vg" "$tmp/bad0.vg" && [ $rc = 2 ] && grep -q "bad.vg:4:1: error" "$tmp/err" &&
    [ "$(ls "$tmp" | grep -c '^bad.vg.')" = 0 ] && check ok || check no "-w touched a file that does not parse"
# --check: exit 1, the unformatted file named on stdout
"$vg" fmt --check tests/golden/fmt_comments.out tests/golden/fmt_comments.vg >"$tmp/out" 2>/dev/null; rc=$?
[ $rc = 1 ] && [ "$(cat "$tmp/out")" = tests/golden/fmt_comments.vg ] && check ok ||
    check no "--check did not name the one unformatted file"

if VG_PATH= "$vg" fmt --check examples/*.vg stdlib/*.vg; then pass=$((pass + 1))
else echo "fmt: the examples and the stdlib must be formatted"; fail=$((fail + 1)); fi
echo "fmt: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

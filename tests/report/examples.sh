#!/bin/sh
# Every example's report files against the contract: the JSON Lines
# validated against the schema in docs/report.md, the CSV against the JSON,
# the page and its SVGs as XML (check_outputs.py). tests/run.sh's example
# suites leave each example's files in DIR; an example whose files are
# missing there (make check T=... ran only some) is run first. Skipped
# (exit status 77) without python3 and its jsonschema module.
# Usage: tests/report/examples.sh path/to/vg DIR
set -u
here=$(dirname "$0")
. "$here/../lib.sh"
vg=${1:-build/vg}
dir=${2:-build/pages}
py=python3; [ -x /usr/bin/python3 ] && py=/usr/bin/python3
command -v "$py" >/dev/null 2>&1 || skip_suite "python3 not found"
"$py" -c 'import jsonschema' 2>/dev/null || skip_suite "python3's jsonschema module not found"
mkdir -p "$dir"
pass=0; fail=0
for ex in examples/*.vg; do
    name=$(basename "$ex" .vg)
    selected "$name" || continue
    f=$dir/$name
    if [ ! -f "$f.jsonl" ] || [ ! -f "$f.csv" ] || [ ! -f "$f.html" ]; then
        VG_PATH="" "$vg" run --quiet "$ex" --json "$f.jsonl" --csv "$f.csv" --html "$f.html" \
            >/dev/null 2>&1 </dev/null
    fi
    if "$py" "$here/check_outputs.py" --schema docs/report.md --json "$f.jsonl" \
        --csv "$f.csv" --html "$f.html" >"$f.check" 2>&1; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "examples: FAIL: $ex:"
        sed 's/^/    /' "$f.check"
    fi
done
echo "example files: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

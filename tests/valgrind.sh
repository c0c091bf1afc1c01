#!/bin/sh
# make valgrind: every unit test binary, and every vg run of the golden
# runner (tests/golden/ and tests/bad/), under valgrind's memcheck. A
# definite leak or an invalid access makes valgrind exit 99, which fails
# the unit test or changes the golden test's exit status, and its report
# on stderr shows in the golden diff.
# Usage: tests/valgrind.sh BUILD_DIR
set -u
build=${1:-build}
abs=$(cd "$build" && pwd)
vgflags="-q --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99"
# The golden runner calls a vg binary: this one runs the real one under valgrind.
mkdir -p "$build/valgrind"
cat >"$build/valgrind/vg" <<WRAP
#!/bin/sh
exec valgrind $vgflags "$abs/vg" "\$@"
WRAP
chmod +x "$build/valgrind/vg"

pass=0; fail=0; failed=""
for t in "$build"/tests/test_*; do
    [ -x "$t" ] || continue
    # shellcheck disable=SC2086
    if valgrind $vgflags "$t" >/dev/null 2>"$build/valgrind/unit.err"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); failed="$failed $(basename "$t")"
        grep -v '^\[' "$build/valgrind/unit.err" | head -40
    fi
done
for dir in tests/golden tests/bad; do
    if sh tests/golden/run.sh "$build/valgrind/vg" "$dir"; then pass=$((pass + 1))
    else fail=$((fail + 1)); failed="$failed $dir"; fi
done
[ -n "$failed" ] && echo "valgrind: failed:$failed"
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

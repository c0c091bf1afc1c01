#!/bin/sh
# The man pages: both render without a warning from groff (man --warnings)
# or an error from mandoc, and vg(1) documents what `vg --help` and every
# `vg COMMAND --help` name: each command, each option with exactly the
# commands that take it (the "(run, check)" that begins its entry), each
# environment variable and each exit status, and the words of the hidden
# `vg complete` as `vg complete --help` lists them.
# Usage: tests/man/run.sh BUILD_DIR
set -u
build=${1:-build}
vg=$build/vg
scd=docs/man/vg.1.scd
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "man: FAIL: $1"; }

for page in docs/man/*.scd; do
    roff=$build/man/$(basename "$page" .scd)
    if [ ! -f "$roff" ]; then bad "$roff was not built"; continue; fi
    MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings=w -l "$roff" 2>"$tmp/err" >/dev/null
    if [ -s "$tmp/err" ]; then bad "man --warnings $roff:"; cat "$tmp/err"; else ok; fi
    if mandoc -T lint -W error "$roff" >"$tmp/err" 2>&1; then ok
    else bad "mandoc -T lint $roff:"; cat "$tmp/err"; fi
done

# section NAME: the lines of vg.1.scd under "# NAME"
section() { awk -v s="# $1" '/^# /{on = ($0 == s); next} on' "$scd"; }

# Each option entry of OPTIONS as "OPTION COMMAND" pairs: an entry is a
# line of *--names* followed by a line "\t(cmd, cmd) text".
section OPTIONS | awk '
    /^\*-/ { n = 0; line = $0
             while (match(line, /\*-[^*]*\*/)) {
                 names[++n] = substr(line, RSTART + 1, RLENGTH - 2)
                 line = substr(line, RSTART + RLENGTH) }
             next }
    n && /^\t\(/ { cmds = $0; sub(/^\t\(/, "", cmds); sub(/\).*/, "", cmds)
             k = split(cmds, c, /, */)
             for (i = 1; i <= n; i++) for (j = 1; j <= k; j++) print names[i], c[j]
             n = 0 }' | sort >"$tmp/man-options"
[ -s "$tmp/man-options" ] || bad "no option entry found in $scd"

# The same pairs from vg: each command's --help, whose option lines begin
# with two spaces and a dash ("  -w, --write", "  --run NAME").
: >"$tmp/vg-options"
"$vg" --help >"$tmp/help"
cmds=$(sed -n '/^commands:/,/^$/s/^  \([a-z][a-z]*\) .*/\1/p' "$tmp/help" | sort -u)
[ -n "$cmds" ] || bad "vg --help lists no command"
for cmd in $cmds; do
    if "$vg" "$cmd" --help >"$tmp/cmd-help" 2>&1 && head -1 "$tmp/cmd-help" | grep -q "^usage: vg $cmd\( \|$\)"
    then ok; else bad "vg $cmd --help"; fi
    if grep -q "^\*vg $cmd\*" "$scd"; then ok; else bad "vg(1) has no entry *vg $cmd*"; fi
    sed -n '/^options:/,/^$/s/^  \(-[^ ,]*\)\(, \(-[^ ,]*\)\)\{0,1\}.*/\1 \3/p' "$tmp/cmd-help" |
        tr ' ' '\n' | grep -v -e '^$' -e '^--help$' -e '^-h$' | sed "s/\$/ $cmd/" >>"$tmp/vg-options"
    # every exit status this command's --help names
    sed -n '/^exit status:/,$p' "$tmp/cmd-help" >>"$tmp/exits"
done
sort -o "$tmp/vg-options" "$tmp/vg-options"
if diff "$tmp/vg-options" "$tmp/man-options" >"$tmp/diff"; then ok
else bad "the options of vg COMMAND --help (<) and of vg(1) (>) differ:"; cat "$tmp/diff"; fi

# The words of the hidden `vg complete`: each one its --help lists is
# taken, and vg(1)'s entry on the shell completions names the same ones.
"$vg" complete --help >"$tmp/complete-help"
sed -n 's/^  \([a-z][a-z]*\)\( [A-Z][A-Z]*\)\{0,1\}  .*/\1\2/p' "$tmp/complete-help" \
    >"$tmp/complete-words"
: >"$tmp/empty.vg"
while read -r word arg; do
    case $arg in COMMAND) arg=run ;; FILE) arg=$tmp/empty.vg ;; esac
    # shellcheck disable=SC2086
    if "$vg" complete "$word" $arg >/dev/null 2>&1; then ok
    else bad "vg complete $word is refused, though vg complete --help lists it"; fi
done <"$tmp/complete-words"
cut -d' ' -f1 "$tmp/complete-words" | sort >"$tmp/vg-complete"
tr '\n' ' ' <"$scd" | grep -o '\*vg complete\* ([^)]*)' | grep -o '\*[a-z][a-z]*\*' | tr -d '*' |
    sort >"$tmp/man-complete"
if [ -s "$tmp/vg-complete" ] && diff "$tmp/vg-complete" "$tmp/man-complete" >"$tmp/diff"; then ok
else bad "the words of vg complete --help (<) and of vg(1) (>) differ:"; cat "$tmp/diff"; fi

# environment variables and exit statuses
for v in $(sed -n '/^environment:/,/^$/s/^  \([A-Z_][A-Z_]*\) .*/\1/p' "$tmp/help"); do
    if section ENVIRONMENT | grep -q "^\*$v\*$"; then ok; else bad "vg(1) ENVIRONMENT lacks $v"; fi
done
sed -n '/^exit status:/,$p' "$tmp/help" >>"$tmp/exits"
for n in $(grep -o '[0-9][0-9]*' "$tmp/exits" | sort -un); do
    if section "EXIT STATUS" | grep -q "\*$n\*"; then ok; else bad "vg(1) EXIT STATUS lacks $n"; fi
done

echo "man: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/sh
# Shell completion: editors/bash-completion/vg registers itself (complete -p
# vg) and, driven through COMP_WORDS as bash drives it on TAB, completes
# commands, each command's own options, the run and family names of the
# file on the line after --run, model names after --model, and .vg files;
# editors/zsh/_vg, with zsh's completion functions replaced by ones that
# print what they are given, offers the same names.
# Usage: tests/completion/run.sh BUILD_DIR   (from the source tree's root)
set -u
build=${1:-build}
bindir=$(cd "$build" && pwd)
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "completion: FAIL: $1"; }

cat >"$tmp/fam.vg" <<'VG'
model net(width = 4) {
    input x[2]
    layer a { h = tanh(dense(x, width)) }
    layer out { y = dense(h, 2) }
    return y
}
model other() { input x[2]; return dense(x, 2) }
settings s { data = xor(points = 16); loss = cross_entropy; optimizer = sgd(lr = 0.1); batch = 8; steps = 1 }
train deep = net(width = 8) with s
train grid[w in [2, 8]] = net(width = w) with s
VG
mkdir "$tmp/sub"
: >"$tmp/notes.txt"

# bash LINE: what bash offers on TAB at the end of LINE (words split on
# spaces; a trailing space starts an empty word), sorted, one a line.
bash_complete() {
    (cd "$tmp" && PATH="$bindir:$PATH" bash -c '
        . /usr/share/bash-completion/bash_completion
        . "$1/editors/bash-completion/vg"
        COMP_LINE=$2; COMP_POINT=${#COMP_LINE}
        read -r -a COMP_WORDS <<<"$COMP_LINE"
        [[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
        COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _vg vg "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
        printf "%s\n" "${COMPREPLY[@]}"' sh "$root" "$1" 2>&1 | sort)
}
# expect_bash LINE WANT: the offers are exactly WANT (words, any order)
expect_bash() {
    got=$(bash_complete "$1" | tr '\n' ' ' | sed 's/ $//')
    want=$(printf '%s\n' $2 | sort | tr '\n' ' ' | sed 's/ $//')
    if [ "$got" = "$want" ]; then ok; else bad "bash: '$1': got '$got', expected '$want'"; fi
}

if bash -c '. /usr/share/bash-completion/bash_completion && . editors/bash-completion/vg &&
        complete -p vg' | grep -qx 'complete -F _vg vg'; then ok
else bad "bash: complete -p vg after sourcing the completion"; fi
expect_bash "vg " "run plan merge check ir gradcheck fmt report repl lsp --help --version"
expect_bash "vg r" "run report repl"
expect_bash "vg l" "lsp"
expect_bash "vg lsp -" "--help"
expect_bash "vg run --q" "--quiet"
expect_bash "vg run --se" "--set --seed --seed-offset"
expect_bash "vg check --j" ""
expect_bash "vg fmt -" "-w --write --check --help"
expect_bash "vg run fam.vg --run " "deep grid"
expect_bash "vg check fam.vg --run d" "deep"
expect_bash "vg ir fam.vg --model " "net other"
expect_bash "vg run " "fam.vg sub"
expect_bash "vg plan fam.vg --engine " "parallel slurm"
expect_bash "vg run fam.vg --member " "deep grid"
expect_bash "vg run --pa" "--parts --part"

# zsh: _arguments and _describe print their arguments instead of offering
if command -v zsh >/dev/null; then
    zsh_complete() {
        (cd "$tmp" && PATH="$bindir:$PATH" zsh -f -c '
            _arguments() { print -rl -- "$@" }
            _describe() { print -rl -- ${(P)${@[-1]}} }
            _files() { :; }
            words=(${=2}); [[ $2 == *" " ]] && words+=("")
            CURRENT=${#words}
            source "$1/editors/zsh/_vg"' zsh "$root" "$1" 2>&1)
    }
    zsh_complete "vg " >"$tmp/z"
    if grep -qx run "$tmp/z" && grep -qx report "$tmp/z" && grep -q '^--version' "$tmp/z"; then ok
    else bad "zsh: 'vg ' offers no commands:"; cat "$tmp/z"; fi
    zsh_complete "vg run fam.vg --run " >"$tmp/z"
    if grep -qx -- '--run:NAME:(deep grid)' "$tmp/z" && grep -q -- '^--quiet$' "$tmp/z" &&
        ! grep -q -- '^--dot' "$tmp/z"; then ok
    else bad "zsh: 'vg run fam.vg --run ':"; cat "$tmp/z"; fi
    zsh_complete "vg gradcheck fam.vg --model " >"$tmp/z"
    if grep -qx -- '--model:NAME:(net other)' "$tmp/z"; then ok
    else bad "zsh: 'vg gradcheck fam.vg --model ':"; cat "$tmp/z"; fi
fi

echo "completion: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

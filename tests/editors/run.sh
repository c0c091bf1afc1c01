#!/bin/sh
# The editor support against real editors: Neovim's built-in LSP client
# talking to `vg lsp` (lsp.lua), and editors/vim's syntax file on every
# example, stdlib file and lexical.vg (syntax.lua); the TextMate grammar on
# the same files (textmate.py); editors/emacs's vg-mode in batch Emacs, its
# faces and indentation on those files, and eglot through it against
# `vg lsp` (emacs.el). Cases: lsp, syntax, textmate, emacs. Skipped without
# nvim; the emacs case without emacs (.ci/deps.sh installs neovim,
# emacs-nox and elpa-eglot).
# Usage: tests/editors/run.sh path/to/vg
set -u
. "$(dirname "$0")/../lib.sh"
vg=$(cd "$(dirname "${1:-build/vg}")" && pwd)/$(basename "${1:-build/vg}")
root=$(pwd)
command -v nvim >/dev/null 2>&1 || skip_suite "nvim not found (Debian package neovim)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset VG_PATH VG_STDLIB
pass=0; fail=0; skip=0
# nvim headless without the user's configuration, shada or swap files;
# timeout bounds a hang (each wait inside the scripts has its own).
nvim_run() {
    HOME=$tmp XDG_CONFIG_HOME=$tmp XDG_DATA_HOME=$tmp XDG_STATE_HOME=$tmp \
        timeout 120 nvim --headless -u NONE -i NONE -n -c "luafile $1" >"$tmp/out" 2>&1
}
if selected lsp; then
    mkdir -p "$tmp/lsp"
    if VG=$vg WORK=$tmp/lsp nvim_run tests/editors/lsp.lua; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); echo "editors: FAIL: lsp"; cat "$tmp/out"
    fi
fi
if selected syntax; then
    files=$(ls examples/*.vg stdlib/*.vg tests/editors/lexical.vg | tr '\n' ' ')
    if ROOT=$root FILES=$files nvim_run tests/editors/syntax.lua; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); echo "editors: FAIL: syntax"; cat "$tmp/out"
    fi
fi
if selected textmate; then
    files=$(ls examples/*.vg stdlib/*.vg tests/editors/lexical.vg)
    # shellcheck disable=SC2086 # the file names, as words
    if python3 tests/editors/textmate.py $files >"$tmp/out" 2>&1; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); echo "editors: FAIL: textmate"; cat "$tmp/out"
    fi
fi
if selected emacs; then
    if ! command -v emacs >/dev/null 2>&1; then
        skip=$((skip + 1)); echo "editors: emacs skipped: emacs not found (Debian emacs-nox)"
    else
        mkdir -p "$tmp/emacs"
        files=$(ls examples/*.vg stdlib/*.vg tests/editors/lexical.vg)
        # shellcheck disable=SC2086 # the file names, as words
        if HOME=$tmp VG=$vg WORK=$tmp/emacs timeout 120 emacs --batch -L editors/emacs \
            -l tests/editors/emacs.el $files >"$tmp/out" 2>&1; then
            pass=$((pass + 1))
        else
            fail=$((fail + 1)); echo "editors: FAIL: emacs"; grep -v '^Loading' "$tmp/out"
        fi
    fi
fi
echo "editors: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

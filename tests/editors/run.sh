#!/bin/sh
# The editor support against real editors: Neovim's built-in LSP client
# talking to `vg lsp` (lsp.lua), and editors/vim's syntax file on every
# example, stdlib file and lexical.vg (syntax.lua). Cases: lsp, syntax.
# Skipped without nvim (.ci/deps.sh installs Debian's neovim).
# Usage: tests/editors/run.sh path/to/vg
set -u
. "$(dirname "$0")/../lib.sh"
vg=$(cd "$(dirname "${1:-build/vg}")" && pwd)/$(basename "${1:-build/vg}")
root=$(pwd)
command -v nvim >/dev/null 2>&1 || skip_suite "nvim not found (Debian package neovim)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset VG_PATH VG_STDLIB
pass=0; fail=0
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
echo "editors: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/sh
# `make install` and `make uninstall` as a user runs them: with PREFIX=/opt/vg
# into a scratch DESTDIR, every kind of file lands where it belongs; the
# installed vg, from an unrelated folder, runs examples/resnet2016.vg (which
# imports the stdlib) from the installed examples; `make uninstall`
# removes exactly what was installed, leaving the files of others (and the
# shared folders) alone.
# Usage: tests/install/run.sh BUILD_DIR   (from the source tree's root)
set -u
build=${1:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset VG_STDLIB VG_PATH
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "install: FAIL: $1"; }
dest=$tmp/dest
prefix=$dest/opt/vg

# another package's files in the folders vg shares
mkdir -p "$prefix/bin" "$prefix/share/man/man1" "$prefix/share/doc"
echo other >"$prefix/bin/other"
echo other >"$prefix/share/man/man1/other.1"
(cd "$dest" && find . \( -type f -o -type d \) | sort) >"$tmp/before"

if make --no-print-directory BUILD="$build" PREFIX=/opt/vg DESTDIR="$dest" install >"$tmp/log" 2>&1
then ok; else cat "$tmp/log"; bad "make install"; fi
for f in bin/vg share/vg/stdlib/blocks.vg share/vg/stdlib/presets.vg share/man/man1/vg.1 \
         share/man/man7/vg-language.7 share/doc/vg/README.md share/doc/vg/examples/resnet2016.vg \
         share/bash-completion/completions/vg share/zsh/site-functions/_vg \
         share/vim/vimfiles/syntax/vg.vim share/vim/vimfiles/ftdetect/vg.vim \
         share/nvim/site/syntax/vg.vim share/nvim/site/ftplugin/vg.vim \
         share/emacs/site-lisp/vg-mode.el share/vg/vscode/package.json \
         share/vg/vscode/syntaxes/vg.tmLanguage.json; do
    if [ -f "$prefix/$f" ]; then ok; else bad "make install did not install PREFIX/$f"; fi
done
if [ -x "$prefix/bin/vg" ]; then ok; else bad "PREFIX/bin/vg is not executable"; fi

mkdir "$tmp/elsewhere"
if (cd "$tmp/elsewhere" && "$prefix/bin/vg" run --quiet "$prefix/share/doc/vg/examples/resnet2016.vg" --run "residual[1]" \
        >"$tmp/out" 2>&1); then ok
else cat "$tmp/out"; bad "the installed vg runs resnet2016.vg from another folder"; fi

if make --no-print-directory BUILD="$build" PREFIX=/opt/vg DESTDIR="$dest" uninstall >"$tmp/log" 2>&1
then ok; else cat "$tmp/log"; bad "make uninstall"; fi
(cd "$dest" && find . \( -type f -o -type d \) | sort) >"$tmp/after"
# what is left beyond what was there before: the shared folders install made
extra=$(comm -13 "$tmp/before" "$tmp/after" | grep -v -x -e ./opt/vg/share/man/man7 \
    -e ./opt/vg/share/bash-completion -e ./opt/vg/share/bash-completion/completions \
    -e ./opt/vg/share/zsh -e ./opt/vg/share/zsh/site-functions \
    -e './opt/vg/share/n\{0,1\}vim.*' -e './opt/vg/share/emacs.*')
if [ -z "$extra" ]; then ok; else bad "left after make uninstall: $extra"; fi
gone=$(comm -23 "$tmp/before" "$tmp/after")
if [ -z "$gone" ]; then ok; else bad "make uninstall removed what it did not install: $gone"; fi

echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

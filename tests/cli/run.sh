#!/bin/sh
# The command line's conventions: the stdlib found from the executable's
# own path whatever the current folder, VG_STDLIB, the thread count taken
# from OPENBLAS_NUM_THREADS / OMP_NUM_THREADS, colour only on a terminal
# without NO_COLOR or TERM=dumb, and `--help` naming the environment.
# Usage: tests/cli/run.sh path/to/vg
set -u
vg=$(cd "$(dirname "${1:-build/vg}")" && pwd)/$(basename "${1:-build/vg}")
root=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset VG_STDLIB VG_PATH OPENBLAS_NUM_THREADS OMP_NUM_THREADS NO_COLOR
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "cli: FAIL: $1"; [ -f "$tmp/out" ] && sed 's/^/    /' "$tmp/out"; }
# expect NAME STATUS PATTERN CMD...: CMD's status is STATUS and its output
# (stdout and stderr) matches the grep pattern PATTERN ('' for any).
expect() {
    name=$1 want=$2 pat=$3; shift 3
    "$@" >"$tmp/out" 2>&1 </dev/null
    got=$?
    if [ "$got" != "$want" ]; then bad "$name: exit status $got, expected $want"
    elif [ -n "$pat" ] && ! grep -q -e "$pat" "$tmp/out"; then bad "$name: no '$pat' in the output"
    else ok; fi
}

cat >"$tmp/tiny.vg" <<'VG'
import "std/blocks"
model m() {
    input x[2]
    layer a { h = tanh(dense(x, 4)) }
    layer out { y = dense(h, 2) }
    return y
}
settings s { data = xor(points = 16); loss = cross_entropy; optimizer = sgd(lr = 0.1); batch = 8; steps = 2 }
train r = m() with s
VG

# build/vg finds the source tree's stdlib from any folder
cd "$tmp" || exit 1
expect "stdlib from another folder" 0 "ok (20 runs" "$vg" check "$root/examples/resnet2016.vg"
expect "stdlib for a relative file" 0 "ok (1 run" "$vg" check tiny.vg
# an installed layout: PREFIX/bin/vg finds PREFIX/share/vg/stdlib
mkdir -p prefix/bin prefix/share/vg
cp "$vg" prefix/bin/vg
cp -r "$root/stdlib" prefix/share/vg/stdlib
expect "installed layout" 0 "ok (1 run" prefix/bin/vg check tiny.vg
expect "installed layout, note" 2 "searched the stdlib folder $tmp/prefix/share/vg/stdlib" \
    sh -c 'sed s/std.blocks/std\\/none/ tiny.vg >none.vg && prefix/bin/vg check none.vg'
rm -r prefix/share
expect "no stdlib beside the executable" 2 "no stdlib folder was found beside the vg executable ($tmp/prefix/bin/../share/vg/stdlib" \
    prefix/bin/vg check tiny.vg
expect "VG_STDLIB" 0 "ok (1 run" env VG_STDLIB="$root/stdlib" prefix/bin/vg check tiny.vg
mkdir empty
expect "VG_STDLIB, note" 2 "searched the stdlib folder empty (set VG_STDLIB" \
    env VG_STDLIB=empty "$vg" check tiny.vg
expect "VG_PATH in the note" 2 "in $tmp (the importing file's folder), /x (VG_PATH), /y (VG_PATH), $root/stdlib (the stdlib)" \
    sh -c 'printf "import \"nowhere\"\n" >"$1/imp.vg" && VG_PATH=/x::/y "$2" check "$1/imp.vg"' sh "$tmp" "$vg"

# threads: the variables every OpenBLAS user sets, unless --threads is given
expect "default threads" 0 "core [^,]*, oneDNN [^,]*, 1 thread$" "$vg" run --quiet tiny.vg
expect "OPENBLAS_NUM_THREADS" 0 "core [^,]*, oneDNN [^,]*, 2 threads$" env OPENBLAS_NUM_THREADS=2 "$vg" run --quiet tiny.vg
expect "OMP_NUM_THREADS" 0 "core [^,]*, oneDNN [^,]*, 3 threads$" env OMP_NUM_THREADS=3,1 "$vg" run --quiet tiny.vg
expect "OPENBLAS_NUM_THREADS first" 0 "core [^,]*, oneDNN [^,]*, 2 threads$" \
    env OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=3 "$vg" run --quiet tiny.vg
expect "--threads over the variables" 0 "core [^,]*, oneDNN [^,]*, 1 thread$" \
    env OPENBLAS_NUM_THREADS=2 "$vg" run --quiet --threads 1 tiny.vg
# a model whose largest GEMM (64·256·256 = 2^22) gets two threads by the
# automatic rule on two cores: OPENBLAS_NUM_THREADS=1 still gets one
cat >"$tmp/wide.vg" <<'VG'
model wide() {
    input x[256]
    layer a { h = tanh(dense(x, 256)) }
    layer out { y = dense(h, 2) }
    return y
}
settings s { data = blobs(points = 64, classes = 2, dims = 256); loss = cross_entropy; optimizer = sgd(lr = 0.1); batch = 64; steps = 1 }
train r = wide() with s
VG
if [ "$(getconf _NPROCESSORS_ONLN)" -ge 2 ]; then
    expect "automatic threads" 0 "core [^,]*, oneDNN [^,]*, 2 threads$" "$vg" run --quiet wide.vg
fi
expect "OPENBLAS_NUM_THREADS=1" 0 "core [^,]*, oneDNN [^,]*, 1 thread$" env OPENBLAS_NUM_THREADS=1 "$vg" run --quiet wide.vg
expect "OMP_NUM_THREADS=1" 0 "core [^,]*, oneDNN [^,]*, 1 thread$" env OMP_NUM_THREADS=1 "$vg" run --quiet wide.vg
expect "a bad OMP_NUM_THREADS" 2 "^vg: OMP_NUM_THREADS needs an integer from 1 to 256, got 'many'$" \
    env OMP_NUM_THREADS=many "$vg" run tiny.vg

# colour only on a terminal (script(1) gives one), without NO_COLOR or TERM=dumb
printf 'model m() { input x[2]; return sigmod(x) }\n' >bad.vg
esc=$(printf '\033')
on_tty() { script -qec "$1" /dev/null; }
expect "colour on a terminal" 2 "$esc\[" on_tty "TERM=xterm $vg check bad.vg"
for env in "TERM=dumb" "TERM=xterm NO_COLOR=1"; do
    on_tty "$env $vg check bad.vg" >"$tmp/out" 2>&1
    if grep -q "sigmod" "$tmp/out" && ! grep -q "$esc\[" "$tmp/out"; then ok
    else bad "no colour with $env"; fi
done
TERM=xterm "$vg" check bad.vg >"$tmp/out" 2>&1
if grep -q "sigmod" "$tmp/out" && ! grep -q "$esc\[" "$tmp/out"; then ok
else bad "no colour on a pipe"; fi

# --help names every variable vg reads
"$vg" --help >"$tmp/help"
for v in VG_PATH VG_STDLIB NO_COLOR OPENBLAS_NUM_THREADS OMP_NUM_THREADS; do
    if grep -q "^  $v " "$tmp/help"; then ok; else bad "--help does not name $v"; fi
done

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

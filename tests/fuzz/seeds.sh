#!/bin/sh
# Builds the fuzzers' seed corpora in DIR (default build/fuzz/seeds): every
# .vg file of examples/, stdlib/, tests/golden/ and tests/bad/ for the front
# end; a few well-formed and broken CSV files for the CSV reader; and, when
# a vg binary is given, checkpoints it writes for the safetensors loader.
# Usage: tests/fuzz/seeds.sh [DIR]
set -eu
dir=${1:-build/fuzz/seeds}
rm -rf "$dir"
mkdir -p "$dir/frontend" "$dir/csv" "$dir/safetensors"

n=0
for f in examples/*.vg stdlib/*.vg tests/golden/*.vg tests/golden/lib/*.vg tests/bad/*.vg; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    cp "$f" "$dir/frontend/$n-$(basename "$f")"
done

csv() { printf "$2" >"$dir/csv/$1.csv"; }
csv classes   'a,b,y\n0.5,1,0\n-1,2e3,1\n3,.25,2\n'
csv real      'x1, x2 ,y\r\n1,2,0.5\r\n3,4,-1.25\r\n'
csv quoted    '"x","y"\n1,2\n\n3,4\n'
csv bom       '\357\273\277y,x\n1,2\n'
csv ragged    'x,y\n1,2,3\n'
csv notnum    'x,y\n1,abc\n'
csv empty     ''
csv header    'x,y\n'
csv notarget  'a,b\n1,2\n'
csv onecol    'y\n1\n'
csv blankfld  'x,y\n,1\n'
csv nan       'x,y\nnan,1\ninf,2\n'

# A checkpoint of the safetensors harness's model (two dense layers,
# a: [2] -> [4], b: [4] -> [2]) written by the real writer, and a few
# hand-made headers around it.
st() { printf "$2" >"$dir/safetensors/$1.safetensors"; }
st empty ''
st short '\010\000\000\000'
st nojson '\010\000\000\000\000\000\000\000not json'
st emptyobj '\010\000\000\000\000\000\000\000{}      '
st meta '\040\000\000\000\000\000\000\000{"__metadata__":{"a":"b"}}      '
vg=${2:-}
if [ -n "$vg" ] && [ -x "$vg" ]; then
    tmp=$(mktemp -d)
    cat >"$tmp/m.vg" <<'VG'
model m() {
    input x[2]
    layer a { h = dense(x, 4) }
    layer b { y = dense(h, 2) }
    return y
}
train r = m() { data = xor(points = 8, noise = 0); loss = cross_entropy; optimizer = sgd(lr = 0.1); batch = 4; steps = 0 }
VG
    if "$vg" run --quiet --save "$tmp/m.safetensors" "$tmp/m.vg" >/dev/null 2>&1; then
        cp "$tmp/m.safetensors" "$dir/safetensors/model.safetensors"
    fi
    rm -rf "$tmp"
fi
echo "seeds: $n .vg files, $(ls "$dir/csv" | wc -l) CSV files, $(ls "$dir/safetensors" | wc -l) checkpoints"

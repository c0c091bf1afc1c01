#!/bin/sh
# vg run --checkpoint / --resume: a vg killed with SIGKILL at a random step
# (and one stopped by SIGTERM), resumed, prints and writes exactly what an
# uninterrupted vg does — stdout, --json, --csv and every --save file, byte
# for byte; checkpoints from another program, other settings, a damaged
# file and a folder that cannot be written are refused by their messages.
# Usage: tests/cli/checkpoint.sh path/to/vg
set -u
vg=$(cd "$(dirname "${1:-build/vg}")" && pwd)/$(basename "${1:-build/vg}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "checkpoint: FAIL: $1"; }

cat >ck.vg <<'VG'
# Every kind of state a run carries: Adam's moments, momentum, a gradient
# block (clip), dropout masks, batchnorm's running statistics, pre-training,
# a recurrent layer's bptt curve, a test split, a run family, and a
# learning-rate schedule (resumed from the step count alone).
model mlp(act = tanh, rate = 0.0, bn = false) {
    input x[2]
    layer fc[1] { h = act(dense(x, 24)) }
    layer fc[2] {
        if bn {
            g = act(batchnorm(dense(h, 24)))
        } else {
            g = act(dense(h, 24))
        }
    }
    layer out { y = dense(dropout(g, rate), 2) }
    return y
}
model seq() {
    input x[12, 2]
    layer rec { h = rnn(x, 8) }
    layer out { y = dense(last(h), 1) }
    return y
}
settings base {
    data = spirals(points = 240); loss = cross_entropy; optimizer = adam(lr = 0.01)
    batch = 16; steps = 3000; report = 150; test = 0.25
}
train fam[s in 1..2] = mlp(rate = 0.2) with base { seed = s }
train momentum = mlp(bn = true) with base {
    optimizer = sgd(lr = 0.05, momentum = 0.9); clip = norm(1)
    schedule = warmup(300) then cosine(2000, min = 0.005)
}
train pre = mlp(act = sigmoid) with base { pretrain = autoencoder(steps = 50, lr = 0.5) }
train rec = seq() with base { data = adding(length = 12, points = 200); loss = mse; test = 0 }
expect median(fam[*].final.loss) < 1
VG
outputs() { echo "--json $1.jsonl --csv $1.csv --save $1.st"; }
# shellcheck disable=SC2046
"$vg" run ck.vg $(outputs full) >full.out 2>full.err || { bad "uninterrupted run"; cat full.err; }

# same NAME: the resumed vg's stdout and files are the uninterrupted one's
same() {
    for f in full.out full.jsonl full.csv full.*.st; do
        g=res${f#full}
        if ! cmp -s "$f" "$g"; then bad "$1: $g differs from $f"; return; fi
    done
    ok
}

# kill -9 at a random moment once the first checkpoint exists, resume, and
# check the resumed vg trained only what was left (its --time lines)
killed=0
for attempt in 1 2 3 4 5; do
    rm -rf ck res.*
    # shellcheck disable=SC2046
    "$vg" run ck.vg $(outputs part) --checkpoint ck --checkpoint-every 37 >/dev/null 2>&1 &
    pid=$!
    while ! ls ck/*.ckpt >/dev/null 2>&1 && kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
    sleep "0.$(od -An -N1 -tu1 /dev/urandom | tr -d ' ')"
    kill -9 "$pid" 2>/dev/null
    wait "$pid"
    [ $? -eq 137 ] && { killed=1; break; }
done
if [ "$killed" = 1 ]; then ok; else bad "vg finished before it could be killed, five times"; fi
# shellcheck disable=SC2046
"$vg" run ck.vg $(outputs res) --checkpoint ck --checkpoint-every 37 --resume --time \
    >res.out 2>res.err
[ $? -eq 0 ] && ok || { bad "resume after SIGKILL: exit status"; cat res.err; }
same "resume after SIGKILL"
trained=$(sed -n 's/^time: run .*: \([0-9]*\) steps.*/\1/p' res.err | awk '{ s += $1 } END { print s }')
if [ "$trained" -lt 15000 ]; then ok; else bad "the resumed vg trained $trained steps: all of them"; fi
ls ck | grep -q '\.tmp\.' && bad "a temporary file of the killed vg is left in ck/" || ok

# SIGTERM: the checkpoint at the step where it stopped
rm -rf ck res.*
"$vg" run ck.vg --checkpoint ck --checkpoint-every 100000 >/dev/null 2>&1 &
pid=$!
while ! ls ck/*.ckpt >/dev/null 2>&1 && kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
sleep 0.2
kill -TERM "$pid"
wait "$pid"
[ $? -eq 143 ] && ok || bad "SIGTERM: exit status"
# shellcheck disable=SC2046
"$vg" run ck.vg $(outputs res) --checkpoint ck --resume >res.out 2>res.err
[ $? -eq 0 ] && ok || { bad "resume after SIGTERM: exit status"; cat res.err; }
same "resume after SIGTERM"

# refusals, by their messages (hashes as HASH)
# check NAME STATUS EXPECTED CMD...: CMD exits STATUS with stderr EXPECTED
check() {
    name=$1 want=$2 text=$3; shift 3
    "$@" >/dev/null 2>err
    got=$?
    sed 's/[0-9a-f]\{64\}/HASH/g' err >err.n
    if [ "$got" != "$want" ]; then bad "$name: exit status $got, expected $want"; cat err
    elif [ "$(cat err.n)" != "$text" ]; then bad "$name: stderr"; diff err.n - <<EOF
$text
EOF
    else ok; fi
}
note="note: resumed, it would not give what an uninterrupted run gives; delete it, or run without --resume, to start the run afresh"
sed 's/report = 150/report = 300/' ck.vg >changed.vg
mkdir ck2
cp ck/fam_1_-*.ckpt ck2/
check "another program" 2 "vg: error: checkpoint 'ck2/fam_1_-67393d24.ckpt' of run 'fam[1]' was made from another program text (sha256 of its files): 'HASH' then, 'HASH' now
$note" "$vg" run changed.vg --checkpoint ck2 --resume
check "other settings" 2 "vg: error: checkpoint 'ck2/fam_1_-67393d24.ckpt' of run 'fam[1]' was made with other command-line settings: 'none' then, '--seed-offset 5' now
$note" "$vg" run ck.vg --checkpoint ck2 --resume --seed-offset 5
# spoil FILE KEY BYTE: the first character of KEY's metadata value
# becomes BYTE, in place
spoil() {
    at=$(grep -abo "\"$2\":\"" "$1" | head -n 1 | cut -d: -f1)
    printf '%s' "$3" | dd of="$1" bs=1 seek=$((at + ${#2} + 4)) conv=notrunc 2>/dev/null
}
cp ck2/fam_1_-67393d24.ckpt keep.ckpt
spoil ck2/fam_1_-67393d24.ckpt step x
check "an integer that is not" 3 "vg: error: checkpoint 'ck2/fam_1_-67393d24.ckpt' is damaged: its metadata 'step' is not an integer in range" \
    "$vg" run ck.vg --checkpoint ck2 --resume
cp keep.ckpt ck2/fam_1_-67393d24.ckpt
spoil ck2/fam_1_-67393d24.ckpt last_loss x
check "a number that is not" 3 "vg: error: checkpoint 'ck2/fam_1_-67393d24.ckpt' is damaged: its metadata 'last_loss' is not a number" \
    "$vg" run ck.vg --checkpoint ck2 --resume
printf 'junk' >ck2/fam_1_-67393d24.ckpt
check "a damaged file" 3 "vg: error: checkpoint 'ck2/fam_1_-67393d24.ckpt': the file is truncated: 4 bytes, less than the 8-byte header length" \
    "$vg" run ck.vg --checkpoint ck2 --resume
check "--resume alone" 2 "vg: --resume needs --checkpoint DIR
Try 'vg --help'." "$vg" run ck.vg --resume
check "--checkpoint-every 0" 2 "vg: --checkpoint-every needs a positive integer, got '0'
Try 'vg --help'." "$vg" run ck.vg --checkpoint ck --checkpoint-every 0
touch file
check "not a folder" 3 "vg: error: the checkpoint folder 'file' is not a folder" \
    "$vg" run ck.vg --checkpoint file
check "no parent folder" 3 "vg: error: cannot make the checkpoint folder 'none/ck': No such file or directory" \
    "$vg" run ck.vg --checkpoint none/ck

echo "checkpoint: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

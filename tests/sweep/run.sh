#!/bin/sh
# Sweeps: `vg run -j N` prints, writes and checks exactly what `vg run`
# does (stdout, stderr, exit status, JSON Lines, CSV, HTML); a sweep killed
# with SIGKILL resumes from its parts (--parts) and ends as one that was
# not; a worker killed is named by its run, and the other runs are kept;
# a part from a changed program or other settings is refused by name; and
# `vg plan` + GNU parallel + `vg merge` gives the report of `vg run -j 1`.
# Usage: tests/sweep/run.sh path/to/vg
set -u
vg=$(cd "$(dirname "${1:-build/vg}")" && pwd)/$(basename "${1:-build/vg}")
cd "$(dirname "$0")" || exit 2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the sweeps' temporary folders go to a TMPDIR of this test's own, so that
# the check for leftovers sees these sweeps, not other vg processes'
mkdir "$tmp/tmpdir"
export NO_COLOR=1 VG_PATH= TMPDIR="$tmp/tmpdir"
pass=0; fail=0; skip=0
check() {  # check WHAT COMMAND...
    what=$1; shift
    if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "sweep: FAIL: $what"; fi
}
# run NAME ARGS...: vg's stdout, stderr and status into $tmp/NAME.{out,err,code}
run() {
    name=$1; shift
    "$vg" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null
    echo $? >"$tmp/$name.code"
}
# same WHAT A B [FILES...]: runs A and B printed the same, and wrote the same files
same() {
    label=$1 a=$2 b=$3; shift 3
    for x in out err code "$@"; do
        check "$label: $x" cmp -s "$tmp/$a.$x" "$tmp/$b.$x"
    done
}
outputs() { echo --json "$tmp/$1.jsonl" --csv "$tmp/$1.csv" --html "$tmp/$1.html"; }

# -j 1 (vg alone) and -j 2 (two workers): the same bytes everywhere, for
# a sweep with warnings and a family-level expect, one whose expect fails,
# a family of attention models and one of CNNs
for f in sweep.vg ../golden/family_expect.vg attention.vg conv.vg; do
    n=$(basename "$f" .vg)
    run "$n-1" run "$f" $(outputs "$n-1")
    run "$n-2" run "$f" -j 2 $(outputs "$n-2")
    run "$n-3" run "$f" -j 3 --parts "$tmp/$n-parts" $(outputs "$n-3")
    same "$n: -j 2" "$n-1" "$n-2" jsonl csv html
    same "$n: -j 3 --parts" "$n-1" "$n-3" jsonl csv html
    run "$n-m" merge "$f" "$tmp/$n-parts" $(outputs "$n-m")
    same "$n: vg merge" "$n-1" "$n-m" jsonl csv html
done
# oneDNN's OpenMP threads: two per worker, forked from a parent that set
# the count (a fork of a process whose OpenMP pool had run would hang)
run conv-t2-1 run conv.vg --threads 2 $(outputs conv-t2-1)
run conv-t2-2 run conv.vg --threads 2 -j 2 $(outputs conv-t2-2)
same "conv.vg --threads 2: -j 2" conv-t2-1 conv-t2-2 jsonl csv html
check "conv.vg --threads 2: the header says 2 threads" grep -q "2 threads" "$tmp/conv-t2-1.out"
check "warnings of the workers' runs reach stderr" grep -q "warning: run 'lr\[1e30, 1\]'" "$tmp/sweep-2.err"
check "family_expect's failing expect: exit 1" grep -qx 1 "$tmp/family_expect-2.code"
check "no temporary folder is left" sh -c "! ls '${TMPDIR:-/tmp}' | grep -q '^vg-sweep\.'"

# --member names exactly one run, and its diagnostics say --member
run member-family run sweep.vg --member lr
check "--member of a family: exit 2" grep -qx 2 "$tmp/member-family.code"
check "--member of a family: the message" grep -qx "vg: error: --member names one run, and 'lr' names 6; give each axis a value, as in lr\[0.1, 1\]" "$tmp/member-family.err"
run member-none run sweep.vg --member 'lr[5, 1]'
check "--member of no run: named as --member" grep -qx -- "--member:1:1: error: run family 'lr' has no member lr\[5, 1\]" "$tmp/member-none.err"
run part-two run sweep.vg --run lr --part "$tmp/two.part"
check "--part of six runs: refused" grep -qx "vg: error: --part keeps the results of one run, and 6 are selected; name it with --member" "$tmp/part-two.err"

# A sweep killed (SIGKILL, no warning) after its first parts resumes from
# them: the parts written before stay as they were, and the report is the
# one of a sweep never killed.
long="--set steps=30000 --quiet"
run whole run sweep.vg $long
"$vg" run sweep.vg $long -j 1 --parts "$tmp/kill" >/dev/null 2>&1 </dev/null &
pid=$!
n=0
while [ $n -lt 300 ] && [ ! -f "$tmp/kill/lr.1.part" ]; do sleep 0.1; n=$((n + 1)); done
kill -KILL $pid
wait $pid 2>/dev/null
sleep 0.5   # the worker follows its parent (PR_SET_PDEATHSIG)
check "killed sweep: some parts were written" test -f "$tmp/kill/lr.0.part"
check "killed sweep: not all of them" test ! -f "$tmp/kill/wide.part"
cp "$tmp/kill/lr.0.part" "$tmp/lr.0.before"
run resumed run sweep.vg $long -j 2 --parts "$tmp/kill"
same "killed and resumed sweep" whole resumed
check "resumed sweep: a finished part was not trained again" cmp -s "$tmp/lr.0.before" "$tmp/kill/lr.0.part"

# busy_worker PID: the first worker of vg PID once it is training (it has
# used 30 ms of CPU), so that the kill meets a worker with a run: a worker
# killed before the parent hands it one has lost nothing and is replaced,
# and a loaded machine can delay the hand-out past the fork.
busy_worker() {
    n=0
    while [ $n -lt 600 ]; do
        w=$(pgrep -P "$1" | sort -n | head -1)
        if [ -n "$w" ]; then
            # shellcheck disable=SC2046
            set -- "$1" $(cut -d' ' -f14,15 "/proc/$w/stat" 2>/dev/null)
            [ $((${2:-0} + ${3:-0})) -ge 3 ] && break
        fi
        sleep 0.05; n=$((n + 1))
    done
    echo "$w"
}

# A worker killed: its run is named, with its train item, and the others
# are printed; no expect is checked; exit 3.
"$vg" run sweep.vg $long -j 2 >"$tmp/lost2.out" 2>"$tmp/lost2.err" </dev/null &
pid=$!
kill -KILL "$(busy_worker $pid)"
wait $pid
code=$?
check "killed worker: exit status $code, expected 3" test $code = 3
check "killed worker: named by its run" grep -qx "sweep.vg:20:1: error: run 'lr\[0.1, 1\]': its worker process was killed by signal 9 (Killed)" "$tmp/lost2.err"
check "killed worker: the other runs are printed" grep -q "^run wide" "$tmp/lost2.out"
check "killed worker: its run is not" sh -c "! grep -q '^run lr\[0.1, 1\]' '$tmp/lost2.out'"
check "killed worker: no expect is checked" grep -qx "vg: no expect was checked: 1 run is missing" "$tmp/lost2.err"

# A part's temporary file left by a writer killed mid-write (made here by
# hand: the write itself lasts microseconds): the parent removes those of
# the run whose worker died, and a later --parts run all of them; one whose
# writer is alive (holding its lock) stays.
mkdir "$tmp/stale"
"$vg" run sweep.vg --run 'lr[0.1, 1]' --set steps=300000 --quiet -j 2 --parts "$tmp/stale" \
    >/dev/null 2>&1 </dev/null &
pid=$!
worker=$(busy_worker $pid)
: >"$tmp/stale/lr.0.part.Ab3dEf"   # the run of the worker killed below
: >"$tmp/stale/lr.5.part.Ab3dEf"   # a run no worker died on
flock -o "$tmp/stale/lr.0.part.Locked" sleep 30 &
holder=$!
n=0
while [ $n -lt 100 ] && flock -n "$tmp/stale/lr.0.part.Locked" true; do sleep 0.05; n=$((n + 1)); done
kill -KILL "$worker"
wait $pid
code=$?
check "killed worker with --parts: exit status $code, expected 3" test $code = 3
check "killed worker: its run's stale temporary is removed" test ! -e "$tmp/stale/lr.0.part.Ab3dEf"
check "killed worker: another run's is left" test -e "$tmp/stale/lr.5.part.Ab3dEf"
check "killed worker: a temporary still being written is left" test -e "$tmp/stale/lr.0.part.Locked"
kill "$(pgrep -P $holder)" $holder
wait $holder 2>/dev/null
run stale-later run sweep.vg --run wide -j 2 --parts "$tmp/stale"
check "a later --parts run: exit 0" grep -qx 0 "$tmp/stale-later.code"
check "a later --parts run: the stale temporaries are gone" test "$(ls "$tmp/stale")" = wide.part

# Parts are refused, by name, when the program's text or the settings
# changed since they were made; merge names the runs with no part.
cp sweep.vg "$tmp/p.vg"
"$vg" run "$tmp/p.vg" -j 2 --parts "$tmp/p" >/dev/null 2>&1
echo "# a comment changes the text" >>"$tmp/p.vg"
run changed merge "$tmp/p.vg" "$tmp/p"
check "changed program: exit 2" grep -qx 2 "$tmp/changed.code"
check "changed program: the part is named" grep -qx "vg: error: part '$tmp/p/lr.0.part' was made from a different program text" "$tmp/changed.err"
check "changed program: nothing is printed" test ! -s "$tmp/changed.out"
run changed-run run "$tmp/p.vg" --parts "$tmp/p"
check "changed program: vg run --parts refuses it too" grep -q "lr.0.part' was made from a different program text" "$tmp/changed-run.err"
cp sweep.vg "$tmp/p.vg"
run offset merge "$tmp/p.vg" "$tmp/p" --seed-offset 1
check "other settings: refused" grep -qx "vg: error: part '$tmp/p/lr.0.part' was made with other settings than run 'lr\[0.1, 1\]' has here" "$tmp/offset.err"
rm "$tmp/p/lr.3.part"
run missing merge "$tmp/p.vg" "$tmp/p"
check "missing part: exit 3" grep -qx 3 "$tmp/missing.code"
check "missing part: the run is named" grep -qx "vg: 1 run of '$tmp/p.vg' has no part in '$tmp/p': lr\[1, 2\]" "$tmp/missing.err"

# A job of vg plan killed (SIGKILL) after a checkpoint goes on from it when
# run again: its part then counts only the steps after the checkpoint (as
# `vg merge --time` shows), and the merge is the uninterrupted run's.
one="--run lr[0.1,1] --set steps=200000"
run plan1 plan sweep.vg -o "$tmp/plan1" $one --checkpoint-every 5000
check "plan: the merge command names the run" grep -qx "then: vg merge 'sweep.vg' '$tmp/plan1' --run 'lr\[0.1,1\]' --set 'steps=200000'" "$tmp/plan1.out"
check "plan: the job checkpoints and resumes" grep -q -- "--checkpoint '$tmp/plan1/checkpoints' --resume --checkpoint-every 5000" "$tmp/plan1/jobs"
sh -c "exec $(cat "$tmp/plan1/jobs")" >/dev/null 2>&1 </dev/null &
pid=$!
n=0
while [ $n -lt 300 ] && ! ls "$tmp/plan1/checkpoints/"*.ckpt >/dev/null 2>&1; do sleep 0.05; n=$((n + 1)); done
kill -KILL $pid
wait $pid 2>/dev/null
check "killed job: no part yet" test ! -f "$tmp/plan1/lr.0.part"
sh -c "$(cat "$tmp/plan1/jobs")" >/dev/null 2>&1 </dev/null
run resumed1 merge sweep.vg "$tmp/plan1" $one --time
run whole1 run sweep.vg $one
steps=$(sed -n "s/^time: run 'lr\[0.1, 1\]': \([0-9]*\) steps.*/\1/p" "$tmp/resumed1.err")
check "killed job: resumed from its checkpoint (${steps:-?} steps after it)" test "${steps:-200000}" -lt 200000
check "killed job: the merge is the uninterrupted run's" cmp -s "$tmp/whole1.out" "$tmp/resumed1.out"

# vg plan for GNU parallel: one job per run, run by parallel (and run again
# to resume: nothing is left to do), merged into the report of vg run -j 1.
if command -v parallel >/dev/null 2>&1; then
    run plan plan sweep.vg -o "$tmp/plan" --seed-offset 3
    check "plan: 7 jobs" test "$(wc -l <"$tmp/plan/jobs")" = 7
    check "plan: says how to merge" grep -qx "then: vg merge 'sweep.vg' '$tmp/plan' --seed-offset 3" "$tmp/plan.out"
    sh "$tmp/plan/parallel.sh" -j 2 >/dev/null 2>&1
    check "parallel: every job ended well" test "$(awk 'NR > 1 && $7 == 0' "$tmp/plan/parallel.log" | wc -l)" = 7
    sh "$tmp/plan/parallel.sh" -j 2 >/dev/null 2>&1
    check "parallel: run again, nothing is re-run" test "$(awk 'NR > 1' "$tmp/plan/parallel.log" | wc -l)" = 7
    run ref run sweep.vg --seed-offset 3 $(outputs ref)
    run merged merge sweep.vg "$tmp/plan" --seed-offset 3 $(outputs merged)
    same "plan + parallel + merge" ref merged jsonl csv html
else
    skip=$((skip + 1)); echo "sweep: skipped: GNU parallel is not installed (.ci/deps.sh installs it)"
fi

echo "sweep: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

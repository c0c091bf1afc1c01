#!/bin/sh
# `vg plan --engine slurm` on a real Slurm: a single-node cluster on this
# machine (munged, slurmctld and slurmd started here, on their own key,
# socket, ports and state folder, and stopped at the end), the plan's
# jobs submitted by its slurm.sh as job arrays no longer than the
# cluster's MaxArraySize (3 here), and `vg merge` of its parts byte for
# byte the report of `vg run -j 1`. Submitting again after a part is lost
# runs only that run again. Needs root (slurmd runs jobs as their user)
# and Debian's slurm-wlm and munge (`make check-slurm` installs them).
# Usage: tests/slurm/run.sh path/to/vg
set -u
vg=$(cd "$(dirname "${1:-build/vg}")" && pwd)/$(basename "${1:-build/vg}")
cd "$(dirname "$0")/../sweep" || exit 2
. ../lib.sh
[ "$(id -u)" = 0 ] || skip_suite "not root: slurmd must run as root"
for d in munged slurmctld slurmd sbatch squeue; do
    command -v $d >/dev/null 2>&1 || skip_suite "$d not found: install slurm-wlm and munge"
done
tmp=$(mktemp -d)
chmod 755 "$tmp"
stop() {
    for f in "$tmp/slurmd.pid" "$tmp/slurmctld.pid"; do
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
    done
    [ -S "$tmp/munge/socket" ] && munged --stop --socket="$tmp/munge/socket" >/dev/null 2>&1
    sleep 1
    rm -rf "$tmp"
}
trap stop EXIT
export NO_COLOR=1 VG_PATH= SLURM_CONF="$tmp/slurm.conf"
pass=0; fail=0
check() {  # check WHAT COMMAND...
    what=$1; shift
    if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "slurm: FAIL: $what"; fi
}
give_up() {
    echo "slurm: FAIL: $1"
    for log in "$tmp"/*.log "$tmp/munge/log"; do [ -f "$log" ] && tail -n 20 "$log"; done
    echo "slurm: $pass passed, $((fail + 1)) failed"
    exit 1
}

# munge, with a key of its own (munged refuses a key others can read)
mkdir -m 700 "$tmp/munge"
dd if=/dev/urandom of="$tmp/munge/key" bs=1024 count=1 2>/dev/null
chmod 400 "$tmp/munge/key"
munged --force --key-file="$tmp/munge/key" --socket="$tmp/munge/socket" \
    --pid-file="$tmp/munge/pid" --log-file="$tmp/munge/log" --seed-file="$tmp/munge/seed" ||
    give_up "munged did not start"

# one node, this machine, with all its cores; no cgroups, no accounting
host=$(hostname -s)
cat >"$SLURM_CONF" <<EOF
ClusterName=vgcheck
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
AuthInfo=socket=$tmp/munge/socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=check Nodes=ALL Default=YES MaxTime=INFINITE State=UP
MaxArraySize=3
EOF
mkdir "$tmp/state" "$tmp/spool"
slurmctld -c -i || give_up "slurmctld did not start"
slurmd || give_up "slurmd did not start"
n=0
until sinfo -h -o %t 2>/dev/null | grep -q idle; do
    n=$((n + 1))
    [ $n -lt 60 ] || give_up "the node did not come up in 30 s"
    sleep 0.5
done

# submit SCRIPT: run the plan's submitting script and wait until every
# task of every array it submitted has left the queue
submit() {
    sh "$1" --parsable >"$tmp/jobids" || give_up "$1 failed"
    jobs=$(paste -s -d, "$tmp/jobids")
    n=0
    while [ -n "$(squeue -h -j "$jobs" 2>/dev/null)" ]; do
        n=$((n + 1))
        [ $n -lt 600 ] || give_up "jobs $jobs did not end in 5 minutes"
        sleep 0.5
    done
}

"$vg" run sweep.vg --seed-offset 7 --json "$tmp/ref.jsonl" --csv "$tmp/ref.csv" \
    --html "$tmp/ref.html" >"$tmp/ref.out" 2>"$tmp/ref.err"
echo $? >"$tmp/ref.code"
"$vg" plan sweep.vg --engine slurm -o "$tmp/plan" --seed-offset 7 >"$tmp/plan.out" 2>&1
check "plan: says how to submit" grep -qx "run them: sh $tmp/plan/slurm.sh" "$tmp/plan.out"
start=$(date +%s)
submit "$tmp/plan/slurm.sh"
echo "slurm: the array jobs took $(($(date +%s) - start)) s"
# MaxArraySize=3 above: 7 jobs are arrays of 3, 3 and 1 tasks
check "7 jobs, MaxArraySize 3: three arrays" test "$(wc -l <"$tmp/jobids")" = 3
check "every task wrote its part" test "$(ls "$tmp/plan"/*.part | wc -l)" = 7
"$vg" merge sweep.vg "$tmp/plan" --seed-offset 7 --json "$tmp/m.jsonl" --csv "$tmp/m.csv" \
    --html "$tmp/m.html" >"$tmp/m.out" 2>"$tmp/m.err"
echo $? >"$tmp/m.code"
for x in out err code jsonl csv html; do
    check "merged = vg run -j 1: $x" cmp -s "$tmp/ref.$x" "$tmp/m.$x"
done

# a lost part: submitting again trains that run only, and the merge is whole again
cp "$tmp/plan/lr.0.part" "$tmp/lr.0.before"
rm "$tmp/plan/lr.3.part"
submit "$tmp/plan/slurm.sh"
check "resubmitted: the lost part is back" test -f "$tmp/plan/lr.3.part"
check "resubmitted: a complete part was kept" cmp -s "$tmp/lr.0.before" "$tmp/plan/lr.0.part"
"$vg" merge sweep.vg "$tmp/plan" --seed-offset 7 >"$tmp/m2.out" 2>/dev/null
check "resubmitted: merged = vg run -j 1" cmp -s "$tmp/ref.out" "$tmp/m2.out"

echo "slurm: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

#!/bin/sh
# make fuzz: builds the libFuzzer harnesses (tests/fuzz/fuzz_*.c) with clang,
# ASan and UBSan into build/fuzz, seeds their corpora (seeds.sh) and runs
# each for SECONDS. The corpus each run grows is kept in
# build/fuzz/corpus/NAME for the next run; anything found is saved as
# build/fuzz/NAME-crash-* (or -leak-, -timeout-, -oom-) and fails the target.
# Installs clang and libFuzzer (libclang-rt-14-dev) when they are missing.
# Usage: tests/fuzz/run.sh [SECONDS] [NAME...]   (default 60 s, every harness)
# SECONDS = 0 replays the seeds and the kept corpus and makes no new input:
# deterministic, so CI runs it.
set -eu
seconds=${1:-60}
[ $# -gt 0 ] && shift
out=build/fuzz

missing=""
for p in clang libclang-rt-14-dev; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "fuzz: installing missing packages:$missing" >&2
    if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

names=${*:-}
if [ -z "$names" ]; then
    for f in tests/fuzz/fuzz_*.c; do
        n=${f#tests/fuzz/fuzz_}
        names="$names ${n%.c}"
    done
fi
bins=""
for n in $names; do bins="$bins $out/fuzz_$n"; done
# -Wno-pass-failed: sanitizer instrumentation can keep clang from
# vectorising a loop marked `omp simd`, which is no error here.
# shellcheck disable=SC2086
make --no-print-directory BUILD=$out CC=clang CFLAGS='-O1 -g -Wno-pass-failed' \
    SAN='-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer' \
    $out/vg $bins
sh tests/fuzz/seeds.sh "$out/seeds" "$out/vg"

budget=-max_total_time=$seconds
[ "$seconds" -eq 0 ] && budget=-runs=0

status=0
for n in $names; do
    mkdir -p "$out/corpus/$n"
    dict=""
    [ "$n" = frontend ] && dict=-dict=tests/fuzz/vg.dict
    if [ "$seconds" -eq 0 ]; then echo "fuzz: $n, its corpus replayed"
    else echo "fuzz: $n for $seconds s"; fi
    # -timeout: one input may take at most 10 s; -rss_limit_mb: 2 GiB.
    # shellcheck disable=SC2086
    if ! VG_PATH= "$out/fuzz_$n" "$out/corpus/$n" "$out/seeds/$n" $dict $budget \
            -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
            -print_final_stats=1 -artifact_prefix="$out/$n-" 2>"$out/$n.log"; then
        status=1
        grep -E '^(==|SUMMARY|artifact_prefix|Test unit written)' "$out/$n.log" | head -20 >&2
        echo "fuzz: $n FOUND A PROBLEM; the log is $out/$n.log" >&2
    fi
    grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' \
        "$out/$n.log" || true
    echo "fuzz: $n corpus: $(ls "$out/corpus/$n" | wc -l) inputs"
done
exit $status

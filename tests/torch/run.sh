#!/bin/sh
# `make check-torch`: vg's report metrics against PyTorch's on vg's own
# weights. For each model of tests/torch/*.vg, tests/torch/check.py writes
# the data set, trains the model with vg (`--save` the weights, `--json`
# the report), rebuilds the network in PyTorch from the saved weights and
# recomputes every per-layer metric of the final report on the same probe
# batch; see check.py for what is compared and the tolerances. Skipped
# (exit status 77) without a python3 that imports torch (`.ci/deps.sh
# torch` installs python3-torch).
# Usage: tests/torch/run.sh path/to/vg  (T=PATTERN: only those models)
set -u
vg=${1:-build/vg}
. "$(dirname "$0")/../lib.sh"
# Debian's python3 first: a python3 earlier on PATH may lack its packages.
py=""
for p in /usr/bin/python3 python3; do
    if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch' 2>/dev/null; then
        py=$p
        break
    fi
done
[ -n "$py" ] || skip_suite "no python3 imports torch: install python3-torch"
export NO_COLOR=1 VG_PATH=
exec "$py" "$(dirname "$0")/check.py" "$vg"

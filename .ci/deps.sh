#!/bin/sh
# Installs the Debian packages vg builds and tests with, if any is missing.
# Called by `make demo` and `make check`, with the argument `slurm` by
# `make check-slurm` (which needs Slurm and munge as well) and with `torch`
# by `make check-torch` (PyTorch); needs root (or sudo) only when something
# is actually missing.
set -eu
need="re2c bison libopenblas-dev libdnnl-dev libcmocka-dev libedit-dev pkg-config zlib1g-dev make gcc libxml2-utils dataset-fashion-mnist python3-jsonschema libjson-c-dev chromium scdoc mandoc man-db lintian dpkg-dev bash-completion zsh neovim emacs-nox elpa-eglot"
# the sweep tests run vg plan's jobs on GNU parallel
need="$need parallel"
[ "${1:-}" = slurm ] && need="$need slurm-wlm munge"
[ "${1:-}" = torch ] && need="$need python3-torch"
missing=""
for p in $need; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "vg: installing missing packages:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null

#!/bin/sh
# The layer check passes on the tree, and fails, naming each include, on a
# tree where elaboration includes the training layer's header and the
# formatter the report layer's.
here=$(dirname "$0")
sh "$here/check.sh" . || exit 1
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/docs" "$tmp/src" "$tmp/include/vg"
cp docs/architecture.md "$tmp/docs/"
printf '#include "vg/elab.h"\n#include "vg/train.h"\n' > "$tmp/src/elab.c"
printf '#include "vg/outfile.h"\n#include "vg/report.h"\n' > "$tmp/src/fmt.c"
printf '#include "vg/ir.h"\n' > "$tmp/include/vg/ops.h"
printf '#include "vg/ops.h"\n' > "$tmp/include/vg/ir.h"
out=$(sh "$here/check.sh" "$tmp") && { echo "layers: an upward include passed"; exit 1; }
want="$tmp/src/elab.c: includes vg/train.h (layer 13, train) from layer 10 (elab): upward
$tmp/src/fmt.c: includes vg/report.h (layer 16, report) from layer 5 (fmt): upward"
[ "$out" = "$want" ] || { printf 'layers: expected\n%s\ngot\n%s\n' "$want" "$out"; exit 1; }

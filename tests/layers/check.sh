#!/bin/sh
# Fails on an include that runs upward: the layer table of
# docs/architecture.md says which module may include which (a module's
# files: include/vg/NAME.h, src/NAME.c, src/NAME_*.c, src/NAME/*.c).
# Usage: tests/layers/check.sh [ROOT]   (ROOT: the source tree, default .)
root=${1:-.}
doc=$root/docs/architecture.md
[ -f "$doc" ] || { echo "layers: no $doc" >&2; exit 2; }
for f in "$root"/include/vg/*.h "$root"/src/*.c "$root"/src/*/*.c; do
    [ -f "$f" ] && grep -H '^[[:space:]]*#[[:space:]]*include[[:space:]]*"vg/' "$f"
done | awk -v doc="$doc" -v root="$root/" '
    # the table: "| N | a, b |" (independent) or "| N | a ↔ b |" (tied)
    BEGIN {
        while ((getline line < doc) > 0) {
            if (line ~ /^## Layers/) { in_layers = 1; continue }
            if (in_layers && line ~ /^## /) break
            if (!in_layers || line !~ /^\| [0-9]+ \|/) continue
            n = split(line, cell, "|")
            lv = cell[2] + 0
            tie = index(cell[3], "↔") > 0
            gsub(/↔/, ",", cell[3])
            m = split(cell[3], mods, ",")
            for (i = 1; i <= m; i++) {
                gsub(/[ `]/, "", mods[i])
                layer[mods[i]] = lv
                tied[mods[i]] = tie
            }
        }
        if (length(layer) == 0) { print "layers: no layer table in " doc; bad = 1; exit }
    }
    function module(path,   base) {
        sub("^" root, "", path)
        if (path ~ /^src\/[a-z0-9_]+\//) { split(path, part, "/"); return part[2] }
        base = path
        sub(/^.*\//, "", base)
        sub(/\.[a-z]+$/, "", base)
        if (base in layer) return base
        sub(/_.*$/, "", base)
        return base
    }
    {
        # grep -H: FILE:#include "vg/NAME.h"
        file = substr($0, 1, index($0, ":") - 1)
        target = $0
        sub(/^[^"]*"vg\//, "", target)
        sub(/".*$/, "", target)
        if (target ~ /\.def$/)   # X-macro lists belong to the header that includes them
            next
        from = module(file); to = module(target)
        if (!(from in layer)) {
            if (!(file in told))
                printf "%s: module %s is in no layer: add it to the table of %s\n", file, from, doc
            told[file] = bad = 1
            next
        }
        if (!(to in layer)) {
            printf "%s: includes vg/%s, whose module %s is in no layer\n", file, target, to
            bad = 1
            next
        }
        if (from == to || layer[to] < layer[from] || (layer[to] == layer[from] && tied[from]))
            next
        printf "%s: includes vg/%s (layer %d, %s) from layer %d (%s)%s\n", file, target,
               layer[to], to, layer[from], from, layer[to] == layer[from] ? ": its row ties no modules" : ": upward"
        bad = 1
    }
    END { exit bad }
'

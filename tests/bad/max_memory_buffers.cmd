check --max-memory 12K tests/bad/lib/small.vg

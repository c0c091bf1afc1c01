run --max-memory 2K tests/bad/lib/small.vg

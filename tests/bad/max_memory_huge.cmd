run --max-memory 1e400G tests/bad/lib/small.vg

run --max-memory lots tests/bad/lib/small.vg

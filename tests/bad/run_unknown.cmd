run --quiet --run nosuch tests/bad/lib/small.vg

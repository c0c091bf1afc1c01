run --quiet --set step=10 tests/bad/lib/family.vg

run --quiet --seed-offset -1 tests/bad/lib/family.vg

run --quiet --run r[1] tests/bad/lib/family.vg

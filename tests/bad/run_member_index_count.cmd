run --quiet --run f[4] tests/bad/lib/family.vg

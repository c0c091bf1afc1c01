run --quiet --run f[9,1] tests/bad/lib/family.vg

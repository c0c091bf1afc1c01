run --quiet --run seeds --seed-offset 1000 tests/golden/family_expect.vg

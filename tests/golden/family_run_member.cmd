run --quiet --run grid[8,relu] tests/golden/family_expect.vg

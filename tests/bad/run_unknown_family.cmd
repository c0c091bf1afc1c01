run --quiet --run fam tests/bad/lib/family.vg

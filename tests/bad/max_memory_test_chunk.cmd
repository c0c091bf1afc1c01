check --max-memory 12K --set probe=8 --set test=0.5 tests/bad/lib/small.vg

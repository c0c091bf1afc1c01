check --set schedule=step(10,-1) tests/bad/lib/small.vg

run tests/golden/report_small.vg --json

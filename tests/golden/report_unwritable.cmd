run tests/golden/report_small.vg --html /nonexistent-vg-dir/r.html

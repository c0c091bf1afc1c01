check --json out.jsonl tests/golden/check_ok.vg

run tests/golden/no_such_file.vg

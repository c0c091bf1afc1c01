# Helpers the suites share (sourced: `. "$(dirname "$0")/../lib.sh"`).
# The conventions of a suite are in tests/README.md.

# bless GOLDEN NEW: under BLESS=1, GOLDEN takes NEW's bytes; says so when
# that changes it, as "bless: created|updated GOLDEN" (tests/run.sh counts
# these lines).
bless() {
    if [ -f "$1" ] && cmp -s "$1" "$2"; then return 0; fi
    if [ -f "$1" ]; then what=updated; else what=created; fi
    cp "$2" "$1" && echo "bless: $what $1"
}

# unbless GOLDEN: removes a golden whose absence is the expectation (an
# empty output, exit status 0), saying so if there was one.
unbless() {
    [ -f "$1" ] || return 0
    rm -f "$1" && echo "bless: removed $1"
}

# selected CASE: whether the case named CASE (a file name without folder or
# extension) is to run: T, when set, is a shell pattern for the names.
selected() {
    [ -z "${T:-}" ] && return 0
    # shellcheck disable=SC2254
    case $1 in $T) return 0 ;; esac
    return 1
}

# skip_suite REASON: the whole suite cannot run here (exit status 77, as
# Automake's test drivers have it); tests/run.sh reports it as skipped.
skip_suite() {
    echo "$1"
    exit 77
}

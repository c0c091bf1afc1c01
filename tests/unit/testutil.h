/* testutil.h — what every cmocka test file includes first.
 * cmocka needs stdarg, stddef, setjmp and stdint before its header. */
#ifndef VG_TESTUTIL_H
#define VG_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>

/* T, when set, is a shell pattern for the names of the tests to run
 * (`make check T=test_note_at`, tests/README.md); cmocka matches it with
 * '*' and '?'. Set before main, so that no test file has to ask. */
__attribute__((constructor)) static void test_filter_from_env(void)
{
    const char *pattern = getenv("T");
    if (pattern && *pattern)
        cmocka_set_test_filter(pattern);
}

#endif

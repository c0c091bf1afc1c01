/* testutil.h — what every cmocka test file includes first.
 * cmocka needs stdarg, stddef, setjmp and stdint before its header. */
#ifndef VG_TESTUTIL_H
#define VG_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#endif

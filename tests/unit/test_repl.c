/* test_repl.c — what the transcript tests of tests/repl/ cannot hold: a
 * session that defines more runs than fit in a transcript worth reading. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include "vg/repl.h"

/* Each definition of a run, even one that replaces another of its name,
 * keeps its place in the session (values refer to runs by index); a
 * session once held at most 1024. 1,100 definitions of r, then r trains
 * and is read as the last one defined. */
static void test_many_run_definitions(void **state)
{
    (void)state;
    enum { DEFS = 1100 };
    FILE *in = tmpfile(), *out = tmpfile(), *err = tmpfile();
    assert_non_null(in);
    assert_non_null(out);
    assert_non_null(err);
    fputs("model tiny() { input x[2]  layer out { y = dense(x, 2) }  return y }\n", in);
    for (int i = 1; i <= DEFS; i++)
        fprintf(in, "train r = tiny() { data = xor(points = 8) loss = cross_entropy "
                    "optimizer = sgd(lr = 0.1) batch = 8 steps = %d seed = 1 }\n", i);
    fputs(":run r\nr.final.step\n", in);
    rewind(in);
    ReplOptions o = {0};
    assert_int_equal(repl_session(in, out, err, &o), 0);
    rewind(err);
    assert_int_equal(fgetc(err), EOF);  /* no diagnostic */
    rewind(out);
    char line[512], last[512] = "";
    int defined = 0;
    while (fgets(line, sizeof line, out)) {
        defined += strncmp(line, "run r: tiny(), ", 15) == 0;
        strcpy(last, line);
    }
    assert_int_equal(defined, DEFS);
    assert_string_equal(last, "1100\n");
    fclose(in);
    fclose(out);
    fclose(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_run_definitions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

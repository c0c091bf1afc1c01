/* test_arena.c — bump allocation, string building, and growable arrays,
 * on both sides of the size from which blocks are made of huge pages. */
#define _DEFAULT_SOURCE  /* mincore */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "vg/arena.h"

enum { BIG = 3 << 20 };  /* past the huge-page threshold and one huge page */

static void test_alloc_is_zeroed_and_aligned(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a);
    size_t sizes[] = {1, 24, 4000, 100000, BIG, 7};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        unsigned char *p = arena_alloc(&a, sizes[i]);
        assert_int_equal((uintptr_t)p % _Alignof(max_align_t), 0);
        for (size_t k = 0; k < sizes[i]; k++)
            assert_int_equal(p[k], 0);
        memset(p, 0xab, sizes[i]);  /* valgrind and ASan see any overlap */
    }
    /* Enough small pieces to fill chunks of every size up to huge ones. */
    for (int i = 0; i < 200000; i++)
        memset(arena_alloc(&a, 40), 0xcd, 40);
    arena_free(&a);
    assert_null(a.head);
    assert_int_equal(a.used, 0);
}

static void test_concat_and_printf(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a);
    assert_string_equal(arena_concat(&a, "fc[1]", ".", "W", (char *)NULL), "fc[1].W");
    assert_string_equal(arena_concat(&a, "", (char *)NULL), "");
    assert_string_equal(arena_printf(&a, "%s%d.%s", "dense", 4, "b"), "dense4.b");
    /* Longer than arena_printf's stack buffer: the second pass. */
    char *long_text = malloc(1001);
    memset(long_text, 'x', 1000);
    long_text[1000] = '\0';
    char *p = arena_printf(&a, "<%s>", long_text);
    assert_int_equal(strlen(p), 1002);
    assert_int_equal(p[0], '<');
    assert_int_equal(p[1001], '>');
    assert_string_equal(arena_concat(&a, long_text, long_text, (char *)NULL) + 1000, long_text);
    free(long_text);
    arena_free(&a);
}

/* Growing past the huge-page size keeps the contents, and the block stays
 * one that free and xrealloc accept. */
static void test_vec_grows_across_huge_pages(void **state)
{
    (void)state;
    int *v = NULL, n = 0, cap = 0;
    for (int i = 0; i < BIG / (int)sizeof(int); i++)
        VEC_PUSH(v, n, cap, i * 7);
    for (int i = 0; i < n; i++)
        assert_int_equal(v[i], i * 7);
    v = xrealloc(v, 16 * sizeof *v);
    assert_int_equal(v[15], 15 * 7);
    free(v);
}

/* Pages of p's [0, bytes) in memory. */
static size_t resident(const void *p, size_t bytes)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), n = (bytes + page - 1) / page, count = 0;
    unsigned char *in = malloc(n);
    assert_int_equal(mincore((void *)p, n * page, in), 0);
    for (size_t i = 0; i < n; i++)
        count += in[i] & 1;
    free(in);
    return count;
}

/* Blocks are zeroed and aligned, small ones to 64 bytes and big ones to
 * 2 MiB; block_clear zeroes them again, and a big block's pages take
 * memory only once touched, and not after block_clear. */
static void test_blocks(void **state)
{
    (void)state;
    size_t sizes[] = {0, 100, 4096 * 3 + 5, BIG};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        size_t n = sizes[i];
        unsigned char *p = block_alloc(n);
        assert_int_equal((uintptr_t)p % (n >= BIG ? 2 << 20 : 64), 0);
        if (n == BIG)
            assert_int_equal(resident(p, n), 0);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(p[k], 0);
        memset(p, 0xab, n);
        if (n == BIG)
            assert_true(resident(p, n) * (size_t)sysconf(_SC_PAGESIZE) >= n);
        block_clear(p, n);
        if (n == BIG)
            assert_int_equal(resident(p, n), 0);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(p[k], 0);
        block_free(p, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_is_zeroed_and_aligned),
        cmocka_unit_test(test_concat_and_printf),
        cmocka_unit_test(test_vec_grows_across_huge_pages),
        cmocka_unit_test(test_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

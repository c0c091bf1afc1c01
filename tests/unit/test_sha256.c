/* test_sha256.c — SHA-256 against the examples of FIPS 180-4 (NIST's
 * "Example Algorithm" sheets for SHA-256: one block, two blocks, a million
 * 'a's) and against padding boundaries, by feeding in uneven pieces. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#include "vg/sha256.h"

static void test_one_block(void **state)
{
    (void)state;
    char hex[65];
    assert_string_equal(sha256_hex("abc", 3, hex),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_string_equal(sha256_hex("", 0, hex),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_two_blocks(void **state)
{
    (void)state;
    /* 56 bytes: the length no longer fits the first block's padding */
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    char hex[65];
    assert_string_equal(sha256_hex(m, strlen(m), hex),
                        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_million_a_in_pieces(void **state)
{
    (void)state;
    char chunk[997];
    memset(chunk, 'a', sizeof chunk);
    Sha256 s;
    sha256_init(&s);
    size_t left = 1000000;
    while (left > 0) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        sha256_update(&s, chunk, n);
        left -= n;
    }
    uint8_t d[32];
    sha256_final(&s, d);
    static const uint8_t want[32] = {
        0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7, 0xe2, 0x84, 0xd7, 0x3e, 0x67,
        0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97, 0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0,
    };
    assert_memory_equal(d, want, 32);
}

/* Messages of 55, 56, 63 and 64 bytes straddle the padding cases; hashing
 * them whole and byte by byte must agree. */
static void test_pieces_match_whole(void **state)
{
    (void)state;
    static const size_t lens[] = {55, 56, 63, 64, 65, 119, 120};
    char msg[128];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (char)('A' + i % 26);
    for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
        char whole[65], piecewise[65];
        sha256_hex(msg, lens[k], whole);
        Sha256 s;
        uint8_t d[32];
        sha256_init(&s);
        for (size_t i = 0; i < lens[k]; i++)
            sha256_update(&s, msg + i, 1);
        sha256_final(&s, d);
        for (int i = 0; i < 32; i++)
            snprintf(piecewise + 2 * i, 3, "%02x", d[i]);
        assert_string_equal(piecewise, whole);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_block),
        cmocka_unit_test(test_two_blocks),
        cmocka_unit_test(test_million_a_in_pieces),
        cmocka_unit_test(test_pieces_match_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

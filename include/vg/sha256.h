/* sha256.h — SHA-256 (FIPS 180-4), for the digest of the program file that
 * every JSON report header carries: a report says exactly which text it
 * measured. Streaming, so a caller can hash text in pieces. */
#ifndef VG_SHA256_H
#define VG_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct Sha256 {
    uint32_t h[8];
    uint64_t bytes;          /* message length so far */
    unsigned char buf[64];   /* the unfinished block */
} Sha256;

void sha256_init(Sha256 *s);
void sha256_update(Sha256 *s, const void *data, size_t n);
void sha256_final(Sha256 *s, uint8_t digest[32]);
/* sha256_final as 64 lower-case hex digits and a NUL; returns hex. */
char *sha256_final_hex(Sha256 *s, char hex[65]);
/* The digest of data as 64 lower-case hex digits and a NUL; returns hex. */
char *sha256_hex(const void *data, size_t n, char hex[65]);

#endif

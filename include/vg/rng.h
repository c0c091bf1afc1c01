/* rng.h — the one random generator vg uses.
 *
 * xoshiro256** (Blackman & Vigna 2018), seeded through splitmix64, so a
 * seed gives the same stream on every platform. Normals come from the
 * Box–Muller transform in double precision, one pair per two draws (the
 * second is cached). Nothing in vg calls rand(). */
#ifndef VG_RNG_H
#define VG_RNG_H

#include <stdint.h>
#include <stdbool.h>

typedef struct Rng {
    uint64_t s[4];
    bool has_spare;
    double spare;
} Rng;

void rng_seed(Rng *r, uint64_t seed);
/* An independent stream for a named purpose (data, init, probe, dropout),
 * so adding draws to one never shifts another. */
void rng_derive(Rng *out, uint64_t seed, uint64_t stream);
uint64_t rng_next(Rng *r);
double rng_uniform(Rng *r);                 /* [0, 1), 53 bits */
double rng_range(Rng *r, double lo, double hi);
double rng_normal(Rng *r);                  /* N(0, 1) */
uint64_t rng_below(Rng *r, uint64_t n);     /* [0, n), unbiased */
void rng_shuffle(Rng *r, int *a, int n);    /* Fisher–Yates */

/* Stream numbers for rng_derive. */
enum { RNG_DATA = 1, RNG_INIT, RNG_PROBE, RNG_BATCH, RNG_DROPOUT, RNG_SPLIT, RNG_PRETRAIN };

#endif

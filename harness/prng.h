/* prng.h: darkfold's own small deterministic generator, xoshiro256**
 * seeded through splitmix64, for the synthetic images and the training
 * order and augmentation (GSL's generators serve the statistics, rand()
 * belongs to Darknet). Same seed, same stream, on every platform. */
#ifndef DARKFOLD_PRNG_H
#define DARKFOLD_PRNG_H

#include <stdint.h>

struct prng {
	uint64_t s[4];
};

/* splitmix64: advances *x and returns the next output. */
uint64_t prng_splitmix64(uint64_t *x);
/* Seed the four words of state from splitmix64(seed). */
void prng_seed(struct prng *r, uint64_t seed);
uint64_t prng_next(struct prng *r);
/* Uniform in [0, 1), 53 bits. */
double prng_uniform(struct prng *r);
/* Uniform in [0, n) without modulo bias; n > 0. */
uint64_t prng_below(struct prng *r, uint64_t n);

#endif

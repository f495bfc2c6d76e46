/* include/tessera/rng.h: counter-based random numbers (Philox4x32-10).
 * A value is a pure function of (seed, stream, counter): key it by the global
 * index of what it fills and the result is the same at any rank count and in
 * any order of evaluation. Streams separate uses (noise, weights, points). */
#ifndef TESSERA_RNG_H
#define TESSERA_RNG_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stdint.h>

/* Four 32-bit words of Philox4x32-10 for key (seed) and counter (stream, index). */
void tess_rng_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4]);
/* Uniform double in [0,1) with 53 random bits. */
double tess_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index);
/* Standard normal (Box-Muller on the same counter; deterministic, no state). */
double tess_rng_normal(uint64_t seed, uint64_t stream, uint64_t index);
uint64_t tess_rng_u64(uint64_t seed, uint64_t stream, uint64_t index);
TESS_API_END
#endif

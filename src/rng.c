/* src/rng.c: Philox4x32-10 (Salmon et al., SC'11), counter-based.
 * Stateless on purpose: a value depends only on (seed, stream, index), so
 * fills keyed by global index are identical at any rank count. */
#include <tessera/rng.h>

#include <math.h>

void tess_rng_philox(uint64_t seed, uint64_t stream, uint64_t index, uint32_t out[4])
{
  uint32_t c0 = (uint32_t)index, c1 = (uint32_t)(index >> 32);
  uint32_t c2 = (uint32_t)stream, c3 = (uint32_t)(stream >> 32);
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int r = 0; r < 10; r++) {
    uint64_t p0 = (uint64_t)0xD2511F53u * c0, p1 = (uint64_t)0xCD9E8D57u * c2;
    uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n1 = (uint32_t)p1;
    uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1, n3 = (uint32_t)p0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

uint64_t tess_rng_u64(uint64_t seed, uint64_t stream, uint64_t index)
{
  uint32_t w[4];
  tess_rng_philox(seed, stream, index, w);
  return ((uint64_t)w[0] << 32) | w[1];
}

double tess_rng_uniform(uint64_t seed, uint64_t stream, uint64_t index)
{
  return (double)(tess_rng_u64(seed, stream, index) >> 11) * 0x1.0p-53;
}

double tess_rng_normal(uint64_t seed, uint64_t stream, uint64_t index)
{
  uint32_t w[4];
  tess_rng_philox(seed, stream, index, w);
  uint64_t a = ((uint64_t)w[0] << 32) | w[1], b = ((uint64_t)w[2] << 32) | w[3];
  double u1 = ((double)(a >> 11) + 0.5) * 0x1.0p-53;   /* (0,1): log is finite */
  double u2 = (double)(b >> 11) * 0x1.0p-53;
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

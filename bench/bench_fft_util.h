/* bench/bench_fft_util.h: what the FFT benchmarks share (bench_fft.c,
 * bench_pycall.c): the anchor's data (the same values at every rank count)
 * and a comparison for qsort of times. */
#ifndef TESSERA_BENCH_FFT_UTIL_H
#define TESSERA_BENCH_FFT_UTIL_H
#include <tessera/tessera.h>

static inline int bench_cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* c128 element at global (g0, g1, g2): uniform [0, 1) real part, as the
 * FFTW-MPI anchor's input. */
static inline void bench_fill_c128(const int64_t g[], int nd, void *v, void *ctx)
{
  (void)nd; (void)ctx;
  double *z = v;
  z[0] = tess_rng_uniform(1, 0, (uint64_t)(g[0] * 1000003 + g[1] * 1009 + g[2]));
  z[1] = 0;
}
#endif

/* bench/bench_fft_util.h: what the FFT benchmarks share (bench_fft.c,
 * bench_pycall.c): the anchor's data (the same values at every rank count)
 * and the timed loop of a forward + backward transform. */
#ifndef TESSERA_BENCH_FFT_UTIL_H
#define TESSERA_BENCH_FFT_UTIL_H
#include <stdlib.h>
#include <tessera/tessera.h>
#include "bench_util.h"

/* c128 element at global (g0, g1, g2): uniform [0, 1) real part, as the
 * FFTW-MPI anchor's input. */
static inline void bench_fill_c128(const int64_t g[], int nd, void *v, void *ctx)
{
  (void)nd; (void)ctx;
  double *z = v;
  z[0] = tess_rng_uniform(1, 0, (uint64_t)(g[0] * 1000003 + g[1] * 1009 + g[2]));
  z[1] = 0;
}
/* reps times forward (x -> X) + backward (X -> y), each the max over the
 * ranks of MPI_COMM_WORLD after a barrier (the anchor's timing); t[] sorted. */
static inline tess_err_t bench_fwd_bwd(const tess_fft_plan_t *pf, const tess_fft_plan_t *pb,
                                       const tess_array_t *x, tess_array_t *X, tess_array_t *y,
                                       int reps, double *t)
{
  tess_err_t err = TESS_OK;
  for (int k = 0; k < reps; k++) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    TESS_CHECK(tess_fft_execute(pf, x, X));
    TESS_CHECK(tess_fft_execute(pb, X, y));
    double dt = MPI_Wtime() - t0;
    MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    t[k] = dt;
  }
  qsort(t, (size_t)reps, sizeof *t, bench_cmp_double);
cleanup:
  return err;
}
#endif

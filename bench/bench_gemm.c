/* bench/bench_gemm.c: the three products of tessera/gemm.h (a PINN layer's
 * forward nt_acc, weight-gradient tn and input-adjoint nn_acc) on every
 * GEMM backend this build and CPU run, interleaved round by round so each
 * backend sees the same machine state; prints GFLOP/s of the best call.
 * Usage: bench_gemm M N K [reps] [f64|f32]   (the PINN's shapes: M = points
 * per chunk x jet components, N = K = 256; tn is N x K over M rows) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/tessera.h>

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  size_t m = argc > 1 ? (size_t)atol(argv[1]) : 256, n = argc > 2 ? (size_t)atol(argv[2]) : 256;
  size_t k = argc > 3 ? (size_t)atol(argv[3]) : 256;
  int reps = argc > 4 ? atoi(argv[4]) : 20, f32 = argc > 5 && strcmp(argv[5], "f32") == 0;
  const char *be[] = { "openblas", "tessera-avx512", "tessera-avx2" };
  enum { NB = 3 };
  double best[NB][3];
  size_t es = f32 ? sizeof(float) : sizeof(double);
  size_t len = (m > n ? m : n) * (k > n ? k : n);
  char *A = calloc(len, es), *B = calloc(len, es), *C = calloc(len, es);
  if (!A || !B || !C) return 1;
  for (size_t i = 0; i < len; i++) {
    double a = (double)(i % 97) / 97 - 0.5, b = (double)(i % 89) / 89 - 0.5;
    if (f32) { ((float *)A)[i] = (float)a; ((float *)B)[i] = (float)b; }
    else { ((double *)A)[i] = a; ((double *)B)[i] = b; }
  }
  tess_gemm_single_thread();
  for (int b = 0; b < NB; b++) best[b][0] = best[b][1] = best[b][2] = 1e30;
  for (int r = 0; r < reps; r++)
    for (int b = 0; b < NB; b++) {
      if (tess_gemm_select(be[b]) != TESS_OK) { tess_error_clear(); continue; }
      for (int f = 0; f < 3; f++) {
        /* zero the output now and then: accumulating products keep finite values */
        if (r % 4 == 0) memset(C, 0, len * es);
        double t = tess_wtime();
        if (f32) {
          if (f == 0) tess_gemm_nt_acc_f32(m, n, k, (float *)A, (float *)B, (float *)C);
          if (f == 1) tess_gemm_tn_f32(n, k, m, (float *)A, (float *)B, (float *)C);
          if (f == 2) tess_gemm_nn_acc_f32(m, k, n, (float *)A, (float *)B, (float *)C);
        } else {
          if (f == 0) tess_gemm_nt_acc_f64(m, n, k, (double *)A, (double *)B, (double *)C);
          if (f == 1) tess_gemm_tn_f64(n, k, m, (double *)A, (double *)B, (double *)C);
          if (f == 2) tess_gemm_nn_acc_f64(m, k, n, (double *)A, (double *)B, (double *)C);
        }
        t = tess_wtime() - t;
        if (t < best[b][f]) best[b][f] = t;
      }
    }
  double flops = 2.0 * (double)m * (double)n * (double)k;
  for (int b = 0; b < NB; b++) {
    if (best[b][0] >= 1e30) continue;
    printf("gemm %s %s M=%zu N=%zu K=%zu: nt %.1f  tn %.1f  nn %.1f GFLOP/s\n", f32 ? "f32" : "f64",
           be[b], m, n, k, flops / best[b][0] * 1e-9, flops / best[b][1] * 1e-9,
           flops / best[b][2] * 1e-9);
  }
  free(A); free(B); free(C);
  MPI_Finalize();
  return 0;
}

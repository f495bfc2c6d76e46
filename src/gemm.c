/* src/gemm.c: the dense products of include/tessera/gemm.h (the MLP layers
 * of pde/ and of an ML layer), on a batch. OpenBLAS when the build has it,
 * forced to one thread per rank: with one thread its blocking depends only
 * on the shapes, so a chunk gives the same bits on whichever rank it runs
 * (parallelism comes from the ranks). The fallback is a plain loop nest,
 * deterministic as well. */
#include <tessera/config.h>
#include <tessera/gemm.h>

#if TESSERA_HAVE_OPENBLAS
#include <cblas.h>
#endif

void tess_gemm_single_thread(void)
{
#if TESSERA_HAVE_OPENBLAS
  static int done;
  if (!done) { openblas_set_num_threads(1); done = 1; }
#endif
}

#define TESS_GEMM(T, S, GEMM)                                                        \
void tess_gemm_nt_acc_##S(size_t m, size_t n, size_t k, const T *A, const T *B, T *C) \
{                                                                                    \
  if (USE_BLAS) { GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, \
                       1, A, (int)k, B, (int)k, 1, C, (int)n); return; }             \
  for (size_t i = 0; i < m; i++)                                                     \
    for (size_t j = 0; j < n; j++) {                                                 \
      T acc = 0;                                                                     \
      for (size_t p = 0; p < k; p++) acc += A[i * k + p] * B[j * k + p];            \
      C[i * n + j] += acc;                                                           \
    }                                                                                \
}                                                                                    \
void tess_gemm_tn_##S(size_t m, size_t n, size_t k, const T *A, const T *B, T *C)    \
{                                                                                    \
  if (USE_BLAS) { GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)n, (int)k, \
                       1, A, (int)m, B, (int)n, 0, C, (int)n); return; }             \
  for (size_t i = 0; i < m * n; i++) C[i] = 0;                                       \
  for (size_t p = 0; p < k; p++)                                                     \
    for (size_t i = 0; i < m; i++) {                                                 \
      T a = A[p * m + i];                                                            \
      for (size_t j = 0; j < n; j++) C[i * n + j] += a * B[p * n + j];               \
    }                                                                                \
}                                                                                    \
void tess_gemm_nn_acc_##S(size_t m, size_t n, size_t k, const T *A, const T *B, T *C) \
{                                                                                    \
  if (USE_BLAS) { GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, \
                       1, A, (int)k, B, (int)n, 1, C, (int)n); return; }             \
  for (size_t i = 0; i < m; i++) {                                                   \
    for (size_t p = 0; p < k; p++) {                                                 \
      T a = A[i * k + p];                                                            \
      for (size_t j = 0; j < n; j++) C[i * n + j] += a * B[p * n + j];               \
    }                                                                                \
  }                                                                                  \
}

#if TESSERA_HAVE_OPENBLAS
#define USE_BLAS 1
#else
#define USE_BLAS 0
#define CblasRowMajor 0
#define CblasNoTrans 0
#define CblasTrans 0
#define cblas_dgemm(...) ((void)0)
#define cblas_sgemm(...) ((void)0)
#endif
TESS_GEMM(double, f64, cblas_dgemm)
TESS_GEMM(float, f32, cblas_sgemm)

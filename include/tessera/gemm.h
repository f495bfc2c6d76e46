/* include/tessera/gemm.h: the row-major dense products of an MLP layer on a
 * batch (the PINN's jets; an ML layer's forward and backward passes).
 * OpenBLAS when the build has it, run with one thread per process: with one
 * thread its blocking depends only on the shapes, so the same shapes give
 * the same bits on whichever rank the product runs (parallelism comes from
 * the ranks). Without OpenBLAS a plain loop nest, deterministic as well.
 * Host memory; the products cannot fail, so they return nothing.
 *   nt_acc: C[m x n] += A[m x k] B[n x k]^T  (C may hold a bias: no zeroing)
 *   tn:     C[m x n]  = A[k x m]^T B[k x n]
 *   nn_acc: C[m x n] += A[m x k] B[k x n] */
#ifndef TESSERA_GEMM_H
#define TESSERA_GEMM_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stddef.h>

void tess_gemm_nt_acc_f64(size_t m, size_t n, size_t k, const double *A, const double *B, double *C);
void tess_gemm_tn_f64(size_t m, size_t n, size_t k, const double *A, const double *B, double *C);
void tess_gemm_nn_acc_f64(size_t m, size_t n, size_t k, const double *A, const double *B, double *C);
void tess_gemm_nt_acc_f32(size_t m, size_t n, size_t k, const float *A, const float *B, float *C);
void tess_gemm_tn_f32(size_t m, size_t n, size_t k, const float *A, const float *B, float *C);
void tess_gemm_nn_acc_f32(size_t m, size_t n, size_t k, const float *A, const float *B, float *C);

/* Pin the BLAS to one thread (the determinism above); idempotent. Call it
 * before the first product; the products do not call it themselves, so a
 * program that wants a threaded BLAS for other work keeps the choice. */
void tess_gemm_single_thread(void);
TESS_API_END
#endif

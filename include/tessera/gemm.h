/* include/tessera/gemm.h: the row-major dense products of an MLP layer on a
 * batch (the PINN's jets; an ML layer's forward and backward passes).
 * Two backends, both single-threaded per process so the same shapes give
 * the same bits on whichever rank the product runs (parallelism comes from
 * the ranks): "openblas" (where built; the default there unless it runs
 * kernels older than the CPU, e.g. SSE ones on an AVX-512 machine: one
 * thread, its blocking depends only on the shapes; its bits depend on the
 * kernel it picks for the CPU) and "tessera" (src/gemm_packed.c: packed AVX-512 /
 * AVX2 / scalar kernels; every element one fma chain in p order, so the
 * same bits on every x86-64; the default without OpenBLAS).
 * Host memory; the products cannot fail, so they return nothing.
 *   nt_acc: C[m x n] += A[m x k] B[n x k]^T  (C may hold a bias: no zeroing)
 *   tn:     C[m x n]  = A[k x m]^T B[k x n]
 *   nn_acc: C[m x n] += A[m x k] B[k x n] */
#ifndef TESSERA_GEMM_H
#define TESSERA_GEMM_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stddef.h>
#include <tessera/error.h>

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

/* Choose the backend: "auto" (the default above), "openblas", "tessera"
 * (the best kernel this CPU runs), "tessera-avx512", "tessera-avx2",
 * "tessera-generic" (all three the same bits). Without a call the env
 * TESS_GEMM chooses (an invalid value is ignored with a warning), else
 * "auto". Not collective, but every rank of a run must choose the same:
 * OpenBLAS's bits differ from Tessera's. TESS_ERR_ARG for an unknown name,
 * TESS_ERR_UNSUPPORTED for one this build or CPU cannot run. */
tess_err_t tess_gemm_select(const char *name);
/* The backend in use ("openblas" or a "tessera-*" name); chooses if needed. */
const char *tess_gemm_name(void);
TESS_API_END
#endif

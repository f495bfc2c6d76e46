/* tests/core/test_gemm.c: the GEMM backends of tessera/gemm.h.
 *  - every "tessera-*" kernel this CPU runs gives, bitwise, the fma chain
 *    written here (C(i,j) then fma(a_p, b_p, .) for p = 0..k-1; +0 start for
 *    tn), for the three products in f64 and f32, on shapes that leave edge
 *    tiles and cross the kernels' blocks (k > 256, m > 96, n > 512), so the
 *    bits cannot depend on the vector width or the blocking;
 *  - "openblas" (where built) agrees with a long-double loop to rounding;
 *  - selection: unknown names are TESS_ERR_ARG, tess_gemm_name reports the
 *    choice. Each rank runs the same (a product has no communication). */
#include <tessera/tessera.h>
#include <math.h>
#include <string.h>
#include "tess_test.h"

/* Values with full mantissas of both signs, so any reordering or unfused
 * step shows in the last bits. */
static double val(size_t i, int s)
{
  uint64_t z = (uint64_t)(i * 7 + (size_t)s + 1) * 0x9e3779b97f4a7c15ull;
  z ^= z >> 31;
  z *= 0xbf58476d1ce4e5b9ull;
  z ^= z >> 29;
  return (double)(z >> 11) / 9007199254740992.0 - 0.5;
}

enum { NT, TN, NN };

/* A(i,p), B(p,j) of each form in its storage; C row-major m x n. */
#define CHAIN(T, S, FMA)                                                            \
static void chain_##S(int form, size_t m, size_t n, size_t k, const T *A, const T *B, T *C) \
{                                                                                   \
  for (size_t i = 0; i < m; i++)                                                    \
    for (size_t j = 0; j < n; j++) {                                                \
      T acc = form == TN ? 0 : C[i * n + j];                                        \
      for (size_t p = 0; p < k; p++) {                                              \
        T a = form == TN ? A[p * m + i] : A[i * k + p];                             \
        T b = form == NT ? B[j * k + p] : B[p * n + j];                             \
        acc = FMA(a, b, acc);                                                       \
      }                                                                             \
      C[i * n + j] = acc;                                                           \
    }                                                                               \
}                                                                                   \
static void run_##S(int form, size_t m, size_t n, size_t k, const T *A, const T *B, T *C) \
{                                                                                   \
  if (form == NT) tess_gemm_nt_acc_##S(m, n, k, A, B, C);                           \
  else if (form == TN) tess_gemm_tn_##S(m, n, k, A, B, C);                          \
  else tess_gemm_nn_acc_##S(m, n, k, A, B, C);                                      \
}                                                                                   \
/* 1 if bitwise equal to the chain (exact), else the check is against a long  \
 * double loop with tolerance tol relative to sum |a b| + |c|. */               \
static int check_##S(const char *be, int form, size_t m, size_t n, size_t k, int exact, double tol) \
{                                                                                   \
  size_t na = m * k, nb = n * k, nc = m * n;                                        \
  T *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B);                       \
  T *C = malloc(nc * sizeof *C), *W = malloc(nc * sizeof *W), *C0 = malloc(nc * sizeof *C0); \
  int ok = A && B && C && W && C0;                                                  \
  for (size_t i = 0; ok && i < na; i++) A[i] = (T)val(i, 1);                        \
  for (size_t i = 0; ok && i < nb; i++) B[i] = (T)val(i, 2);                        \
  for (size_t i = 0; ok && i < nc; i++) C0[i] = C[i] = W[i] = (T)val(i, 3);         \
  if (ok) {                                                                         \
    run_##S(form, m, n, k, A, B, C);                                                \
    if (exact) {                                                                    \
      chain_##S(form, m, n, k, A, B, W);                                            \
      ok = memcmp(C, W, nc * sizeof *C) == 0;                                       \
    } else {                                                                        \
      for (size_t i = 0; ok && i < m; i++)                                          \
        for (size_t j = 0; ok && j < n; j++) {                                      \
          long double s = form == TN ? 0 : C0[i * n + j], mag = fabsl(s);           \
          for (size_t p = 0; p < k; p++) {                                          \
            long double a = form == TN ? A[p * m + i] : A[i * k + p];              \
            long double b = form == NT ? B[j * k + p] : B[p * n + j];              \
            s += a * b;                                                             \
            mag += fabsl(a * b);                                                    \
          }                                                                         \
          ok = fabsl(C[i * n + j] - s) <= tol * mag;                                \
        }                                                                           \
    }                                                                               \
    CHECK(ok, "%s %s %s m=%zu n=%zu k=%zu: %s", be, #S, form == NT ? "nt" : form == TN ? "tn" : "nn", \
          m, n, k, exact ? "not bitwise the fma chain" : "off the long-double loop"); \
  }                                                                                 \
  free(A); free(B); free(C); free(W); free(C0);                                     \
  return ok;                                                                        \
}
CHAIN(double, f64, fma)
CHAIN(float, f32, fmaf)

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  static const size_t shapes[][3] = {
    {1, 1, 1}, {5, 7, 3}, {8, 16, 256}, {13, 35, 300}, {97, 33, 17}, {200, 530, 260},
  };
  const char *kernels[] = { "tessera-avx512", "tessera-avx2", "tessera-generic" };
  int ran = 0;
  tess_gemm_single_thread();
  for (int q = 0; q < 3; q++) {
    tess_err_t e = tess_gemm_select(kernels[q]);
    if (e == TESS_ERR_UNSUPPORTED) { tess_error_clear(); continue; }   /* not this CPU */
    CHECK(e == TESS_OK, "select %s gave %d", kernels[q], (int)e);
    CHECK(strcmp(tess_gemm_name(), kernels[q]) == 0, "name %s after selecting %s",
          tess_gemm_name(), kernels[q]);
    ran++;
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
      for (int form = 0; form < 3; form++) {
        check_f64(kernels[q], form, shapes[s][0], shapes[s][1], shapes[s][2], 1, 0);
        check_f32(kernels[q], form, shapes[s][0], shapes[s][1], shapes[s][2], 1, 0);
      }
  }
  CHECK(ran >= 1, "no Tessera kernel ran (the generic one runs everywhere)");
  if (tess_gemm_select("openblas") == TESS_OK) {
    /* rounding: k products, each term's error below k u of sum |a b| */
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
      for (int form = 0; form < 3; form++) {
        double k = (double)shapes[s][2] + 1;
        check_f64("openblas", form, shapes[s][0], shapes[s][1], shapes[s][2], 0, k * 0x1p-53);
        check_f32("openblas", form, shapes[s][0], shapes[s][1], shapes[s][2], 0, k * 0x1p-24);
      }
  } else {
    CHECK(tess_error_code() == TESS_ERR_UNSUPPORTED, "openblas refused with %d", (int)tess_error_code());
    tess_error_clear();
  }
  CHECK(tess_gemm_select("mkl") == TESS_ERR_ARG, "an unknown backend was accepted");
  CHECK(strstr(tess_error_message(), "tessera-avx2") != NULL, "the refusal lists no names: %s",
        tess_error_message());
  tess_error_clear();
  CHECK(tess_gemm_select("auto") == TESS_OK, "auto refused");
  int rc = tess_test_finish("core_gemm");
  MPI_Finalize();
  return rc;
}

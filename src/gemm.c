/* src/gemm.c: the dense products of include/tessera/gemm.h (the MLP layers
 * of pde/ and of an ML layer), on a batch, through one of two backends
 * built in at compile time and chosen at run time (tess_gemm_select, env
 * TESS_GEMM):
 *   openblas  where the build has it (the default unless OpenBLAS runs
 *             kernels older than the CPU: gemm_openblas_weak), forced to one thread per rank: with
 *             one thread its blocking depends only on the shapes, so a chunk
 *             gives the same bits on whichever rank it runs. Its bits change
 *             with the kernel OpenBLAS picks for the CPU.
 *   tessera   src/gemm_packed.c: each element one fma chain in p order, so
 *             the same bits on every rank and every x86-64 (AVX-512, AVX2 or
 *             scalar kernel alike); the default where OpenBLAS is absent.
 * Parallelism comes from the ranks, never from threads in here. If the
 * packing buffer cannot be allocated the products run the same fma chains
 * as a plain loop nest (same bits, slower): they cannot fail. */
#include <tessera/config.h>
#include <tessera/error.h>
#include <tessera/gemm.h>
#include <tessera/log.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gemm_packed.h"

#if TESSERA_HAVE_OPENBLAS
#include <cblas.h>
#endif

/* NULL: OpenBLAS. Chosen at the first product or by tess_gemm_select. */
static const gp_isa_t *gemm_isa;
static int gemm_chosen;

#if TESSERA_HAVE_OPENBLAS
/* OpenBLAS (DYNAMIC_ARCH) picks its kernels from the CPU's model number; a
 * model or VM CPUID it does not place can leave an AVX2/AVX-512 CPU on its
 * SSE kernels. On the 2-core Xeon VM, OPENBLAS_CORETYPE forced to Prescott /
 * Nehalem / Sandybridge made a PINN step 2.6x / 3.2x / 1.6x slower. A core
 * name outside this list, on a CPU that runs Tessera's AVX2 kernel, sends
 * "auto" to Tessera's kernels instead. */
static int gemm_openblas_weak(void)
{
  static const char *const fast[] = { "haswell", "zen", "skylakex", "cooperlake",
                                      "sapphirerapids", "excavator" };
  const gp_isa_t *best = tess_gemm_packed_isa(NULL);
  const char *core = openblas_get_corename();
  if (!best || strcmp(tess_gemm_packed_name(best), "tessera-generic") == 0 || !core) return 0;
  for (size_t i = 0; i < sizeof fast / sizeof fast[0]; i++)
    if (strncasecmp(core, fast[i], strlen(fast[i])) == 0) return 0;
  return 1;
}
#endif

/* OpenBLAS where built and fit for the CPU, else Tessera's kernels. */
static const char *gemm_default(void)
{
#if TESSERA_HAVE_OPENBLAS
  if (!gemm_openblas_weak()) return "openblas";
  tess_log(TESS_LOG_INFO, "OpenBLAS runs its '%s' kernels on a CPU with AVX2/AVX-512: "
           "the products use Tessera's own (TESS_GEMM=openblas keeps OpenBLAS)",
           openblas_get_corename());
#endif
  return "tessera";
}

tess_err_t tess_gemm_select(const char *name)
{
  tess_err_t err = TESS_OK;
  const gp_isa_t *isa = NULL;
  TESS_REQUIRE(name != NULL, TESS_ERR_ARG, "NULL backend name");
  if (strcmp(name, "auto") == 0) name = gemm_default();
  if (strcmp(name, "openblas") == 0) {
    TESS_REQUIRE(TESSERA_HAVE_OPENBLAS, TESS_ERR_UNSUPPORTED,
                 "GEMM backend 'openblas': this build has no OpenBLAS (try 'tessera')");
  } else if (strcmp(name, "tessera") == 0) {
    isa = tess_gemm_packed_isa(NULL);
  } else if (strncmp(name, "tessera-", 8) == 0 && (strcmp(name + 8, "avx512") == 0 ||
             strcmp(name + 8, "avx2") == 0 || strcmp(name + 8, "generic") == 0)) {
    isa = tess_gemm_packed_isa(name);
    TESS_REQUIRE(isa != NULL, TESS_ERR_UNSUPPORTED,
                 "GEMM backend '%s': this CPU (or build) cannot run it", name);
  } else {
    TESS_REQUIRE(0, TESS_ERR_ARG, "GEMM backend '%s': not one of auto, openblas, tessera, "
                 "tessera-avx512, tessera-avx2, tessera-generic", name);
  }
  gemm_isa = isa;
  gemm_chosen = 1;
cleanup:
  return err;
}

static void gemm_choose(void)
{
  if (gemm_chosen) return;
  const char *e = getenv("TESS_GEMM");
  if (e && *e) {
    if (tess_gemm_select(e) == TESS_OK) return;
    tess_log(TESS_LOG_WARN, "TESS_GEMM=%s ignored: %s", e, tess_error_message());
    tess_error_clear();
  }
  (void)tess_gemm_select(gemm_default());
}

const char *tess_gemm_name(void)
{
  gemm_choose();
  return gemm_isa ? tess_gemm_packed_name(gemm_isa) : "openblas";
}

void tess_gemm_single_thread(void)
{
#if TESSERA_HAVE_OPENBLAS
  static int done;
  if (!done) { openblas_set_num_threads(1); done = 1; }
#endif
}

/* The definition the packed kernels keep, as a loop nest: the fallback when
 * their buffer cannot be had. C(i,j) chained with A(i,p) B(p,j), p = 0..k-1. */
#define TESS_GEMM_CHAIN(T, S, FMA)                                                   \
static void gemm_chain_##S(size_t m, size_t n, size_t k, const T *A, size_t ars,     \
                           size_t acs, const T *B, size_t brs, size_t bcs, T *C)      \
{                                                                                    \
  for (size_t i = 0; i < m; i++)                                                     \
    for (size_t j = 0; j < n; j++) {                                                 \
      T acc = C[i * n + j];                                                          \
      for (size_t p = 0; p < k; p++) acc = FMA(A[i * ars + p * acs], B[p * brs + j * bcs], acc); \
      C[i * n + j] = acc;                                                            \
    }                                                                                \
}                                                                                    \
static void gemm_own_##S(size_t m, size_t n, size_t k, const T *A, size_t ars,       \
                         size_t acs, const T *B, size_t brs, size_t bcs, T *C)        \
{                                                                                    \
  if (tess_gemm_packed_##S(gemm_isa, m, n, k, A, ars, acs, B, brs, bcs, C) != 0)     \
    gemm_chain_##S(m, n, k, A, ars, acs, B, brs, bcs, C);                            \
}
TESS_GEMM_CHAIN(double, f64, fma)
TESS_GEMM_CHAIN(float, f32, fmaf)

#define TESS_GEMM(T, S, GEMM)                                                        \
void tess_gemm_nt_acc_##S(size_t m, size_t n, size_t k, const T *A, const T *B, T *C) \
{                                                                                    \
  gemm_choose();                                                                     \
  if (!gemm_isa) { GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, \
                        1, A, (int)k, B, (int)k, 1, C, (int)n); return; }            \
  gemm_own_##S(m, n, k, A, k, 1, B, 1, k, C);                                         \
}                                                                                    \
void tess_gemm_tn_##S(size_t m, size_t n, size_t k, const T *A, const T *B, T *C)    \
{                                                                                    \
  gemm_choose();                                                                     \
  if (!gemm_isa) { GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)n, (int)k, \
                        1, A, (int)m, B, (int)n, 0, C, (int)n); return; }            \
  for (size_t i = 0; i < m * n; i++) C[i] = 0;                                       \
  gemm_own_##S(m, n, k, A, 1, m, B, n, 1, C);                                         \
}                                                                                    \
void tess_gemm_nn_acc_##S(size_t m, size_t n, size_t k, const T *A, const T *B, T *C) \
{                                                                                    \
  gemm_choose();                                                                     \
  if (!gemm_isa) { GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, \
                        1, A, (int)k, B, (int)n, 1, C, (int)n); return; }            \
  gemm_own_##S(m, n, k, A, k, 1, B, n, 1, C);                                         \
}

#if !TESSERA_HAVE_OPENBLAS   /* never called: gemm_isa is never NULL then */
#define CblasRowMajor 0
#define CblasNoTrans 0
#define CblasTrans 0
#define cblas_dgemm(...) ((void)0)
#define cblas_sgemm(...) ((void)0)
#endif
TESS_GEMM(double, f64, cblas_dgemm)
TESS_GEMM(float, f32, cblas_sgemm)

/* src/gemm_packed.c: Tessera's own packed GEMM, the "tessera" backend of
 * src/gemm.c. It exists so that a PINN step's speed (the layer products are
 * most of it) and its bits do not depend on which BLAS a machine has, or on
 * which kernel that BLAS picks for the CPU: without OpenBLAS the loop nest
 * took 7x OpenBLAS's time, and with OpenBLAS the bits change with its
 * kernel choice.
 *
 * Goto/BLIS scheme, single-threaded: B is packed in KC x NC blocks of
 * NR-wide column panels, A in MC x KC blocks of MR-row panels, and a
 * register-tiled micro-kernel (AVX-512F, AVX2+FMA or scalar fma(), picked
 * at run time) updates an MR x NR tile of C.
 *
 * Bits: every C element is ONE chain of fused multiply-adds in p order,
 *   c = fma(a_{k-1} b_{k-1}, ... fma(a_1 b_1, fma(a_0 b_0, c0)))
 * with c0 = C (the _acc products) or +0 (tn). Tiles, blocks (a KC block
 * stores the tile, the next reloads it: exact) and the vector width only
 * decide which chains run side by side, never the operations inside one.
 * So the result is that of the scalar fma loop on every CPU and with each
 * of the three kernels: the same bits for the same inputs on any rank and
 * any x86-64 with or without AVX-512 (tests/core/test_gemm.c checks it
 * against that loop). Padding in partial panels is zeros whose products
 * land only in tile entries that are never stored. */
#include "gemm_packed.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define GP_X86 1
#include <immintrin.h>
#else
#define GP_X86 0
#endif

/* Blocking, in elements. KC x NR of B (the panel a micro-kernel reuses
 * across the rows of a block) is 32 KiB for f64 at NR = 16 and stays in L1;
 * MC x KC of A (192 KiB f64) and KC x NC of B (1 MiB f64) stay in a 2 MiB
 * L2. They shape the loops only: the bits do not depend on them. */
enum { GP_KC = 256, GP_MC = 96, GP_NC = 512, GP_TILE_MAX = 8 * 32 };   /* the largest tile, f32 AVX-512 */

/* ---- micro-kernels: C[MR x NR] (row stride ldc) chained with kc
 * products of the packed panels a (kc x MR) and b (kc x NR). ---- */
#define GP_UKR_SCALAR(S, T, FMA, MR, NR)                                          \
static void gp_ukr_generic_##S(size_t kc, const T *restrict a, const T *restrict b, \
                               T *restrict c, size_t ldc)                          \
{                                                                                   \
  T acc[MR][NR];                                                                    \
  for (int r = 0; r < MR; r++)                                                      \
    for (int j = 0; j < NR; j++) acc[r][j] = c[r * ldc + j];                        \
  for (size_t p = 0; p < kc; p++, a += MR, b += NR)                                 \
    for (int r = 0; r < MR; r++)                                                    \
      for (int j = 0; j < NR; j++) acc[r][j] = FMA(a[r], b[j], acc[r][j]);          \
  for (int r = 0; r < MR; r++)                                                      \
    for (int j = 0; j < NR; j++) c[r * ldc + j] = acc[r][j];                        \
}
GP_UKR_SCALAR(f64, double, fma, 4, 4)
GP_UKR_SCALAR(f32, float, fmaf, 4, 4)

#if GP_X86
/* One body for the vector kernels: MR rows of NV vectors of L lanes. The
 * accumulators are arrays with constant bounds; -O3 unrolls them into
 * registers (AVX-512 f64: 28 of 32 zmm, f32: 16; AVX2: 12 of 16 ymm). On
 * the Xeon VM, 14 x 16 f64 tiles ran 72 GFLOP/s at 256^3 against 68 for
 * 8 x 16 and 69 for OpenBLAS's SkylakeX kernel; f32 8 x 32 as fast as
 * 12 or 14 rows, with no edge tiles at 512 rows. */
#define GP_UKR_VEC(NAME, TGT, T, VT, L, MR, NV, LOADU, STOREU, LOAD, SET1, FMA)         \
__attribute__((target(TGT)))                                                            \
static void NAME(size_t kc, const T *restrict a, const T *restrict b, T *restrict c,    \
                 size_t ldc)                                                            \
{                                                                                       \
  VT acc[MR][NV];                                                                       \
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)                                 \
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                                \
      acc[r][v] = LOADU(c + r * ldc + v * L);                                           \
  for (size_t p = 0; p < kc; p++, a += MR, b += NV * L) {                               \
    VT bv[NV];                                                                          \
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++) bv[v] = LOAD(b + v * L);      \
    _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++) {                             \
      VT av = SET1(a[r]);                                                               \
      _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                              \
        acc[r][v] = FMA(av, bv[v], acc[r][v]);                                          \
    }                                                                                   \
  }                                                                                     \
  _Pragma("GCC unroll 16") for (int r = 0; r < MR; r++)                                 \
    _Pragma("GCC unroll 4") for (int v = 0; v < NV; v++)                                \
      STOREU(c + r * ldc + v * L, acc[r][v]);                                           \
}
GP_UKR_VEC(gp_ukr_avx512_f64, "avx512f", double, __m512d, 8, 14, 2, _mm512_loadu_pd,
           _mm512_storeu_pd, _mm512_load_pd, _mm512_set1_pd, _mm512_fmadd_pd)
GP_UKR_VEC(gp_ukr_avx512_f32, "avx512f", float, __m512, 16, 8, 2, _mm512_loadu_ps,
           _mm512_storeu_ps, _mm512_load_ps, _mm512_set1_ps, _mm512_fmadd_ps)
GP_UKR_VEC(gp_ukr_avx2_f64, "avx2,fma", double, __m256d, 4, 6, 2, _mm256_loadu_pd,
           _mm256_storeu_pd, _mm256_load_pd, _mm256_set1_pd, _mm256_fmadd_pd)
GP_UKR_VEC(gp_ukr_avx2_f32, "avx2,fma", float, __m256, 8, 6, 2, _mm256_loadu_ps,
           _mm256_storeu_ps, _mm256_load_ps, _mm256_set1_ps, _mm256_fmadd_ps)

static int gp_has_avx512(void)
{
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}
static int gp_has_avx2(void)
{
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif
static int gp_always(void) { return 1; }

typedef void (*gp_ukr_f64_t)(size_t, const double *, const double *, double *, size_t);
typedef void (*gp_ukr_f32_t)(size_t, const float *, const float *, float *, size_t);
struct gp_isa {
  const char *name;
  int (*supported)(void);
  int mr_f64, nr_f64, mr_f32, nr_f32;   /* tile: mr rows x nr columns */
  gp_ukr_f64_t f64;
  gp_ukr_f32_t f32;
};

/* Best first. */
static const struct gp_isa gp_isas[] = {
#if GP_X86
  {"tessera-avx512", gp_has_avx512, 14, 16, 8, 32, gp_ukr_avx512_f64, gp_ukr_avx512_f32},
  {"tessera-avx2", gp_has_avx2, 6, 8, 6, 16, gp_ukr_avx2_f64, gp_ukr_avx2_f32},
#endif
  {"tessera-generic", gp_always, 4, 4, 4, 4, gp_ukr_generic_f64, gp_ukr_generic_f32},
};
enum { GP_NISAS = sizeof gp_isas / sizeof gp_isas[0] };

const gp_isa_t *tess_gemm_packed_isa(const char *name)
{
  for (int i = 0; i < GP_NISAS; i++)
    if ((!name || strcmp(name, gp_isas[i].name) == 0) && gp_isas[i].supported())
      return &gp_isas[i];
  return NULL;
}

const char *tess_gemm_packed_name(const gp_isa_t *isa) { return isa->name; }

/* Packing buffers, one pair per thread, grown on demand and kept (a
 * per-call malloc of this size would be an mmap and fresh page faults in
 * every product). */
static _Thread_local void *gp_buf;
static _Thread_local size_t gp_cap;

static void *gp_buffer(size_t bytes)
{
  if (bytes > gp_cap) {
    free(gp_buf);
    gp_cap = 0;
    gp_buf = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (gp_buf) gp_cap = bytes;
  }
  return gp_buf;
}

/* A(i,p) = A[i*ars + p*acs], B(p,j) = B[p*brs + j*bcs]; C row-major m x n.
 * Panels are zero-padded to MR rows / NR columns. */
#define GP_DRIVER(S, T)                                                                  \
static void gp_pack_a_##S(size_t mc, size_t kc, const T *A, size_t ars, size_t acs,      \
                          int MR, T *restrict Ap)                                        \
{                                                                                        \
  for (size_t i0 = 0; i0 < mc; i0 += (size_t)MR, Ap += (size_t)MR * kc) {                \
    size_t mr = mc - i0 < (size_t)MR ? mc - i0 : (size_t)MR;                             \
    for (size_t p = 0; p < kc; p++)   /* contiguous writes; mr read streams */          \
      for (size_t r = 0; r < mr; r++) Ap[p * (size_t)MR + r] = A[(i0 + r) * ars + p * acs]; \
    for (size_t p = 0; p < kc && mr < (size_t)MR; p++)                                   \
      for (size_t r = mr; r < (size_t)MR; r++) Ap[p * (size_t)MR + r] = 0;               \
  }                                                                                      \
}                                                                                        \
static void gp_pack_b_##S(size_t kc, size_t nc, const T *B, size_t brs, size_t bcs,      \
                          int NR, T *restrict Bp)                                        \
{                                                                                        \
  for (size_t j0 = 0; j0 < nc; j0 += (size_t)NR, Bp += (size_t)NR * kc) {                \
    size_t nr = nc - j0 < (size_t)NR ? nc - j0 : (size_t)NR;                             \
    if (bcs == 1) {                                                                      \
      for (size_t p = 0; p < kc; p++) {  /* a loop, not memcpy: a call per row cost 8 % */ \
        const T *src = B + p * brs + j0;                                                 \
        T *dst = Bp + p * (size_t)NR;                                                    \
        for (size_t j = 0; j < (size_t)NR; j++) dst[j] = j < nr ? src[j] : 0;            \
      }                                                                                  \
    } else {                                                                             \
      for (size_t j = 0; j < nr; j++) {                                                  \
        const T *col = B + (j0 + j) * bcs;                                               \
        for (size_t p = 0; p < kc; p++) Bp[p * (size_t)NR + j] = col[p * brs];           \
      }                                                                                  \
      for (size_t p = 0; p < kc && nr < (size_t)NR; p++)                                 \
        for (size_t j = nr; j < (size_t)NR; j++) Bp[p * (size_t)NR + j] = 0;             \
    }                                                                                    \
  }                                                                                      \
}                                                                                        \
int tess_gemm_packed_##S(const gp_isa_t *isa, size_t m, size_t n, size_t k,              \
                         const T *A, size_t ars, size_t acs,                             \
                         const T *B, size_t brs, size_t bcs, T *C)                       \
{                                                                                        \
  const int MR = isa->mr_##S, NR = isa->nr_##S;                         \
  const size_t MC = GP_MC / (size_t)MR * (size_t)MR, NC = GP_NC / (size_t)NR * (size_t)NR; \
  size_t na = MC * GP_KC, nb = NC * GP_KC;                                               \
  if (m == 0 || n == 0 || k == 0) return 0;                                              \
  T *Ap = gp_buffer((na + nb) * sizeof(T)), *Bp;                                         \
  if (!Ap) return -1;                                                                    \
  Bp = Ap + na;                                                                          \
  for (size_t jc = 0; jc < n; jc += NC) {                                                \
    size_t nc = n - jc < NC ? n - jc : NC;                                               \
    for (size_t pc = 0; pc < k; pc += GP_KC) {                                           \
      size_t kc = k - pc < GP_KC ? k - pc : GP_KC;                                       \
      gp_pack_b_##S(kc, nc, B + pc * brs + jc * bcs, brs, bcs, NR, Bp);                  \
      for (size_t ic = 0; ic < m; ic += MC) {                                            \
        size_t mc = m - ic < MC ? m - ic : MC;                                           \
        gp_pack_a_##S(mc, kc, A + ic * ars + pc * acs, ars, acs, MR, Ap);                \
        for (size_t jr = 0; jr < nc; jr += (size_t)NR) {                                 \
          size_t nr = nc - jr < (size_t)NR ? nc - jr : (size_t)NR;                       \
          for (size_t ir = 0; ir < mc; ir += (size_t)MR) {                               \
            size_t mr = mc - ir < (size_t)MR ? mc - ir : (size_t)MR;                     \
            T *c = C + (ic + ir) * n + jc + jr;                                          \
            const T *a = Ap + ir * kc, *b = Bp + jr * kc;                                \
            if (mr == (size_t)MR && nr == (size_t)NR) {                                  \
              isa->S(kc, a, b, c, n);                                                    \
            } else {  /* edge tile: through a full-size copy */                          \
              T t[GP_TILE_MAX] __attribute__((aligned(64)));                             \
              for (size_t r = 0; r < (size_t)MR; r++)                                    \
                for (size_t j = 0; j < (size_t)NR; j++)                                  \
                  t[r * (size_t)NR + j] = r < mr && j < nr ? c[r * n + j] : 0;           \
              isa->S(kc, a, b, t, (size_t)NR);                                           \
              for (size_t r = 0; r < mr; r++)                                            \
                for (size_t j = 0; j < nr; j++) c[r * n + j] = t[r * (size_t)NR + j];    \
            }                                                                            \
          }                                                                              \
        }                                                                                \
      }                                                                                  \
    }                                                                                    \
  }                                                                                      \
  return 0;                                                                              \
}
GP_DRIVER(f64, double)
GP_DRIVER(f32, float)

_Static_assert(GP_TILE_MAX >= 14 * 16 && GP_TILE_MAX >= 8 * 32 && GP_TILE_MAX >= 6 * 16,
               "edge tile buffer smaller than a tile");

/* src/exact_sum_fast.c: the fast path of the exact sum.
 * Adding every element to the superaccumulator costs a few integer ops and
 * unpredictable memory traffic per element; instead each of up to 32 SIMD lanes
 * keeps a floating-point expansion a0 + a1 (XS_K terms) updated by TwoSum,
 * which is error-free: a + y == s + e exactly (round to nearest, no
 * overflow; subnormals are fine). The error of the last term, `rem`, is
 * usually 0; when it is not it is "spilled" (added exactly) to the
 * superaccumulator. So at every moment
 *     superacc + sum of all lane terms == exact sum of what was read.
 * What TwoSum cannot survive is Inf/NaN (input, or a lane overflowing):
 * every block of XS_BLOCK elements is checked afterwards and, if any lane
 * term went non-finite, the block is undone (lane state restored, its spills
 * dropped) and redone one element at a time on the superaccumulator, which
 * tracks NaN/Inf apart. Dot products form x*y = p + e exactly with one FMA
 * (valid while |p| >= 2^-968 and p is finite, checked per block) and sum p
 * and e the same way. f32 data widen to double exactly (and f32 products are
 * exact in double), so one kernel serves all four entry points.
 *
 * The library is not built with -march=native; the kernels are compiled
 * three times (AVX-512F, AVX2+FMA, baseline) from one body and picked at
 * run time with __builtin_cpu_supports. All three are exact, so the choice
 * changes speed, never bits. */
#include "exact_acc_impl.h"

#include <limits.h>
#include <math.h>
#include <string.h>

#ifndef XS_K
#define XS_K 2            /* expansion terms per lane (2 measured best; see docs) */
#endif
#define XS_LANES 32       /* lanes per expansion level (fewer used by narrow ISAs) */
#define XS_BLOCK 1024     /* elements between finiteness checks */
/* Out of cache the kernel does enough work per 64-byte line that the
 * hardware prefetchers fall behind (measured: 0.58x of a plain vectorised
 * sum's bandwidth without, ~0.9x with). In cache the prefetches only cost
 * (~20 %), so calls below XS_PREFETCH_MIN elements use the kernel without. */
#define XS_PREFETCH 1024               /* doubles ahead: 8 KiB */
#define XS_PREFETCH_MIN (1u << 17)     /* elements: 1 MiB of doubles */

typedef struct {
  double a[XS_K][XS_LANES];
} xs_state_t;

enum { XS_SPILL = 1, XS_NONFINITE = 2 };

/* One block: n (a multiple of XS_LANES, <= XS_BLOCK) elements of x into the
 * lanes; the last errors go to rem[0..n). Returns XS_SPILL if some rem is
 * non-zero and XS_NONFINITE if a lane term is Inf/NaN. W doubles per vector
 * register, NV independent chains: NV*W lanes per level, as many as the
 * ISA has registers for. A macro, so that each ISA gets its own vector
 * width (GCC lowers wider-than-native vectors through the stack). */
#define XS_DEFINE_BLOCK(NAME, ATTR, W, NV, FADD, FSUB, PFD)                        \
  ATTR static int NAME(xs_state_t *st, const double *x, size_t n, double *rem)     \
  {                                                                                \
    typedef double vd __attribute__((vector_size(8 * (W))));                       \
    typedef int64_t vi __attribute__((vector_size(8 * (W))));                      \
    vd a[XS_K][NV];                                                                \
    vi any = {0}, bad = {0}, expmask;                                              \
    for (int i = 0; i < (W); i++) expmask[i] = INT64_C(0x7ff0000000000000);         \
    for (int k = 0; k < XS_K; k++) memcpy(a[k], st->a[k], sizeof a[k]);            \
    for (size_t c = 0; c < n; c += (size_t)(NV) * (W)) {                           \
      for (int v = 0; v < (NV); v++) {                                             \
        vd y;                                                                      \
        if ((PFD) && ((size_t)v * (W)) % 8 == 0) /* one per 64-byte line */        \
          __builtin_prefetch(x + c + (size_t)v * (W) + (PFD), 0, 3);               \
        memcpy(&y, x + c + (size_t)v * (W), sizeof y);                             \
        for (int k = 0; k < XS_K; k++) { /* TwoSum(a[k], y) */                     \
          vd s = FADD(a[k][v], y);                                                 \
          vd bb = s - a[k][v];                                                     \
          y = (a[k][v] - FSUB(s, bb)) + FSUB(y, bb);                               \
          a[k][v] = s;                                                             \
        }                                                                          \
        memcpy(rem + c + (size_t)v * (W), &y, sizeof y);                           \
        any |= (vi)y;                                                              \
      }                                                                            \
    }                                                                              \
    for (int k = 0; k < XS_K; k++) memcpy(st->a[k], a[k], sizeof a[k]);            \
    for (int k = 0; k < XS_K; k++)                                                 \
      for (int v = 0; v < (NV); v++) bad |= ((vi)a[k][v] & expmask) == expmask;    \
    uint64_t anyr = 0, badr = 0;                                                   \
    for (int i = 0; i < (W); i++) {                                                \
      anyr |= (uint64_t)any[i];                                                    \
      badr |= (uint64_t)bad[i];                                                    \
    }                                                                              \
    return ((anyr << 1) ? XS_SPILL : 0) | (badr ? XS_NONFINITE : 0); /* -0 is 0 */ \
  }

/* Fixed bins (the extraction of Demmel and Nguyen's reproducible sums,
 * used here exactly), for data whose range is too wide for the 2-term
 * expansion but within ~200 binades: bin k of a lane is S_k = M_k + A_k,
 * M_k = 1.5 * 2^e_k, e_k = e_0 - XB_STEP k. While |A_k| < 2^(e_k - 2), S_k
 * stays in [2^e_k, 2^(e_k+1)) with ulp 2^(e_k - 52), and for a remainder
 * |r| <= 2^(e_k - 1 - XB_HEAD):
 *     S' = S + r;  q = S' - S;  r -= q;  S = S'
 * are all exact (S' and S share a binade: Sterbenz; r - q is the rounding
 * error of S + r, representable), q lands in A_k and the new |r| <= half an
 * ulp of bin k = 2^(e_k - 53) = 2^(e_(k+1) - 1 - XB_HEAD). So the bins take
 * XB_STEP = 52 - XB_HEAD bits each, and what is left after the last bin is
 * spilled like the expansion's remainder. Each add moves A_k by at most
 * 2^(e_k - XB_HEAD), so XB_ADDS adds per lane keep |A_k| < 2^(e_k - 2);
 * then, or when a block needs a higher e_0, the bins' A_k (exact: S - M)
 * go to the superaccumulator. e_0 = (block's top exponent) + 2 + XB_HEAD.
 * Three flops per bin per element, no data-dependent branch, whatever the
 * signs and cancellation. */
#define XB_HEAD 12
#define XB_STEP (52 - XB_HEAD)
#define XB_ADDS (1 << (XB_HEAD - 2))
#define XB_MAXBINS 6

typedef struct {
  double s[XB_MAXBINS][XS_LANES];
  int e0;        /* exponent of bin 0; INT_MIN: not set */
  int nb;        /* bins in use */
  int adds;      /* per lane since the bins were set */
} xb_state_t;

/* The bins' exact contents to the superaccumulator; the bins are unset. */
static void xb_flush(tess_exact_acc_t *acc, xb_state_t *b)
{
  for (int k = 0; k < b->nb; k++) {
    double m = ldexp(1.5, b->e0 - XB_STEP * k);
    for (int l = 0; l < XS_LANES; l++)
      if (b->s[k][l] != m) tess_xacc_add_double(acc, b->s[k][l] - m);
  }
  b->e0 = INT_MIN;
  b->nb = 0;
  b->adds = 0;
}

/* Before a block of n elements with biased exponents in [lo, hi] (lo of
 * its non-zero normal elements): set up the bins; 0 if this block cannot
 * use them (exponents too near the top or bottom of the range). */
static int xb_prepare(tess_exact_acc_t *acc, xb_state_t *b, unsigned lo, unsigned hi, size_t n,
                      int lanes)
{
  int e0 = (int)hi - 1023 + 2 + XB_HEAD;
  if (e0 > 1023) return 0;
  if (b->e0 != INT_MIN && (e0 > b->e0 || b->adds + (int)(n / (size_t)lanes) > XB_ADDS))
    xb_flush(acc, b);
  if (b->e0 == INT_MIN) {
    b->e0 = e0;
    b->nb = 0;
  }
  /* enough bins that the smallest element's last bit lands in one */
  int lsb = (int)lo - 1075, nb = 1;
  while (nb < XB_MAXBINS && b->e0 - XB_STEP * (nb - 1) - 52 > lsb) nb++;
  while (nb > 1 && b->e0 - XB_STEP * (nb - 1) < -1022) nb--;   /* M_k normal */
  if (b->e0 - XB_STEP * (nb - 1) < -1022) return 0;
  for (int k = b->nb; k < nb; k++) {
    double m = ldexp(1.5, b->e0 - XB_STEP * k);
    for (int l = 0; l < XS_LANES; l++) b->s[k][l] = m;
  }
  if (nb > b->nb) b->nb = nb;
  b->adds += (int)(n / (size_t)lanes);   /* adds per lane of this ISA */
  return 1;
}

/* The bins over one block (n a multiple of NV*W); remainders to rem[];
 * returns XS_SPILL if any is non-zero. */
#define XS_DEFINE_BINS(NAME, ATTR, W, NV, FADD, FSUB)                              \
  ATTR static int NAME(xb_state_t *b, const double *x, size_t n, double *rem)      \
  {                                                                                \
    typedef double vd __attribute__((vector_size(8 * (W))));                       \
    typedef int64_t vi __attribute__((vector_size(8 * (W))));                      \
    vd sb[XB_MAXBINS][NV];                                                         \
    vi any = {0};                                                                  \
    int nb = b->nb;                                                                \
    for (int k = 0; k < nb; k++) memcpy(sb[k], b->s[k], sizeof sb[k]);             \
    for (size_t c = 0; c < n; c += (size_t)(NV) * (W)) {                           \
      for (int v = 0; v < (NV); v++) {                                             \
        vd r;                                                                      \
        memcpy(&r, x + c + (size_t)v * (W), sizeof r);                             \
        for (int k = 0; k < nb; k++) {                                             \
          vd s1 = FADD(sb[k][v], r);                                               \
          r = FSUB(r, FSUB(s1, sb[k][v]));                                         \
          sb[k][v] = s1;                                                           \
        }                                                                          \
        memcpy(rem + c + (size_t)v * (W), &r, sizeof r);                           \
        any |= (vi)r;                                                              \
      }                                                                            \
    }                                                                              \
    for (int k = 0; k < nb; k++) memcpy(b->s[k], sb[k], sizeof sb[k]);             \
    uint64_t anyr = 0;                                                             \
    for (int i = 0; i < (W); i++) anyr |= (uint64_t)any[i];                        \
    return (anyr << 1) ? XS_SPILL : 0;                                             \
  }

/* Biased exponent range of a block: hi over all, lo over the non-zero
 * normal elements (2047 if none). */
#define XS_DEFINE_RANGE(NAME, ATTR)                                                \
  ATTR static void NAME(const double *x, size_t n, unsigned *lo, unsigned *hi)     \
  {                                                                                \
    uint64_t l = 0x7ff, h = 0;                                                     \
    for (size_t i = 0; i < n; i++) {                                               \
      uint64_t u;                                                                  \
      memcpy(&u, x + i, sizeof u); /* no type punning through pointers */          \
      uint64_t be = (u >> 52) & 0x7ff, bl = be ? be : 0x7ff;                       \
      l = bl < l ? bl : l;                                                         \
      h = be > h ? be : h;                                                         \
    }                                                                              \
    *lo = (unsigned)l;                                                             \
    *hi = (unsigned)h;                                                             \
  }

/* The large superaccumulator (R. Neal, "Fast exact summation using small
 * and large superaccumulators", 2015), for data that make the lanes spill
 * (wide exponent range, cancellation): one signed int64 chunk per biased
 * exponent, and each element adds its signed 53-bit integer mantissa to the
 * chunk of its exponent - one integer add, whatever the range. A first,
 * vectorised pass per block forms the signed mantissas and chunk indices
 * and the block's exponent range; the second is the scalar scatter-add,
 * over XL_WAYS tables taking alternate elements, so that runs of equal
 * exponents do not chain through store-to-load forwarding. As in Neal's
 * xsum, each chunk counts down the adds it can still take: XL_CAP adds of
 * |v| < 2^53 stay below 2^63, and a chunk that reaches 0 goes alone to the
 * small superaccumulator (one 3-digit add; once per XL_CAP elements at
 * most). So the cost does not depend on the range: the chunks touched are
 * scanned once, at the end of the call. Between calls every chunk is 0 and
 * every count XL_CAP. */
#define XL_WAYS 4
#define XL_CAP 1023
typedef struct {
  int64_t c[XL_WAYS][2048];
  int16_t left[XL_WAYS][2048];   /* adds chunk c[w][be] can still take */
  int64_t v[XS_BLOCK];      /* the block's signed mantissas */
  uint16_t ix[XS_BLOCK];    /* and their chunk indices (biased exponents) */
  unsigned lo, hi;          /* the range of chunks touched since the last flush */
  int ready;                /* the invariant above holds */
} xl_state_t;

/* One full chunk to the small superaccumulator (rare: not inlined). */
__attribute__((noinline)) static void xl_spill_chunk(tess_exact_acc_t *acc, xl_state_t *t, int w,
                                                     unsigned be)
{
  tess_xacc_reserve(acc, 1);
  tess_xacc_add_i64(acc, t->c[w][be], (int)(be ? be : 1) - 1075);
  t->c[w][be] = 0;
  t->left[w][be] = XL_CAP;
}

/* Every touched chunk to the small superaccumulator; the invariant again. */
static void xl_flush(tess_exact_acc_t *acc, xl_state_t *t)
{
  if (t->lo > t->hi) return;
  tess_xacc_reserve(acc, (int64_t)XL_WAYS * (t->hi - t->lo + 1));
  for (unsigned be = t->lo; be <= t->hi; be++)
    for (int w = 0; w < XL_WAYS; w++) {
      if (t->c[w][be]) {
        tess_xacc_add_i64(acc, t->c[w][be], (int)(be ? be : 1) - 1075);
        t->c[w][be] = 0;
      }
      t->left[w][be] = XL_CAP;
    }
  t->lo = 2047;
  t->hi = 0;
}

/* Returns 0; or 1, having added nothing, if the block holds Inf/NaN (the
 * caller uses the small superaccumulator). */
#define XS_DEFINE_LARGE(NAME, ATTR)                                                 \
  ATTR static int NAME(tess_exact_acc_t *acc, xl_state_t *t, const double *x, size_t n) \
  {                                                                                 \
    uint64_t lo = 0x7ff, hi = 0;                                                    \
    for (size_t i = 0; i < n; i++) {                                                \
      uint64_t u;                                                                   \
      memcpy(&u, x + i, sizeof u);                                                  \
      uint64_t be = (u >> 52) & 0x7ff;                                              \
      int64_t m = (int64_t)((u & ((UINT64_C(1) << 52) - 1)) | ((uint64_t)(be != 0) << 52)); \
      int64_t sg = (int64_t)u >> 63;                                                \
      t->v[i] = (m ^ sg) - sg;                                                      \
      t->ix[i] = (uint16_t)be;                                                      \
      lo = be < lo ? be : lo;                                                       \
      hi = be > hi ? be : hi;                                                       \
    }                                                                               \
    if (n == 0) return 0;                                                           \
    if (hi == 0x7ff) return 1;                                                      \
    t->lo = (unsigned)lo < t->lo ? (unsigned)lo : t->lo;                            \
    t->hi = (unsigned)hi > t->hi ? (unsigned)hi : t->hi;                            \
    size_t i = 0;                                                                   \
    for (; i + XL_WAYS <= n; i += XL_WAYS)                                          \
      for (int w = 0; w < XL_WAYS; w++) {                                           \
        unsigned k = t->ix[i + (size_t)w];                                          \
        t->c[w][k] += t->v[i + (size_t)w];                                          \
        if (__builtin_expect(--t->left[w][k] == 0, 0)) xl_spill_chunk(acc, t, w, k); \
      }                                                                             \
    for (; i < n; i++) {                                                            \
      int w = (int)(i % XL_WAYS);                                                   \
      unsigned k = t->ix[i];                                                        \
      t->c[w][k] += t->v[i];                                                        \
      if (--t->left[w][k] == 0) xl_spill_chunk(acc, t, w, k);                       \
    }                                                                               \
    return 0;                                                                       \
  }

/* p[i] + e[i] == x[i]*y[i] exactly, unless the return is non-zero (some
 * product is not finite, or so small that e would underflow). */
static inline __attribute__((always_inline)) int
xs_two_prod_body(const double *x, const double *y, size_t n, double *p, double *e)
{
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    double q = x[i] * y[i];
    double a = fabs(q);
    e[i] = __builtin_fma(x[i], y[i], -q);
    p[i] = q;
    int ok = (a <= 0x1.fffffffffffffp1023) & ((a >= 0x1p-968) | (x[i] == 0) | (y[i] == 0));
    bad |= ok ^ 1;
  }
  return bad;
}

typedef int (*xs_block_fn)(xs_state_t *, const double *, size_t, double *);
typedef int (*xs_prod_fn)(const double *, const double *, size_t, double *, double *);
typedef int (*xs_bins_fn)(xb_state_t *, const double *, size_t, double *);
typedef void (*xs_range_fn)(const double *, size_t, unsigned *, unsigned *);
typedef int (*xs_large_fn)(tess_exact_acc_t *, xl_state_t *, const double *, size_t);

#define XS_PLAIN_ADD(a, b) ((a) + (b))
#define XS_PLAIN_SUB(a, b) ((a) - (b))
XS_DEFINE_BLOCK(xs_block_generic, , 2, 4, XS_PLAIN_ADD, XS_PLAIN_SUB, 0)
XS_DEFINE_BLOCK(xs_block_generic_pf, , 2, 4, XS_PLAIN_ADD, XS_PLAIN_SUB, XS_PREFETCH)
XS_DEFINE_LARGE(xs_large_generic, )
XS_DEFINE_BINS(xs_bins_generic, , 2, 4, XS_PLAIN_ADD, XS_PLAIN_SUB)
XS_DEFINE_RANGE(xs_range_generic, )
static int xs_prod_generic(const double *x, const double *y, size_t n, double *p, double *e)
{
  return xs_two_prod_body(x, y, n, p, e);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define XS_HAVE_X86_DISPATCH 1
#include <immintrin.h>
/* fma(a, 1, b) == a + b exactly (one rounding of the same value): half of
 * the additions go to the FMA pipes, which on AMD Zen are separate from the
 * FADD pipes. On Intel cores they are the same pipes: no gain, no loss. */
#define XS_ADD256(a, b) ((vd)_mm256_fmadd_pd((__m256d)(a), _mm256_set1_pd(1.0), (__m256d)(b)))
#define XS_SUB256(a, b) ((vd)_mm256_fmsub_pd((__m256d)(a), _mm256_set1_pd(1.0), (__m256d)(b)))
#define XS_AVX2 __attribute__((target("avx2,fma")))
XS_DEFINE_BLOCK(xs_block_avx2, XS_AVX2, 4, 4, XS_ADD256, XS_SUB256, 0)
XS_DEFINE_BLOCK(xs_block_avx2_pf, XS_AVX2, 4, 4, XS_ADD256, XS_SUB256, XS_PREFETCH)
XS_DEFINE_LARGE(xs_large_avx2, XS_AVX2)
XS_DEFINE_BINS(xs_bins_avx2, XS_AVX2, 4, 4, XS_ADD256, XS_SUB256)
XS_DEFINE_RANGE(xs_range_avx2, XS_AVX2)
__attribute__((target("avx2,fma"))) static int
xs_prod_avx2(const double *x, const double *y, size_t n, double *p, double *e)
{
  return xs_two_prod_body(x, y, n, p, e);
}
#define XS_ADD512(a, b) ((vd)_mm512_fmadd_pd((__m512d)(a), _mm512_set1_pd(1.0), (__m512d)(b)))
#define XS_SUB512(a, b) ((vd)_mm512_fmsub_pd((__m512d)(a), _mm512_set1_pd(1.0), (__m512d)(b)))
#define XS_AVX512 __attribute__((target("avx512f")))
XS_DEFINE_BLOCK(xs_block_avx512, XS_AVX512, 8, 4, XS_ADD512, XS_SUB512, 0)
XS_DEFINE_BLOCK(xs_block_avx512_pf, XS_AVX512, 8, 4, XS_ADD512, XS_SUB512, XS_PREFETCH)
XS_DEFINE_LARGE(xs_large_avx512, XS_AVX512)
XS_DEFINE_BINS(xs_bins_avx512, XS_AVX512, 8, 4, XS_ADD512, XS_SUB512)
XS_DEFINE_RANGE(xs_range_avx512, XS_AVX512)
__attribute__((target("avx512f"))) static int
xs_prod_avx512(const double *x, const double *y, size_t n, double *p, double *e)
{
  return xs_two_prod_body(x, y, n, p, e);
}
#endif

typedef struct {
  const char *name;
  xs_block_fn block;   /* NULL: no fast path, every element to the superaccumulator */
  xs_block_fn block_pf;   /* the same with software prefetch, for long arrays */
  xs_prod_fn prod;
  xs_bins_fn bins;     /* fixed bins, for blocks the expansion spills on */
  xs_range_fn range;
  xs_large_fn large;   /* the large superaccumulator, for blocks the bins spill on */
  int lanes;           /* lanes of `bins` (W*NV): each lane takes n/lanes adds */
  int force;           /* 0: switch per block; 1: bins only; 2: large only (tests) */
  int (*supported)(void);
} xs_kernel_t;

static int xs_always(void) { return 1; }
#ifdef XS_HAVE_X86_DISPATCH
static int xs_has_avx512(void) { return __builtin_cpu_supports("avx512f"); }
static int xs_has_avx2(void)
{
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

/* Best first: "auto" takes the first one the CPU supports. */
static const xs_kernel_t xs_kernels[] = {
#ifdef XS_HAVE_X86_DISPATCH
#define XS_AVX512_FNS xs_block_avx512, xs_block_avx512_pf, xs_prod_avx512, xs_bins_avx512, \
                      xs_range_avx512, xs_large_avx512, 32
#define XS_AVX2_FNS xs_block_avx2, xs_block_avx2_pf, xs_prod_avx2, xs_bins_avx2, xs_range_avx2, \
                    xs_large_avx2, 16
  {"avx512", XS_AVX512_FNS, 0, xs_has_avx512},
  {"avx2", XS_AVX2_FNS, 0, xs_has_avx2},
#endif
#define XS_GENERIC_FNS xs_block_generic, xs_block_generic_pf, xs_prod_generic, xs_bins_generic, \
                       xs_range_generic, xs_large_generic, 8
  {"generic", XS_GENERIC_FNS, 0, xs_always},
  {"superacc", NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, xs_always},
#ifdef XS_HAVE_X86_DISPATCH   /* the two wide-range paths alone, best ISA (tests) */
  {"bins", XS_AVX512_FNS, 1, xs_has_avx512},
  {"large", XS_AVX512_FNS, 2, xs_has_avx512},
  {"bins", XS_AVX2_FNS, 1, xs_has_avx2},
  {"large", XS_AVX2_FNS, 2, xs_has_avx2},
#endif
  {"bins", XS_GENERIC_FNS, 1, xs_always},
  {"large", XS_GENERIC_FNS, 2, xs_always},
};
#define XS_NKERNELS (sizeof xs_kernels / sizeof xs_kernels[0])

/* Set once; a benign race if two threads set it first (same answer). */
static const xs_kernel_t *xs_chosen;

static const xs_kernel_t *xs_auto(void)
{
#ifdef XS_HAVE_X86_DISPATCH
  __builtin_cpu_init();
#endif
  for (size_t i = 0; i < XS_NKERNELS; i++)
    if (xs_kernels[i].supported()) return &xs_kernels[i];
  return &xs_kernels[XS_NKERNELS - 1];
}

static const xs_kernel_t *xs_kernel(void)
{
  if (!xs_chosen) xs_chosen = xs_auto();
  return xs_chosen;
}

const char *tess_xacc_kernel_name(void) { return xs_kernel()->name; }

int tess_xacc_kernel_select(const char *name)
{
  int found = -1;
  if (strcmp(name, "auto") == 0) {
    xs_chosen = xs_auto();
    return 0;
  }
  for (size_t i = 0; i < XS_NKERNELS; i++)
    if (strcmp(name, xs_kernels[i].name) == 0) {
#ifdef XS_HAVE_X86_DISPATCH
      __builtin_cpu_init();
#endif
      if (!xs_kernels[i].supported()) {
        found = -2;   /* a later entry of that name may fit this CPU */
        continue;
      }
      xs_chosen = &xs_kernels[i];
      return 0;
    }
  return found;
}

/* ---- the driver: blocks, spills, fallbacks ---------------------------------- */

typedef enum { XS_F64, XS_F32, XS_DOT64, XS_DOT32 } xs_kind_t;

typedef struct {
  xs_kind_t kind;
  const void *x, *y;
} xs_src_t;

/* Exact, one element at a time, NaN/Inf counted: the fallback, and the
 * whole of the "superacc" kernel. */
static inline double xs_value(const xs_src_t *s, size_t i)
{
  return s->kind == XS_F64 ? ((const double *)s->x)[i] : (double)((const float *)s->x)[i];
}

static void xs_slow(tess_exact_acc_t *acc, const xs_src_t *s, size_t i0, size_t n)
{
  if (s->kind == XS_DOT64 || s->kind == XS_DOT32) {
    for (size_t i = i0; i < i0 + n; i++) {
      double x = s->kind == XS_DOT64 ? ((const double *)s->x)[i] : ((const float *)s->x)[i];
      double y = s->kind == XS_DOT64 ? ((const double *)s->y)[i] : ((const float *)s->y)[i];
      tess_xacc_add_product(acc, x, y);
    }
    return;
  }
  tess_xacc_reserve(acc, (int64_t)n);
  for (size_t i = i0; i < i0 + n; i++) {
    double v = xs_value(s, i);
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    if (((bits >> 52) & 0x7ff) != 0x7ff) tess_xacc_add_finite_bits(acc, bits);
    else if (isnan(v)) acc->nan++;
    else if (v > 0) acc->pinf++;
    else acc->ninf++;
  }
}

static void xs_flush(tess_exact_acc_t *acc, xs_state_t *st)
{
  const double *t = (const double *)st->a;
  for (size_t i = 0; i < sizeof st->a / sizeof(double); i++)
    if (t[i] != 0) tess_xacc_add_double(acc, t[i]);
  memset(st, 0, sizeof *st);
}

/* Spills of a block that passed its checks; 0 if some rem is not finite. */
static int xs_spills_finite(const double *rem, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!isfinite(rem[i])) return 0;
  return 1;
}

/* Spills of one block to the superaccumulator; returns how many. */
static size_t xs_spill(tess_exact_acc_t *acc, const double *rem, size_t n)
{
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (rem[i] != 0) {
      tess_xacc_add_double(acc, rem[i]);
      k++;
    }
  return k;
}

/* The per-block switch between three exact paths, cheapest first: the
 * 2-term expansion (level 0), the fixed bins (1), the large
 * superaccumulator (2; range-independent). A block that spills more than
 * 1/XS_SPILL_FRAC of its elements (or overflows a lane, or, for the bins,
 * has exponents at the ends of the range) sends the next backoff[L] blocks
 * one level up; then one block tries level L again, and each retry that
 * still fails doubles backoff[L] (up to XS_BACKOFF_MAX). */
#define XS_SPILL_FRAC 32
#define XS_BACKOFF_MIN 16
#define XS_BACKOFF_MAX 1024

/* The switch's state carries over from call to call of a thread (data of
 * one kind tend to come in many calls, and a call in cache is only ~64
 * blocks). It steers speed only: every level is exact. */
typedef struct {
  int level, init;
  size_t wait, backoff[2];
} xs_switch_t;
static _Thread_local xs_switch_t xs_sw;

static void xs_run(tess_exact_acc_t *acc, const xs_src_t *s, size_t n)
{
  const xs_kernel_t *kern = xs_kernel();
  xs_state_t st, saved;
  xl_state_t *lt = NULL;   /* the large superaccumulator, zeroed on first use */
  static _Thread_local xl_state_t lt_store;
  xb_state_t bs;
  if (!xs_sw.init) xs_sw = (xs_switch_t){0, 1, 0, {XS_BACKOFF_MIN, XS_BACKOFF_MIN}};
  int level = xs_sw.level;
  size_t wait = xs_sw.wait, backoff[2] = {xs_sw.backoff[0], xs_sw.backoff[1]};
  /* scratch (32 KiB of stack): values fed to the kernel, their spills */
  _Alignas(64) double bp[XS_BLOCK], be[XS_BLOCK], rp[XS_BLOCK], re[XS_BLOCK];
  memset(&st, 0, sizeof st);
  bs.e0 = INT_MIN;
  bs.nb = bs.adds = 0;
  if (!kern->block) {
    for (size_t i0 = 0; i0 < n; i0 += XS_BLOCK)
      xs_slow(acc, s, i0, n - i0 < XS_BLOCK ? n - i0 : XS_BLOCK);
    return;
  }

  for (size_t i0 = 0; i0 < n; i0 += XS_BLOCK) {
    size_t len = n - i0 < XS_BLOCK ? n - i0 : XS_BLOCK;
    size_t padded = (len + XS_LANES - 1) / XS_LANES * XS_LANES;
    const double *p = NULL, *e = NULL;   /* the values this block sums */

    switch (s->kind) {
    case XS_F64:
      p = (const double *)s->x + i0;
      if (padded != len) {               /* the tail: zero-padded copy */
        memcpy(bp, p, len * sizeof *bp);
        p = bp;
      }
      break;
    case XS_F32:
      for (size_t i = 0; i < len; i++) bp[i] = ((const float *)s->x)[i0 + i];
      p = bp;
      break;
    case XS_DOT32:   /* 24 x 24 bits: every f32 product is exact in double */
      for (size_t i = 0; i < len; i++)
        bp[i] = (double)((const float *)s->x)[i0 + i] * ((const float *)s->y)[i0 + i];
      p = bp;
      break;
    case XS_DOT64:
      if (kern->prod((const double *)s->x + i0, (const double *)s->y + i0, len, bp, be)) {
        xs_slow(acc, s, i0, len);        /* Inf/NaN or tiny products */
        continue;
      }
      p = bp;
      e = be;
      break;
    }
    if (p == bp || p == be)
      for (size_t i = len; i < padded; i++) bp[i] = 0.0;
    if (e)
      for (size_t i = len; i < padded; i++) be[i] = 0.0;

    int mode = kern->force;
    if (!mode) {
      if (level > 0 && wait == 0) level--;   /* try the cheaper path again */
      else if (wait) wait--;
      mode = level;
    }
    size_t spills = 0;
    int high = 0;   /* this block wants a higher level */

    if (mode == 1) {
      unsigned lo, hi, elo, ehi;
      kern->range(p, padded, &lo, &hi);
      if (hi == 0x7ff) {                 /* Inf/NaN: counted one by one */
        xs_slow(acc, s, i0, len);
        continue;
      }
      if (e) {
        kern->range(e, padded, &elo, &ehi);
        if (elo < lo) lo = elo;
      }
      if (xb_prepare(acc, &bs, lo, hi, e ? 2 * padded : padded, kern->lanes)) {
        if (kern->bins(&bs, p, padded, rp) & XS_SPILL) spills += xs_spill(acc, rp, padded);
        if (e && (kern->bins(&bs, e, padded, re) & XS_SPILL)) spills += xs_spill(acc, re, padded);
        high = spills * XS_SPILL_FRAC > padded;
        goto next;
      }
      mode = 2;                          /* exponents at the ends of the range */
      high = 1;                          /* likely again: skip the bins for a while */
    }
    if (mode == 2) {
      if (!lt) {
        lt = &lt_store;
        if (!lt->ready) {
          memset(lt->c, 0, sizeof lt->c);
          for (int w = 0; w < XL_WAYS; w++)
            for (int k = 0; k < 2048; k++) lt->left[w][k] = XL_CAP;
          lt->lo = 2047;
          lt->hi = 0;
          lt->ready = 1;
        }
      }
      if (kern->large(acc, lt, p, padded))
        xs_slow(acc, s, i0, len);        /* Inf/NaN: counted one by one */
      else if (e && kern->large(acc, lt, e, padded))   /* e is finite when p is */
        xs_spill(acc, e, padded);
      if (high) {                        /* here from the bins: raise the level */
        mode = 1;
        goto next;
      }
      continue;                          /* the top level: it stays */
    }

    saved = st;
    /* prefetch only where it reads ahead in the caller's long array */
    xs_block_fn blk = n >= XS_PREFETCH_MIN && p != bp ? kern->block_pf : kern->block;
    int fp = blk(&st, p, padded, rp);
    int fe = e ? kern->block(&st, e, padded, re) : 0;
    int ok = !((fp | fe) & XS_NONFINITE) && (!(fp & XS_SPILL) || xs_spills_finite(rp, padded)) &&
             (!(fe & XS_SPILL) || xs_spills_finite(re, padded));
    if (!ok) {
      /* undo the block; flush the (finite) lanes so a lane near overflow
       * does not send every later block down this path too */
      st = saved;
      xs_flush(acc, &st);
      xs_slow(acc, s, i0, len);
      high = 1;                          /* lanes overflowed: wide data, likely again */
      goto next;
    }
    if (fp & XS_SPILL) spills += xs_spill(acc, rp, padded);
    if (fe & XS_SPILL) spills += xs_spill(acc, re, padded);
    high = spills * XS_SPILL_FRAC > padded;
  next:
    if (kern->force) continue;
    if (high) {
      level = mode + 1;
      wait = backoff[mode];
      backoff[mode] = backoff[mode] * 2 < XS_BACKOFF_MAX ? backoff[mode] * 2 : XS_BACKOFF_MAX;
    } else if (mode < level || wait == 0) {
      backoff[mode] = XS_BACKOFF_MIN;    /* the cheaper path works again */
    }
  }
  if (!kern->force) xs_sw = (xs_switch_t){level, 1, wait, {backoff[0], backoff[1]}};
  xs_flush(acc, &st);
  if (bs.e0 != INT_MIN) xb_flush(acc, &bs);
  if (lt) xl_flush(acc, lt);
}

void tess_xacc_sum_f64(tess_exact_acc_t *acc, const double *x, size_t n)
{
  xs_src_t s = {XS_F64, x, NULL};
  xs_run(acc, &s, n);
}

void tess_xacc_sum_f32(tess_exact_acc_t *acc, const float *x, size_t n)
{
  xs_src_t s = {XS_F32, x, NULL};
  xs_run(acc, &s, n);
}

void tess_xacc_dot_f64(tess_exact_acc_t *acc, const double *x, const double *y, size_t n)
{
  xs_src_t s = {XS_DOT64, x, y};
  xs_run(acc, &s, n);
}

void tess_xacc_dot_f32(tess_exact_acc_t *acc, const float *x, const float *y, size_t n)
{
  xs_src_t s = {XS_DOT32, x, y};
  xs_run(acc, &s, n);
}

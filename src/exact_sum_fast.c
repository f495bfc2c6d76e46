/* src/exact_sum_fast.c: the fast path of the exact sum.
 * Adding every element to the superaccumulator costs a few integer ops and
 * unpredictable memory traffic per element. Instead each of up to 32 SIMD
 * lanes keeps a few fixed bins (the extraction of Demmel and Nguyen's
 * reproducible sums, used here exactly): bin k of a lane is a double
 *     S_k = M_k + A_k,   M_k = 1.5 * 2^e_k,   e_k = e0 - step * k,
 * and while |A_k| < 2^(e_k - 1), S_k stays in [2^e_k, 2^(e_k+1)) with ulp
 * 2^(e_k - 52). With h bits of headroom (step = 52 - h, a fold every
 * 2^(h-1) adds per lane), bin 0 takes |x| < 2^(e0 - h), and for a remainder
 * r with |r| < 2^(e_k - h)
 *     S' = S + r;  q = S' - S;  r -= q;  S = S'
 * is error-free (Fast2Sum: |S| >= |r|, S' in S's binade): q joins A_k and
 * the new |r| <= half an ulp of bin k = 2^(e_k - 53) < 2^(e_(k+1) - h),
 * small enough for bin k+1. So each bin takes `step` bits, three
 * flops per bin per element, no data-dependent branch, whatever the signs
 * and cancellation; what is left after the last bin (usually 0) is
 * "spilled" (added exactly) to the superaccumulator. At every moment
 *     superacc + sum of (S_k - M_k) + folded bins == exact sum of what was read.
 * Every 2^(h-1) adds per lane the bins are folded: A_k (exact: S_k - M_k)
 * scaled to units of its ulp is an integer below 2^51, added to an int64
 * per bin and lane, and S_k is reset to M_k; the int64s go to the
 * superaccumulator every XB_FOLDS_MAX folds, when e0 changes and at the end.
 *
 * e0 is set from the block's largest element and kept while the data fit;
 * the kernel (one per bin count, so the bins stay in registers) also
 * returns the block's max |x|. A block whose max is too large for e0, or
 * that spills, or holds Inf/NaN, is redone from the bins as they were
 * (they are written to a second buffer and committed only if the block
 * passed): with e0 raised, with more bins (enough that its smallest
 * element's last bit lands in one), storing its remainders, or one element
 * at a time. Data too wide for XB_MAXBINS bins (or near the ends of the
 * exponent range) go to Neal's large superaccumulator, below.
 *
 * Dot products form x*y = p + e exactly with one FMA (valid while |p| >=
 * 2^-968 and p is finite, checked per block) and sum p and e in two sets
 * of bins (e is ~2^-53 of p: one set for both would need more bins). f32
 * data widen to double exactly (and f32 products are exact in double), so
 * one kernel serves all four entry points.
 *
 * The library is not built with -march=native; the kernels are compiled
 * three times (AVX-512F, AVX2+FMA, baseline) from one body and picked at
 * run time with __builtin_cpu_supports. All three are exact, so the choice
 * changes speed, never bits. */
#include "exact_acc_impl.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/log.h>

#define XS_LANES 32       /* lanes (fewer used by narrow ISAs) */
#define XS_BLOCK 1024     /* elements per block: the unit of checks and redos */

enum { XS_SPILL = 1, XS_NONFINITE = 2 };
/* Software prefetch, XS_PREFETCH doubles (32 KiB) ahead into L2, for calls
 * of at least XS_PREFETCH_MIN elements read from the caller's array. Whether
 * it pays depends on the machine, not on the vendor: on the GPU machines'
 * Xeon hosts the kernel does enough work per 64-byte line that the hardware
 * prefetchers fall behind (uniform data, 2^27, time over the plain loop's:
 * 1.66 without, 1.07-1.09 with; 8 KiB ahead into L1 1.10-1.17); on a 2-core
 * Xeon VM it costs (1.03 without, 1.19-1.46 with) on 2 MiB pages and saves
 * 5-8 % on 4 KiB pages; on AMD Zen 4 it costs ~10 %. So
 * each thread measures it (xs_probe_*): its first long calls alternate
 * chunks with and without, timed, and keep the faster. Only speed depends on
 * it; TESS_XSUM_PREFETCH=0/1 forces it (benchmarks). */
#ifndef XS_PREFETCH   /* (both overridable for experiments) */
#define XS_PREFETCH 4096
#endif
#ifndef XS_PF_LOCALITY   /* __builtin_prefetch's: 2 = prefetcht1 (L2) */
#define XS_PF_LOCALITY 2
#endif
#define XS_PREFETCH_MIN (1u << 17)
#define XS_PROBE_MIN (1u << 20)      /* calls long enough to stream from memory */
#define XS_PROBE_BLOCKS 64           /* blocks per timed chunk (512 KiB) */
#define XS_PROBE_CHUNKS 15           /* chunks timed each way (odd: a median) */

/* Headroom h, chosen when e0 is set (xb_geometry): h = 8 gives 44-bit bins
 * and a fold every 128 adds per lane (every 4 blocks of 1024 at 32 lanes,
 * under 1 % of the flops): 2 bins hold data within 34 binades of the
 * largest element (exponents e_max..e_max-34; 32 with XB_MARGIN), 3 within
 * 78, 4 within 122, 6 within 210. h = 6 gives 46-bit bins and a fold
 * every 32 adds (every block at 32 lanes, so not for narrower kernels):
 * 2 bins within 39 binades (2^+-20 data: 40 exponents), 3 within 85. The
 * bins cost 3 flops each per element, the fold a few per lane and bin: a
 * smaller h is taken only where it saves a bin. */
#define XB_HEADS {8, 7, 6}          /* preferred first; at least 1 + log2(adds per block) */
#define XB_MAXBINS 6
#define XB_MINBINS 2
#define XB_MARGIN 2               /* binades above the need when e0 is raised */
#define XB_EMAX 1022              /* S_0 < 2^(e0+1) finite */
#define XB_EMIN (-960)            /* 2^(52 - e_k) finite, for the fold's scale */
#define XB_FOLDS_MAX (1 << 11)    /* folds of < 2^51 each fit an int64 */

typedef struct {
  double s[2][XB_MAXBINS][XS_LANES];   /* committed bins: s[cur]; the other is scratch */
  int64_t q[XB_MAXBINS][XS_LANES];     /* folded A_k, in units of 2^(e_k - 52) */
  int cur;
  int e0;        /* exponent of bin 0; INT_MIN: not set */
  int nb;        /* bins in use */
  int qnb;       /* bins with folded contents (q[0..qnb) at this e0) */
  int adds;      /* per lane since the last fold */
  int folds;     /* since q went to the superaccumulator */
  int head;      /* headroom h: bins of step = 52 - h bits, a fold every 2^(h-1) adds */
  int step;
  double bound;  /* 2^(e0 - h): |x| below it go to bin 0 */
  double m[XB_MAXBINS], sc[XB_MAXBINS];   /* M_k = 1.5 * 2^e_k and 2^(52 - e_k), for the fold */
  double wmax;   /* largest |x| since the last fold */
} xb_state_t;

/* One block: n (a multiple of NV*W) elements of x through NB bins, read
 * from sin and written to sout (layout [bin][XS_LANES]). The remainders go
 * to rem[0..n) if STORE. Returns XS_SPILL if a remainder is non-zero,
 * XS_NONFINITE if a bin went Inf/NaN; *mxo = max |x| (NaN may be lost:
 * the bins show it). With LAST the last bin only adds (1 flop, not 3): its
 * add is exact, and no remainder is left, when every element is a multiple
 * of that bin's ulp 2^(e_last - 52), which holds for x == 0 and |x| >=
 * 2^e_last (`thr`, as bits). So the kernel tracks the smallest |x| instead
 * of the remainders and returns XS_SPILL if some non-zero x is below thr (the
 * caller redoes the block storing remainders); a block whose smallest |x| is
 * 0 looks for its smallest non-zero one in a second pass. On AVX-512 (the
 * only LAST kernels) the largest and the smallest |x| take one VRANGEPD each
 * (AVX512DQ: max/min of magnitudes, sign cleared) where an AND, a max, a
 * subtraction and an unsigned min took four: with 2 bins, 6 vector ops per
 * 8 elements instead of 8. A macro, so that each ISA gets its own vector width
 * (GCC lowers wider-than-native vectors through the stack) and each bin
 * count its own loop (the bins stay in registers). */
#define XS_DEFINE_FUSED(NAME, ATTR, W, NV, FADD, FSUB, FMAXABS, FMINABS, FMAXB, FMINU, NB, STORE, \
                        PFD, LAST, INTMIN)                                          \
  ATTR static int NAME(const double (*sin)[XS_LANES], double (*sout)[XS_LANES],     \
                       const double *x, size_t n, double *rem, double *mxo,         \
                       uint64_t thr)                                                \
  {                                                                                 \
    typedef double vd __attribute__((vector_size(8 * (W))));                        \
    typedef int64_t vi __attribute__((vector_size(8 * (W))));                       \
    vd s[NB][NV], mx[NV], mn[NV];                                                   \
    vi any = {0}, bad = {0}, am, expmask;                                           \
    for (int i = 0; i < (W); i++) {                                                 \
      am[i] = INT64_MAX;                                                            \
      expmask[i] = INT64_C(0x7ff0000000000000);                                     \
      for (int v = 0; v < (NV); v++) mn[v][i] = HUGE_VAL;                           \
    }                                                                               \
    if (INTMIN) memset(mn, 0xff, sizeof mn); /* bits(|x|) - 1: 0 wraps to the top */ \
    for (int k = 0; k < (NB); k++) memcpy(s[k], sin[k], sizeof s[k]);               \
    memset(mx, 0, sizeof mx);                                                       \
    for (size_t c = 0; c < n; c += (size_t)(NV) * (W)) {                            \
      for (int v = 0; v < (NV); v++) {                                              \
        vd r;                                                                       \
        memcpy(&r, x + c + (size_t)v * (W), sizeof r);                              \
        if ((PFD) && ((size_t)v * (W)) % 8 == 0) /* one per 64-byte line */         \
          __builtin_prefetch(x + c + (size_t)v * (W) + (PFD), 0, XS_PF_LOCALITY);                \
        if (INTMIN) { /* on the bits: AND, max, subtract 1, unsigned min */         \
          vi ab = (vi)r & am;                                                       \
          mx[v] = FMAXB(mx[v], (vd)ab);                                             \
          if (LAST) mn[v] = (vd)FMINU((vi)mn[v], ab - 1);                           \
        } else {                                                                    \
          mx[v] = FMAXABS(mx[v], r, am);                                            \
          if (LAST) mn[v] = FMINABS(mn[v], r);                                      \
        }                                                                           \
        for (int k = 0; k < (NB) - (LAST); k++) {                                   \
          vd s1 = FADD(s[k][v], r); /* 2 of the 3 on the FMA pipes */               \
          r = FSUB(r, s1 - s[k][v]);                                                \
          s[k][v] = s1;                                                             \
        }                                                                           \
        if (LAST) {                                                                 \
          s[(NB) - 1][v] = FADD(s[(NB) - 1][v], r);                                 \
        } else {                                                                    \
          if (STORE) memcpy(rem + c + (size_t)v * (W), &r, sizeof r);               \
          any |= (vi)r;                                                             \
        }                                                                           \
      }                                                                             \
    }                                                                               \
    for (int k = 0; k < (NB); k++) {                                                \
      memcpy(sout[k], s[k], sizeof s[k]);                                           \
      for (int v = 0; v < (NV); v++) bad |= ((vi)s[k][v] & expmask) == expmask;      \
    }                                                                               \
    double m = 0, lo = HUGE_VAL;                                                    \
    uint64_t anyr = 0, badr = 0;                                                    \
    for (int v = 0; v < (NV); v++)                                                  \
      for (int i = 0; i < (W); i++) {                                               \
        m = mx[v][i] > m ? mx[v][i] : m;                                            \
        if (!(INTMIN)) lo = mn[v][i] < lo ? mn[v][i] : lo;                          \
        else if (LAST) anyr |= (uint64_t)((vi)mn[v])[i] < thr - 1;                  \
      }                                                                             \
    for (int i = 0; i < (W); i++) {                                                 \
      anyr |= (uint64_t)any[i];                                                     \
      badr |= (uint64_t)bad[i];                                                     \
    }                                                                               \
    if ((LAST) && !(INTMIN)) {                                                      \
      double t;                                                                     \
      memcpy(&t, &thr, sizeof t);                                                   \
      if (lo == 0) /* a zero: the smallest non-zero |x| */                          \
        for (size_t c = 0; c < n; c++) {                                            \
          double a = fabs(x[c]);                                                    \
          lo = a != 0 && a < lo ? a : lo;                                           \
        }                                                                           \
      if (lo < t) anyr |= 2; /* an x that is not a multiple */                      \
    }                                                                               \
    *mxo = m;                                                                       \
    return ((anyr << 1) ? XS_SPILL : 0) | (badr ? XS_NONFINITE : 0); /* -0 is 0 */  \
  }

typedef int (*xs_fused_fn)(const double (*)[XS_LANES], double (*)[XS_LANES], const double *,
                           size_t, double *, double *, uint64_t);
/* The kernels of one bin count (XS_DEFINE_FUSED_NB), as indexed in xs_kernel_t.fused */
enum { XS_K_PLAIN, XS_K_STORE, XS_K_PREFETCH, XS_K_LONG, XS_K_N };

/* Every bin count 2..XB_MAXBINS: plain, storing the remainders, with
 * software prefetch (for long arrays where it pays: below), and for long
 * arrays without it. The range of |x| is tracked with one op each for the
 * largest and the smallest in the plain kernels (FMAXABS, FMINABS: VRANGEPD
 * on AVX-512), with four (on the bits: FMAXB, FMINU) in the two kernels for
 * long arrays: measured on the Xeon VM (2^27 uniform data), the four-op form
 * streams from memory 4-8 % faster (1.06-1.09x the plain loop's time vs
 * 1.11-1.15x), while in cache the ranges are 20 % faster (1.48-1.50x vs 1.86-1.90x). */
#define XS_DEFINE_FUSED_NB(P, ATTR, W, NV, FADD, FSUB, FMAXABS, FMINABS, FMAXB, FMINU, NB,  \
                           LAST)                                                          \
  XS_DEFINE_FUSED(P##_##NB, ATTR, W, NV, FADD, FSUB, FMAXABS, FMINABS, FMAXB, FMINU, NB, 0, \
                  0, LAST, 0)                                                             \
  XS_DEFINE_FUSED(P##_##NB##s, ATTR, W, NV, FADD, FSUB, FMAXABS, FMINABS, FMAXB, FMINU, NB, \
                  1, 0, 0, 0)                                                             \
  XS_DEFINE_FUSED(P##_##NB##p, ATTR, W, NV, FADD, FSUB, FMAXABS, FMINABS, FMAXB, FMINU, NB, \
                  0, XS_PREFETCH, LAST, LAST)                                             \
  XS_DEFINE_FUSED(P##_##NB##l, ATTR, W, NV, FADD, FSUB, FMAXABS, FMINABS, FMAXB, FMINU, NB, \
                  0, 0, LAST, LAST)
#define XS_DEFINE_FUSED_ALL(P, ATTR, W, NV, FADD, FSUB, FMAXABS, FMINABS, FMAXB, FMINU, LAST) \
  XS_DEFINE_FUSED_NB(P, ATTR, W, NV, FADD, FSUB, FMAXABS, FMINABS, FMAXB, FMINU, 2, LAST)               \
  XS_DEFINE_FUSED_NB(P, ATTR, W, NV, FADD, FSUB, FMAXABS, FMINABS, FMAXB, FMINU, 3, LAST)               \
  XS_DEFINE_FUSED_NB(P, ATTR, W, NV, FADD, FSUB, FMAXABS, FMINABS, FMAXB, FMINU, 4, LAST)               \
  XS_DEFINE_FUSED_NB(P, ATTR, W, NV, FADD, FSUB, FMAXABS, FMINABS, FMAXB, FMINU, 5, LAST)               \
  XS_DEFINE_FUSED_NB(P, ATTR, W, NV, FADD, FSUB, FMAXABS, FMINABS, FMAXB, FMINU, 6, LAST)
#define XS_FUSED_TABLE(P)                                                           \
  {{NULL, NULL, NULL, NULL}, {NULL, NULL, NULL, NULL}, {P##_2, P##_2s, P##_2p, P##_2l}, \
   {P##_3, P##_3s, P##_3p, P##_3l}, {P##_4, P##_4s, P##_4p, P##_4l},                \
   {P##_5, P##_5s, P##_5p, P##_5l}, {P##_6, P##_6s, P##_6p, P##_6l}}

/* The fold (above) over the first `lanes` lanes of every bin in use. One
 * body per ISA, so that it vectorises; exact: S - M by Sterbenz, times a
 * power of two, an integer below 2^51 read off through 1.5 * 2^52. */
#define XS_DEFINE_FOLD(NAME, ATTR)                                                  \
  ATTR static void NAME(xb_state_t *b, int lanes)                                   \
  {                                                                                 \
    const double magic = 0x1.8p52;                                                  \
    int64_t mb;                                                                     \
    memcpy(&mb, &magic, sizeof mb);                                                 \
    for (int k = 0; k < b->nb; k++) {                                               \
      double m = b->m[k], sc = b->sc[k];                                            \
      double *s = b->s[b->cur][k];                                                  \
      int64_t *q = b->q[k];                                                         \
      for (int l = 0; l < lanes; l++) {                                             \
        double t = (s[l] - m) * sc + magic;                                         \
        int64_t tb;                                                                 \
        memcpy(&tb, &t, sizeof tb);                                                 \
        q[l] += tb - mb;                                                            \
        s[l] = m;                                                                   \
      }                                                                             \
    }                                                                               \
  }
typedef void (*xs_fold_fn)(xb_state_t *, int);

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

typedef int (*xs_prod_fn)(const double *, const double *, size_t, double *, double *);
typedef void (*xs_range_fn)(const double *, size_t, unsigned *, unsigned *);
typedef int (*xs_large_fn)(tess_exact_acc_t *, xl_state_t *, const double *, size_t);

#define XS_PLAIN_ADD(a, b) ((a) + (b))
#define XS_PLAIN_SUB(a, b) ((a) - (b))
/* max of |x| on their bits (ordered like the values): no vector ?: in C */
#define XS_PLAIN_MAX(a, b) \
  ((vd)((((vi)(a) > (vi)(b)) & (vi)(a)) | (~((vi)(a) > (vi)(b)) & (vi)(b))))
#define XS_PLAIN_MAXABS(m, r, am) XS_PLAIN_MAX(m, (vd)((vi)(r) & (am)))
/* below AVX-512 no add-only last bin: those kernels keep the remainder check */
#define XS_NO_MINABS(a, r) (a)
#define XS_NO_MINU(a, b) (a)
XS_DEFINE_FUSED_ALL(xs_fused_generic, , 2, 4, XS_PLAIN_ADD, XS_PLAIN_SUB, XS_PLAIN_MAXABS, XS_NO_MINABS,
                    XS_PLAIN_MAX, XS_NO_MINU, 0)
XS_DEFINE_FOLD(xs_fold_generic, )
XS_DEFINE_LARGE(xs_large_generic, )
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
#define XS_MAXABS256(m, r, am) ((vd)_mm256_max_pd((__m256d)(m), (__m256d)((vi)(r) & (am))))
#define XS_AVX2 __attribute__((target("avx2,fma")))
#define XS_MAX256(a, b) ((vd)_mm256_max_pd((__m256d)(a), (__m256d)(b)))
XS_DEFINE_FUSED_ALL(xs_fused_avx2, XS_AVX2, 4, 4, XS_ADD256, XS_SUB256, XS_MAXABS256, XS_NO_MINABS,
                    XS_MAX256, XS_NO_MINU, 0)
XS_DEFINE_FOLD(xs_fold_avx2, XS_AVX2)
XS_DEFINE_LARGE(xs_large_avx2, XS_AVX2)
XS_DEFINE_RANGE(xs_range_avx2, XS_AVX2)
__attribute__((target("avx2,fma"))) static int
xs_prod_avx2(const double *x, const double *y, size_t n, double *p, double *e)
{
  return xs_two_prod_body(x, y, n, p, e);
}
#define XS_ADD512(a, b) ((vd)_mm512_fmadd_pd((__m512d)(a), _mm512_set1_pd(1.0), (__m512d)(b)))
#define XS_SUB512(a, b) ((vd)_mm512_fmsub_pd((__m512d)(a), _mm512_set1_pd(1.0), (__m512d)(b)))
/* VRANGEPD imm8: bits 1:0 = 3 max / 2 min of magnitudes, bits 3:2 = 2 sign cleared */
#define XS_MAXABS512(m, r, am) ((void)(am), (vd)_mm512_range_pd((__m512d)(m), (__m512d)(r), 0x0b))
#define XS_MINABS512(m, r) ((vd)_mm512_range_pd((__m512d)(m), (__m512d)(r), 0x0a))
#define XS_AVX512 __attribute__((target("avx512f,avx512dq")))
#define XS_MAX512(a, b) ((vd)_mm512_max_pd((__m512d)(a), (__m512d)(b)))
#define XS_MINU512(a, b) ((vi)_mm512_min_epu64((__m512i)(a), (__m512i)(b)))
XS_DEFINE_FUSED_ALL(xs_fused_avx512, XS_AVX512, 8, 4, XS_ADD512, XS_SUB512, XS_MAXABS512, XS_MINABS512,
                    XS_MAX512, XS_MINU512, 1)
XS_DEFINE_FOLD(xs_fold_avx512, XS_AVX512)
XS_DEFINE_LARGE(xs_large_avx512, XS_AVX512)
XS_DEFINE_RANGE(xs_range_avx512, XS_AVX512)
__attribute__((target("avx512f"))) static int
xs_prod_avx512(const double *x, const double *y, size_t n, double *p, double *e)
{
  return xs_two_prod_body(x, y, n, p, e);
}
#endif

typedef struct {
  const char *name;
  xs_fused_fn fused[XB_MAXBINS + 1][XS_K_N];   /* [bins][XS_K_*]; NULL: no fast path */
  xs_fold_fn fold;
  xs_prod_fn prod;
  xs_range_fn range;
  xs_large_fn large;   /* the large superaccumulator, for blocks the bins cannot hold */
  int lanes;           /* lanes of `fused` (W*NV): each lane takes n/lanes adds */
  int force;           /* 0: switch per block; 1: bins only; 2: large only (tests) */
  int (*supported)(void);
} xs_kernel_t;

static int xs_always(void) { return 1; }
#ifdef XS_HAVE_X86_DISPATCH
static int xs_has_avx512(void)
{
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
}
static int xs_has_avx2(void)
{
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

/* the largest headroom (XB_HEADS) takes a block of the narrowest kernel */
_Static_assert(XS_BLOCK / 8 <= 1 << (8 - 1), "a block's adds per lane exceed every headroom");
/* Best first: "auto" takes the first one the CPU supports. */
static const xs_kernel_t xs_kernels[] = {
#ifdef XS_HAVE_X86_DISPATCH
#define XS_AVX512_FNS XS_FUSED_TABLE(xs_fused_avx512), xs_fold_avx512, xs_prod_avx512, \
                      xs_range_avx512, xs_large_avx512, 32
#define XS_AVX2_FNS XS_FUSED_TABLE(xs_fused_avx2), xs_fold_avx2, xs_prod_avx2, xs_range_avx2, \
                    xs_large_avx2, 16
  {"avx512", XS_AVX512_FNS, 0, xs_has_avx512},
  {"avx2", XS_AVX2_FNS, 0, xs_has_avx2},
#endif
#define XS_GENERIC_FNS XS_FUSED_TABLE(xs_fused_generic), xs_fold_generic, xs_prod_generic, \
                       xs_range_generic, xs_large_generic, 8
  {"generic", XS_GENERIC_FNS, 0, xs_always},
  {"superacc", {{NULL, NULL, NULL, NULL}}, NULL, NULL, NULL, NULL, 0, 0, xs_always},
#ifdef XS_HAVE_X86_DISPATCH   /* the two paths alone, best ISA (tests) */
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

/* Software prefetch (see XS_PREFETCH): forced by the environment, or
 * measured per thread. Until measured, long calls run without. */
enum { XS_PF_OFF = 0, XS_PF_ON = 1, XS_PF_PROBE = 2 };
typedef struct {
  int mode;               /* XS_PF_*; -1: not read yet */
  int forced;             /* by TESS_XSUM_PREFETCH */
  int n[2];               /* chunks timed without / with */
  double t[2][XS_PROBE_CHUNKS];   /* their seconds */
} xs_pf_t;
static _Thread_local xs_pf_t xs_pf = {-1, 0, {0, 0}, {{0}, {0}}};

static int xs_prefetch_mode(void)
{
  if (xs_pf.mode < 0) {
    const char *env = getenv("TESS_XSUM_PREFETCH");
    xs_pf.forced = env && (env[0] == '0' || env[0] == '1');
    xs_pf.mode = xs_pf.forced ? env[0] == '1' : XS_PF_PROBE;
  }
  return xs_pf.mode;
}

static int xs_cmp_d(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* A timed chunk: with prefetch (on = 1) or without, in the order off, on,
 * on, off, off, on, ... (so a drift during the probe favours neither). The
 * first two chunks of a thread are not counted (bins set up). Decides once
 * both ways have XS_PROBE_CHUNKS, by the medians (a chunk that an interrupt
 * or a neighbour hit does not decide): prefetch only if 10 % faster (it pays
 * 35-50 % where it pays; where it costs, by 10-20 %, a 5 % margin was
 * crossed by noise in 2 of 5 processes). */
static void xs_probe_add(int on, double secs, int *skip)
{
  if (*skip > 0) {
    (*skip)--;
    return;
  }
  if (xs_pf.n[on] < XS_PROBE_CHUNKS) xs_pf.t[on][xs_pf.n[on]++] = secs;
  if (xs_pf.n[0] == XS_PROBE_CHUNKS && xs_pf.n[1] == XS_PROBE_CHUNKS) {
    qsort(xs_pf.t[0], XS_PROBE_CHUNKS, sizeof(double), xs_cmp_d);
    qsort(xs_pf.t[1], XS_PROBE_CHUNKS, sizeof(double), xs_cmp_d);
    xs_pf.mode = xs_pf.t[1][XS_PROBE_CHUNKS / 2] < 0.9 * xs_pf.t[0][XS_PROBE_CHUNKS / 2]
                     ? XS_PF_ON : XS_PF_OFF;
  }
}

const char *tess_xacc_prefetch_state(void)
{
  int m = xs_prefetch_mode();
  if (xs_pf.forced) return m == XS_PF_ON ? "on (TESS_XSUM_PREFETCH)" : "off (TESS_XSUM_PREFETCH)";
  return m == XS_PF_ON ? "on (measured)" : m == XS_PF_OFF ? "off (measured)" : "not yet measured";
}

/* ---- the bins' bookkeeping --------------------------------------------------- */

/* The folded int64s to the superaccumulator. */
static void xb_flush_q(tess_exact_acc_t *acc, xb_state_t *b, int lanes)
{
  tess_xacc_reserve(acc, (int64_t)b->qnb * lanes);
  for (int k = 0; k < b->qnb; k++)
    for (int l = 0; l < lanes; l++)
      if (b->q[k][l]) {
        tess_xacc_add_i64(acc, b->q[k][l], b->e0 - b->step * k - 52);
        b->q[k][l] = 0;
      }
  b->qnb = 0;
  b->folds = 0;
}

static void xb_fold(const xs_kernel_t *kern, tess_exact_acc_t *acc, xb_state_t *b)
{
  kern->fold(b, kern->lanes);
  if (b->nb > b->qnb) b->qnb = b->nb;
  b->adds = 0;
  b->wmax = 0;
  if (++b->folds >= XB_FOLDS_MAX) xb_flush_q(acc, b, kern->lanes);
}

/* Everything in the bins to the superaccumulator; the bins unset. */
static void xb_flush(const xs_kernel_t *kern, tess_exact_acc_t *acc, xb_state_t *b)
{
  if (b->e0 == INT_MIN) return;
  xb_fold(kern, acc, b);
  xb_flush_q(acc, b, kern->lanes);
  b->e0 = INT_MIN;
  b->nb = 0;
}

/* A new top exponent (and headroom): what the bins hold goes to the
 * superaccumulator. */
static void xb_set_e0(const xs_kernel_t *kern, tess_exact_acc_t *acc, xb_state_t *b, int e0,
                      int head)
{
  xb_flush(kern, acc, b);
  b->e0 = e0;
  b->head = head;
  b->step = 52 - head;
  b->bound = ldexp(1.0, e0 - head);
  for (int k = 0; k < XB_MAXBINS; k++) {   /* bins past XB_EMIN are never used */
    b->m[k] = ldexp(1.5, e0 - b->step * k);
    b->sc[k] = ldexp(1.0, 52 - (e0 - b->step * k));
  }
  b->nb = 0;
  b->adds = 0;
  b->wmax = 0;
}

/* More bins (never fewer): the new ones start empty, at M_k. */
static void xb_grow(xb_state_t *b, int nb, int lanes)
{
  for (int k = b->nb; k < nb; k++) {
    for (int l = 0; l < lanes; l++) b->s[b->cur][k][l] = b->m[k];
  }
  if (nb > b->nb) b->nb = nb;
}

/* The fold due before a block of n more adds per lane; there the bins
 * adapt to the data: the last bin goes if it took nothing since the last
 * fold, and e0 comes down if the data's max fell well below it. */
static void xb_fold_due(const xs_kernel_t *kern, tess_exact_acc_t *acc, xb_state_t *b, int adds)
{
  if (b->e0 == INT_MIN || b->adds + adds <= 1 << (b->head - 1)) return;
  int drop = 0, lower = 0, head = b->head;
  if (b->nb > XB_MINBINS) {
    double m = b->m[b->nb - 1];
    drop = 1;
    for (int l = 0; l < kern->lanes; l++) drop &= b->s[b->cur][b->nb - 1][l] == m;
  }
  if (b->wmax > 0) {
    int e;
    frexp(b->wmax, &e);   /* wmax < 2^e */
    lower = e - 1 + 1 + head + XB_MARGIN;
    if (lower > b->e0 - 4 * XB_MARGIN || lower - b->step * (XB_MINBINS - 1) < XB_EMIN) lower = 0;
  }
  xb_fold(kern, acc, b);
  int nb = b->nb - drop;
  if (lower) {
    while (nb > XB_MINBINS && lower - b->step * (nb - 1) < XB_EMIN) nb--;
    xb_set_e0(kern, acc, b, lower, head);
    xb_grow(b, nb, kern->lanes);
  }
  b->nb = nb;
}

enum { XB_NONFINITE = -1, XB_RANGE = -2 };

/* Bins (from nb on, at most XB_MAXBINS) for the smallest non-zero element,
 * of biased exponent lo, to have its last bit in one: e_last <= its exponent. */
static int xb_bins_for(int e0, int step, unsigned lo, int nb)
{
  while (nb < XB_MAXBINS && e0 - step * (nb - 1) - 52 > (int)lo - 1075) nb++;
  return nb;
}

/* e0 and headroom for a block of |x| < 2^(hx + 1) whose smallest non-zero
 * element has biased exponent lo (0x7ff: none): the fewest bins, then the
 * preferred headroom (XB_HEADS), then XB_MARGIN binades to spare above the
 * need (so that slowly growing data do not reset e0 at every block); the
 * margin only where it costs no bin. */
static void xb_geometry(int hx, unsigned lo, int lanes, int *e0, int *head)
{
  static const int heads[] = XB_HEADS;
  int best = XB_MAXBINS + 1, head_min = 1;
  while (1 << (head_min - 1) < XS_BLOCK / lanes) head_min++;   /* a block fits one fold */
  *head = heads[0];
  *e0 = hx + 1 + heads[0] + XB_MARGIN;
  if (lo == 0x7ff) return;
  for (int m = XB_MARGIN; m >= 0; m -= XB_MARGIN)
    for (size_t i = 0; i < sizeof heads / sizeof heads[0] && heads[i] >= head_min; i++) {
      int e = hx + 1 + heads[i] + m;
      int nb = xb_bins_for(e, 52 - heads[i], lo, XB_MINBINS);
      if (nb < best) {
        best = nb;
        *e0 = e;
        *head = heads[i];
      }
    }
}

/* The fast try of n values (adds per lane, after the fold due): the bins
 * as they are, committed only if nothing spilled or went non-finite and
 * the largest |x| is within bin 0's bound; then 1. */
static int xb_try(const xs_kernel_t *kern, xb_state_t *b, const double *v, size_t n, int adds,
                  int variant)
{
  double mx;
  if (b->e0 == INT_MIN) return 0;
  int nxt = b->cur ^ 1;
  uint64_t thr = (uint64_t)(b->e0 - b->step * (b->nb - 1) + 1023) << 52;   /* 2^e_last */
  int f = kern->fused[b->nb][variant]((const double (*)[XS_LANES])b->s[b->cur], b->s[nxt], v, n,
                                      NULL, &mx, thr);
  if (f != 0 || !(mx < b->bound)) return 0;
  b->cur = nxt;
  b->adds += adds;
  if (mx > b->wmax) b->wmax = mx;
  return 1;
}

/* Several blocks in one kernel call, as many as one fold allows (2^(h-1)
 * adds per lane): the per-call checks and bookkeeping cost ~10 % of a
 * block of 1024 in cache. 1 if done; 0 if the caller is to take the blocks
 * one by one (nothing added). */
static int xb_span(const xs_kernel_t *kern, tess_exact_acc_t *acc, xb_state_t *b, const double *v,
                   size_t n, int variant)
{
  int adds = (int)(n / (size_t)kern->lanes);
  xb_fold_due(kern, acc, b, adds);
  return xb_try(kern, b, v, n, adds, variant);
}

/* One block of values v (n a multiple of the lanes, zero-padded) into the
 * bins, tried first with kernel `variant` (XS_K_PLAIN, _PREFETCH or _LONG);
 * exact. Returns the number of remainders spilled to the
 * superaccumulator (via rem[0..n)), or, having added nothing, XB_NONFINITE
 * (v holds Inf/NaN) or XB_RANGE (the bins cannot hold v's range). */
static long xb_block(const xs_kernel_t *kern, tess_exact_acc_t *acc, xb_state_t *b,
                     const double *v, size_t n, double *rem, int variant)
{
  int adds = (int)(n / (size_t)kern->lanes), nxt;
  long spills = 0;
  double mx;
  xb_fold_due(kern, acc, b, adds);
  if (xb_try(kern, b, v, n, adds, variant)) return 0;
  nxt = b->cur ^ 1;
  /* redo from the committed bins: e0 and the bins set from v's range */
  unsigned lo, hi;
  kern->range(v, n, &lo, &hi);
  if (hi == 0x7ff) return XB_NONFINITE;
  /* zeros and subnormals only: set e0 as if for data near 1 (zeros add
   * nothing; subnormals spill) */
  int hx = hi ? (int)hi - 1023 : 0;   /* |x| < 2^(hx + 1) */
  if (b->e0 == INT_MIN || hx + 1 + b->head > b->e0) {
    int e0, head;
    xb_geometry(hx, lo, kern->lanes, &e0, &head);
    if (e0 > XB_EMAX || e0 - (52 - head) * (XB_MINBINS - 1) < XB_EMIN) return XB_RANGE;
    xb_set_e0(kern, acc, b, e0, head);
  }
  int nb = b->nb < XB_MINBINS ? XB_MINBINS : b->nb;
  if (lo != 0x7ff) nb = xb_bins_for(b->e0, b->step, lo, nb);
  while (nb > XB_MINBINS && b->e0 - b->step * (nb - 1) < XB_EMIN) nb--;
  if (b->e0 - b->step * (nb - 1) < XB_EMIN) return XB_RANGE;
  xb_grow(b, nb, kern->lanes);
  int f = kern->fused[b->nb][XS_K_STORE]((const double (*)[XS_LANES])b->s[b->cur], b->s[nxt], v, n, rem,
                                &mx, 0);
  if (f & XS_SPILL) spills = (long)xs_spill(acc, rem, n);
  b->cur = nxt;
  b->adds += adds;
  if (mx > b->wmax) b->wmax = mx;
  return spills;
}

/* ---- the driver: blocks, spills, fallbacks ---------------------------------- */

/* The per-block switch between the two exact paths: the bins (level 0) and
 * the large superaccumulator (1; range-independent). A block that spills
 * more than 1/XS_SPILL_FRAC of its elements, or whose range the bins
 * cannot hold, sends the next `backoff` blocks to level 1; then one block
 * tries the bins again, and each retry that still fails doubles `backoff`
 * (up to XS_BACKOFF_MAX). */
#define XS_SPILL_FRAC 32
#define XS_BACKOFF_MIN 16
#define XS_BACKOFF_MAX 1024

/* The switch's state carries over from call to call of a thread (data of
 * one kind tend to come in many calls, and a call in cache is only ~64
 * blocks). It steers speed only: both levels are exact. */
typedef struct {
  int level, init;
  size_t wait, backoff;
} xs_switch_t;
static _Thread_local xs_switch_t xs_sw;

static xl_state_t *xs_large_state(void)
{
  static _Thread_local xl_state_t t;
  if (!t.ready) {
    memset(t.c, 0, sizeof t.c);
    for (int w = 0; w < XL_WAYS; w++)
      for (int k = 0; k < 2048; k++) t.left[w][k] = XL_CAP;
    t.lo = 2047;
    t.hi = 0;
    t.ready = 1;
  }
  return &t;
}

static void xs_run(tess_exact_acc_t *acc, const xs_src_t *s, size_t n)
{
  const xs_kernel_t *kern = xs_kernel();
  xl_state_t *lt = NULL;   /* the large superaccumulator, set up on first use */
  static _Thread_local xb_state_t bs[2];   /* bins of the values, and of the products' low parts */
  if (!xs_sw.init) xs_sw = (xs_switch_t){0, 1, 0, XS_BACKOFF_MIN};
  int level = xs_sw.level;
  size_t wait = xs_sw.wait, backoff = xs_sw.backoff;
  /* scratch (32 KiB of stack): values fed to the kernel, their spills */
  _Alignas(64) double bp[XS_BLOCK], be[XS_BLOCK], rp[XS_BLOCK];
  if (!kern->fold) {
    for (size_t i0 = 0; i0 < n; i0 += XS_BLOCK)
      xs_slow(acc, s, i0, n - i0 < XS_BLOCK ? n - i0 : XS_BLOCK);
    return;
  }
  /* q is all zero between calls (thread-local storage starts zeroed, and
   * xb_flush_q clears every entry a fold wrote): only the scalars are set */
  for (int j = 0; j < 2; j++) {
    bs[j].e0 = INT_MIN;
    bs[j].nb = bs[j].qnb = bs[j].adds = bs[j].folds = bs[j].cur = 0;
  }
  /* prefetch only where it reads ahead in the caller's long array; long
   * enough calls, until measured, alternate chunks with and without */
  const int pf_mode = xs_prefetch_mode();
  const int pf_long = n >= XS_PREFETCH_MIN && pf_mode != XS_PF_OFF;
  const int probing = pf_mode == XS_PF_PROBE && n >= XS_PROBE_MIN;
  int probe_skip = xs_pf.n[0] + xs_pf.n[1] == 0 ? 2 : 0;
  double chunk_t0 = 0;

  for (size_t i0 = 0; i0 < n; i0 += XS_BLOCK) {
    size_t len = n - i0 < XS_BLOCK ? n - i0 : XS_BLOCK;
    size_t padded = (len + XS_LANES - 1) / XS_LANES * XS_LANES;
    const double *p = NULL, *e = NULL;   /* the values this block sums */
    size_t blk = i0 / XS_BLOCK, chunk = blk / XS_PROBE_BLOCKS;
    int pf = pf_long && xs_pf.mode == XS_PF_ON;
    const int probe_now = probing && xs_pf.mode == XS_PF_PROBE;
    if (probe_now) {   /* chunks off, on, on, off, off, on, ... */
      pf = (int)(((chunk + 1) >> 1) & 1);
      if (blk % XS_PROBE_BLOCKS == 0) {
        double t = tess_wtime();
        if (blk > 0) xs_probe_add((int)((chunk >> 1) & 1), t - chunk_t0, &probe_skip);
        chunk_t0 = t;
      }
    }
    /* kernels that read the caller's long array: their own (XS_DEFINE_FUSED_NB) */
    const int variant = n < XS_PREFETCH_MIN ? XS_K_PLAIN : pf ? XS_K_PREFETCH : XS_K_LONG;
    /* the caller's doubles, while the bins take them (not probing): as
     * many blocks per kernel call as one fold allows; a span that fails
     * goes block by block */
    if (s->kind == XS_F64 && bs[0].e0 != INT_MIN && !probe_now &&
        (kern->force == 1 || (!kern->force && level == 0 && wait == 0))) {
      size_t span = ((size_t)1 << (bs[0].head - 1)) * (size_t)kern->lanes;
      if (span > XS_BLOCK && n - i0 >= span &&
          xb_span(kern, acc, &bs[0], (const double *)s->x + i0, span, variant)) {
        i0 += span - XS_BLOCK;   /* and the loop's step */
        backoff = XS_BACKOFF_MIN;
        continue;
      }
    }

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
    if (p == bp)
      for (size_t i = len; i < padded; i++) bp[i] = 0.0;
    if (e)
      for (size_t i = len; i < padded; i++) be[i] = 0.0;

    if (!kern->force) {
      if (level > 0 && wait == 0) level = 0;   /* try the bins again */
      else if (wait) wait--;
    }
    int mode = kern->force ? kern->force - 1 : level;
    int high = 0;   /* this block wants the large superaccumulator */
    const double *big[2] = {NULL, NULL};   /* parts the large superaccumulator takes */

    if (mode == 0) {
      long sp = xb_block(kern, acc, &bs[0], p, padded, rp, p == bp ? XS_K_PLAIN : variant);
      if (sp == XB_NONFINITE) {          /* Inf/NaN: counted one by one */
        xs_slow(acc, s, i0, len);
        continue;
      }
      long se = sp < 0 || !e ? 0 : xb_block(kern, acc, &bs[1], e, padded, rp, 0);
      if (sp < 0) big[0] = p;            /* XB_RANGE: nothing added */
      if (sp < 0 && e) big[1] = e;
      if (se < 0) big[1] = e;            /* e is finite when p is */
      high = sp < 0 || se < 0 || (sp + se) * XS_SPILL_FRAC > (long)padded;
    } else {
      big[0] = p;
      big[1] = e;
    }
    if (big[0] || big[1]) {
      if (!lt) lt = xs_large_state();
      if (big[0] && kern->large(acc, lt, big[0], padded)) {
        xs_slow(acc, s, i0, len);        /* Inf/NaN: counted one by one */
        continue;
      }
      if (big[1] && kern->large(acc, lt, big[1], padded)) xs_spill(acc, big[1], padded);
    }
    if (kern->force || mode == 1) continue;
    if (high) {
      level = 1;
      wait = backoff;
      backoff = backoff * 2 < XS_BACKOFF_MAX ? backoff * 2 : XS_BACKOFF_MAX;
    } else {
      backoff = XS_BACKOFF_MIN;          /* the bins work again */
    }
  }
  if (!kern->force) xs_sw = (xs_switch_t){level, 1, wait, backoff};
  for (int j = 0; j < 2; j++) xb_flush(kern, acc, &bs[j]);
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

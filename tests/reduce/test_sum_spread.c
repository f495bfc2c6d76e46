/* tests/reduce/test_sum_spread.c: the exact sum on data that send the fast
 * path's per-block switch through all its levels (fixed bins, large
 * superaccumulator, small superaccumulator): every data kind of
 * bench/bench_sum.c, huge cancellation, the whole exponent range,
 * subnormals, Inf/NaN, arrays whose kind or scale changes from block to
 * block, and one long enough for the bins' int64 folds to fill.
 * Each case runs with every kernel (auto, bins, large, superacc, and the
 * narrower ISAs), so that each level is checked alone and in the switch;
 * every result must equal the MPFR reference bit for bit, at any rank count.
 *
 * Truth: MPFR at 2300 bits (sums; 4400 for products), where no addition
 * rounds, rounded once with MPFR_RNDN; NaN/Inf rules applied here. The
 * global data are built on every rank from the counter-based RNG, and each
 * rank sums an uneven contiguous piece (keyed by the rank count, empty
 * pieces allowed): a piece boundary falls inside blocks, so the switch state
 * of each rank differs with the rank count while the bits may not. */
#include <tessera/tessera.h>
#include <tessera/exact_acc.h>
#include <math.h>
#include <mpfr.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "mpfr_ref.h"
#include "test_piece.h"
#include "tess_test.h"

static int rank, nranks;
static const uint64_t SEED = 20261204;
static uint64_t rnd(uint64_t stream, uint64_t i) { return tess_rng_u64(SEED, stream, i); }
static double unit(uint64_t stream, uint64_t i) { return (double)(rnd(stream, i) >> 11) * 0x1p-53; }

static double from_bits(uint64_t b)
{
  double d;
  memcpy(&d, &b, sizeof d);
  return d;
}

static int same_d(double a, double b)
{
  return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}
static int same_f(float a, float b)
{
  return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* ---- data kinds --------------------------------------------------------------- */

typedef enum {
  K_UNIFORM, K_NORMAL, K_SIGN20, K_POS20, K_SIGN60, K_FULL, K_FULL_FINITE, K_CANCEL,
  K_SUBNORMAL, K_TOP, K_MIXED, K_DRIFT, K_ZEROS_FIRST, K_STAIRS, K_EDGE39, K_EDGE39_TINY,
  K_NKINDS
} kind_t;
static const char *kind_name[K_NKINDS] = {"uniform", "normal", "sign20", "pos20", "sign60",
                                          "full", "full_finite", "cancel", "subnormal", "top",
                                          "mixed", "drift", "zeros_first", "stairs", "edge39",
                                          "edge39_tiny"};

static double sgn(uint64_t i) { return (rnd(77, i) & 1) ? -1.0 : 1.0; }

/* Element i of a kind (the same on every rank). */
static double value(kind_t k, uint64_t i, size_t n)
{
  switch (k) {
  case K_UNIFORM: return unit(1, i);
  case K_NORMAL: return tess_rng_normal(SEED, 2, i);
  case K_SIGN20: return sgn(i) * exp2(40.0 * unit(3, i) - 20.0);
  case K_POS20: return exp2(40.0 * unit(4, i) - 20.0);
  case K_SIGN60: return sgn(i) * exp2(120.0 * unit(5, i) - 60.0);
  case K_FULL:   /* biased exponent 0..2046: the sum may overflow to Inf */
    return from_bits((rnd(6, i) & 0x800fffffffffffffULL) | ((rnd(7, i) % 2047) << 52));
  case K_FULL_FINITE:   /* exponents up to 2^1000: a finite sum */
    return from_bits((rnd(8, i) & 0x800fffffffffffffULL) | ((rnd(9, i) % 2024) << 52));
  case K_CANCEL: {   /* pairs x, -x over 2^+-500 (adjacent), plus rare tiny values */
    uint64_t j = i / 2;
    double x = sgn(j) * exp2(1000.0 * unit(10, j) - 500.0);
    if (rnd(11, i) % 4096 == 0) return ldexp(1.0 + unit(12, i), -1040);
    return (i & 1) ? -x : x;
  }
  case K_SUBNORMAL:   /* subnormals and small normals of both signs */
    return sgn(i) * from_bits((rnd(13, i) & 0x000fffffffffffffULL) | ((rnd(14, i) % 3) << 52));
  case K_TOP:   /* near the top of the range: the bins cannot be set there */
    return sgn(i) * ldexp(1.0 + unit(15, i), 1000 + (int)(rnd(16, i) % 20)) * 0.25;
  case K_MIXED: {   /* the kind changes every few blocks */
    static const kind_t seq[] = {K_UNIFORM, K_SIGN60, K_FULL_FINITE, K_POS20, K_SUBNORMAL,
                                 K_SIGN20, K_CANCEL, K_NORMAL};
    size_t seg = (i / 3000) % (sizeof seq / sizeof seq[0]);
    (void)n;
    return value(seq[seg], i, n);
  }
  case K_DRIFT:   /* the magnitude drifts over 2^+-50 and back: the bins' top
                   * exponent goes up (by steps) and down, bins come and go */
    return sgn(i) * ldexp(1.0 + unit(17, i), (int)lround(50.0 * sin((double)i / 2500.0)) +
                                                 (int)(rnd(18, i) % 8));
  case K_ZEROS_FIRST:   /* blocks of zeros before data of another scale */
    return i < 5000 ? 0.0 : ldexp(unit(19, i) - 0.5, 300);
  case K_STAIRS: {   /* pairs x, -x near 1, and triples a, b, -(a + b) at 2^-k with
                      * a and b of odd last mantissa bit (their sum is exact), k one
                      * binade deeper every 2048 elements: some k is just below the
                      * bins' lower edge, where a and b cannot be taken whole, and
                      * the triples cancel, so a lost bit shows. (Pairs y, -y would
                      * not do: their ties round in opposite directions.) */
    if (i % 2 == 0) return ((i & 2) ? -1.0 : 1.0) * sgn(i / 4) * (1.0 + unit(23, i / 4));
    uint64_t t = i / 6, k = 20 + (t * 6 / 2048) % 50;
    uint64_t ea = (1023 - k) << 52;
    double a = sgn(2 * t) * from_bits(ea | (rnd(24, 2 * t) >> 12) | 1);
    double b = sgn(2 * t) * from_bits(ea | (rnd(24, 2 * t + 1) >> 12) | 1);   /* same sign: no cancellation */
    switch ((i / 2) % 3) {
    case 0: return a;
    case 1: return b;
    default: return -(a + b);
    }
  }
  case K_EDGE39: {   /* the widest data 2 bins of 46 bits hold (exponents 19..-20):
                     * 15 of 16 elements just below 2^20 and positive, so each
                     * lane's 32 adds bring bin 0 to its bound, and their low
                     * bits to the last bin's; 1 of 16 at 2^-20 with an odd last
                     * bit (2^-72), of either sign; one bit of headroom less
                     * loses bits. Zeros of both signs in every block (the
                     * kernel's smallest |x| is then 0: it looks again), and
                     * past the first blocks a rare 2^-24 with an odd last bit,
                     * below the last bin's ulp, which must send the block back */
    if (i % 64 == 9) return (i & 128) ? -0.0 : 0.0;
    if (i % 16 == 5) return sgn(i) * from_bits((UINT64_C(1003) << 52) | (rnd(25, i) >> 12) | 1);
    return from_bits((UINT64_C(1042) << 52) | (rnd(26, i) >> 12) | UINT64_C(0xffffff0000000));
  }
  case K_EDGE39_TINY: {   /* edge39's blocks of 1024, each odd one the exact negation
                          * of the even one before, so all cancels but one element
                          * of block 18: 2^-24 with an odd last bit (2^-76), below
                          * the ulp of the last of 2 bins (2^-72). The sum is that
                          * element, whose last bits show if a kernel lets it into
                          * the last bin: with zeros in every block, the kernel's
                          * smallest |x| is 0 and it must look again. */
    uint64_t blk = i / 1024, spec = 18 * 1024 + 77;
    if (blk >= n / 1024 / 2 * 2) return 0.0;   /* the ragged tail has no partner */
    if (i == spec) return from_bits((UINT64_C(999) << 52) | (rnd(27, i) >> 12) | 1);
    if (i == spec + 1024) return 0.0;
    return (blk & 1) ? -value(K_EDGE39, i - 1024, n) : value(K_EDGE39, i, n);
  }
  default: return 0;
  }
}

/* ---- the checks ------------------------------------------------------------------ */

static const char *kernels[] = {"auto", "bins", "large", "superacc", "avx2", "generic"};
#define NKERNELS (sizeof kernels / sizeof kernels[0])
static int ncases;

/* Sum of g (f64), and of g as floats where they are finite floats, and the
 * dot product g . h, with every kernel; all against MPFR. */
static void check(const char *name, const double *g, const double *h, size_t n)
{
  ref_t r, rf, rd;
  ref_init(&r, 2300);
  ref_init(&rf, 2300);
  ref_init(&rd, 4400);
  float *gf = malloc((n ? n : 1) * sizeof *gf);
  for (size_t i = 0; i < n; i++) {
    ref_add(&r, g[i]);
    gf[i] = (float)g[i];   /* rounded (maybe to Inf or 0): the f32 data */
    ref_add(&rf, (double)gf[i]);
    ref_add_product(&rd, g[i], h[i]);
  }
  double want = ref_round_d(&r), want_d = ref_round_d(&rd);
  float want_f = ref_round_f(&rf);
  size_t s, len;
  test_piece(SEED, 900 + (uint64_t)ncases, n, rank, nranks, &s, &len);
  for (size_t k = 0; k < NKERNELS; k++) {
    int rc = tess_exact_acc_set_kernel(kernels[k]);
    if (rc == TESS_ERR_UNSUPPORTED) {   /* this CPU lacks it */
      tess_error_clear();
      continue;
    }
    CHECK(rc == TESS_OK, "set_kernel(%s) = %d", kernels[k], rc);
    for (int rep = 0; rep < 2; rep++) {   /* the second call starts from the level hint */
      double got = 0, got_d = 0;
      float got_f = 0;
      rc = tess_sum_f64(len ? g + s : NULL, len, MPI_COMM_WORLD, &got);
      CHECK(rc == TESS_OK && same_d(got, want), "%s [%s]: sum %a, MPFR %a (rc %d)", name,
            kernels[k], got, want, rc);
      rc = tess_sum_f32(len ? gf + s : NULL, len, MPI_COMM_WORLD, &got_f);
      CHECK(rc == TESS_OK && same_f(got_f, want_f), "%s [%s]: sum_f32 %a, MPFR %a (rc %d)", name,
            kernels[k], (double)got_f, (double)want_f, rc);
      rc = tess_dot_f64(len ? g + s : NULL, len ? h + s : NULL, len, MPI_COMM_WORLD, &got_d);
      CHECK(rc == TESS_OK && same_d(got_d, want_d), "%s [%s]: dot %a, MPFR %a (rc %d)", name,
            kernels[k], got_d, want_d, rc);
    }
  }
  tess_exact_acc_set_kernel("auto");
  if (rank == 0) printf("%-28s n=%-7zu sum %-24a dot %a\n", name, n, want, want_d);
  mpfr_clear(r.s);
  mpfr_clear(rf.s);
  mpfr_clear(rd.s);
  free(gf);
  ncases++;
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  const size_t n = 24011;   /* ~23 blocks of 1024, and a ragged tail */
  double *g = malloc(n * sizeof *g), *h = malloc(n * sizeof *h);
  for (int k = 0; k < K_NKINDS; k++) {
    /* y: sign x 2^+-30, so the products span twice the kind's range */
    for (size_t i = 0; i < n; i++) {
      g[i] = value((kind_t)k, i, n);
      h[i] = sgn(i + n) * exp2(60.0 * unit(20, i) - 30.0);
    }
    check(kind_name[k], g, h, n);
  }
  /* long enough that a bin lane passes its 1024 adds and a chunk of the
   * large superaccumulator fills (1023 adds) inside one call */
  {
    const size_t nl = 200003;
    double *gl = malloc(nl * sizeof *gl), *hl = malloc(nl * sizeof *hl);
    static const kind_t longk[] = {K_UNIFORM, K_SIGN60, K_POS20, K_STAIRS};
    for (size_t j = 0; j < sizeof longk / sizeof longk[0]; j++) {
      for (size_t i = 0; i < nl; i++) {
        gl[i] = value(longk[j], i, nl);
        hl[i] = sgn(i + nl) * exp2(60.0 * unit(21, i) - 30.0);
      }
      char name[40];
      snprintf(name, sizeof name, "%s long", kind_name[longk[j]]);
      check(name, gl, hl, nl);
    }
    free(gl);
    free(hl);
  }
  /* integers: more than XB_FOLDS_MAX (2^11) folds of 128 adds x 32 lanes
   * in one call, so the bins' int64s go to the superaccumulator mid-call;
   * truth: an __int128 sum, rounded once by the conversion */
  {
    const size_t ni = ((size_t)1 << 23) + 12345;
    double *gi = malloc(ni * sizeof *gi);
    __int128 exact = 0;
    for (size_t i = 0; i < ni; i++) {
      int64_t v = (int64_t)(rnd(22, i) >> 23) - (INT64_C(1) << 40);   /* |v| <= 2^41 */
      gi[i] = (double)v;
      exact += v;
    }
    size_t s0, len;
    test_piece(SEED, 900 + (uint64_t)ncases++, ni, rank, nranks, &s0, &len);
    for (size_t k = 0; k < NKERNELS; k++) {
      if (tess_exact_acc_set_kernel(kernels[k]) != TESS_OK) {
        tess_error_clear();
        continue;
      }
      double got = 0;
      int rc = tess_sum_f64(len ? gi + s0 : NULL, len, MPI_COMM_WORLD, &got);
      CHECK(rc == TESS_OK && same_d(got, (double)exact), "integers [%s]: sum %a, exact %a",
            kernels[k], got, (double)exact);
    }
    tess_exact_acc_set_kernel("auto");
    /* a piece this long lets the thread time software prefetch both ways
     * (exact_sum_fast.c), unless the environment forces it */
    if (len >= ((size_t)1 << 21)) {
      const char *pf = tess_exact_acc_prefetch(), *env = getenv("TESS_XSUM_PREFETCH");
      int forced = env && (env[0] == '0' || env[0] == '1');
      CHECK(strstr(pf, forced ? "(TESS_XSUM_PREFETCH)" : "(measured)") != NULL,
            "software prefetch after %zu elements: %s", len, pf);
    }
    free(gi);
  }
  /* Inf/NaN inside blocks that the wide paths take */
  for (size_t i = 0; i < n; i++) {
    g[i] = value(K_SIGN60, i, n);
    h[i] = 1.0;
  }
  g[5000] = INFINITY;
  check("sign60 + Inf", g, h, n);
  g[17000] = -INFINITY;
  check("sign60 + Inf - Inf", g, h, n);
  g[5000] = g[17000] = 1.0;
  g[12345] = NAN;
  check("sign60 + NaN", g, h, n);
  for (size_t i = 0; i < n; i++) g[i] = value(K_FULL_FINITE, i, n);
  g[20000] = INFINITY;
  check("full_finite + Inf", g, h, n);
  /* a lane overflow: DBL_MAX-sized values cancelling exactly */
  for (size_t i = 0; i < n; i++) g[i] = (i & 1 ? -1 : 1) * 0x1.fffffffffffffp1023;
  g[n - 1] = 1e-300;   /* n is odd: the unpaired one */
  check("DBL_MAX pairs + tiny", g, h, n);
  free(g);
  free(h);
  if (rank == 0) printf("%d cases, %zu kernels each\n", ncases, NKERNELS);
  int rc = tess_test_finish("reduce_sum_spread");
  MPI_Finalize();
  return rc;
}

/* tests/reduce/test_sum_exact.c: tess_sum_f64/f32, tess_dot_*, tess_nrm2sq_*
 * must return the exact sum rounded once to nearest-even, bit for bit, at
 * any rank count and any partition. Truth is MPFR: every element is added at
 * 2300 bits (sums) or 4400 bits (products), where no addition can round, and
 * the result is rounded once with MPFR_RNDN (mpfr_get_d / mpfr_get_flt).
 * NaN/Inf rules are applied here explicitly, independently of the library.
 *
 * Each case builds the same global data on every rank from the counter-based
 * RNG (keyed by global index), permutes it with a permutation keyed by the
 * rank count, and cuts it at random points (also keyed by the rank count,
 * empty pieces allowed): so 1, 2, 3 and 4 ranks see different orders and
 * partitions of the same numbers, and all must match the same reference. */
#include <tessera/tessera.h>
#include <tessera/exact_acc.h>
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <mpfr.h>
#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif
#include "mpfr_ref.h"
#include "test_piece.h"
#include "tess_test.h"

static int rank, nranks;
static const uint64_t SEED = 20261125;

/* ---- generators ------------------------------------------------------------ */

static uint64_t rnd(uint64_t stream, uint64_t i) { return tess_rng_u64(SEED, stream, i); }

static double from_bits(uint64_t b)
{
  double d;
  memcpy(&d, &b, sizeof d);
  return d;
}

static uint64_t bits_of(double d)
{
  uint64_t b;
  memcpy(&b, &d, sizeof b);
  return b;
}

/* Any finite double: random sign, mantissa and exponent field 0..2046
 * (0 = subnormal), i.e. the whole range. */
static double wide_double(uint64_t stream, uint64_t i)
{
  uint64_t u = rnd(stream, i), v = rnd(stream + 1000, i);
  uint64_t e = v % 2047;
  return from_bits((u & 0x800fffffffffffffULL) | (e << 52));
}

/* Exponent field in [lo, hi] */
static double band_double(uint64_t stream, uint64_t i, int lo, int hi)
{
  uint64_t u = rnd(stream, i), v = rnd(stream + 1000, i);
  uint64_t e = (uint64_t)lo + v % (uint64_t)(hi - lo + 1);
  return from_bits((u & 0x800fffffffffffffULL) | (e << 52));
}

static float wide_float(uint64_t stream, uint64_t i)
{
  uint32_t u = (uint32_t)rnd(stream, i), e = (uint32_t)(rnd(stream + 1000, i) % 255);
  uint32_t b = (u & 0x807fffffu) | (e << 23);
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

/* ---- permutation and partition keyed by the rank count ---------------------- */

static void permute(void *data, size_t n, size_t elem, uint64_t key)
{
  char tmp[16];
  char *d = data;
  for (size_t i = n; i > 1; i--) {   /* Fisher-Yates from counter-based draws */
    size_t j = (size_t)(rnd(key, i) % i);
    memcpy(tmp, d + (i - 1) * elem, elem);
    memcpy(d + (i - 1) * elem, d + j * elem, elem);
    memcpy(d + j * elem, tmp, elem);
  }
}

/* ---- comparing with the reference (mpfr_ref.h) ---------------------------------- */

static int same_d(double a, double b) { return (isnan(a) && isnan(b)) || bits_of(a) == bits_of(b); }
static int same_f(float a, float b)
{
  return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* ---- one case ---------------------------------------------------------------- */

static int ncases;
static uint64_t digest = 1469598103934665603ULL;   /* FNV-1a of all results */

static void mix(const void *p, size_t n)
{
  const unsigned char *c = p;
  for (size_t i = 0; i < n; i++) digest = (digest ^ c[i]) * 1099511628211ULL;
}

/* The reference on rank 0 only (it is the slow part), then broadcast. */
static void check_sum_f64(const char *name, double *g, size_t n, const double *expect)
{
  uint64_t key = 7000 + (uint64_t)ncases * 16 + (uint64_t)nranks;
  double want = 0, got = 0;
  if (rank == 0) {
    ref_t r;
    ref_init(&r, 2300);
    for (size_t i = 0; i < n; i++) ref_add(&r, g[i]);
    want = ref_round_d(&r);
    mpfr_clear(r.s);
  }
  MPI_Bcast(&want, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  permute(g, n, sizeof *g, key);
  size_t s, len;
  test_piece(SEED, key + 1, n, rank, nranks, &s, &len);
  int rc = tess_sum_f64(len ? g + s : NULL, len, MPI_COMM_WORLD, &got);
  CHECK(rc == TESS_OK, "%s: tess_sum_f64 returned %d", name, rc);
  CHECK(same_d(got, want), "%s (n=%zu): got %a want %a (MPFR)", name, n, got, want);
  if (expect) CHECK(same_d(got, *expect), "%s: got %a, known answer %a", name, got, *expect);
  mix(&got, sizeof got);
  ncases++;
}

static void check_sum_f32(const char *name, float *g, size_t n)
{
  uint64_t key = 9000 + (uint64_t)ncases * 16 + (uint64_t)nranks;
  float want = 0, got = 0;
  if (rank == 0) {
    ref_t r;
    ref_init(&r, 2300);
    for (size_t i = 0; i < n; i++) ref_add(&r, g[i]);
    want = ref_round_f(&r);
    mpfr_clear(r.s);
  }
  MPI_Bcast(&want, 1, MPI_FLOAT, 0, MPI_COMM_WORLD);
  permute(g, n, sizeof *g, key);
  size_t s, len;
  test_piece(SEED, key + 1, n, rank, nranks, &s, &len);
  int rc = tess_sum_f32(g + s, len, MPI_COMM_WORLD, &got);
  CHECK(rc == TESS_OK, "%s: tess_sum_f32 returned %d", name, rc);
  CHECK(same_f(got, want), "%s (n=%zu): got %a want %a (MPFR)", name, n, (double)got,
        (double)want);
  mix(&got, sizeof got);
  ncases++;
}

/* x and y interleaved as pairs so one permutation moves both. */
static void check_dot_f64(const char *name, double *xy, size_t n, int nrm)
{
  uint64_t key = 11000 + (uint64_t)ncases * 16 + (uint64_t)nranks;
  double want = 0, got = 0;
  if (rank == 0) {
    ref_t r;
    ref_init(&r, 4400);
    for (size_t i = 0; i < n; i++) ref_add_product(&r, xy[2 * i], xy[2 * i + (nrm ? 0 : 1)]);
    want = ref_round_d(&r);
    mpfr_clear(r.s);
  }
  MPI_Bcast(&want, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  permute(xy, n, 2 * sizeof *xy, key);
  size_t s, len;
  test_piece(SEED, key + 1, n, rank, nranks, &s, &len);
  double *x = malloc((len + 1) * sizeof *x), *y = malloc((len + 1) * sizeof *y);
  for (size_t i = 0; i < len; i++) {
    x[i] = xy[2 * (s + i)];
    y[i] = xy[2 * (s + i) + 1];
  }
  int rc = nrm ? tess_nrm2sq_f64(x, len, MPI_COMM_WORLD, &got)
               : tess_dot_f64(x, y, len, MPI_COMM_WORLD, &got);
  CHECK(rc == TESS_OK, "%s: returned %d", name, rc);
  CHECK(same_d(got, want), "%s (n=%zu): got %a want %a (MPFR)", name, n, got, want);
  mix(&got, sizeof got);
  free(x);
  free(y);
  ncases++;
}

static void check_dot_f32(const char *name, float *xy, size_t n, int nrm)
{
  uint64_t key = 13000 + (uint64_t)ncases * 16 + (uint64_t)nranks;
  float want = 0, got = 0;
  if (rank == 0) {
    ref_t r;
    ref_init(&r, 2300);
    for (size_t i = 0; i < n; i++) ref_add_product(&r, xy[2 * i], xy[2 * i + (nrm ? 0 : 1)]);
    want = ref_round_f(&r);
    mpfr_clear(r.s);
  }
  MPI_Bcast(&want, 1, MPI_FLOAT, 0, MPI_COMM_WORLD);
  permute(xy, n, 2 * sizeof *xy, key);
  size_t s, len;
  test_piece(SEED, key + 1, n, rank, nranks, &s, &len);
  float *x = malloc((len + 1) * sizeof *x), *y = malloc((len + 1) * sizeof *y);
  for (size_t i = 0; i < len; i++) {
    x[i] = xy[2 * (s + i)];
    y[i] = xy[2 * (s + i) + 1];
  }
  int rc = nrm ? tess_nrm2sq_f32(x, len, MPI_COMM_WORLD, &got)
               : tess_dot_f32(x, y, len, MPI_COMM_WORLD, &got);
  CHECK(rc == TESS_OK, "%s: returned %d", name, rc);
  CHECK(same_f(got, want), "%s (n=%zu): got %a want %a (MPFR)", name, n, (double)got,
        (double)want);
  mix(&got, sizeof got);
  free(x);
  free(y);
  ncases++;
}

/* ---- the cases ------------------------------------------------------------------ */

#define LIST(...) ((double[]){__VA_ARGS__}), (sizeof((double[]){__VA_ARGS__}) / sizeof(double))

static void small_f64(const char *name, const double *v, size_t n, double expect)
{
  double *g = malloc(n * sizeof *g);
  memcpy(g, v, n * sizeof *g);
  check_sum_f64(name, g, n, &expect);
  free(g);
}

static void cases_known(void)
{
  const double MAX = DBL_MAX, HALF_ULP_MAX = 0x1p970, TINY = 0x1p-1074;
  small_f64("1e308+1-1e308", LIST(1e308, 1.0, -1e308), 1.0);
  small_f64("tie to even down", LIST(1.0, 0x1p-53), 1.0);
  small_f64("tie to even up", LIST(1.0 + 0x1p-52, 0x1p-53), 1.0 + 0x1p-51);
  small_f64("just above tie", LIST(1.0, 0x1p-53, TINY), 1.0 + 0x1p-52);
  small_f64("just below tie", LIST(1.0, 0x1p-53, -TINY), 1.0);
  small_f64("tie split in pieces", LIST(0.5, 0.25, 0.25, 0x1p-54, 0x1p-55, 0x1p-55), 1.0);
  small_f64("negative tie", LIST(-1.0, -0x1p-53, -0x1p-53, -0x1p-53), -1.0 - 0x1p-51);
  small_f64("overflow tie -> Inf", LIST(MAX, HALF_ULP_MAX), INFINITY);
  small_f64("below overflow tie", LIST(MAX, HALF_ULP_MAX, -TINY), MAX);
  small_f64("max+max-max", LIST(MAX, MAX, -MAX), MAX);
  small_f64("-max-max", LIST(-MAX, -MAX), -INFINITY);
  small_f64("lanes overflow, sum finite", LIST(MAX, MAX, MAX, MAX, -MAX, -MAX, -MAX, 0.5), MAX);
  small_f64("subnormal result", LIST(0x1p-1022, -0x1p-1022, 3 * TINY, 0x1.8p-1030), 0x1.8p-1030 + 3 * TINY);
  small_f64("min normal minus tiny", LIST(0x1p-1022, -TINY), 0x1p-1022 - TINY);
  small_f64("only tiny", LIST(TINY, TINY, TINY), 3 * TINY);
  small_f64("all -0", LIST(-0.0, -0.0, -0.0), 0.0);
  small_f64("cancel to zero", LIST(1e300, -1e-300, -1e300, 1e-300), 0.0);
  small_f64("nan", LIST(1.0, NAN, 2.0), NAN);
  small_f64("+inf", LIST(1.0, INFINITY, 1e308, 1e308), INFINITY);
  small_f64("-inf beats overflow", LIST(-INFINITY, 1e308, 1e308, 1e308), -INFINITY);
  small_f64("inf-inf", LIST(INFINITY, 1.0, -INFINITY), NAN);
  small_f64("inf,nan", LIST(INFINITY, NAN), NAN);
  small_f64("-inf,-inf", LIST(-INFINITY, -INFINITY, 5.0), -INFINITY);
  check_sum_f64("empty", NULL, 0, &(double){0.0});

  /* products: ties and underflow below the double range */
  double dt[] = {0x1p-537, 0x1p-538};            /* 2^-1075: tie between 0 and 2^-1074 */
  double dt3[] = {3 * 0x1p-537, 0x1p-538};       /* 3*2^-1075 -> 2^-1073 (even) */
  double big[] = {1e200, 1e200, -1e200, 1e200, 1.0, 1.0};  /* products overflow, cancel */
  double zi[] = {INFINITY, 0.0, 1.0, 2.0};       /* Inf*0 -> NaN */
  double r;
  CHECK(tess_dot_f64(dt, dt + 1, 1, MPI_COMM_SELF, &r) == 0 && bits_of(r) == 0, "2^-1075 -> %a", r);
  CHECK(tess_dot_f64(dt3, dt3 + 1, 1, MPI_COMM_SELF, &r) == 0 && r == 0x1p-1073, "3*2^-1075 -> %a", r);
  double bx[] = {big[0], big[2], big[4]}, by[] = {big[1], big[3], big[5]};
  CHECK(tess_dot_f64(bx, by, 3, MPI_COMM_SELF, &r) == 0 && r == 1.0, "1e400-1e400+1 -> %a", r);
  double zx[] = {zi[0], zi[2]}, zy[] = {zi[1], zi[3]};
  CHECK(tess_dot_f64(zx, zy, 2, MPI_COMM_SELF, &r) == 0 && isnan(r), "Inf*0 -> %a", r);
  float fr;
  float fx[] = {FLT_MAX, FLT_MAX}, fy[] = {0x1p-24f, 0x1p-25f};
  CHECK(tess_sum_f32(fx, 2, MPI_COMM_SELF, &fr) == 0 && isinf(fr) && fr > 0, "FLT_MAX*2 -> %a", (double)fr);
  CHECK(tess_dot_f32(fx, fy, 2, MPI_COMM_SELF, &fr) == 0 && fr == FLT_MAX * 0x1.8p-24f,
        "f32 dot -> %a", (double)fr);
}

static void cases_random(void)
{
  size_t n = 100003;   /* odd on purpose */
  double *g = malloc(2 * 1048576 * sizeof *g);

  for (size_t i = 0; i < n; i++) g[i] = wide_double(1, i);
  check_sum_f64("whole exponent range", g, n, NULL);

  for (size_t i = 0; i < n; i++) g[i] = band_double(2, i, 0, 60);   /* subnormal..tiny */
  check_sum_f64("subnormals and tiny normals", g, n, NULL);

  /* massive cancellation: v and -v for random v, plus a few small ones */
  for (size_t i = 0; i < n / 2; i++) {
    g[2 * i] = band_double(3, i, 900, 2046);
    g[2 * i + 1] = -g[2 * i];
  }
  g[n - 1] = 0x1.23456789abcdep-1000;
  check_sum_f64("massive cancellation", g, n, NULL);

  /* cancellation down to a subnormal result */
  for (size_t i = 0; i < n / 2; i++) {
    g[2 * i] = band_double(4, i, 1, 40);
    g[2 * i + 1] = -g[2 * i];
  }
  g[n - 1] = 0x1.8p-1070;
  check_sum_f64("cancellation to subnormal", g, n, NULL);

  /* overflowing sums, both signs, and one that comes back */
  for (size_t i = 0; i < n; i++) g[i] = fabs(band_double(5, i, 2040, 2046));
  check_sum_f64("overflow to +Inf", g, n, NULL);
  for (size_t i = 0; i < n; i++) g[i] = -g[i];
  check_sum_f64("overflow to -Inf", g, n, NULL);
  for (size_t i = 0; i < n; i++) g[i] = (i & 1 ? -1 : 1) * DBL_MAX;
  g[n - 1] = 0x1p-1074;
  check_sum_f64("+-DBL_MAX alternating", g, n, NULL);

  for (size_t i = 0; i < n; i++) g[i] = sin((double)i);
  check_sum_f64("sine fill", g, n, NULL);
  for (size_t i = 0; i < n; i++) g[i] = 0.1;
  check_sum_f64("all equal 0.1", g, n, NULL);

  size_t big = 262144 + 17;   /* large n: many blocks, all lanes, a tail */
  for (size_t i = 0; i < big; i++) g[i] = tess_rng_uniform(SEED, 6, i);
  check_sum_f64("uniform [0,1) 2^18+17", g, big, NULL);
  for (size_t i = 0; i < big; i++) g[i] = tess_rng_normal(SEED, 7, i) * ldexp(1.0, (int)(i % 200) - 100);
  check_sum_f64("normal x 2^[-100,100) 2^18+17", g, big, NULL);

  /* specials sprinkled in big data */
  for (size_t i = 0; i < n; i++) g[i] = tess_rng_normal(SEED, 8, i);
  g[77777] = INFINITY;
  check_sum_f64("one +Inf in 1e5", g, n, NULL);
  g[1234] = -INFINITY;
  check_sum_f64("+Inf and -Inf in 1e5", g, n, NULL);
  for (size_t i = 0; i < n; i++) g[i] = tess_rng_normal(SEED, 9, i);
  g[n / 2] = NAN;
  check_sum_f64("one NaN in 1e5", g, n, NULL);

  /* f32 */
  float *f = (float *)g;
  for (size_t i = 0; i < n; i++) f[i] = wide_float(10, i);
  check_sum_f32("f32 whole range", f, n);
  for (size_t i = 0; i < n; i++) f[i] = (float)sin((double)i);
  check_sum_f32("f32 sine", f, n);
  for (size_t i = 0; i < n; i++) f[i] = FLT_MAX * (float)tess_rng_uniform(SEED, 11, i);
  check_sum_f32("f32 overflow", f, n);
  for (size_t i = 0; i < n / 2; i++) {
    f[2 * i] = wide_float(12, i);
    f[2 * i + 1] = -f[2 * i];
  }
  f[n - 1] = 0x1p-149f;
  check_sum_f32("f32 cancellation to min subnormal", f, n);
  f[7] = INFINITY;
  f[8] = NAN;
  check_sum_f32("f32 inf and nan", f, n);

  /* dot products and norms */
  size_t m = 100003;
  for (size_t i = 0; i < m; i++) {
    g[2 * i] = tess_rng_normal(SEED, 13, i);
    g[2 * i + 1] = tess_rng_normal(SEED, 14, i);
  }
  check_dot_f64("dot normal", g, m, 0);
  check_dot_f64("nrm2sq normal", g, m, 1);
  for (size_t i = 0; i < 2 * m; i++) g[i] = wide_double(15, i);
  check_dot_f64("dot whole range (products over/underflow)", g, m, 0);
  check_dot_f64("nrm2sq whole range", g, m, 1);
  for (size_t i = 0; i < 2 * m; i++) g[i] = band_double(16, i, 500, 540);  /* products ~2^-1000 */
  check_dot_f64("dot products near underflow", g, m, 0);
  for (size_t i = 0; i < m; i++) {   /* x.y with exact cancellation of big products */
    g[2 * i] = band_double(17, i / 2, 1500, 2000) * (i & 1 ? -1 : 1);
    g[2 * i + 1] = band_double(18, i / 2, 1500, 2000);
  }
  g[2 * (m - 1)] = 3.0;
  g[2 * (m - 1) + 1] = 0x1p-1074;
  check_dot_f64("dot huge products cancel to 3*2^-1074", g, m, 0);
  for (size_t i = 0; i < 2 * m; i++) g[i] = tess_rng_normal(SEED, 19, i);
  g[10] = INFINITY;
  check_dot_f64("dot with Inf", g, m, 0);
  g[11] = 0.0;   /* pairs with the Inf: Inf*0 */
  check_dot_f64("dot with Inf*0", g, m, 0);

  for (size_t i = 0; i < 2 * m; i++) f[i] = wide_float(20, i);
  check_dot_f32("f32 dot whole range", f, m, 0);
  check_dot_f32("f32 nrm2sq whole range", f, m, 1);
  for (size_t i = 0; i < 2 * m; i++) f[i] = (float)tess_rng_normal(SEED, 21, i);
  check_dot_f32("f32 dot normal", f, m, 0);
  free(g);
}

/* ---- the accumulator API ------------------------------------------------------- */

static void cases_accumulator(void)
{
  /* 16 accumulators, each fed a slice, merged in two different orders,
   * one allreduce_many for all of them, against MPFR */
  enum { NACC = 16, PER = 5000 };
  tess_exact_acc_t *acc[NACC] = {0}, *tot = NULL, *tot2 = NULL;
  double *v = malloc(NACC * PER * sizeof *v);
  for (int i = 0; i < NACC * PER; i++) v[i] = wide_double(30, (uint64_t)(i + rank * NACC * PER));
  for (int a = 0; a < NACC; a++) {
    CHECK(tess_exact_acc_create(&acc[a]) == 0, "create");
    CHECK(tess_exact_acc_add_f64(acc[a], v + a * PER, PER) == 0, "add");
  }
  CHECK(tess_exact_acc_create(&tot) == 0 && tess_exact_acc_create(&tot2) == 0, "create");
  for (int a = 0; a < NACC; a++) tess_exact_acc_merge(tot, acc[a]);
  for (int a = NACC - 1; a >= 0; a--) tess_exact_acc_merge(tot2, acc[a]);
  CHECK(tess_exact_acc_allreduce_many(acc, NACC, MPI_COMM_WORLD) == 0, "allreduce_many");
  CHECK(tess_exact_acc_allreduce(tot, MPI_COMM_WORLD) == 0, "allreduce");
  CHECK(tess_exact_acc_allreduce(tot2, MPI_COMM_WORLD) == 0, "allreduce");
  double d1, d2;
  tess_exact_acc_round_f64(tot, &d1);
  tess_exact_acc_round_f64(tot2, &d2);
  /* reference: every rank's values, regenerated on rank 0 */
  double want = 0;
  if (rank == 0) {
    ref_t r;
    ref_init(&r, 2300);
    for (int q = 0; q < nranks; q++)
      for (int i = 0; i < NACC * PER; i++) ref_add(&r, wide_double(30, (uint64_t)(i + q * NACC * PER)));
    want = ref_round_d(&r);
    mpfr_clear(r.s);
  }
  MPI_Bcast(&want, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
  CHECK(same_d(d1, want) && same_d(d2, want), "merged %a / %a, MPFR %a", d1, d2, want);
  for (int a = 0; a < NACC; a++) {   /* per-slice sums, reduced in one call */
    double got, w = 0;
    tess_exact_acc_round_f64(acc[a], &got);
    if (rank == 0) {
      ref_t r;
      ref_init(&r, 2300);
      for (int q = 0; q < nranks; q++)
        for (int i = a * PER; i < (a + 1) * PER; i++)
          ref_add(&r, wide_double(30, (uint64_t)(i + q * NACC * PER)));
      w = ref_round_d(&r);
      mpfr_clear(r.s);
    }
    MPI_Bcast(&w, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    CHECK(same_d(got, w), "acc[%d]: %a vs MPFR %a", a, got, w);
  }
  /* negate + merge = difference; reset; add_value; add_product; round_f32 */
  tess_exact_acc_negate(tot2);
  tess_exact_acc_merge(tot2, tot);
  CHECK(tess_exact_acc_sign(tot2) == 0, "x - x != 0");
  tess_exact_acc_round_f64(tot2, &d1);
  CHECK(bits_of(d1) == 0, "x - x rounds to %a", d1);
  tess_exact_acc_reset(tot);
  tess_exact_acc_add_value(tot, 1.0);
  tess_exact_acc_add_product(tot, 0x1p-30, 0x1p-30);   /* 1 + 2^-60 */
  float f;
  tess_exact_acc_round_f32(tot, &f);
  tess_exact_acc_round_f64(tot, &d1);
  CHECK(f == 1.0f && d1 == 1.0 && tess_exact_acc_sign(tot) == 1, "1+2^-60: %a %a", (double)f, d1);
  tess_exact_acc_add_value(tot, -2.0);
  CHECK(tess_exact_acc_sign(tot) == -1, "sign of -1+2^-60");
  /* bad arguments */
  CHECK(tess_exact_acc_add_f64(NULL, v, 1) == TESS_ERR_ARG, "NULL acc accepted");
  CHECK(tess_exact_acc_add_f64(tot, NULL, 3) == TESS_ERR_ARG, "NULL x accepted");
  CHECK(tess_exact_acc_merge(tot, tot) == TESS_ERR_ARG, "self-merge accepted");
  tess_error_clear();
  for (int a = 0; a < NACC; a++) tess_exact_acc_destroy(&acc[a]);
  tess_exact_acc_destroy(&tot);
  tess_exact_acc_destroy(&tot2);
  CHECK(tot == NULL, "destroy does not clear");
  tess_exact_acc_destroy(NULL);
  free(v);
}

/* A caller compiled with -ffast-math runs with FTZ/DAZ; one in FE_UPWARD.
 * The sums must still be exact, and the caller's settings restored. */
static void cases_fpenv(void)
{
  double sub[64];
  for (int i = 0; i < 64; i++) sub[i] = (i + 1) * 0x1p-1074 * (i % 3 ? 1 : -1);
  ref_t r;
  ref_init(&r, 2300);
  for (int i = 0; i < 64; i++) ref_add(&r, sub[i]);
  double want = ref_round_d(&r), got = 0;
  mpfr_clear(r.s);
#if defined(__x86_64__)
  unsigned csr = _mm_getcsr();
  _mm_setcsr(csr | (1u << 15) | (1u << 6));
  CHECK(tess_sum_f64(sub, 64, MPI_COMM_SELF, &got) == 0, "sum under FTZ/DAZ");
  CHECK(_mm_getcsr() == (csr | (1u << 15) | (1u << 6)), "MXCSR not restored");
  _mm_setcsr(csr);
  CHECK(same_d(got, want), "under FTZ/DAZ: %a vs %a", got, want);
#endif
  double up[] = {1.0, 0x1p-60, 0x1p-60};
  fesetround(FE_UPWARD);
  CHECK(tess_sum_f64(up, 3, MPI_COMM_SELF, &got) == 0, "sum under FE_UPWARD");
  CHECK(fegetround() == FE_UPWARD, "rounding mode not restored");
  fesetround(FE_TONEAREST);
  CHECK(got == 1.0, "FE_UPWARD caller: %a (want 1)", got);
}

/* One rank passes NULL: every rank must get an error, none may hang. */
static void cases_errors(void)
{
  double x[4] = {1, 2, 3, 4}, r = 0;
  int bad = rank == nranks - 1;
  int rc = tess_sum_f64(bad ? NULL : x, 4, MPI_COMM_WORLD, &r);
  CHECK(rc == TESS_ERR_ARG, "rank %d: rc %d, want TESS_ERR_ARG", rank, rc);
  if (bad) CHECK(strstr(tess_error_message(), "NULL x") != NULL, "message: %s", tess_error_message());
  tess_error_clear();
  rc = tess_sum_f64(x, 4, MPI_COMM_WORLD, &r);
  CHECK(rc == 0 && r == 10.0 * nranks, "after an error: rc %d r %g", rc, r);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);   /* no tess_init: the sums must work without it */
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  if (argc > 1) {   /* force a fast-path kernel: every one must be exact */
    int rc = tess_exact_acc_set_kernel(argv[1]);
    if (rc == TESS_ERR_UNSUPPORTED) {
      if (rank == 0) printf("kernel %s: not supported on this CPU, skipped\n", argv[1]);
      MPI_Finalize();
      return 77;
    }
    CHECK(rc == TESS_OK, "set_kernel(%s) = %d", argv[1], rc);
  }
  if (rank == 0) printf("kernel: %s\n", tess_exact_acc_kernel());
  cases_known();
  cases_random();
  cases_accumulator();
  cases_fpenv();
  cases_errors();
  if (rank == 0)
    printf("%d cases; digest of all results %016llx (must not depend on the rank count)\n", ncases,
           (unsigned long long)digest);
  int rc = tess_test_finish("reduce_sum_exact");
  MPI_Finalize();
  return rc;
}

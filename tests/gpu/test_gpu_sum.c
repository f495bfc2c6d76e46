/* tests/gpu/test_gpu_sum.c: exact sums of device data (tess_sum_*, tess_dot_*,
 * tess_nrm2sq_*, tess_array_sum, tess_array_reduce_sum) must give the same
 * bits as the host path on the same data, at any rank count and partition,
 * and the known answers where there are some. The host path is checked
 * against MPFR in tests/reduce (CI); where this build has MPFR too, every
 * case is also checked against it here. The data are the adversarial sets of
 * tests/reduce (the whole exponent range, subnormals, cancellation to a
 * subnormal, overflow, Inf/NaN, products near underflow) plus large arrays
 * that drive the kernel through its bins (uniform, 2^+-60 with random signs,
 * rising magnitudes that move the bins' exponent mid-stream). Ranks mix
 * device and host pieces in one sum: the digits merge the same way.
 * Without a GPU the test says so and exits 77 (CTest: skipped). */
#include <tessera/tessera.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef TESS_TEST_MPFR
#include <mpfr.h>
#include "../reduce/mpfr_ref.h"
#endif
#include "../reduce/test_piece.h"
#include "tess_test.h"

static int rank, nranks, ncases;
static const uint64_t SEED = 20261207;

static uint64_t rnd(uint64_t stream, uint64_t i) { return tess_rng_u64(SEED, stream, i); }
static double from_bits(uint64_t b) { double d; memcpy(&d, &b, sizeof d); return d; }
static uint64_t bits_of(double d) { uint64_t b; memcpy(&b, &d, sizeof b); return b; }
static int same_d(double a, double b) { return (isnan(a) && isnan(b)) || bits_of(a) == bits_of(b); }
static int same_f(float a, float b) { return (isnan(a) && isnan(b)) || memcmp(&a, &b, 4) == 0; }

static double wide_double(uint64_t s, uint64_t i)
{
  return from_bits((rnd(s, i) & 0x800fffffffffffffULL) | ((rnd(s + 1000, i) % 2047) << 52));
}
static double band_double(uint64_t s, uint64_t i, int lo, int hi)
{
  uint64_t e = (uint64_t)lo + rnd(s + 1000, i) % (uint64_t)(hi - lo + 1);
  return from_bits((rnd(s, i) & 0x800fffffffffffffULL) | (e << 52));
}
static float wide_float(uint64_t s, uint64_t i)
{
  uint32_t b = ((uint32_t)rnd(s, i) & 0x807fffffu) | ((uint32_t)(rnd(s + 1000, i) % 255) << 23);
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

/* This rank's piece on the device (a fresh copy: the kernel must not rely
 * on anything but the pointer). */
/* A device copy of h at `off` bytes past a fresh allocation (*base, to
 * free): offsets that are not multiples of 16 take the kernel's unaligned
 * head and, for dot products with x and y misaligned differently, its
 * scalar path. */
static void *to_device(const void *h, size_t bytes, size_t off, void **base)
{
  void *d = NULL;
  CHECK(tess_malloc(TESS_MEM_DEVICE, bytes + off, &d) == TESS_OK, "device alloc %zu", bytes + off);
  *base = d;
  if (!d) return NULL;
  d = (char *)d + off;
  if (bytes) CHECK(tess_memcpy(TESS_MEM_DEVICE, d, TESS_MEM_HOST, h, bytes) == TESS_OK, "H2D");
  return d;
}

typedef enum { K_SUM64, K_SUM32, K_DOT64, K_DOT32, K_NRM64, K_NRM32 } kind_t;

/* One sum of x[s..s+len) (and y) from host or device memory. */
static int run_sum(kind_t k, const void *x, const void *y, size_t len, double *r64, float *r32)
{
  switch (k) {
  case K_SUM64: return tess_sum_f64(x, len, MPI_COMM_WORLD, r64);
  case K_SUM32: return tess_sum_f32(x, len, MPI_COMM_WORLD, r32);
  case K_DOT64: return tess_dot_f64(x, y, len, MPI_COMM_WORLD, r64);
  case K_DOT32: return tess_dot_f32(x, y, len, MPI_COMM_WORLD, r32);
  case K_NRM64: return tess_nrm2sq_f64(x, len, MPI_COMM_WORLD, r64);
  default: return tess_nrm2sq_f32(x, len, MPI_COMM_WORLD, r32);
  }
}

/* Global x (and y) of n elements, the same on every rank: host, device and
 * mixed (odd ranks device) sums must agree bitwise (and with MPFR, and with
 * a known answer when given). */
static void check(const char *name, kind_t k, const void *x, const void *y, size_t n,
                  const double *known)
{
  int is32 = k == K_SUM32 || k == K_DOT32 || k == K_NRM32;
  size_t es = is32 ? 4 : 8, s, len;
  test_piece(SEED, 500 + (uint64_t)ncases * 8 + (uint64_t)nranks, n, rank, nranks, &s, &len);
  const char *hx = (const char *)x + s * es, *hy = y ? (const char *)y + s * es : NULL;
  size_t ox = es * (size_t)(ncases % (16 / es)), oy = ncases % 3 == 0 ? ox : es * (size_t)(ncases % 2);
  void *bx = NULL, *by = NULL;
  void *dx = to_device(hx, len * es, ox, &bx), *dy = hy ? to_device(hy, len * es, oy, &by) : NULL;
  double h64 = 0, d64 = 0, m64 = 0;
  float h32 = 0, d32 = 0, m32 = 0;
  int rc = run_sum(k, len ? hx : NULL, len ? hy : NULL, len, &h64, &h32);
  CHECK(rc == TESS_OK, "%s: host sum returned %d", name, rc);
  rc = run_sum(k, len ? dx : NULL, len ? dy : NULL, len, &d64, &d32);
  CHECK(rc == TESS_OK, "%s: device sum returned %d", name, rc);
  int dev = rank & 1;   /* mixed: odd ranks give device pieces */
  rc = run_sum(k, len ? (dev ? dx : hx) : NULL, len ? (dev ? dy : hy) : NULL, len, &m64, &m32);
  CHECK(rc == TESS_OK, "%s: mixed sum returned %d", name, rc);
  if (is32) {
    CHECK(same_f(d32, h32), "%s (n=%zu): device %a, host %a", name, n, (double)d32, (double)h32);
    CHECK(same_f(m32, h32), "%s (n=%zu): mixed %a, host %a", name, n, (double)m32, (double)h32);
    if (known) CHECK(same_f(d32, (float)*known), "%s: device %a, known %a", name, (double)d32, *known);
  } else {
    CHECK(same_d(d64, h64), "%s (n=%zu): device %a, host %a", name, n, d64, h64);
    CHECK(same_d(m64, h64), "%s (n=%zu): mixed %a, host %a", name, n, m64, h64);
    if (known) CHECK(same_d(d64, *known), "%s: device %a, known %a", name, d64, *known);
  }
#ifdef TESS_TEST_MPFR
  if (rank == 0) {
    ref_t r;
    ref_init(&r, 4400);
    for (size_t i = 0; i < n; i++) {
      double xi = is32 ? ((const float *)x)[i] : ((const double *)x)[i];
      if (k == K_SUM64 || k == K_SUM32) { ref_add(&r, xi); continue; }
      double yi = (k == K_NRM64 || k == K_NRM32) ? xi
                  : is32 ? ((const float *)y)[i] : ((const double *)y)[i];
      ref_add_product(&r, xi, yi);
    }
    if (is32) CHECK(same_f(d32, ref_round_f(&r)), "%s: device %a, MPFR %a", name, (double)d32,
                    (double)ref_round_f(&r));
    else CHECK(same_d(d64, ref_round_d(&r)), "%s: device %a, MPFR %a", name, d64, ref_round_d(&r));
    mpfr_clear(r.s);
  }
#endif
  tess_free(TESS_MEM_DEVICE, &bx);
  tess_free(TESS_MEM_DEVICE, &by);
  ncases++;
}

#define LIST(...) ((double[]){__VA_ARGS__}), (sizeof((double[]){__VA_ARGS__}) / sizeof(double))
static void known(const char *name, const double *v, size_t n, double want)
{
  check(name, K_SUM64, v, NULL, n, &want);
}

static void cases_known(void)
{
  known("1 + 2^53 - 2^53", LIST(1.0, 0x1p53, -0x1p53), 1.0);
  known("big cancels, 2^-1074 left", LIST(0x1p1023, 0x1p-1074, -0x1p1023), 0x1p-1074);
  known("DBL_MAX + DBL_MAX = Inf", LIST(DBL_MAX, DBL_MAX), INFINITY);
  known("DBL_MAX twice then back", LIST(DBL_MAX, DBL_MAX, -DBL_MAX), DBL_MAX);
  known("Inf - Inf = NaN", LIST(INFINITY, 1.0, -INFINITY), NAN);
  known("tie to even", LIST(1.0, 0x1p-53), 1.0);
  known("above the tie", LIST(1.0, 0x1p-53, 0x1p-1074), 1.0 + 0x1p-52);
  known("empty", LIST(0.0), 0.0);
}

static void cases_random(void)
{
  size_t n = 100003, big = ((size_t)1 << 22) + 17;
  double *g = malloc(2 * big * sizeof *g), *h = malloc(big * sizeof *h);
  float *f = (float *)g, *fh = (float *)h;
  size_t i;
  for (i = 0; i < n; i++) g[i] = wide_double(1, i);
  check("whole exponent range", K_SUM64, g, NULL, n, NULL);
  for (i = 0; i < n; i++) g[i] = band_double(2, i, 0, 60);
  check("subnormals and tiny normals", K_SUM64, g, NULL, n, NULL);
  for (i = 0; i < n / 2; i++) { g[2 * i] = band_double(3, i, 900, 2046); g[2 * i + 1] = -g[2 * i]; }
  g[n - 1] = 0x1.23456789abcdep-1000;
  check("massive cancellation", K_SUM64, g, NULL, n, NULL);
  for (i = 0; i < n / 2; i++) { g[2 * i] = band_double(4, i, 1, 40); g[2 * i + 1] = -g[2 * i]; }
  g[n - 1] = 0x1.8p-1070;
  check("cancellation to a subnormal", K_SUM64, g, NULL, n, NULL);
  for (i = 0; i < n; i++) g[i] = fabs(band_double(5, i, 2040, 2046));
  check("overflow to +Inf", K_SUM64, g, NULL, n, NULL);
  for (i = 0; i < n; i++) g[i] = (i & 1 ? -1 : 1) * DBL_MAX;
  g[n - 1] = 0x1p-1074;
  check("+-DBL_MAX alternating", K_SUM64, g, NULL, n, NULL);
  for (i = 0; i < n; i++) g[i] = 0.1;
  check("all 0.1", K_SUM64, g, NULL, n, NULL);
  for (i = 0; i < n; i++) g[i] = tess_rng_normal(SEED, 8, i);
  g[77777] = INFINITY;
  check("one +Inf", K_SUM64, g, NULL, n, NULL);
  g[1234] = -INFINITY;
  check("+Inf and -Inf", K_SUM64, g, NULL, n, NULL);
  g[99] = NAN;
  check("NaN", K_SUM64, g, NULL, n, NULL);

  /* large: many blocks and warps, the bins' paths */
  for (i = 0; i < big; i++) g[i] = tess_rng_uniform(SEED, 6, i);
  check("uniform [0,1) 2^22+17", K_SUM64, g, NULL, big, NULL);
  for (i = 0; i < big; i++)
    g[i] = (rnd(30, i) & 1 ? -1 : 1) * ldexp(1.0 + tess_rng_uniform(SEED, 31, i), (int)(rnd(32, i) % 121) - 60);
  check("2^+-60 random signs 2^22+17", K_SUM64, g, NULL, big, NULL);
  for (i = 0; i < big; i++) g[i] = tess_rng_normal(SEED, 7, i) * ldexp(1.0, (int)(i % 200) - 100);
  check("normal x 2^[-100,100)", K_SUM64, g, NULL, big, NULL);
  for (i = 0; i < big; i++) g[i] = ldexp(tess_rng_uniform(SEED, 33, i), (int)(i >> 12) - 512);
  check("rising magnitudes (e0 moves)", K_SUM64, g, NULL, big, NULL);
  for (i = 0; i < big; i++) g[i] = band_double(34, i, 0, 3);
  check("all subnormal-ish 2^22+17", K_SUM64, g, NULL, big, NULL);
  for (i = 0; i < 1000; i++) g[i] = tess_rng_normal(SEED, 35, i);
  for (size_t m = 1; m <= 1000; m = m * 3 + 1) check("short normal", K_SUM64, g, NULL, m, NULL);

  /* f32 */
  for (i = 0; i < n; i++) f[i] = wide_float(10, i);
  check("f32 whole range", K_SUM32, f, NULL, n, NULL);
  for (i = 0; i < n; i++) f[i] = FLT_MAX * (float)tess_rng_uniform(SEED, 11, i);
  check("f32 overflow", K_SUM32, f, NULL, n, NULL);
  for (i = 0; i < n / 2; i++) { f[2 * i] = wide_float(12, i); f[2 * i + 1] = -f[2 * i]; }
  f[n - 1] = 0x1p-149f;
  check("f32 cancellation to the least subnormal", K_SUM32, f, NULL, n, NULL);
  f[7] = INFINITY;
  f[8] = NAN;
  check("f32 Inf and NaN", K_SUM32, f, NULL, n, NULL);
  for (i = 0; i < big; i++) f[i] = (float)tess_rng_uniform(SEED, 36, i);
  check("f32 uniform 2^22+17", K_SUM32, f, NULL, big, NULL);

  /* dot products and norms (x in g, y in h) */
  for (i = 0; i < n; i++) { g[i] = tess_rng_normal(SEED, 13, i); h[i] = tess_rng_normal(SEED, 14, i); }
  check("dot normal", K_DOT64, g, h, n, NULL);
  check("nrm2sq normal", K_NRM64, g, NULL, n, NULL);
  for (i = 0; i < n; i++) { g[i] = wide_double(15, i); h[i] = wide_double(16, i); }
  check("dot whole range", K_DOT64, g, h, n, NULL);
  check("nrm2sq whole range", K_NRM64, g, NULL, n, NULL);
  for (i = 0; i < n; i++) { g[i] = band_double(17, i, 500, 540); h[i] = band_double(18, i, 500, 540); }
  check("dot products near underflow", K_DOT64, g, h, n, NULL);
  for (i = 0; i < n; i++) {
    g[i] = band_double(19, i / 2, 1500, 2000) * (i & 1 ? -1 : 1);
    h[i] = band_double(20, i / 2, 1500, 2000);
  }
  g[n - 1] = 3.0;
  h[n - 1] = 0x1p-1074;
  check("dot huge products cancel to 3*2^-1074", K_DOT64, g, h, n, NULL);
  for (i = 0; i < n; i++) { g[i] = tess_rng_normal(SEED, 21, i); h[i] = tess_rng_normal(SEED, 22, i); }
  g[10] = INFINITY;
  h[10] = 0.0;
  check("dot with Inf*0", K_DOT64, g, h, n, NULL);
  for (i = 0; i < big; i++) { g[i] = tess_rng_uniform(SEED, 23, i); h[i] = tess_rng_normal(SEED, 24, i); }
  check("dot uniform x normal 2^22+17", K_DOT64, g, h, big, NULL);
  for (i = 0; i < n; i++) { f[i] = wide_float(25, i); fh[i] = wide_float(26, i); }
  check("f32 dot whole range", K_DOT32, f, fh, n, NULL);
  check("f32 nrm2sq whole range", K_NRM32, f, NULL, n, NULL);
  free(g);
  free(h);
}

/* tess_array_sum / tess_array_reduce_sum of device arrays = of host arrays. */
static void fill(const int64_t g[], int nd, void *v, void *ctx)
{
  uint64_t lin = 0;
  int is_c = *(int *)ctx;
  for (int d = 0; d < nd; d++) lin = lin * 1000 + (uint64_t)g[d];
  double a = tess_rng_normal(SEED, 40, lin) * ldexp(1.0, (int)(lin % 90) - 45);
  if (is_c) {
    ((double *)v)[0] = a;
    ((double *)v)[1] = -tess_rng_uniform(SEED, 41, lin);
  } else {
    *(double *)v = a;
  }
}

static void cases_arrays(void)
{
  const char *names[] = {"x", "y"};
  int sizes[2] = {nranks > 1 ? 2 : 1, nranks > 1 ? nranks / 2 : 1};
  if (nranks == 3) { sizes[0] = 3; sizes[1] = 1; }
  tess_mesh_t *mesh = NULL;
  CHECK(tess_mesh_create(MPI_COMM_WORLD, 2, names, sizes, &mesh) == TESS_OK, "mesh");
  if (!mesh) return;
  for (int c = 0; c < 2; c++) {
    tess_dtype_t t = c ? TESS_C128 : TESS_F64;
    int64_t shape[3] = {37, 5, 101};
    tess_shardspec_t spec = {3, {0, TESS_REPLICATED, 1}};
    tess_array_t *h = NULL, *d = NULL, *rh = NULL, *rd = NULL, *rhh = NULL;
    CHECK(tess_array_create(mesh, t, 3, shape, &spec, TESS_MEM_HOST, &h) == TESS_OK, "host array");
    CHECK(tess_array_create(mesh, t, 3, shape, &spec, TESS_MEM_DEVICE, &d) == TESS_OK, "dev array");
    if (!h || !d) break;
    CHECK(tess_array_fill(h, fill, &c) == TESS_OK, "fill");
    CHECK(tess_array_copy(d, h) == TESS_OK, "copy to device");
    double sh[2] = {0, 0}, sd[2] = {1, 1};
    CHECK(tess_array_sum(h, sh) == TESS_OK && tess_array_sum(d, sd) == TESS_OK, "array sums");
    CHECK(same_d(sh[0], sd[0]) && (!c || same_d(sh[1], sd[1])), "%s array sum: device %a%+ai, host %a%+ai",
          tess_dtype_name(t), sd[0], sd[1], sh[0], sh[1]);
    for (int dim = 0; dim < 3; dim++) {
      CHECK(tess_array_reduce_sum(h, dim, &rh) == TESS_OK, "reduce host");
      CHECK(tess_array_reduce_sum(d, dim, &rd) == TESS_OK, "reduce device");
      if (rh && rd) {
        CHECK(tess_array_memspace(rd) == tess_array_memspace(d), "reduce output space");
        tess_shardspec_t os;
        tess_array_spec(rd, &os);
        CHECK(tess_array_create(mesh, t, 3, (int64_t[]){dim == 0 ? 1 : 37, dim == 1 ? 1 : 5, dim == 2 ? 1 : 101},
                                &os, TESS_MEM_HOST, &rhh) == TESS_OK, "host out");
        if (rhh) {
          CHECK(tess_array_copy(rhh, rd) == TESS_OK, "copy back");
          size_t bytes = (size_t)tess_array_local_count(rh) * (c ? 16 : 8);
          CHECK(memcmp(tess_array_local_data(rh), tess_array_local_data(rhh), bytes) == 0,
                "%s reduce_sum over dim %d: device and host outputs differ", tess_dtype_name(t), dim);
        }
      }
      tess_array_destroy(&rh);
      tess_array_destroy(&rd);
      tess_array_destroy(&rhh);
    }
    tess_array_destroy(&h);
    tess_array_destroy(&d);
    ncases++;
  }
  tess_mesh_destroy(&mesh);
}

static void cases_errors(void)
{
  double *dx = NULL, x = 1, r = 0;
  CHECK(tess_malloc(TESS_MEM_DEVICE, 8, (void **)&dx) == TESS_OK, "alloc");
  CHECK(tess_memcpy(TESS_MEM_DEVICE, dx, TESS_MEM_HOST, &x, 8) == TESS_OK, "H2D");
  int rc = tess_dot_f64(dx, &x, 1, MPI_COMM_WORLD, &r);
  CHECK(rc == TESS_ERR_ARG, "dot of device x and host y: %d, expected TESS_ERR_ARG", rc);
  tess_error_clear();
  tess_free(TESS_MEM_DEVICE, (void **)&dx);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  CHECK(tess_init(&argc, &argv) == TESS_OK, "tess_init");
  if (!tess_device_available()) {
    if (rank == 0) printf("test_gpu_sum: no GPU visible to this process (%s build): skipped\n",
                          tess_device_backend_name());
    tess_finalize();
    MPI_Finalize();
    return 77;
  }
  cases_known();
  cases_random();
  cases_arrays();
  cases_errors();
  if (rank == 0) printf("%d cases%s\n", ncases,
#ifdef TESS_TEST_MPFR
                        ", each also against MPFR"
#else
                        " (no MPFR in this build: host path is the reference)"
#endif
  );
  int rc = tess_test_finish("gpu_sum");
  tess_finalize();
  MPI_Finalize();
  return rc;
}

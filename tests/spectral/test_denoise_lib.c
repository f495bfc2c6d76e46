/* tests/spectral/test_denoise_lib.c: tess_denoise_run called as a library
 * (no app, no deck), checked against truths computed here:
 *  - the clean field equals its analytic formula (cosine modes; Taylor-Green
 *    on a 3-D pencil mesh), point by point;
 *  - noisy - clean has the noise's statistics (mean 0, variance sigma^2,
 *    within 5 standard errors) and the reported RMS error is its RMS;
 *  - without noise, a relative threshold keeps exactly the 3 mode
 *    coefficients and the denoised field is the clean one (1e-12);
 *  - extrema, peak and PSNR follow from the gathered fields;
 *  - the fingerprint is the documented formula, recomputed on rank 0 from
 *    the gathered field with its own mix function;
 *  - a 1-D field (replicated over every rank) gives the same metrics as the
 *    same field computed here;
 *  - bad options fail with TESS_ERR_ARG and leave nothing to free.
 * Run at 1, 2 and 3 ranks. */
#include <tessera/tessera.h>
#include <math.h>
#include <string.h>
#include "tess_test.h"

#define PI 3.14159265358979323846

static uint64_t my_mix(uint64_t z)
{
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t my_hash(const double *x, int64_t n)
{
  uint64_t s = 0;
  for (int64_t i = 0; i < n; i++) {
    uint64_t b;
    memcpy(&b, &x[i], sizeof b);
    s += my_mix(b ^ my_mix((uint64_t)i));
  }
  return s;
}

static double modes_value(const tess_denoise_options_t *o, const int64_t g[])
{
  double s = 0;
  for (int j = 0; j < o->nmodes; j++) {
    double ph = 0;
    for (int d = 0; d < o->ndim; d++) ph += (double)o->modes[j][d] * (2 * PI * (double)g[d] / (double)o->n[d]);
    s += o->amplitudes[j] * cos(ph);
  }
  return s;
}

/* Gather the kept fields to mesh rank 0 (NULL elsewhere). */
static tess_err_t gather3(const tess_denoise_result_t *r, int64_t N, int root, double *f[3])
{
  tess_err_t err = TESS_OK;
  const tess_array_t *a[3] = {r->clean, r->noisy, r->denoised};
  for (int i = 0; i < 3; i++) {
    f[i] = root ? malloc(sizeof(double) * (size_t)N) : NULL;
    TESS_REQUIRE(!root || f[i], TESS_ERR_MEM, "gather buffer");
    TESS_CHECK(tess_array_gather(a[i], 0, f[i]));
  }
cleanup:
  return err;
}

/* The checks that hold for any field: noise stats, RMS, extrema, hashes. */
static void check_common(const char *what, const tess_denoise_options_t *o,
                         const tess_denoise_result_t *r, double *f[3], int64_t N)
{
  long double m = 0, v = 0, ed = 0;
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < N; i++) {
    long double e = (long double)f[1][i] - f[0][i], dd = (long double)f[2][i] - f[0][i];
    m += e;
    v += e * e;
    ed += dd * dd;
    if (f[0][i] < lo) lo = f[0][i];
    if (f[0][i] > hi) hi = f[0][i];
  }
  m /= N;
  v /= N;
  if (o->sigma > 0) {
    CHECK(fabsl(m) < 5 * o->sigma / sqrtl(N), "%s: noise mean %Lg for sigma %g, N %lld", what, m,
          o->sigma, (long long)N);
    CHECK(fabsl(v / (o->sigma * o->sigma) - 1) < 5 * sqrtl(2.0L / N), "%s: noise variance %Lg, expected %g",
          what, v, o->sigma * o->sigma);
  }
  CHECK(fabs(r->rms_noisy - (double)sqrtl(v)) <= 1e-12 * (1 + r->rms_noisy), "%s: rms_noisy %.17g vs %.17Lg",
        what, r->rms_noisy, sqrtl(v));
  CHECK(fabs(r->rms_denoised - (double)sqrtl(ed / N)) <= 1e-12 * (1 + r->rms_denoised),
        "%s: rms_denoised %.17g vs %.17Lg", what, r->rms_denoised, sqrtl(ed / N));
  CHECK(r->clean_min == lo && r->clean_max == hi && r->peak == hi - lo,
        "%s: extrema %.17g %.17g (peak %.17g), expected %.17g %.17g", what, r->clean_min, r->clean_max,
        r->peak, lo, hi);
  if (r->rms_noisy > 0)
    CHECK(fabs(r->psnr_noisy_db - 20 * log10(r->peak / r->rms_noisy)) < 1e-12, "%s: psnr_noisy %g", what,
          r->psnr_noisy_db);
  CHECK(r->hash_clean == my_hash(f[0], N) && r->hash_noisy == my_hash(f[1], N) &&
        r->hash_denoised == my_hash(f[2], N), "%s: fingerprints differ from the formula", what);
}

int main(int argc, char **argv)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL, *pencil = NULL, *line = NULL;
  tess_denoise_options_t o;
  tess_denoise_result_t r;
  double *f[3] = {NULL, NULL, NULL};
  int root = 0;
  memset(&r, 0, sizeof r);
  tess_init(&argc, &argv);

  /* 2-D cosine modes on a slab mesh, noisy */
  tess_denoise_options_default(&o);
  o.n[0] = 40;
  o.n[1] = 30;
  o.sigma = 0.4;
  o.seed = 5;
  o.keep_fields = 1;
  TESS_CHECK(tess_denoise_mesh_create(MPI_COMM_WORLD, 2, o.n, "slab", &mesh));
  root = tess_mesh_rank(mesh) == 0;
  TESS_CHECK(tess_denoise_run(mesh, &o, &r));
  TESS_CHECK(gather3(&r, 40 * 30, root, f));
  if (root) {
    int64_t g[2];
    double worst = 0;
    for (g[0] = 0; g[0] < 40; g[0]++)
      for (g[1] = 0; g[1] < 30; g[1]++)
        worst = fmax(worst, fabs(f[0][g[0] * 30 + g[1]] - modes_value(&o, g)));
    CHECK(worst < 1e-14, "2-D clean field off its formula by %g", worst);
    check_common("2-D noisy", &o, &r, f, 40 * 30);
    CHECK(r.rms_denoised < 0.5 * r.rms_noisy, "denoising did not help: %g vs %g", r.rms_denoised, r.rms_noisy);
  }
  for (int i = 0; i < 3; i++) { free(f[i]); f[i] = NULL; }
  tess_denoise_result_free(&r);

  /* the same without noise: the threshold keeps the 3 modes, denoised = clean */
  o.sigma = 0;
  TESS_CHECK(tess_denoise_run(mesh, &o, &r));
  CHECK(r.modes.kept == 3 && r.modes.kept_modes == 6, "kept %lld / %lld, expected 3 / 6",
        (long long)r.modes.kept, (long long)r.modes.kept_modes);
  CHECK(r.rms_noisy == 0 && r.rms_denoised < 1e-12, "noise-free: rms %g, %g", r.rms_noisy, r.rms_denoised);
  tess_denoise_result_free(&r);

  /* 3-D Taylor-Green on a pencil mesh, Gaussian filter */
  tess_denoise_options_default(&o);
  o.ndim = 3;
  o.n[0] = 12; o.n[1] = 10; o.n[2] = 9;
  o.field = TESS_DENOISE_FIELD_TAYLOR_GREEN;
  o.rule = TESS_DENOISE_GAUSSIAN;
  o.value = 3;
  o.sigma = 0.2;
  o.keep_fields = 1;
  TESS_CHECK(tess_denoise_mesh_create(MPI_COMM_WORLD, 3, o.n, "pencil", &pencil));
  CHECK(tess_mesh_naxes(pencil) == 2, "pencil mesh has %d axes", tess_mesh_naxes(pencil));
  TESS_CHECK(tess_denoise_run(pencil, &o, &r));
  CHECK(r.fft.grid_axes == 2, "3-D pencil run used %d grid axes", r.fft.grid_axes);
  TESS_CHECK(gather3(&r, 12 * 10 * 9, tess_mesh_rank(pencil) == 0, f));
  if (tess_mesh_rank(pencil) == 0) {
    double worst = 0;
    for (int i = 0; i < 12; i++)
      for (int j = 0; j < 10; j++)
        for (int k = 0; k < 9; k++) {
          double tg = sin(2 * PI * i / 12) * cos(2 * PI * j / 10) * cos(2 * PI * k / 9);
          worst = fmax(worst, fabs(f[0][(i * 10 + j) * 9 + k] - tg));
        }
    CHECK(worst < 1e-14, "Taylor-Green off its formula by %g", worst);
    check_common("3-D Taylor-Green", &o, &r, f, 12 * 10 * 9);
  }
  for (int i = 0; i < 3; i++) { free(f[i]); f[i] = NULL; }
  tess_denoise_result_free(&r);

  /* 1-D, replicated over every rank: each element counted once */
  tess_denoise_options_default(&o);
  o.ndim = 1;
  o.n[0] = 64;
  o.nmodes = 2;
  o.modes[0][0] = 3; o.modes[1][0] = 7;
  o.amplitudes[0] = 1; o.amplitudes[1] = -0.5;
  o.rule = TESS_DENOISE_LOWPASS;
  o.value = 8;
  o.keep_fields = 1;
  TESS_CHECK(tess_denoise_mesh_create(MPI_COMM_WORLD, 1, o.n, "auto", &line));
  TESS_CHECK(tess_denoise_run(line, &o, &r));
  TESS_CHECK(gather3(&r, 64, tess_mesh_rank(line) == 0, f));
  if (tess_mesh_rank(line) == 0) {
    double worst = 0;
    for (int64_t g = 0; g < 64; g++) worst = fmax(worst, fabs(f[0][g] - modes_value(&o, &g)));
    CHECK(worst < 1e-14, "1-D clean field off its formula by %g", worst);
    check_common("1-D replicated", &o, &r, f, 64);
  }
  for (int i = 0; i < 3; i++) { free(f[i]); f[i] = NULL; }
  tess_denoise_result_free(&r);

  /* bad options: TESS_ERR_ARG, no fields handed out */
  {
    tess_err_t e;
    o.rule = TESS_DENOISE_RELATIVE;
    o.value = 2;   /* a fraction > 1 */
    e = tess_denoise_run(line, &o, &r);
    CHECK(e == TESS_ERR_ARG && !r.clean && !r.noisy && !r.denoised, "bad value gave %d", (int)e);
    tess_error_clear();
    tess_denoise_field_t fk;
    CHECK(tess_denoise_field_parse("waves", &fk) == TESS_ERR_ARG, "unknown field kind accepted");
    tess_error_clear();
  }

cleanup:
  if (err) { tess_error_print(stderr); CHECK(0, "run failed"); }
  for (int i = 0; i < 3; i++) free(f[i]);
  tess_denoise_result_free(&r);
  tess_mesh_destroy(&mesh);
  tess_mesh_destroy(&pencil);
  tess_mesh_destroy(&line);
  int rc = tess_test_finish("denoise_lib");
  tess_finalize();
  return rc;
}

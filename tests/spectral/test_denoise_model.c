/* tests/spectral/test_denoise_model.c: the analytic noise model of spectral
 * denoising, exactly. Clean field: 3 cosine modes on a 36x28 periodic grid;
 * noise: sigma * N(0,1) keyed by global index (tess_rng_normal, as the study
 * does). Denoise = r2c, relative threshold 0.1 (keeps exactly the 3 stored
 * coefficients of the modes), c2r / N. The clean part then passes unchanged
 * and the error is the noise projected on the kept modes:
 *     sum_x e(x)^2 = sum_{kept k} 2 |nhat(k)|^2 / N,
 * with nhat(k) = sum_x noise(x) exp(-i k.x) computed HERE by a direct
 * long-double DFT sum (no FFT code). Must agree to 1e-10 relative. The kept
 * set is checked too (exactly the 3 mode coefficients). */
#include <tessera/tessera.h>
#include <math.h>
#include "tess_test.h"

#define NX 36
#define NY 28
static const int modes[3][2] = {{1, 2}, {3, 1}, {5, 4}};
static const double amps[3] = {1.0, 0.5, 0.25};
static const double sigma = 0.3;
static const uint64_t seed = 9;

static void fill_noisy(const int64_t g[], int nd, void *v, void *ctx)
{
  (void)nd; (void)ctx;
  double x = 2 * 3.14159265358979323846 * (double)g[0] / NX, y = 2 * 3.14159265358979323846 * (double)g[1] / NY, s = 0;
  for (int j = 0; j < 3; j++) s += amps[j] * cos(modes[j][0] * x + modes[j][1] * y);
  *(double *)v = s + sigma * tess_rng_normal(seed, 1, (uint64_t)(g[0] * NY + g[1]));
}

int main(int argc, char **argv)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *u = NULL, *U = NULL, *d = NULL;
  tess_fft_plan_t *pf = NULL, *pb = NULL;
  tess_fft_opts_t o = {0};
  tess_spectral_grid_t grid;
  tess_thresh_stats_t st;
  tess_shardspec_t sp;
  int P, r, dims[1] = {0}, axes[1] = {0};
  const char *names[1] = {"x"};
  int64_t shape[2] = {NX, NY};
  double *gd = malloc(sizeof(double) * NX * NY);
  tess_init(&argc, &argv);
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  dims[0] = P;
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, names, dims, &mesh));
  TESS_CHECK(tess_fft_spec(2, 2, 1, axes, TESS_FFT_LAYOUT_NATURAL, &sp));
  TESS_CHECK(tess_array_create(mesh, TESS_F64, 2, shape, &sp, TESS_MEM_HOST, &u));
  TESS_CHECK(tess_array_create_like(u, NULL, &d));
  TESS_CHECK(tess_array_fill(u, fill_noisy, NULL));
  TESS_CHECK(tess_fft_create_output(u, 2, TESS_FFT_LAYOUT_TRANSPOSED, &U));
  o.flags = TESS_FFT_NORM_BACKWARD;
  TESS_CHECK(tess_fft_plan_create_opts(u, U, TESS_FFT_FORWARD, &o, &pf));
  TESS_CHECK(tess_fft_plan_create_opts(U, d, TESS_FFT_BACKWARD, &o, &pb));
  TESS_CHECK(tess_spectral_grid_from_plan(pf, &grid));
  TESS_CHECK(tess_fft_execute(pf, u, U));
  TESS_CHECK(tess_spectral_threshold(U, &grid, TESS_THRESH_RELATIVE, 0.1, &st));
  TESS_CHECK(tess_fft_execute(pb, U, d));
  TESS_CHECK(tess_array_gather(d, 0, gd));
  CHECK(st.kept == 3 && st.kept_modes == 6, "kept %lld coefficients / %lld modes, expected 3 / 6",
        (long long)st.kept, (long long)st.kept_modes);
  if (r == 0) {
    long double model = 0, got = 0;
    for (int j = 0; j < 3; j++) {
      long double re = 0, im = 0;
      for (int ix = 0; ix < NX; ix++)
        for (int iy = 0; iy < NY; iy++) {
          long double ph = -2 * (long double)3.14159265358979323846 *
                           ((long double)modes[j][0] * ix / NX + (long double)modes[j][1] * iy / NY);
          long double nz = sigma * tess_rng_normal(seed, 1, (uint64_t)(ix * NY + iy));
          re += nz * cosl(ph);
          im += nz * sinl(ph);
        }
      model += 2 * (re * re + im * im) / (NX * NY);
    }
    for (int ix = 0; ix < NX; ix++)
      for (int iy = 0; iy < NY; iy++) {
        double x = 2 * 3.14159265358979323846 * ix / NX, y = 2 * 3.14159265358979323846 * iy / NY, s = 0;
        for (int j = 0; j < 3; j++) s += amps[j] * cos(modes[j][0] * x + modes[j][1] * y);
        long double e = (long double)gd[ix * NY + iy] - s;
        got += e * e;
      }
    double rel = (double)fabsl(got - model) / (double)model;
    CHECK(rel < 1e-10, "denoised error energy %.17Lg, noise projected on kept modes %.17Lg (rel %.2e)",
          got, model, rel);
    printf("denoised error energy %.12Lg, model %.12Lg, rel diff %.2e; expected fraction 6/N = %.3e, "
           "realised %.3e\n", got, model, rel, 6.0 / (NX * NY),
           (double)(got / (NX * NY)) / (sigma * sigma));
  }
cleanup:
  if (err) { tess_error_print(stderr); CHECK(0, "run failed"); }
  tess_fft_plan_destroy(&pf);
  tess_fft_plan_destroy(&pb);
  tess_array_destroy(&u);
  tess_array_destroy(&U);
  tess_array_destroy(&d);
  tess_mesh_destroy(&mesh);
  free(gd);
  int rc = tess_test_finish("spectral_denoise_model");
  tess_finalize();
  return rc;
}

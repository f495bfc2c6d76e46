/* spectral/denoise_fields.c: the clean and noisy fields of the denoise
 * kernel. Each value is a function of its global index only (cosine modes,
 * Taylor-Green, a random half spectrum keyed by the coefficient's global
 * index; noise keyed by the point's), so the fields are the same bits on
 * any mesh. */
#include "denoise_internal.h"
#include "spectral_internal.h"

#include <math.h>
#include <tessera/rng.h>

static double coord(int64_t i, int64_t n) { return 2 * TESS_PI * (double)i / (double)n; }

static void fill_clean(const int64_t g[], int nd, void *v, void *ctx)
{
  const tess_denoise_options_t *o = ctx;
  double x[3] = {0, 0, 0}, s = 0;
  for (int d = 0; d < nd; d++) x[d] = coord(g[d], o->n[d]);
  if (o->field == TESS_DENOISE_FIELD_MODES) {
    for (int j = 0; j < o->nmodes; j++) {
      double ph = 0;
      for (int d = 0; d < nd; d++) ph += (double)o->modes[j][d] * x[d];
      s += o->amplitudes[j] * cos(ph);
    }
  } else {
    s = sin(x[0]) * cos(x[1]) * (nd == 3 ? cos(x[2]) : 1.0);
  }
  *(double *)v = s;
}

/* Random field: half-spectrum coefficients with |c| ~ |k|^(-slope/2) times a
 * complex normal keyed by the coefficient's global index. */
typedef struct { const tess_denoise_options_t *o; const tess_spectral_grid_t *g; } rand_ctx_t;
static void visit_random(const int64_t m[], const double k[], int w, void *e, int64_t gi, void *ctx)
{
  const rand_ctx_t *c = ctx;
  double k2 = 0, *z = e;
  (void)m; (void)w;
  for (int d = 0; d < c->g->rank; d++) k2 += k[d] * k[d];
  double kk = sqrt(k2);
  if (kk == 0 || kk > c->o->kmax) { z[0] = z[1] = 0; return; }
  double a = pow(kk, -0.5 * c->o->slope - 0.5 * (c->g->rank - 1));   /* shell-averaged E(k) ~ k^-slope */
  z[0] = a * tess_rng_normal(c->o->seed, 7, 2 * (uint64_t)gi);
  z[1] = a * tess_rng_normal(c->o->seed, 7, 2 * (uint64_t)gi + 1);
}

tess_err_t denoise_fill_clean(const tess_denoise_options_t *o, tess_array_t *clean,
                              tess_array_t *spec, const tess_spectral_grid_t *grid,
                              const tess_fft_plan_t *pb)
{
  tess_err_t err = TESS_OK;
  if (o->field != TESS_DENOISE_FIELD_RANDOM) {
    TESS_CHECK(tess_array_fill(clean, fill_clean, (void *)o));
    goto cleanup;
  }
  rand_ctx_t rc = {o, grid};
  double ss = 0;
  TESS_CHECK(tess_spectral_foreach(spec, grid, visit_random, &rc));
  TESS_CHECK(tess_fft_execute(pb, spec, clean));
  TESS_CHECK(denoise_sum_sq(clean, &ss));
  if (ss > 0) {   /* unit RMS */
    double sc = 1.0 / sqrt(ss / (double)tess_array_global_count(clean));
    double *x = tess_array_local_data(clean);
    for (int64_t i = 0; i < tess_array_local_count(clean); i++) x[i] *= sc;
  }
cleanup:
  return err;
}

void denoise_add_noise(const tess_denoise_options_t *o, const tess_array_t *clean,
                       tess_array_t *noisy)
{
  const double *c = tess_array_local_data_const(clean);
  double *y = tess_array_local_data(noisy);
  int64_t gidx[3];
  for (int64_t i = 0; i < tess_array_local_count(noisy); i++) {
    tess_array_global_index(noisy, i, gidx);
    uint64_t gl = (uint64_t)tess_array_global_linear(noisy, gidx);
    y[i] = c[i] + o->sigma * tess_rng_normal(o->seed, 1, gl);
  }
}

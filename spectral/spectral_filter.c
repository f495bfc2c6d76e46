/* spectral/spectral_filter.c: low-pass, Gaussian and 2/3-rule filters on
 * distributed spectra (in place; local, no communication). */
#include <tessera/spectral_ops.h>
#include "spectral_cuda.h"
#include "spectral_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const tess_spectral_grid_t *g;
  int single;
  double a;
} filt_ctx_t;

static void visit_lowpass(const int64_t m[], const double k[], int w, void *e, int64_t gi, void *ctx)
{
  filt_ctx_t *c = ctx;
  double k2 = 0;
  (void)m; (void)w; (void)gi;
  for (int d = 0; d < c->g->rank; d++) k2 += k[d] * k[d];
  if (k2 > c->a * c->a) spec_set(e, c->single, 0, 0);
}

static void visit_gauss(const int64_t m[], const double k[], int w, void *e, int64_t gi, void *ctx)
{
  filt_ctx_t *c = ctx;
  double k2 = 0, re, im;
  (void)m; (void)w; (void)gi;
  for (int d = 0; d < c->g->rank; d++) k2 += k[d] * k[d];
  double f = exp(-0.5 * k2 / (c->a * c->a));
  spec_get(e, c->single, &re, &im);
  spec_set(e, c->single, re * f, im * f);
}

static void visit_dealias(const int64_t m[], const double k[], int w, void *e, int64_t gi, void *ctx)
{
  filt_ctx_t *c = ctx;
  (void)k; (void)w; (void)gi;
  for (int d = 0; d < c->g->rank; d++)
    if (3 * llabs(m[d]) > c->g->n[d]) { spec_set(e, c->single, 0, 0); return; }
}

/* Device spectra: the same filter as a kernel (spectral/cuda/). */
static tess_err_t filter_device(tess_array_t *X, const tess_spectral_grid_t *g, int op, double a,
                                const char *caller)
{
  tess_err_t err = TESS_OK;
  spec_geom_t geo;
  const tess_array_t *arr[1] = {X};
  memset(&geo, 0, sizeof geo);
  TESS_CHECK(spec_require_device(caller, 1, arr));
  TESS_CHECK(spec_geom_make(X, g, &geo));
#if TESSERA_HAVE_CUFFT
  TESS_CHECK(spec_cuda_filter(&geo, tess_array_local_data(X), (spec_filter_t)op, a));
#else
  (void)op; (void)a;
#endif
cleanup:
  spec_geom_free(&geo);
  return err;
}

enum { F_LOWPASS, F_GAUSS, F_DEALIAS };   /* spec_filter_t's order */

tess_err_t tess_spectral_lowpass(tess_array_t *X, const tess_spectral_grid_t *g, double kcut)
{
  tess_err_t err = TESS_OK;
  filt_ctx_t c = {g, 0, kcut};
  TESS_REQUIRE(X && g, TESS_ERR_ARG, "NULL argument");
  TESS_REQUIRE(kcut >= 0 && !isnan(kcut), TESS_ERR_ARG, "low-pass cutoff %g: expected >= 0", kcut);
  if (!tess_memspace_is_host(tess_array_memspace(X)))
    return filter_device(X, g, F_LOWPASS, kcut, __func__);
  c.single = tess_array_dtype(X) == TESS_C64;
  TESS_CHECK(tess_spectral_foreach(X, g, visit_lowpass, &c));
cleanup:
  return err;
}

tess_err_t tess_spectral_gaussian(tess_array_t *X, const tess_spectral_grid_t *g, double kwidth)
{
  tess_err_t err = TESS_OK;
  filt_ctx_t c = {g, 0, kwidth};
  TESS_REQUIRE(X && g, TESS_ERR_ARG, "NULL argument");
  TESS_REQUIRE(kwidth > 0 && isfinite(kwidth), TESS_ERR_ARG,
               "Gaussian filter width %g: expected a finite number > 0", kwidth);
  if (!tess_memspace_is_host(tess_array_memspace(X)))
    return filter_device(X, g, F_GAUSS, kwidth, __func__);
  c.single = tess_array_dtype(X) == TESS_C64;
  TESS_CHECK(tess_spectral_foreach(X, g, visit_gauss, &c));
cleanup:
  return err;
}

tess_err_t tess_spectral_dealias(tess_array_t *X, const tess_spectral_grid_t *g)
{
  tess_err_t err = TESS_OK;
  filt_ctx_t c = {g, 0, 0};
  TESS_REQUIRE(X && g, TESS_ERR_ARG, "NULL argument");
  if (!tess_memspace_is_host(tess_array_memspace(X)))
    return filter_device(X, g, F_DEALIAS, 0, __func__);
  c.single = tess_array_dtype(X) == TESS_C64;
  TESS_CHECK(tess_spectral_foreach(X, g, visit_dealias, &c));
cleanup:
  return err;
}

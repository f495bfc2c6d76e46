/* spectral/spectral_filter.c: low-pass, Gaussian and 2/3-rule filters on
 * distributed spectra (in place; local, no communication). */
#include <tessera/spectral_ops.h>
#include "spectral_internal.h"

#include <math.h>
#include <stdlib.h>

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

tess_err_t tess_spectral_lowpass(tess_array_t *X, const tess_spectral_grid_t *g, double kcut)
{
  tess_err_t err = TESS_OK;
  filt_ctx_t c = {g, 0, kcut};
  TESS_REQUIRE(X && g, TESS_ERR_ARG, "NULL argument");
  TESS_REQUIRE(kcut >= 0 && !isnan(kcut), TESS_ERR_ARG, "low-pass cutoff %g: expected >= 0", kcut);
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
  c.single = tess_array_dtype(X) == TESS_C64;
  TESS_CHECK(tess_spectral_foreach(X, g, visit_dealias, &c));
cleanup:
  return err;
}

/* spectral/spectral_deriv.c: spectral gradient, divergence, Laplacian and
 * inverse Laplacian (periodic Poisson). Pointwise in k, so purely local: the
 * output arrays must have the spectrum's dtype, shape and spec, and their
 * local elements line up with the input's one to one. */
#include <tessera/spectral_ops.h>
#include "spectral_cuda.h"
#include "spectral_internal.h"

#include <stdint.h>
#include <string.h>

#define MAXF 3

typedef struct {
  const tess_spectral_grid_t *g;
  int single;
  size_t es;
  const char *xbase;             /* the array visited */
  const char *in[MAXF];          /* further inputs, same layout */
  char *out[MAXF];
  int nin, nout;
} der_ctx_t;

static int nyquist(const tess_spectral_grid_t *g, int d, const int64_t m[])
{
  return g->n[d] % 2 == 0 && 2 * (m[d] < 0 ? -m[d] : m[d]) == g->n[d];
}

static void visit_grad(const int64_t m[], const double k[], int w, void *e, int64_t gi, void *ctx)
{
  der_ctx_t *c = ctx;
  double re, im;
  size_t off = (size_t)((char *)e - c->xbase);
  (void)w; (void)gi;
  spec_get(e, c->single, &re, &im);
  for (int d = 0; d < c->g->rank; d++) {
    double kd = nyquist(c->g, d, m) ? 0.0 : k[d];
    spec_set(c->out[d] + off, c->single, -kd * im, kd * re);
  }
}

static void visit_div(const int64_t m[], const double k[], int w, void *e, int64_t gi, void *ctx)
{
  der_ctx_t *c = ctx;
  double sr = 0, si = 0, re, im;
  size_t off = (size_t)((char *)e - c->xbase);
  (void)w; (void)gi;
  for (int d = 0; d < c->g->rank; d++) {
    double kd = nyquist(c->g, d, m) ? 0.0 : k[d];
    spec_get(c->in[d] + off, c->single, &re, &im);
    sr += -kd * im;
    si += kd * re;
  }
  spec_set(e, c->single, sr, si);
}

static void visit_lap(const int64_t m[], const double k[], int w, void *e, int64_t gi, void *ctx)
{
  der_ctx_t *c = ctx;
  double k2 = 0, re, im;
  size_t off = (size_t)((char *)e - c->xbase);
  (void)m; (void)w; (void)gi;
  for (int d = 0; d < c->g->rank; d++) k2 += k[d] * k[d];
  spec_get(e, c->single, &re, &im);
  spec_set(c->out[0] + off, c->single, -k2 * re, -k2 * im);
}

static void visit_ilap(const int64_t m[], const double k[], int w, void *e, int64_t gi, void *ctx)
{
  der_ctx_t *c = ctx;
  double k2 = 0, re, im;
  size_t off = (size_t)((char *)e - c->xbase);
  (void)m; (void)w; (void)gi;
  for (int d = 0; d < c->g->rank; d++) k2 += k[d] * k[d];
  spec_get(e, c->single, &re, &im);
  if (k2 == 0) spec_set(c->out[0] + off, c->single, 0, 0);
  else spec_set(c->out[0] + off, c->single, -re / k2, -im / k2);
}

static tess_err_t same_layout(const tess_array_t *a, const tess_array_t *b, const char *what)
{
  tess_err_t err = TESS_OK;
  int64_t sa[TESS_MAX_NDIM], sb[TESS_MAX_NDIM];
  tess_shardspec_t pa, pb;
  TESS_REQUIRE(b != NULL, TESS_ERR_ARG, "NULL %s array", what);
  TESS_REQUIRE(tess_array_mesh(a) == tess_array_mesh(b) && tess_array_dtype(a) == tess_array_dtype(b) &&
               tess_array_ndim(a) == tess_array_ndim(b), TESS_ERR_SHAPE,
               "%s array: mesh, dtype or rank differ from the spectrum's", what);
  tess_array_global_shape(a, sa);
  tess_array_global_shape(b, sb);
  tess_array_spec(a, &pa);
  tess_array_spec(b, &pb);
  TESS_REQUIRE(memcmp(sa, sb, sizeof(int64_t) * (size_t)tess_array_ndim(a)) == 0 &&
               tess_shardspec_equal(&pa, &pb), TESS_ERR_SHAPE,
               "%s array: shape or spec differ from the spectrum's", what);
  tess_array_local_shape(a, sa);
  tess_array_local_shape(b, sb);
  TESS_REQUIRE(memcmp(sa, sb, sizeof(int64_t) * (size_t)tess_array_ndim(a)) == 0, TESS_ERR_SHAPE,
               "%s array: local block differs from the spectrum's (another partition)", what);
cleanup:
  return err;
}

static void ctx_init(der_ctx_t *c, const tess_array_t *X, const tess_spectral_grid_t *g)
{
  memset(c, 0, sizeof *c);
  c->g = g;
  c->single = tess_array_dtype(X) == TESS_C64;
  c->es = tess_dtype_size(tess_array_dtype(X));
  c->xbase = tess_array_local_data_const(X);
}

/* Device spectra: validated like the host path, then one kernel
 * (spectral/cuda/). n arrays in `all` must all be device memory. */
static tess_err_t deriv_device(const tess_array_t *X, const tess_spectral_grid_t *g, int op,
                               int n, const tess_array_t *const all[], const void *const in[],
                               void *const out[], const char *caller)
{
  tess_err_t err = TESS_OK;
  spec_geom_t geo;
  memset(&geo, 0, sizeof geo);
  TESS_CHECK(spec_require_device(caller, n, all));
  TESS_CHECK(spec_geom_make(X, g, &geo));
#if TESSERA_HAVE_CUFFT
  TESS_CHECK(spec_cuda_deriv(&geo, (spec_deriv_t)op, (void *)tess_array_local_data_const(X), in,
                             out));
#else
  (void)op; (void)in; (void)out;
#endif
cleanup:
  spec_geom_free(&geo);
  return err;
}

enum { D_GRAD, D_DIV, D_LAP, D_ILAP };   /* spec_deriv_t's order */

tess_err_t tess_spectral_gradient(const tess_array_t *X, const tess_spectral_grid_t *g,
                                  tess_array_t *const Y[])
{
  tess_err_t err = TESS_OK;
  der_ctx_t c;
  TESS_REQUIRE(X && g && Y, TESS_ERR_ARG, "NULL argument");
  if (!tess_memspace_is_host(tess_array_memspace(X))) {
    const tess_array_t *all[4] = {X};
    void *out[3] = {NULL, NULL, NULL};
    TESS_REQUIRE(g->rank >= 1 && g->rank <= 3, TESS_ERR_ARG, "spectral grid rank %d", g->rank);
    for (int d = 0; d < g->rank; d++) {
      TESS_CHECK(same_layout(X, Y[d], "gradient output"));
      TESS_REQUIRE(Y[d] != X, TESS_ERR_ARG, "gradient output %d aliases the input", d);
      all[d + 1] = Y[d];
      out[d] = tess_array_local_data(Y[d]);
    }
    return deriv_device(X, g, D_GRAD, g->rank + 1, all, NULL, out, __func__);
  }
  ctx_init(&c, X, g);
  for (int d = 0; d < g->rank; d++) {
    TESS_CHECK(same_layout(X, Y[d], "gradient output"));
    TESS_REQUIRE_HOST(Y[d]);
    TESS_REQUIRE(Y[d] != X, TESS_ERR_ARG, "gradient output %d aliases the input", d);
    c.out[d] = tess_array_local_data(Y[d]);
  }
  TESS_CHECK(tess_spectral_foreach((tess_array_t *)X, g, visit_grad, &c));
cleanup:
  return err;
}

tess_err_t tess_spectral_divergence(const tess_array_t *const X[], const tess_spectral_grid_t *g,
                                    tess_array_t *Y)
{
  tess_err_t err = TESS_OK;
  der_ctx_t c;
  TESS_REQUIRE(X && g && Y, TESS_ERR_ARG, "NULL argument");
  if (!tess_memspace_is_host(tess_array_memspace(Y))) {
    const tess_array_t *all[4] = {Y};
    const void *in[3] = {NULL, NULL, NULL};
    TESS_REQUIRE(g->rank >= 1 && g->rank <= 3, TESS_ERR_ARG, "spectral grid rank %d", g->rank);
    for (int d = 0; d < g->rank; d++) {
      TESS_CHECK(same_layout(Y, X[d], "divergence input"));
      /* the kernel writes Y after reading every X[d] of the element */
      all[d + 1] = X[d];
      in[d] = tess_array_local_data_const(X[d]);
    }
    return deriv_device(Y, g, D_DIV, g->rank + 1, all, in, NULL, __func__);
  }
  ctx_init(&c, Y, g);
  for (int d = 0; d < g->rank; d++) {
    TESS_CHECK(same_layout(Y, X[d], "divergence input"));
    TESS_REQUIRE_HOST(X[d]);
    c.in[d] = tess_array_local_data_const(X[d]);
  }
  TESS_CHECK(tess_spectral_foreach(Y, g, visit_div, &c));
cleanup:
  return err;
}

/* Y = (symbol of k) * X for a scalar-to-scalar operator given by `visit`. */
static tess_err_t apply_scalar_op(const tess_array_t *X, const tess_spectral_grid_t *g,
                                  tess_array_t *Y, tess_spectral_visit_fn visit, const char *what,
                                  const char *caller)
{
  tess_err_t err = TESS_OK;
  der_ctx_t c;
  TESS_REQUIRE(X && g && Y, TESS_ERR_ARG, "NULL argument");
  TESS_CHECK(same_layout(X, Y, what));
  if (!tess_memspace_is_host(tess_array_memspace(X))
      && !tess_memspace_is_host(tess_array_memspace(Y))) {
    const tess_array_t *all[2] = {X, Y};
    void *out[1] = {tess_array_local_data(Y)};
    return deriv_device(X, g, visit == visit_lap ? D_LAP : D_ILAP, 2, all, NULL, out, caller);
  }
  /* Named for the public caller: this helper serves both Laplacians. */
  TESS_REQUIRE(tess_memspace_is_host(tess_array_memspace(X))
                   && tess_memspace_is_host(tess_array_memspace(Y)), TESS_ERR_UNSUPPORTED,
               "%s needs host arrays, got %s and %s memory (copy them to the host)", caller,
               tess_memspace_name(tess_array_memspace(X)), tess_memspace_name(tess_array_memspace(Y)));
  ctx_init(&c, X, g);
  c.out[0] = tess_array_local_data(Y);
  TESS_CHECK(tess_spectral_foreach((tess_array_t *)X, g, visit, &c));
cleanup:
  return err;
}

tess_err_t tess_spectral_laplacian(const tess_array_t *X, const tess_spectral_grid_t *g,
                                   tess_array_t *Y)
{
  return apply_scalar_op(X, g, Y, visit_lap, "Laplacian output", __func__);
}

tess_err_t tess_spectral_inverse_laplacian(const tess_array_t *X, const tess_spectral_grid_t *g,
                                           tess_array_t *Y)
{
  return apply_scalar_op(X, g, Y, visit_ilap, "inverse Laplacian output", __func__);
}

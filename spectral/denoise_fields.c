/* spectral/denoise_fields.c: the clean and noisy fields of the denoise
 * kernel. Each value is a function of its global index only (cosine modes,
 * Taylor-Green, a random half spectrum keyed by the coefficient's global
 * index; noise keyed by the point's), so the fields are the same bits on
 * any mesh.
 *
 * Device arrays (a cuFFT run): what needs libm (cos, sin, pow, and the
 * normal deviates' log and cos) is computed on the host, exactly as for a
 * host run, in a host twin of the array, and copied to the device. CUDA's
 * transcendental functions are not glibc's (an ulp apart at times), so this
 * keeps the clean field and the noise bitwise the host run's; the rest (the
 * random field's inverse FFT and scaling, clean + sigma * noise) runs on the
 * device (denoise_cuda.h). */
#include "denoise_cuda.h"
#include "denoise_internal.h"
#include "spectral_internal.h"

#include <math.h>
#include <string.h>
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

static int on_device(const tess_array_t *a) { return !tess_memspace_is_host(tess_array_memspace(a)); }

/* A host array with a's mesh, dtype, shape and spec (the block rule, as the
 * study's arrays), left unfilled: the host side of a device field. */
static tess_err_t host_twin(const tess_array_t *a, tess_array_t **h)
{
  int64_t shape[TESS_MAX_NDIM];
  tess_shardspec_t sp;
  tess_array_opts_t op;
  memset(&op, 0, sizeof op);
  op.uninitialized = 1;   /* every element is written before the copy */
  tess_array_global_shape(a, shape);
  tess_array_spec(a, &sp);
  return tess_array_create_ex(tess_array_mesh(a), tess_array_dtype(a), tess_array_ndim(a), shape,
                              &sp, TESS_MEM_HOST, &op, h);
}

tess_err_t denoise_fill_clean(const tess_denoise_options_t *o, tess_array_t *clean,
                              tess_array_t *spec, const tess_spectral_grid_t *grid,
                              const tess_fft_plan_t *pb)
{
  tess_err_t err = TESS_OK;
  tess_array_t *stage = NULL;   /* device runs: the host twin of clean or spec */
  int dev = on_device(clean);
  rand_ctx_t rc = {o, grid};
  double ss = 0;
  if (o->field != TESS_DENOISE_FIELD_RANDOM) {
    if (!dev) {
      TESS_CHECK(tess_array_fill(clean, fill_clean, (void *)o));
    } else {
      TESS_CHECK(host_twin(clean, &stage));
      TESS_CHECK(tess_array_fill(stage, fill_clean, (void *)o));
      TESS_CHECK(tess_array_copy(clean, stage));
    }
    goto cleanup;
  }
  if (!dev) {
    TESS_CHECK(tess_spectral_foreach(spec, grid, visit_random, &rc));
  } else {
    TESS_CHECK(host_twin(spec, &stage));
    TESS_CHECK(tess_spectral_foreach(stage, grid, visit_random, &rc));
    TESS_CHECK(tess_array_copy(spec, stage));
  }
  TESS_CHECK(tess_fft_execute(pb, spec, clean));
  TESS_CHECK(denoise_sum_sq(clean, &ss));
  if (ss > 0) {   /* unit RMS */
    double sc = 1.0 / sqrt(ss / (double)tess_array_global_count(clean));
    double *x = tess_array_local_data(clean);
    if (dev) {
      TESS_CHECK(denoise_cuda_scale(x, tess_array_local_count(clean), sc));
    } else {
      for (int64_t i = 0; i < tess_array_local_count(clean); i++) x[i] *= sc;
    }
  }
cleanup:
  tess_array_destroy(&stage);
  return err;
}

tess_err_t denoise_add_noise(const tess_denoise_options_t *o, const tess_array_t *clean,
                             tess_array_t *noisy)
{
  tess_err_t err = TESS_OK;
  tess_array_t *stage = NULL;   /* device runs: the deviates, on the host */
  int dev = on_device(noisy);
  const double *c = tess_array_local_data_const(clean);
  double *y = NULL;
  int64_t gidx[TESS_MAX_NDIM], n = tess_array_local_count(noisy);
  TESS_REQUIRE(on_device(clean) == dev, TESS_ERR_ARG,
               "denoise noise: clean in %s memory, noisy in %s memory",
               tess_memspace_name(tess_array_memspace(clean)),
               tess_memspace_name(tess_array_memspace(noisy)));
  if (dev) TESS_CHECK(host_twin(noisy, &stage));
  y = tess_array_local_data(dev ? stage : noisy);
  for (int64_t i = 0; i < n; i++) {
    tess_array_global_index(noisy, i, gidx);
    uint64_t gl = (uint64_t)tess_array_global_linear(noisy, gidx);
    double z = tess_rng_normal(o->seed, 1, gl);
    y[i] = dev ? z : c[i] + o->sigma * z;
  }
  if (dev) {   /* noisy <- the deviates, then noisy = clean + sigma * noisy */
    TESS_CHECK(tess_array_copy(noisy, stage));
    TESS_CHECK(denoise_cuda_add_noise(tess_array_local_data(noisy), c, n, o->sigma));
  }
cleanup:
  tess_array_destroy(&stage);
  return err;
}

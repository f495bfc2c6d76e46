/* tests/gpu/test_gpu_spectral.c: the elementwise spectral operators on
 * device spectra (spectral/cuda/spectral_ops_cuda.cu) against the host path
 * on the same input. The input is the host FFT of a random field, copied to
 * the device with tess_array_copy; every operator runs on the host copy and
 * the device copy, the device result is copied back and compared:
 *   bitwise  lowpass, dealias, all four thresholds (and their stats),
 *            count_nonzero, gradient, divergence, Laplacian (also in place),
 *            inverse Laplacian: the kernels mirror the host arithmetic;
 *   gaussian |dev - host| <= 2^-50 |host| (c128) or 2^-22 |host| (c64):
 *            CUDA's exp and glibc's may differ by an ulp.
 * Cases: c2c and r2c (half spectra), c128 and c64, 1-3 transform dims, slab,
 * pencil, local, natural and transposed layouts, a batch dim.
 * Without a GPU (or cuFFT): prints why, exits 77 (CTest: skipped). */
#include <tessera/tessera.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tess_test.h"

#define SKIP 77
/* -DTESS_TEST_HOST_AS_DEVICE: both sides on the host (checks this test itself
 * on a machine without a GPU; not built by CMake). */
#ifdef TESS_TEST_HOST_AS_DEVICE
#define DEV TESS_MEM_HOST
#else
#define DEV TESS_MEM_DEVICE
#endif

typedef struct {
  const char *name;
  int ndim, rank;          /* array dims, transformed trailing dims */
  int64_t shape[4];        /* real-space shape */
  int grid;                /* mesh axes over the transform dims: 0, 1 slab, 2 pencil */
  int real, single;
  tess_fft_layout_t out_layout;
} tcase_t;

static void fill_fn(const int64_t g[], int nd, void *v, void *ctx)
{
  const tcase_t *c = ctx;
  int64_t lin = 0;
  for (int i = 0; i < nd; i++) lin = lin * c->shape[i] + g[i];
  double re = tess_rng_uniform(5, 7, 2 * (uint64_t)lin) - 0.5;
  double im = tess_rng_uniform(5, 7, 2 * (uint64_t)lin + 1) - 0.5;
  if (c->real && c->single) *(float *)v = (float)re;
  else if (c->real) *(double *)v = re;
  else if (c->single) { float *f = v; f[0] = (float)re; f[1] = (float)im; }
  else { double *f = v; f[0] = re; f[1] = im; }
}

static tess_err_t make_mesh(const tcase_t *c, tess_mesh_t **mesh)
{
  int P, dims[2] = {0, 0}, sizes[2];
  const char *names[2] = {"a0", "a1"};
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  if (c->grid == 0) {
    sizes[0] = P;
    return tess_mesh_create(MPI_COMM_WORLD, 1, names, sizes, mesh);
  }
  MPI_Dims_create(P, c->grid, dims);
  for (int i = 0; i < c->grid; i++) sizes[i] = dims[i];
  return tess_mesh_create(MPI_COMM_WORLD, c->grid, names, sizes, mesh);
}

/* A new array like a in `space` (same mesh, dtype, shape, spec). */
static tess_err_t like(const tess_array_t *a, tess_memspace_t space, tess_array_t **out)
{
  int64_t sh[TESS_MAX_NDIM];
  tess_shardspec_t sp;
  tess_array_global_shape(a, sh);
  tess_array_spec(a, &sp);
  return tess_array_create(tess_array_mesh(a), tess_array_dtype(a), tess_array_ndim(a), sh, &sp,
                           space, out);
}

/* Host array h against device array d: bitwise (tol 0) or relative tol. */
static tess_err_t compare(const char *cname, const char *what, const tess_array_t *h,
                          const tess_array_t *d, double tol)
{
  tess_err_t err = TESS_OK;
  tess_array_t *b = NULL;
  int single = tess_array_dtype(h) == TESS_C64;
  int64_t n = 2 * tess_array_local_count(h), bad = -1;
  TESS_CHECK(like(h, TESS_MEM_HOST, &b));
  TESS_CHECK(tess_array_copy(b, d));
  const void *ph = tess_array_local_data_const(h), *pb = tess_array_local_data_const(b);
  if (tol == 0) {
    size_t bytes = (size_t)n * (single ? 4 : 8);
    if (memcmp(ph, pb, bytes) != 0)
      for (int64_t i = 0; i < n && bad < 0; i++)
        if (single ? memcmp((const float *)ph + i, (const float *)pb + i, 4)
                   : memcmp((const double *)ph + i, (const double *)pb + i, 8))
          bad = i;
  } else {
    for (int64_t i = 0; i < n && bad < 0; i++) {
      double x = single ? ((const float *)ph)[i] : ((const double *)ph)[i];
      double y = single ? ((const float *)pb)[i] : ((const double *)pb)[i];
      if (!(fabs(x - y) <= tol * fabs(x))) bad = i;
    }
  }
  if (bad >= 0) {
    double x = single ? ((const float *)ph)[bad] : ((const double *)ph)[bad];
    double y = single ? ((const float *)pb)[bad] : ((const double *)pb)[bad];
    CHECK(0, "%s: %s: local component %lld: host %.17g, device %.17g", cname, what,
          (long long)bad, x, y);
  }
cleanup:
  tess_array_destroy(&b);
  return err;
}

static void compare_stats(const char *cname, const char *what, const tess_thresh_stats_t *a,
                          const tess_thresh_stats_t *b)
{
  CHECK(a->kept == b->kept && a->kept_modes == b->kept_modes && a->total == b->total &&
            a->total_modes == b->total_modes && a->threshold == b->threshold &&
            a->max_abs == b->max_abs,
        "%s: %s stats: host kept %lld/%lld of %lld/%lld t %.17g max %.17g, device kept "
        "%lld/%lld of %lld/%lld t %.17g max %.17g", cname, what, (long long)a->kept,
        (long long)a->kept_modes, (long long)a->total, (long long)a->total_modes, a->threshold,
        a->max_abs, (long long)b->kept, (long long)b->kept_modes, (long long)b->total,
        (long long)b->total_modes, b->threshold, b->max_abs);
}

/* Fresh host and device copies of the spectrum S. */
static tess_err_t pair(const tess_array_t *S, tess_array_t **h, tess_array_t **d)
{
  tess_err_t err = TESS_OK;
  tess_array_destroy(h);
  tess_array_destroy(d);
  TESS_CHECK(like(S, TESS_MEM_HOST, h));
  TESS_CHECK(tess_array_copy(*h, S));
  TESS_CHECK(like(S, DEV, d));
  TESS_CHECK(tess_array_copy(*d, S));
cleanup:
  return err;
}

static void run_case(const tcase_t *c)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *x = NULL, *S = NULL, *h = NULL, *d = NULL;
  tess_array_t *Yh[3] = {NULL, NULL, NULL}, *Yd[3] = {NULL, NULL, NULL}, *zh = NULL, *zd = NULL;
  tess_fft_plan_t *plan = NULL;
  tess_fft_opts_t o = {0};
  tess_spectral_grid_t g;
  tess_shardspec_t sn;
  tess_thresh_stats_t sh, sd;
  int axes[2] = {0, 1};
  double tol = c->single ? ldexp(1, -22) : ldexp(1, -50);

  TESS_CHECK(make_mesh(c, &mesh));
  TESS_CHECK(tess_fft_spec(c->ndim, c->rank, c->grid, axes, TESS_FFT_LAYOUT_NATURAL, &sn));
  TESS_CHECK(tess_array_create(mesh, c->real ? (c->single ? TESS_F32 : TESS_F64)
                                             : (c->single ? TESS_C64 : TESS_C128),
                               c->ndim, c->shape, &sn, TESS_MEM_HOST, &x));
  TESS_CHECK(tess_array_fill(x, fill_fn, (void *)c));
  TESS_CHECK(tess_fft_create_output(x, c->rank, c->out_layout, &S));
  o.rank = c->rank;
  TESS_CHECK(tess_fft_plan_create_opts(x, S, TESS_FFT_FORWARD, &o, &plan));
  TESS_CHECK(tess_fft_execute(plan, x, S));
  TESS_CHECK(tess_spectral_grid_from_plan(plan, &g));

  /* filters */
  TESS_CHECK(pair(S, &h, &d));
  TESS_CHECK(tess_spectral_lowpass(h, &g, 2.5));
  TESS_CHECK(tess_spectral_lowpass(d, &g, 2.5));
  TESS_CHECK(compare(c->name, "lowpass", h, d, 0));
  TESS_CHECK(tess_spectral_count_nonzero(h, &g, &sh));
  TESS_CHECK(tess_spectral_count_nonzero(d, &g, &sd));
  compare_stats(c->name, "count_nonzero", &sh, &sd);
  TESS_CHECK(pair(S, &h, &d));
  TESS_CHECK(tess_spectral_dealias(h, &g));
  TESS_CHECK(tess_spectral_dealias(d, &g));
  TESS_CHECK(compare(c->name, "dealias", h, d, 0));
  TESS_CHECK(pair(S, &h, &d));
  TESS_CHECK(tess_spectral_gaussian(h, &g, 1.7));
  TESS_CHECK(tess_spectral_gaussian(d, &g, 1.7));
  TESS_CHECK(compare(c->name, "gaussian", h, d, tol));

  /* thresholds: hard/soft at 0.3 max|c|, relative 0.3, keep_fraction */
  {
    struct { tess_thresh_rule_t r; double v; const char *what; } th[] = {
      {TESS_THRESH_HARD, -1, "hard"}, {TESS_THRESH_SOFT, -1, "soft"},
      {TESS_THRESH_RELATIVE, 0.3, "relative"}, {TESS_THRESH_KEEP_FRACTION, 0.37, "keep 0.37"},
      {TESS_THRESH_KEEP_FRACTION, 0, "keep 0"}, {TESS_THRESH_KEEP_FRACTION, 1, "keep 1"},
      {TESS_THRESH_KEEP_FRACTION, 0.5, "keep 0.5 after lowpass (ties at 0)"}};
    TESS_CHECK(tess_spectral_count_nonzero(S, &g, &sh));
    for (size_t i = 0; i < sizeof th / sizeof th[0]; i++) {
      double v = th[i].v < 0 ? 0.3 * sh.max_abs : th[i].v;
      tess_thresh_stats_t a, b;
      TESS_CHECK(pair(S, &h, &d));
      if (i == 6) {
        TESS_CHECK(tess_spectral_lowpass(h, &g, 1.5));
        TESS_CHECK(tess_spectral_lowpass(d, &g, 1.5));
      }
      TESS_CHECK(tess_spectral_threshold(h, &g, th[i].r, v, &a));
      TESS_CHECK(tess_spectral_threshold(d, &g, th[i].r, v, &b));
      TESS_CHECK(compare(c->name, th[i].what, h, d, 0));
      compare_stats(c->name, th[i].what, &a, &b);
    }
  }

  /* derivatives */
  TESS_CHECK(pair(S, &h, &d));
  for (int k = 0; k < g.rank; k++) {
    TESS_CHECK(like(S, TESS_MEM_HOST, &Yh[k]));
    TESS_CHECK(like(S, DEV, &Yd[k]));
  }
  TESS_CHECK(like(S, TESS_MEM_HOST, &zh));
  TESS_CHECK(like(S, DEV, &zd));
  TESS_CHECK(tess_spectral_gradient(h, &g, Yh));
  TESS_CHECK(tess_spectral_gradient(d, &g, Yd));
  for (int k = 0; k < g.rank; k++) TESS_CHECK(compare(c->name, "gradient", Yh[k], Yd[k], 0));
  TESS_CHECK(tess_spectral_divergence((const tess_array_t *const *)Yh, &g, zh));
  TESS_CHECK(tess_spectral_divergence((const tess_array_t *const *)Yd, &g, zd));
  TESS_CHECK(compare(c->name, "divergence", zh, zd, 0));
  TESS_CHECK(tess_spectral_laplacian(h, &g, zh));
  TESS_CHECK(tess_spectral_laplacian(d, &g, zd));
  TESS_CHECK(compare(c->name, "laplacian", zh, zd, 0));
  TESS_CHECK(tess_spectral_inverse_laplacian(h, &g, zh));
  TESS_CHECK(tess_spectral_inverse_laplacian(d, &g, zd));
  TESS_CHECK(compare(c->name, "inverse laplacian (Poisson)", zh, zd, 0));
  TESS_CHECK(tess_spectral_laplacian(h, &g, h));     /* in place */
  TESS_CHECK(tess_spectral_laplacian(d, &g, d));
  TESS_CHECK(compare(c->name, "laplacian in place", h, d, 0));
  TESS_CHECK(tess_spectral_inverse_laplacian(h, &g, h));
  TESS_CHECK(tess_spectral_inverse_laplacian(d, &g, d));
  TESS_CHECK(compare(c->name, "inverse laplacian in place", h, d, 0));
cleanup:
  CHECK(err == TESS_OK, "%s: %s", c->name, tess_error_message());
  tess_error_clear();
  tess_fft_plan_destroy(&plan);
  for (int k = 0; k < 3; k++) {
    tess_array_destroy(&Yh[k]);
    tess_array_destroy(&Yd[k]);
  }
  tess_array_destroy(&zh);
  tess_array_destroy(&zd);
  tess_array_destroy(&h);
  tess_array_destroy(&d);
  tess_array_destroy(&S);
  tess_array_destroy(&x);
  tess_mesh_destroy(&mesh);
}

int main(int argc, char **argv)
{
  tess_init(&argc, &argv);
  int found = 0, r;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  for (int i = 0; i < tess_fft_backend_count(); i++)
    found |= strcmp(tess_fft_backend_name(i), "cufft") == 0;
#ifdef TESS_TEST_HOST_AS_DEVICE
  found = 1;
  if (0) {
#else
  if (!tess_device_available() || !found) {
#endif
    if (r == 0)
      printf("test_gpu_spectral: skipped: %s\n",
             !tess_device_available() ? "no GPU visible" : "this build has no cuFFT backend");
    tess_finalize();
    return SKIP;
  }
  const tess_fft_layout_t N_ = TESS_FFT_LAYOUT_NATURAL, T_ = TESS_FFT_LAYOUT_TRANSPOSED;
  static const tcase_t cases[] = {
    /* name, ndim, rank, shape, grid, real, single, out layout */
    {"c2c3d c128 slab 12x10x9", 3, 3, {12, 10, 9}, 1, 0, 0, N_},
    {"c2c3d c128 pencil T 7x11x13", 3, 3, {7, 11, 13}, 2, 0, 0, T_},
    {"c2c3d c64 pencil 6x5x8", 3, 3, {6, 5, 8}, 2, 0, 1, N_},
    {"r2c3d c128 pencil 8x6x10", 3, 3, {8, 6, 10}, 2, 1, 0, N_},
    {"r2c3d c64 slab T 9x8x6", 3, 3, {9, 8, 6}, 1, 1, 1, T_},
    {"r2c2d c128 slab T 10x9", 2, 2, {10, 9}, 1, 1, 0, T_},
    {"c2c2d c64 slab 13x12", 2, 2, {13, 12}, 1, 0, 1, N_},
    {"c2c1d c128 local 17", 1, 1, {17}, 0, 0, 0, N_},
    {"r2c1d c64 local 30", 1, 1, {30}, 0, 1, 1, N_},
    {"batch r2c2d c128 3x8x6 slab", 3, 2, {3, 8, 6}, 1, 1, 0, N_},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
  int rc = tess_test_finish("gpu_spectral");
  tess_finalize();
  return rc;
}

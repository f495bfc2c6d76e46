/* spectral/denoise_fields.c: the clean and noisy fields of the denoise
 * kernel. Each value is a function of its global index only (cosine modes,
 * Taylor-Green, a random half spectrum keyed by the coefficient's global
 * index; noise keyed by the point's), so the fields are the same bits on
 * any mesh.
 *
 * Host arrays: drawn on threads, the node's cores over its ranks (each value
 * is a function of its index, so the bits do not depend on the thread
 * count). Device arrays (a cuFFT run): the cosine-mode and Taylor-Green
 * fields and the noise are kernels (denoise_cuda.h) doing the host's
 * operations in its order; their cos, sin and log are CUDA's, an ulp or two
 * from glibc's at times, so these fields can differ from a host run's in the
 * last bits (docs/gpu.md). Before, they were drawn on the host to keep its
 * bits, and that was most of a GPU run (an H100: 2.3 s of 2.34 s at 256^3).
 * The random field's coefficients (pow, on a half spectrum walked by
 * tess_spectral_foreach) are still drawn on the host and copied over; its
 * inverse FFT and scaling run on the device. */
#include "denoise_cuda.h"
#include "denoise_internal.h"
#include "spectral_internal.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
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

/* ---- the host side of a device run, on threads ---- */
typedef void (*span_fn)(int64_t lo, int64_t hi, void *ctx);
typedef struct { int64_t lo, hi; span_fn body; void *ctx; } span_t;
static void *span_run(void *p)
{
  span_t *s = p;
  s->body(s->lo, s->hi, s->ctx);
  return NULL;
}

tess_err_t denoise_host_threads(tess_mesh_t *mesh, int *nt)
{
  tess_err_t err = TESS_OK;
  MPI_Comm node = MPI_COMM_NULL;
  const char *e = getenv("TESS_HOST_THREADS");
  int nloc = 1;
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  TESS_MPI_CHECK(MPI_Comm_split_type(tess_mesh_comm(mesh), MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL,
                                     &node));
  TESS_MPI_CHECK(MPI_Comm_size(node, &nloc));
  *nt = e && *e ? atoi(e) : (int)(ncpu > 0 ? ncpu / nloc : 1);
  if (*nt < 1) *nt = 1;
cleanup:
  if (node != MPI_COMM_NULL) MPI_Comm_free(&node);
  return err;
}

/* body over [0, n) in nt contiguous spans, one per thread (a thread that
 * cannot start leaves its span to this one) */
static void par_for(int64_t n, int nt, span_fn body, void *ctx)
{
  enum { MAXT = 64 };
  pthread_t th[MAXT];
  span_t sp[MAXT];
  int up[MAXT] = {0};
  if (nt > MAXT) nt = MAXT;
  if (nt < 1 || n < ((int64_t)1 << 16)) nt = 1;
  for (int t = 0; t < nt; t++) sp[t] = (span_t){n * t / nt, n * (t + 1) / nt, body, ctx};
  for (int t = 1; t < nt; t++) up[t] = pthread_create(&th[t], NULL, span_run, &sp[t]) == 0;
  span_run(&sp[0]);
  for (int t = 1; t < nt; t++) {
    if (up[t]) pthread_join(th[t], NULL);
    else span_run(&sp[t]);
  }
}

typedef struct {
  const tess_denoise_options_t *o;
  const tess_array_t *a;   /* the array whose local block is filled */
  double *y;
  const double *clean;     /* noise: y = clean + sigma * z */
} fill_ctx_t;

static void clean_span(int64_t lo, int64_t hi, void *vc)
{
  const fill_ctx_t *c = vc;
  int64_t g[TESS_MAX_NDIM];
  int nd = tess_array_ndim(c->a);
  for (int64_t i = lo; i < hi; i++) {
    tess_array_global_index(c->a, i, g);
    fill_clean(g, nd, &c->y[i], (void *)c->o);
  }
}

static void noise_span(int64_t lo, int64_t hi, void *vc)
{
  const fill_ctx_t *c = vc;
  int64_t g[TESS_MAX_NDIM];
  for (int64_t i = lo; i < hi; i++) {
    tess_array_global_index(c->a, i, g);
    double z = tess_rng_normal(c->o->seed, 1, (uint64_t)tess_array_global_linear(c->a, g));
    c->y[i] = c->clean[i] + c->o->sigma * z;
  }
}

static int on_device(const tess_array_t *a) { return !tess_memspace_is_host(tess_array_memspace(a)); }

void denoise_block_of(const tess_array_t *a, denoise_block_t *b)
{
  memset(b, 0, sizeof *b);
  b->nd = tess_array_ndim(a);
  tess_array_local_shape(a, b->lsh);
  tess_array_local_start(a, b->lst);
  tess_array_global_shape(a, b->gsh);
}

/* tess_denoise_run has checked nmodes <= TESS_DENOISE_MAX_MODES: the kernel's table holds that many */
_Static_assert(TESS_DENOISE_MAX_MODES <= DENOISE_CUDA_MAX_MODES, "the device field's mode table is too small");

static tess_err_t device_clean(const tess_denoise_options_t *o, tess_array_t *clean)
{
  tess_err_t err = TESS_OK;
  denoise_block_t b;
  denoise_field_t f;
  memset(&f, 0, sizeof f);
  f.taylor_green = o->field == TESS_DENOISE_FIELD_TAYLOR_GREEN;
  f.nmodes = o->nmodes;
  memcpy(f.modes, o->modes, sizeof f.modes[0] * (size_t)o->nmodes);
  memcpy(f.amp, o->amplitudes, sizeof f.amp[0] * (size_t)o->nmodes);
  denoise_block_of(clean, &b);
  TESS_CHECK(denoise_cuda_clean(tess_array_local_data(clean), tess_array_local_count(clean), &b,
                                &f));
cleanup:
  return err;
}

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

tess_err_t denoise_fill_clean(const tess_denoise_options_t *o, int nt, tess_array_t *clean,
                              tess_array_t *spec, const tess_spectral_grid_t *grid,
                              const tess_fft_plan_t *pb)
{
  tess_err_t err = TESS_OK;
  tess_array_t *stage = NULL;   /* device runs: the host twin of clean or spec */
  int dev = on_device(clean);
  rand_ctx_t rc = {o, grid};
  double ss = 0;
  if (o->field != TESS_DENOISE_FIELD_RANDOM) {
    if (dev) {
      TESS_CHECK(device_clean(o, clean));
    } else {
      fill_ctx_t fc = {o, clean, tess_array_local_data(clean), NULL};
      par_for(tess_array_local_count(clean), nt, clean_span, &fc);
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

tess_err_t denoise_add_noise(const tess_denoise_options_t *o, int nt, const tess_array_t *clean,
                             tess_array_t *noisy)
{
  tess_err_t err = TESS_OK;
  int dev = on_device(noisy);
  const double *c = tess_array_local_data_const(clean);
  int64_t n = tess_array_local_count(noisy);
  TESS_REQUIRE(on_device(clean) == dev, TESS_ERR_ARG,
               "denoise noise: clean in %s memory, noisy in %s memory",
               tess_memspace_name(tess_array_memspace(clean)),
               tess_memspace_name(tess_array_memspace(noisy)));
  if (dev) {
    denoise_block_t b;
    denoise_block_of(noisy, &b);
    TESS_CHECK(denoise_cuda_noise(tess_array_local_data(noisy), c, n, &b, o->seed, o->sigma));
  } else {
    fill_ctx_t fc = {o, noisy, tess_array_local_data(noisy), c};
    par_for(n, nt, noise_span, &fc);
  }
cleanup:
  return err;
}

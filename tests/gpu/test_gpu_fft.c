/* tests/gpu/test_gpu_fft.c: distributed FFTs of device arrays (the cuFFT
 * backend) against serial FFTW on the gathered data (an independent plan of
 * the whole array, in double) and against the host (FFTW) Tessera transform
 * of the same data; backward(forward(x)) = N x; two executions of one plan
 * give the same bits (determinism at one rank count). Each case prints a
 * hash of its gathered spectrum and round trip: the line batches are the
 * planner's (functions of n only), so the hashes should agree between runs
 * at 1, 2, 3, 4 ranks (compare the printed lines; one run cannot check it).
 *
 * Cases: dims 1-3, c2c f64/f32, r2c/c2r f64/f32, slab and pencil, natural
 * and transposed input and output, batched plans (a sharded batch dim too),
 * prime sizes (7x11x13), 1-length dims, several batches of lines per step.
 * Sizes whose steps have full line batches (B*n ~ 2^19 elements: 128^3,
 * 16384 lines of 64) run direct lines (cuFFT straight on a box's rows: in
 * and out, in place through the scratch, r2c from and c2r into rows) next
 * to zero-padded batches through the scratch; with TESS_FFT_NORM_BACKWARD
 * the round trip is x itself (scaling in the scatter and on direct rows).
 * "fast" cases plan with TESS_FFT_FAST_LOCAL: one multi-dim cuFFT plan
 * where every transform dim is local (1 rank; or grid 0, the data
 * replicated or only the batch sharded: every rank count), declined for a
 * transformed size 1; plan_info must say which, and the c2r round trip
 * must leave its input intact (the spectrum is checked after it). Their
 * hashes may differ between rank counts where the plan switches engines.
 * The ranks share the GPU(s) the machine has.
 *
 * Tolerance: max |cuFFT - FFTW| <= tol max |FFTW|, tol = 1e-12 (f64) or
 * 1e-5 (f32 input, reference in double): cuFFT's error is O(eps log N) with
 * larger constants for Bluestein (prime) sizes; any indexing error is O(1).
 * Without a GPU: prints why, exits 77 (CTest: skipped). */
#include <tessera/tessera.h>
#include <fftw3.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tess_test.h"

#define SKIP 77

typedef struct {
  const char *name;
  int ndim, rank;          /* array dims, transformed trailing dims */
  int64_t shape[4];        /* real-space shape */
  int grid;                /* mesh axes over the transform dims: 0, 1 slab, 2 pencil */
  int batch_sharded;       /* shard batch dim 0 over its own axis */
  int real, single;
  tess_fft_layout_t in_layout, out_layout;
  unsigned flags;          /* device plans: TESS_FFT_NORM_BACKWARD, TESS_FFT_FAST_LOCAL */
} tcase_t;

static const uint64_t seed = 11;

static void fill_fn(const int64_t g[], int nd, void *v, void *ctx)
{
  const tcase_t *c = ctx;
  int64_t lin = 0;
  for (int i = 0; i < nd; i++) lin = lin * c->shape[i] + g[i];
  double re = tess_rng_uniform(seed, 3, 2 * (uint64_t)lin) - 0.5;
  double im = tess_rng_uniform(seed, 3, 2 * (uint64_t)lin + 1) - 0.5;
  if (c->real && c->single) *(float *)v = (float)re;
  else if (c->real) *(double *)v = re;
  else if (c->single) { float *f = v; f[0] = (float)re; f[1] = (float)im; }
  else { double *f = v; f[0] = re; f[1] = im; }
}

static tess_err_t make_mesh(const tcase_t *c, tess_mesh_t **mesh)
{
  int P, dims[3] = {0, 0, 0}, nax = 0, sizes[3];
  const char *names[3];
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  int nparts = c->grid + (c->batch_sharded ? 1 : 0);
  if (nparts == 0) {
    names[0] = "rep";
    sizes[0] = P;
    return tess_mesh_create(MPI_COMM_WORLD, 1, names, sizes, mesh);
  }
  MPI_Dims_create(P, nparts, dims);
  for (int i = 0; i < c->grid; i++) { names[nax] = i == 0 ? "a0" : "a1"; sizes[nax++] = dims[i]; }
  if (c->batch_sharded) { names[nax] = "b"; sizes[nax++] = dims[c->grid]; }
  return tess_mesh_create(MPI_COMM_WORLD, nax, names, sizes, mesh);
}

static tess_err_t spec_of(const tcase_t *c, tess_fft_layout_t layout, tess_shardspec_t *sp)
{
  int axes[2] = {0, 1};
  tess_err_t err = tess_fft_spec(c->ndim, c->rank, c->grid, axes, layout, sp);
  if (c->batch_sharded) sp->axis[0] = c->grid;
  return err;
}

static uint64_t fnv1a(const void *p, size_t n)
{
  const unsigned char *s = p;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ull;
  return h;
}

/* Gather to rank 0 (device arrays stage through the host); *out malloc'ed there. */
static tess_err_t gather0(const tess_array_t *a, void **out)
{
  tess_err_t err = TESS_OK;
  size_t bytes = (size_t)tess_array_global_count(a) * tess_dtype_size(tess_array_dtype(a));
  int r;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  *out = NULL;
  if (r == 0) {
    *out = calloc(1, bytes ? bytes : 1);
    TESS_REQUIRE(*out != NULL, TESS_ERR_MEM, "gather buffer");
  }
  TESS_CHECK(tess_array_gather(a, 0, *out));
cleanup:
  return err;
}

static double at(const void *p, int single, int64_t i)
{
  return single ? (double)((const float *)p)[i] : ((const double *)p)[i];
}

/* The device run: forward twice (same bits), backward; the host run forward.
 * Gathered: input, device spectrum, host spectrum, device round trip. */
static tess_err_t run_tessera(const tcase_t *c, void **gin, void **gXd, void **gXh, void **gyd,
                              int *same_bits, int *local)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *xn = NULL, *xh = NULL, *Xh = NULL, *xd = NULL, *Xd = NULL, *yd = NULL;
  tess_array_t *Xd2 = NULL;
  tess_fft_plan_t *pf = NULL, *pb = NULL, *ph = NULL;
  tess_shardspec_t sn, si, so;
  tess_fft_opts_t o = {0}, oh = {0};
  tess_fft_info_t info;
  void *g1 = NULL, *g2 = NULL;
  int r;
  tess_dtype_t rt = c->single ? TESS_F32 : TESS_F64, ct = c->single ? TESS_C64 : TESS_C128;
  int64_t oshape[4];

  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  TESS_CHECK(make_mesh(c, &mesh));
  TESS_CHECK(spec_of(c, TESS_FFT_LAYOUT_NATURAL, &sn));
  TESS_CHECK(spec_of(c, c->in_layout, &si));
  TESS_CHECK(spec_of(c, c->out_layout, &so));
  TESS_CHECK(tess_array_create(mesh, c->real ? rt : ct, c->ndim, c->shape, &sn, TESS_MEM_HOST, &xn));
  TESS_CHECK(tess_array_fill(xn, fill_fn, (void *)c));
  TESS_CHECK(tess_array_create_like(xn, &si, &xh));
  TESS_CHECK(tess_reshard(xn, xh));
  memcpy(oshape, c->shape, sizeof oshape);
  if (c->real) oshape[c->ndim - 1] = c->shape[c->ndim - 1] / 2 + 1;
  TESS_CHECK(tess_array_create(mesh, ct, c->ndim, oshape, &so, TESS_MEM_HOST, &Xh));
  TESS_CHECK(tess_array_create(mesh, c->real ? rt : ct, c->ndim, c->shape, &si, TESS_MEM_DEVICE,
                               &xd));
  TESS_CHECK(tess_array_copy(xd, xh));
  TESS_CHECK(tess_array_create(mesh, ct, c->ndim, oshape, &so, TESS_MEM_DEVICE, &Xd));
  TESS_CHECK(tess_array_create(mesh, ct, c->ndim, oshape, &so, TESS_MEM_DEVICE, &Xd2));
  TESS_CHECK(tess_array_create_like(xd, NULL, &yd));

  o.rank = oh.rank = c->rank;
  o.backend = "auto";                 /* device arrays: cuFFT */
  o.flags = c->flags;
  TESS_CHECK(tess_fft_plan_create_opts(xd, Xd, TESS_FFT_FORWARD, &o, &pf));
  TESS_CHECK(tess_fft_plan_info(pf, &info));
  CHECK(strcmp(info.backend, "cufft") == 0, "%s: auto chose backend %s for device arrays",
        c->name, info.backend);
  {
    /* the fast local plan: asked for, every grid axis of size 1, no size 1 */
    int want = (c->flags & TESS_FFT_FAST_LOCAL) != 0;
    for (int i = 0; i < c->grid; i++) want &= tess_mesh_axis_size(mesh, i) == 1;
    for (int i = c->ndim - c->rank; i < c->ndim; i++) want &= c->shape[i] > 1;
    CHECK(info.local_plan == want, "%s: local plan %d, expected %d", c->name, info.local_plan,
          want);
    CHECK(info.passes >= 1, "%s: plan info says %d passes", c->name, info.passes);
    *local = info.local_plan;
  }
  o.backend = "cufft";
  o.flags = TESS_FFT_MEASURE | c->flags;   /* no measuring in cuFFT: the same plan */
  TESS_CHECK(tess_fft_plan_create_opts(Xd, yd, TESS_FFT_BACKWARD, &o, &pb));
  TESS_CHECK(tess_fft_plan_info(pb, &info));
  CHECK(info.local_plan == *local, "%s: backward local plan %d, forward %d", c->name,
        info.local_plan, *local);
  TESS_CHECK(tess_fft_plan_create_opts(xh, Xh, TESS_FFT_FORWARD, &oh, &ph));

  TESS_CHECK(tess_fft_execute(pf, xd, Xd));
  TESS_CHECK(tess_fft_execute(pf, xd, Xd2));
  TESS_CHECK(tess_fft_execute(pb, Xd, yd));
  TESS_CHECK(tess_fft_execute(ph, xh, Xh));

  TESS_CHECK(gather0(Xd, &g1));
  TESS_CHECK(gather0(Xd2, &g2));
  if (r == 0)
    *same_bits = memcmp(g1, g2, (size_t)tess_array_global_count(Xd) * tess_dtype_size(ct)) == 0;
  TESS_CHECK(gather0(xn, gin));
  TESS_CHECK(gather0(Xh, gXh));
  TESS_CHECK(gather0(yd, gyd));
  *gXd = g1;
  g1 = NULL;
cleanup:
  free(g1);
  free(g2);
  tess_fft_plan_destroy(&pf);
  tess_fft_plan_destroy(&pb);
  tess_fft_plan_destroy(&ph);
  tess_array_destroy(&xn);
  tess_array_destroy(&xh);
  tess_array_destroy(&Xh);
  tess_array_destroy(&xd);
  tess_array_destroy(&Xd);
  tess_array_destroy(&Xd2);
  tess_array_destroy(&yd);
  tess_mesh_destroy(&mesh);
  return err;
}

static void run_case(const tcase_t *c)
{
  int r, P, same = 0, local = 0;
  void *gin = NULL, *gXd = NULL, *gXh = NULL, *gyd = NULL;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  tess_err_t e = run_tessera(c, &gin, &gXd, &gXh, &gyd, &same, &local);
  if (e != TESS_OK) tess_error_print(stderr);
  tess_error_clear();
  CHECK(e == TESS_OK, "%s: run failed", c->name);
  if (e == TESS_OK && r == 0) {
    int nb = c->ndim - c->rank, n[3];
    int64_t nbatch = 1, N = 1, m_last = c->real ? c->shape[c->ndim - 1] / 2 + 1 : c->shape[c->ndim - 1];
    for (int i = 0; i < nb; i++) nbatch *= c->shape[i];
    for (int i = nb; i < c->ndim; i++) N *= c->shape[i];
    int64_t nspec = nbatch * (N / c->shape[c->ndim - 1]) * m_last, nin = nbatch * N;
    for (int i = 0; i < c->rank; i++) n[i] = (int)c->shape[nb + i];
    double *rin = fftw_alloc_real((size_t)nin);
    fftw_complex *cin = fftw_alloc_complex((size_t)nin);
    fftw_complex *ref = fftw_alloc_complex((size_t)(c->real ? nspec : nin));
    fftw_plan fp;
    if (c->real)
      fp = fftw_plan_many_dft_r2c(c->rank, n, (int)nbatch, rin, NULL, 1, (int)N, ref, NULL, 1,
                                  (int)(nspec / nbatch), FFTW_ESTIMATE);
    else
      fp = fftw_plan_many_dft(c->rank, n, (int)nbatch, cin, NULL, 1, (int)N, ref, NULL, 1, (int)N,
                              FFTW_FORWARD, FFTW_ESTIMATE);
    for (int64_t i = 0; i < nin; i++) {
      if (c->real) rin[i] = at(gin, c->single, i);
      else { cin[i][0] = at(gin, c->single, 2 * i); cin[i][1] = at(gin, c->single, 2 * i + 1); }
    }
    fftw_execute(fp);
    double maxref = 0, err_ref = 0, err_host = 0, maxin = 0, maxback = 0;
    for (int64_t i = 0; i < nspec; i++) {
      double dr = at(gXd, c->single, 2 * i), di = at(gXd, c->single, 2 * i + 1);
      double hr = at(gXh, c->single, 2 * i), hi = at(gXh, c->single, 2 * i + 1);
      maxref = fmax(maxref, hypot(ref[i][0], ref[i][1]));
      err_ref = fmax(err_ref, hypot(dr - ref[i][0], di - ref[i][1]));
      err_host = fmax(err_host, hypot(dr - hr, di - hi));
    }
    double rt = (c->flags & TESS_FFT_NORM_BACKWARD) ? 1.0 : (double)N;   /* y = rt x */
    for (int64_t i = 0; i < nin * (c->real ? 1 : 2); i++) {
      double a = at(gin, c->single, i), b = at(gyd, c->single, i);
      maxin = fmax(maxin, fabs(a));
      maxback = fmax(maxback, fabs(b / rt - a));
    }
    double tol = c->single ? 1e-5 : 1e-12;
    CHECK(err_ref <= tol * maxref, "%s: device forward vs serial FFTW: %.3g > %.3g", c->name,
          err_ref, tol * maxref);
    CHECK(err_host <= tol * maxref, "%s: device vs host (FFTW) Tessera forward: %.3g > %.3g",
          c->name, err_host, tol * maxref);
    CHECK(maxback <= tol * maxin, "%s: backward(forward(x))/%g - x: %.3g > %.3g", c->name, rt,
          maxback, tol * maxin);
    CHECK(same, "%s: two executions of one plan differ bitwise", c->name);
    size_t es = c->single ? 8 : 16;
    printf("  %-34s np %d%s  err %.2e  vs host %.2e  hash X %016llx y %016llx\n", c->name, P,
           local ? " local" : "", err_ref / maxref, err_host / maxref,
           (unsigned long long)fnv1a(gXd, (size_t)nspec * es),
           (unsigned long long)fnv1a(gyd, (size_t)nin * (c->real ? es / 2 : es)));
    fftw_destroy_plan(fp);
    fftw_free(rin);
    fftw_free(cin);
    fftw_free(ref);
  }
  free(gin);
  free(gXd);
  free(gXh);
  free(gyd);
}

int main(int argc, char **argv)
{
  tess_init(&argc, &argv);
  if (!tess_device_available()) {
    int r;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    if (r == 0)
      printf("test_gpu_fft: skipped: no GPU visible (device backend: %s)\n",
             tess_device_backend_name());
    tess_finalize();
    return SKIP;
  }
  {
    int found = 0;
    for (int i = 0; i < tess_fft_backend_count(); i++)
      found |= strcmp(tess_fft_backend_name(i), "cufft") == 0;
    if (!found) {
      int r;
      MPI_Comm_rank(MPI_COMM_WORLD, &r);
      if (r == 0) printf("test_gpu_fft: skipped: this build has no cuFFT backend\n");
      tess_finalize();
      return SKIP;
    }
  }
  const tess_fft_layout_t N_ = TESS_FFT_LAYOUT_NATURAL, T_ = TESS_FFT_LAYOUT_TRANSPOSED;
  const unsigned NB = TESS_FFT_NORM_BACKWARD, FL = TESS_FFT_FAST_LOCAL;
  static tcase_t cases[48];
  int nc = 0;
#define CASE(...) (cases[nc++] = (tcase_t){__VA_ARGS__})
  /* name, ndim, rank, shape, grid, batch_sharded, real, single, in, out, flags */
  CASE("c2c3d f64 slab 12x10x9", 3, 3, {12, 10, 9}, 1, 0, 0, 0, N_, N_, 0);
  CASE("c2c3d f64 slab N->T 12x10x9", 3, 3, {12, 10, 9}, 1, 0, 0, 0, N_, T_, 0);
  CASE("c2c3d f64 pencil 7x11x13", 3, 3, {7, 11, 13}, 2, 0, 0, 0, N_, N_, 0);
  CASE("c2c3d f64 pencil T->N 7x11x13", 3, 3, {7, 11, 13}, 2, 0, 0, 0, T_, N_, 0);
  CASE("c2c3d f64 pencil N->T 20x24x18", 3, 3, {20, 24, 18}, 2, 0, 0, 0, N_, T_, 0);
  CASE("c2c3d f32 pencil 6x5x7", 3, 3, {6, 5, 7}, 2, 0, 0, 1, N_, N_, 0);
  CASE("c2c3d f32 slab N->T 9x8x4", 3, 3, {9, 8, 4}, 1, 0, 0, 1, N_, T_, 0);
  CASE("c2c3d f64 pencil 1-dims 1x7x1", 3, 3, {1, 7, 1}, 2, 0, 0, 0, N_, N_, 0);
  CASE("c2c3d f64 slab 1-dims 4x1x6", 3, 3, {4, 1, 6}, 1, 0, 0, 0, N_, T_, 0);
  CASE("r2c3d f64 slab 8x6x7", 3, 3, {8, 6, 7}, 1, 0, 1, 0, N_, N_, 0);
  CASE("r2c3d f64 pencil N->T 5x9x10", 3, 3, {5, 9, 10}, 2, 0, 1, 0, N_, T_, 0);
  CASE("r2c3d f64 pencil 7x11x13", 3, 3, {7, 11, 13}, 2, 0, 1, 0, N_, N_, 0);
  CASE("r2c3d f32 pencil 6x7x8", 3, 3, {6, 7, 8}, 2, 0, 1, 1, N_, N_, 0);
  CASE("r2c3d f32 slab T->T 33x17x20", 3, 3, {33, 17, 20}, 1, 0, 1, 1, T_, T_, 0);
  CASE("r2c3d f64 pencil last 1 6x5x1", 3, 3, {6, 5, 1}, 2, 0, 1, 0, N_, N_, 0);
  CASE("c2c2d f64 slab 13x11", 2, 2, {13, 11}, 1, 0, 0, 0, N_, N_, 0);
  CASE("c2c2d f64 slab N->T 16x3", 2, 2, {16, 3}, 1, 0, 0, 0, N_, T_, 0);
  CASE("r2c2d f64 slab N->T 10x9", 2, 2, {10, 9}, 1, 0, 1, 0, N_, T_, 0);
  CASE("r2c2d f32 slab 12x12", 2, 2, {12, 12}, 1, 0, 1, 1, N_, N_, 0);
  CASE("c2c1d f64 local 17", 1, 1, {17}, 0, 0, 0, 0, N_, N_, 0);
  CASE("r2c1d f64 local 30", 1, 1, {30}, 0, 0, 1, 0, N_, N_, 0);
  CASE("c2c1d f32 local 1", 1, 1, {1}, 0, 0, 0, 1, N_, N_, 0);
  CASE("batch c2c1d f64 5x17 b", 2, 1, {5, 17}, 0, 1, 0, 0, N_, N_, 0);
  CASE("batch r2c2d f64 3x8x6 slab", 3, 2, {3, 8, 6}, 1, 0, 1, 0, N_, N_, 0);
  CASE("batch c2c3d f32 2x5x4x3 pen N->T", 4, 3, {2, 5, 4, 3}, 2, 0, 0, 1, N_, T_, 0);
  CASE("batch c2c2d f64 4x7x6 b+slab", 3, 2, {4, 7, 6}, 1, 1, 0, 0, N_, N_, 0);
  CASE("batch c2c1d f64 300x4", 2, 1, {300, 4}, 0, 0, 0, 0, N_, N_, 0);
  CASE("c2c3d f64 pencil 32x40x24", 3, 3, {32, 40, 24}, 2, 0, 0, 0, N_, N_, 0);
  /* full line batches: direct lines next to padded batches */
  CASE("c2c3d f64 slab 128^3 direct", 3, 3, {128, 128, 128}, 1, 0, 0, 0, N_, N_, 0);
  CASE("c2c3d f32 pencil N->T 64x128x128", 3, 3, {64, 128, 128}, 2, 0, 0, 1, N_, T_, 0);
  CASE("r2c3d f64 slab 128^3 direct", 3, 3, {128, 128, 128}, 1, 0, 1, 0, N_, N_, 0);
  CASE("c2c3d f64 slab 64^3 normb", 3, 3, {64, 64, 64}, 1, 0, 0, 0, N_, N_, NB);
  CASE("batch c2c1d f64 16384x64 normb", 2, 1, {16384, 64}, 0, 0, 0, 0, N_, N_, NB);
  /* TESS_FFT_FAST_LOCAL */
  CASE("fast c2c3d f64 slab 32x40x24", 3, 3, {32, 40, 24}, 1, 0, 0, 0, N_, N_, FL);
  CASE("fast c2c3d f32 local 16x12x10 nb", 3, 3, {16, 12, 10}, 0, 0, 0, 1, N_, N_, FL | NB);
  CASE("fast r2c3d f64 local 12x10x8", 3, 3, {12, 10, 8}, 0, 0, 1, 0, N_, N_, FL);
  CASE("fast r2c2d f32 slab N->T 12x12", 2, 2, {12, 12}, 1, 0, 1, 1, N_, T_, FL);
  CASE("fast batch c2c2d f64 4x7x6 b", 3, 2, {4, 7, 6}, 0, 1, 0, 0, N_, N_, FL);
  CASE("fast c2c3d f64 pencil 20x24x18", 3, 3, {20, 24, 18}, 2, 0, 0, 0, N_, N_, FL | NB);
  CASE("fast c2c1d f64 local 17", 1, 1, {17}, 0, 0, 0, 0, N_, N_, FL);
  CASE("fast c2c3d f64 1-dims 1x7x5", 3, 3, {1, 7, 5}, 0, 0, 0, 0, N_, N_, FL);
#undef CASE
  for (int i = 0; i < nc; i++) run_case(&cases[i]);
  int rc = tess_test_finish("gpu_fft");
  tess_finalize();
  return rc;
}

/* tests/spectral/test_fft.c: every kind of distributed transform against
 * serial FFTW on the gathered data (an independent plan of the whole array),
 * plus forward∘backward = N·identity, Parseval, and bitwise identity with the
 * same transform on a 1-rank mesh (the determinism contract) and between slab
 * and pencil grids. Half the cases force streaming stores on (TESS_FFT_STREAM)
 * where the 1-rank run has them off, the other half the reverse; likewise,
 * crosswise, the staged group planes (TESS_FFT_STAGE), so that both executor
 * paths meet the reference and each other bit for bit.
 *
 * Cases: dims 1-3, c2c f64/f32, r2c/c2r f64/f32, slab (1 mesh axis) and
 * pencil (2 axes), natural and transposed output, batched plans; sizes odd,
 * prime and not divisible by the grid; at 3-4 ranks some pencil ranks own
 * nothing (P > N in a dim).
 *
 * Tolerance: max |tessera - fftw| <= 20 eps (1 + log2 N) max |fftw|, the usual
 * O(eps log N) bound of a Cooley-Tukey FFT with a safety factor; eps is the
 * precision of the transform (f32: 2^-24 -- the f32 reference is computed in
 * double from the same f32 input). */
#include <tessera/tessera.h>
#include <fftw3.h>
#include <complex.h>
#include <math.h>
#include <string.h>
#include "tess_test.h"

typedef struct {
  const char *name;
  int ndim, rank;          /* array dims, transformed trailing dims */
  int64_t shape[4];        /* real-space shape */
  int grid;                /* mesh axes over the transform dims: 0, 1 slab, 2 pencil */
  int batch_sharded;       /* shard batch dim 0 over its own axis */
  int real;                /* r2c/c2r */
  int single;
  tess_fft_layout_t layout;
} tcase_t;

static uint64_t seed = 7;

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

/* Mesh over comm: grid axes first ("a0","a1"), then "b" for a sharded batch. */
static tess_err_t make_mesh(MPI_Comm comm, const tcase_t *c, tess_mesh_t **mesh)
{
  int P, dims[3] = {0, 0, 0}, nax = 0, sizes[3];
  const char *names[3];
  MPI_Comm_size(comm, &P);
  int nparts = c->grid + (c->batch_sharded ? 1 : 0);
  if (nparts == 0) {
    names[0] = "rep";
    sizes[0] = P;
    return tess_mesh_create(comm, 1, names, sizes, mesh);
  }
  MPI_Dims_create(P, nparts, dims);
  for (int i = 0; i < c->grid; i++) { names[nax] = i == 0 ? "a0" : "a1"; sizes[nax++] = dims[i]; }
  if (c->batch_sharded) { names[nax] = "b"; sizes[nax++] = dims[c->grid]; }
  return tess_mesh_create(comm, nax, names, sizes, mesh);
}

static void in_spec(const tcase_t *c, tess_shardspec_t *sp)
{
  int axes[2] = {0, 1};
  tess_fft_spec(c->ndim, c->rank, c->grid, axes, TESS_FFT_LAYOUT_NATURAL, sp);
  if (c->batch_sharded) sp->axis[0] = c->grid;
}

/* c2c in place over memory the caller owns: input and output arrays (their
 * own specs) over one buffer, offset by one element from the allocation so
 * that rows meet FFTW at another alignment than the plan's scratch (the
 * executor must then go through the scratch: same plan, same bits). Forward
 * then backward, each compared bitwise with the out-of-place X and y. */
static tess_err_t check_in_place(const tcase_t *c, tess_array_t *x, tess_array_t *X,
                                 tess_array_t *y, const tess_fft_opts_t *o)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = tess_array_mesh(x);
  tess_array_t *xa = NULL, *Xa = NULL;
  tess_fft_plan_t *pf = NULL, *pb = NULL;
  tess_shardspec_t sx, sX;
  size_t es = tess_dtype_size(tess_array_dtype(x));
  int64_t cnt = tess_array_local_count(x) > tess_array_local_count(X) ? tess_array_local_count(x)
                                                                      : tess_array_local_count(X);
  char *mem = malloc((size_t)(cnt + 1) * es), *a = NULL, *b = NULL;
  int r0 = tess_mesh_rank(mesh);
  size_t nX = (size_t)tess_array_global_count(X), nx = (size_t)tess_array_global_count(x);
  TESS_REQUIRE(mem != NULL, TESS_ERR_MEM, "in-place buffer");
  tess_array_spec(x, &sx);
  tess_array_spec(X, &sX);
  TESS_CHECK(tess_array_create_with_data(mesh, tess_array_dtype(x), c->ndim, c->shape, &sx,
                                         TESS_MEM_HOST, NULL, mem + es, (size_t)cnt * es, &xa));
  TESS_CHECK(tess_array_create_with_data(mesh, tess_array_dtype(X), c->ndim, c->shape, &sX,
                                         TESS_MEM_HOST, NULL, mem + es, (size_t)cnt * es, &Xa));
  TESS_CHECK(tess_array_fill(xa, fill_fn, (void *)c));
  TESS_CHECK(tess_fft_plan_create_opts(xa, Xa, TESS_FFT_FORWARD, o, &pf));
  TESS_CHECK(tess_fft_plan_create_opts(Xa, xa, TESS_FFT_BACKWARD, o, &pb));
  TESS_CHECK(tess_fft_execute(pf, xa, Xa));
  a = r0 == 0 ? malloc(nX * es) : NULL;
  b = r0 == 0 ? malloc(nX * es) : NULL;
  TESS_REQUIRE(r0 != 0 || (a && b), TESS_ERR_MEM, "gather buffers");
  TESS_CHECK(tess_array_gather(X, 0, a));
  TESS_CHECK(tess_array_gather(Xa, 0, b));
  if (r0 == 0) CHECK(memcmp(a, b, nX * es) == 0, "%s: in-place forward differs", c->name);
  TESS_CHECK(tess_fft_execute(pb, Xa, xa));
  TESS_CHECK(tess_array_gather(y, 0, a));
  TESS_CHECK(tess_array_gather(xa, 0, b));
  if (r0 == 0) CHECK(memcmp(a, b, nx * es) == 0, "%s: in-place backward differs", c->name);
cleanup:
  tess_fft_plan_destroy(&pf);
  tess_fft_plan_destroy(&pb);
  tess_array_destroy(&xa);
  tess_array_destroy(&Xa);
  free(mem);
  free(a);
  free(b);
  return err;
}

/* Forward (+ backward) on `comm`; gathered results on rank 0 of comm. */
static tess_err_t run_tessera(MPI_Comm comm, const tcase_t *c, void *gin, void *gout, void *gback,
                              int *ntr)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *x = NULL, *X = NULL, *y = NULL;
  tess_fft_plan_t *pf = NULL, *pb = NULL;
  tess_shardspec_t sp;
  tess_fft_opts_t o = {0};
  tess_fft_info_t info;
  tess_dtype_t rt = c->single ? TESS_F32 : TESS_F64, ct = c->single ? TESS_C64 : TESS_C128;

  TESS_CHECK(make_mesh(comm, c, &mesh));
  in_spec(c, &sp);
  TESS_CHECK(tess_array_create(mesh, c->real ? rt : ct, c->ndim, c->shape, &sp, TESS_MEM_HOST, &x));
  TESS_CHECK(tess_array_fill(x, fill_fn, (void *)c));
  TESS_CHECK(tess_fft_create_output(x, c->rank, c->layout, &X));
  TESS_CHECK(tess_array_create_like(x, NULL, &y));
  o.rank = c->rank;
  TESS_CHECK(tess_fft_plan_create_opts(x, X, TESS_FFT_FORWARD, &o, &pf));
  TESS_CHECK(tess_fft_plan_create_opts(X, y, TESS_FFT_BACKWARD, &o, &pb));
  TESS_CHECK(tess_fft_plan_info(pf, &info));
  *ntr = info.ntransposes;
  TESS_CHECK(tess_fft_execute(pf, x, X));
  TESS_CHECK(tess_fft_execute(pb, X, y));
  if (!c->real) TESS_CHECK(check_in_place(c, x, X, y, &o));
  if (c->grid > 0 && !c->batch_sharded) {
    /* the other forms: forward from a transposed-form input, backward from a
     * natural-form spectrum into a transposed-form output; both must agree
     * bitwise with the canonical pipelines (transposes only move data) */
    tess_array_t *xt = NULL, *Xn = NULL, *X2 = NULL, *yt = NULL, *y2 = NULL;
    tess_fft_plan_t *p2 = NULL, *p3 = NULL;
    tess_shardspec_t st, sn;
    int ax2[2] = {0, 1};
    tess_err_t e2 = TESS_OK;
    TESS_CHECK(tess_fft_spec(c->ndim, c->rank, c->grid, ax2, TESS_FFT_LAYOUT_TRANSPOSED, &st));
    TESS_CHECK(tess_fft_spec(c->ndim, c->rank, c->grid, ax2, TESS_FFT_LAYOUT_NATURAL, &sn));
    if (e2 == TESS_OK) e2 = tess_array_create_like(x, &st, &xt);
    if (e2 == TESS_OK) e2 = tess_reshard(x, xt);
    if (e2 == TESS_OK) e2 = tess_array_create_like(X, NULL, &X2);
    if (e2 == TESS_OK) e2 = tess_fft_plan_create_opts(xt, X2, TESS_FFT_FORWARD, &o, &p2);
    if (e2 == TESS_OK) e2 = tess_fft_execute(p2, xt, X2);
    if (e2 == TESS_OK) e2 = tess_array_create_like(X, &sn, &Xn);
    if (e2 == TESS_OK) e2 = tess_reshard(X, Xn);
    if (e2 == TESS_OK) e2 = tess_array_create_like(x, &st, &yt);
    if (e2 == TESS_OK) e2 = tess_fft_plan_create_opts(Xn, yt, TESS_FFT_BACKWARD, &o, &p3);
    if (e2 == TESS_OK) e2 = tess_fft_execute(p3, Xn, yt);
    if (e2 == TESS_OK) e2 = tess_array_create_like(x, NULL, &y2);
    if (e2 == TESS_OK) e2 = tess_reshard(yt, y2);
    if (e2 == TESS_OK) {
      int r0 = tess_mesh_rank(mesh);
      size_t es = tess_dtype_size(tess_array_dtype(X));
      size_t nX = (size_t)tess_array_global_count(X), ny = (size_t)tess_array_global_count(y);
      size_t ey = tess_dtype_size(tess_array_dtype(y));
      char *a = r0 == 0 ? malloc(nX * es) : NULL, *b = r0 == 0 ? malloc(nX * es) : NULL;
      char *ya = r0 == 0 ? malloc(ny * ey) : NULL, *yb = r0 == 0 ? malloc(ny * ey) : NULL;
      tess_array_gather(X, 0, a);
      tess_array_gather(X2, 0, b);
      tess_array_gather(y, 0, ya);
      tess_array_gather(y2, 0, yb);
      if (r0 == 0) {
        CHECK(memcmp(a, b, nX * es) == 0, "%s: forward from transposed-form input differs", c->name);
        CHECK(memcmp(ya, yb, ny * ey) == 0, "%s: backward into transposed-form output differs",
              c->name);
      }
      free(a); free(b); free(ya); free(yb);
    }
    if (e2 != TESS_OK) { tess_error_print(stderr); CHECK(0, "%s: other-form pipelines failed", c->name); }
    tess_fft_plan_destroy(&p2);
    tess_fft_plan_destroy(&p3);
    tess_array_destroy(&xt); tess_array_destroy(&Xn); tess_array_destroy(&X2);
    tess_array_destroy(&yt); tess_array_destroy(&y2);
  }
  TESS_CHECK(tess_array_gather(x, 0, gin));
  TESS_CHECK(tess_array_gather(X, 0, gout));
  TESS_CHECK(tess_array_gather(y, 0, gback));
cleanup:
  tess_fft_plan_destroy(&pf);
  tess_fft_plan_destroy(&pb);
  tess_array_destroy(&x);
  tess_array_destroy(&X);
  tess_array_destroy(&y);
  tess_mesh_destroy(&mesh);
  return err;
}

/* stream, stage: TESS_FFT_STREAM and TESS_FFT_STAGE for the distributed run
 * (the 1-rank run gets the other settings, so bitwise identity also holds
 * across streaming stores and staged planes). */
static void run_case(const tcase_t *c, int stream, int stage)
{
  int r, P;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  int nb = c->ndim - c->rank;
  int64_t nbatch = 1, N = 1, m_last = c->real ? c->shape[c->ndim - 1] / 2 + 1 : c->shape[c->ndim - 1];
  for (int i = 0; i < nb; i++) nbatch *= c->shape[i];
  for (int i = nb; i < c->ndim; i++) N *= c->shape[i];
  int64_t nspec = nbatch * (N / c->shape[c->ndim - 1]) * m_last;
  size_t rsz = c->single ? 4 : 8, isz = c->real ? rsz : 2 * rsz;
  void *gin = calloc((size_t)(nbatch * N), isz), *gback = calloc((size_t)(nbatch * N), isz);
  void *gout = calloc((size_t)nspec, 2 * rsz);
  void *sin = calloc((size_t)(nbatch * N), isz), *sout = calloc((size_t)nspec, 2 * rsz);
  void *sback = calloc((size_t)(nbatch * N), isz);
  int ntr = 0, ntr1 = 0;

  setenv("TESS_FFT_STREAM", stream ? "1" : "0", 1);
  setenv("TESS_FFT_STAGE", stage ? "1" : "0", 1);
  tess_err_t e = run_tessera(MPI_COMM_WORLD, c, gin, gout, gback, &ntr);
  if (e != TESS_OK) tess_error_print(stderr);
  CHECK(e == TESS_OK, "%s: tessera run failed", c->name);
  /* the same transform on a 1-rank mesh: must be bitwise identical */
  setenv("TESS_FFT_STREAM", stream ? "0" : "1", 1);
  setenv("TESS_FFT_STAGE", stage ? "0" : "1", 1);
  if (r == 0) {
    e = run_tessera(MPI_COMM_SELF, c, sin, sout, sback, &ntr1);
    if (e != TESS_OK) tess_error_print(stderr);
    CHECK(e == TESS_OK, "%s: 1-rank run failed", c->name);
  }
  if (r == 0) {
    /* serial FFTW reference, in double */
    int n[3];
    for (int i = 0; i < c->rank; i++) n[i] = (int)c->shape[nb + i];
    double *rin = fftw_alloc_real((size_t)(nbatch * N));
    fftw_complex *cin = fftw_alloc_complex((size_t)(nbatch * N));
    fftw_complex *ref = fftw_alloc_complex((size_t)(c->real ? nspec : nbatch * N));
    fftw_plan fp;
    if (c->real)
      fp = fftw_plan_many_dft_r2c(c->rank, n, (int)nbatch, rin, NULL, 1, (int)N, ref, NULL, 1,
                                  (int)(nspec / nbatch), FFTW_ESTIMATE);
    else
      fp = fftw_plan_many_dft(c->rank, n, (int)nbatch, cin, NULL, 1, (int)N, ref, NULL, 1, (int)N,
                              FFTW_FORWARD, FFTW_ESTIMATE);
    for (int64_t i = 0; i < nbatch * N; i++) {
      if (c->real) rin[i] = c->single ? ((float *)gin)[i] : ((double *)gin)[i];
      else if (c->single) { cin[i][0] = ((float *)gin)[2 * i]; cin[i][1] = ((float *)gin)[2 * i + 1]; }
      else { cin[i][0] = ((double *)gin)[2 * i]; cin[i][1] = ((double *)gin)[2 * i + 1]; }
    }
    fftw_execute(fp);
    double maxref = 0, maxerr = 0, e2x = 0, e2X = 0, maxback = 0, maxin = 0;
    for (int64_t i = 0; i < nspec; i++) {
      double gr = c->single ? ((float *)gout)[2 * i] : ((double *)gout)[2 * i];
      double gi = c->single ? ((float *)gout)[2 * i + 1] : ((double *)gout)[2 * i + 1];
      double d = hypot(gr - ref[i][0], gi - ref[i][1]);
      maxref = fmax(maxref, hypot(ref[i][0], ref[i][1]));
      maxerr = fmax(maxerr, d);
      /* Parseval; half spectra count interior modes twice */
      int64_t kl = i % m_last, nl = c->shape[c->ndim - 1];
      double w = (!c->real || kl == 0 || (nl % 2 == 0 && kl == nl / 2)) ? 1.0 : 2.0;
      e2X += w * (gr * gr + gi * gi);
    }
    for (int64_t i = 0; i < nbatch * N * (c->real ? 1 : 2); i++) {
      double a = c->single ? ((float *)gin)[i] : ((double *)gin)[i];
      double b = c->single ? ((float *)gback)[i] : ((double *)gback)[i];
      e2x += a * a;
      maxin = fmax(maxin, fabs(a));
      maxback = fmax(maxback, fabs(b / (double)N - a));
    }
    double eps = c->single ? 0x1p-24 : 0x1p-53, lg = 1 + log2((double)N);
    double tol = 20 * eps * lg;
    CHECK(maxerr <= tol * maxref, "%s: forward vs serial FFTW: max err %.3g > %.3g (max |ref| %.3g)",
          c->name, maxerr, tol * maxref, maxref);
    CHECK(maxback <= tol * maxin * 4, "%s: backward(forward(x))/N - x: %.3g > %.3g", c->name,
          maxback, tol * maxin * 4);
    CHECK(fabs(e2X - (double)N * e2x) <= tol * (double)N * e2x, "%s: Parseval %.17g vs %.17g",
          c->name, e2X, (double)N * e2x);
    CHECK(memcmp(gout, sout, (size_t)nspec * 2 * rsz) == 0,
          "%s: spectrum at %d ranks differs bitwise from 1 rank", c->name, P);
    CHECK(memcmp(gback, sback, (size_t)(nbatch * N) * isz) == 0,
          "%s: backward at %d ranks differs bitwise from 1 rank", c->name, P);
    printf("  %-28s transposes %d  err %.2e (tol %.2e)\n", c->name, ntr, maxerr / maxref, tol);
    fftw_destroy_plan(fp);
    fftw_free(rin);
    fftw_free(cin);
    fftw_free(ref);
  }
  free(gin); free(gout); free(gback); free(sin); free(sout); free(sback);
}

int main(int argc, char **argv)
{
  tess_init(&argc, &argv);
  static const tcase_t cases[] = {
    {"c2c3d f64 slab 12x10x9", 3, 3, {12, 10, 9}, 1, 0, 0, 0, TESS_FFT_LAYOUT_NATURAL},
    {"c2c3d f64 slab T 12x10x9", 3, 3, {12, 10, 9}, 1, 0, 0, 0, TESS_FFT_LAYOUT_TRANSPOSED},
    {"c2c3d f64 pencil 7x11x5", 3, 3, {7, 11, 5}, 2, 0, 0, 0, TESS_FFT_LAYOUT_NATURAL},
    {"c2c3d f64 pencil T 3x2x13", 3, 3, {3, 2, 13}, 2, 0, 0, 0, TESS_FFT_LAYOUT_TRANSPOSED},
    {"c2c3d f32 pencil 6x5x7", 3, 3, {6, 5, 7}, 2, 0, 0, 1, TESS_FFT_LAYOUT_NATURAL},
    {"c2c3d f32 slab T 9x8x4", 3, 3, {9, 8, 4}, 1, 0, 0, 1, TESS_FFT_LAYOUT_TRANSPOSED},
    {"r2c3d f64 slab 8x6x7", 3, 3, {8, 6, 7}, 1, 0, 1, 0, TESS_FFT_LAYOUT_NATURAL},
    {"r2c3d f64 pencil T 5x9x10", 3, 3, {5, 9, 10}, 2, 0, 1, 0, TESS_FFT_LAYOUT_TRANSPOSED},
    {"r2c3d f64 pencil 2x3x17", 3, 3, {2, 3, 17}, 2, 0, 1, 0, TESS_FFT_LAYOUT_NATURAL},
    {"r2c3d f32 pencil 6x7x8", 3, 3, {6, 7, 8}, 2, 0, 1, 1, TESS_FFT_LAYOUT_NATURAL},
    {"c2c2d f64 slab 13x11", 2, 2, {13, 11}, 1, 0, 0, 0, TESS_FFT_LAYOUT_NATURAL},
    {"c2c2d f64 slab T 16x3", 2, 2, {16, 3}, 1, 0, 0, 0, TESS_FFT_LAYOUT_TRANSPOSED},
    {"r2c2d f64 slab T 10x9", 2, 2, {10, 9}, 1, 0, 1, 0, TESS_FFT_LAYOUT_TRANSPOSED},
    {"r2c2d f32 slab 12x12", 2, 2, {12, 12}, 1, 0, 1, 1, TESS_FFT_LAYOUT_NATURAL},
    {"c2c1d f64 local 17", 1, 1, {17}, 0, 0, 0, 0, TESS_FFT_LAYOUT_NATURAL},
    {"r2c1d f64 local 30", 1, 1, {30}, 0, 0, 1, 0, TESS_FFT_LAYOUT_NATURAL},
    {"batch c2c1d f64 5x17 b", 2, 1, {5, 17}, 0, 1, 0, 0, TESS_FFT_LAYOUT_NATURAL},
    {"batch r2c2d f64 3x8x6 slab", 3, 2, {3, 8, 6}, 1, 0, 1, 0, TESS_FFT_LAYOUT_NATURAL},
    {"batch c2c3d f32 2x5x4x3 pen", 4, 3, {2, 5, 4, 3}, 2, 0, 0, 1, TESS_FFT_LAYOUT_TRANSPOSED},
    {"batch c2c2d f64 4x7x6 b+slab", 3, 2, {4, 7, 6}, 1, 1, 0, 0, TESS_FFT_LAYOUT_NATURAL},
    /* rows of whole cache lines (direct lines, fft_backend.h): full batches of
     * 64 rows run on the arrays' rows, the rest through the scratch */
    {"c2c3d f64 slab T 24x20x8 dir", 3, 3, {24, 20, 8}, 1, 0, 0, 0, TESS_FFT_LAYOUT_TRANSPOSED},
    {"c2c3d f64 pencil 20x18x4 dir", 3, 3, {20, 18, 4}, 2, 0, 0, 0, TESS_FFT_LAYOUT_NATURAL},
    {"c2c3d f32 slab 16x24x8 dir", 3, 3, {16, 24, 8}, 1, 0, 0, 1, TESS_FFT_LAYOUT_NATURAL},
    {"r2c3d f64 pencil T 20x14x8 dir", 3, 3, {20, 14, 8}, 2, 0, 1, 0, TESS_FFT_LAYOUT_TRANSPOSED},
    {"r2c2d f64 slab 150x14 dir", 2, 2, {150, 14}, 1, 0, 1, 0, TESS_FFT_LAYOUT_NATURAL},
    {"batch c2c1d f64 300x4 dir", 2, 1, {300, 4}, 0, 0, 0, 0, TESS_FFT_LAYOUT_NATURAL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i], (int)(i & 1), (int)((i >> 1) & 1));
  unsetenv("TESS_FFT_STREAM");
  unsetenv("TESS_FFT_STAGE");
  int rc = tess_test_finish("spectral_fft");
  tess_finalize();
  return rc;
}

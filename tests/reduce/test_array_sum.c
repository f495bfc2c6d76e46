/* tests/reduce/test_array_sum.c: tess_array_sum and tess_array_reduce_sum
 * against MPFR. The arrays are filled from a formula of the global index
 * (counter-based RNG: wide exponents, cancelling pairs, subnormals), so the
 * reference is computed from the formula directly, never from the array.
 * Meshes: 1-D over all ranks and 2-D (P/2 x 2 or P x 1); specs shard
 * different dimensions, leave some replicated, and leave mesh axes unused
 * (copies that must not be counted twice). Shapes do not divide evenly and
 * include a dimension shorter than the axis (empty blocks). dtypes f64,
 * f32, c128, c64: results compared bit for bit, at 1-4 ranks. */
#include <tessera/tessera.h>
#include <math.h>
#include <mpfr.h>
#include <string.h>
#include "tess_test.h"

static int rank, nranks;
static const uint64_t SEED = 77;

/* The value of component c of global element `lin` (row-major index). */
static double formula(uint64_t lin, int c, int is32)
{
  uint64_t u = tess_rng_u64(SEED, 100 + (uint64_t)c, lin / 2);
  int e = is32 ? (int)(u % 200) - 140 : (int)(u % 1900) - 1000;   /* includes subnormals */
  double v = ldexp(1.0 + (double)(u >> 12) * 0x1p-52, e);
  if (lin % 2) v = -v * (1.0 + 0x1p-20);   /* near-cancelling neighbours */
  if (lin % 7 == 3) v = (double)(lin % 5) - 2.0;
  return is32 ? (double)(float)v : v;      /* exactly what the array holds */
}

typedef struct {
  int64_t shape[TESS_MAX_NDIM];
  int ndim, ncomp, is32;
} fill_ctx_t;

static uint64_t linear(const int64_t g[], const int64_t shape[], int ndim)
{
  uint64_t lin = 0;
  for (int d = 0; d < ndim; d++) lin = lin * (uint64_t)shape[d] + (uint64_t)g[d];
  return lin;
}

static void fill_fn(const int64_t gidx[], int ndim, void *value, void *vctx)
{
  fill_ctx_t *ctx = vctx;
  uint64_t lin = linear(gidx, ctx->shape, ndim);
  for (int c = 0; c < ctx->ncomp; c++) {
    double v = formula(lin, c, ctx->is32);
    if (ctx->is32) ((float *)value)[c] = (float)v;
    else ((double *)value)[c] = v;
  }
}

/* MPFR reference: sum of component c over the global elements whose index
 * equals `fixed` in every dimension except `dim` (dim < 0: all elements). */
static double reference(const fill_ctx_t *f, int dim, const int64_t fixed[], int c, float *as_float)
{
  mpfr_t s;
  mpfr_init2(s, 2300);
  mpfr_set_zero(s, 1);
  int64_t g[TESS_MAX_NDIM] = {0}, total = 1;
  for (int d = 0; d < f->ndim; d++) total *= f->shape[d];
  for (int64_t lin = 0; lin < total; lin++) {
    int64_t r = lin;
    for (int d = f->ndim - 1; d >= 0; d--) {
      g[d] = r % f->shape[d];
      r /= f->shape[d];
    }
    int keep = 1;
    for (int d = 0; d < f->ndim && dim >= 0; d++)
      if (d != dim && g[d] != fixed[d]) keep = 0;
    if (keep && mpfr_add_d(s, s, formula((uint64_t)lin, c, f->is32), MPFR_RNDN) != 0) abort();
  }
  double r = mpfr_zero_p(s) ? 0.0 : mpfr_get_d(s, MPFR_RNDN);
  *as_float = mpfr_zero_p(s) ? 0.0f : mpfr_get_flt(s, MPFR_RNDN);
  mpfr_clear(s);
  return r;
}

static int same_comp(const void *got, size_t k, int c, int ncomp, int is32, double want, float wantf)
{
  size_t at = k * (size_t)ncomp + (size_t)c;
  if (is32) return memcmp((const float *)got + at, &wantf, sizeof wantf) == 0;
  return memcmp((const double *)got + at, &want, sizeof want) == 0;
}

static void run(const char *label, int naxes, const char *const names[], const int sizes[],
                int ndim, const int64_t shape[], const char *const axes[], tess_dtype_t t)
{
  tess_mesh_t *mesh = NULL;
  tess_array_t *a = NULL, *r = NULL;
  tess_shardspec_t spec;
  fill_ctx_t f = {.ndim = ndim, .ncomp = tess_dtype_is_complex(t) ? 2 : 1,
                  .is32 = t == TESS_F32 || t == TESS_C64};
  memcpy(f.shape, shape, (size_t)ndim * sizeof *shape);
  size_t es = tess_dtype_size(t);
  CHECK(tess_mesh_create(MPI_COMM_WORLD, naxes, names, sizes, &mesh) == 0, "%s: mesh", label);
  CHECK(tess_shardspec_make(mesh, ndim, axes, &spec) == 0, "%s: spec", label);
  CHECK(tess_array_create(mesh, t, ndim, shape, &spec, TESS_MEM_HOST, &a) == 0, "%s: array", label);
  CHECK(tess_array_fill(a, fill_fn, &f) == 0, "%s: fill", label);

  /* whole-array sum */
  char got[16];
  CHECK(tess_array_sum(a, got) == 0, "%s: tess_array_sum", label);
  for (int c = 0; c < f.ncomp; c++) {
    float wf;
    double w = reference(&f, -1, NULL, c, &wf);
    CHECK(same_comp(got, 0, c, f.ncomp, f.is32, w, wf), "%s %s: sum comp %d: got %a want %a",
          label, tess_dtype_name(t), c,
          f.is32 ? (double)((float *)got)[c] : ((double *)got)[c], f.is32 ? (double)wf : w);
  }

  /* reduce along each dimension; the output gathered on rank 0 */
  for (int dim = 0; dim < ndim; dim++) {
    CHECK(tess_array_reduce_sum(a, dim, &r) == 0, "%s: reduce_sum dim %d", label, dim);
    if (!r) continue;
    int64_t oshape[TESS_MAX_NDIM], total = 1;
    tess_array_global_shape(r, oshape);
    for (int d = 0; d < ndim; d++) {
      CHECK(oshape[d] == (d == dim ? 1 : shape[d]), "%s: output shape dim %d", label, d);
      total *= oshape[d];
    }
    char *g = malloc((size_t)total * es + 1);
    CHECK(tess_array_gather(r, 0, g) == 0, "%s: gather", label);
    if (rank == 0) {
      int bad = 0;
      for (int64_t k = 0; k < total && bad < 3; k++) {
        int64_t fixed[TESS_MAX_NDIM], rem = k;
        for (int d = ndim - 1; d >= 0; d--) {
          fixed[d] = rem % oshape[d];
          rem /= oshape[d];
        }
        for (int c = 0; c < f.ncomp; c++) {
          float wf;
          double w = reference(&f, dim, fixed, c, &wf);
          if (!same_comp(g, (size_t)k, c, f.ncomp, f.is32, w, wf)) {
            bad++;
            CHECK(0, "%s %s: reduce dim %d element %lld comp %d: want %a", label,
                  tess_dtype_name(t), dim, (long long)k, c, f.is32 ? (double)wf : w);
          }
        }
      }
    }
    free(g);
    tess_array_destroy(&r);
  }
  tess_array_destroy(&a);
  tess_mesh_destroy(&mesh);
}

static void errors(void)
{
  const char *names[] = {"x"};
  int sizes[] = {nranks};
  tess_mesh_t *mesh = NULL;
  tess_array_t *a = NULL, *r = NULL;
  tess_shardspec_t spec;
  const char *ax[] = {"x"};
  int64_t shape[] = {10};
  tess_mesh_create(MPI_COMM_WORLD, 1, names, sizes, &mesh);
  tess_shardspec_make(mesh, 1, ax, &spec);
  tess_array_create(mesh, TESS_I32, 1, shape, &spec, TESS_MEM_HOST, &a);
  int32_t s;
  CHECK(tess_array_sum(a, &s) == TESS_ERR_UNSUPPORTED, "i32 array accepted");
  CHECK(strstr(tess_error_message(), "floating-point") != NULL, "message: %s", tess_error_message());
  tess_error_clear();
  CHECK(tess_array_reduce_sum(a, 1, &r) == TESS_ERR_ARG && r == NULL, "dim 1 of a 1-D array accepted");
  CHECK(strstr(tess_error_message(), "0..0") != NULL, "message: %s", tess_error_message());
  tess_error_clear();
  tess_array_destroy(&a);
  tess_mesh_destroy(&mesh);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  const char *n1[] = {"x"}, *n2[] = {"x", "y"};
  int s1[] = {nranks}, s2[] = {nranks % 2 == 0 ? nranks / 2 : nranks, nranks % 2 == 0 ? 2 : 1};
  const int64_t shp3[] = {13, 3, 29}, shp2[] = {2, 1111}, shp1[] = {100003};
  const tess_dtype_t types[] = {TESS_F64, TESS_F32, TESS_C128, TESS_C64};
  for (int i = 0; i < 4; i++) {
    tess_dtype_t t = types[i];
    run("1-D mesh, dim0 sharded", 1, n1, s1, 3, shp3, (const char *[]){"x", NULL, NULL}, t);
    run("1-D mesh, dim2 sharded", 1, n1, s1, 3, shp3, (const char *[]){NULL, NULL, "x"}, t);
    run("1-D mesh, replicated", 1, n1, s1, 3, shp3, (const char *[]){NULL, NULL, NULL}, t);
    run("2-D mesh, x and y", 2, n2, s2, 3, shp3, (const char *[]){"y", NULL, "x"}, t);
    run("2-D mesh, y unused", 2, n2, s2, 3, shp3, (const char *[]){"x", NULL, NULL}, t);
    run("2-D mesh, dim0 (2) over x", 2, n2, s2, 2, shp2, (const char *[]){"x", "y"}, t);
  }
  run("1-D, 100003 elements", 1, n1, s1, 1, shp1, (const char *[]){"x"}, TESS_F64);
  errors();
  int rc = tess_test_finish("reduce_array_sum");
  MPI_Finalize();
  return rc;
}

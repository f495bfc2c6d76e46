/* tests/core/test_reshard.c: random chains of reshards must deliver, at
 * every step, exactly (bitwise) the element the formula gives for its
 * global index, and the chain must end with the original local data.
 * Random meshes (1-3 axes), 1-4-D arrays with prime sizes and sizes
 * smaller than the axis, replicated dims, all dtypes; both collective
 * methods (packed alltoallv and alltoallw), with and without streaming
 * stores in the copies. Seeded: reproducible.
 * Usage: test_reshard [trials] [seed] */
#include "core_testlib.h"
#include "tess_test.h"

#include <stdio.h>
#include <stdlib.h>

static const int64_t sizes_pool[] = {1, 2, 3, 5, 7, 11, 13, 4, 6, 8, 17, 0};

static int run_trial(uint64_t *s, int trial, int nranks)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *orig = NULL, *cur = NULL, *next = NULL;
  tess_reshard_t *plan = NULL;
  const char *names[] = {"a", "b", "c"};
  int msizes[3], naxes = ct_random_mesh(s, nranks, msizes);
  int ndim = 1 + ct_rand(s, 4), nsteps = 2 + ct_rand(s, 4);
  tess_dtype_t t = (tess_dtype_t)ct_rand(s, TESS_NDTYPES);
  ct_fill_t f = {.t = t, .ndim = ndim, .salt = ct_splitmix(s)};
  tess_shardspec_t spec0, spec;
  char sbuf[64];
  /* Mostly small and prime; the odd zero length checks empty arrays. */
  int64_t budget = 1;
  for (int d = 0; d < ndim; d++) {
    int n = (int)(sizeof sizes_pool / sizeof sizes_pool[0]);
    f.shape[d] = sizes_pool[ct_rand(s, ct_rand(s, 20) == 0 ? n : n - 1)];
    if (budget * f.shape[d] > 20000) f.shape[d] = 1;
    budget *= f.shape[d] ? f.shape[d] : 1;
  }
  static const char *const methods[] = {"auto", "alltoallv", "alltoallw"};
  const char *method = methods[ct_rand(s, 3)];
  setenv("TESS_RESHARD_METHOD", method, 1);
  /* Streaming stores are used for large arrays only; force them half the time. */
  setenv("TESS_RESHARD_STREAM", ct_rand(s, 2) ? "1" : "0", 1);
  /* The pipelined exchange is used for large arrays only; force it half the
   * time, with segments small enough that boxes split into many. */
  static const char *const segs[] = {"1", "40", "1000", "65536"};
  setenv("TESS_RESHARD_PIPELINE", ct_rand(s, 2) ? "1" : "0", 1);
  setenv("TESS_RESHARD_SEGMENT", segs[ct_rand(s, 4)], 1);
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, naxes, names, msizes, &mesh));
  ct_random_spec(s, ndim, naxes, &spec0);
  TESS_CHECK(tess_array_create(mesh, t, ndim, f.shape, &spec0, TESS_MEM_HOST, &orig));
  TESS_CHECK(tess_array_fill(orig, ct_fill_fn, &f));
  TESS_CHECK(tess_array_create_like(orig, NULL, &cur));
  TESS_CHECK(tess_array_copy(cur, orig));
  for (int step = 0; step <= nsteps; step++) {
    if (step == nsteps) spec = spec0;   /* back to the start */
    else ct_random_spec(s, ndim, naxes, &spec);
    TESS_CHECK(tess_array_create_like(cur, &spec, &next));
    TESS_CHECK(tess_reshard_create(cur, next, &plan));
    CHECK(method[0] == 'a' && method[1] == 'u' ? 1 : strcmp(tess_reshard_method(plan), method) == 0,
          "plan uses %s, asked for %s", tess_reshard_method(plan), method);
    TESS_CHECK(tess_reshard_execute(plan, cur, next));
    long bad = ct_count_wrong(next, f.salt);
    ct_spec_str(&spec, sbuf, sizeof sbuf);
    CHECK(bad == 0, "trial %d step %d: %ld wrong elements after reshard to %s (%s, ndim %d)",
          trial, step, bad, sbuf, tess_dtype_name(t), ndim);
    /* Plans are reusable: a second execute into a zeroed array is the same. */
    memset(tess_array_local_data(next), 0,
           (size_t)tess_array_local_count(next) * tess_dtype_size(t));
    TESS_CHECK(tess_reshard_execute(plan, cur, next));
    CHECK(ct_count_wrong(next, f.salt) == 0, "trial %d step %d: second execute differs", trial,
          step);
    tess_reshard_destroy(&plan);
    tess_array_destroy(&cur);
    cur = next;
    next = NULL;
  }
  CHECK(memcmp(tess_array_local_data(cur), tess_array_local_data(orig),
               (size_t)tess_array_local_count(orig) * tess_dtype_size(t)) == 0,
        "trial %d: chain did not return the original data", trial);
cleanup:
  if (err) {
    tess_error_print(stderr);
    tess_error_clear();
    tess_test_failures++;
  }
  tess_reshard_destroy(&plan);
  tess_array_destroy(&next);
  tess_array_destroy(&cur);
  tess_array_destroy(&orig);
  tess_mesh_destroy(&mesh);
  return err;
}

/* The FFT's pencil transposes on a fixed 3-D case: x -> y -> z -> x pencils.
 * The large variant (64x64x65 c128, over 1 MiB per rank) takes the
 * overlapped (non-blocking) exchange, with both methods. */
static void pencil_case(int nranks, int large, const char *method)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *x = NULL, *y = NULL, *z = NULL, *x2 = NULL;
  const char *names[] = {"p", "q"};
  int msizes[2] = {TESS_MESH_INFER, nranks % 2 == 0 ? 2 : 1};
  ct_fill_t f = {.t = TESS_C128, .ndim = 3, .shape = {13, 7, 10}, .salt = 99};
  if (large) {
    f.shape[0] = 64; f.shape[1] = 64; f.shape[2] = 65;
  }
  if (method && strcmp(method, "pipelined") == 0) {
    setenv("TESS_RESHARD_METHOD", "alltoallv", 1);   /* pipeline set by the caller */
  } else {
    if (method) setenv("TESS_RESHARD_METHOD", method, 1);
    else unsetenv("TESS_RESHARD_METHOD");
    unsetenv("TESS_RESHARD_PIPELINE");
    unsetenv("TESS_RESHARD_SEGMENT");
  }
  unsetenv("TESS_RESHARD_STREAM");
  tess_shardspec_t sx, sy, sz;
  const char *nx[] = {NULL, "p", "q"}, *ny[] = {"p", NULL, "q"}, *nz[] = {"p", "q", NULL};
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 2, names, msizes, &mesh));
  TESS_CHECK(tess_shardspec_make(mesh, 3, nx, &sx));
  TESS_CHECK(tess_shardspec_make(mesh, 3, ny, &sy));
  TESS_CHECK(tess_shardspec_make(mesh, 3, nz, &sz));
  TESS_CHECK(tess_array_create(mesh, f.t, 3, f.shape, &sx, TESS_MEM_HOST, &x));
  TESS_CHECK(tess_array_create_like(x, &sy, &y));
  TESS_CHECK(tess_array_create_like(x, &sz, &z));
  TESS_CHECK(tess_array_create_like(x, &sx, &x2));
  TESS_CHECK(tess_array_fill(x, ct_fill_fn, &f));
  TESS_CHECK(tess_reshard(x, y));
  CHECK(ct_count_wrong(y, f.salt) == 0, "x -> y pencils");
  TESS_CHECK(tess_reshard(y, z));
  CHECK(ct_count_wrong(z, f.salt) == 0, "y -> z pencils");
  TESS_CHECK(tess_reshard(z, x2));
  CHECK(ct_count_wrong(x2, f.salt) == 0, "z -> x pencils");
  if (large || method) goto cleanup;
  /* Misuse is refused with a message. */
  CHECK(tess_reshard(x, x) == TESS_ERR_ARG, "src == dst accepted");
  tess_error_clear();
  setenv("TESS_RESHARD_METHOD", "bogus", 1);
  CHECK(tess_reshard(x, y) == TESS_ERR_ARG && strstr(tess_error_message(), "'bogus' (expected "
        "auto, alltoallv or alltoallw)"), "bad method: %s", tess_error_message());
  tess_error_clear();
  if (nranks > 1) {   /* ranks that disagree must all fail, not hang */
    setenv("TESS_RESHARD_METHOD", tess_mesh_rank(mesh) == 0 ? "alltoallw" : "alltoallv", 1);
    CHECK(tess_reshard(x, y) == TESS_ERR_ARG && strstr(tess_error_message(), "different reshard "
          "methods"), "disagreeing ranks: %s", tess_error_message());
    tess_error_clear();
  }
  unsetenv("TESS_RESHARD_METHOD");
cleanup:
  if (err) { tess_error_print(stderr); tess_error_clear(); tess_test_failures++; }
  tess_array_destroy(&x);
  tess_array_destroy(&y);
  tess_array_destroy(&z);
  tess_array_destroy(&x2);
  tess_mesh_destroy(&mesh);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  int nranks;
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  int trials = argc > 1 ? atoi(argv[1]) : 150;
  uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 20261125u;
  uint64_t s = seed + (uint64_t)nranks;
  pencil_case(nranks, 0, NULL);
  pencil_case(nranks, 1, "alltoallv");
  pencil_case(nranks, 1, "alltoallw");
  /* the pipelined exchange on the same large pencils, 256 KiB segments */
  setenv("TESS_RESHARD_PIPELINE", "1", 1);
  setenv("TESS_RESHARD_SEGMENT", "262144", 1);
  pencil_case(nranks, 1, "pipelined");
  unsetenv("TESS_RESHARD_PIPELINE");
  unsetenv("TESS_RESHARD_SEGMENT");
  for (int i = 0; i < trials; i++) run_trial(&s, i, nranks);
  int rc = tess_test_finish("reshard");
  MPI_Finalize();
  return rc;
}

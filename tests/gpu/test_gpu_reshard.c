/* tests/gpu/test_gpu_reshard.c: reshard of device arrays must give, bitwise,
 * what the same reshards give on host arrays, and the element the formula
 * of core_testlib.h gives for each global index (data never depend on the
 * rank). Chains over different specs (x -> y -> replicated -> z -> back,
 * and seeded random chains on random meshes), 1-4-D, f64/c128/f32/i32 and
 * the rest, prime extents and 1-element dims; every step gathered (device
 * gather stages through the host) and compared. In CUDA builds the device
 * box copy is also checked against the host one on random boxes, aligned
 * and not (the test compiles both copies in: they are not exported).
 *
 * Without a GPU: prints why, exits 77 (CTest: skipped). At more than one
 * rank the exchange needs a device comm backend; a TESS_ERR_UNSUPPORTED
 * from it is a failure, not a skip.
 * Usage: test_gpu_reshard [trials] [seed] */
#include "core_testlib.h"
#include "tess_test.h"

#include <stdio.h>
#include <stdlib.h>

#ifdef TESS_TEST_BOX_CUDA
#include "array_internal.h"
#include "device.h"
#endif

#define SKIP 77

/* Gather a (host or device) array to rank 0 of its mesh; *out malloc'ed there. */
static tess_err_t gather0(const tess_array_t *a, unsigned char **out)
{
  tess_err_t err = TESS_OK;
  int64_t n = tess_array_global_count(a);
  size_t es = tess_dtype_size(tess_array_dtype(a));
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  *out = NULL;
  if (rank == 0) {
    *out = calloc((size_t)(n ? n : 1), es);
    TESS_REQUIRE(*out != NULL, TESS_ERR_MEM, "gather buffer");
  }
  TESS_CHECK(tess_array_gather(a, 0, *out));
cleanup:
  return err;
}

/* Gather host and device arrays, compare bitwise with each other and with
 * the formula. Collective. */
static void compare_step(const tess_array_t *h, const tess_array_t *d, const ct_fill_t *f,
                         const char *what, int step)
{
  tess_err_t err = TESS_OK;
  unsigned char *gh = NULL, *gd = NULL, want[16];
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  TESS_CHECK(gather0(h, &gh));
  TESS_CHECK(gather0(d, &gd));
  if (rank == 0) {
    int64_t n = tess_array_global_count(h), bad_dev = 0, bad_host = 0;
    size_t es = tess_dtype_size(f->t);
    for (int64_t i = 0; i < n; i++) {
      ct_value(f->t, i, f->salt, want);
      if (memcmp(gd + (size_t)i * es, gh + (size_t)i * es, es) != 0) bad_dev++;
      if (memcmp(want, gh + (size_t)i * es, es) != 0) bad_host++;
    }
    CHECK(bad_dev == 0 && bad_host == 0,
          "%s step %d: %lld device elements differ from host, %lld host from the formula", what,
          step, (long long)bad_dev, (long long)bad_host);
  }
cleanup:
  CHECK(err == TESS_OK, "%s step %d: gather: %s", what, step, tess_error_message());
  tess_error_clear();
  free(gh);
  free(gd);
}

/* Run the same chain of specs on a host and a device copy of one array. */
static void run_chain(tess_mesh_t *mesh, tess_dtype_t t, int ndim, const int64_t shape[],
                      const tess_shardspec_t specs[], int nspecs, uint64_t salt, const char *what)
{
  tess_err_t err = TESS_OK;
  tess_array_t *horig = NULL, *hcur = NULL, *hnext = NULL, *dcur = NULL, *dnext = NULL;
  tess_array_t *back = NULL;
  ct_fill_t f = {.t = t, .ndim = ndim, .salt = salt};
  int step = 0;
  for (int d = 0; d < ndim; d++) f.shape[d] = shape[d];
  TESS_CHECK(tess_array_create(mesh, t, ndim, shape, &specs[0], TESS_MEM_HOST, &horig));
  TESS_CHECK(tess_array_fill(horig, ct_fill_fn, &f));
  TESS_CHECK(tess_array_create_like(horig, NULL, &hcur));
  TESS_CHECK(tess_array_copy(hcur, horig));
  TESS_CHECK(tess_array_create(mesh, t, ndim, shape, &specs[0], TESS_MEM_DEVICE, &dcur));
  TESS_CHECK(tess_array_copy(dcur, horig));
  compare_step(hcur, dcur, &f, what, 0);
  for (step = 1; step < nspecs; step++) {
    TESS_CHECK(tess_array_create_like(hcur, &specs[step], &hnext));
    TESS_CHECK(tess_array_create_like(dcur, &specs[step], &dnext));
    CHECK(tess_array_memspace(dnext) == TESS_MEM_DEVICE, "create_like keeps device memory");
    TESS_CHECK(tess_reshard(hcur, hnext));
    TESS_CHECK(tess_reshard(dcur, dnext));
    compare_step(hnext, dnext, &f, what, step);
    tess_array_destroy(&hcur);
    tess_array_destroy(&dcur);
    hcur = hnext, hnext = NULL;
    dcur = dnext, dnext = NULL;
  }
  /* Back where it started: the device block equals the original block. */
  if (tess_shardspec_equal(&specs[nspecs - 1], &specs[0])) {
    TESS_CHECK(tess_array_create_like(horig, NULL, &back));
    TESS_CHECK(tess_array_copy(back, dcur));
    size_t bytes = (size_t)tess_array_local_count(horig) * tess_dtype_size(t);
    CHECK(bytes == 0 || memcmp(tess_array_local_data_const(back),
                               tess_array_local_data_const(horig), bytes) == 0,
          "%s: the chain did not end with the original local data", what);
    CHECK(ct_count_wrong(back, salt) == 0, "%s: local data off the formula at the end", what);
  }
cleanup:
  CHECK(err == TESS_OK, "%s (%s, step %d): %s (%s)", what, tess_dtype_name(t), step,
        tess_error_message(), tess_err_name(err));
  tess_error_clear();
  tess_array_destroy(&horig);
  tess_array_destroy(&hcur);
  tess_array_destroy(&hnext);
  tess_array_destroy(&dcur);
  tess_array_destroy(&dnext);
  tess_array_destroy(&back);
}

/* Spec sharding dim `d` over axis `a` (d < 0: replicated everywhere). */
static tess_shardspec_t spec_dim(int ndim, int d, int a)
{
  tess_shardspec_t s;
  s.ndim = ndim;
  for (int i = 0; i < TESS_MAX_NDIM; i++) s.axis[i] = TESS_REPLICATED;
  if (d >= 0 && d < ndim) s.axis[d] = a;
  return s;
}

/* x-sharded -> y -> replicated -> z -> x, on a 1-axis mesh of all ranks,
 * for fixed awkward shapes and the main dtypes. */
static void fixed_chains(int nranks)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  const char *names[] = {"p"};
  int sz[] = {nranks};
  static const struct { int ndim; int64_t shape[3]; } cases[] = {
    {1, {1}}, {1, {13}}, {1, {2}}, {2, {7, 5}}, {2, {1, 11}}, {2, {3, 1}},
    {3, {5, 7, 3}}, {3, {1, 13, 2}}, {3, {11, 1, 17}}, {3, {16, 8, 6}},
  };
  static const tess_dtype_t dtypes[] = {TESS_F64, TESS_C128, TESS_F32, TESS_I32};
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, names, sz, &mesh));
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
    for (size_t k = 0; k < sizeof dtypes / sizeof dtypes[0]; k++) {
      int nd = cases[c].ndim;
      tess_shardspec_t specs[5] = {spec_dim(nd, 0, 0), spec_dim(nd, 1 % nd, 0),
                                   spec_dim(nd, -1, 0), spec_dim(nd, 2 % nd, 0),
                                   spec_dim(nd, 0, 0)};
      char what[64];
      snprintf(what, sizeof what, "fixed %d-D case %zu %s", nd, c, tess_dtype_name(dtypes[k]));
      run_chain(mesh, dtypes[k], nd, cases[c].shape, specs, 5, 0x5eed + c * 31 + k, what);
    }
cleanup:
  CHECK(err == TESS_OK, "fixed chains: %s", tess_error_message());
  tess_error_clear();
  tess_mesh_destroy(&mesh);
}

/* Seeded random chains on random meshes (every rank draws the same). */
static void random_chain(uint64_t *s, int trial, int nranks)
{
  tess_err_t err = TESS_OK;
  static const int64_t pool[] = {1, 2, 3, 5, 7, 11, 13, 4, 6, 8, 17, 0};
  static const tess_dtype_t dtypes[] = {TESS_F64, TESS_C128, TESS_F32, TESS_I32, TESS_C64,
                                        TESS_I64, TESS_F16};
  tess_mesh_t *mesh = NULL;
  const char *names[] = {"a", "b", "c"};
  int msizes[3], naxes = ct_random_mesh(s, nranks, msizes);
  int ndim = 1 + ct_rand(s, 4), nspecs = 3 + ct_rand(s, 4);
  tess_dtype_t t = dtypes[ct_rand(s, (int)(sizeof dtypes / sizeof dtypes[0]))];
  int64_t shape[TESS_MAX_NDIM];
  tess_shardspec_t specs[8];
  char what[48];
  uint64_t salt = ct_splitmix(s);
  /* mostly nonzero: one pool entry in 12 is an empty dim */
  for (int d = 0; d < ndim; d++) shape[d] = pool[ct_rand(s, 12)];
  for (int i = 0; i < nspecs - 1; i++) ct_random_spec(s, ndim, naxes, &specs[i]);
  specs[nspecs - 1] = specs[0];
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, naxes, names, msizes, &mesh));
  snprintf(what, sizeof what, "random trial %d", trial);
  run_chain(mesh, t, ndim, shape, specs, nspecs, salt, what);
cleanup:
  CHECK(err == TESS_OK, "random trial %d: %s", trial, tess_error_message());
  tess_error_clear();
  tess_mesh_destroy(&mesh);
}

#ifdef TESS_TEST_BOX_CUDA
/* The device box copy against the host one: random shapes, boxes, element
 * sizes, and base pointers off by a few bytes (narrower words). The whole
 * destination is compared, so writes outside the box show too. */
static void box_copy_units(uint64_t *s, int n)
{
  tess_err_t err = TESS_OK;
  unsigned char *hs = NULL, *hd = NULL, *got = NULL;
  void *ds = NULL, *dd = NULL;
  static const size_t esizes[] = {1, 2, 4, 8, 16, 12, 3};
  for (int it = 0; it < n; it++) {
    int ndim = 1 + ct_rand(s, 4);
    size_t es = esizes[ct_rand(s, 7)];
    int64_t sshape[TESS_MAX_NDIM], dshape[TESS_MAX_NDIM], ext[TESS_MAX_NDIM];
    int64_t soff[TESS_MAX_NDIM], doff[TESS_MAX_NDIM], sn = 1, dn = 1;
    size_t sshift = ct_rand(s, 3) ? 0 : (size_t)ct_rand(s, 16);
    size_t dshift = ct_rand(s, 3) ? 0 : (size_t)ct_rand(s, 16);
    for (int d = 0; d < ndim; d++) {
      sshape[d] = 1 + ct_rand(s, ndim > 2 ? 9 : 40);
      dshape[d] = 1 + ct_rand(s, ndim > 2 ? 9 : 40);
      int64_t m = sshape[d] < dshape[d] ? sshape[d] : dshape[d];
      /* whole dims often, so the run merge is exercised */
      ext[d] = ct_rand(s, 2) && sshape[d] == dshape[d] ? m : 1 + ct_rand(s, (int)m);
      if (ct_rand(s, 20) == 0) ext[d] = 0;
      soff[d] = ext[d] < sshape[d] ? ct_rand(s, (int)(sshape[d] - ext[d] + 1)) : 0;
      doff[d] = ext[d] < dshape[d] ? ct_rand(s, (int)(dshape[d] - ext[d] + 1)) : 0;
      sn *= sshape[d];
      dn *= dshape[d];
    }
    size_t sb = (size_t)sn * es, db = (size_t)dn * es;
    hs = malloc(sb + 16);
    hd = malloc(db + 16);
    got = malloc(db + 16);
    TESS_REQUIRE(hs && hd && got, TESS_ERR_MEM, "box test buffers");
    for (size_t i = 0; i < sb + 16; i++) hs[i] = (unsigned char)ct_splitmix(s);
    for (size_t i = 0; i < db + 16; i++) hd[i] = (unsigned char)(i * 7 + 1);
    TESS_CHECK(tess_malloc(TESS_MEM_DEVICE, sb + 16, &ds));
    TESS_CHECK(tess_malloc(TESS_MEM_DEVICE, db + 16, &dd));
    TESS_CHECK(tess_memcpy(TESS_MEM_DEVICE, ds, TESS_MEM_HOST, hs, sb + 16));
    TESS_CHECK(tess_memcpy(TESS_MEM_DEVICE, dd, TESS_MEM_HOST, hd, db + 16));
    tess_box_copy_(ndim, es, ext, hd + dshift, dshape, doff, hs + sshift, sshape, soff, 0);
    TESS_CHECK(tess_cuda_box_copy_(ndim, es, ext, (char *)dd + dshift, dshape, doff,
                                   (const char *)ds + sshift, sshape, soff, TESS_STREAM_DEFAULT));
    /* tess_memcpy is on the same (default) stream and synchronous */
    TESS_CHECK(tess_memcpy(TESS_MEM_HOST, got, TESS_MEM_DEVICE, dd, db + 16));
    CHECK(memcmp(got, hd, db + 16) == 0,
          "box copy %d: %d-D, esize %zu, shifts %zu/%zu: device differs from host", it, ndim, es,
          sshift, dshift);
    tess_free(TESS_MEM_DEVICE, &ds);
    tess_free(TESS_MEM_DEVICE, &dd);
    free(hs);
    free(hd);
    free(got);
    hs = hd = got = NULL;
  }
cleanup:
  CHECK(err == TESS_OK, "box copy units: %s", tess_error_message());
  tess_error_clear();
  tess_free(TESS_MEM_DEVICE, &ds);
  tess_free(TESS_MEM_DEVICE, &dd);
  free(hs);
  free(hd);
  free(got);
}
#endif

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  int nranks, rank;
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  /* Every rank decides alike: one GPU host or none. */
  int have = tess_device_available(), all = 0;
  MPI_Allreduce(&have, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!all) {
    if (rank == 0)
      printf("gpu reshard: skipped, no GPU visible (device backend: %s, this rank sees %d)\n",
             tess_device_backend_name(), tess_device_count());
    MPI_Finalize();
    return SKIP;
  }
  int trials = argc > 1 ? atoi(argv[1]) : 40;
  uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 20260611u;
  uint64_t s = seed + (uint64_t)nranks;
#ifdef TESS_TEST_BOX_CUDA
  uint64_t bs = seed ^ 0xb0c5u;
  box_copy_units(&bs, 300);
#endif
  fixed_chains(nranks);
  for (int i = 0; i < trials; i++) random_chain(&s, i, nranks);
  int rc = tess_test_finish("gpu reshard");
  MPI_Finalize();
  return rc;
}

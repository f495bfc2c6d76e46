/* tests/core/test_array.c: ShardSpec arrays against directly computed truth.
 * For random meshes, shapes (primes, sizes smaller than the axis, zero),
 * specs (with replicated dims) and every dtype:
 *  - the block ranges tile each dimension (checked against a formula);
 *  - every local element equals the formula at its global index after fill;
 *  - gather to a random root equals the global array computed directly;
 *  - scatter of a directly computed global array puts the formula's value
 *    in every local element (replicas included), and gather after scatter
 *    returns the same bytes (scatter then gather is the identity);
 *  - tess_memcpy_stream copies like memcpy for every length and alignment
 *    (head, 64-byte body, 16-byte and byte tails) and leaves bytes beyond
 *    the copy alone;
 *  - host blocks are 64-byte aligned, big ones (>= 4 MiB) 2 MiB aligned and
 *    marked for transparent huge pages ("hg" in /proc/self/smaps), unless
 *    TESS_HUGEPAGES=0.
 * Usage: test_array [trials] [seed] */
#include "core_testlib.h"
#include "tess_test.h"

#include <stdio.h>
#include <stdlib.h>

static const int64_t sizes_pool[] = {1, 2, 3, 5, 7, 11, 13, 4, 9, 0};

static void block_range_truth(void)
{
  /* 10 over 4: 3,3,2,2 starting at 0,3,6,8; 2 over 4: 1,1,0,0. */
  int64_t st, len;
  const int64_t want10[4][2] = {{0, 3}, {3, 3}, {6, 2}, {8, 2}};
  const int64_t want2[4][2] = {{0, 1}, {1, 1}, {2, 0}, {2, 0}};
  for (int c = 0; c < 4; c++) {
    tess_block_range(10, 4, c, &st, &len);
    CHECK(st == want10[c][0] && len == want10[c][1], "10/4 part %d: %lld+%lld", c,
          (long long)st, (long long)len);
    tess_block_range(2, 4, c, &st, &len);
    CHECK(st == want2[c][0] && len == want2[c][1], "2/4 part %d: %lld+%lld", c, (long long)st,
          (long long)len);
  }
  for (int64_t n = 0; n < 40; n++)
    for (int p = 1; p <= 7; p++) {
      int64_t next = 0;
      for (int c = 0; c < p; c++) {
        tess_block_range(n, p, c, &st, &len);
        CHECK(st == next && (len == n / p || len == n / p + 1), "n=%lld p=%d c=%d", (long long)n,
              p, c);
        next = st + len;
      }
      CHECK(next == n, "blocks of %lld over %d cover %lld", (long long)n, p, (long long)next);
    }
}

static void run_trial(uint64_t *s, int trial, int nranks, int rank)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *a = NULL, *b = NULL;
  const char *names[] = {"a", "b", "c"};
  int msizes[3], naxes = ct_random_mesh(s, nranks, msizes);
  int ndim = 1 + ct_rand(s, 4), root = ct_rand(s, nranks);
  tess_dtype_t t = (tess_dtype_t)ct_rand(s, TESS_NDTYPES);
  ct_fill_t f = {.t = t, .ndim = ndim, .salt = ct_splitmix(s)};
  uint64_t salt2 = ct_splitmix(s);
  tess_shardspec_t spec;
  char *truth = NULL, *got = NULL, *truth2 = NULL;
  size_t es = tess_dtype_size(t);
  int64_t total = 1;
  for (int d = 0; d < ndim; d++) {
    int n = (int)(sizeof sizes_pool / sizeof sizes_pool[0]);
    f.shape[d] = sizes_pool[ct_rand(s, ct_rand(s, 15) == 0 ? n : n - 1)];
    total *= f.shape[d];
  }
  ct_random_spec(s, ndim, naxes, &spec);
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, naxes, names, msizes, &mesh));
  TESS_CHECK(tess_array_create(mesh, t, ndim, f.shape, &spec, TESS_MEM_HOST, &a));

  /* Metadata against the block formula. */
  int64_t gsh[TESS_MAX_NDIM], lsh[TESS_MAX_NDIM], lst[TESS_MAX_NDIM], cnt = 1;
  tess_array_global_shape(a, gsh);
  tess_array_local_shape(a, lsh);
  tess_array_local_start(a, lst);
  for (int d = 0; d < ndim; d++) {
    int64_t st = 0, len = f.shape[d];
    if (spec.axis[d] >= 0)
      tess_block_range(f.shape[d], msizes[spec.axis[d]], tess_mesh_coord(mesh, spec.axis[d]),
                       &st, &len);
    CHECK(gsh[d] == f.shape[d] && lsh[d] == len && lst[d] == st,
          "trial %d dim %d: local %lld+%lld, expected %lld+%lld", trial, d, (long long)lst[d],
          (long long)lsh[d], (long long)st, (long long)len);
    cnt *= len;
  }
  CHECK(tess_array_local_count(a) == cnt && tess_array_global_count(a) == total,
        "trial %d: counts", trial);

  TESS_CHECK(tess_array_fill(a, ct_fill_fn, &f));
  CHECK(ct_count_wrong(a, f.salt) == 0, "trial %d: fill", trial);

  truth = malloc((size_t)total * es + 1);
  got = malloc((size_t)total * es + 1);
  truth2 = malloc((size_t)total * es + 1);
  for (int64_t i = 0; i < total; i++) {
    ct_value(t, i, f.salt, truth + (size_t)i * es);
    ct_value(t, i, salt2, truth2 + (size_t)i * es);
  }
  memset(got, 0xAB, (size_t)total * es);
  TESS_CHECK(tess_array_gather(a, root, rank == root ? got : NULL));
  if (rank == root)
    CHECK(memcmp(got, truth, (size_t)total * es) == 0, "trial %d: gather to %d differs from "
          "the directly computed array (%s, ndim %d)", trial, root, tess_dtype_name(t), ndim);

  TESS_CHECK(tess_array_create_like(a, NULL, &b));
  TESS_CHECK(tess_array_scatter(b, root, rank == root ? truth2 : NULL));
  CHECK(ct_count_wrong(b, salt2) == 0, "trial %d: scatter from %d", trial, root);
  memset(got, 0, (size_t)total * es);
  TESS_CHECK(tess_array_gather(b, root, rank == root ? got : NULL));
  if (rank == root)
    CHECK(memcmp(got, truth2, (size_t)total * es) == 0, "trial %d: gather(scatter(x)) != x",
          trial);
  TESS_CHECK(tess_array_copy(b, a));
  CHECK(ct_count_wrong(b, f.salt) == 0, "trial %d: copy", trial);
cleanup:
  if (err) { tess_error_print(stderr); tess_error_clear(); tess_test_failures++; }
  free(truth);
  free(truth2);
  free(got);
  tess_array_destroy(&a);
  tess_array_destroy(&b);
  tess_mesh_destroy(&mesh);
}

/* Bad specs and arguments: the message names the problem. */
static void errors(int nranks)
{
  tess_mesh_t *mesh = NULL;
  tess_array_t *a = NULL, *b = NULL;
  tess_shardspec_t spec;
  const char *names[] = {"x", "y"};
  int sizes[] = {nranks, 1};
  if (tess_mesh_create(MPI_COMM_WORLD, 2, names, sizes, &mesh) != TESS_OK) {
    tess_error_print(stderr);
    tess_test_failures++;
    return;
  }
  const char *twice[] = {"x", "x"}, *unknown[] = {"x", "z"}, *ok[] = {"x", NULL};
  CHECK(tess_shardspec_make(mesh, 2, twice, &spec) == TESS_ERR_ARG, "axis twice accepted");
  CHECK(strstr(tess_error_message(), "'x' shards both dimension 0 and dimension 1") != NULL,
        "message: %s", tess_error_message());
  tess_error_clear();
  CHECK(tess_shardspec_make(mesh, 2, unknown, &spec) == TESS_ERR_ARG, "unknown axis accepted");
  CHECK(strstr(tess_error_message(), "no mesh axis named 'z' (the mesh has 'x', 'y')") != NULL,
        "message: %s", tess_error_message());
  tess_error_clear();
  CHECK(tess_shardspec_make(mesh, 2, ok, &spec) == TESS_OK && spec.axis[0] == 0
            && spec.axis[1] == TESS_REPLICATED, "spec (x, replicated)");
  int64_t shape[2] = {5, -1};
  CHECK(tess_array_create(mesh, TESS_F64, 2, shape, &spec, TESS_MEM_HOST, &a) == TESS_ERR_ARG,
        "negative length accepted");
  CHECK(strstr(tess_error_message(), "dimension 1 has negative length -1") != NULL, "message: %s",
        tess_error_message());
  tess_error_clear();
  shape[1] = 3;
  if (!tess_device_available()) {
    CHECK(tess_array_create(mesh, TESS_F64, 2, shape, &spec, TESS_MEM_DEVICE, &a)
              == TESS_ERR_UNSUPPORTED, "device array without a GPU backend");
  } else {   /* a GPU build on a GPU host: device arrays exist, host-only calls refuse them */
    CHECK(tess_array_create(mesh, TESS_F64, 2, shape, &spec, TESS_MEM_DEVICE, &a) == TESS_OK,
          "device array with a GPU");
    tess_array_destroy(&a);
  }
  tess_error_clear();
  if (tess_array_create(mesh, TESS_F64, 2, shape, &spec, TESS_MEM_HOST, &a) == TESS_OK) {
    tess_shardspec_t other = spec;
    other.axis[0] = TESS_REPLICATED;
    if (tess_array_create_like(a, &other, &b) == TESS_OK) {
      CHECK(tess_array_copy(b, a) == TESS_ERR_SHAPE, "copy across specs accepted");
      tess_error_clear();
      /* A NULL buffer on the root fails on every rank (none is left waiting). */
      double dummy[15];
      CHECK(tess_array_gather(a, nranks - 1, tess_mesh_rank(mesh) == nranks - 1 ? NULL : dummy)
                == TESS_ERR_ARG && strstr(tess_error_message(), "NULL global buffer on the root "
                "rank"), "gather into NULL: %s", tess_error_message());
      tess_error_clear();
    }
  }
  tess_array_destroy(&a);
  tess_array_destroy(&b);
  tess_mesh_destroy(&mesh);
}

static void memcpy_stream_truth(void)
{
  unsigned char src[512], dst[600], want[600];
  for (int i = 0; i < 512; i++) src[i] = (unsigned char)(i * 37 + 11);
  for (int off = 0; off < 20; off++)
    for (int soff = 0; soff < 3; soff++)
      for (size_t n = 0; n <= 300; n += n < 40 ? 1 : 7) {
        memset(dst, 0xA5, sizeof dst);
        memset(want, 0xA5, sizeof want);
        memcpy(want + off, src + soff, n);
        tess_memcpy_stream(dst + off, src + soff, n);
        tess_stream_fence();
        CHECK(memcmp(dst, want, sizeof dst) == 0, "tess_memcpy_stream: dst+%d src+%d n %zu", off,
              soff, n);
      }
}

/* The VmFlags line of the mapping that holds p: 1 if it has `flag`, 0 if
 * not, -1 if /proc/self/smaps cannot tell. */
static int vm_flag(const void *p, const char *flag)
{
  FILE *f = fopen("/proc/self/smaps", "r");
  char line[512];
  int in = 0, r = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
      in = (uintptr_t)p >= lo && (uintptr_t)p < hi;
    else if (in && strncmp(line, "VmFlags:", 8) == 0) {
      char want[8];
      snprintf(want, sizeof want, " %s", flag);
      r = 0;
      for (char *q = strstr(line, want); q; q = strstr(q + 1, want))
        if (q[strlen(want)] == ' ' || q[strlen(want)] == '\n') r = 1;
      break;
    }
  }
  fclose(f);
  return r;
}

static void host_blocks_truth(void)
{
  const size_t big = (size_t)16 << 20;
  void *p = NULL;
  CHECK(tess_malloc(TESS_MEM_HOST, 1000, &p) == TESS_OK && (uintptr_t)p % TESS_ALIGN == 0,
        "small host block not %d-byte aligned", TESS_ALIGN);
  tess_free(TESS_MEM_HOST, &p);
  for (int off = 0; off < 2; off++) {
    if (off) setenv("TESS_HUGEPAGES", "0", 1);
    CHECK(tess_malloc(TESS_MEM_HOST, big, &p) == TESS_OK, "16 MiB host block");
    if (!p) continue;
    memset(p, 1, big);
    if (!off) CHECK((uintptr_t)p % ((uintptr_t)2 << 20) == 0, "16 MiB block not 2 MiB aligned");
    int hg = vm_flag(p, "hg");
    if (hg < 0) printf("array: /proc/self/smaps has no VmFlags here; huge-page hint not checked\n");
    else CHECK(hg == !off, "16 MiB block %s the huge-page hint (TESS_HUGEPAGES%s)",
               hg ? "has" : "lacks", off ? "=0" : " unset");
    tess_free(TESS_MEM_HOST, &p);
  }
  unsetenv("TESS_HUGEPAGES");
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  int nranks, rank;
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int trials = argc > 1 ? atoi(argv[1]) : 100;
  uint64_t s = (argc > 2 ? strtoull(argv[2], NULL, 10) : 7u) * 1000 + (uint64_t)nranks;
  block_range_truth();
  memcpy_stream_truth();
  host_blocks_truth();
  errors(nranks);
  for (int i = 0; i < trials; i++) run_trial(&s, i, nranks, rank);
  int rc = tess_test_finish("array");
  MPI_Finalize();
  return rc;
}

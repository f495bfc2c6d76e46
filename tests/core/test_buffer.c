/* tests/core/test_buffer.c: arrays over caller memory, explicit partitions,
 * pinned host memory and the host-only guard, against directly computed truth
 * (core_testlib.h's formula at each global index).
 *  - borrowed: an array wrapping the caller's buffer sees the caller's bytes
 *    (fill, gather, reshard in and out of it), destroy leaves the buffer alone
 *    (still readable and freed here; ASan flags a double free), too small a
 *    buffer and NULL data are refused;
 *  - partitions: for random meshes, shapes and partitions (empty blocks
 *    included), the local blocks tile the array as the lengths say; reshard
 *    block -> explicit -> explicit' -> block keeps every element, gather of the
 *    partitioned array equals the global array computed directly, plans and
 *    copies refuse a different partition, bad partitions are refused;
 *  - checkpoints: a partitioned array written and read back into a block-rule
 *    array and a differently partitioned one holds the formula everywhere;
 *  - uninitialized create gives a usable array; pinned host arrays fill,
 *    reshard to and from host arrays and gather like host arrays;
 *  - memory spaces: the encoding of device n (kind, index, name, validity),
 *    pinned host memory allocated, set, copied to and from host memory and
 *    freed; device memory without a GPU refused with a NULL pointer;
 *  - guard: a borrowed "device" array (pointer never dereferenced) makes
 *    fill, gather, scatter, sum and reshard fail with TESS_ERR_UNSUPPORTED
 *    naming the function; a device array without a GPU fails to create and
 *    leaves NULL.
 * Usage: test_buffer [trials] [seed] */
#include "core_testlib.h"
#include "tess_test.h"
#include "tess_test_guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/checkpoint.h>
#include <tessera/comm.h>
#include <tessera/reduce.h>
#include <tessera/reshard.h>

static const int64_t sizes_pool[] = {1, 2, 3, 5, 7, 11, 13, 4, 9, 0};

/* Random lengths >= 0 summing to n, one per part. */
static void random_partition(uint64_t *s, int64_t n, int p, int64_t *len)
{
  int64_t left = n;
  for (int c = 0; c < p - 1; c++) {
    len[c] = ct_rand(s, 3) == 0 ? 0 : (int64_t)(ct_splitmix(s) % (uint64_t)(left + 1));
    left -= len[c];
  }
  len[p - 1] = left;
}

static void random_opts(uint64_t *s, tess_mesh_t *mesh, int ndim, const int64_t shape[],
                        const tess_shardspec_t *spec, int64_t lens[][8], tess_array_opts_t *o)
{
  memset(o, 0, sizeof *o);
  for (int d = 0; d < ndim; d++) {
    if (spec->axis[d] == TESS_REPLICATED || ct_rand(s, 4) == 0) continue;
    random_partition(s, shape[d], tess_mesh_axis_size(mesh, spec->axis[d]), lens[d]);
    o->partition[d] = lens[d];
  }
}

static void partition_trial(uint64_t *s, int nranks, int rank)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *blk = NULL, *ex = NULL, *ex2 = NULL, *back = NULL;
  tess_reshard_t *plan = NULL;
  const char *names[] = {"a", "b", "c"};
  int msizes[3], naxes = ct_random_mesh(s, nranks, msizes);
  int ndim = 1 + ct_rand(s, 3);
  tess_dtype_t t = (tess_dtype_t)ct_rand(s, TESS_NDTYPES);
  ct_fill_t f = {.t = t, .ndim = ndim, .salt = ct_splitmix(s)};
  tess_shardspec_t spec, spec2;
  int64_t lens[TESS_MAX_NDIM][8], lens2[TESS_MAX_NDIM][8], total = 1;
  tess_array_opts_t o, o2;
  char *truth = NULL, *got = NULL;
  size_t es = tess_dtype_size(t);
  for (int d = 0; d < ndim; d++) {
    f.shape[d] = sizes_pool[ct_rand(s, 10)] * (1 + ct_rand(s, 3));
    total *= f.shape[d];
  }
  ct_random_spec(s, ndim, naxes, &spec);
  ct_random_spec(s, ndim, naxes, &spec2);
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, naxes, names, msizes, &mesh));
  random_opts(s, mesh, ndim, f.shape, &spec, lens, &o);
  random_opts(s, mesh, ndim, f.shape, &spec2, lens2, &o2);
  o2.uninitialized = 1;
  TESS_CHECK(tess_array_create(mesh, t, ndim, f.shape, &spec, TESS_MEM_HOST, &blk));
  TESS_CHECK(tess_array_fill(blk, ct_fill_fn, &f));
  TESS_CHECK(tess_array_create_ex(mesh, t, ndim, f.shape, &spec, TESS_MEM_HOST, &o, &ex));
  TESS_CHECK(tess_array_create_ex(mesh, t, ndim, f.shape, &spec2, TESS_MEM_HOST, &o2, &ex2));
  /* The local block is where the lengths put it. */
  {
    int64_t st[TESS_MAX_NDIM], sh[TESS_MAX_NDIM], plen[8];
    tess_array_local_start(ex, st);
    tess_array_local_shape(ex, sh);
    for (int d = 0; d < ndim; d++) {
      int ax = spec.axis[d];
      if (!o.partition[d]) continue;
      int64_t want = 0;
      for (int c = 0; c < tess_mesh_coord(mesh, ax); c++) want += lens[d][c];
      CHECK(st[d] == want && sh[d] == lens[d][tess_mesh_coord(mesh, ax)],
            "dim %d: block %lld+%lld, the partition says %lld+%lld", d, (long long)st[d],
            (long long)sh[d], (long long)want, (long long)lens[d][tess_mesh_coord(mesh, ax)]);
      tess_array_partition(ex, d, plen);
      for (int c = 0; c < tess_mesh_axis_size(mesh, ax); c++)
        CHECK(plen[c] == lens[d][c], "dim %d part %d: %lld, given %lld", d, c,
              (long long)plen[c], (long long)lens[d][c]);
    }
  }
  TESS_CHECK(tess_reshard(blk, ex));
  CHECK(ct_count_wrong(ex, f.salt) == 0, "block -> explicit: wrong elements");
  TESS_CHECK(tess_reshard(ex, ex2));
  CHECK(ct_count_wrong(ex2, f.salt) == 0, "explicit -> explicit': wrong elements");
  TESS_CHECK(tess_array_create(mesh, t, ndim, f.shape, &spec2, TESS_MEM_HOST, &back));
  TESS_CHECK(tess_reshard(ex2, back));
  CHECK(ct_count_wrong(back, f.salt) == 0, "explicit' -> block: wrong elements");
  /* gather of the partitioned array against the directly computed array */
  truth = malloc((size_t)total * es + 1);
  got = malloc((size_t)total * es + 1);
  TESS_REQUIRE(truth && got, TESS_ERR_MEM, "test buffers");
  for (int64_t l = 0; l < total; l++) ct_value(t, l, f.salt, truth + (size_t)l * es);
  TESS_CHECK(tess_array_gather(ex, 0, got));
  if (rank == 0) CHECK(memcmp(truth, got, (size_t)total * es) == 0, "gather of explicit");
  /* A plan for the block layout refuses the partitioned array unless the
   * partition happens to be the block rule. */
  TESS_CHECK(tess_reshard_create(blk, back, &plan));
  tess_err_t e = tess_reshard_execute(plan, ex, back);
  CHECK((e == TESS_OK) == tess_array_is_block(ex), "plan/partition mismatch gave %s",
        tess_err_name(e));
  tess_error_clear();
  if (!tess_array_is_block(ex)) {
    e = tess_array_copy(ex, blk);
    CHECK(e == TESS_ERR_SHAPE, "copy across partitions gave %s", tess_err_name(e));
    tess_error_clear();
  }
cleanup:
  CHECK(err == TESS_OK, "partition trial: %s", tess_error_message());
  tess_error_clear();
  free(truth);
  free(got);
  tess_reshard_destroy(&plan);
  tess_array_destroy(&blk);
  tess_array_destroy(&ex);
  tess_array_destroy(&ex2);
  tess_array_destroy(&back);
  tess_mesh_destroy(&mesh);
}

/* Bad partitions: wrong sum, negative length, a replicated dimension. */
static void partition_errors(int nranks)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *a = NULL;
  const char *names[] = {"x"};
  const char *dn[] = {"x", NULL};
  int sz[] = {nranks};
  int64_t shape[] = {10, 3}, bad[4] = {4, 4, 4, 4}, neg[4] = {-1, 11, 0, 0};
  tess_shardspec_t spec;
  tess_array_opts_t o = {0};
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, names, sz, &mesh));
  TESS_CHECK(tess_shardspec_make(mesh, 2, dn, &spec));
  o.partition[0] = bad;
  tess_err_t e = tess_array_create_ex(mesh, TESS_F64, 2, shape, &spec, TESS_MEM_HOST, &o, &a);
  CHECK(e == TESS_ERR_SHAPE && a == NULL, "partition summing to %d: %s", 4 * nranks,
        tess_err_name(e));
  tess_error_clear();
  if (nranks > 1) {   /* sums to 10 through a negative length */
    o.partition[0] = neg;
    e = tess_array_create_ex(mesh, TESS_F64, 2, shape, &spec, TESS_MEM_HOST, &o, &a);
    CHECK(e == TESS_ERR_ARG && a == NULL, "negative block length: %s", tess_err_name(e));
    tess_error_clear();
  }
  o.partition[0] = NULL;
  o.partition[1] = bad;
  e = tess_array_create_ex(mesh, TESS_F64, 2, shape, &spec, TESS_MEM_HOST, &o, &a);
  CHECK(e == TESS_ERR_ARG && a == NULL, "partition of a replicated dim: %s", tess_err_name(e));
  tess_error_clear();
cleanup:
  CHECK(err == TESS_OK, "partition errors: %s", tess_error_message());
  tess_error_clear();
  tess_array_destroy(&a);
  tess_mesh_destroy(&mesh);
}

/* Checkpoint blocks follow the partition, on write and on read. */
static void partition_checkpoint(int nranks)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *w = NULL, *rb = NULL, *rp = NULL;
  tess_checkpoint_t *ck = NULL;
  const char *names[] = {"x"};
  const char *dn[] = {"x", NULL};
  int sz[] = {nranks};
  int64_t shape[] = {11, 6}, lw[4] = {0}, lr[4] = {0};
  ct_fill_t f = {.t = TESS_F64, .ndim = 2, .shape = {11, 6}, .salt = 777};
  tess_shardspec_t spec;
  char path[64];
  /* writer: everything on the last rank but 1 row on rank 0; reader: the reverse */
  lw[0] = 1;
  lw[nranks - 1] += 10;
  lr[0] = 10;
  lr[nranks - 1] += 1;
  tess_array_opts_t ow = {.partition = {lw}}, orr = {.partition = {lr}};
  snprintf(path, sizeof path, "test_buffer_np%d.h5", nranks);
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, names, sz, &mesh));
  TESS_CHECK(tess_shardspec_make(mesh, 2, dn, &spec));
  TESS_CHECK(tess_array_create_ex(mesh, TESS_F64, 2, shape, &spec, TESS_MEM_HOST, &ow, &w));
  TESS_CHECK(tess_array_create(mesh, TESS_F64, 2, shape, &spec, TESS_MEM_HOST, &rb));
  TESS_CHECK(tess_array_create_ex(mesh, TESS_F64, 2, shape, &spec, TESS_MEM_HOST, &orr, &rp));
  TESS_CHECK(tess_array_fill(w, ct_fill_fn, &f));
  TESS_CHECK(tess_checkpoint_begin(MPI_COMM_WORLD, path, &ck));
  TESS_CHECK(tess_checkpoint_write_array(ck, "u", w));
  TESS_CHECK(tess_checkpoint_commit(&ck));
  TESS_CHECK(tess_checkpoint_open(MPI_COMM_WORLD, path, &ck));
  TESS_CHECK(tess_checkpoint_read_array(ck, "u", rb));
  TESS_CHECK(tess_checkpoint_read_array(ck, "u", rp));
  CHECK(ct_count_wrong(rb, f.salt) == 0, "checkpoint: partitioned -> block rule");
  CHECK(ct_count_wrong(rp, f.salt) == 0, "checkpoint: partitioned -> partitioned");
cleanup:
  CHECK(err == TESS_OK, "partition checkpoint: %s", tess_error_message());
  tess_error_clear();
  tess_checkpoint_close(&ck);
  tess_array_destroy(&w);
  tess_array_destroy(&rb);
  tess_array_destroy(&rp);
  tess_mesh_destroy(&mesh);
}

/* Borrowed memory, pinned host memory, uninitialized create. */
static void borrowed_and_pinned(int nranks, int rank)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *bor = NULL, *own = NULL, *pin = NULL, *bor2 = NULL;
  const char *names[] = {"x"};
  const char *dn[] = {"x", NULL};
  int sz[] = {nranks};
  int64_t shape[] = {17, 5}, lsh[2];
  ct_fill_t f = {.t = TESS_F64, .ndim = 2, .shape = {17, 5}, .salt = 12345};
  tess_shardspec_t spec, rep;
  double *mine = NULL, *mine2 = NULL, *truth = NULL, *got = NULL;
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, names, sz, &mesh));
  TESS_CHECK(tess_shardspec_make(mesh, 2, dn, &spec));
  TESS_CHECK(tess_shardspec_make(mesh, 2, NULL, &rep));
  /* Caller's memory laid out as the block rule says. */
  int64_t st, len;
  tess_block_range(17, nranks, rank, &st, &len);
  size_t n = (size_t)(len * 5);
  mine = malloc(n * sizeof *mine + 8);
  mine2 = malloc(17 * 5 * sizeof *mine2);
  TESS_REQUIRE(mine && mine2, TESS_ERR_MEM, "caller buffers");
  for (size_t i = 0; i < n; i++) mine[i] = -1.0;
  tess_err_t e = tess_array_create_with_data(mesh, TESS_F64, 2, shape, &spec, TESS_MEM_HOST, NULL,
                                             mine, n * sizeof *mine - (n ? 1 : 0), &bor);
  CHECK((n == 0) == (e == TESS_OK), "a buffer one byte short: %s", tess_err_name(e));
  tess_error_clear();
  tess_array_destroy(&bor);
  if (n) {
    e = tess_array_create_with_data(mesh, TESS_F64, 2, shape, &spec, TESS_MEM_HOST, NULL, NULL,
                                    n * sizeof *mine, &bor);
    CHECK(e == TESS_ERR_ARG && bor == NULL, "NULL data: %s", tess_err_name(e));
    tess_error_clear();
  }
  TESS_CHECK(tess_array_create_with_data(mesh, TESS_F64, 2, shape, &spec, TESS_MEM_HOST, NULL,
                                         mine, n * sizeof *mine, &bor));
  CHECK(tess_array_local_data(bor) == mine && !tess_array_owns_data(bor), "not borrowed");
  tess_array_local_shape(bor, lsh);
  CHECK(lsh[0] == len && lsh[1] == 5, "borrowed block %lldx%lld", (long long)lsh[0],
        (long long)lsh[1]);
  {
    tess_buffer_t b;
    tess_array_local_buffer(bor, &b);
    CHECK(b.data == mine && b.owned == 0 && b.ndim == 2 && b.strides[1] == 1 && b.strides[0] == 5
              && b.dtype == TESS_F64 && b.space == TESS_MEM_HOST && tess_buffer_is_contiguous(&b)
              && tess_buffer_bytes(&b) == n * sizeof(double),
          "buffer description");
  }
  /* The caller's writes are the array's values. */
  for (size_t i = 0; i < n; i++) {
    int64_t g[2];
    tess_array_global_index(bor, (int64_t)i, g);
    ct_value(TESS_F64, g[0] * 5 + g[1], f.salt, &mine[i]);
  }
  CHECK(ct_count_wrong(bor, f.salt) == 0, "borrowed values");
  /* Reshard out of and into caller memory (a replicated borrowed array). */
  for (int i = 0; i < 85; i++) mine2[i] = 0.0;
  TESS_CHECK(tess_array_create_with_data(mesh, TESS_F64, 2, shape, &rep, TESS_MEM_HOST, NULL,
                                         mine2, 85 * sizeof *mine2, &bor2));
  TESS_CHECK(tess_reshard(bor, bor2));
  truth = malloc(85 * sizeof *truth);
  got = malloc(85 * sizeof *got);
  TESS_REQUIRE(truth && got, TESS_ERR_MEM, "truth");
  for (int l = 0; l < 85; l++) ct_value(TESS_F64, l, f.salt, &truth[l]);
  CHECK(memcmp(mine2, truth, sizeof *truth * 85) == 0, "reshard into caller memory");
  /* Pinned host: fill, reshard from borrowed, gather. */
  TESS_CHECK(tess_array_create(mesh, TESS_F64, 2, shape, &spec, TESS_MEM_HOST_PINNED, &pin));
  CHECK(tess_array_memspace(pin) == TESS_MEM_HOST_PINNED, "pinned space");
  TESS_CHECK(tess_reshard(bor2, pin));
  CHECK(ct_count_wrong(pin, f.salt) == 0, "replicated -> pinned");
  TESS_CHECK(tess_array_gather(pin, 0, got));
  if (rank == 0) CHECK(memcmp(got, truth, sizeof *got * 85) == 0, "gather pinned");
  /* Uninitialized owned array, then a copy from the borrowed one. */
  tess_array_opts_t o = {.uninitialized = 1};
  TESS_CHECK(tess_array_create_ex(mesh, TESS_F64, 2, shape, &spec, TESS_MEM_HOST, &o, &own));
  CHECK(tess_array_owns_data(own), "owned");
  TESS_CHECK(tess_array_copy(own, bor));
  CHECK(ct_count_wrong(own, f.salt) == 0, "copy of borrowed");
  TESS_CHECK(tess_array_fill(pin, ct_fill_fn, &f));
  CHECK(ct_count_wrong(pin, f.salt) == 0, "fill pinned");
  /* destroy leaves the caller's memory alone: still there, freed below. */
  tess_array_destroy(&bor);
  tess_array_destroy(&bor2);
  CHECK(n == 0 || memcmp(mine, tess_array_local_data(own), n * sizeof *mine) == 0,
        "caller memory after destroy");
  for (int l = 0; l < 85; l++) CHECK(mine2[l] == truth[l], "caller memory %d after destroy", l);
cleanup:
  CHECK(err == TESS_OK, "borrowed/pinned: %s", tess_error_message());
  tess_error_clear();
  tess_array_destroy(&bor);
  tess_array_destroy(&bor2);
  tess_array_destroy(&own);
  tess_array_destroy(&pin);
  free(mine);
  free(mine2);
  free(truth);
  free(got);
  tess_mesh_destroy(&mesh);
}

static void memory_spaces(void)
{
  tess_memspace_t d3 = tess_memspace_device(3);
  CHECK(tess_memspace_kind(d3) == TESS_MEM_DEVICE && tess_memspace_device_index(d3) == 3
            && !tess_memspace_is_host(d3) && tess_memspace_valid(d3)
            && strcmp(tess_memspace_name(d3), "device 3") == 0, "device 3: %s",
        tess_memspace_name(d3));
  CHECK(tess_memspace_device(-1) == TESS_MEM_DEVICE && tess_memspace_device_index(TESS_MEM_DEVICE) == -1
            && strcmp(tess_memspace_name(TESS_MEM_DEVICE), "device") == 0, "current device");
  CHECK(tess_memspace_is_host(TESS_MEM_HOST_PINNED) && tess_memspace_valid(TESS_MEM_HOST_PINNED)
            && tess_memspace_device_index(TESS_MEM_HOST_PINNED) == -1
            && strcmp(tess_memspace_name(TESS_MEM_HOST_PINNED), "host_pinned") == 0, "pinned");
  CHECK(!tess_memspace_valid(7) && !tess_memspace_valid(-1) && !tess_memspace_valid(tess_memspace_device(4000))
            && strcmp(tess_memspace_name(7), "invalid") == 0, "invalid spaces accepted");
  /* pinned: allocate, set, copy both ways */
  unsigned char *pin = NULL, host[100];
  tess_err_t e = tess_malloc(TESS_MEM_HOST_PINNED, 100, (void **)&pin);
  CHECK(e == TESS_OK && pin != NULL, "pinned malloc: %s", tess_err_name(e));
  if (pin) {
    CHECK(tess_memset(TESS_MEM_HOST_PINNED, pin, 0xAB, 100) == TESS_OK && pin[99] == 0xAB,
          "pinned memset");
    for (int i = 0; i < 100; i++) host[i] = (unsigned char)i;
    CHECK(tess_memcpy(TESS_MEM_HOST_PINNED, pin, TESS_MEM_HOST, host, 100) == TESS_OK
              && memcmp(pin, host, 100) == 0, "host -> pinned");
    memset(host, 0, sizeof host);
    CHECK(tess_memcpy(TESS_MEM_HOST, host, TESS_MEM_HOST_PINNED, pin, 100) == TESS_OK
              && host[57] == 57, "pinned -> host");
    tess_free(TESS_MEM_HOST_PINNED, (void **)&pin);
    CHECK(pin == NULL, "tess_free leaves the pointer");
  }
  if (!tess_device_available()) {
    void *d = (void *)host;
    e = tess_malloc(TESS_MEM_DEVICE, 64, &d);
    CHECK(e == TESS_ERR_UNSUPPORTED && d == NULL, "device malloc without a GPU: %s",
          tess_err_name(e));
    CHECK(tess_device_count() == 0, "device count %d without a GPU", tess_device_count());
  }
  tess_error_clear();
}

/* 16-bit floats move (a bcast of bit patterns) but do not reduce. */
static void half_comm(int nranks, int rank)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  const char *names[] = {"x"};
  int sz[] = {nranks};
  uint16_t v[3] = {0, 0, 0};
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, names, sz, &mesh));
  if (rank == 0) {
    v[0] = tess_f32_to_bf16(1.5f);
    v[1] = 0x7C00;
    v[2] = 0x8001;
  }
  TESS_CHECK(tess_comm_bcast(mesh, TESS_AXES_ALL, v, 3, TESS_F16, 0, TESS_MEM_HOST, NULL));
  CHECK(v[0] == 0x3FC0 && v[1] == 0x7C00 && v[2] == 0x8001, "bcast of f16 patterns");
  tess_err_t e = tess_comm_allreduce(mesh, TESS_AXES_ALL, v, v, 3, TESS_BF16, TESS_OP_SUM,
                                     TESS_MEM_HOST, NULL);
  CHECK(e == TESS_ERR_ARG && tess_test_error_mentions("bf16"), "sum of bf16 data: %s", tess_err_name(e));
  tess_error_clear();
cleanup:
  CHECK(err == TESS_OK, "half comm: %s", tess_error_message());
  tess_error_clear();
  tess_mesh_destroy(&mesh);
}

/* The host-only guard, on a device array that never is dereferenced. */
static void device_guard(int nranks)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *dev = NULL, *host = NULL, *made = NULL;
  tess_reshard_t *plan = NULL;
  const char *names[] = {"x"};
  const char *dn[] = {"x"};
  int sz[] = {nranks};
  int64_t shape[] = {12};
  tess_shardspec_t spec;
  double sum = 0, global[12] = {0};
  ct_fill_t f = {.t = TESS_F64, .ndim = 1, .shape = {12}, .salt = 1};
  /* Aligned and never valid: the guard must stop every host access. */
  void *fake = (void *)(uintptr_t)0x40;
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, names, sz, &mesh));
  TESS_CHECK(tess_shardspec_make(mesh, 1, dn, &spec));
  TESS_CHECK(tess_array_create_with_data(mesh, TESS_F64, 1, shape, &spec, tess_memspace_device(0),
                                         NULL, fake, 12 * sizeof(double), &dev));
  TESS_CHECK(tess_array_create(mesh, TESS_F64, 1, shape, &spec, TESS_MEM_HOST, &host));
  CHECK(tess_array_memspace(dev) == tess_memspace_device(0), "device space kept");
  tess_test_expect_unsupported(tess_array_fill(dev, ct_fill_fn, &f), "tess_array_fill");
  if (!tess_device_available()) {
    /* Device paths (gather/scatter stage through the host, sums run the GPU
     * kernel) need a GPU: without one they refuse before touching memory.
     * With one, the fake pointer would be read: see the real array below. */
    tess_test_expect_unsupported(tess_array_gather(dev, 0, global), "tess_array_gather");
    tess_test_expect_unsupported(tess_array_scatter(dev, 0, global), "tess_array_scatter");
    tess_test_expect_unsupported(tess_array_sum(dev, &sum), "tess_array_sum");
  }
  tess_err_t e = tess_reshard_create(dev, host, &plan);
  CHECK(e != TESS_OK && plan == NULL, "reshard device -> host planned");
  tess_error_clear();
  if (!tess_device_available()) {
    /* No GPU: a device array cannot be made, and nothing leaks. */
    e = tess_array_create(mesh, TESS_F64, 1, shape, &spec, TESS_MEM_DEVICE, &made);
    CHECK(e != TESS_OK && made == NULL, "device array without a GPU: %s", tess_err_name(e));
    tess_error_clear();
    e = tess_array_copy(host, dev);
    CHECK(e != TESS_OK, "device -> host copy without a GPU succeeded");
    tess_error_clear();
  }
  if (tess_device_available()) {
    /* A GPU: a real device array, host -> device -> host through copies,
     * and the guard on it as on the borrowed one. */
    tess_array_t *h2 = NULL;
    TESS_CHECK(tess_array_fill(host, ct_fill_fn, &f));
    TESS_CHECK(tess_array_create(mesh, TESS_F64, 1, shape, &spec, TESS_MEM_DEVICE, &made));
    TESS_CHECK(tess_array_create_like(host, NULL, &h2));
    TESS_CHECK(tess_array_copy(made, host));
    e = tess_array_copy(h2, made);
    CHECK(e == TESS_OK && ct_count_wrong(h2, f.salt) == 0, "host -> device -> host: %s",
          tess_err_name(e));
    tess_array_destroy(&h2);
    tess_error_clear();
    tess_test_expect_unsupported(tess_array_fill(made, ct_fill_fn, &f), "tess_array_fill");
    /* sums and gathers of device arrays run (staged or on the GPU): same bits */
    double hsum = 1, hglobal[12] = {0};
    TESS_CHECK(tess_array_sum(host, &hsum));
    TESS_CHECK(tess_array_sum(made, &sum));
    CHECK(memcmp(&sum, &hsum, sizeof sum) == 0, "device array sum %a, host %a", sum, hsum);
    TESS_CHECK(tess_array_gather(host, 0, hglobal));
    TESS_CHECK(tess_array_gather(made, 0, global));
    CHECK(memcmp(global, hglobal, sizeof global) == 0, "device gather differs from host gather");
  }
  /* destroy does not free the borrowed pointer (it would crash). */
  tess_array_destroy(&dev);
cleanup:
  CHECK(err == TESS_OK, "device guard: %s", tess_error_message());
  tess_error_clear();
  tess_reshard_destroy(&plan);
  tess_array_destroy(&dev);
  tess_array_destroy(&host);
  tess_array_destroy(&made);
  tess_mesh_destroy(&mesh);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  int nranks, rank;
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  int trials = argc > 1 ? atoi(argv[1]) : 60;
  uint64_t s = (argc > 2 ? strtoull(argv[2], NULL, 10) : 11u) * 1000 + (uint64_t)nranks;
  partition_errors(nranks);
  partition_checkpoint(nranks);
  borrowed_and_pinned(nranks, rank);
  if (rank == 0)   /* which branch of the device checks ran */
    printf("buffer: device backend %s, %d GPU(s) visible\n", tess_device_backend_name(),
           tess_device_count());
  memory_spaces();
  half_comm(nranks, rank);
  device_guard(nranks);
  for (int i = 0; i < trials; i++) partition_trial(&s, nranks, rank);
  int rc = tess_test_finish("buffer");
  MPI_Finalize();
  return rc;
}

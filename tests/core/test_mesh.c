/* tests/core/test_mesh.c: meshes and the collectives over their axes.
 * Truth is arithmetic: with axis 0 slowest and no reordering, the world
 * rank of a process is the row-major index of its coordinates, so the test
 * computes coordinates, axis communicator sizes/ranks and the members of
 * each axis subset itself and compares. Collectives are checked with
 * integer data whose result is known in closed form. Bad shapes must fail
 * with messages that name the numbers. */
#include "core_testlib.h"
#include "tess_test.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

static int world_rank, world_size;

static void expect_coords(const int sizes[], int naxes, int r, int c[])
{
  for (int i = naxes - 1; i >= 0; i--) { c[i] = r % sizes[i]; r /= sizes[i]; }
}

/* World rank of the process with coordinates c. */
static int rank_of(const int sizes[], int naxes, const int c[])
{
  int r = 0;
  for (int i = 0; i < naxes; i++) r = r * sizes[i] + c[i];
  return r;
}

static void check_collectives(tess_mesh_t *m, const int sizes[], int naxes, const char *what)
{
  tess_err_t err = TESS_OK;
  int me[TESS_MESH_MAX_AXES];
  int64_t *buf = NULL, *out = NULL;
  size_t *cnt = NULL, *dsp = NULL;
  expect_coords(sizes, naxes, world_rank, me);
  for (unsigned mask = 0; mask < (1u << naxes); mask++) {
    /* Members of my subset, in subset-rank order (row-major over the axes in mask). */
    int n = 1, members[64], nm = 0;
    for (int i = 0; i < naxes; i++) if (mask >> i & 1u) n *= sizes[i];
    for (int k = 0; k < n; k++) {
      int c[TESS_MESH_MAX_AXES], rem = k;
      for (int i = naxes - 1; i >= 0; i--) {
        if (mask >> i & 1u) { c[i] = rem % sizes[i]; rem /= sizes[i]; }
        else c[i] = me[i];
      }
      members[nm++] = rank_of(sizes, naxes, c);
    }
    int myidx = -1;
    for (int k = 0; k < n; k++) if (members[k] == world_rank) myidx = k;
    MPI_Comm sc;
    TESS_CHECK(tess_mesh_subset_comm(m, mask, &sc));
    int ss, sr;
    MPI_Comm_size(sc, &ss);
    MPI_Comm_rank(sc, &sr);
    CHECK(ss == n && sr == myidx, "%s mask %u: subset comm %d/%d, expected %d/%d", what, mask,
          sr, ss, myidx, n);

    free(buf); free(out); free(cnt); free(dsp);
    buf = calloc((size_t)(4 * n + 4), sizeof *buf);
    out = calloc((size_t)(4 * n + 4) * (size_t)n, sizeof *out);
    cnt = calloc((size_t)n, sizeof *cnt);
    dsp = calloc((size_t)n, sizeof *dsp);
    /* allreduce: sum, max and min of world ranks over the subset. */
    int64_t sum = 0, mx = 0, mn = world_size;
    for (int k = 0; k < n; k++) {
      sum += members[k];
      if (members[k] > mx) mx = members[k];
      if (members[k] < mn) mn = members[k];
    }
    buf[0] = world_rank;
    TESS_CHECK(tess_comm_allreduce(m, mask, buf, out, 1, TESS_I64, TESS_OP_SUM, TESS_MEM_HOST, NULL));
    CHECK(out[0] == sum, "%s mask %u: allreduce sum %lld, expected %lld", what, mask,
          (long long)out[0], (long long)sum);
    buf[0] = world_rank;
    TESS_CHECK(tess_comm_allreduce(m, mask, buf, buf, 1, TESS_I64, TESS_OP_MAX, TESS_MEM_HOST, NULL));
    CHECK(buf[0] == mx, "%s mask %u: in-place allreduce max", what, mask);
    buf[0] = world_rank;
    TESS_CHECK(tess_comm_allreduce(m, mask, buf, out, 1, TESS_I64, TESS_OP_MIN, TESS_MEM_HOST, NULL));
    CHECK(out[0] == mn, "%s mask %u: allreduce min", what, mask);
    /* bcast from the last subset rank. */
    buf[0] = world_rank * 10 + 3;
    TESS_CHECK(tess_comm_bcast(m, mask, buf, 1, TESS_I64, n - 1, TESS_MEM_HOST, NULL));
    CHECK(buf[0] == members[n - 1] * 10 + 3, "%s mask %u: bcast", what, mask);
    /* allgather: everyone's world rank, in subset order. */
    buf[0] = world_rank;
    TESS_CHECK(tess_comm_allgather(m, mask, buf, 1, out, TESS_I64, TESS_MEM_HOST, NULL));
    for (int k = 0; k < n; k++)
      CHECK(out[k] == members[k], "%s mask %u: allgather[%d] = %lld, expected %d", what, mask, k,
            (long long)out[k], members[k]);
    /* allgatherv: subset rank k sends k+1 copies of its world rank. */
    size_t off = 0;
    for (int k = 0; k < n; k++) { cnt[k] = (size_t)k + 1; dsp[k] = off; off += cnt[k]; }
    for (int j = 0; j <= myidx; j++) buf[j] = world_rank;
    TESS_CHECK(tess_comm_allgatherv(m, mask, buf, (size_t)myidx + 1, out, cnt, dsp, TESS_I64,
                                    TESS_MEM_HOST, NULL));
    for (int k = 0; k < n; k++)
      for (size_t j = 0; j < cnt[k]; j++)
        CHECK(out[dsp[k] + j] == members[k], "%s mask %u: allgatherv", what, mask);
    /* alltoall: element for k is 1000*me + k. */
    for (int k = 0; k < n; k++) buf[k] = 1000 * world_rank + k;
    TESS_CHECK(tess_comm_alltoall(m, mask, buf, out, 1, TESS_I64, TESS_MEM_HOST, NULL));
    for (int k = 0; k < n; k++)
      CHECK(out[k] == 1000 * members[k] + myidx, "%s mask %u: alltoall", what, mask);
    /* alltoallv: k sends (k + j) % 3 elements to j. */
    size_t sc_[64], sd_[64], rc_[64], rd_[64], so = 0, ro = 0;
    for (int k = 0; k < n; k++) {
      sc_[k] = (size_t)((myidx + k) % 3); sd_[k] = so; so += sc_[k];
      rc_[k] = (size_t)((k + myidx) % 3); rd_[k] = ro; ro += rc_[k];
      for (size_t j = 0; j < sc_[k]; j++) buf[sd_[k] + j] = 100 * world_rank + k;
    }
    TESS_CHECK(tess_comm_alltoallv(m, mask, buf, sc_, sd_, out, rc_, rd_, TESS_I64, TESS_MEM_HOST, NULL));
    for (int k = 0; k < n; k++)
      for (size_t j = 0; j < rc_[k]; j++)
        CHECK(out[rd_[k] + j] == 100 * members[k] + myidx, "%s mask %u: alltoallv", what, mask);
    /* alltoallw: to k, two elements at stride 2 (a vector type) from a
     * 4-element slot; received contiguously. Displacements in bytes. */
    {
      size_t wsc[64], wsd[64], wrc[64], wrd[64];
      MPI_Datatype st[64], rt[64], vec;
      MPI_Type_vector(2, 1, 2, MPI_INT64_T, &vec);
      MPI_Type_commit(&vec);
      for (int k = 0; k < n; k++) {
        wsc[k] = 1; wsd[k] = (size_t)k * 4 * sizeof *buf; st[k] = vec;
        wrc[k] = 2; wrd[k] = (size_t)k * 2 * sizeof *out; rt[k] = MPI_INT64_T;
        for (int j = 0; j < 4; j++) buf[4 * k + j] = j % 2 ? -1 : 10000 * world_rank + 10 * k + j / 2;
      }
      err = tess_comm_alltoallw(m, mask, buf, wsc, wsd, st, out, wrc, wrd, rt, TESS_MEM_HOST, NULL);
      MPI_Type_free(&vec);
      TESS_CHECK(err);
      for (int k = 0; k < n; k++)
        for (int j = 0; j < 2; j++)
          CHECK(out[2 * k + j] == 10000 * members[k] + 10 * myidx + j, "%s mask %u: alltoallw",
                what, mask);
    }
    /* reduce_scatter: block k of the sum of (rank + k) over the subset. */
    for (int k = 0; k < n; k++) { buf[2 * k] = world_rank + k; buf[2 * k + 1] = 1; }
    TESS_CHECK(tess_comm_reduce_scatter(m, mask, buf, out, 2, TESS_I64, TESS_OP_SUM,
                                        TESS_MEM_HOST, NULL));
    CHECK(out[0] == sum + (int64_t)n * myidx && out[1] == n, "%s mask %u: reduce_scatter", what,
          mask);
    /* non-blocking alltoallv, and a planned one started blocking and not */
    for (int k = 0; k < n; k++) {
      sc_[k] = (size_t)((myidx + k) % 3 + 1); rc_[k] = (size_t)((k + myidx) % 3 + 1);
    }
    so = ro = 0;
    for (int k = 0; k < n; k++) {
      sd_[k] = so; so += sc_[k];
      rd_[k] = ro; ro += rc_[k];
      for (size_t j = 0; j < sc_[k]; j++) buf[sd_[k] + j] = 7 * world_rank + 1000 * k + (int64_t)j;
    }
    for (int variant = 0; variant < 3; variant++) {
      tess_comm_request_t rq = TESS_COMM_REQUEST_NULL;
      tess_comm_a2a_t *pl = NULL;
      memset(out, 0xff, sizeof *out * ro);
      if (variant == 0) {
        TESS_CHECK(tess_comm_ialltoallv(m, mask, buf, sc_, sd_, out, rc_, rd_, TESS_I64,
                                        TESS_MEM_HOST, NULL, &rq));
        CHECK(rq.backend != NULL, "%s mask %u: ialltoallv left no pending request", what, mask);
        TESS_CHECK(tess_comm_wait(&rq));
      } else {
        TESS_CHECK(tess_comm_alltoallv_plan(m, mask, sc_, sd_, rc_, rd_, TESS_I64, TESS_MEM_HOST,
                                            &pl));
        err = tess_comm_a2a_start(pl, buf, out, NULL, variant == 2 ? &rq : NULL);
        if (err == TESS_OK) err = tess_comm_wait(&rq);
        tess_comm_a2a_destroy(&pl);
        TESS_CHECK(err);
      }
      CHECK(rq.backend == NULL && rq.mpi == MPI_REQUEST_NULL, "%s mask %u: request not reset",
            what, mask);
      for (int k = 0; k < n; k++)
        for (size_t j = 0; j < rc_[k]; j++)
          CHECK(out[rd_[k] + j] == 7 * members[k] + 1000 * myidx + (int64_t)j,
                "%s mask %u: alltoallv variant %d, from %d element %zu", what, mask, variant, k,
                j);
    }
    /* point-to-point ring: send to the next subset rank, receive from the
     * previous; waitany returns each request once, then -1 */
    {
      tess_comm_request_t rq[2];
      int nxt = (myidx + 1) % n, prv = (myidx + n - 1) % n, idx = 0, seen = 0;
      buf[0] = 31 * world_rank + 5;
      out[0] = -1;
      TESS_CHECK(tess_comm_irecv(m, mask, out, 1, TESS_I64, prv, 9, TESS_MEM_HOST, NULL, &rq[0]));
      TESS_CHECK(tess_comm_isend(m, mask, buf, 1, TESS_I64, nxt, 9, TESS_MEM_HOST, NULL, &rq[1]));
      for (int w = 0; w < 2; w++) {
        TESS_CHECK(tess_comm_waitany(2, rq, &idx));
        CHECK(idx == 0 || idx == 1, "%s mask %u: waitany index %d", what, mask, idx);
        if (idx >= 0) seen |= 1 << idx;
      }
      TESS_CHECK(tess_comm_waitany(2, rq, &idx));
      CHECK(seen == 3 && idx == -1, "%s mask %u: waitany saw %d, then %d", what, mask, seen, idx);
      CHECK(out[0] == 31 * members[prv] + 5, "%s mask %u: ring received %lld", what, mask,
            (long long)out[0]);
      TESS_CHECK(tess_comm_irecv(m, mask, out, 1, TESS_I64, prv, 10, TESS_MEM_HOST, NULL, &rq[0]));
      TESS_CHECK(tess_comm_isend(m, mask, buf, 1, TESS_I64, nxt, 10, TESS_MEM_HOST, NULL, &rq[1]));
      TESS_CHECK(tess_comm_waitall(2, rq));
      CHECK(rq[0].backend == NULL && rq[1].backend == NULL, "%s mask %u: waitall", what, mask);
    }
    /* gatherv to the last subset rank, scatterv back: k holds k+1 elements */
    {
      int root = n - 1;
      size_t gc[64], gd[64], tot = 0;
      for (int k = 0; k < n; k++) { gc[k] = (size_t)k + 1; gd[k] = tot; tot += gc[k]; }
      for (int j = 0; j <= myidx; j++) buf[j] = 100 * world_rank + j;
      TESS_CHECK(tess_comm_gatherv(m, mask, buf, (size_t)myidx + 1, out, gc, gd, TESS_I64, root,
                                   TESS_MEM_HOST, NULL));
      if (myidx == root)
        for (int k = 0; k < n; k++)
          for (size_t j = 0; j < gc[k]; j++)
            CHECK(out[gd[k] + j] == 100 * members[k] + (int64_t)j, "%s mask %u: gatherv", what,
                  mask);
      if (myidx == root)
        for (size_t j = 0; j < tot; j++) out[j] = -out[j];
      memset(buf, 0, sizeof *buf * (size_t)(myidx + 1));
      TESS_CHECK(tess_comm_scatterv(m, mask, out, gc, gd, buf, (size_t)myidx + 1, TESS_I64, root,
                                    TESS_MEM_HOST, NULL));
      for (int j = 0; j <= myidx; j++)
        CHECK(buf[j] == -(100 * world_rank + j), "%s mask %u: scatterv", what, mask);
    }
    /* bitwise / logical or */
    {
      int32_t bits = 1 << (myidx % 31), any = myidx == n - 1;
      TESS_CHECK(tess_comm_allreduce(m, mask, &bits, &bits, 1, TESS_I32, TESS_OP_BOR,
                                     TESS_MEM_HOST, NULL));
      TESS_CHECK(tess_comm_allreduce(m, mask, &any, &any, 1, TESS_I32, TESS_OP_LOR,
                                     TESS_MEM_HOST, NULL));
      int32_t want = 0;
      for (int k = 0; k < n; k++) want |= 1 << (k % 31);
      CHECK(bits == want && any == 1, "%s mask %u: BOR %d (expected %d), LOR %d", what, mask,
            bits, want, any);
    }
  }
  /* Device buffers without a GPU backend: a clear refusal. Counts beyond
   * MPI's int are refused before any buffer is touched. */
  {
    int64_t x = 1;
    CHECK(tess_comm_allreduce(m, 1u, &x, &x, (size_t)INT_MAX + 1, TESS_I64, TESS_OP_SUM,
                              TESS_MEM_HOST, NULL) == TESS_ERR_ARG
              && strstr(tess_error_message(), "allreduce count 2147483648 exceeds the MPI limit"),
          "count overflow: %s", tess_error_message());
    tess_error_clear();
    CHECK(tess_comm_allreduce(m, 1u, &x, &x, 1, TESS_I64, TESS_OP_SUM, TESS_MEM_DEVICE, NULL)
              == TESS_ERR_UNSUPPORTED, "device collective accepted");
    CHECK(strstr(tess_error_message(), "device memory") != NULL, "message: %s",
          tess_error_message());
    tess_error_clear();
    /* alltoallw's argument errors: in place, NULL arrays, a count past int */
    size_t one[64], zero[64], big[64];
    MPI_Datatype ty[64];
    for (int k = 0; k < 64; k++) { one[k] = 1; zero[k] = 0; big[k] = (size_t)INT_MAX + 1; ty[k] = MPI_INT64_T; }
    CHECK(tess_comm_alltoallw(m, 1u, buf, one, zero, ty, buf, one, zero, ty, TESS_MEM_HOST, NULL)
              == TESS_ERR_ARG && strstr(tess_error_message(), "cannot run in place"),
          "alltoallw in place: %s", tess_error_message());
    tess_error_clear();
    CHECK(tess_comm_alltoallw(m, 1u, buf, one, zero, NULL, out, one, zero, ty, TESS_MEM_HOST, NULL)
              == TESS_ERR_ARG && strstr(tess_error_message(), "NULL counts, displacements or datatypes"),
          "alltoallw NULL types: %s", tess_error_message());
    tess_error_clear();
    CHECK(tess_comm_alltoallw(m, 1u, buf, big, zero, ty, out, one, zero, ty, TESS_MEM_HOST, NULL)
              == TESS_ERR_ARG && strstr(tess_error_message(), "alltoallw send count 2147483648"),
          "alltoallw count overflow: %s", tess_error_message());
    tess_error_clear();
    CHECK(tess_comm_alltoallw(m, 1u, buf, one, zero, ty, out, one, zero, ty, TESS_MEM_DEVICE, NULL)
              == TESS_ERR_UNSUPPORTED, "alltoallw on device memory accepted: %s",
          tess_error_message());
    tess_error_clear();
  }
cleanup:
  if (err) { tess_error_print(stderr); tess_error_clear(); tess_test_failures++; }
  free(buf); free(out); free(cnt); free(dsp);
}

/* Build a mesh and check everything the mesh says about itself. */
static void check_shape(int naxes, const char *const names[], const int req[])
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *m = NULL;
  int sizes[TESS_MESH_MAX_AXES], prod = 1, infer = -1, c[TESS_MESH_MAX_AXES];
  char what[128];
  int off = snprintf(what, sizeof what, "mesh");
  for (int i = 0; i < naxes; i++) {
    sizes[i] = req[i];
    off += snprintf(what + off, sizeof what - (size_t)off, " %s:%d", names[i], req[i]);
    if (req[i] == 0) infer = i; else prod *= req[i];
  }
  if (infer >= 0) sizes[infer] = world_size / prod;
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, naxes, names, req, &m));
  expect_coords(sizes, naxes, world_rank, c);
  CHECK(tess_mesh_naxes(m) == naxes && tess_mesh_size(m) == world_size
            && tess_mesh_rank(m) == world_rank, "%s: naxes/size/rank", what);
  for (int i = 0; i < naxes; i++) {
    int ax, s, r;
    CHECK(strcmp(tess_mesh_axis_name(m, i), names[i]) == 0, "%s: name %d", what, i);
    CHECK(tess_mesh_axis_size(m, i) == sizes[i], "%s: axis %d size %d, expected %d", what, i,
          tess_mesh_axis_size(m, i), sizes[i]);
    CHECK(tess_mesh_coord(m, i) == c[i], "%s: coord %d = %d, expected %d", what, i,
          tess_mesh_coord(m, i), c[i]);
    CHECK(tess_mesh_axis_find(m, names[i], &ax) == TESS_OK && ax == i, "%s: find %s", what,
          names[i]);
    MPI_Comm_size(tess_mesh_axis_comm(m, i), &s);
    MPI_Comm_rank(tess_mesh_axis_comm(m, i), &r);
    CHECK(s == sizes[i] && r == c[i], "%s: axis comm %d is %d/%d, expected %d/%d", what, i, r, s,
          c[i], sizes[i]);
  }
  for (int r = 0; r < world_size; r++) {
    int got[TESS_MESH_MAX_AXES], want[TESS_MESH_MAX_AXES];
    expect_coords(sizes, naxes, r, want);
    tess_mesh_coords_of(m, r, got);
    CHECK(memcmp(got, want, sizeof(int) * (size_t)naxes) == 0 && tess_mesh_rank_of(m, want) == r,
          "%s: coords_of/rank_of %d", what, r);
  }
  CHECK(tess_mesh_device(m) == -1 || tess_device_available(), "%s: device without GPUs", what);
  CHECK(!tess_device_available() || tess_mesh_device(m) >= 0, "%s: GPUs visible but none bound",
        what);
  check_collectives(m, sizes, naxes, what);
cleanup:
  if (err) { tess_error_print(stderr); tess_error_clear(); tess_test_failures++; }
  tess_mesh_destroy(&m);
}

/* A bad mesh must fail with TESS_ERR_ARG and a message containing `want`. */
static void expect_bad(int naxes, const char *const names[], const int sizes[], const char *want)
{
  tess_mesh_t *m = NULL;
  tess_err_t e = tess_mesh_create(MPI_COMM_WORLD, naxes, names, sizes, &m);
  CHECK(e == TESS_ERR_ARG && m == NULL, "bad mesh accepted (expected '%s')", want);
  CHECK(strstr(tess_error_message(), want) != NULL, "message '%s' lacks '%s'",
        tess_error_message(), want);
  tess_error_clear();
  tess_mesh_destroy(&m);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  const char *x[] = {"x"}, *xy[] = {"x", "y"}, *xyz[] = {"x", "y", "z"};
  const char *ed[] = {"experts", "dp"};
  int n = world_size;
  check_shape(1, x, (int[]){n});
  check_shape(1, x, (int[]){TESS_MESH_INFER});
  check_shape(2, xy, (int[]){n, 1});
  check_shape(2, xy, (int[]){1, TESS_MESH_INFER});
  check_shape(3, xyz, (int[]){1, n, 1});
  if (n % 2 == 0) {
    check_shape(2, ed, (int[]){2, TESS_MESH_INFER});
    check_shape(2, ed, (int[]){TESS_MESH_INFER, 2});
    check_shape(3, xyz, (int[]){n / 2, 1, 2});
  }
  if (n == 4) check_shape(3, xyz, (int[]){2, TESS_MESH_INFER, 2});

  char want[160];
  snprintf(want, sizeof want, "mesh {x:2, y:3} needs 6 ranks (the product of the sizes), "
           "but the communicator has %d", n);
  expect_bad(2, xy, (int[]){2, 3}, want);
  snprintf(want, sizeof want, "mesh {x:%d} needs %d ranks", n + 1, n + 1);
  expect_bad(1, x, (int[]){n + 1}, want);
  snprintf(want, sizeof want, "cannot infer 'y': %d ranks are not a multiple of 5", n);
  expect_bad(3, xyz, (int[]){1, TESS_MESH_INFER, 5}, want);
  if (n == 4)
    expect_bad(2, xy, (int[]){TESS_MESH_INFER, 3}, "mesh {x:?, y:3}: cannot infer 'x': 4 ranks "
               "are not a multiple of 3 (the product of the other sizes)");
  expect_bad(2, xy, (int[]){TESS_MESH_INFER, TESS_MESH_INFER}, "at most one axis size may be "
             "inferred, but 'x' and 'y' both are");
  expect_bad(2, (const char *[]){"x", "x"}, (int[]){n, 1}, "mesh axis name 'x' is used twice");
  expect_bad(1, (const char *[]){"2d"}, (int[]){n}, "name '2d' is not an identifier");
  expect_bad(1, (const char *[]){""}, (int[]){n}, "name '' is not an identifier");
  expect_bad(1, x, (int[]){-2}, "axis 'x' has negative size -2");
  expect_bad(0, x, (int[]){n}, "a mesh has 1 to 8 axes, got 0");

  /* Unknown axis name and backend choice. */
  tess_mesh_t *m = NULL;
  if (tess_mesh_create(MPI_COMM_WORLD, 2, ed, (int[]){1, n}, &m) == TESS_OK) {
    int ax;
    CHECK(tess_mesh_axis_find(m, "tp", &ax) == TESS_ERR_ARG
              && strstr(tess_error_message(), "no mesh axis named 'tp' (the mesh has 'experts', "
                        "'dp')"), "axis_find message: %s", tess_error_message());
    tess_error_clear();
    CHECK(tess_mesh_comm_backend(m, TESS_MEM_HOST) == TESS_COMM_HOST_MPI, "host backend");
    CHECK(tess_mesh_comm_backend(m, TESS_MEM_DEVICE) == TESS_COMM_AUTO || tess_device_available(),
          "device backend without GPUs");
    CHECK(tess_mesh_set_comm_backend(m, TESS_COMM_NCCL) == TESS_ERR_UNSUPPORTED
              || tess_device_available(), "NCCL accepted in a host-only build");
    tess_error_clear();
    /* Automatic choice and overrides of the device backends: without GPUs
     * none runs, and the refusal names what is built and why it cannot run. */
    if (!tess_device_available()) {
      CHECK(tess_mesh_comm_backend(m, TESS_MEM_DEVICE) == TESS_COMM_AUTO, "device backend chosen");
      for (int b = TESS_COMM_CUDA_AWARE_MPI; b < TESS_COMM_NBACKENDS; b++) {
        CHECK(tess_mesh_set_comm_backend(m, (tess_comm_backend_t)b) == TESS_ERR_UNSUPPORTED,
              "%s accepted without GPUs", tess_comm_backend_name((tess_comm_backend_t)b));
        CHECK(strstr(tess_error_message(), "built: ") != NULL
                  || strstr(tess_error_message(), "not every rank of the mesh has a GPU") != NULL,
              "refusal of %s: %s", tess_comm_backend_name((tess_comm_backend_t)b),
              tess_error_message());
        tess_error_clear();
      }
    } else {
      tess_comm_backend_t d = tess_mesh_comm_backend(m, TESS_MEM_DEVICE);
      CHECK(d == TESS_COMM_NCCL || d == TESS_COMM_CUDA_AWARE_MPI || d == TESS_COMM_HOST_STAGED,
            "device backend %s", tess_comm_backend_name(d));
    }
    {
      tess_comm_backend_t b = TESS_COMM_AUTO;
      CHECK(tess_comm_backend_parse("host-staged", &b) == TESS_OK && b == TESS_COMM_HOST_STAGED,
            "parse host-staged");
      CHECK(tess_comm_backend_parse("gloo", &b) == TESS_ERR_ARG
                && strstr(tess_error_message(), "unknown comm backend 'gloo' (allowed: auto, nccl"),
            "parse gloo: %s", tess_error_message());
      tess_error_clear();
    }
    CHECK(tess_mesh_set_comm_backend(m, TESS_COMM_HOST_MPI) == TESS_OK, "host-mpi override");
    CHECK(tess_mesh_comm_backend(m, TESS_MEM_HOST) == TESS_COMM_HOST_MPI, "host after override");
    CHECK(strcmp(tess_comm_backend_name(TESS_COMM_HOST_STAGED), "host-staged") == 0, "name");
    tess_mesh_destroy(&m);
  } else {
    tess_error_print(stderr);
    tess_test_failures++;
  }
  /* TESS_AXES_ALL is the whole mesh in its rank order; the one-axis mesh of
   * a communicator is made once, cached, and destroyed with the communicator */
  if (tess_mesh_create(MPI_COMM_WORLD, 2, ed, (int[]){1, n}, &m) == TESS_OK) {
    int64_t v = world_rank, all[64];
    int r = -1, sz = -1;
    CHECK(tess_comm_rank_size(m, TESS_AXES_ALL, &r, &sz) == TESS_OK && r == world_rank
              && sz == n, "all-axes rank %d size %d", r, sz);
    CHECK(tess_comm_allgather(m, TESS_AXES_ALL, &v, 1, all, TESS_I64, TESS_MEM_HOST, NULL)
              == TESS_OK, "all-axes allgather");
    for (int k = 0; k < n && k < 64; k++) CHECK(all[k] == k, "all-axes allgather[%d]", k);
    CHECK(tess_comm_allreduce(m, TESS_AXES_ALL, &v, &v, 1, TESS_F64, TESS_OP_BOR, TESS_MEM_HOST,
                              NULL) == TESS_ERR_ARG
              && strstr(tess_error_message(), "expected i32 or i64"), "BOR on f64: %s",
          tess_error_message());
    tess_error_clear();
    tess_comm_request_t none = TESS_COMM_REQUEST_NULL;
    CHECK(tess_comm_wait(&none) == TESS_OK, "wait on a null request");
    tess_mesh_destroy(&m);
  }
  {
    MPI_Comm dup;
    tess_mesh_t *a = NULL, *b = NULL;
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    CHECK(tess_comm_mesh_of(dup, &a) == TESS_OK && tess_comm_mesh_of(dup, &b) == TESS_OK
              && a == b && a != NULL, "mesh_of: %p then %p", (void *)a, (void *)b);
    if (a) {
      int64_t v = 1;
      CHECK(tess_mesh_naxes(a) == 1 && tess_mesh_size(a) == n && tess_mesh_rank(a) == world_rank,
            "mesh_of shape");
      CHECK(tess_comm_allreduce(a, TESS_AXES_ALL, &v, &v, 1, TESS_I64, TESS_OP_SUM,
                                TESS_MEM_HOST, NULL) == TESS_OK && v == n, "mesh_of sum %lld",
            (long long)v);
    }
    MPI_Comm_free(&dup);   /* frees the cached mesh (ASan's leak check would see it) */
    CHECK(tess_comm_mesh_of(MPI_COMM_WORLD, &a) == TESS_OK && a != NULL, "mesh_of(world)");
  }
  int rc = tess_test_finish("mesh");
  MPI_Finalize();
  return rc;
}

/* tests/gpu/test_gpu_comm.c: every collective of every device comm backend
 * available in this run, on device buffers, must give exactly what the
 * host MPI backend gives on the same data (the truth: host MPI is tested
 * against closed forms in tests/core/test_mesh.c). Integer data and
 * exactly representable floats whose sums are exact in any order, so the
 * comparison is bitwise. Odd counts (1, 7, 1001, 3*2^20+5) cross the
 * staging rounds' boundaries; in-place alltoallv, the non-blocking
 * ialltoallv and an isend/irecv ring are included. TESS_GPU_BIG=1 adds an
 * alltoall of more than 2^31 bytes. No GPU: exit 77 (skipped), saying why;
 * NCCL is skipped with its reason where ranks share a GPU. */
#include "tess_test.h"

#include <stdint.h>
#include <string.h>
#include <tessera/tessera.h>

static int wr, ws;
static const size_t counts[] = {1, 7, 1001, 3 * (1u << 20) + 5};
static const tess_dtype_t types[] = {TESS_I32, TESS_I64, TESS_F32, TESS_F64, TESS_C64};

/* Value of element i on rank r: small integers, exact in every dtype. */
static void fill(void *p, size_t n, tess_dtype_t t, int r, int salt)
{
  size_t es = tess_dtype_size(t);
  for (size_t i = 0; i < n; i++) {
    int64_t v = (int64_t)((i * 7 + (size_t)r * 13 + (size_t)salt) % 1021) - 510;
    char *e = (char *)p + i * es;
    switch (t) {
    case TESS_I32: { int32_t x = (int32_t)v; memcpy(e, &x, 4); break; }
    case TESS_I64: memcpy(e, &v, 8); break;
    case TESS_F32: { float x = (float)v; memcpy(e, &x, 4); break; }
    case TESS_F64: { double x = (double)v; memcpy(e, &x, 8); break; }
    default: { float x[2] = {(float)v, (float)(v / 3)}; memcpy(e, x, 8); break; }
    }
  }
}

/* Device copies of host buffers and back. */
static void *to_dev(const void *h, size_t bytes)
{
  void *d = NULL;
  if (tess_malloc(TESS_MEM_DEVICE, bytes, &d) != TESS_OK) return NULL;
  if (tess_memcpy(TESS_MEM_DEVICE, d, TESS_MEM_HOST, h, bytes) != TESS_OK) {
    tess_free(TESS_MEM_DEVICE, &d);
    return NULL;
  }
  return d;
}

static int same_as_dev(const void *h, void *d, size_t bytes, const char *what)
{
  void *back = malloc(bytes ? bytes : 1);
  int ok = back && tess_memcpy(TESS_MEM_HOST, back, TESS_MEM_DEVICE, d, bytes) == TESS_OK
           && memcmp(back, h, bytes) == 0;
  CHECK(ok, "%s: device result differs from host MPI", what);
  free(back);
  return ok;
}

/* A failed collective on one rank would leave the others waiting in the
 * next one: report it and end the job at once. */
#define RUN(call, what) do { if ((call) != TESS_OK) { CHECK(0, "%s: %s", what, tess_error_message()); \
    fflush(stderr); MPI_Abort(MPI_COMM_WORLD, 1); } } while (0)

/* One collective kind at one count and dtype: host reference, then device. */
static void check_case(tess_mesh_t *m, tess_comm_backend_t be, size_t n, tess_dtype_t t)
{
  /* cap: room for the alltoallv below, whose counts reach (n/P/2 + 2) per peer
   * whatever n is: no rank may skip a collective the others enter */
  size_t es = tess_dtype_size(t), P = (size_t)ws, total = n * P, cap = total + 3 * P;
  char what[160];
  void *hs = malloc(cap * es), *hr = malloc(cap * es), *hr2 = malloc(cap * es);
  void *ds = NULL, *dr = NULL;
  size_t *cnt = malloc(sizeof(size_t) * P * 4), *dsp = cnt + P, *rc = cnt + 2 * P, *rd = cnt + 3 * P;
  tess_comm_request_t rq = TESS_COMM_REQUEST_NULL;
  if (!hs || !hr || !hr2 || !cnt) { CHECK(0, "host memory"); goto cleanup; }
  snprintf(what, sizeof what, "%s %s n=%zu", tess_comm_backend_name(be), tess_dtype_name(t), n);
  fill(hs, cap, t, wr, 1);
  ds = to_dev(hs, cap * es);
  memset(hr, 0, cap * es);
  dr = to_dev(hr, cap * es);
  if (!ds || !dr) { CHECK(0, "%s: device memory: %s", what, tess_error_message()); goto cleanup; }

  /* allreduce: sum on every dtype, max where not complex */
  RUN(tess_comm_allreduce(m, TESS_AXES_ALL, hs, hr, n, t, TESS_OP_SUM, TESS_MEM_HOST, NULL), what);
  RUN(tess_comm_allreduce(m, TESS_AXES_ALL, ds, dr, n, t, TESS_OP_SUM, TESS_MEM_DEVICE, NULL), what);
  same_as_dev(hr, dr, n * es, "allreduce");
  if (t != TESS_C64) {
    RUN(tess_comm_allreduce(m, TESS_AXES_ALL, hs, hr, n, t, TESS_OP_MAX, TESS_MEM_HOST, NULL), what);
    RUN(tess_comm_allreduce(m, TESS_AXES_ALL, ds, dr, n, t, TESS_OP_MAX, TESS_MEM_DEVICE, NULL), what);
    same_as_dev(hr, dr, n * es, "allreduce max");
  }
  if (t == TESS_I64) {   /* BOR: NCCL falls back to staging */
    RUN(tess_comm_allreduce(m, TESS_AXES_ALL, hs, hr, n, t, TESS_OP_BOR, TESS_MEM_HOST, NULL), what);
    RUN(tess_comm_allreduce(m, TESS_AXES_ALL, ds, dr, n, t, TESS_OP_BOR, TESS_MEM_DEVICE, NULL), what);
    same_as_dev(hr, dr, n * es, "allreduce bor");
  }
  /* bcast from the last rank */
  memcpy(hr, hs, n * es);
  RUN(tess_memcpy(TESS_MEM_DEVICE, dr, TESS_MEM_HOST, hs, n * es), what);
  RUN(tess_comm_bcast(m, TESS_AXES_ALL, hr, n, t, ws - 1, TESS_MEM_HOST, NULL), what);
  RUN(tess_comm_bcast(m, TESS_AXES_ALL, dr, n, t, ws - 1, TESS_MEM_DEVICE, NULL), what);
  same_as_dev(hr, dr, n * es, "bcast");
  RUN(tess_comm_allgather(m, TESS_AXES_ALL, hs, n, hr, t, TESS_MEM_HOST, NULL), what);
  RUN(tess_comm_allgather(m, TESS_AXES_ALL, ds, n, dr, t, TESS_MEM_DEVICE, NULL), what);
  same_as_dev(hr, dr, total * es, "allgather");
  RUN(tess_comm_alltoall(m, TESS_AXES_ALL, hs, hr, n / P ? n / P : 1, t, TESS_MEM_HOST, NULL), what);
  RUN(tess_comm_alltoall(m, TESS_AXES_ALL, ds, dr, n / P ? n / P : 1, t, TESS_MEM_DEVICE, NULL), what);
  same_as_dev(hr, dr, (n / P ? n / P : 1) * P * es, "alltoall");
  if (t != TESS_C64) {
    RUN(tess_comm_reduce_scatter(m, TESS_AXES_ALL, hs, hr, n / P ? n / P : 1, t, TESS_OP_SUM,
                                 TESS_MEM_HOST, NULL), what);
    RUN(tess_comm_reduce_scatter(m, TESS_AXES_ALL, ds, dr, n / P ? n / P : 1, t, TESS_OP_SUM,
                                 TESS_MEM_DEVICE, NULL), what);
    same_as_dev(hr, dr, (n / P ? n / P : 1) * es, "reduce_scatter");
  }
  /* v-collectives: rank k has (k+1)*n/P (at least 1) elements, uneven */
  {
    size_t off = 0;
    for (size_t k = 0; k < P; k++) {
      cnt[k] = (k + 1) * n / (P * (P + 1) / 2);
      if (!cnt[k]) cnt[k] = 1;
      if (off + cnt[k] > total) cnt[k] = 0;
      dsp[k] = off;
      off += cnt[k];
    }
    size_t mine = cnt[wr];
    RUN(tess_comm_allgatherv(m, TESS_AXES_ALL, hs, mine, hr, cnt, dsp, t, TESS_MEM_HOST, NULL), what);
    RUN(tess_comm_allgatherv(m, TESS_AXES_ALL, ds, mine, dr, cnt, dsp, t, TESS_MEM_DEVICE, NULL), what);
    same_as_dev(hr, dr, off * es, "allgatherv");
    memset(hr, 0, total * es);
    RUN(tess_memcpy(TESS_MEM_DEVICE, dr, TESS_MEM_HOST, hr, total * es), what);
    RUN(tess_comm_gatherv(m, TESS_AXES_ALL, hs, mine, hr, cnt, dsp, t, 0, TESS_MEM_HOST, NULL), what);
    RUN(tess_comm_gatherv(m, TESS_AXES_ALL, ds, mine, dr, cnt, dsp, t, 0, TESS_MEM_DEVICE, NULL), what);
    if (wr == 0) same_as_dev(hr, dr, off * es, "gatherv");
    RUN(tess_comm_scatterv(m, TESS_AXES_ALL, hs, cnt, dsp, hr, mine, t, 0, TESS_MEM_HOST, NULL), what);
    RUN(tess_comm_scatterv(m, TESS_AXES_ALL, ds, cnt, dsp, dr, mine, t, 0, TESS_MEM_DEVICE, NULL), what);
    same_as_dev(hr, dr, mine * es, "scatterv");
    /* alltoallv: to k, (wr + k) % 3 + n/P/2 elements (what k expects) */
    size_t so = 0, ro = 0, b = n / P / 2;
    for (size_t k = 0; k < P; k++) {
      cnt[k] = ((size_t)wr + k) % 3 + b; dsp[k] = so; so += cnt[k];
      rc[k] = (k + (size_t)wr) % 3 + b; rd[k] = ro; ro += rc[k];
    }
    {
      RUN(tess_comm_alltoallv(m, TESS_AXES_ALL, hs, cnt, dsp, hr, rc, rd, t, TESS_MEM_HOST, NULL), what);
      RUN(tess_comm_alltoallv(m, TESS_AXES_ALL, ds, cnt, dsp, dr, rc, rd, t, TESS_MEM_DEVICE, NULL), what);
      same_as_dev(hr, dr, ro * es, "alltoallv");
      memset(hr, 0, cap * es);
      RUN(tess_memcpy(TESS_MEM_DEVICE, dr, TESS_MEM_HOST, hr, cap * es), what);
      RUN(tess_comm_ialltoallv(m, TESS_AXES_ALL, ds, cnt, dsp, dr, rc, rd, t, TESS_MEM_DEVICE,
                               NULL, &rq), what);
      RUN(tess_comm_wait(&rq), what);
      RUN(tess_comm_alltoallv(m, TESS_AXES_ALL, hs, cnt, dsp, hr, rc, rd, t, TESS_MEM_HOST, NULL), what);
      same_as_dev(hr, dr, ro * es, "ialltoallv");
      /* in place: symmetric counts (k's count to j = j's count to k) */
      so = 0;
      for (size_t k = 0; k < P; k++) { rc[k] = ((size_t)wr + k) % 3 + b; rd[k] = so; so += rc[k]; }
      fill(hr2, so, t, wr, 5);
      RUN(tess_memcpy(TESS_MEM_DEVICE, dr, TESS_MEM_HOST, hr2, so * es), what);
      RUN(tess_comm_alltoallv(m, TESS_AXES_ALL, hr2, rc, rd, hr, rc, rd, t, TESS_MEM_HOST, NULL), what);
      RUN(tess_comm_alltoallv(m, TESS_AXES_ALL, dr, NULL, NULL, dr, rc, rd, t, TESS_MEM_DEVICE, NULL),
          what);
      same_as_dev(hr, dr, so * es, "in-place alltoallv");
    }
  }
  /* ring: send to the right, receive from the left */
  {
    tess_comm_request_t r2[2] = {TESS_COMM_REQUEST_NULL, TESS_COMM_REQUEST_NULL};
    int right = (wr + 1) % ws, left = (wr + ws - 1) % ws;
    fill(hr, n, t, left, 1);   /* what the left neighbour sends: its send buffer */
    RUN(tess_comm_irecv(m, TESS_AXES_ALL, dr, n, t, left, 7, TESS_MEM_DEVICE, NULL, &r2[0]), what);
    RUN(tess_comm_isend(m, TESS_AXES_ALL, ds, n, t, right, 7, TESS_MEM_DEVICE, NULL, &r2[1]), what);
    RUN(tess_comm_waitall(2, r2), what);
    same_as_dev(hr, dr, n * es, "isend/irecv ring");
  }
cleanup:
  tess_free(TESS_MEM_DEVICE, &ds);
  tess_free(TESS_MEM_DEVICE, &dr);
  free(hs); free(hr); free(hr2); free(cnt);
}

/* More than 2^31 bytes in one alltoall: the staging rounds and NCCL's
 * size_t counts, against a pattern (each element names its source). */
static void check_big(tess_mesh_t *m, tess_comm_backend_t be)
{
  size_t total = ((size_t)2200 << 20) / 4, per = total / (size_t)ws, n = per * (size_t)ws;
  int32_t *h = malloc(n * 4);
  void *d = NULL, *r = NULL;
  long bad = 0;
  if (!h) { CHECK(0, "big: host memory"); return; }
  for (size_t i = 0; i < n; i++) h[i] = (int32_t)((size_t)wr * 1000003u + i / per + (i % 1009));
  d = to_dev(h, n * 4);
  if (d == NULL || tess_malloc(TESS_MEM_DEVICE, n * 4, &r) != TESS_OK) {
    CHECK(0, "big: device memory: %s", tess_error_message());
    goto cleanup;
  }
  RUN(tess_comm_alltoall(m, TESS_AXES_ALL, d, r, per, TESS_I32, TESS_MEM_DEVICE, NULL), "big alltoall");
  RUN(tess_memcpy(TESS_MEM_HOST, h, TESS_MEM_DEVICE, r, n * 4), "big copy");
  for (size_t i = 0; i < n; i++) {   /* block k came from rank k, its block wr */
    size_t k = i / per;
    if (h[i] != (int32_t)(k * 1000003u + (size_t)wr + ((size_t)wr * per + i % per) % 1009)) bad++;
  }
  CHECK(bad == 0, "%s: big alltoall (%zu bytes): %ld wrong", tess_comm_backend_name(be), n * 4, bad);
cleanup:
  tess_free(TESS_MEM_DEVICE, &d);
  tess_free(TESS_MEM_DEVICE, &r);
  free(h);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &wr);
  MPI_Comm_size(MPI_COMM_WORLD, &ws);
  int have = tess_device_available(), all = have;
  MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!all) {
    if (wr == 0) printf("gpu_comm: skipped: %s\n", strcmp(tess_device_backend_name(), "host") != 0
                                 ? "no GPU visible to every rank" : "this build has no GPU backend");
    MPI_Finalize();
    return 77;
  }
  tess_mesh_t *m = NULL;
  const char *x[] = {"x"};
  if (tess_mesh_create(MPI_COMM_WORLD, 1, x, (int[]){ws}, &m) != TESS_OK) {
    tess_error_print(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  if (wr == 0) printf("gpu_comm: automatic device backend: %s\n",
                      tess_comm_backend_name(tess_mesh_comm_backend(m, TESS_MEM_DEVICE)));
  const tess_comm_backend_t bes[] = {TESS_COMM_NCCL, TESS_COMM_CUDA_AWARE_MPI, TESS_COMM_HOST_STAGED};
  const char *big = getenv("TESS_GPU_BIG");
  for (size_t b = 0; b < sizeof bes / sizeof bes[0]; b++) {
    if (tess_mesh_set_comm_backend(m, bes[b]) != TESS_OK) {
      if (wr == 0) printf("gpu_comm: %s skipped: %s\n", tess_comm_backend_name(bes[b]),
                          tess_error_message());
      tess_error_clear();
      CHECK(bes[b] != TESS_COMM_HOST_STAGED, "host-staged must run wherever there are GPUs");
      continue;
    }
    CHECK(tess_mesh_comm_backend(m, TESS_MEM_DEVICE) == bes[b], "override not taken");
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
      for (size_t j = 0; j < sizeof types / sizeof types[0]; j++)
        check_case(m, bes[b], counts[i], types[j]);
    if (big && strcmp(big, "1") == 0) check_big(m, bes[b]);
    if (wr == 0) printf("gpu_comm: %s done\n", tess_comm_backend_name(bes[b]));
  }
  tess_mesh_destroy(&m);
  int rc = tess_test_finish("gpu_comm");
  MPI_Finalize();
  return rc;
}

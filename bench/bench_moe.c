/* bench/bench_moe.c: the MoE exchange against a bare all-to-all of the same
 * bytes. Every rank is one rank of the `experts` axis (dp 1) with N tokens
 * of width D (f32) routed top-2 over E = 4 P experts (uniform random, keyed
 * by global token index, as a balanced router gives). Timed per iteration
 * (after a barrier, the slowest rank):
 *   moe:  tess_ml_moe_plan_reroute (the counts all-to-all) + tess_ml_moe_dispatch
 *         (pack the token rows, alltoallv) + tess_ml_moe_combine_sum (alltoallv
 *         back, y = x + sum_r w_r row in double): the layer's exchange;
 *   bare: two tess_comm_alltoallv of the same counts on already packed buffers.
 * A third side, "bare with a hand pack", packs the rows by hand before the two
 * alltoallvs: what the pack alone costs. Reports medians (and minima) and the
 * ratio bare / moe (the target: >= 0.8). Set BENCH_MOE_PHASES to
 * print each moe iteration's route / dispatch / combine times on rank 0.
 * Every big buffer of both sides comes from tess_malloc (huge pages).
 * Usage: bench_moe [N] [D] [iters]
 *        bench_moe layer [T] [d] [h] [E] [iters]   (the whole layer, forward + backward) */
#include <tessera/tessera.h>
#include <tessera/ml_moe.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench_util.h"

/* Big buffers of both sides from tess_malloc (huge pages, as the plan's). */
static void *big(size_t bytes)
{
  void *p = NULL;
  return tess_malloc(TESS_MEM_HOST, bytes, &p) == TESS_OK ? p : NULL;
}
static void unbig(void *p) { tess_free(TESS_MEM_HOST, &p); }

static double minimum(const double *v, int n)
{
  double m = v[0];
  for (int i = 1; i < n; i++) m = v[i] < m ? v[i] : m;
  return m;
}

static double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* "layer" mode: forward + backward of the whole layer (f32, top-2, cf 1.25) on
 * T tokens over an experts x 1 mesh; prints the median time per step. */
static tess_err_t layer_mode(tess_mesh_t *mesh, size_t T, size_t d, size_t h, size_t E, int iters)
{
  tess_err_t err = TESS_OK;
  tess_ml_moe_t *moe = NULL;
  tess_ml_moe_config_t c = { .d_model = d, .hidden = h, .n_experts = E,
                             .policy = TESS_ML_MOE_TOP2, .capacity_factor = 1.25,
                             .aux_weight = 0.01, .z_weight = 1e-3, .seed = 1 };
  float *x = malloc(T * d * sizeof *x), *y = malloc(T * d * sizeof *y);
  float *dy = malloc(T * d * sizeof *dy), *dx = malloc(T * d * sizeof *dx);
  double *tm = malloc((size_t)iters * 2 * sizeof *tm);
  TESS_REQUIRE(x && y && dy && dx && tm, TESS_ERR_MEM, "layer buffers");
  for (size_t i = 0; i < T * d; i++) {
    x[i] = (float)tess_rng_normal(2, 1, i);
    dy[i] = (float)tess_rng_normal(2, 2, i);
  }
  TESS_CHECK(tess_ml_moe_create(mesh, "experts", "dp", &c, TESS_F32, &moe));
  for (int it = -1; it < iters; it++) {
    double t0 = MPI_Wtime();
    TESS_CHECK(tess_ml_moe_forward(moe, it, T, x, y, NULL));
    double t1 = MPI_Wtime();
    TESS_CHECK(tess_ml_moe_backward(moe, dy, dx));
    double t2 = MPI_Wtime();
    if (it >= 0) {
      tm[it] = t1 - t0;
      tm[iters + it] = t2 - t1;
    }
  }
  double f = median(tm, iters), b = median(tm + iters, iters);
  if (tess_mesh_rank(mesh) == 0)
    printf("moe layer: %d ranks, %zu tokens, d %zu, h %zu, %zu experts, top-2 cf 1.25, f32: "
           "forward %.1f ms, backward %.1f ms (%.0f tokens/s)\n", tess_mesh_size(mesh), T, d, h,
           E, 1e3 * f, 1e3 * b, (double)T / (f + b));
cleanup:
  tess_ml_moe_destroy(&moe);
  free(x); free(y); free(dy); free(dx); free(tm);
  return err;
}

int main(int argc, char **argv)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_ml_moe_plan_t *plan = NULL;
  TESS_CHECK(tess_init(&argc, &argv));
  size_t N = argc > 1 ? (size_t)atoll(argv[1]) : 4096, D = argc > 2 ? (size_t)atoll(argv[2]) : 1024;
  int iters = argc > 3 ? atoi(argv[3]) : 20;
  const char *names[] = {"experts", "dp"};
  int sizes[] = {TESS_MESH_INFER, 1};
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 2, names, sizes, &mesh));
  int rank = tess_mesh_rank(mesh), P = tess_mesh_size(mesh);
  if (argc > 1 && strcmp(argv[1], "layer") == 0) {
    TESS_CHECK(layer_mode(mesh, argc > 2 ? (size_t)atoll(argv[2]) : 1024,
                          argc > 3 ? (size_t)atoll(argv[3]) : 64, argc > 4 ? (size_t)atoll(argv[4]) : 256,
                          argc > 5 ? (size_t)atoll(argv[5]) : 8, argc > 6 ? atoi(argv[6]) : 5));
    goto cleanup;
  }
  size_t E = 4 * (size_t)P, K = 2;
  int32_t *slot = malloc(N * K * sizeof *slot);
  float *x = big(N * D * sizeof *x), *y = big(N * D * sizeof *y);
  double *w = malloc(N * K * sizeof *w), *tm = malloc(3 * (size_t)iters * sizeof *tm);
  TESS_REQUIRE(slot && x && y && w && tm, TESS_ERR_MEM, "buffers");
  for (size_t i = 0; i < N; i++) {
    uint64_t g = (uint64_t)rank * N + i, a = tess_rng_u64(1, 1, g) % E, b = tess_rng_u64(1, 2, g) % (E - 1);
    slot[i * K] = (int32_t)a;
    slot[i * K + 1] = (int32_t)(b >= a ? b + 1 : b);
    w[i * K] = 0.6;
    w[i * K + 1] = 0.4;
    for (size_t j = 0; j < D; j++) x[i * D + j] = (float)(i + j);
  }
  /* the bare side: the same counts, packed buffers */
  TESS_CHECK(tess_ml_moe_plan_create(mesh, "experts", E, N, K, slot, &plan));
  size_t nr = tess_ml_moe_plan_recv_rows(plan), ns = N * K;
  size_t *sc = calloc((size_t)P, sizeof *sc), *sd = calloc((size_t)P, sizeof *sd);
  size_t *rc = calloc((size_t)P, sizeof *rc), *rd = calloc((size_t)P, sizeof *rd);
  int64_t *cs = calloc((size_t)P, sizeof *cs), *cr = calloc((size_t)P, sizeof *cr);
  TESS_REQUIRE(sc && sd && rc && rd && cs && cr, TESS_ERR_MEM, "counts");
  for (size_t s = 0; s < ns; s++) cs[(size_t)slot[s] / (E / (size_t)P)]++;
  TESS_CHECK(tess_comm_alltoall(mesh, 1u, cs, cr, 1, TESS_I64, TESS_MEM_HOST, NULL));
  for (int q = 0; q < P; q++) {
    sc[q] = (size_t)cs[q] * D;
    rc[q] = (size_t)cr[q] * D;
    sd[q] = q ? sd[q - 1] + sc[q - 1] : 0;
    rd[q] = q ? rd[q - 1] + rc[q - 1] : 0;
  }
  float *sbuf = big(ns * D * sizeof *sbuf), *rbuf = big((nr + 1) * D * sizeof *rbuf);
  float *xe = big((nr + 1) * D * sizeof *xe);
  TESS_REQUIRE(sbuf && rbuf && xe, TESS_ERR_MEM, "exchange buffers");
  memset(sbuf, 1, ns * D * sizeof *sbuf);
  memset(rbuf, 0, (nr + 1) * D * sizeof *rbuf);
  tess_ml_moe_plan_destroy(&plan);
  for (int it = -2; it < iters; it++) {
    for (int side = 0; side < 3; side++) {   /* interleaved: moe, bare, bare + pack */
      double sync = 0;   /* a barrier through tess_comm */
      TESS_CHECK(tess_comm_allreduce(mesh, TESS_AXES_ALL, &sync, &sync, 1, TESS_F64,
                                     TESS_OP_SUM, TESS_MEM_HOST, NULL));
      double t0 = MPI_Wtime();
      if (side == 0) {
        if (!plan) TESS_CHECK(tess_ml_moe_plan_create(mesh, "experts", E, N, K, slot, &plan));
        else TESS_CHECK(tess_ml_moe_plan_reroute(plan, N, slot));
        double t1 = MPI_Wtime();
        TESS_CHECK(tess_ml_moe_dispatch(plan, TESS_F32, D, x, 0, xe));
        double t2 = MPI_Wtime();
        TESS_CHECK(tess_ml_moe_combine_sum(plan, TESS_F32, D, xe, x, w, y));
        if (getenv("BENCH_MOE_PHASES") && rank == 0)
          printf("  route %.2f dispatch %.2f combine %.2f ms\n", 1e3 * (t1 - t0), 1e3 * (t2 - t1),
                 1e3 * (MPI_Wtime() - t2));
      } else {
        if (side == 2) {   /* the same rows packed by hand first (expert order) */
          size_t row = 0;
          for (size_t e = 0; e < E; e++)
            for (size_t s = 0; s < ns; s++)
              if ((size_t)slot[s] == e) memcpy(sbuf + row++ * D, x + (s / K) * D, D * sizeof *x);
        }
        TESS_CHECK(tess_comm_alltoallv(mesh, 1u, sbuf, sc, sd, rbuf, rc, rd, TESS_F32,
                                       TESS_MEM_HOST, NULL));
        TESS_CHECK(tess_comm_alltoallv(mesh, 1u, rbuf, rc, rd, sbuf, sc, sd, TESS_F32,
                                       TESS_MEM_HOST, NULL));
      }
      double dt = MPI_Wtime() - t0;
      TESS_CHECK(tess_comm_allreduce(mesh, TESS_AXES_ALL, MPI_IN_PLACE, &dt, 1, TESS_F64,
                                     TESS_OP_MAX, TESS_MEM_HOST, NULL));
      if (it >= 0) tm[side * iters + it] = dt;
    }
  }
  double mmoe = minimum(tm, iters), mbare = minimum(tm + iters, iters);
  double tmoe = median(tm, iters), tbare = median(tm + iters, iters);
  double tpack = median(tm + 2 * iters, iters);
  if (rank == 0)
    printf("moe exchange: %d ranks, %zu tokens x %zu f32 per rank, top-2 of %zu experts, "
           "%.1f MiB each way per rank: moe %.3f ms, bare alltoallv x2 %.3f ms, ratio bare/moe %.2f; "
           "bare with a hand pack %.3f ms; minima: moe %.3f, bare %.3f, ratio %.2f\n",
           P, N, D, E, (double)(ns * D * sizeof(float)) / (1 << 20), 1e3 * tmoe, 1e3 * tbare,
           tbare / tmoe, 1e3 * tpack, 1e3 * mmoe, 1e3 * mbare, mbare / mmoe);
  free(slot); unbig(x); unbig(y); free(w); free(tm); free(sc); free(sd); free(rc); free(rd);
  free(cs); free(cr); unbig(sbuf); unbig(rbuf); unbig(xe);
cleanup:
  tess_ml_moe_plan_destroy(&plan);
  tess_mesh_destroy(&mesh);
  if (err) tess_error_print(stderr);
  tess_finalize();
  return err ? 1 : 0;
}

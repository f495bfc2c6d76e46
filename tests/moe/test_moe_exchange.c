/* tests/moe/test_moe_exchange.c: the MoE exchange alone (tessera/ml_moe.h,
 * "the exchange alone"), at every mesh shape experts x dp of this rank count
 * (1x1; 2x1, 1x2; 3x1, 1x3; 2x2, 4x1, 1x4), f64 and f32:
 * - identity experts: dispatch, then combine the received rows unchanged:
 *   every routed slot gets its token's row back bitwise, unrouted slots 0,
 *   from token rows (per_slot 0) and from slot rows (per_slot 1);
 * - each local expert's rows hold exactly the slots routed to it, sending
 *   rank by sending rank, tokens in order (rows carry their slot's id);
 * - the weighted sum x + sum_r w_r row against the same sum formed here;
 * - bad arguments: experts that do not divide over the axis, an expert out
 *   of range, each refused with a message. */
#include <math.h>
#include <string.h>
#include <tessera/tessera.h>
#include <tessera/ml_moe.h>

#include "tess_test.h"

#define OK(call) CHECK((call) == TESS_OK, "%s failed: %s", #call, tess_error_message())

enum { N = 23, K = 3, D = 5 };

static double val(uint64_t g, size_t j) { return tess_rng_normal(11, 1, g * D + j); }

static void run_shape(int ne, int ndp, tess_dtype_t t)
{
  const char *names[] = {"experts", "dp"};
  tess_mesh_t *mesh = NULL;
  tess_ml_moe_plan_t *plan = NULL;
  int sizes[] = {ne, ndp};
  OK(tess_mesh_create(MPI_COMM_WORLD, 2, names, sizes, &mesh));
  if (!mesh) return;
  size_t E = 12, es = tess_dtype_size(t);
  int me = tess_mesh_rank(mesh);
  uint64_t g0 = (uint64_t)me * N;   /* this rank's tokens, global ids */
  int32_t slot[N * K];
  for (size_t i = 0; i < N * K; i++) {
    uint64_t u = tess_rng_u64(5, 2, g0 * K + i);
    slot[i] = u % 5 == 0 ? -1 : (int32_t)((u >> 8) % E);
  }
  for (size_t i = 0; i < N; i++)   /* distinct experts within a token, as routing gives */
    for (size_t r = 1; r < K; r++)
      for (size_t q = 0; q < r; q++)
        if (slot[i * K + r] == slot[i * K + q]) slot[i * K + r] = -1;
  OK(tess_ml_moe_plan_create(mesh, "experts", E, N, K, slot, &plan));
  size_t nr = tess_ml_moe_plan_recv_rows(plan);
  char *x = malloc(N * D * es), *xs = malloc(N * K * D * es), *recv = malloc((nr + 1) * D * es);
  char *out = malloc(N * K * D * es), *sum = malloc(N * D * es);
  double w[N * K];
  for (size_t i = 0; i < N; i++)
    for (size_t j = 0; j < D; j++) {
      if (t == TESS_F64) ((double *)x)[i * D + j] = val(g0 + i, j);
      else ((float *)x)[i * D + j] = (float)val(g0 + i, j);
    }
  for (size_t s = 0; s < N * K; s++) {
    w[s] = 0.25 + 0.5 * tess_rng_uniform(3, 3, g0 * K + s);
    for (size_t j = 0; j < D; j++) {   /* slot rows: (global slot id, j) */
      double v = (double)(g0 * K + s) + (double)j / 8;
      if (t == TESS_F64) ((double *)xs)[s * D + j] = v;
      else ((float *)xs)[s * D + j] = (float)v;
    }
  }
  /* identity experts from token rows */
  OK(tess_ml_moe_dispatch(plan, t, D, x, 0, recv));
  OK(tess_ml_moe_combine(plan, t, D, recv, out));
  int bad = 0;
  for (size_t s = 0; s < N * K; s++)
    for (size_t j = 0; j < D * es; j++) {
      char want = slot[s] >= 0 ? x[(s / K) * D * es + j] : 0;
      bad += out[s * D * es + j] != want;
    }
  CHECK(bad == 0, "%dx%d %s: identity experts changed %d bytes", ne, ndp, tess_dtype_name(t), bad);
  /* weighted sum against the same sum formed here */
  OK(tess_ml_moe_combine_sum(plan, t, D, recv, x, w, sum));
  double worst = 0;
  for (size_t i = 0; i < N; i++)
    for (size_t j = 0; j < D; j++) {
      double xv = t == TESS_F64 ? ((double *)x)[i * D + j] : ((float *)x)[i * D + j];
      double v = xv;
      for (size_t r = 0; r < K; r++)
        if (slot[i * K + r] >= 0) v += w[i * K + r] * xv;
      double got = t == TESS_F64 ? ((double *)sum)[i * D + j] : ((float *)sum)[i * D + j];
      double e = fabs(got - (t == TESS_F64 ? v : (double)(float)v));
      worst = e > worst ? e : worst;
    }
  CHECK(worst == 0, "%dx%d %s: weighted combine off by %g", ne, ndp, tess_dtype_name(t), worst);
  /* the expert lists: slot ids from slot rows; each list in sending rank then token order */
  OK(tess_ml_moe_dispatch(plan, t, D, xs, 1, recv));
  int coord[2];
  tess_mesh_coords_of(mesh, me, coord);
  size_t E_loc = E / (size_t)ne, total = 0;
  for (size_t le = 0; le < E_loc; le++) {
    size_t cnt = 0;
    const size_t *rows = NULL;
    OK(tess_ml_moe_plan_expert_rows(plan, le, &cnt, &rows));
    int e = (int)(coord[0] * E_loc + le);
    /* expected: the slots of the experts-axis peers (same dp coordinate) naming e */
    size_t want = 0, got_i = 0;
    for (int c = 0; c < ne; c++) {
      int pc[2] = {c, coord[1]};
      uint64_t pg0 = (uint64_t)tess_mesh_rank_of(mesh, pc) * N;
      int32_t ps[N * K];
      for (size_t i = 0; i < N * K; i++) {
        uint64_t u = tess_rng_u64(5, 2, pg0 * K + i);
        ps[i] = u % 5 == 0 ? -1 : (int32_t)((u >> 8) % E);
      }
      for (size_t i = 0; i < N; i++)
        for (size_t r = 1; r < K; r++)
          for (size_t q = 0; q < r; q++)
            if (ps[i * K + r] == ps[i * K + q]) ps[i * K + r] = -1;
      for (size_t s = 0; s < N * K; s++) {
        if (ps[s] != e) continue;
        want++;
        if (got_i < cnt) {
          double v = t == TESS_F64 ? ((double *)recv)[rows[got_i] * D]
                                   : ((float *)recv)[rows[got_i] * D];
          CHECK(v == (double)(pg0 * K + s), "%dx%d: expert %d row %zu carries slot %g, want %llu",
                ne, ndp, e, got_i, v, (unsigned long long)(pg0 * K + s));
        }
        got_i++;
      }
    }
    CHECK(cnt == want, "%dx%d: expert %d got %zu rows, want %zu", ne, ndp, e, cnt, want);
    total += cnt;
  }
  CHECK(total == nr, "%dx%d: %zu rows in the lists, %zu received", ne, ndp, total, nr);
  free(x); free(xs); free(recv); free(out); free(sum);
  tess_ml_moe_plan_destroy(&plan);
  /* bad arguments */
  if (ne > 1) {
    tess_error_clear();
    CHECK(tess_ml_moe_plan_create(mesh, "experts", 3 * (size_t)ne + 1, N, K, slot, &plan) ==
              TESS_ERR_ARG && strstr(tess_error_message(), "do not divide"),
          "indivisible experts: %s", tess_error_message());
    tess_error_clear();
  }
  int32_t badslot[N * K];
  memcpy(badslot, slot, sizeof badslot);
  badslot[4] = (int32_t)E;
  CHECK(tess_ml_moe_plan_create(mesh, "experts", E, N, K, badslot, &plan) == TESS_ERR_ARG &&
            strstr(tess_error_message(), "names expert 12"),
        "expert out of range: %s", tess_error_message());
  tess_error_clear();
  CHECK(tess_ml_moe_plan_create(mesh, "exprts", E, N, K, slot, &plan) == TESS_ERR_ARG,
        "unknown axis accepted");
  tess_error_clear();
  tess_mesh_destroy(&mesh);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  tess_init(&argc, &argv);
  int np;
  MPI_Comm_size(MPI_COMM_WORLD, &np);
  for (int ne = 1; ne <= np; ne++)
    if (np % ne == 0 && 12 % ne == 0) {
      run_shape(ne, np / ne, TESS_F64);
      run_shape(ne, np / ne, TESS_F32);
    }
  int rc = tess_test_finish("moe_exchange");
  tess_finalize();
  MPI_Finalize();
  return rc;
}

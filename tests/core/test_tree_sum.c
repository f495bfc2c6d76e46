/* tests/core/test_tree_sum.c: the runtime's chunk tree sum and GEMM
 * (tessera/tree_sum.h, tessera/gemm.h), as the ML layer would call them.
 *  - tess_chunk_tree_sum of 13 chunk vectors whose entries are 53-bit values
 *    of both signs over 2^-5..2^4 (so the order of addition shows in the bits) equals,
 *    bitwise, the serial dyadic tree computed here, at every rank count and
 *    for two partitions (blocks; everything on the last rank); each chunk's
 *    function runs exactly once; a plain left-to-right sum differs in at
 *    least one entry (the data can tell the orders apart);
 *  - the _comm form and a sub-axis of a 2-axis mesh give the same bits;
 *  - the three GEMM forms agree with a long-double loop nest (1e-14). */
#include <tessera/tessera.h>
#include <math.h>
#include <string.h>
#include "tess_test.h"

#define NCH 13
#define LEN 4

static double val(int64_t c, int k)
{
  uint64_t z = (uint64_t)(c * LEN + k + 1) * 0x9e3779b97f4a7c15ull;
  z ^= z >> 29;
  double u = (double)(z >> 11) / 9007199254740992.0 - 0.5;   /* 53 random bits, both signs */
  return ldexp(u, (int)((c * 5 + k) % 9) - 4);
}

static int calls[NCH];
static tess_err_t fn(int64_t c, double *out, void *ctx)
{
  (void)ctx;
  calls[c]++;
  for (int k = 0; k < LEN; k++) out[k] = val(c, k);
  return TESS_OK;
}

static void serial_tree(int64_t lo, int64_t size, double *out)
{
  if (size == 1) { for (int k = 0; k < LEN; k++) out[k] = val(lo, k); return; }
  serial_tree(lo, size / 2, out);
  if (lo + size / 2 < NCH) {
    double r[LEN];
    serial_tree(lo + size / 2, size / 2, r);
    for (int k = 0; k < LEN; k++) out[k] += r[k];
  }
}

int main(int argc, char **argv)
{
  tess_err_t err = TESS_OK;
  int P, r;
  double want[LEN], got[LEN], seq[LEN] = {0};
  tess_mesh_t *mesh = NULL, *grid = NULL;
  tess_init(&argc, &argv);
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  serial_tree(0, 16, want);
  for (int64_t c = 0; c < NCH; c++)
    for (int k = 0; k < LEN; k++) seq[k] += val(c, k);
  CHECK(memcmp(seq, want, sizeof want) != 0, "test data cannot tell tree from sequential order");

  {
    const char *names[1] = {"d"};
    int dims[1] = {P};
    TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, names, dims, &mesh));
  }
  for (int part = 0; part < 2; part++) {
    int64_t c0 = part == 0 ? (int64_t)r * NCH / P : (r == P - 1 ? 0 : NCH);
    int64_t c1 = part == 0 ? (int64_t)(r + 1) * NCH / P : NCH;
    int tot[NCH];
    memset(calls, 0, sizeof calls);
    memset(got, 0, sizeof got);
    TESS_CHECK(tess_chunk_tree_sum(mesh, TESS_AXES_ALL, NCH, c0, c1, LEN, fn, NULL, got));
    CHECK(memcmp(got, want, sizeof want) == 0, "partition %d: tree sum differs from the serial tree "
          "(%.17g vs %.17g)", part, got[0], want[0]);
    MPI_Allreduce(calls, tot, NCH, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    for (int c = 0; c < NCH; c++) CHECK(tot[c] == 1, "partition %d: chunk %d computed %d times", part, c, tot[c]);
  }
  memset(got, 0, sizeof got);
  TESS_CHECK(tess_chunk_tree_sum_comm(MPI_COMM_WORLD, NCH, (int64_t)r * NCH / P,
                                      (int64_t)(r + 1) * NCH / P, LEN, fn, NULL, got));
  CHECK(memcmp(got, want, sizeof want) == 0, "_comm form differs from the serial tree");

  /* along axis 1 of a (1 x P) mesh: the same sum over the ranks of that axis */
  {
    const char *names[2] = {"a", "b"};
    int dims[2] = {1, P};
    TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 2, names, dims, &grid));
    memset(got, 0, sizeof got);
    TESS_CHECK(tess_chunk_tree_sum(grid, 1u << 1, NCH, (int64_t)r * NCH / P, (int64_t)(r + 1) * NCH / P,
                                   LEN, fn, NULL, got));
    CHECK(memcmp(got, want, sizeof want) == 0, "sub-axis sum differs from the serial tree");
  }
  {
    tess_err_t e = tess_chunk_tree_sum(mesh, TESS_AXES_ALL, NCH, 5, 3, LEN, fn, NULL, got);
    CHECK(e == TESS_ERR_ARG, "an inverted chunk range gave %d", (int)e);
    tess_error_clear();
  }

  /* GEMM against a long-double loop nest */
  {
    enum { M = 5, N = 7, K = 3 };
    double A[M * K], B[N * K], Bn[K * N], At[K * M], C[M * N], T[M * N], Cn[M * N];
    double worst = 0;
    for (int i = 0; i < M * K; i++) A[i] = sin(1.0 + i);
    for (int i = 0; i < N * K; i++) { B[i] = cos(2.0 + i); Bn[i] = sin(0.5 * i); }
    for (int i = 0; i < K * M; i++) At[i] = cos(0.3 * i);
    for (int i = 0; i < M * N; i++) { C[i] = 0.25 * i; Cn[i] = -0.5 * i; T[i] = NAN; }
    tess_gemm_single_thread();
    tess_gemm_nt_acc_f64(M, N, K, A, B, C);
    tess_gemm_tn_f64(M, N, K, At, Bn, T);
    tess_gemm_nn_acc_f64(M, N, K, A, Bn, Cn);
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) {
        long double nt = 0.25L * (i * N + j), tn = 0, nn = -0.5L * (i * N + j);
        for (int p = 0; p < K; p++) {
          nt += (long double)A[i * K + p] * B[j * K + p];
          tn += (long double)At[p * M + i] * Bn[p * N + j];
          nn += (long double)A[i * K + p] * Bn[p * N + j];
        }
        worst = fmax(worst, fabs((double)(C[i * N + j] - nt)));
        worst = fmax(worst, fabs((double)(T[i * N + j] - tn)));
        worst = fmax(worst, fabs((double)(Cn[i * N + j] - nn)));
      }
    CHECK(worst < 1e-14, "f64 GEMM off the long-double products by %g", worst);
    float Af[M * K], Bf[N * K], Cf[M * N];
    for (int i = 0; i < M * K; i++) Af[i] = (float)A[i];
    for (int i = 0; i < N * K; i++) Bf[i] = (float)B[i];
    for (int i = 0; i < M * N; i++) Cf[i] = 0;
    tess_gemm_nt_acc_f32(M, N, K, Af, Bf, Cf);
    worst = 0;
    for (int i = 0; i < M; i++)
      for (int j = 0; j < N; j++) {
        double e = 0;
        for (int p = 0; p < K; p++) e += (double)Af[i * K + p] * Bf[j * K + p];
        worst = fmax(worst, fabs(Cf[i * N + j] - e));
      }
    CHECK(worst < 1e-5, "f32 GEMM off by %g", worst);
  }
cleanup:
  if (err) { tess_error_print(stderr); CHECK(0, "run failed"); }
  tess_mesh_destroy(&mesh);
  tess_mesh_destroy(&grid);
  int rc = tess_test_finish("tree_sum");
  tess_finalize();
  return rc;
}

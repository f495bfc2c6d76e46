/* bench/bench_reshard.c: reshard throughput against a bare MPI_Alltoall.
 * The case is the distributed FFT's first transpose: a 3-D complex (c128)
 * array moves from x-pencils (x whole, y over axis p, z over axis q) to
 * y-pencils (x over p, y whole, z over q). The anchor is MPI_Alltoall, in
 * the same run, over the same communicator the reshard uses (the p axis),
 * moving the same number of bytes per rank: what a hand-written transpose
 * that needs no packing would cost. Each timed iteration starts after a
 * barrier and counts the slowest rank; the median of the iterations is
 * reported. Both reshard methods (packed alltoallv, alltoallw) are timed.
 * Usage: bench_reshard NX NY NZ [iters] [q] [methods]
 *   q: size of mesh axis q (default 1); methods: "vw" (default) or "v" to skip
 *   alltoallw, which is an order of magnitude slower on large arrays. */
#include <tessera/tessera.h>

#include <complex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench_util.h"

static double median(double *v, int n)
{
  qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void fill(const int64_t g[], int ndim, void *value, void *ctx)
{
  (void)ndim;
  (void)ctx;
  double complex v = CMPLX((double)g[0], (double)(g[1] * 1000 + g[2]));
  memcpy(value, &v, sizeof v);
}

int main(int argc, char **argv)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *x = NULL, *y = NULL;
  tess_reshard_t *plan[2] = {NULL, NULL};
  void *abuf = NULL, *rbuf = NULL;
  double *t[3] = {NULL, NULL, NULL};
  TESS_CHECK(tess_init(&argc, &argv));
  if (argc < 4) {
    fprintf(stderr, "usage: %s NX NY NZ [iters] [q]\n", argv[0]);
    return 2;
  }
  int64_t shape[3] = {atoll(argv[1]), atoll(argv[2]), atoll(argv[3])};
  int iters = argc > 4 ? atoi(argv[4]) : 5, q = argc > 5 ? atoi(argv[5]) : 1;
  int with_w = argc > 6 ? strchr(argv[6], 'w') != NULL : 1;
  const char *names[] = {"p", "q"};
  int sizes[] = {TESS_MESH_INFER, q};
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 2, names, sizes, &mesh));
  int rank = tess_mesh_rank(mesh), P = tess_mesh_axis_size(mesh, 0);
  tess_shardspec_t sx, sy;
  const char *nx[] = {NULL, "p", "q"}, *ny[] = {"p", NULL, "q"};
  TESS_CHECK(tess_shardspec_make(mesh, 3, nx, &sx));
  TESS_CHECK(tess_shardspec_make(mesh, 3, ny, &sy));
  TESS_CHECK(tess_array_create(mesh, TESS_C128, 3, shape, &sx, TESS_MEM_HOST, &x));
  TESS_CHECK(tess_array_create_like(x, &sy, &y));
  TESS_CHECK(tess_array_fill(x, fill, NULL));
  const char *methods[2] = {"alltoallv", "alltoallw"};
  for (int m = 0; m < 2; m++) {
    setenv("TESS_RESHARD_METHOD", methods[m], 1);
    TESS_CHECK(tess_reshard_create(x, y, &plan[m]));
  }
  /* Anchor: the same bytes per rank, evenly split, over the p axis. */
  size_t local = (size_t)tess_array_local_count(x), per = local / (size_t)P;
  MPI_Comm pc = tess_mesh_axis_comm(mesh, 0);
  TESS_CHECK(tess_malloc(TESS_MEM_HOST, per * (size_t)P * 16, &abuf));
  TESS_CHECK(tess_malloc(TESS_MEM_HOST, per * (size_t)P * 16, &rbuf));
  memcpy(abuf, tess_array_local_data(x), per * (size_t)P * 16);
  memset(rbuf, 0, per * (size_t)P * 16);
  for (int k = 0; k < 3; k++) t[k] = calloc((size_t)iters, sizeof(double));
  for (int it = -1; it < iters; it++) {   /* iteration -1 warms up */
    for (int k = 0; k < (with_w ? 3 : 2); k++) {
      MPI_Barrier(MPI_COMM_WORLD);
      double t0 = MPI_Wtime();
      if (k == 0)
        TESS_MPI_CHECK(MPI_Alltoall(abuf, (int)per, MPI_C_DOUBLE_COMPLEX, rbuf, (int)per,
                                    MPI_C_DOUBLE_COMPLEX, pc));
      else
        TESS_CHECK(tess_reshard_execute(plan[k - 1], x, y));
      double dt = MPI_Wtime() - t0;
      MPI_Allreduce(MPI_IN_PLACE, &dt, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
      if (it >= 0) t[k][it] = dt;
    }
  }
  /* The result must be right, or the timing means nothing. */
  long bad = 0;
  const double complex *py = tess_array_local_data_const(y);
  int64_t g[3];
  for (int64_t i = 0; i < tess_array_local_count(y); i++) {
    tess_array_global_index(y, i, g);
    if (py[i] != CMPLX((double)g[0], (double)(g[1] * 1000 + g[2]))) bad++;
  }
  MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  double ta = median(t[0], iters), tv = median(t[1], iters);
  double tw = with_w ? median(t[2], iters) : 0;
  double ma = t[0][0], mv = t[1][0], mw = t[2][0];   /* mw unused without w */   /* sorted by median(): the minima */
  double gib = (double)local * 16 / (1 << 30);   /* per rank */
  if (rank == 0) {
    int n = tess_mesh_size(mesh);
    char wcol[64] = "skipped";
    if (with_w) snprintf(wcol, sizeof wcol, "%.3g | %.2f (%.2f)", 1e3 * tw, ta / tw, ma / mw);
    else snprintf(wcol, sizeof wcol, "- | skipped");
    double mib = (double)tess_array_global_count(x) * 16 / (1 << 20);
    char size[32];
    if (mib >= 1) snprintf(size, sizeof size, "%.0f MiB", mib);
    else snprintf(size, sizeof size, "%.0f KiB", mib * 1024);
    printf("| %d (%dx%d)%s | %lldx%lldx%lld | %s | %.3g | %.2f | %.3g | %.2f (%.2f) | %s | %s |\n",
           n, P, q, n > 2 ? " oversub." : "", (long long)shape[0], (long long)shape[1],
           (long long)shape[2], size, 1e3 * ta, gib / ta, 1e3 * tv, ta / tv, ma / mv, wcol,
           bad ? "WRONG" : "ok");
  }
  if (bad) err = TESS_ERR_INTERNAL;
cleanup:
  if (err) tess_error_print(stderr);
  for (int k = 0; k < 3; k++) free(t[k]);
  tess_free(TESS_MEM_HOST, &abuf);
  tess_free(TESS_MEM_HOST, &rbuf);
  tess_reshard_destroy(&plan[0]);
  tess_reshard_destroy(&plan[1]);
  tess_array_destroy(&x);
  tess_array_destroy(&y);
  tess_mesh_destroy(&mesh);
  tess_finalize();
  return err ? 1 : 0;
}

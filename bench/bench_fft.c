/* bench/bench_fft.c: Tessera 3-D c2c forward+backward, timed like the anchor
 * /work/shared/bench-anchors/fftw_mpi_3d.c (same data, same planner flag,
 * transposed output / transposed input, median of reps, max over ranks).
 * Prints the median (what the anchor prints) and the minimum over reps.
 * usage: mpirun -n P bench_fft N reps [slab|pencil] [measure|estimate] [n0] [inplace]
 * (n0: first dim instead of N, e.g. 2 to show a grid a slab cannot split;
 * inplace: the output array over the input's memory, as the anchor runs).
 * BENCH_LOG_VIEW=1 (mpirun -x): the log-view table (lines vs all-to-all). */
#include <tessera/tessera.h>
#include "bench_fft_util.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>


int main(int argc, char **argv)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *a = NULL, *A = NULL;
  tess_fft_plan_t *pf = NULL, *pb = NULL;
  double *t = NULL;
  TESS_CHECK(tess_init(&argc, &argv));
  if (getenv("BENCH_LOG_VIEW")) tess_log_view_enable(1);
  {
    int64_t N = argc > 1 ? atol(argv[1]) : 128;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    int pencil = argc > 3 && strcmp(argv[3], "pencil") == 0;
    int measure = !(argc > 4 && strcmp(argv[4], "estimate") == 0);
    int P, r, dims[2] = {0, 0}, axes[2] = {0, 1};
    const char *names[2] = {"x", "y"};
    int64_t n0 = argc > 5 ? atol(argv[5]) : N;
    int inplace = argc > 6 && strcmp(argv[6], "inplace") == 0;
    int64_t shape[3] = {n0, N, N};
    tess_shardspec_t sp;
    tess_fft_opts_t o = {0};
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    MPI_Dims_create(P, pencil ? 2 : 1, dims);
    TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, pencil ? 2 : 1, names, dims, &mesh));
    TESS_CHECK(tess_fft_spec(3, 3, pencil ? 2 : 1, axes, TESS_FFT_LAYOUT_NATURAL, &sp));
    TESS_CHECK(tess_array_create(mesh, TESS_C128, 3, shape, &sp, TESS_MEM_HOST, &a));
    if (inplace) {
      /* the transposed output over a's own memory (the anchor's in-place
       * FFTW-MPI transform): same bytes per rank, another spec */
      tess_shardspec_t st;
      TESS_CHECK(tess_fft_spec(3, 3, pencil ? 2 : 1, axes, TESS_FFT_LAYOUT_TRANSPOSED, &st));
      TESS_CHECK(tess_array_create_with_data(mesh, TESS_C128, 3, shape, &st, TESS_MEM_HOST, NULL,
                                             tess_array_local_data(a),
                                             (size_t)tess_array_local_count(a) * 16,
                                             &A));
    } else {
      TESS_CHECK(tess_fft_create_output(a, 3, TESS_FFT_LAYOUT_TRANSPOSED, &A));
    }
    o.flags = measure ? TESS_FFT_MEASURE : TESS_FFT_ESTIMATE;
    double tp = MPI_Wtime();
    TESS_CHECK(tess_fft_plan_create_opts(a, A, TESS_FFT_FORWARD, &o, &pf));
    TESS_CHECK(tess_fft_plan_create_opts(A, a, TESS_FFT_BACKWARD, &o, &pb));
    tp = MPI_Wtime() - tp;
    TESS_CHECK(tess_array_fill(a, bench_fill_c128, NULL));
    t = malloc(sizeof(double) * (size_t)reps);
    TESS_CHECK(bench_fwd_bwd(pf, pb, a, A, a, reps, t));
    if (r == 0)
      printf("tessera %s %dx%d N=%lld%s P=%d fwd+bwd median %.4f s min %.4f s  (%.2f GFLOP/s by "
             "5NlogN x2)  plan %.2f s\n", pencil ? "pencil" : "slab", dims[0], pencil ? dims[1] : 1,
             (long long)N, n0 != N ? " (n0 changed)" : "", P, t[reps / 2], t[0],
             2 * 5.0 * (double)(n0 * N * N) * log2((double)(n0 * N * N)) / t[reps / 2] / 1e9, tp);
  }
cleanup:
  if (err) tess_error_print(stderr);
  free(t);
  tess_fft_plan_destroy(&pf);
  tess_fft_plan_destroy(&pb);
  tess_array_destroy(&a);
  tess_array_destroy(&A);
  tess_mesh_destroy(&mesh);
  tess_finalize();
  return err ? 1 : 0;
}

/* bench/bench_pycall.c: the C side of bench/run_python.sh (the Python
 * binding's overhead): the same calls bench/bench_python.py makes through
 * `tessera`, timed here in C.
 *   small: tess_array_sum of a 16-element f64 array (one allreduce), per call;
 *   fft:   N^3 c2c forward + backward (natural layout, 1/N on the backward),
 *          median of reps, max over ranks.
 * usage: mpirun -n P bench_pycall N reps */
#include <tessera/tessera.h>
#include "bench_fft_util.h"
#include <stdio.h>
#include <stdlib.h>


int main(int argc, char **argv)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *s = NULL, *x = NULL, *X = NULL, *y = NULL;
  tess_fft_plan_t *pf = NULL, *pb = NULL;
  double *t = NULL;
  TESS_CHECK(tess_init(&argc, &argv));
  {
    int64_t N = argc > 1 ? atol(argv[1]) : 256, small[1] = { 16 }, shape[3] = { N, N, N };
    int reps = argc > 2 ? atoi(argv[2]) : 5, P, r, calls = 100000;
    const char *names[1] = { "x" };
    tess_shardspec_t sp1 = { .ndim = 1, .axis = { 0 } }, sp;
    tess_fft_opts_t o = { 0 };
    double sum = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, names, &P, &mesh));
    TESS_CHECK(tess_array_create(mesh, TESS_F64, 1, small, &sp1, TESS_MEM_HOST, &s));
    double t0 = MPI_Wtime();
    for (int k = 0; k < calls; k++) TESS_CHECK(tess_array_sum(s, &sum));
    double us = (MPI_Wtime() - t0) / calls * 1e6;
    int axes[1] = { 0 };
    TESS_CHECK(tess_fft_spec(3, 3, 1, axes, TESS_FFT_LAYOUT_NATURAL, &sp));
    TESS_CHECK(tess_array_create(mesh, TESS_C128, 3, shape, &sp, TESS_MEM_HOST, &x));
    TESS_CHECK(tess_array_fill(x, bench_fill_c128, NULL));
    TESS_CHECK(tess_fft_create_output(x, 3, TESS_FFT_LAYOUT_NATURAL, &X));
    TESS_CHECK(tess_array_create_like(x, NULL, &y));
    o.rank = 3;
    o.flags = TESS_FFT_ESTIMATE;
    TESS_CHECK(tess_fft_plan_create_opts(x, X, TESS_FFT_FORWARD, &o, &pf));
    o.flags = TESS_FFT_ESTIMATE | TESS_FFT_NORM_BACKWARD;
    TESS_CHECK(tess_fft_plan_create_opts(X, y, TESS_FFT_BACKWARD, &o, &pb));
    t = malloc(sizeof *t * (size_t)reps);
    TESS_CHECK(bench_fwd_bwd(pf, pb, x, X, y, reps, t));
    if (r == 0) printf("c small %.3f us/call  fft N=%lld P=%d median %.4f s\n", us, (long long)N, P, t[reps / 2]);
  }
cleanup:
  if (err) tess_error_print(stderr);
  free(t);
  tess_fft_plan_destroy(&pf);
  tess_fft_plan_destroy(&pb);
  tess_array_destroy(&s);
  tess_array_destroy(&x);
  tess_array_destroy(&X);
  tess_array_destroy(&y);
  tess_mesh_destroy(&mesh);
  tess_finalize();
  return err ? 1 : 0;
}

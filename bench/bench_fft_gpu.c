/* bench/bench_fft_gpu.c: Tessera's 3-D FFT forward + inverse on device arrays
 * (cuFFT backend), timed like the anchor bench/anchors/fft_gpu.py (cuFFT
 * through torch.fft: out-of-place, inverse scaled by 1/N, 3 warm-ups, median
 * of 20), next to the bandwidth limit of the plan's passes.
 * usage: mpirun -n 1 bench_fft_gpu N c128|c64|r2c64|r2c32 [lines|fast] [reps]
 *   lines: the line engine (bitwise the same at every rank count);
 *   fast:  TESS_FFT_FAST_LOCAL (one multi-dim cuFFT plan where the whole
 *          transform is local: not bitwise the line engine).
 * The input is random bits of one 2^24-element host block tiled over the
 * device array (the values do not change an FFT's time). The limit is
 * passes x (bytes read + written per pass) / measured D2D copy bandwidth,
 * the copy timed here on an array of the same size. Prints one line per run
 * (rank 0). Needs a GPU; exits 77 without one. */
#include <cuda_runtime.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/tessera.h>
#include "bench_fft_util.h"

#define CU(call)                                                                      \
  do {                                                                                \
    cudaError_t e_ = (call);                                                          \
    TESS_REQUIRE(e_ == cudaSuccess, TESS_ERR_DEVICE, "%s: %s", #call, cudaGetErrorString(e_)); \
  } while (0)

/* Fill `bytes` of device memory with a random host block, tiled. */
static tess_err_t fill_random(void *d, size_t bytes, int single)
{
  tess_err_t err = TESS_OK;
  const size_t nblk = (size_t)1 << 24;   /* elements of the host block */
  size_t es = single ? 4 : 8, hb = nblk * es;
  void *h = malloc(hb);
  TESS_REQUIRE(h != NULL, TESS_ERR_MEM, "host block of %zu bytes", hb);
  for (size_t i = 0; i < nblk; i++) {
    double v = tess_rng_uniform(1, 0, i) - 0.5;
    if (single) ((float *)h)[i] = (float)v;
    else ((double *)h)[i] = v;
  }
  for (size_t off = 0; off < bytes; off += hb)
    CU(cudaMemcpy((char *)d + off, h, bytes - off < hb ? bytes - off : hb, cudaMemcpyHostToDevice));
cleanup:
  free(h);
  return err;
}

/* Median seconds of a D2D copy of `bytes` (the bandwidth reference). */
static tess_err_t copy_time(size_t bytes, double *t)
{
  tess_err_t err = TESS_OK;
  void *a = NULL, *b = NULL;
  double ts[9];
  CU(cudaMalloc(&a, bytes));
  CU(cudaMalloc(&b, bytes));
  CU(cudaMemset(a, 1, bytes));
  CU(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice));
  for (int k = 0; k < 9; k++) {
    CU(cudaDeviceSynchronize());
    double t0 = MPI_Wtime();
    CU(cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice));
    CU(cudaDeviceSynchronize());
    ts[k] = MPI_Wtime() - t0;
  }
  qsort(ts, 9, sizeof *ts, bench_cmp_double);
  *t = ts[4];
cleanup:
  cudaFree(a);
  cudaFree(b);
  return err;
}

int main(int argc, char **argv)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *x = NULL, *X = NULL, *y = NULL;
  tess_fft_plan_t *pf = NULL, *pb = NULL;
  double *t = NULL;
  int ndev = 0;
  TESS_CHECK(tess_init(&argc, &argv));
  if (cudaGetDeviceCount(&ndev) != cudaSuccess || ndev == 0) {
    fprintf(stderr, "bench_fft_gpu: no GPU\n");
    tess_finalize();
    return 77;
  }
  {
    int64_t N = argc > 1 ? atol(argv[1]) : 256;
    const char *kind = argc > 2 ? argv[2] : "c128";
    int fast = argc > 3 && strcmp(argv[3], "fast") == 0;
    int reps = argc > 4 ? atoi(argv[4]) : 20;
    int real = strncmp(kind, "r2c", 3) == 0;
    int single = strcmp(kind, "c64") == 0 || strcmp(kind, "r2c32") == 0;
    tess_dtype_t in_dt = real ? (single ? TESS_F32 : TESS_F64) : (single ? TESS_C64 : TESS_C128);
    int r, axes[1] = {0};
    const char *names[1] = {"x"};
    int64_t shape[3] = {N, N, N};
    tess_shardspec_t sp;
    tess_fft_opts_t o = {0};
    tess_fft_info_t info;
    int P;
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, names, &P, &mesh));
    TESS_CHECK(tess_fft_spec(3, 3, 1, axes, TESS_FFT_LAYOUT_NATURAL, &sp));
    TESS_CHECK(tess_array_create(mesh, in_dt, 3, shape, &sp, TESS_MEM_DEVICE, &x));
    TESS_CHECK(tess_array_create(mesh, in_dt, 3, shape, &sp, TESS_MEM_DEVICE, &y));
    TESS_CHECK(tess_fft_create_output(x, 3, TESS_FFT_LAYOUT_NATURAL, &X));
    o.flags = TESS_FFT_NORM_BACKWARD | (fast ? TESS_FFT_FAST_LOCAL : 0u);   /* torch's ifftn */
    double tp = MPI_Wtime();
    TESS_CHECK(tess_fft_plan_create_opts(x, X, TESS_FFT_FORWARD, &o, &pf));
    TESS_CHECK(tess_fft_plan_create_opts(X, y, TESS_FFT_BACKWARD, &o, &pb));
    tp = MPI_Wtime() - tp;
    TESS_CHECK(tess_fft_plan_info(pf, &info));
    size_t in_bytes = (size_t)tess_array_local_count(x) * tess_dtype_size(in_dt);
    size_t sp_bytes = (size_t)tess_array_local_count(X) * tess_dtype_size(tess_array_dtype(X));
    TESS_CHECK(fill_random(tess_array_local_data(x), in_bytes, single));
    t = malloc(sizeof(double) * (size_t)reps);
    TESS_REQUIRE(t != NULL, TESS_ERR_MEM, "timings");
    TESS_CHECK(bench_fwd_bwd(pf, pb, x, X, y, 3, t));   /* warm-up, as the anchor */
    TESS_CHECK(bench_fwd_bwd(pf, pb, x, X, y, reps, t));
    /* limit: each pass of either direction reads and writes the spectrum's
     * bytes once (r2c: roughly; its first pass reads the real input), which
     * is what one copy of the spectrum does */
    double tc = 0;
    TESS_CHECK(copy_time(sp_bytes, &tc));
    double bw = 2.0 * (double)sp_bytes / tc;
    double limit = 2.0 * info.passes * tc;
    if (r == 0)
      printf("tessera %s N=%lld %s P=%d: fwd+inv median %.3f ms min %.3f ms; passes %d/direction; "
             "copy %.0f GB/s; limit %.3f ms (%.2fx of it); plan %.3f s\n",
             fast && info.local_plan ? "fast" : "lines", (long long)N, kind, P, 1e3 * t[reps / 2],
             1e3 * t[0], info.passes, bw / 1e9, 1e3 * limit, t[reps / 2] / limit, tp);
  }
cleanup:
  if (err) tess_error_print(stderr);
  free(t);
  tess_fft_plan_destroy(&pf);
  tess_fft_plan_destroy(&pb);
  tess_array_destroy(&x);
  tess_array_destroy(&X);
  tess_array_destroy(&y);
  tess_mesh_destroy(&mesh);
  tess_finalize();
  return err ? 1 : 0;
}

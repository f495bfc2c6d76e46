/* bench/bench_comm_gpu.c: the device comm backends against their anchors,
 * measured in the same run (mpirun -n P bench_comm_gpu; needs a GPU per
 * rank, NCCL part only where NCCL is built and usable).
 *  (a) host-staged alltoall of B bytes per rank vs the unpipelined path it
 *      replaces: cudaMemcpy D2H + bare MPI_Alltoall on host buffers +
 *      cudaMemcpy H2D. ratio = anchor / staged: >= 0.8 is the target
 *      (staging may cost at most 25% over the sum; pipelining should win).
 *  (b) NCCL at one rank: alltoall to itself and allgather of B bytes vs a
 *      cudaMemcpy D2D of the same bytes. ratio = memcpy / nccl.
 * Each time is the median of REPS runs after one warm-up; the maximum over
 * ranks is taken per run (a collective is as slow as its slowest rank).
 * Sizes 1 MiB .. 256 MiB. Prints a markdown table on rank 0. */
#include <cuda_runtime.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/tessera.h>
#include "bench_util.h"

#define REPS 7
#define CU(call) do { cudaError_t e_ = (call); if (e_ != cudaSuccess) { \
    fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(e_)); \
    MPI_Abort(MPI_COMM_WORLD, 1); } } while (0)
#define TC(call) do { if ((call) != TESS_OK) { tess_error_print(stderr); MPI_Abort(MPI_COMM_WORLD, 1); } } while (0)

/* Seconds of one run, the slowest rank's. */
static double slowest(double t)
{
  MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return t;
}

static double median(double *t)
{
  qsort(t, REPS, sizeof *t, bench_cmp_double);
  return t[REPS / 2];
}

typedef enum { STAGED, ANCHOR, NCCL_A2A, NCCL_AG, D2D } kind_t;

/* One timed run of `k` moving `bytes` per rank (alltoall: bytes in all,
 * bytes/P to each peer). */
static double run_once(kind_t k, tess_mesh_t *m, size_t bytes, void *d_s, void *d_r, void *h_s,
                       void *h_r)
{
  int P = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  size_t per = bytes / (size_t)P;
  MPI_Barrier(MPI_COMM_WORLD);
  double t0 = MPI_Wtime();
  switch (k) {
  case STAGED:
  case NCCL_A2A:
    TC(tess_comm_alltoall(m, TESS_AXES_ALL, d_s, d_r, per / 4, TESS_F32, TESS_MEM_DEVICE, NULL));
    break;
  case ANCHOR:
    CU(cudaMemcpy(h_s, d_s, bytes, cudaMemcpyDeviceToHost));
    MPI_Alltoall(h_s, (int)per, MPI_BYTE, h_r, (int)per, MPI_BYTE, MPI_COMM_WORLD);
    CU(cudaMemcpy(d_r, h_r, bytes, cudaMemcpyHostToDevice));
    break;
  case NCCL_AG:
    TC(tess_comm_allgather(m, TESS_AXES_ALL, d_s, bytes / 4, d_r, TESS_F32, TESS_MEM_DEVICE, NULL));
    break;
  case D2D:
    CU(cudaMemcpy(d_r, d_s, bytes, cudaMemcpyDeviceToDevice));
    break;
  }
  CU(cudaDeviceSynchronize());
  return slowest(MPI_Wtime() - t0);
}

static double timed(kind_t k, tess_mesh_t *m, size_t bytes, void *ds, void *dr, void *hs, void *hr)
{
  double t[REPS];
  run_once(k, m, bytes, ds, dr, hs, hr);   /* warm-up: plans, NCCL comms, pinned cache */
  for (int i = 0; i < REPS; i++) t[i] = run_once(k, m, bytes, ds, dr, hs, hr);
  return median(t);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  int rank = 0, P = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  if (!tess_device_available()) {
    if (rank == 0) fprintf(stderr, "bench_comm_gpu: no GPU visible\n");
    MPI_Finalize();
    return 77;
  }
  const char *x[] = {"x"};
  tess_mesh_t *m = NULL, *self = NULL;
  TC(tess_mesh_create(MPI_COMM_WORLD, 1, x, (int[]){P}, &m));
  TC(tess_mesh_create(MPI_COMM_SELF, 1, x, (int[]){1}, &self));
  int staged_ok = tess_mesh_set_comm_backend(m, TESS_COMM_HOST_STAGED) == TESS_OK;
  int nccl_ok = tess_mesh_set_comm_backend(self, TESS_COMM_NCCL) == TESS_OK;
  tess_error_clear();
  size_t maxb = (size_t)256 << 20;
  void *ds, *dr, *hs, *hr;
  CU(cudaMalloc(&ds, maxb));
  CU(cudaMalloc(&dr, maxb));
  CU(cudaMallocHost(&hs, maxb));   /* the anchor gets pinned buffers too: a fair sum */
  CU(cudaMallocHost(&hr, maxb));
  CU(cudaMemset(ds, 1, maxb));
  if (rank == 0) {
    printf("# bench_comm_gpu: %d rank(s)\n\n", P);
    printf("| bytes/rank | staged a2a (ms) | D2H+MPI_Alltoall+H2D (ms) | ratio (>=0.8) | "
           "NCCL self a2a (ms) | NCCL self allgather (ms) | D2D memcpy (ms) | memcpy/nccl a2a |\n");
    printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  }
  for (size_t b = (size_t)1 << 20; b <= maxb; b *= 4) {
    size_t bytes = b / ((size_t)P * 4) * (size_t)P * 4;   /* whole f32 blocks per peer */
    double st = staged_ok ? timed(STAGED, m, bytes, ds, dr, hs, hr) : 0;
    double an = timed(ANCHOR, m, bytes, ds, dr, hs, hr);
    double na = 0, ng = 0, dd = 0;
    int me_nccl = nccl_ok, all_nccl = 0;
    MPI_Allreduce(&me_nccl, &all_nccl, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (all_nccl) {
      /* one rank's NCCL (a mesh over MPI_COMM_SELF); `slowest` still
       * reduces over the world, so every rank runs these */
      na = timed(NCCL_A2A, self, bytes, ds, dr, hs, hr);
      ng = timed(NCCL_AG, self, bytes, ds, dr, hs, hr);
    }
    dd = timed(D2D, m, bytes, ds, dr, hs, hr);
    if (rank == 0) {
      printf("| %zu | %.3f | %.3f | %.2f | ", bytes, st * 1e3, an * 1e3, st > 0 ? an / st : 0.0);
      if (all_nccl) printf("%.3f | %.3f | %.3f | %.2f |\n", na * 1e3, ng * 1e3, dd * 1e3, dd / na);
      else printf("n/a | n/a | %.3f | n/a |\n", dd * 1e3);
    }
  }
  if (rank == 0 && !staged_ok) printf("\nhost-staged unavailable on this mesh\n");
  if (rank == 0 && !nccl_ok) printf("\nNCCL unavailable (not built, or ranks share a GPU)\n");
  CU(cudaFree(ds));
  CU(cudaFree(dr));
  CU(cudaFreeHost(hs));
  CU(cudaFreeHost(hr));
  tess_mesh_destroy(&self);
  tess_mesh_destroy(&m);
  MPI_Finalize();
  return 0;
}

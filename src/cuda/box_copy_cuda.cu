/* src/cuda/box_copy_cuda.cu: tess_device_cuda.box_copy, the pack/unpack of
 * a device reshard. The layout rule is box_copy.c's: trailing dimensions
 * that are whole in source, destination and box merge into one contiguous
 * run, so a box is (outer rows) x (run bytes). One kernel launch copies it:
 * the grid's y covers rows, its x the run, in the widest word (16, 8, 4, 2
 * or 1 bytes) that every row start, run length and pointer allows, so the
 * common case of aligned complex or double runs moves 16 bytes per access.
 * Enqueued on the caller's stream; nothing is synchronized here. */
#include <cuda_runtime.h>

#include <stdint.h>

extern "C" {   /* the private and public headers are C */
#include "device.h"
}

/* As in device_cuda.cu: clear CUDA's sticky last error, push TESS_ERR_DEVICE. */
#define CUDA_FAIL(e, what, ...)                                                         \
  (cudaGetLastError(),                                                                \
   tess_error_push(TESS_ERR_DEVICE, __FILE__, __LINE__, __func__, what ": %s (%s)",     \
                   ##__VA_ARGS__, cudaGetErrorString(e), cudaGetErrorName(e)))

/* TESS_MAX_NDIM (buffer.h) or more: buffer.h pulls in mpi.h, which does not
 * compile as C++ inside extern "C", so the bound is restated and checked. */
#define BOX_MAX_NDIM 8

namespace {

/* Dimensions 0..nout-1 are looped (the rows); strides and bases in bytes. */
struct box_desc {
  int nout;
  int64_t ext[BOX_MAX_NDIM];
  int64_t dstride[BOX_MAX_NDIM], sstride[BOX_MAX_NDIM];
  int64_t rows;      /* product of ext[0..nout-1] */
  int64_t nword;     /* words per row */
};

constexpr int THREADS = 256;
constexpr unsigned MAX_GRID_Y = 65535;   /* CUDA's limit; rows beyond it loop */
constexpr unsigned MAX_GRID_X = 1u << 16;   /* enough blocks to fill any GPU; wider runs loop */

template <typename W>
__global__ void box_copy_kernel(char *__restrict__ dst, const char *__restrict__ src, box_desc b)
{
  for (int64_t row = blockIdx.y; row < b.rows; row += gridDim.y) {
    /* Unravel the row index over the looped dims (innermost fastest). */
    int64_t r = row, doff = 0, soff = 0;
    for (int d = b.nout - 1; d >= 0; d--) {
      int64_t i = r % b.ext[d];
      r /= b.ext[d];
      doff += i * b.dstride[d];
      soff += i * b.sstride[d];
    }
    W *dw = reinterpret_cast<W *>(dst + doff);
    const W *sw = reinterpret_cast<const W *>(src + soff);
    for (int64_t w = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; w < b.nword;
         w += (int64_t)gridDim.x * blockDim.x)
      dw[w] = sw[w];
  }
}

template <typename W>
cudaError_t launch(char *dst, const char *src, box_desc b, cudaStream_t stream)
{
  b.nword /= (int64_t)sizeof(W);
  int64_t gx = (b.nword + THREADS - 1) / THREADS;
  dim3 grid((unsigned)(gx < (int64_t)MAX_GRID_X ? gx : MAX_GRID_X),
            (unsigned)(b.rows < (int64_t)MAX_GRID_Y ? b.rows : MAX_GRID_Y));
  box_copy_kernel<W><<<grid, THREADS, 0, stream>>>(dst, src, b);
  return cudaGetLastError();
}

}  // namespace

extern "C" tess_err_t tess_cuda_box_copy_(int ndim, size_t esize, const int64_t ext[], void *dst,
                                          const int64_t dshape[], const int64_t doff[],
                                          const void *src, const int64_t sshape[],
                                          const int64_t soff[], tess_stream_t stream)
{
  box_desc b = {};
  int64_t run = 1, ds = 1, ss = 1, dbase = 0, sbase = 0;
  int64_t dstride[BOX_MAX_NDIM], sstride[BOX_MAX_NDIM];
  int k = ndim;   /* dims k..ndim-1 form the contiguous run */
  if (ndim < 0 || ndim > BOX_MAX_NDIM)
    return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, __func__,
                           "box copy of %d dimensions (at most %d)", ndim, BOX_MAX_NDIM);
  for (int d = 0; d < ndim; d++)
    if (ext[d] == 0) return TESS_OK;
  /* box_copy.c's merge: whole trailing dims, then the first partial one. */
  while (k > 0) {
    k--;
    run *= ext[k];
    if (!(ext[k] == dshape[k] && ext[k] == sshape[k])) break;
  }
  for (int d = ndim - 1; d >= 0; d--) {
    dstride[d] = ds * (int64_t)esize;
    sstride[d] = ss * (int64_t)esize;
    ds *= dshape[d];
    ss *= sshape[d];
  }
  for (int d = 0; d < ndim; d++) {
    dbase += doff[d] * dstride[d];
    sbase += soff[d] * sstride[d];
  }
  b.nout = k;
  b.rows = 1;
  for (int d = 0; d < k; d++) {
    b.ext[d] = ext[d];
    b.dstride[d] = dstride[d];
    b.sstride[d] = sstride[d];
    b.rows *= ext[d];
  }
  b.nword = run * (int64_t)esize;   /* bytes until launch<W> divides */
  char *dp = (char *)dst + dbase;
  const char *sp = (const char *)src + sbase;
  /* The widest word that divides every address and length the kernel uses. */
  uint64_t a = (uint64_t)(uintptr_t)dp | (uint64_t)(uintptr_t)sp | (uint64_t)b.nword;
  for (int d = 0; d < k; d++) a |= (uint64_t)b.dstride[d] | (uint64_t)b.sstride[d];
  cudaStream_t cs = (cudaStream_t)stream;
  cudaError_t e;
  if (a % 16 == 0) e = launch<uint4>(dp, sp, b, cs);
  else if (a % 8 == 0) e = launch<uint2>(dp, sp, b, cs);
  else if (a % 4 == 0) e = launch<unsigned>(dp, sp, b, cs);
  else if (a % 2 == 0) e = launch<unsigned short>(dp, sp, b, cs);
  else e = launch<unsigned char>(dp, sp, b, cs);
  if (e != cudaSuccess)
    return CUDA_FAIL(e, "box copy kernel (%lld rows of %lld bytes)", (long long)b.rows,
                     (long long)(run * (int64_t)esize));
  return TESS_OK;
}

/* spectral/cuda/cuda_finish.h: the end of a kernel launch in spectral/cuda/
 * (private): the launch's error, then the kernel's, as TESS_ERR_DEVICE with
 * CUDA's string. Kernels run on the default stream and report
 * asynchronously, so the stream is synchronized here. */
#ifndef TESSERA_SPECTRAL_CUDA_FINISH_H
#define TESSERA_SPECTRAL_CUDA_FINISH_H
#include <cuda_runtime.h>
#include <tessera/error.h>

static inline tess_err_t spectral_cuda_finish_(const char *file, int line, const char *unit,
                                               const char *what)
{
  cudaError_t e = cudaGetLastError();
  if (e == cudaSuccess) e = cudaStreamSynchronize((cudaStream_t)0);
  if (e != cudaSuccess)
    return tess_error_push(TESS_ERR_DEVICE, file, line, unit, "%s kernel: %s (%s)", what,
                           cudaGetErrorString(e), cudaGetErrorName(e));
  return TESS_OK;
}
#endif

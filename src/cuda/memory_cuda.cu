/* src/cuda/memory_cuda.cu: the device half of src/memory.c (CUDA runtime).
 * Plain cudaMalloc, never managed memory: the GPU machines' rules, and the
 * comm backends hand these pointers to NCCL or stage them through the host. */
#include <cuda_runtime.h>
extern "C" {
#include <tessera/error.h>

static tess_err_t cuda_fail(cudaError_t e, const char *what)
{
  return tess_error_push(TESS_ERR_MEM, __FILE__, __LINE__, what, "%s", cudaGetErrorString(e));
}

int tess_device_count_(void);

tess_err_t tess_device_malloc_(size_t bytes, void **ptr)
{
  *ptr = NULL;
  if (tess_device_count_() == 0)
    return tess_error_push(TESS_ERR_UNSUPPORTED, __FILE__, __LINE__, __func__,
                           "device memory requested, but no GPU is visible to this rank");
  cudaError_t e = cudaMalloc(ptr, bytes ? bytes : 1);
  if (e != cudaSuccess) { *ptr = NULL; return cuda_fail(e, "cudaMalloc"); }
  return TESS_OK;
}

void tess_device_free_(void *ptr) { cudaFree(ptr); }

tess_err_t tess_device_memcpy_(void *dst, int dst_dev, const void *src, int src_dev, size_t bytes)
{
  cudaMemcpyKind k = dst_dev ? (src_dev ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                             : (src_dev ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
  cudaError_t e = cudaMemcpy(dst, src, bytes, k);
  return e == cudaSuccess ? TESS_OK : cuda_fail(e, "cudaMemcpy");
}

tess_err_t tess_device_memset_(void *ptr, int value, size_t bytes)
{
  cudaError_t e = cudaMemset(ptr, value, bytes);
  return e == cudaSuccess ? TESS_OK : cuda_fail(e, "cudaMemset");
}

int tess_device_count_(void)
{
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) { cudaGetLastError(); return 0; }
  return n;
}

tess_err_t tess_device_select_(int device)
{
  cudaError_t e = cudaSetDevice(device);
  if (e != cudaSuccess)
    return tess_error_push(TESS_ERR_UNSUPPORTED, __FILE__, __LINE__, "cudaSetDevice",
                           "cannot make GPU %d current: %s", device, cudaGetErrorString(e));
  return TESS_OK;
}
}

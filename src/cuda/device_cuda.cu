/* src/cuda/device_cuda.cu: the CUDA instance of the device-ops table
 * (src/device.h), the one file that includes cuda_runtime.h. Plain
 * cudaMalloc, never managed memory: the GPU machines' rules, and the comm
 * backends hand these pointers to NCCL or stage them through the host.
 * A tess_stream_t is a cudaStream_t, a tess_event_t a cudaEvent_t. Every
 * failure is TESS_ERR_DEVICE, pushed from the function where the runtime
 * call failed, with the call and CUDA's own name and text for the error. */
#include <cuda_runtime.h>
#include <string.h>

extern "C" {   /* the public headers are C */
#include "device.h"
}

/* Push TESS_ERR_DEVICE for a failed runtime call, after clearing CUDA's
 * sticky "last error" so the next call does not report it again. */
#define CUDA_FAIL(e, what, ...)                                                         \
  (cudaGetLastError(),                                                                \
   tess_error_push(TESS_ERR_DEVICE, __FILE__, __LINE__, __func__, what ": %s (%s)",     \
                   ##__VA_ARGS__, cudaGetErrorString(e), cudaGetErrorName(e)))
#define CUDA_TRY(call, what, ...) do { cudaError_t cu_e_ = (call);                      \
    if (cu_e_ != cudaSuccess) return CUDA_FAIL(cu_e_, what, ##__VA_ARGS__); } while (0)

extern "C" {

static int cuda_count(void)
{
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) { cudaGetLastError(); return 0; }
  return n;
}

static tess_err_t cuda_set_device(int device)
{
  CUDA_TRY(cudaSetDevice(device), "cudaSetDevice(%d)", device);
  return TESS_OK;
}

static tess_err_t cuda_get_device(int *device)
{
  CUDA_TRY(cudaGetDevice(device), "cudaGetDevice");
  return TESS_OK;
}

static tess_err_t cuda_alloc(int device, size_t bytes, void **ptr)
{
  int cur = -1;
  cudaError_t e;
  *ptr = NULL;
  if (cuda_count() == 0)
    return tess_error_push(TESS_ERR_UNSUPPORTED, __FILE__, __LINE__, __func__,
                           "device memory requested, but no GPU is visible to this rank");
  if (device >= 0) {   /* allocate on `device`, then give the thread its device back */
    CUDA_TRY(cudaGetDevice(&cur), "cudaGetDevice");
    if (cur != device) CUDA_TRY(cudaSetDevice(device), "cudaSetDevice(%d)", device);
  }
  e = cudaMalloc(ptr, bytes ? bytes : 1);
  if (e != cudaSuccess) *ptr = NULL;
  if (cur >= 0 && cur != device) (void)cudaSetDevice(cur);
  if (e != cudaSuccess) return CUDA_FAIL(e, "cudaMalloc(%zu bytes)", bytes);
  return TESS_OK;
}

static void cuda_free(void *ptr) { (void)cudaFree(ptr); }

static tess_err_t cuda_alloc_pinned(size_t bytes, void **ptr)
{
  *ptr = NULL;
  cudaError_t e = cudaMallocHost(ptr, bytes ? bytes : 1);
  if (e != cudaSuccess) { *ptr = NULL; return CUDA_FAIL(e, "cudaMallocHost(%zu bytes)", bytes); }
  return TESS_OK;
}

static void cuda_free_pinned(void *ptr) { (void)cudaFreeHost(ptr); }

static tess_err_t cuda_memcpy(void *dst, const void *src, size_t bytes, tess_copy_kind_t kind,
                              tess_stream_t stream)
{
  /* D2D as "default": with unified addressing that also covers peer GPUs. */
  static const cudaMemcpyKind k[] = {cudaMemcpyHostToHost, cudaMemcpyHostToDevice,
                                     cudaMemcpyDeviceToHost, cudaMemcpyDefault};
  if (bytes == 0) return TESS_OK;
  CUDA_TRY(cudaMemcpyAsync(dst, src, bytes, k[kind], (cudaStream_t)stream),
           "cudaMemcpyAsync(%zu bytes)", bytes);
  return TESS_OK;
}

static tess_err_t cuda_memset(void *ptr, int value, size_t bytes, tess_stream_t stream)
{
  if (bytes == 0) return TESS_OK;
  CUDA_TRY(cudaMemsetAsync(ptr, value, bytes, (cudaStream_t)stream),
           "cudaMemsetAsync(%zu bytes)", bytes);
  return TESS_OK;
}

static tess_err_t cuda_stream_create(tess_stream_t *s)
{
  cudaStream_t cs = NULL;
  *s = TESS_STREAM_DEFAULT;
  CUDA_TRY(cudaStreamCreateWithFlags(&cs, cudaStreamNonBlocking), "cudaStreamCreateWithFlags");
  *s = (tess_stream_t)cs;
  return TESS_OK;
}

static tess_err_t cuda_stream_destroy(tess_stream_t s)
{
  if (s) CUDA_TRY(cudaStreamDestroy((cudaStream_t)s), "cudaStreamDestroy");
  return TESS_OK;
}

static tess_err_t cuda_stream_sync(tess_stream_t s)
{
  CUDA_TRY(cudaStreamSynchronize((cudaStream_t)s), "cudaStreamSynchronize");
  return TESS_OK;
}

static tess_err_t cuda_event_create(tess_event_t *ev)
{
  cudaEvent_t ce = NULL;
  *ev = NULL;
  CUDA_TRY(cudaEventCreateWithFlags(&ce, cudaEventDisableTiming), "cudaEventCreateWithFlags");
  *ev = (tess_event_t)ce;
  return TESS_OK;
}

static tess_err_t cuda_event_record(tess_event_t ev, tess_stream_t s)
{
  CUDA_TRY(cudaEventRecord((cudaEvent_t)ev, (cudaStream_t)s), "cudaEventRecord");
  return TESS_OK;
}

static tess_err_t cuda_event_sync(tess_event_t ev)
{
  CUDA_TRY(cudaEventSynchronize((cudaEvent_t)ev), "cudaEventSynchronize");
  return TESS_OK;
}

static tess_err_t cuda_event_destroy(tess_event_t ev)
{
  if (ev) CUDA_TRY(cudaEventDestroy((cudaEvent_t)ev), "cudaEventDestroy");
  return TESS_OK;
}

static tess_err_t cuda_device_uuid(int device, unsigned char uuid[16])
{
  cudaDeviceProp prop;
  CUDA_TRY(cudaGetDeviceProperties(&prop, device), "cudaGetDeviceProperties(%d)", device);
  memcpy(uuid, prop.uuid.bytes, 16);
  return TESS_OK;
}

/* Managed memory counts as device memory: the library never allocates it,
 * and whether the CPU may touch it depends on the system. Memory the runtime
 * does not know (cudaMemoryTypeUnregistered, or an error for it on old
 * runtimes) is plain host memory. */
static tess_err_t cuda_pointer_space(const void *p, tess_memspace_t *space)
{
  cudaPointerAttributes a;
  *space = TESS_MEM_HOST;
  if (!p) return TESS_OK;
  if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
    (void)cudaGetLastError();   /* not an error of the caller's next call */
    return TESS_OK;
  }
  if (a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged)
    *space = tess_memspace_device(a.device);
  else if (a.type == cudaMemoryTypeHost)
    *space = TESS_MEM_HOST_PINNED;
  return TESS_OK;
}

const tess_device_ops_t tess_device_cuda = {
  "cuda",
  cuda_count,
  cuda_set_device,
  cuda_get_device,
  cuda_alloc,
  cuda_free,
  cuda_alloc_pinned,
  cuda_free_pinned,
  cuda_memcpy,
  cuda_memset,
  cuda_stream_create,
  cuda_stream_destroy,
  cuda_stream_sync,
  cuda_event_create,
  cuda_event_record,
  cuda_event_sync,
  cuda_event_destroy,
  tess_cuda_box_copy_,
  cuda_device_uuid,
  cuda_pointer_space,
};
}

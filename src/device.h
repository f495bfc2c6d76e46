/* src/device.h: the device-ops table, one instance per kind of memory
 * backend: device_host.c (the CPU) and, in CUDA builds, cuda/device_cuda.cu
 * (the only file that includes cuda_runtime.h). memory.c and mesh.c call
 * through the table, never a runtime directly, so a second GPU runtime is
 * one more instance. Not installed.
 *
 * Streams are the public tess_stream_t (stream.h); TESS_STREAM_DEFAULT is
 * the backend's default stream. The host instance runs everything in order
 * on the calling thread, so its "async" calls are complete on return and
 * its streams and events are tokens. Failures push TESS_ERR_DEVICE (CUDA)
 * from the function where the runtime call failed, naming the call and
 * the runtime's error string. */
#ifndef TESSERA_DEVICE_H
#define TESSERA_DEVICE_H
#include <stddef.h>
#include <stdint.h>
#include <tessera/config.h>
#include <tessera/error.h>
#include <tessera/memory.h>
#include <tessera/stream.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tess_event *tess_event_t;

/* Direction of a copy; the runtime may infer it from the pointers (UVA),
 * but naming it keeps host-only backends honest. */
typedef enum {
  TESS_COPY_H2H = 0, TESS_COPY_H2D, TESS_COPY_D2H, TESS_COPY_D2D
} tess_copy_kind_t;

typedef struct tess_device_ops {
  const char *name;
  int (*device_count)(void);                 /* 0 when none is visible */
  tess_err_t (*set_device)(int device);      /* make `device` current for this thread */
  tess_err_t (*get_device)(int *device);
  /* Device memory on `device` (-1: the current one); bytes 0 is valid. */
  tess_err_t (*alloc)(int device, size_t bytes, void **ptr);
  void (*free)(void *ptr);
  /* Page-locked host memory (the pinned-host memory space). */
  tess_err_t (*alloc_pinned)(size_t bytes, void **ptr);
  void (*free_pinned)(void *ptr);
  tess_err_t (*memcpy_async)(void *dst, const void *src, size_t bytes, tess_copy_kind_t kind,
                             tess_stream_t stream);
  tess_err_t (*memset_async)(void *ptr, int value, size_t bytes, tess_stream_t stream);
  tess_err_t (*stream_create)(tess_stream_t *stream);
  tess_err_t (*stream_destroy)(tess_stream_t stream);
  tess_err_t (*stream_sync)(tess_stream_t stream);
  tess_err_t (*event_create)(tess_event_t *event);
  tess_err_t (*event_record)(tess_event_t event, tess_stream_t stream);
  tess_err_t (*event_sync)(tess_event_t event);
  tess_err_t (*event_destroy)(tess_event_t event);
  /* Copy a box of extent ext[] between two row-major arrays in this
   * backend's memory, as tess_box_copy_ (array_internal.h) does on the host:
   * from src (shape sshape, box at soff) to dst (shape dshape, box at doff),
   * enqueued on `stream`. The pack/unpack of a device reshard. */
  tess_err_t (*box_copy)(int ndim, size_t esize, const int64_t ext[], void *dst,
                         const int64_t dshape[], const int64_t doff[], const void *src,
                         const int64_t sshape[], const int64_t soff[], tess_stream_t stream);
  /* The 16-byte identity of `device` (CUDA's UUID), the same for every
   * process that sees that GPU, whatever its visible-device numbering: how
   * the comm probe tells whether two ranks share a GPU. NULL: no devices. */
  tess_err_t (*device_uuid)(int device, unsigned char uuid[16]);
  /* The space `p` points into (tess_memspace_of): device n, pinned host or
   * host. NULL: every pointer is host memory (the CPU instance). */
  tess_err_t (*pointer_space)(const void *p, tess_memspace_t *space);
} tess_device_ops_t;

/* The CPU: aligned (huge-page) host blocks, memcpy, memset. */
extern const tess_device_ops_t tess_device_host;
#if TESSERA_HAVE_CUDA
extern const tess_device_ops_t tess_device_cuda;
/* cuda/box_copy_cuda.cu: tess_device_cuda.box_copy. */
tess_err_t tess_cuda_box_copy_(int ndim, size_t esize, const int64_t ext[], void *dst,
                               const int64_t dshape[], const int64_t doff[], const void *src,
                               const int64_t sshape[], const int64_t soff[],
                               tess_stream_t stream);
#endif

/* The build's GPU backend, or NULL when it has none. */
const tess_device_ops_t *tess_device_gpu_(void);
/* The GPU backend when it has a visible device, else NULL (cached: the
 * device count of a process does not change). */
const tess_device_ops_t *tess_device_active_(void);
/* The ops serving memory `space` (memory.c), or an error saying why there
 * are none (no GPU backend, no visible GPU, an invalid space). */
tess_err_t tess_device_ops_for_(tess_memspace_t space, const tess_device_ops_t **ops);

#ifdef __cplusplus
}
#endif
#endif

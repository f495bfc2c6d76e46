/* include/tessera/memory.h: memory behind one interface for host, pinned
 * host and device. Host blocks are 64-byte aligned (AVX-512 lines, FFTW's
 * SIMD needs). Device memory is served by the GPU backend when the build has
 * one; otherwise a request for it returns TESS_ERR_UNSUPPORTED, never host
 * memory in disguise.
 *
 * A tess_memspace_t is a kind plus, for device memory, which device: an int
 * so that the plain constants compare with == as they always have. The
 * low byte is the kind; above it, device index + 1 (0 = the calling rank's
 * current device, the one its mesh bound). TESS_MEM_DEVICE is "current
 * device"; tess_memspace_device(n) names GPU n. */
#ifndef TESSERA_MEMORY_H
#define TESSERA_MEMORY_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stddef.h>
#include <tessera/error.h>

typedef int tess_memspace_t;

enum {
  TESS_MEM_HOST = 0,         /* pageable host memory */
  TESS_MEM_DEVICE = 1,       /* memory of the current GPU */
  /* Page-locked host memory: host-accessible like TESS_MEM_HOST, and the
   * GPU's copy engines reach it directly (async copies overlap). Without
   * a visible GPU it is ordinary host memory: pinning is for DMA only. */
  TESS_MEM_HOST_PINNED = 2,
  TESS_MEM_NKINDS
};

#define TESS_ALIGN 64

/* The space of GPU `device` (>= 0); -1 gives TESS_MEM_DEVICE. */
tess_memspace_t tess_memspace_device(int device);
/* TESS_MEM_HOST, TESS_MEM_DEVICE or TESS_MEM_HOST_PINNED (the kind alone). */
int tess_memspace_kind(tess_memspace_t space);
/* The device index a device space names; -1 for the current device and
 * for host spaces. */
int tess_memspace_device_index(tess_memspace_t space);
/* 1 for spaces the CPU may dereference (host, pinned host). */
int tess_memspace_is_host(tess_memspace_t space);
/* 1 for a space this API knows (a valid kind, a device index < 255). */
int tess_memspace_valid(tess_memspace_t space);
/* "host", "host_pinned", "device", "device 3": for messages. */
const char *tess_memspace_name(tess_memspace_t space);

/* *ptr = NULL on failure; bytes == 0 gives a valid, freeable pointer. */
tess_err_t tess_malloc(tess_memspace_t space, size_t bytes, void **ptr);
/* Same, zero-filled. */
tess_err_t tess_calloc(tess_memspace_t space, size_t bytes, void **ptr);
/* Safe on NULL; sets *ptr to NULL. `space` must be the one it came from. */
void tess_free(tess_memspace_t space, void **ptr);
/* Synchronous: returns when the bytes have arrived. */
tess_err_t tess_memcpy(tess_memspace_t dst_space, void *dst,
                       tess_memspace_t src_space, const void *src, size_t bytes);
tess_err_t tess_memset(tess_memspace_t space, void *ptr, int value, size_t bytes);
/* Host copy with streaming (non-temporal) stores where the CPU has them, for
 * destinations far larger than the caches that nobody reads soon: a plain
 * copy first fetches every destination line (3 bytes moved per byte), this
 * one does not (2). Elsewhere a plain memcpy. The stores are weakly ordered:
 * call tess_stream_fence() before other threads or processes read dst. */
void tess_memcpy_stream(void *dst, const void *src, size_t bytes);
void tess_stream_fence(void);
/* The space `p` points into, as the GPU runtime knows it: a device space
 * (tess_memspace_device(n); managed memory counts as device), pinned host,
 * or host for everything else, NULL included. Without a GPU backend or a
 * visible GPU every pointer is host. For host-only code handed raw pointers
 * (the ML operators): a clean refusal instead of a crash. */
tess_err_t tess_memspace_of(const void *p, tess_memspace_t *space);
/* 1 if this build has a device backend and a device is visible. */
int tess_device_available(void);
/* Number of GPUs visible to this process (0 without a device backend). */
int tess_device_count(void);
/* "cuda" or "host": the device backend this build has. */
const char *tess_device_backend_name(void);
TESS_API_END
#endif

/* include/tessera/memory.h: memory behind one interface for host and device.
 * Host blocks are 64-byte aligned (AVX-512 lines, FFTW's SIMD needs). Device
 * memory is served by the GPU backend when the build has one; otherwise a
 * request for it returns TESS_ERR_UNSUPPORTED, never host memory in disguise. */
#ifndef TESSERA_MEMORY_H
#define TESSERA_MEMORY_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stddef.h>
#include <tessera/error.h>

typedef enum { TESS_MEM_HOST = 0, TESS_MEM_DEVICE = 1 } tess_memspace_t;

#define TESS_ALIGN 64

/* *ptr = NULL on failure; bytes == 0 gives a valid, freeable pointer. */
tess_err_t tess_malloc(tess_memspace_t space, size_t bytes, void **ptr);
/* Same, zero-filled. */
tess_err_t tess_calloc(tess_memspace_t space, size_t bytes, void **ptr);
/* Safe on NULL; sets *ptr to NULL. */
void tess_free(tess_memspace_t space, void **ptr);
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
/* 1 if this build has a device backend and a device is visible. */
int tess_device_available(void);
TESS_API_END
#endif

/* src/device_host.c: the CPU instance of the device-ops table. Blocks are
 * TESS_ALIGN-aligned; big ones start on a 2 MiB boundary and ask for
 * transparent huge pages (see host_alloc). Everything runs in order on the
 * calling thread: an "async" copy is done when it returns, so streams and
 * events are tokens with nothing to wait for. "Pinned" host memory here is
 * ordinary memory: pinning only matters to a GPU's copy engines. */
/* madvise(MADV_HUGEPAGE) is a Linux extension, outside POSIX. */
#define _DEFAULT_SOURCE
#include "array_internal.h"
#include "device.h"

#include <tessera/memory.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Big host blocks start on a 2 MiB boundary and ask the kernel for
 * transparent huge pages (where THP is in "madvise" mode, the common default,
 * nothing else gets them). Strided passes over a big array (an FFT's columns,
 * a reshard's boxes) touch a new 4 KiB page every few rows; with 2 MiB pages
 * the TLB covers the whole array, worth 5-10 % of a 128^3 FFT here (more in a
 * VM, whose page walks are two-level). TESS_HUGEPAGES=0 turns it off. */
#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_MIN_BYTES ((size_t)4 << 20)

static int huge_pages_wanted(void)   /* read per call: big blocks are few */
{
  const char *e = getenv("TESS_HUGEPAGES");
  return !(e && strcmp(e, "0") == 0);
}

static tess_err_t host_alloc(int device, size_t bytes, void **ptr)
{
  void *p = NULL;
  (void)device;
  *ptr = NULL;
  if (bytes >= HUGE_MIN_BYTES && huge_pages_wanted()) {
    if (posix_memalign(&p, HUGE_PAGE, bytes) != 0) p = NULL;
#ifdef MADV_HUGEPAGE
    else (void)madvise(p, bytes, MADV_HUGEPAGE);   /* a hint only; the kernel rounds the length */
#endif
  } else {
    size_t rounded = (bytes + TESS_ALIGN - 1) / TESS_ALIGN * TESS_ALIGN;
    p = aligned_alloc(TESS_ALIGN, rounded ? rounded : TESS_ALIGN);
  }
  if (!p)
    return tess_error_push(TESS_ERR_MEM, __FILE__, __LINE__, __func__,
                           "cannot allocate %zu bytes of host memory", bytes);
  *ptr = p;
  return TESS_OK;
}

static void host_free(void *ptr) { free(ptr); }
static tess_err_t host_alloc_pinned(size_t bytes, void **ptr) { return host_alloc(-1, bytes, ptr); }
static int host_count(void) { return 0; }

static tess_err_t host_set_device(int device)
{
  return tess_error_push(TESS_ERR_UNSUPPORTED, __FILE__, __LINE__, __func__,
                         "cannot select GPU %d: the host backend has no devices", device);
}

static tess_err_t host_get_device(int *device)
{
  *device = -1;
  return TESS_OK;
}

static tess_err_t host_memcpy(void *dst, const void *src, size_t bytes, tess_copy_kind_t kind,
                              tess_stream_t stream)
{
  (void)stream;
  if (kind != TESS_COPY_H2H)
    return tess_error_push(TESS_ERR_UNSUPPORTED, __FILE__, __LINE__, __func__,
                           "device copy requested, but this build has no GPU backend");
  if (bytes) memcpy(dst, src, bytes);
  return TESS_OK;
}

static tess_err_t host_memset(void *ptr, int value, size_t bytes, tess_stream_t stream)
{
  (void)stream;
  if (bytes) memset(ptr, value, bytes);
  return TESS_OK;
}

/* Synchronous like every "async" op here; no streaming stores (the
 * callers that want them call tess_box_copy_ directly). */
static tess_err_t host_box_copy(int ndim, size_t esize, const int64_t ext[], void *dst,
                                const int64_t dshape[], const int64_t doff[], const void *src,
                                const int64_t sshape[], const int64_t soff[], tess_stream_t stream)
{
  (void)stream;
  tess_box_copy_(ndim, esize, ext, dst, dshape, doff, src, sshape, soff, 0);
  return TESS_OK;
}

/* In-order execution: one shared non-NULL token stands for every stream
 * and event, so callers can tell "made" from "not made". */
static char token;
static tess_err_t host_stream_create(tess_stream_t *s) { *s = (tess_stream_t)(void *)&token; return TESS_OK; }
static tess_err_t host_stream_nop(tess_stream_t s) { (void)s; return TESS_OK; }
static tess_err_t host_event_create(tess_event_t *e) { *e = (tess_event_t)(void *)&token; return TESS_OK; }
static tess_err_t host_event_record(tess_event_t e, tess_stream_t s) { (void)e, (void)s; return TESS_OK; }
static tess_err_t host_event_nop(tess_event_t e) { (void)e; return TESS_OK; }

const tess_device_ops_t tess_device_host = {
  .name = "host",
  .device_count = host_count,
  .set_device = host_set_device,
  .get_device = host_get_device,
  .alloc = host_alloc,
  .free = host_free,
  .alloc_pinned = host_alloc_pinned,
  .free_pinned = host_free,
  .memcpy_async = host_memcpy,
  .memset_async = host_memset,
  .stream_create = host_stream_create,
  .stream_destroy = host_stream_nop,
  .stream_sync = host_stream_nop,
  .event_create = host_event_create,
  .event_record = host_event_record,
  .event_sync = host_event_nop,
  .event_destroy = host_event_nop,
  .box_copy = host_box_copy,
};

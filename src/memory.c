/* src/memory.c: host, pinned-host and device memory behind one interface.
 * Each space is served by an instance of the device-ops table (device.h):
 * host memory by device_host.c, device and pinned memory by the build's GPU
 * backend (cuda/device_cuda.cu) when one is built and a GPU is visible.
 * Without one, device requests fail with TESS_ERR_UNSUPPORTED and pinned
 * requests get ordinary host memory (see memory.h). */
#include "device.h"

#include <tessera/memory.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define KIND_BITS 8
#define MAX_DEVICES 254

const tess_device_ops_t *tess_device_gpu_(void)
{
#if TESSERA_HAVE_CUDA
  return &tess_device_cuda;
#else
  return NULL;
#endif
}

const tess_device_ops_t *tess_device_active_(void)
{
  static int known, visible;   /* the device count of a process does not change */
  const tess_device_ops_t *g = tess_device_gpu_();
  if (!g) return NULL;
  if (!known) { visible = g->device_count() > 0; known = 1; }
  return visible ? g : NULL;
}

tess_memspace_t tess_memspace_device(int device)
{
  return device < 0 ? TESS_MEM_DEVICE : (tess_memspace_t)(((device + 1) << KIND_BITS) | TESS_MEM_DEVICE);
}
int tess_memspace_kind(tess_memspace_t s) { return s & ((1 << KIND_BITS) - 1); }
int tess_memspace_device_index(tess_memspace_t s)
{
  return tess_memspace_kind(s) == TESS_MEM_DEVICE ? (s >> KIND_BITS) - 1 : -1;
}
int tess_memspace_is_host(tess_memspace_t s)
{
  return s == TESS_MEM_HOST || s == TESS_MEM_HOST_PINNED;
}
int tess_memspace_valid(tess_memspace_t s)
{
  if (s < 0) return 0;
  if (tess_memspace_kind(s) == TESS_MEM_DEVICE) return (s >> KIND_BITS) <= MAX_DEVICES;
  return s == TESS_MEM_HOST || s == TESS_MEM_HOST_PINNED;
}

const char *tess_memspace_name(tess_memspace_t s)
{
  static _Thread_local char buf[8][24];   /* a few names per message */
  static _Thread_local int next;
  if (!tess_memspace_valid(s)) return "invalid";
  if (s == TESS_MEM_HOST) return "host";
  if (s == TESS_MEM_HOST_PINNED) return "host_pinned";
  if (s == TESS_MEM_DEVICE) return "device";
  char *b = buf[next++ & 7];
  snprintf(b, sizeof buf[0], "device %d", tess_memspace_device_index(s));
  return b;
}

/* The ops serving `space`, or an error saying why there are none. */
static tess_err_t ops_for(tess_memspace_t space, const tess_device_ops_t **ops)
{
  tess_err_t err = TESS_OK;
  *ops = NULL;
  TESS_REQUIRE(tess_memspace_valid(space), TESS_ERR_ARG, "invalid memory space %d", space);
  if (space == TESS_MEM_HOST) {
    *ops = &tess_device_host;
  } else if (space == TESS_MEM_HOST_PINNED) {
    *ops = tess_device_active_() ? tess_device_active_() : &tess_device_host;
  } else {
    TESS_REQUIRE(tess_device_gpu_() != NULL, TESS_ERR_UNSUPPORTED,
                 "%s memory requested, but this build has no GPU backend",
                 tess_memspace_name(space));
    TESS_REQUIRE(tess_device_active_() != NULL, TESS_ERR_UNSUPPORTED,
                 "%s memory requested, but no GPU is visible to this rank",
                 tess_memspace_name(space));
    int dev = tess_memspace_device_index(space);
    TESS_REQUIRE(dev < tess_device_count(), TESS_ERR_ARG,
                 "%s memory requested, but this rank sees %d GPU(s)", tess_memspace_name(space),
                 tess_device_count());
    *ops = tess_device_active_();
  }
cleanup:
  return err;
}

tess_err_t tess_device_ops_for_(tess_memspace_t space, const tess_device_ops_t **ops)
{
  return ops_for(space, ops);
}

tess_err_t tess_malloc(tess_memspace_t space, size_t bytes, void **ptr)
{
  tess_err_t err = TESS_OK;
  const tess_device_ops_t *o;
  TESS_REQUIRE(ptr != NULL, TESS_ERR_ARG, "NULL output pointer");
  *ptr = NULL;
  TESS_CHECK(ops_for(space, &o));
  if (tess_memspace_kind(space) == TESS_MEM_DEVICE)
    TESS_CHECK(o->alloc(tess_memspace_device_index(space), bytes, ptr));
  else if (space == TESS_MEM_HOST_PINNED)
    TESS_CHECK(o->alloc_pinned(bytes, ptr));
  else
    TESS_CHECK(o->alloc(-1, bytes, ptr));
cleanup:
  return err;
}

tess_err_t tess_calloc(tess_memspace_t space, size_t bytes, void **ptr)
{
  tess_err_t err = TESS_OK;
  TESS_CHECK(tess_malloc(space, bytes, ptr));
  err = tess_memset(space, *ptr, 0, bytes);
  if (err != TESS_OK) {
    tess_free(space, ptr);
    TESS_CHECK(err);
  }
cleanup:
  return err;
}

void tess_free(tess_memspace_t space, void **ptr)
{
  const tess_device_ops_t *o = NULL;
  if (!ptr || !*ptr) return;
  /* A pointer exists, so its space was served: ops_for cannot fail here. */
  if (ops_for(space, &o) != TESS_OK || !o) { tess_error_clear(); *ptr = NULL; return; }
  if (space == TESS_MEM_HOST_PINNED) o->free_pinned(*ptr);
  else o->free(*ptr);
  *ptr = NULL;
}

static int on_device(tess_memspace_t s) { return tess_memspace_kind(s) == TESS_MEM_DEVICE; }

tess_err_t tess_memcpy(tess_memspace_t dst_space, void *dst,
                       tess_memspace_t src_space, const void *src, size_t bytes)
{
  tess_err_t err = TESS_OK;
  const tess_device_ops_t *o = &tess_device_host;
  int dd = on_device(dst_space), sd = on_device(src_space);
  tess_copy_kind_t kind = dd ? (sd ? TESS_COPY_D2D : TESS_COPY_H2D)
                             : (sd ? TESS_COPY_D2H : TESS_COPY_H2H);
  TESS_REQUIRE(tess_memspace_valid(dst_space) && tess_memspace_valid(src_space), TESS_ERR_ARG,
               "invalid memory space (destination %d, source %d)", dst_space, src_space);
  if (bytes == 0) goto cleanup;
  if (dd) TESS_CHECK(ops_for(dst_space, &o));
  else if (sd) TESS_CHECK(ops_for(src_space, &o));
  TESS_CHECK(o->memcpy_async(dst, src, bytes, kind, TESS_STREAM_DEFAULT));
  if (kind != TESS_COPY_H2H) TESS_CHECK(o->stream_sync(TESS_STREAM_DEFAULT));
cleanup:
  return err;
}

tess_err_t tess_memset(tess_memspace_t space, void *ptr, int value, size_t bytes)
{
  tess_err_t err = TESS_OK;
  const tess_device_ops_t *o = &tess_device_host;
  if (bytes == 0) goto cleanup;
  if (on_device(space)) TESS_CHECK(ops_for(space, &o));
  else TESS_REQUIRE(tess_memspace_valid(space), TESS_ERR_ARG, "invalid memory space %d", space);
  TESS_CHECK(o->memset_async(ptr, value, bytes, TESS_STREAM_DEFAULT));
  if (on_device(space)) TESS_CHECK(o->stream_sync(TESS_STREAM_DEFAULT));
cleanup:
  return err;
}

tess_err_t tess_memspace_of(const void *p, tess_memspace_t *space)
{
  tess_err_t err = TESS_OK;
  const tess_device_ops_t *g = tess_device_active_();
  TESS_REQUIRE(space != NULL, TESS_ERR_ARG, "NULL output pointer");
  *space = TESS_MEM_HOST;
  /* No visible GPU: nothing can be device memory, and the runtime is not
   * asked about every host pointer. */
  if (p && g && g->pointer_space) TESS_CHECK(g->pointer_space(p, space));
cleanup:
  return err;
}

int tess_device_available(void) { return tess_device_active_() != NULL; }

int tess_device_count(void)
{
  const tess_device_ops_t *g = tess_device_active_();
  return g ? g->device_count() : 0;
}

const char *tess_device_backend_name(void)
{
  return tess_device_gpu_() ? tess_device_gpu_()->name : tess_device_host.name;
}

void tess_memcpy_stream(void *dst, const void *src, size_t n)
{
  char *d = dst;
  const char *s = src;
#if defined(__SSE2__)
  size_t head = (16 - ((uintptr_t)d & 15)) & 15;
  if (head > n) head = n;
  memcpy(d, s, head);
  d += head, s += head, n -= head;
  for (; n >= 64; n -= 64, d += 64, s += 64) {
    __m128i a = _mm_loadu_si128((const __m128i *)(const void *)s);
    __m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + 16));
    __m128i c = _mm_loadu_si128((const __m128i *)(const void *)(s + 32));
    __m128i e = _mm_loadu_si128((const __m128i *)(const void *)(s + 48));
    _mm_stream_si128((__m128i *)(void *)d, a);
    _mm_stream_si128((__m128i *)(void *)(d + 16), b);
    _mm_stream_si128((__m128i *)(void *)(d + 32), c);
    _mm_stream_si128((__m128i *)(void *)(d + 48), e);
  }
  for (; n >= 16; n -= 16, d += 16, s += 16)
    _mm_stream_si128((__m128i *)(void *)d, _mm_loadu_si128((const __m128i *)(const void *)s));
#endif
  memcpy(d, s, n);
}

void tess_stream_fence(void)
{
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

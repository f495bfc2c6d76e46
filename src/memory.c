/* src/memory.c: host and device allocation behind one interface.
 * The device half is filled in by the GPU backend (src/memory_cuda.c, built
 * only with CUDA); without it, device requests fail loudly. */
/* madvise(MADV_HUGEPAGE) is a Linux extension, outside POSIX. */
#define _DEFAULT_SOURCE
#include <tessera/memory.h>
#include <tessera/config.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#if TESSERA_HAVE_CUDA
tess_err_t tess_device_malloc_(size_t bytes, void **ptr);
void tess_device_free_(void *ptr);
tess_err_t tess_device_memcpy_(void *dst, int dst_dev, const void *src, int src_dev, size_t bytes);
tess_err_t tess_device_memset_(void *ptr, int value, size_t bytes);
int tess_device_count_(void);
#endif

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

static void *host_alloc(size_t bytes)
{
  void *p = NULL;
  if (bytes >= HUGE_MIN_BYTES && huge_pages_wanted()) {
    if (posix_memalign(&p, HUGE_PAGE, bytes) != 0) return NULL;
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE);   /* a hint only; the kernel rounds the length */
#endif
    return p;
  }
  size_t rounded = (bytes + TESS_ALIGN - 1) / TESS_ALIGN * TESS_ALIGN;
  return aligned_alloc(TESS_ALIGN, rounded ? rounded : TESS_ALIGN);
}

tess_err_t tess_malloc(tess_memspace_t space, size_t bytes, void **ptr)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(ptr != NULL, TESS_ERR_ARG, "NULL output pointer");
  *ptr = NULL;
  if (space == TESS_MEM_HOST) {
    *ptr = host_alloc(bytes);
    TESS_REQUIRE(*ptr != NULL, TESS_ERR_MEM, "cannot allocate %zu bytes of host memory", bytes);
  } else {
#if TESSERA_HAVE_CUDA
    TESS_CHECK(tess_device_malloc_(bytes, ptr));
#else
    TESS_REQUIRE(0, TESS_ERR_UNSUPPORTED, "device memory requested, but this build has no GPU backend");
#endif
  }
cleanup:
  return err;
}

tess_err_t tess_calloc(tess_memspace_t space, size_t bytes, void **ptr)
{
  tess_err_t err = TESS_OK;
  TESS_CHECK(tess_malloc(space, bytes, ptr));
  TESS_CHECK(tess_memset(space, *ptr, 0, bytes));
cleanup:
  return err;
}

void tess_free(tess_memspace_t space, void **ptr)
{
  if (!ptr || !*ptr) return;
#if TESSERA_HAVE_CUDA
  if (space == TESS_MEM_DEVICE) tess_device_free_(*ptr);
  else
#else
  (void)space;
#endif
    free(*ptr);
  *ptr = NULL;
}

tess_err_t tess_memcpy(tess_memspace_t dst_space, void *dst,
                       tess_memspace_t src_space, const void *src, size_t bytes)
{
  if (bytes == 0) return TESS_OK;
  if (dst_space == TESS_MEM_HOST && src_space == TESS_MEM_HOST) {
    memcpy(dst, src, bytes);
    return TESS_OK;
  }
#if TESSERA_HAVE_CUDA
  return tess_device_memcpy_(dst, dst_space == TESS_MEM_DEVICE, src,
                             src_space == TESS_MEM_DEVICE, bytes);
#else
  return tess_error_push(TESS_ERR_UNSUPPORTED, __FILE__, __LINE__, __func__,
                         "device copy requested, but this build has no GPU backend");
#endif
}

tess_err_t tess_memset(tess_memspace_t space, void *ptr, int value, size_t bytes)
{
  if (bytes == 0) return TESS_OK;
  if (space == TESS_MEM_HOST) {
    memset(ptr, value, bytes);
    return TESS_OK;
  }
#if TESSERA_HAVE_CUDA
  return tess_device_memset_(ptr, value, bytes);
#else
  return tess_error_push(TESS_ERR_UNSUPPORTED, __FILE__, __LINE__, __func__,
                         "device memset requested, but this build has no GPU backend");
#endif
}

int tess_device_available(void)
{
#if TESSERA_HAVE_CUDA
  return tess_device_count_() > 0;
#else
  return 0;
#endif
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

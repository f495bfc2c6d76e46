/* tests/spectral/test_fft_noalloc.c: tess_fft_execute allocates nothing.
 * The malloc family is interposed in this executable; a call is counted when
 * its caller lies in libtessera (dladdr of the return address), so MPI's own
 * allocations inside the transposes do not count. Plans: slab and pencil,
 * c2c natural <-> transposed (the transposes), r2c / c2r, a batched plan and
 * c2c in place. A positive control (tess_array_create while counting) shows
 * that the hook sees the library's allocations at all. Not for the ASan
 * build (its runtime owns malloc). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <tessera/tessera.h>

#include "tess_test.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static int counting;
static long lib_allocs;
static void *lib_base;

static void note(void *caller)
{
  Dl_info di;
  if (!counting || !lib_base) return;
  counting = 0;   /* dladdr must not recurse into the count */
  if (dladdr(caller, &di) && di.dli_fbase == lib_base) lib_allocs++;
  counting = 1;
}

void *malloc(size_t n)
{
  note(__builtin_return_address(0));
  return __libc_malloc(n);
}
void *calloc(size_t m, size_t n)
{
  note(__builtin_return_address(0));
  return __libc_calloc(m, n);
}
void *realloc(void *p, size_t n)
{
  note(__builtin_return_address(0));
  return __libc_realloc(p, n);
}
void *aligned_alloc(size_t a, size_t n)
{
  note(__builtin_return_address(0));
  return __libc_memalign(a, n);
}
void *memalign(size_t a, size_t n)
{
  note(__builtin_return_address(0));
  return __libc_memalign(a, n);
}
int posix_memalign(void **p, size_t a, size_t n)
{
  note(__builtin_return_address(0));
  *p = __libc_memalign(a, n);
  return *p || !n ? 0 : ENOMEM;
}

static void fill(const int64_t g[], int ndim, void *value, void *ctx)
{
  double v[2] = {0, 0};
  size_t es = *(size_t *)ctx;
  for (int d = 0; d < ndim; d++) v[0] += (double)((g[d] + 1) * (d + 3) % 7), v[1] += (double)g[d];
  if (es == 8) memcpy(value, v, 8);
  else memcpy(value, v, es);
}

/* Plan in -> out, execute three times while counting. */
static tess_err_t one(tess_mesh_t *m, const char *what, tess_dtype_t ti, tess_dtype_t to,
                      const int64_t shape[3], int rank, int ndim, int g, tess_fft_layout_t li,
                      tess_fft_layout_t lo, tess_fft_dir_t dir, int inplace)
{
  tess_err_t err = TESS_OK;
  tess_array_t *in = NULL, *out = NULL;
  tess_fft_plan_t *p = NULL;
  tess_shardspec_t si, so;
  int axes[2] = {0, 1};
  int64_t oshape[3];
  size_t es = tess_dtype_size(ti);
  memcpy(oshape, shape, sizeof oshape);
  if (ti != to && !tess_dtype_is_complex(ti)) oshape[ndim - 1] = shape[ndim - 1] / 2 + 1;
  TESS_CHECK(tess_fft_spec(ndim, rank, g, axes, li, &si));
  TESS_CHECK(tess_fft_spec(ndim, rank, g, axes, lo, &so));
  if (dir == TESS_FFT_BACKWARD && ti != to) {   /* c2r: in is the half spectrum */
    int64_t h[3];
    memcpy(h, shape, sizeof h);
    h[ndim - 1] = shape[ndim - 1] / 2 + 1;
    TESS_CHECK(tess_array_create(m, ti, ndim, h, &si, TESS_MEM_HOST, &in));
    TESS_CHECK(tess_array_create(m, to, ndim, shape, &so, TESS_MEM_HOST, &out));
  } else {
    TESS_CHECK(tess_array_create(m, ti, ndim, shape, &si, TESS_MEM_HOST, &in));
    if (!inplace) TESS_CHECK(tess_array_create(m, to, ndim, oshape, &so, TESS_MEM_HOST, &out));
  }
  TESS_CHECK(tess_array_fill(in, fill, &es));
  tess_fft_opts_t o = {.rank = rank};
  TESS_CHECK(tess_fft_plan_create_opts(in, inplace ? in : out, dir, &o, &p));
  lib_allocs = 0;
  counting = 1;
  for (int r = 0; r < 3 && err == TESS_OK; r++) err = tess_fft_execute(p, in, inplace ? in : out);
  counting = 0;
  TESS_CHECK(err);
  CHECK(lib_allocs == 0, "%s: tess_fft_execute made %ld allocations in 3 runs (expected none)",
        what, lib_allocs);
cleanup:
  counting = 0;
  tess_fft_plan_destroy(&p);
  tess_array_destroy(&in);
  tess_array_destroy(&out);
  return err;
}

int main(int argc, char **argv)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *slab = NULL, *pencil = NULL;
  tess_array_t *probe = NULL;
  Dl_info di;
  int n = 1;
  TESS_CHECK(tess_init(&argc, &argv));
  CHECK(dladdr((void *)tess_fft_execute, &di) != 0, "dladdr(libtessera)");
  lib_base = di.dli_fbase;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  {
    const char *names[] = {"x", "y"};
    int s1[] = {n}, s2[] = {n % 2 == 0 ? 2 : 1, TESS_MESH_INFER};
    TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, names, s1, &slab));
    TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 2, names, s2, &pencil));
  }
  /* positive control: the hook counts the library's allocations */
  {
    int64_t sh[1] = {64};
    tess_shardspec_t sp = {.ndim = 1, .axis = {TESS_REPLICATED}};
    lib_allocs = 0;
    counting = 1;
    err = tess_array_create(slab, TESS_F64, 1, sh, &sp, TESS_MEM_HOST, &probe);
    counting = 0;
    TESS_CHECK(err);
    CHECK(lib_allocs > 0, "the malloc hook saw no allocation in tess_array_create");
  }
  const int64_t s3[3] = {12, 10, 9}, b3[3] = {3, 10, 8};
  const tess_fft_layout_t N = TESS_FFT_LAYOUT_NATURAL, T = TESS_FFT_LAYOUT_TRANSPOSED;
  TESS_CHECK(one(slab, "slab c2c N->T", TESS_C128, TESS_C128, s3, 3, 3, 1, N, T, TESS_FFT_FORWARD, 0));
  TESS_CHECK(one(slab, "slab c2c N->N", TESS_C128, TESS_C128, s3, 3, 3, 1, N, N, TESS_FFT_BACKWARD, 0));
  TESS_CHECK(one(slab, "slab c2c in place", TESS_C64, TESS_C64, s3, 3, 3, 1, N, N, TESS_FFT_FORWARD, 1));
  TESS_CHECK(one(slab, "slab r2c", TESS_F64, TESS_C128, s3, 3, 3, 1, N, N, TESS_FFT_FORWARD, 0));
  TESS_CHECK(one(slab, "slab c2r", TESS_C128, TESS_F64, s3, 3, 3, 1, T, N, TESS_FFT_BACKWARD, 0));
  TESS_CHECK(one(slab, "batched 2-D", TESS_C128, TESS_C128, b3, 2, 3, 1, N, N, TESS_FFT_FORWARD, 0));
  TESS_CHECK(one(pencil, "pencil c2c N->N", TESS_C128, TESS_C128, s3, 3, 3, 2, N, N, TESS_FFT_FORWARD, 0));
  TESS_CHECK(one(pencil, "pencil r2c N->T", TESS_F32, TESS_C64, s3, 3, 3, 2, N, T, TESS_FFT_FORWARD, 0));
cleanup:
  if (err) {
    tess_error_print(stderr);
    tess_test_failures++;
  }
  tess_array_destroy(&probe);
  tess_mesh_destroy(&slab);
  tess_mesh_destroy(&pencil);
  int rc = tess_test_finish("fft_noalloc");
  tess_finalize();
  return rc;
}

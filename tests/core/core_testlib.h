/* tests/core/core_testlib.h: what the core tests share: a seeded random
 * generator that every rank runs identically (so all ranks agree on the
 * random shapes and specs without communicating), and the test value of an
 * array element as an exact function of its global linear index, for every
 * dtype. Values are exactly representable, so comparisons are bitwise. */
#ifndef CORE_TESTLIB_H
#define CORE_TESTLIB_H
#include <complex.h>
#include <stdint.h>
#include <string.h>
#include <tessera/tessera.h>

static inline uint64_t ct_splitmix(uint64_t *s)
{
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static inline int ct_rand(uint64_t *s, int n) { return (int)(ct_splitmix(s) % (uint64_t)n); }

/* The expected value of global element `lin` under formula `salt`. */
static inline void ct_value(tess_dtype_t t, int64_t lin, uint64_t salt, void *out)
{
  uint64_t h = (uint64_t)lin * 0x9E3779B97F4A7C15ull ^ salt;
  h ^= h >> 29;
  int64_t a = (int64_t)(h % 2000003) - 1000001, b = (int64_t)((h >> 24) % 1999) - 999;
  switch (t) {
  case TESS_F32: { float v = (float)a / 64.0f; memcpy(out, &v, sizeof v); break; }
  case TESS_F64: { double v = (double)lin + (double)a / 1024.0; memcpy(out, &v, sizeof v); break; }
  case TESS_C64: { float complex v = CMPLXF((float)a / 8.0f, (float)b); memcpy(out, &v, sizeof v); break; }
  case TESS_C128: { double complex v = CMPLX((double)lin, (double)a / 4.0); memcpy(out, &v, sizeof v); break; }
  case TESS_I32: { int32_t v = (int32_t)(lin * 7 + a); memcpy(out, &v, sizeof v); break; }
  case TESS_BF16: case TESS_F16: { uint16_t v = (uint16_t)(lin * 31 + a); memcpy(out, &v, sizeof v); break; }
  default: { int64_t v = lin * 1000003 + a; memcpy(out, &v, sizeof v); break; }
  }
}

typedef struct { tess_dtype_t t; uint64_t salt; int64_t shape[TESS_MAX_NDIM]; int ndim; } ct_fill_t;

static inline void ct_fill_fn(const int64_t g[], int ndim, void *value, void *ctx)
{
  const ct_fill_t *f = ctx;
  int64_t lin = 0;
  for (int d = 0; d < ndim; d++) lin = lin * f->shape[d] + g[d];
  ct_value(f->t, lin, f->salt, value);
}

/* Number of local elements of `a` that differ (bitwise) from the formula. */
static inline long ct_count_wrong(const tess_array_t *a, uint64_t salt)
{
  size_t es = tess_dtype_size(tess_array_dtype(a));
  const char *p = tess_array_local_data_const(a);
  int64_t g[TESS_MAX_NDIM];
  unsigned char want[16];
  long bad = 0;
  for (int64_t i = 0; i < tess_array_local_count(a); i++) {
    tess_array_global_index(a, i, g);
    ct_value(tess_array_dtype(a), tess_array_global_linear(a, g), salt, want);
    if (memcmp(want, p + (size_t)i * es, es) != 0) bad++;
  }
  return bad;
}

/* A random spec for `ndim` dims on a mesh of `naxes` axes: each dim is
 * replicated or takes a distinct axis; replication is common on purpose. */
static inline void ct_random_spec(uint64_t *s, int ndim, int naxes, tess_shardspec_t *spec)
{
  int taken[TESS_MESH_MAX_AXES] = {0};
  spec->ndim = ndim;
  for (int d = 0; d < TESS_MAX_NDIM; d++) spec->axis[d] = TESS_REPLICATED;
  for (int d = 0; d < ndim; d++) {
    int a = ct_rand(s, naxes + 1) - 1;
    if (a >= 0 && !taken[a]) { taken[a] = 1; spec->axis[d] = a; }
  }
}

/* Random mesh sizes whose product is n (1..3 axes; sizes of 1 allowed). */
static inline int ct_random_mesh(uint64_t *s, int n, int sizes[])
{
  int naxes = 1 + ct_rand(s, 3), left = n;
  for (int i = 0; i < naxes - 1; i++) {
    int divs[64], nd = 0;
    for (int k = 1; k <= left; k++) if (left % k == 0) divs[nd++] = k;
    sizes[i] = divs[ct_rand(s, nd)];
    left /= sizes[i];
  }
  sizes[naxes - 1] = left;
  return naxes;
}

static inline void ct_spec_str(const tess_shardspec_t *s, char *buf, size_t n)
{
  size_t o = 0;
  o += (size_t)snprintf(buf + o, n - o, "(");
  for (int d = 0; d < s->ndim && o < n; d++)
    o += (size_t)snprintf(buf + o, n - o, "%s%s%d", d ? "," : "", s->axis[d] < 0 ? "r" : "a",
                          s->axis[d] < 0 ? 0 : s->axis[d]);
  if (o < n) snprintf(buf + o, n - o, ")");
}
#endif

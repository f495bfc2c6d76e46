/* tests/io/ckpt_fields.h: the arrays the checkpoint tests write and read
 * back, and the formulas that fill them. The formulas are the truth: the
 * reader recomputes them (and tests/io/check_h5py.py recomputes them in
 * numpy), so a value read back must be bitwise equal to the formula, not to
 * anything the writer printed. Writer and reader use different meshes and
 * ShardSpecs on purpose; 13x10, 7x5x6, ... do not split evenly. */
#ifndef CKPT_FIELDS_H
#define CKPT_FIELDS_H
#include <stdint.h>
#include <string.h>
#include <tessera/tessera.h>

typedef struct {
  const char *name;
  tess_dtype_t dtype;
  int ndim;
  int64_t shape[3];
  const char *write_spec[3];   /* mesh axes x, y */
  const char *read_spec[3];    /* mesh axes a, b */
} field_t;

static const field_t fields[] = {
  { "fields/u", TESS_F64, 2, { 13, 10 }, { "x", "y" }, { "b", "a" } },
  { "fields/w", TESS_F64, 3, { 7, 5, 6 }, { NULL, "x", "y" }, { "a", NULL, "b" } },
  { "fields/f", TESS_F32, 2, { 9, 4 }, { "y", "x" }, { NULL, NULL } },
  { "spectral/c", TESS_C128, 1, { 11 }, { "x" }, { "b" } },
  { "labels/n", TESS_I32, 2, { 6, 5 }, { NULL, NULL }, { "a", "b" } },
  { "labels/k", TESS_I64, 1, { 17 }, { "y" }, { "a" } },
};
enum { NFIELDS = sizeof fields / sizeof fields[0] };

/* Value of field `k` at global row-major index g, into `out` (its dtype). */
static inline void field_value(int k, int64_t g, void *out)
{
  switch (fields[k].dtype) {
  case TESS_F64: { double v = (double)g + 1.0 / (double)(g + 3 + k); memcpy(out, &v, 8); break; }
  case TESS_F32: { float v = (float)g * 0.5f + 1.0f / (float)(g + 3); memcpy(out, &v, 4); break; }
  case TESS_C128: { double v[2] = { (double)g + 0.25, -1.0 / (double)(g + 2) }; memcpy(out, v, 16); break; }
  case TESS_I32: { int32_t v = (int32_t)(g * 7 - 1000 + k); memcpy(out, &v, 4); break; }
  case TESS_I64: { int64_t v = g * 1000003LL - 5; memcpy(out, &v, 8); break; }
  default: break;
  }
}

static inline int64_t field_linear(int k, const int64_t gidx[])
{
  int64_t g = 0;
  for (int d = 0; d < fields[k].ndim; d++) g = g * fields[k].shape[d] + gidx[d];
  return g;
}

static inline void field_fill_fn(const int64_t gidx[], int ndim, void *value, void *ctx)
{
  int k = *(const int *)ctx;
  (void)ndim;
  field_value(k, field_linear(k, gidx), value);
}

/* Writer mesh {x, y} and reader mesh {a, b} for P ranks: different shapes. */
static inline void writer_mesh_sizes(int p, int sizes[2])
{
  sizes[0] = p == 4 ? 2 : p;
  sizes[1] = p == 4 ? 2 : 1;
}
static inline void reader_mesh_sizes(int p, int sizes[2])
{
  sizes[0] = p == 4 ? 4 : 1;
  sizes[1] = p == 4 ? 1 : p;
}

static inline tess_err_t field_create(tess_mesh_t *mesh, int k, int reading, tess_array_t **a)
{
  tess_err_t err = TESS_OK;
  tess_shardspec_t spec;
  const field_t *f = &fields[k];
  TESS_CHECK(tess_shardspec_make(mesh, f->ndim, reading ? f->read_spec : f->write_spec, &spec));
  TESS_CHECK(tess_array_create(mesh, f->dtype, f->ndim, f->shape, &spec, TESS_MEM_HOST, a));
cleanup:
  return err;
}

/* Number of local elements of `a` that differ (bitwise) from the formula. */
static inline int64_t field_mismatches(int k, tess_array_t *a)
{
  int64_t bad = 0, n = tess_array_local_count(a), gidx[TESS_MAX_NDIM];
  size_t es = tess_dtype_size(fields[k].dtype);
  const unsigned char *p = tess_array_local_data_const(a);
  unsigned char want[16];
  for (int64_t i = 0; i < n; i++) {
    tess_array_global_index(a, i, gidx);
    field_value(k, field_linear(k, gidx), want);
    if (memcmp(p + (size_t)i * es, want, es) != 0) bad++;
  }
  return bad;
}

static const uint64_t test_rng_counters[3] = { 5, (uint64_t)1 << 40, UINT64_MAX };
static const char test_deck[] =
  "study = \"roundtrip\"\n[run]\nseed = 1234567\n[checkpoint]\nkeep = 2\n"
  "# a comment with \"quotes\" & <xml> chars\n";
#endif

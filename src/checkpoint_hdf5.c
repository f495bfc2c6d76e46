/* src/checkpoint_hdf5.c: HDF5 glue for checkpoints: errors and types.
 * HDF5 prints its own error stack to stderr by default, a page of frames
 * that names no user file. We switch that off and keep only the innermost
 * message (e.g. "truncated file: eof = 1024, ...") inside a Tessera error
 * that names the checkpoint file and what we were doing. */
#include "checkpoint_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <tessera/config.h>

/* The headers we compile against must be the library flavour CMake chose. */
#if defined(H5_HAVE_PARALLEL) != TESSERA_HAVE_PARALLEL_HDF5
#error "HDF5 headers and TESSERA_HAVE_PARALLEL_HDF5 disagree: check the HDF5 include path"
#endif

void ck_h5_silence(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

typedef struct { char *buf; size_t cap; int taken; } walk_t;

static herr_t take_first(unsigned n, const H5E_error2_t *e, void *data)
{
  walk_t *w = data;
  (void)n;
  if (!w->taken && e->desc && e->desc[0]) {
    snprintf(w->buf, w->cap, "%s", e->desc);
    w->taken = 1;
  }
  return 0;
}

void ck_h5_message(char *buf, size_t cap)
{
  walk_t w = { buf, cap, 0 };
  if (cap) buf[0] = '\0';
  /* UPWARD starts at the innermost frame: the most specific cause. */
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, take_first, &w);
  H5Eclear2(H5E_DEFAULT);
}

tess_err_t ck_h5_error(const tess_checkpoint_t *ck, const char *file, int line,
                       const char *func, const char *what, ...)
{
  char h5[256], ctx[512];
  va_list ap;
  ck_h5_message(h5, sizeof h5);
  va_start(ap, what);
  vsnprintf(ctx, sizeof ctx, what, ap);
  va_end(ap);
  return tess_error_push(TESS_ERR_HDF5, file, line, func, "checkpoint '%s': %s%s%s",
                         ck && ck->path ? ck->path : "?", ctx, h5[0] ? ": HDF5 says: " : "",
                         h5);
}

static hid_t complex_type(hid_t part)
{
  size_t sz = H5Tget_size(part);
  hid_t t = H5Tcreate(H5T_COMPOUND, 2 * sz);
  if (t < 0) return t;
  if (H5Tinsert(t, "r", 0, part) < 0 || H5Tinsert(t, "i", sz, part) < 0) {
    H5Tclose(t);
    return -1;
  }
  return t;
}

/* Predefined types are returned as they are, not copied: HDF5 then sees the
 * memory and file types as the same object and skips its conversion
 * machinery (a copied NATIVE_DOUBLE made 1 GiB collective writes slower). */
hid_t ck_h5_type(tess_dtype_t t)
{
  switch (t) {
  case TESS_F32: return H5T_NATIVE_FLOAT;
  case TESS_F64: return H5T_NATIVE_DOUBLE;
  case TESS_I32: return H5T_NATIVE_INT32;
  case TESS_I64: return H5T_NATIVE_INT64;
  case TESS_C64: return complex_type(H5T_NATIVE_FLOAT);
  case TESS_C128: return complex_type(H5T_NATIVE_DOUBLE);
  default: return -1;
  }
}

void ck_h5_type_close(hid_t type)
{
  if (type >= 0 && H5Tget_class(type) == H5T_COMPOUND) H5Tclose(type);
}

void ck_h5_type_describe(hid_t type, char *buf, size_t cap)
{
  size_t bits = 8 * H5Tget_size(type);
  switch (H5Tget_class(type)) {
  case H5T_FLOAT: snprintf(buf, cap, "float%zu", bits); break;
  case H5T_INTEGER:
    snprintf(buf, cap, "%sint%zu", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", bits);
    break;
  case H5T_STRING: snprintf(buf, cap, "string"); break;
  case H5T_COMPOUND: snprintf(buf, cap, "compound of %zu bytes", bits / 8); break;
  default: snprintf(buf, cap, "HDF5 class %d of %zu bytes", (int)H5Tget_class(type), bits / 8);
  }
}

/* src/dtype.c: sizes, names and MPI types of the array element types. */
#include <tessera/dtype.h>

#include <complex.h>
#include <stdint.h>
#include <string.h>

static const struct { const char *name; size_t size; int is_complex; } info[TESS_NDTYPES] = {
  [TESS_F32] = {"f32", sizeof(float), 0},
  [TESS_F64] = {"f64", sizeof(double), 0},
  [TESS_C64] = {"c64", sizeof(float complex), 1},
  [TESS_C128] = {"c128", sizeof(double complex), 1},
  [TESS_I32] = {"i32", sizeof(int32_t), 0},
  [TESS_I64] = {"i64", sizeof(int64_t), 0},
  [TESS_BF16] = {"bf16", sizeof(uint16_t), 0},
  [TESS_F16] = {"f16", sizeof(uint16_t), 0},
};

static int valid(tess_dtype_t t) { return (int)t >= 0 && t < TESS_NDTYPES; }

size_t tess_dtype_size(tess_dtype_t t) { return valid(t) ? info[t].size : 0; }
const char *tess_dtype_name(tess_dtype_t t) { return valid(t) ? info[t].name : "invalid"; }
int tess_dtype_is_complex(tess_dtype_t t) { return valid(t) && info[t].is_complex; }

tess_err_t tess_dtype_parse(const char *name, tess_dtype_t *t)
{
  for (int i = 0; name && i < TESS_NDTYPES; i++)
    if (strcmp(name, info[i].name) == 0) { *t = (tess_dtype_t)i; return TESS_OK; }
  return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, __func__,
                         "unknown dtype '%s' (expected f32, f64, c64, c128, i32, i64, bf16 or f16)",
                         name ? name : "(null)");
}

MPI_Datatype tess_dtype_mpi(tess_dtype_t t)
{
  switch (t) {
  case TESS_F32: return MPI_FLOAT;
  case TESS_F64: return MPI_DOUBLE;
  case TESS_C64: return MPI_C_FLOAT_COMPLEX;
  case TESS_C128: return MPI_C_DOUBLE_COMPLEX;
  case TESS_I32: return MPI_INT32_T;
  case TESS_I64: return MPI_INT64_T;
  /* Moved as bit patterns; MPI has no 16-bit floats, and nothing reduces them. */
  case TESS_BF16: case TESS_F16: return MPI_UINT16_T;
  default: return MPI_DATATYPE_NULL;
  }
}

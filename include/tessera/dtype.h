/* include/tessera/dtype.h: element types of Tessera arrays. bf16 and f16
 * are storage types (2 bytes: bfloat16, IEEE binary16) for ML data: arrays
 * of them move, reshard, gather and copy like any other; arithmetic (sums,
 * FFTs, spectral operators) takes f32/f64 and refuses them. They are held
 * as uint16_t bit patterns; the conversions below are the only arithmetic. */
#ifndef TESSERA_DTYPE_H
#define TESSERA_DTYPE_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include <tessera/error.h>

typedef enum {
  TESS_F32 = 0, TESS_F64, TESS_C64, TESS_C128, TESS_I32, TESS_I64, TESS_BF16, TESS_F16,
  TESS_NDTYPES
} tess_dtype_t;

size_t tess_dtype_size(tess_dtype_t t);          /* 0 for an invalid type */
const char *tess_dtype_name(tess_dtype_t t);     /* "f64", ... */
tess_err_t tess_dtype_parse(const char *name, tess_dtype_t *t);
MPI_Datatype tess_dtype_mpi(tess_dtype_t t);     /* MPI_DATATYPE_NULL if invalid */
int tess_dtype_is_complex(tess_dtype_t t);

/* Round to nearest, ties to even (IEEE default); overflow gives infinity,
 * NaN stays NaN (quiet, sign kept), f16 subnormals are kept. Widening to
 * f32 is exact. */
uint16_t tess_f32_to_bf16(float x);
float tess_bf16_to_f32(uint16_t h);
uint16_t tess_f32_to_f16(float x);
float tess_f16_to_f32(uint16_t h);
/* n elements between f32 and TESS_BF16 / TESS_F16 (uint16_t patterns). */
tess_err_t tess_convert_from_f32(tess_dtype_t to, void *dst, const float *src, size_t n);
tess_err_t tess_convert_to_f32(tess_dtype_t from, float *dst, const void *src, size_t n);
TESS_API_END
#endif

/* include/tessera/dtype.h: element types of Tessera arrays. */
#ifndef TESSERA_DTYPE_H
#define TESSERA_DTYPE_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stddef.h>
#include <mpi.h>
#include <tessera/error.h>

typedef enum {
  TESS_F32 = 0, TESS_F64, TESS_C64, TESS_C128, TESS_I32, TESS_I64, TESS_NDTYPES
} tess_dtype_t;

size_t tess_dtype_size(tess_dtype_t t);          /* 0 for an invalid type */
const char *tess_dtype_name(tess_dtype_t t);     /* "f64", ... */
tess_err_t tess_dtype_parse(const char *name, tess_dtype_t *t);
MPI_Datatype tess_dtype_mpi(tess_dtype_t t);     /* MPI_DATATYPE_NULL if invalid */
int tess_dtype_is_complex(tess_dtype_t t);
TESS_API_END
#endif

/* include/tessera/buffer.h: a local buffer, the memory under one rank's
 * block of a tess_array: where it lives (memory space), what it holds
 * (dtype, shape) and how it is laid out (strides, in elements), and whether
 * the array owns it or borrows it from the caller (a PETSc Vec's array, a
 * NumPy/DLPack buffer, a device pointer). Tessera lays blocks out row-major
 * and contiguous (strides[ndim-1] = 1, strides[d] = strides[d+1] *
 * shape[d+1]); the strides are there so a binding can export the buffer
 * (DLPack) without recomputing them. Borrowed memory must be contiguous
 * the same way: tess_array_create_with_data takes no strides. */
#ifndef TESSERA_BUFFER_H
#define TESSERA_BUFFER_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stdint.h>
#include <tessera/dtype.h>
#include <tessera/memory.h>

#define TESS_MAX_NDIM 6

typedef struct {
  void *data;
  tess_memspace_t space;
  tess_dtype_t dtype;
  int ndim;
  int64_t shape[TESS_MAX_NDIM];
  int64_t strides[TESS_MAX_NDIM];   /* elements */
  int owned;                        /* 1: freed with the array; 0: the caller's */
} tess_buffer_t;

/* Fill shape and row-major contiguous strides; data, space, owned untouched. */
tess_err_t tess_buffer_set_contiguous(tess_buffer_t *b, tess_dtype_t dtype, int ndim,
                                      const int64_t shape[]);
/* 1 if the strides are the row-major contiguous ones for the shape. */
int tess_buffer_is_contiguous(const tess_buffer_t *b);
/* Elements and bytes the shape spans. */
int64_t tess_buffer_count(const tess_buffer_t *b);
size_t tess_buffer_bytes(const tess_buffer_t *b);
TESS_API_END
#endif

/* src/buffer.c: shape and stride arithmetic of a local buffer (buffer.h). */
#include <tessera/buffer.h>

tess_err_t tess_buffer_set_contiguous(tess_buffer_t *b, tess_dtype_t dtype, int ndim,
                                      const int64_t shape[])
{
  tess_err_t err = TESS_OK;
  int64_t st = 1;
  TESS_REQUIRE(b && (shape || ndim == 0), TESS_ERR_ARG, "NULL buffer or shape");
  TESS_REQUIRE(ndim >= 0 && ndim <= TESS_MAX_NDIM, TESS_ERR_ARG,
               "buffers have 0 to %d dimensions, got %d", TESS_MAX_NDIM, ndim);
  b->dtype = dtype;
  b->ndim = ndim;
  for (int d = ndim - 1; d >= 0; d--) {
    TESS_REQUIRE(shape[d] >= 0, TESS_ERR_ARG, "dimension %d has negative length %lld", d,
                 (long long)shape[d]);
    b->shape[d] = shape[d];
    b->strides[d] = st;
    TESS_REQUIRE(shape[d] == 0 || st <= INT64_MAX / shape[d], TESS_ERR_ARG, "buffer too large");
    st *= shape[d] ? shape[d] : 1;
  }
cleanup:
  return err;
}

int tess_buffer_is_contiguous(const tess_buffer_t *b)
{
  int64_t st = 1;
  for (int d = b->ndim - 1; d >= 0; d--) {
    if (b->shape[d] > 1 && b->strides[d] != st) return 0;
    st *= b->shape[d] ? b->shape[d] : 1;
  }
  return 1;
}

int64_t tess_buffer_count(const tess_buffer_t *b)
{
  int64_t n = 1;
  for (int d = 0; d < b->ndim; d++) n *= b->shape[d];
  return n;
}

size_t tess_buffer_bytes(const tess_buffer_t *b)
{
  return (size_t)tess_buffer_count(b) * tess_dtype_size(b->dtype);
}

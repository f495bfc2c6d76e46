/* ml/embedding.c: embedding lookup and its backward (rows of the output
 * gradient added into the table's, in the order of the ids: deterministic). */
#include <string.h>

#include "ml_internal.h"

#define DEF_EMB(T, S)                                                                    \
  static void emb_bwd_##S(size_t n, size_t d, const int32_t *ids, const T *g, T *tab)    \
  {                                                                                      \
    for (size_t i = 0; i < n; i++)                                                       \
      for (size_t j = 0; j < d; j++)                                                     \
        tab[(size_t)ids[i] * d + j] = (T)(tab[(size_t)ids[i] * d + j] + g[i * d + j]);   \
  }
ML_INSTANTIATE(DEF_EMB)

static tess_err_t check_ids(size_t n, size_t v, const int32_t *ids)
{
  tess_err_t err = TESS_OK;
  for (size_t i = 0; i < n; i++)
    TESS_REQUIRE(ids[i] >= 0 && (size_t)ids[i] < v, TESS_ERR_ARG,
                 "embedding: ids[%zu] = %d outside the vocabulary [0, %zu)", i, (int)ids[i], v);
cleanup:
  return err;
}

tess_err_t tess_ml_embedding(tess_dtype_t t, size_t n, size_t v, size_t d, const int32_t *ids,
                             const void *table, void *out)
{
  tess_err_t err = TESS_OK;
  size_t es;
  ML_DTYPE(t);
  ML_NONNULL(table);
  ML_NONNULL(out);
  ML_NONNULL(ids);
  TESS_CHECK(check_ids(n, v, ids));
  es = tess_dtype_size(t);
  for (size_t i = 0; i < n; i++)
    memcpy((char *)out + i * d * es, (const char *)table + (size_t)ids[i] * d * es, d * es);
cleanup:
  return err;
}

tess_err_t tess_ml_embedding_backward(tess_dtype_t t, size_t n, size_t v, size_t d,
                                      const int32_t *ids, const void *dout, void *dtable)
{
  tess_err_t err = TESS_OK;
  ML_DTYPE(t);
  ML_NONNULL(dout);
  ML_NONNULL(dtable);
  ML_NONNULL(ids);
  TESS_CHECK(check_ids(n, v, ids));
  ML_CALL(t, emb_bwd, n, d, ids, dout, dtable);
cleanup:
  return err;
}

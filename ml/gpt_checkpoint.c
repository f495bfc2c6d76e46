/* ml/gpt_checkpoint.c: the GPT model's parameters and AdamW moments in a
 * Tessera checkpoint (tessera/checkpoint.h), so training resumes with the
 * same bits on any rank count. Every rank holds the whole model, so each
 * buffer is a replicated 1-D array over the mesh: the checkpoint layer
 * writes it once as a global dataset in the model's dtype (f32 stays f32:
 * a restart reads back the exact bits) and reads it on any rank count. The
 * shape is its own dataset, checked before any parameter is read, so a
 * deck with another model gets a message in its terms, not a length. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/array.h>
#include <tessera/ml_gpt.h>

#include "ml_internal.h"

enum { NCFG = 5 };
static const char *const cfg_names[NCFG] = {"vocab", "ctx", "d_model", "n_layer", "n_head"};

static void cfg_vec(const tess_ml_gpt_config_t *c, int64_t v[NCFG])
{
  v[0] = (int64_t)c->vocab, v[1] = (int64_t)c->ctx, v[2] = (int64_t)c->d_model;
  v[3] = (int64_t)c->n_layer, v[4] = (int64_t)c->n_head;
}

/* buf (n values of t) as a replicated 1-D array over mesh, borrowed */
static tess_err_t wrap(tess_mesh_t *mesh, tess_dtype_t t, size_t n, void *buf, tess_array_t **a)
{
  tess_shardspec_t spec = {1, {TESS_REPLICATED}};
  int64_t shape[1] = {(int64_t)n};
  return tess_array_create_with_data(mesh, t, 1, shape, &spec, TESS_MEM_HOST, NULL, buf,
                                     n * tess_dtype_size(t), a);
}

tess_err_t tess_ml_gpt_checkpoint_write(tess_ml_gpt_t *gpt, tess_mesh_t *mesh, tess_checkpoint_t *ck,
                                        const char *group)
{
  tess_err_t err = TESS_OK;
  tess_array_t *a = NULL;
  tess_ml_gpt_config_t c;
  tess_dtype_t t;
  size_t n = 0;
  void *buf[3] = {NULL, NULL, NULL};
  static const char *const names[3] = {"params", "adam_m", "adam_v"};
  int64_t cv[NCFG];
  char ds[256];
  ML_NONNULL(gpt);
  ML_NONNULL(mesh);
  ML_NONNULL(ck);
  if (!group) group = "gpt";
  TESS_CHECK(tess_ml_gpt_config(gpt, &c, &t));
  TESS_CHECK(tess_ml_gpt_params(gpt, &n, &buf[0], NULL));
  TESS_CHECK(tess_ml_gpt_moments(gpt, &buf[1], &buf[2]));
  cfg_vec(&c, cv);
  snprintf(ds, sizeof ds, "%s/config", group);
  TESS_CHECK(tess_checkpoint_write_i64(ck, ds, cv, NCFG));
  for (int k = 0; k < 3; k++) {
    snprintf(ds, sizeof ds, "%s/%s", group, names[k]);
    TESS_CHECK(wrap(mesh, t, n, buf[k], &a));
    TESS_CHECK(tess_checkpoint_write_array(ck, ds, a));
    tess_array_destroy(&a);
  }
cleanup:
  tess_array_destroy(&a);
  return err;
}

tess_err_t tess_ml_gpt_checkpoint_read(tess_ml_gpt_t *gpt, tess_mesh_t *mesh, tess_checkpoint_t *ck,
                                       const char *group)
{
  tess_err_t err = TESS_OK;
  tess_array_t *a = NULL;
  tess_ml_gpt_config_t c;
  tess_dtype_t t, ft;
  size_t n = 0, es;
  void *dst[3] = {NULL, NULL, NULL};
  char *tmp = NULL;
  static const char *const names[3] = {"params", "adam_m", "adam_v"};
  int64_t mine[NCFG], theirs[NCFG], shape[TESS_MAX_NDIM];
  int has = 0, nd = 0;
  char ds[256];
  ML_NONNULL(gpt);
  ML_NONNULL(mesh);
  ML_NONNULL(ck);
  if (!group) group = "gpt";
  const char *file = tess_checkpoint_path(ck);
  TESS_CHECK(tess_ml_gpt_config(gpt, &c, &t));
  TESS_CHECK(tess_ml_gpt_params(gpt, &n, &dst[0], NULL));
  TESS_CHECK(tess_ml_gpt_moments(gpt, &dst[1], &dst[2]));
  es = tess_dtype_size(t);
  /* the shape first: a mismatch named in the model's terms */
  snprintf(ds, sizeof ds, "%s/config", group);
  TESS_CHECK(tess_checkpoint_has(ck, ds, &has));
  TESS_REQUIRE(has, TESS_ERR_SHAPE, "%s: no dataset '%s': not a checkpoint of a GPT model", file, ds);
  TESS_CHECK(tess_checkpoint_read_i64(ck, ds, theirs, NCFG));
  cfg_vec(&c, mine);
  for (int k = 0; k < NCFG; k++)
    TESS_REQUIRE(mine[k] == theirs[k], TESS_ERR_SHAPE,
                 "%s: dataset '%s': the checkpoint's model has %s = %" PRId64 ", this one %" PRId64
                 " (a restart continues the same model shape)", file, ds, cfg_names[k], theirs[k], mine[k]);
  /* all three into scratch first: the model stays as it was on any error */
  tmp = malloc(3 * n * es);
  TESS_REQUIRE(tmp != NULL, TESS_ERR_MEM, "%s: %zu parameters x 3", __func__, n);
  for (int k = 0; k < 3; k++) {
    snprintf(ds, sizeof ds, "%s/%s", group, names[k]);
    TESS_CHECK(tess_checkpoint_array_info(ck, ds, &ft, &nd, shape));
    TESS_REQUIRE(ft == t && nd == 1 && shape[0] == (int64_t)n, TESS_ERR_SHAPE,
                 "%s: dataset '%s': %d-D %s of %" PRId64 " values, this model needs 1-D %s of %zu", file,
                 ds, nd, tess_dtype_name(ft), shape[0], tess_dtype_name(t), n);
    TESS_CHECK(wrap(mesh, t, n, tmp + (size_t)k * n * es, &a));
    TESS_CHECK(tess_checkpoint_read_array(ck, ds, a));
    tess_array_destroy(&a);
  }
  for (int k = 0; k < 3; k++) memcpy(dst[k], tmp + (size_t)k * n * es, n * es);
cleanup:
  tess_array_destroy(&a);
  free(tmp);
  return err;
}

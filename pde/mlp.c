/* pde/mlp.c: the multilayer perceptron: shapes, the parameter vector and its
 * initialisation. Weights come from the counter RNG keyed by their index in
 * the parameter vector, so a seed gives the same network on every rank and
 * at every rank count without any broadcast. */
#include "pinn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/rng.h>

void tess_mlp_destroy(tess_mlp_t **mlp)
{
  if (!mlp || !*mlp) return;
  free((*mlp)->width);
  free((*mlp)->woff);
  free((*mlp)->boff);
  free((*mlp)->theta);
  free((*mlp)->theta32);
  free(*mlp);
  *mlp = NULL;
}

tess_err_t tess_mlp_create(int nlayers, const int widths[], tess_act_t act,
                           tess_dtype_t dtype, tess_mlp_t **mlp)
{
  tess_err_t err = TESS_OK;
  tess_mlp_t *m = NULL;
  TESS_REQUIRE(mlp && widths, TESS_ERR_ARG, "NULL argument");
  *mlp = NULL;
  TESS_REQUIRE(nlayers >= 1 && nlayers <= 64, TESS_ERR_ARG, "nlayers = %d, expected 1..64", nlayers);
  TESS_REQUIRE(act >= 0 && act < TESS_ACT_N, TESS_ERR_ARG, "bad activation %d", (int)act);
  TESS_REQUIRE(dtype == TESS_F64 || dtype == TESS_F32, TESS_ERR_ARG,
               "MLP dtype must be f64 or f32, got %s", tess_dtype_name(dtype));
  TESS_REQUIRE(widths[0] >= 1 && widths[0] <= TESS_JET_MAX_IN, TESS_ERR_ARG,
               "input width %d, expected 1..%d", widths[0], TESS_JET_MAX_IN);
  for (int l = 0; l <= nlayers; l++)
    TESS_REQUIRE(widths[l] >= 1 && widths[l] <= 65536, TESS_ERR_ARG,
                 "width[%d] = %d, expected 1..65536", l, widths[l]);
  m = calloc(1, sizeof *m);
  TESS_REQUIRE(m, TESS_ERR_MEM, "mlp");
  m->nlayers = nlayers;
  m->act = act;
  m->dtype = dtype;
  m->width = malloc((size_t)(nlayers + 1) * sizeof *m->width);
  m->woff = malloc((size_t)nlayers * sizeof *m->woff);
  m->boff = malloc((size_t)nlayers * sizeof *m->boff);
  TESS_REQUIRE(m->width && m->woff && m->boff, TESS_ERR_MEM, "mlp shapes");
  memcpy(m->width, widths, (size_t)(nlayers + 1) * sizeof *widths);
  for (int l = 0; l < nlayers; l++) {
    m->woff[l] = m->nparams;
    m->nparams += (size_t)widths[l + 1] * (size_t)widths[l];
    m->boff[l] = m->nparams;
    m->nparams += (size_t)widths[l + 1];
  }
  for (int l = 0; l <= nlayers; l++)
    if (widths[l] > m->maxwidth) m->maxwidth = widths[l];
  m->theta = calloc(m->nparams, sizeof *m->theta);
  TESS_REQUIRE(m->theta, TESS_ERR_MEM, "%zu parameters", m->nparams);
  if (dtype == TESS_F32) {
    m->theta32 = calloc(m->nparams, sizeof *m->theta32);
    TESS_REQUIRE(m->theta32, TESS_ERR_MEM, "%zu parameters", m->nparams);
  }
  *mlp = m;
  m = NULL;
cleanup:
  tess_mlp_destroy(&m);
  return err;
}

tess_err_t tess_mlp_init(tess_mlp_t *m, tess_init_t init, uint64_t seed)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(m, TESS_ERR_ARG, "NULL mlp");
  TESS_REQUIRE(init == TESS_INIT_GLOROT || init == TESS_INIT_HE, TESS_ERR_ARG, "bad init %d", (int)init);
  for (int l = 0; l < m->nlayers; l++) {
    double fi = m->width[l], fo = m->width[l + 1];
    double sd = init == TESS_INIT_HE ? sqrt(2.0 / fi) : sqrt(2.0 / (fi + fo));
    size_t nw = (size_t)m->width[l + 1] * (size_t)m->width[l];
    for (size_t k = 0; k < nw; k++)
      m->theta[m->woff[l] + k] = sd * tess_rng_normal(seed, TESS_PINN_STREAM_INIT, m->woff[l] + k);
    memset(m->theta + m->boff[l], 0, (size_t)m->width[l + 1] * sizeof *m->theta);
  }
  TESS_CHECK(tess_mlp_set_params(m, m->theta));
cleanup:
  return err;
}

size_t tess_mlp_nparams(const tess_mlp_t *m) { return m ? m->nparams : 0; }
int tess_mlp_nlayers(const tess_mlp_t *m) { return m ? m->nlayers : 0; }
int tess_mlp_width(const tess_mlp_t *m, int i)
{
  return (m && i >= 0 && i <= m->nlayers) ? m->width[i] : 0;
}
tess_act_t tess_mlp_act(const tess_mlp_t *m) { return m ? m->act : TESS_ACT_TANH; }
tess_dtype_t tess_mlp_dtype(const tess_mlp_t *m) { return m ? m->dtype : TESS_F64; }

tess_err_t tess_mlp_get_params(const tess_mlp_t *m, double *theta)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(m && theta, TESS_ERR_ARG, "NULL argument");
  memcpy(theta, m->theta, m->nparams * sizeof *theta);
cleanup:
  return err;
}

tess_err_t tess_mlp_set_params(tess_mlp_t *m, const double *theta)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(m && theta, TESS_ERR_ARG, "NULL argument");
  if (theta != m->theta) memcpy(m->theta, theta, m->nparams * sizeof *theta);
  if (m->theta32)
    for (size_t k = 0; k < m->nparams; k++) m->theta32[k] = (float)theta[k];
cleanup:
  return err;
}

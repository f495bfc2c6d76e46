/* ml/sample.c: drawing tokens from the model (tessera/ml_rl.h). A draw is
 * the inverse CDF of softmax(logits / T) at one uniform from the
 * counter-based RNG, summed in index order: no state, so a completion keyed
 * by (step, completion, position) is the same on any rank and in any order. */
#include <math.h>
#include <stdlib.h>
#include <tessera/ml_rl.h>
#include <tessera/rng.h>

#include "ml_internal.h"

tess_err_t tess_ml_sample_token(size_t v, const double *logits, double temperature, double u,
                                int32_t *tok)
{
  tess_err_t err = TESS_OK;
  size_t top = 0, last, pick;
  double s = 0, acc = 0;
  ML_NONNULL(logits);
  ML_NONNULL(tok);
  TESS_REQUIRE(v > 0, TESS_ERR_ARG, "%s: vocabulary size 0", __func__);
  TESS_REQUIRE(temperature >= 0 && isfinite(temperature), TESS_ERR_ARG,
               "%s: temperature %g (expected >= 0)", __func__, temperature);
  TESS_REQUIRE(u >= 0 && u < 1, TESS_ERR_ARG, "%s: u %g outside [0, 1)", __func__, u);
  for (size_t j = 1; j < v; j++)
    if (logits[j] > logits[top]) top = j;
  pick = last = top;
  if (temperature > 0) {
    for (size_t j = 0; j < v; j++) s += exp((logits[j] - logits[top]) / temperature);
    /* the first j whose cumulative probability exceeds u; rounding can leave
     * the total a hair below 1, so u beyond it falls to the last likely token */
    double target = u * s;
    pick = v;
    for (size_t j = 0; j < v; j++) {
      double p = exp((logits[j] - logits[top]) / temperature);
      acc += p;
      if (p > 0) last = j;
      if (target < acc) { pick = j; break; }
    }
    if (pick == v) pick = last;
  }
  *tok = (int32_t)pick;
cleanup:
  return err;
}

tess_err_t tess_ml_gpt_sample(tess_ml_gpt_t *gpt, size_t np, const int32_t *prompt, size_t nc,
                              double temperature, uint64_t seed, uint64_t stream, uint64_t index0,
                              int32_t *out)
{
  tess_err_t err = TESS_OK;
  tess_ml_gpt_config_t c;
  int32_t *ctx = NULL;
  double *logit = NULL;
  ML_NONNULL(gpt);
  ML_NONNULL(prompt);
  ML_NONNULL(out);
  TESS_CHECK(tess_ml_gpt_config(gpt, &c, NULL));
  TESS_REQUIRE(np >= 1 && np + nc <= c.ctx + 1, TESS_ERR_ARG,
               "%s: prompt of %zu and %zu new tokens do not fit the context %zu (np + nc - 1 <= ctx)",
               __func__, np, nc, c.ctx);
  ctx = malloc(sizeof *ctx * (np + nc));
  logit = malloc(sizeof *logit * c.vocab);
  TESS_REQUIRE(ctx && logit, TESS_ERR_MEM, "%s: %zu tokens", __func__, np + nc);
  for (size_t i = 0; i < np; i++) ctx[i] = prompt[i];
  for (size_t j = 0; j < nc; j++) {
    TESS_CHECK(tess_ml_gpt_next_logits(gpt, np + j, ctx, logit));
    TESS_CHECK(tess_ml_sample_token(c.vocab, logit, temperature,
                                    tess_rng_uniform(seed, stream, index0 + j), &ctx[np + j]));
    out[j] = ctx[np + j];
  }
cleanup:
  free(ctx);
  free(logit);
  return err;
}

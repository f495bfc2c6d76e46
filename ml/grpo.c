/* ml/grpo.c: the GRPO-style loss and the data-parallel RL step of
 * tessera/ml_rl.h. Each rank takes a contiguous block of prompts (whole
 * groups, so the advantages need no communication), samples and scores its
 * completions, and hands the tree sum one chunk per completion: its loss,
 * KL, reward and gradient. The tree, not the split, fixes the bits. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/comm.h>
#include <tessera/reduce.h>
#include <tessera/ml_rl.h>
#include <tessera/tree_sum.h>

#include "ml_internal.h"

tess_err_t tess_ml_grpo_advantages(size_t ngroups, size_t G, const double *rewards, double eps,
                                   double *adv)
{
  tess_err_t err = TESS_OK;
  ML_NONNULL(rewards);
  ML_NONNULL(adv);
  TESS_REQUIRE(G >= 1, TESS_ERR_ARG, "%s: group size 0", __func__);
  TESS_REQUIRE(eps >= 0, TESS_ERR_ARG, "%s: eps %g < 0", __func__, eps);
  for (size_t q = 0; q < ngroups; q++) {
    const double *r = rewards + q * G;
    double m = 0, var = 0;
    for (size_t i = 0; i < G; i++) m += r[i];
    m /= (double)G;
    for (size_t i = 0; i < G; i++) var += (r[i] - m) * (r[i] - m);
    double sd = sqrt(var / (double)G);
    for (size_t i = 0; i < G; i++) adv[q * G + i] = sd > 0 ? (r[i] - m) / (sd + eps) : 0.0;
  }
cleanup:
  return err;
}

tess_err_t tess_ml_grpo_loss(size_t C, const double *logp, const double *ref_logp, double adv,
                             double beta, double scale, double *loss, double *kl, double *dlogp)
{
  tess_err_t err = TESS_OK;
  double l = 0, k = 0;
  ML_NONNULL(logp);
  ML_NONNULL(ref_logp);
  ML_NONNULL(loss);
  ML_HOST(kl);
  ML_HOST(dlogp);
  for (size_t t = 0; t < C; t++) {
    double d = ref_logp[t] - logp[t], e = exp(d), k3 = e - d - 1;
    l += -adv * logp[t] + beta * k3;
    k += k3;
    /* d k3 / d logp = -e + 1 */
    if (dlogp) dlogp[t] = scale * (-adv + beta * (1 - e));
  }
  *loss = scale * l;
  if (kl) *kl = scale * k;
cleanup:
  return err;
}

/* ---- the step ---- */
typedef struct {
  tess_ml_gpt_t *pol;
  const tess_ml_grpo_t *o;
  size_t np, S, nparam, es;
  int64_t c0;              /* this rank's first completion */
  const int32_t *seq;      /* local completions' sequences [np + C] */
  const double *adv, *reward, *ref;   /* per local completion; ref: C each */
  double scale, rscale;    /* 1/(completion tokens), 1/(completions) */
  tess_dtype_t t;
  void *grad;
  int32_t *tok, *tgt;
  double *lp;
  /* the chunk being summed */
  size_t cur;
  double loss, kl;
} step_t;

static tess_err_t dlogp_cb(size_t n, const double *logp, double *dlogp, void *vctx)
{
  step_t *x = vctx;
  size_t C = x->o->ncomplete, off = n - C;   /* the completion is the last C positions */
  for (size_t i = 0; i < off; i++) dlogp[i] = 0;
  return tess_ml_grpo_loss(C, logp + off, x->ref + x->cur * C, x->adv[x->cur], x->o->beta, x->scale,
                           &x->loss, &x->kl, dlogp + off);
}

static tess_err_t chunk(int64_t c, double *out, void *vctx)
{
  tess_err_t err = TESS_OK;
  step_t *x = vctx;
  size_t i = (size_t)(c - x->c0), L = x->np + x->o->ncomplete;
  const int32_t *s = x->seq + i * L;
  x->cur = i;
  for (size_t j = 0; j < x->S; j++) {
    x->tok[j] = s[j];
    x->tgt[j] = j + 1 >= x->np ? s[j + 1] : -1;   /* the prompt is not scored */
  }
  memset(x->grad, 0, x->nparam * x->es);
  TESS_CHECK(tess_ml_gpt_logprobs(x->pol, 1, x->S, x->tok, x->tgt, x->lp, dlogp_cb, x));
  out[0] = x->loss;
  out[1] = x->kl;
  out[2] = x->reward[i] * x->rscale;
  for (size_t j = 0; j < x->nparam; j++)
    out[3 + j] = x->t == TESS_F64 ? ((const double *)x->grad)[j] : ((const float *)x->grad)[j];
cleanup:
  return err;
}

tess_err_t tess_ml_gpt_grpo_step(tess_ml_gpt_t *policy, tess_ml_gpt_t *ref, tess_mesh_t *mesh,
                                 unsigned axes, size_t nprompts, size_t np, const int32_t *prompts,
                                 const tess_ml_grpo_t *o, tess_ml_reward_fn reward, void *reward_ctx,
                                 const tess_ml_adamw_t *opt, int64_t step, double clip_norm,
                                 tess_ml_grpo_stats_t *stats)
{
  tess_err_t err = TESS_OK;
  step_t x = {0};
  tess_ml_gpt_config_t c;
  int r = 0, P = 1;
  size_t G, C, L, q0, q1, nloc;
  int32_t *seq = NULL;
  double *rw = NULL, *adv = NULL, *refl = NULL, *sum = NULL, *lp = NULL, sq = 0, gscale = 1;
  void *par = NULL, *grad = NULL, *m = NULL, *v = NULL;
  ML_NONNULL(policy);
  ML_NONNULL(ref);
  ML_NONNULL(mesh);
  ML_NONNULL(prompts);
  ML_NONNULL(o);
  ML_NONNULL(opt);
  ML_NONNULL(stats);
  TESS_REQUIRE(reward != NULL, TESS_ERR_ARG, "%s: argument 'reward' is NULL", __func__);
  G = o->group, C = o->ncomplete, L = np + C;
  TESS_CHECK(tess_ml_gpt_config(policy, &c, &x.t));
  TESS_REQUIRE(nprompts > 0 && G > 0 && C > 0 && np > 0 && L - 1 <= c.ctx, TESS_ERR_ARG,
               "%s: %zu prompts of %zu tokens, groups of %zu, completions of %zu (all > 0; prompt + "
               "completion - 1 <= ctx %zu)", __func__, nprompts, np, G, C, c.ctx);
  TESS_REQUIRE(step >= 1, TESS_ERR_ARG, "%s: step %lld (>= 1)", __func__, (long long)step);
  for (size_t i = 0; i < nprompts * np; i++)
    TESS_REQUIRE(prompts[i] >= 0 && (size_t)prompts[i] < c.vocab, TESS_ERR_ARG,
                 "%s: prompts[%zu] = %d outside the vocabulary [0, %zu)", __func__, i, (int)prompts[i],
                 c.vocab);
  TESS_CHECK(tess_ml_gpt_params(policy, &x.nparam, &par, &grad));
  TESS_CHECK(tess_ml_gpt_moments(policy, &m, &v));
  TESS_CHECK(tess_comm_rank_size(mesh, axes, &r, &P));
  q0 = nprompts * (size_t)r / (size_t)P;   /* whole groups per rank */
  q1 = nprompts * (size_t)(r + 1) / (size_t)P;
  nloc = (q1 - q0) * G;
  seq = malloc(sizeof *seq * (nloc ? nloc : 1) * L);
  rw = malloc(sizeof *rw * (nloc ? nloc : 1));
  adv = malloc(sizeof *adv * (nloc ? nloc : 1));
  refl = malloc(sizeof *refl * (nloc ? nloc : 1) * C);
  lp = malloc(sizeof *lp * L);
  x.tok = malloc(sizeof *x.tok * L);
  x.tgt = malloc(sizeof *x.tgt * L);
  sum = malloc(sizeof *sum * (3 + x.nparam));
  TESS_REQUIRE(seq && rw && adv && refl && lp && x.tok && x.tgt && sum, TESS_ERR_MEM,
               "%s: %zu completions of %zu tokens, %zu parameters", __func__, nloc, L, x.nparam);
  /* sample and score this rank's completions; the reference's log-probs */
  for (size_t i = 0; i < nloc; i++) {
    size_t k = q0 * G + i;   /* global completion index: prompt k / G, member k % G */
    int32_t *s = seq + i * L;
    const int32_t *p = prompts + (k / G) * np;
    memcpy(s, p, sizeof *s * np);
    TESS_CHECK(tess_ml_gpt_sample(policy, np, p, C, o->temperature, o->seed, TESS_ML_RL_STREAM(step),
                                  (uint64_t)k * C, s + np));
    TESS_CHECK(reward(np, p, C, s + np, &rw[i], reward_ctx));
    for (size_t j = 0; j + 1 < L; j++) {
      x.tok[j] = s[j];
      x.tgt[j] = j + 1 >= np ? s[j + 1] : -1;
    }
    TESS_CHECK(tess_ml_gpt_logprobs(ref, 1, L - 1, x.tok, x.tgt, lp, NULL, NULL));
    memcpy(refl + i * C, lp + (L - 1 - C), sizeof *lp * C);
  }
  TESS_CHECK(tess_ml_grpo_advantages(q1 - q0, G, rw, o->adv_eps, adv));
  x.pol = policy;
  x.o = o;
  x.np = np;
  x.S = L - 1;
  x.es = tess_dtype_size(x.t);
  x.c0 = (int64_t)(q0 * G);
  x.seq = seq;
  x.adv = adv;
  x.reward = rw;
  x.ref = refl;
  x.scale = 1.0 / (double)(nprompts * G * C);
  x.rscale = 1.0 / (double)(nprompts * G);
  x.grad = grad;
  x.lp = lp;
  TESS_CHECK(tess_chunk_tree_sum(mesh, axes, (int64_t)(nprompts * G), x.c0, (int64_t)(q1 * G),
                                 3 + x.nparam, chunk, &x, sum));
  stats->loss = sum[0];
  stats->kl = sum[1];
  stats->reward = sum[2];
  for (size_t j = 0; j < x.nparam; j++) {
    if (x.t == TESS_F64) ((double *)grad)[j] = sum[3 + j];
    else ((float *)grad)[j] = (float)sum[3 + j];
  }
  TESS_CHECK(tess_dot_f64(sum + 3, sum + 3, x.nparam, MPI_COMM_SELF, &sq));
  TESS_CHECK(tess_ml_clip_scale(sq, clip_norm, &gscale));
  TESS_CHECK(tess_ml_adamw_step(x.t, x.nparam, opt, step, gscale, par, grad, m, v));
cleanup:
  free(seq);
  free(rw);
  free(adv);
  free(refl);
  free(lp);
  free(x.tok);
  free(x.tgt);
  free(sum);
  return err;
}

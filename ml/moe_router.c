/* ml/moe_router.c: the MoE router on one rank's tokens: logits = x W^T,
 * softmax, the top-k choice, the gates, GShard's random second choice, and
 * the exact backward of the gates and of both auxiliary losses. All in
 * double with fixed loop orders; the random draw is keyed by the global
 * token index, so routing never depends on where a token lives. Capacity
 * needs every rank's counts and is applied by the layer (moe.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/rng.h>

#include "ml_internal.h"
#include "moe_internal.h"

void moe_route_free(moe_route_t *r)
{
  free(r->logits); free(r->prob); free(r->lse);
  free(r->choice); free(r->kept); free(r->gate); free(r->norm);
  memset(r, 0, sizeof *r);
}

#define DEF_LOGITS(T, S)                                                                   \
  static void logits_##S(size_t n, size_t d, size_t E, const T *x, const T *w, double *l)  \
  {                                                                                        \
    for (size_t t = 0; t < n; t++)                                                         \
      for (size_t e = 0; e < E; e++) {                                                     \
        double s = 0;                                                                      \
        for (size_t j = 0; j < d; j++) s += (double)x[t * d + j] * (double)w[e * d + j];   \
        l[t * E + e] = s;                                                                  \
      }                                                                                    \
  }
ML_INSTANTIATE(DEF_LOGITS)

static int normalised(const tess_ml_moe_config_t *c)
{
  return c->policy == TESS_ML_MOE_TOP2 || (c->policy == TESS_ML_MOE_TOPK && c->normalize);
}

tess_err_t moe_route_forward(moe_route_t *r, const tess_ml_moe_config_t *c, size_t k,
                             tess_dtype_t t, size_t n, const void *x, const void *w,
                             int64_t step, size_t g0)
{
  tess_err_t err = TESS_OK;
  size_t E = c->n_experts, m = n ? n : 1;
  moe_route_free(r);
  r->n = n; r->E = E; r->k = k;
  r->logits = malloc(m * E * sizeof *r->logits);
  r->prob = malloc(m * E * sizeof *r->prob);
  r->lse = malloc(m * sizeof *r->lse);
  r->norm = malloc(m * sizeof *r->norm);
  r->choice = malloc(m * k * sizeof *r->choice);
  r->kept = malloc(m * k * sizeof *r->kept);
  r->gate = malloc(m * k * sizeof *r->gate);
  TESS_REQUIRE(r->logits && r->prob && r->lse && r->norm && r->choice && r->kept && r->gate,
               TESS_ERR_MEM, "router state for %zu tokens", n);
  ML_CALL(t, logits, n, c->d_model, E, x, w, r->logits);
  for (size_t i = 0; i < n; i++) {
    const double *l = r->logits + i * E;
    double *p = r->prob + i * E, mx = l[0], s = 0;
    for (size_t e = 1; e < E; e++) mx = l[e] > mx ? l[e] : mx;
    for (size_t e = 0; e < E; e++) s += (p[e] = exp(l[e] - mx));
    for (size_t e = 0; e < E; e++) p[e] /= s;
    r->lse[i] = mx + log(s);
    /* top-k by repeated argmax: ties go to the lower index */
    int32_t *ch = r->choice + i * k;
    double sum = 0;
    for (size_t q = 0; q < k; q++) {
      int32_t best = -1;
      for (size_t e = 0; e < E; e++) {
        int taken = 0;
        for (size_t q2 = 0; q2 < q; q2++) taken |= ch[q2] == (int32_t)e;
        if (!taken && (best < 0 || p[e] > p[best])) best = (int32_t)e;
      }
      ch[q] = best;
      sum += p[best];
    }
    r->norm[i] = normalised(c) ? sum : 1.0;
    for (size_t q = 0; q < k; q++) {
      r->gate[i * k + q] = p[ch[q]] / r->norm[i];
      r->kept[i * k + q] = ch[q];
    }
    /* GShard: the second expert with probability min(1, 2 g2) */
    if (c->policy == TESS_ML_MOE_TOP2 &&
        !(tess_rng_uniform(c->seed, TESS_ML_MOE_STREAM(step), g0 + i) < 2.0 * r->gate[i * k + 1]))
      r->kept[i * k + 1] = -1;
  }
cleanup:
  return err;
}

void moe_route_backward(const moe_route_t *r, const tess_ml_moe_config_t *c, const double *dgate,
                        const double *f, double T, double *dp, double *dlogits)
{
  size_t E = r->E, k = r->k;
  int nrm = normalised(c);
  for (size_t i = 0; i < r->n; i++) {
    const double *p = r->prob + i * E, *g = r->gate + i * k, *dg = dgate + i * k;
    const int32_t *ch = r->choice + i * k;
    double *dl = dlogits + i * E;
    /* d/dp of the aux losses: E f_e / T per token; the z-loss goes to the logits */
    for (size_t e = 0; e < E; e++) dp[e] = c->aux_weight * (double)E * f[e] / T;
    /* gates: g_q = p_q / S (S = sum of the chosen p, or 1):
     * dL/dp_q = (dg_q - sum_r dg_r g_r) / S for normalised gates */
    double sgd = 0;
    if (nrm)
      for (size_t q = 0; q < k; q++) sgd += dg[q] * g[q];
    for (size_t q = 0; q < k; q++) dp[ch[q]] += (dg[q] - (nrm ? sgd : 0.0)) / r->norm[i];
    double pd = 0;
    for (size_t e = 0; e < E; e++) pd += p[e] * dp[e];
    double zc = c->z_weight * 2.0 * r->lse[i] / T;
    for (size_t e = 0; e < E; e++) dl[e] = p[e] * (dp[e] - pd) + zc * p[e];
  }
}

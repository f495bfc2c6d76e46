/* tests/moe/moe_dense_ref.c: see moe_dense_ref.h. */
#include "moe_dense_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/rng.h>

typedef long double ld;
#define GC 0.7978845608028654L
#define GK 0.044715L

static ld gelu(ld v) { return 0.5L * v * (1 + tanhl(GC * (v + GK * v * v * v))); }
static ld gelu_d(ld v)
{
  ld th = tanhl(GC * (v + GK * v * v * v));
  return 0.5L * (1 + th) + 0.5L * v * (1 - th * th) * GC * (1 + 3 * GK * v * v);
}

void moe_ref_free(moe_ref_out_t *o)
{
  free(o->y); free(o->dx); free(o->drouter); free(o->dexperts); free(o->kept);
  memset(o, 0, sizeof *o);
}

int moe_ref_run(const tess_ml_moe_config_t *c, int64_t step, size_t T, const double *x,
                const double *router, const double *experts, const double *dy,
                moe_ref_out_t *out)
{
  size_t d = c->d_model, h = c->hidden, E = c->n_experts, P = 2 * h * d + h + d;
  size_t k = c->policy == TESS_ML_MOE_TOP1 ? 1 : c->policy == TESS_ML_MOE_TOP2 ? 2 : c->k;
  int nrm = c->policy == TESS_ML_MOE_TOP2 || (c->policy == TESS_ML_MOE_TOPK && c->normalize);
  size_t Tm = T ? T : 1;
  ld *p = calloc(Tm * E, sizeof *p), *lse = calloc(Tm, sizeof *lse);
  ld *H = calloc(E * Tm * h, sizeof *H), *O = calloc(E * Tm * d, sizeof *O);
  ld *gate = calloc(Tm * k, sizeof *gate), *S = calloc(Tm, sizeof *S);
  int *ch = calloc(Tm * k, sizeof *ch), *keep = calloc(Tm * k, sizeof *keep);
  ld *dxl = calloc(Tm * d, sizeof *dxl), *dR = calloc(E * d, sizeof *dR);
  ld *dX = calloc(E * P, sizeof *dX);
  out->y = calloc(Tm * d, sizeof *out->y);
  out->dx = calloc(Tm * d, sizeof *out->dx);
  out->drouter = calloc(E * d, sizeof *out->drouter);
  out->dexperts = calloc(E * P, sizeof *out->dexperts);
  out->kept = calloc(Tm * k, sizeof *out->kept);
  if (!p || !lse || !H || !O || !gate || !S || !ch || !keep || !dxl || !dR || !dX || !out->y ||
      !out->dx || !out->drouter || !out->dexperts || !out->kept)
    return 1;
  /* router */
  for (size_t t = 0; t < T; t++) {
    ld l[256], mx = -INFINITY, s = 0;
    for (size_t e = 0; e < E; e++) {
      l[e] = 0;
      for (size_t j = 0; j < d; j++) l[e] += (ld)x[t * d + j] * router[e * d + j];
      if (l[e] > mx) mx = l[e];
    }
    for (size_t e = 0; e < E; e++) s += expl(l[e] - mx);
    lse[t] = mx + logl(s);
    for (size_t e = 0; e < E; e++) p[t * E + e] = expl(l[e] - lse[t]);
    /* top-k: sort the indices by probability, stable on index */
    int idx[256];
    for (size_t e = 0; e < E; e++) idx[e] = (int)e;
    for (size_t a = 1; a < E; a++)
      for (size_t b = a; b > 0 && p[t * E + idx[b]] > p[t * E + idx[b - 1]]; b--) {
        int q = idx[b]; idx[b] = idx[b - 1]; idx[b - 1] = q;
      }
    S[t] = 0;
    for (size_t r = 0; r < k; r++) {
      ch[t * k + r] = idx[r];
      S[t] += p[t * E + idx[r]];
      keep[t * k + r] = 1;
    }
    if (!nrm) S[t] = 1;
    for (size_t r = 0; r < k; r++) gate[t * k + r] = p[t * E + idx[r]] / S[t];
    if (c->policy == TESS_ML_MOE_TOP2 &&
        !((ld)tess_rng_uniform(c->seed, TESS_ML_MOE_STREAM(step), t) < 2 * gate[t * k + 1]))
      keep[t * k + 1] = 0;
  }
  /* capacity: choice rank by choice rank, tokens in order */
  long cap = c->capacity_factor > 0 ? (long)ceil(c->capacity_factor * (double)T * (double)k / (double)E)
                                    : -1;
  long used[256] = {0};
  out->dropped = 0;
  for (size_t r = 0; r < k; r++)
    for (size_t t = 0; t < T; t++) {
      if (!keep[t * k + r]) continue;
      int e = ch[t * k + r];
      if (cap >= 0 && used[e] >= cap) {
        keep[t * k + r] = 0;
        out->dropped++;
      } else {
        used[e]++;
      }
    }
  for (size_t t = 0; t < T; t++)
    for (size_t r = 0; r < k; r++) out->kept[t * k + r] = keep[t * k + r] ? ch[t * k + r] : -1;
  /* fractions and the aux losses */
  size_t kf = c->policy == TESS_ML_MOE_TOPK ? k : 1;
  ld f[256] = {0}, Pm[256] = {0}, aux = 0, z = 0;
  for (size_t t = 0; t < T; t++) {
    for (size_t r = 0; r < kf; r++) f[ch[t * k + r]] += 1.0L / ((ld)T * kf);
    for (size_t e = 0; e < E; e++) Pm[e] += p[t * E + e] / T;
    z += lse[t] * lse[t] / T;
  }
  for (size_t e = 0; e < E; e++) aux += E * f[e] * Pm[e];
  out->aux = (double)aux;
  out->z = (double)z;
  /* every expert on every token */
  for (size_t e = 0; e < E; e++) {
    const double *W1 = experts + e * P, *b1 = W1 + h * d, *W2 = b1 + h, *b2 = W2 + d * h;
    for (size_t t = 0; t < T; t++) {
      ld *hh = H + (e * T + t) * h, *o = O + (e * T + t) * d;
      for (size_t a = 0; a < h; a++) {
        hh[a] = b1[a];
        for (size_t j = 0; j < d; j++) hh[a] += (ld)W1[a * d + j] * x[t * d + j];
      }
      for (size_t j = 0; j < d; j++) {
        o[j] = b2[j];
        for (size_t a = 0; a < h; a++) o[j] += (ld)W2[j * h + a] * gelu(hh[a]);
      }
    }
  }
  /* y = x + sum of the masked, gated outputs */
  for (size_t t = 0; t < T; t++)
    for (size_t j = 0; j < d; j++) {
      ld v = x[t * d + j];
      for (size_t r = 0; r < k; r++)
        if (keep[t * k + r]) v += gate[t * k + r] * O[((size_t)ch[t * k + r] * T + t) * d + j];
      out->y[t * d + j] = (double)v;
    }
  /* backward, dense: the weight of expert e on token t is m_te = sum_r keep gate [ch == e] */
  for (size_t t = 0; t < T; t++)
    for (size_t j = 0; j < d; j++) dxl[t * d + j] = dy[t * d + j];
  for (size_t e = 0; e < E; e++) {
    const double *W1 = experts + e * P, *W2 = W1 + h * d + h;
    ld *gW1 = dX + e * P, *gb1 = gW1 + h * d, *gW2 = gb1 + h, *gb2 = gW2 + d * h;
    for (size_t t = 0; t < T; t++) {
      ld mte = 0;
      for (size_t r = 0; r < k; r++)
        if (keep[t * k + r] && ch[t * k + r] == (int)e) mte += gate[t * k + r];
      ld *hh = H + (e * T + t) * h, da[1024];
      for (size_t a = 0; a < h; a++) da[a] = 0;
      for (size_t j = 0; j < d; j++) {
        ld go = mte * dy[t * d + j];
        gb2[j] += go;
        for (size_t a = 0; a < h; a++) {
          gW2[j * h + a] += go * gelu(hh[a]);
          da[a] += go * W2[j * h + a];
        }
      }
      for (size_t a = 0; a < h; a++) {
        ld dh = da[a] * gelu_d(hh[a]);
        gb1[a] += dh;
        for (size_t j = 0; j < d; j++) {
          gW1[a * d + j] += dh * x[t * d + j];
          dxl[t * d + j] += dh * W1[a * d + j];
        }
      }
    }
  }
  /* gates -> probabilities -> logits */
  for (size_t t = 0; t < T; t++) {
    ld dg[64], dp[256], pd = 0;
    for (size_t r = 0; r < k; r++) {
      dg[r] = 0;
      if (keep[t * k + r]) {
        const ld *o = O + ((size_t)ch[t * k + r] * T + t) * d;
        for (size_t j = 0; j < d; j++) dg[r] += dy[t * d + j] * o[j];
      }
    }
    for (size_t e = 0; e < E; e++) dp[e] = c->aux_weight * E * f[e] / T;
    /* g_r = p_r / S: d g_r / d p_q = ([r == q] - nrm g_r) / S (q among the chosen) */
    for (size_t q = 0; q < k; q++)
      for (size_t r = 0; r < k; r++)
        dp[ch[t * k + q]] += dg[r] * ((r == q ? 1 : 0) - (nrm ? gate[t * k + r] : 0)) / S[t];
    for (size_t e = 0; e < E; e++) pd += p[t * E + e] * dp[e];
    for (size_t e = 0; e < E; e++) {
      ld dl = p[t * E + e] * (dp[e] - pd) + c->z_weight * 2 * lse[t] / T * p[t * E + e];
      for (size_t j = 0; j < d; j++) {
        dR[e * d + j] += dl * x[t * d + j];
        dxl[t * d + j] += dl * router[e * d + j];
      }
    }
  }
  for (size_t i = 0; i < T * d; i++) out->dx[i] = (double)dxl[i];
  for (size_t i = 0; i < E * d; i++) out->drouter[i] = (double)dR[i];
  for (size_t i = 0; i < E * P; i++) out->dexperts[i] = (double)dX[i];
  free(p); free(lse); free(H); free(O); free(gate); free(S); free(ch); free(keep);
  free(dxl); free(dR); free(dX);
  return 0;
}

/* ml/gpt.c: the GPT-style model of tessera/ml_gpt.h on the host: parameter
 * layout and initialisation, forward and exact backward through the
 * operators of ml.h (activations kept per layer, work memory per call), and
 * the data-parallel training step (per-sequence gradients summed over one
 * fixed tree, so the update has the same bits at any rank count). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/comm.h>
#include <tessera/reduce.h>
#include <tessera/rng.h>
#include <tessera/tree_sum.h>
#include <tessera/ml_gpt.h>

#include "ml_internal.h"

/* Offsets (in elements) of one layer's parameters from the layer's start. */
enum { P_LN1G, P_LN1B, P_ATTW, P_ATTB, P_PRJW, P_PRJB, P_LN2G, P_LN2B, P_FCW, P_FCB, P_FPW,
       P_FPB, P_NPARTS };

struct tess_ml_gpt {
  tess_ml_gpt_config_t c;
  tess_dtype_t t;
  size_t es, n;                 /* element size, parameter count */
  size_t wte, wpe, layer0, per_layer, lnf;
  size_t off[P_NPARTS];         /* within a layer */
  char *p, *g, *m, *v;          /* parameters, gradients, AdamW moments */
};

static size_t part_len(const tess_ml_gpt_config_t *c, int k)
{
  size_t d = c->d_model;
  switch (k) {
  case P_ATTW: return 3 * d * d;
  case P_ATTB: return 3 * d;
  case P_PRJW: return d * d;
  case P_FCW: return 4 * d * d;
  case P_FCB: return 4 * d;
  case P_FPW: return d * 4 * d;
  default: return d;   /* LayerNorm gains and biases, the projections' biases */
  }
}

/* element i of a dtype buffer as double, and back */
static double ld(const tess_ml_gpt_t *g, const void *b, size_t i)
{
  return g->t == TESS_F64 ? ((const double *)b)[i] : ((const float *)b)[i];
}
static void st(const tess_ml_gpt_t *g, void *b, size_t i, double x)
{
  if (g->t == TESS_F64) ((double *)b)[i] = x;
  else ((float *)b)[i] = (float)x;
}
static void *at(const tess_ml_gpt_t *g, void *b, size_t i) { return (char *)b + i * g->es; }

tess_err_t tess_ml_gpt_create(const tess_ml_gpt_config_t *cfg, tess_dtype_t t, uint64_t seed,
                              tess_ml_gpt_t **gpt)
{
  tess_err_t err = TESS_OK;
  tess_ml_gpt_t *g = NULL;
  ML_NONNULL(gpt);
  *gpt = NULL;
  ML_NONNULL(cfg);
  ML_DTYPE(t);
  TESS_REQUIRE(cfg->vocab > 0 && cfg->ctx > 0 && cfg->d_model > 0 && cfg->n_layer > 0 &&
                   cfg->n_head > 0 && cfg->d_model % cfg->n_head == 0,
               TESS_ERR_ARG,
               "%s: vocab %zu, ctx %zu, d_model %zu, n_layer %zu, n_head %zu (all > 0, d_model "
               "a multiple of n_head)", __func__, cfg->vocab, cfg->ctx, cfg->d_model,
               cfg->n_layer, cfg->n_head);
  g = calloc(1, sizeof *g);
  TESS_REQUIRE(g != NULL, TESS_ERR_MEM, "%s: model", __func__);
  g->c = *cfg;
  g->t = t;
  g->es = tess_dtype_size(t);
  size_t d = cfg->d_model;
  g->wte = 0;
  g->wpe = cfg->vocab * d;
  g->layer0 = g->wpe + cfg->ctx * d;
  for (int k = 0; k < P_NPARTS; k++) {
    g->off[k] = g->per_layer;
    g->per_layer += part_len(cfg, k);
  }
  g->lnf = g->layer0 + cfg->n_layer * g->per_layer;
  g->n = g->lnf + 2 * d;
  g->p = calloc(g->n, g->es);
  g->g = calloc(g->n, g->es);
  g->m = calloc(g->n, g->es);
  g->v = calloc(g->n, g->es);
  TESS_REQUIRE(g->p && g->g && g->m && g->v, TESS_ERR_MEM, "%s: %zu parameters", __func__, g->n);
  /* initialisation: normals keyed by the parameter index (stream 0x6E7) */
  {
    double sproj = 0.02 / sqrt(2.0 * (double)cfg->n_layer);
    for (size_t i = 0; i < g->layer0; i++) st(g, g->p, i, 0.02 * tess_rng_normal(seed, 0x6E7, i));
    for (size_t l = 0; l < cfg->n_layer; l++) {
      size_t b = g->layer0 + l * g->per_layer;
      for (int k = 0; k < P_NPARTS; k++) {
        size_t o = b + g->off[k], n = part_len(cfg, k);
        for (size_t i = 0; i < n; i++) {
          double x = 0;
          if (k == P_LN1G || k == P_LN2G) x = 1;
          else if (k == P_ATTW || k == P_FCW) x = 0.02 * tess_rng_normal(seed, 0x6E7, o + i);
          else if (k == P_PRJW || k == P_FPW) x = sproj * tess_rng_normal(seed, 0x6E7, o + i);
          st(g, g->p, o + i, x);
        }
      }
    }
    for (size_t i = 0; i < d; i++) st(g, g->p, g->lnf + i, 1.0);
  }
  *gpt = g;
  g = NULL;
cleanup:
  tess_ml_gpt_destroy(&g);
  return err;
}

void tess_ml_gpt_destroy(tess_ml_gpt_t **gpt)
{
  if (!gpt || !*gpt) return;
  free((*gpt)->p);
  free((*gpt)->g);
  free((*gpt)->m);
  free((*gpt)->v);
  free(*gpt);
  *gpt = NULL;
}

tess_err_t tess_ml_gpt_params(tess_ml_gpt_t *gpt, size_t *n, void **params, void **grads)
{
  tess_err_t err = TESS_OK;
  ML_NONNULL(gpt);
  if (n) *n = gpt->n;
  if (params) *params = gpt->p;
  if (grads) *grads = gpt->g;
cleanup:
  return err;
}

tess_err_t tess_ml_gpt_config(const tess_ml_gpt_t *gpt, tess_ml_gpt_config_t *cfg, tess_dtype_t *t)
{
  tess_err_t err = TESS_OK;
  ML_NONNULL(gpt);
  if (cfg) *cfg = gpt->c;
  if (t) *t = gpt->t;
cleanup:
  return err;
}

tess_err_t tess_ml_gpt_moments(tess_ml_gpt_t *gpt, void **m, void **v)
{
  tess_err_t err = TESS_OK;
  ML_NONNULL(gpt);
  if (m) *m = gpt->m;
  if (v) *v = gpt->v;
cleanup:
  return err;
}

/* ---- activations of one call ---- */
typedef struct {
  char *x, *ln1, *qkv, *q, *k, *v, *ao, *a, *x1, *ln2, *h, *hg;   /* per layer */
  double *m1, *r1, *m2, *r2, *lse;                                   /* per layer */
} layer_act_t;

typedef struct {
  size_t N, B, S;
  layer_act_t *L;
  char *xf, *lnf, *logits, *t0, *t1, *t2;    /* final; scratch [N, 4d] x 3 */
  double *mf, *rf;
  void *block;                                /* one allocation for all of it */
} acts_t;

/* Lays one call's activations out from `base` (NULL: only counts) and
 * returns their bytes: the same walk sizes the block and hands it out. */
static size_t acts_layout(const tess_ml_gpt_t *g, acts_t *a, char *base)
{
  size_t N = a->N, d = g->c.d_model, es = g->es, H = g->c.n_head, off = 0;
#define TAKE(ptr, bytes) do { if (base) (ptr) = (void *)(base + off); off += (bytes); } while (0)
  for (size_t l = 0; l < g->c.n_layer; l++) {
    layer_act_t *L = &a->L[l];
    /* doubles first: keeps them 8-byte aligned (a layer's element arrays
     * are 20 N d elements: a multiple of 8 bytes whatever es is) */
    TAKE(L->m1, N * sizeof(double)); TAKE(L->r1, N * sizeof(double));
    TAKE(L->m2, N * sizeof(double)); TAKE(L->r2, N * sizeof(double));
    TAKE(L->lse, a->B * H * a->S * sizeof(double));
    TAKE(L->x, N * d * es); TAKE(L->ln1, N * d * es); TAKE(L->qkv, 3 * N * d * es);
    TAKE(L->q, N * d * es); TAKE(L->k, N * d * es); TAKE(L->v, N * d * es);
    TAKE(L->ao, N * d * es); TAKE(L->a, N * d * es); TAKE(L->x1, N * d * es);
    TAKE(L->ln2, N * d * es); TAKE(L->h, 4 * N * d * es); TAKE(L->hg, 4 * N * d * es);
  }
  TAKE(a->mf, N * sizeof(double)); TAKE(a->rf, N * sizeof(double));
  TAKE(a->xf, N * d * es); TAKE(a->lnf, N * d * es); TAKE(a->logits, N * g->c.vocab * es);
  TAKE(a->t0, 4 * N * d * es); TAKE(a->t1, 4 * N * d * es); TAKE(a->t2, 4 * N * d * es);
#undef TAKE
  return off;
}

static tess_err_t acts_alloc(const tess_ml_gpt_t *g, size_t B, size_t S, acts_t *a)
{
  tess_err_t err = TESS_OK;
  size_t bytes;
  memset(a, 0, sizeof *a);
  a->N = B * S;
  a->B = B;
  a->S = S;
  a->L = calloc(g->c.n_layer, sizeof *a->L);
  TESS_REQUIRE(a->L != NULL, TESS_ERR_MEM, "GPT activations: %zu layers", g->c.n_layer);
  bytes = acts_layout(g, a, NULL);
  a->block = malloc(bytes);
  TESS_REQUIRE(a->block != NULL, TESS_ERR_MEM, "GPT activations of %zu tokens (%zu bytes)", a->N,
               bytes);
  acts_layout(g, a, a->block);
cleanup:
  return err;
}

static void acts_free(acts_t *a)
{
  free(a->L);
  free(a->block);
  memset(a, 0, sizeof *a);
}

/* [B, S, 3, H, Dh] (the qkv rows) <-> three [B, H, S, Dh]; dir 1: split. */
static void qkv_permute(const tess_ml_gpt_t *g, size_t B, size_t S, char *qkv, char *q, char *k,
                        char *v, int split)
{
  size_t H = g->c.n_head, Dh = g->c.d_model / H, es = g->es, row = Dh * es;
  char *dst[3] = {q, k, v};
  for (size_t b = 0; b < B; b++)
    for (size_t s = 0; s < S; s++)
      for (int w = 0; w < 3; w++)
        for (size_t h = 0; h < H; h++) {
          char *x = qkv + ((((b * S + s) * 3 + (size_t)w) * H + h) * Dh) * es;
          char *y = dst[w] + (((b * H + h) * S + s) * Dh) * es;
          if (split) memcpy(y, x, row);
          else memcpy(x, y, row);
        }
}

/* [B, H, S, Dh] <-> [B, S, H*Dh]; merge = 1: to rows. */
static void heads_permute(const tess_ml_gpt_t *g, size_t B, size_t S, char *hd, char *rows,
                          int merge)
{
  size_t H = g->c.n_head, Dh = g->c.d_model / H, es = g->es;
  for (size_t b = 0; b < B; b++)
    for (size_t h = 0; h < H; h++)
      for (size_t s = 0; s < S; s++) {
        char *x = hd + (((b * H + h) * S + s) * Dh) * es;
        char *y = rows + ((b * S + s) * H * Dh + h * Dh) * es;
        if (merge) memcpy(y, x, Dh * es);
        else memcpy(x, y, Dh * es);
      }
}

static void add_into(const tess_ml_gpt_t *g, size_t n, void *y, const void *x)   /* y += x */
{
  for (size_t i = 0; i < n; i++) st(g, y, i, ld(g, y, i) + ld(g, x, i));
}

static tess_err_t forward(tess_ml_gpt_t *g, acts_t *a, const int32_t *tok, const int32_t *tgt,
                          double div, int want_grad, double *loss, double *loss_rows)
{
  tess_err_t err = TESS_OK;
  const tess_ml_gpt_config_t *c = &g->c;
  size_t N = a->N, B = a->B, S = a->S, d = c->d_model, H = c->n_head;
  tess_dtype_t t = g->t;
  tess_ml_attn_t att = {B, H, H, S, d / H, 1.0 / sqrt((double)(d / H)), 1};
  char *x = a->L[0].x;
  TESS_CHECK(tess_ml_embedding(t, N, c->vocab, d, tok, at(g, g->p, g->wte), x));
  for (size_t i = 0; i < N; i++)
    add_into(g, d, x + i * d * g->es, at(g, g->p, g->wpe + (i % S) * d));
  for (size_t l = 0; l < c->n_layer; l++) {
    layer_act_t *L = &a->L[l];
    char *P = at(g, g->p, g->layer0 + l * g->per_layer);
#define W(k) (P + g->off[k] * g->es)
    TESS_CHECK(tess_ml_layernorm(t, N, d, L->x, W(P_LN1G), W(P_LN1B), 1e-5, L->ln1, L->m1, L->r1));
    TESS_CHECK(tess_ml_linear(t, N, d, 3 * d, L->ln1, W(P_ATTW), W(P_ATTB), L->qkv));
    qkv_permute(g, B, S, L->qkv, L->q, L->k, L->v, 1);
    TESS_CHECK(tess_ml_flash_attention(t, &att, L->q, L->k, L->v, L->ao, L->lse));
    heads_permute(g, B, S, L->ao, L->a, 1);
    TESS_CHECK(tess_ml_linear(t, N, d, d, L->a, W(P_PRJW), W(P_PRJB), L->x1));
    add_into(g, N * d, L->x1, L->x);
    TESS_CHECK(tess_ml_layernorm(t, N, d, L->x1, W(P_LN2G), W(P_LN2B), 1e-5, L->ln2, L->m2, L->r2));
    TESS_CHECK(tess_ml_linear(t, N, d, 4 * d, L->ln2, W(P_FCW), W(P_FCB), L->h));
    TESS_CHECK(tess_ml_gelu(t, 4 * N * d, L->h, L->hg));
    char *out = l + 1 < c->n_layer ? a->L[l + 1].x : a->xf;
    TESS_CHECK(tess_ml_linear(t, N, 4 * d, d, L->hg, W(P_FPW), W(P_FPB), out));
    add_into(g, N * d, out, L->x1);
#undef W
  }
  TESS_CHECK(tess_ml_layernorm(t, N, d, a->xf, at(g, g->p, g->lnf), at(g, g->p, g->lnf + d), 1e-5,
                               a->lnf, a->mf, a->rf));
  TESS_CHECK(tess_ml_linear(t, N, d, c->vocab, a->lnf, at(g, g->p, g->wte), NULL, a->logits));
  TESS_CHECK(tess_ml_cross_entropy(t, N, c->vocab, a->logits, tgt, div, loss, loss_rows,
                                   want_grad ? a->logits : NULL));
cleanup:
  return err;
}

static tess_err_t backward(tess_ml_gpt_t *g, acts_t *a, const int32_t *tok)
{
  tess_err_t err = TESS_OK;
  const tess_ml_gpt_config_t *c = &g->c;
  size_t N = a->N, B = a->B, S = a->S, d = c->d_model, H = c->n_head;
  tess_dtype_t t = g->t;
  tess_ml_attn_t att = {B, H, H, S, d / H, 1.0 / sqrt((double)(d / H)), 1};
  char *dx = a->t0, *dy = a->t1, *dz = a->t2;   /* dx: the residual stream's gradient */
  /* head (tied to wte), then the final LayerNorm */
  TESS_CHECK(tess_ml_linear_backward(t, N, d, c->vocab, a->lnf, at(g, g->p, g->wte), a->logits,
                                     dy, at(g, g->g, g->wte), NULL));
  TESS_CHECK(tess_ml_layernorm_backward(t, N, d, a->xf, at(g, g->p, g->lnf), a->mf, a->rf, dy, dx,
                                        at(g, g->g, g->lnf), at(g, g->g, g->lnf + d)));
  for (size_t l = c->n_layer; l-- > 0;) {
    layer_act_t *L = &a->L[l];
    char *P = at(g, g->p, g->layer0 + l * g->per_layer);
    char *G = at(g, g->g, g->layer0 + l * g->per_layer);
#define W(k) (P + g->off[k] * g->es)
#define D(k) (G + g->off[k] * g->es)
    /* MLP: out = x1 + fp(gelu(fc(ln2(x1)))) */
    TESS_CHECK(tess_ml_linear_backward(t, N, 4 * d, d, L->hg, W(P_FPW), dx, dy, D(P_FPW), D(P_FPB)));
    TESS_CHECK(tess_ml_gelu_backward(t, 4 * N * d, L->h, dy, dy));
    TESS_CHECK(tess_ml_linear_backward(t, N, d, 4 * d, L->ln2, W(P_FCW), dy, dz, D(P_FCW), D(P_FCB)));
    TESS_CHECK(tess_ml_layernorm_backward(t, N, d, L->x1, W(P_LN2G), L->m2, L->r2, dz, dy,
                                          D(P_LN2G), D(P_LN2B)));
    add_into(g, N * d, dx, dy);   /* d x1 */
    /* attention: x1 = x + proj(attn(qkv(ln1(x)))) */
    TESS_CHECK(tess_ml_linear_backward(t, N, d, d, L->a, W(P_PRJW), dx, dy, D(P_PRJW), D(P_PRJB)));
    {
      char *dao = dz, *dq = dz + N * d * g->es, *dk = dq + N * d * g->es, *dv = dk + N * d * g->es;
      char *dqkv = a->t1 + N * d * g->es;   /* after dy's N*d: free until the next layer */
      heads_permute(g, B, S, dao, dy, 0);
      TESS_CHECK(tess_ml_flash_attention_backward(t, &att, L->q, L->k, L->v, L->ao, L->lse, dao,
                                                  dq, dk, dv));
      qkv_permute(g, B, S, dqkv, dq, dk, dv, 0);
      TESS_CHECK(tess_ml_linear_backward(t, N, d, 3 * d, L->ln1, W(P_ATTW), dqkv, dy, D(P_ATTW),
                                         D(P_ATTB)));
    }
    TESS_CHECK(tess_ml_layernorm_backward(t, N, d, L->x, W(P_LN1G), L->m1, L->r1, dy, dz,
                                          D(P_LN1G), D(P_LN1B)));
    add_into(g, N * d, dx, dz);   /* d x */
#undef W
#undef D
  }
  /* embeddings: token rows and position rows */
  TESS_CHECK(tess_ml_embedding_backward(t, N, c->vocab, d, tok, dx, at(g, g->g, g->wte)));
  for (size_t i = 0; i < N; i++) add_into(g, d, at(g, g->g, g->wpe + (i % S) * d), dx + i * d * g->es);
cleanup:
  return err;
}

tess_err_t tess_ml_gpt_forward_backward(tess_ml_gpt_t *gpt, size_t B, size_t S,
                                        const int32_t *tokens, const int32_t *targets,
                                        double scale_div, int want_grad, double *loss)
{
  tess_err_t err = TESS_OK;
  acts_t a = {0};
  ML_NONNULL(gpt);
  ML_NONNULL(tokens);
  ML_NONNULL(targets);
  ML_NONNULL(loss);
  TESS_REQUIRE(B > 0 && S > 0 && S <= gpt->c.ctx, TESS_ERR_ARG,
               "%s: B %zu sequences of S %zu tokens (1 <= S <= ctx %zu)", __func__, B, S,
               gpt->c.ctx);
  TESS_CHECK(acts_alloc(gpt, B, S, &a));
  TESS_CHECK(forward(gpt, &a, tokens, targets, scale_div, want_grad, loss, NULL));
  if (want_grad) TESS_CHECK(backward(gpt, &a, tokens));
cleanup:
  acts_free(&a);
  return err;
}

tess_err_t tess_ml_gpt_logprobs(tess_ml_gpt_t *gpt, size_t B, size_t S, const int32_t *tokens,
                                const int32_t *targets, double *logp, tess_ml_dlogp_fn dlogp_fn,
                                void *ctx)
{
  tess_err_t err = TESS_OK;
  acts_t a = {0};
  double loss, *dlogp = NULL;
  int want_grad = dlogp_fn != NULL;
  ML_NONNULL(gpt);
  ML_NONNULL(tokens);
  ML_NONNULL(targets);
  ML_NONNULL(logp);
  TESS_REQUIRE(B > 0 && S > 0 && S <= gpt->c.ctx, TESS_ERR_ARG,
               "%s: B %zu sequences of S %zu tokens (1 <= S <= ctx %zu)", __func__, B, S,
               gpt->c.ctx);
  TESS_CHECK(acts_alloc(gpt, B, S, &a));
  /* unscaled: the logits become d(sum of cross-entropies)/d logits, row by row */
  TESS_CHECK(forward(gpt, &a, tokens, targets, 1, want_grad, &loss, logp));
  for (size_t i = 0; i < a.N; i++) logp[i] = -logp[i];   /* masked rows: 0 */
  if (want_grad) {
    dlogp = calloc(a.N, sizeof *dlogp);
    TESS_REQUIRE(dlogp != NULL, TESS_ERR_MEM, "%s: %zu token weights", __func__, a.N);
    TESS_CHECK(dlogp_fn(a.N, logp, dlogp, ctx));
    /* d f/d logits = sum_i f'(logp_i) d logp_i/d logits = -f'(logp_i) d CE_i/d logits */
    for (size_t i = 0; i < a.N; i++) {
      double w = targets[i] < 0 ? 0 : -dlogp[i];
      for (size_t j = 0; j < gpt->c.vocab; j++)
        st(gpt, a.logits, i * gpt->c.vocab + j, w * ld(gpt, a.logits, i * gpt->c.vocab + j));
    }
    TESS_CHECK(backward(gpt, &a, tokens));
  }
cleanup:
  acts_free(&a);
  free(dlogp);
  return err;
}

tess_err_t tess_ml_gpt_clone(const tess_ml_gpt_t *src, tess_ml_gpt_t **dst)
{
  tess_err_t err = TESS_OK;
  tess_ml_gpt_t *g = NULL;
  ML_NONNULL(dst);
  *dst = NULL;
  ML_NONNULL(src);
  TESS_CHECK(tess_ml_gpt_create(&src->c, src->t, 0, &g));
  memcpy(g->p, src->p, src->n * src->es);
  memcpy(g->m, src->m, src->n * src->es);
  memcpy(g->v, src->v, src->n * src->es);
  *dst = g;
  g = NULL;
cleanup:
  tess_ml_gpt_destroy(&g);
  return err;
}

tess_err_t tess_ml_gpt_next_logits(tess_ml_gpt_t *gpt, size_t S, const int32_t *tokens,
                                   double *logits)
{
  tess_err_t err = TESS_OK;
  acts_t a = {0};
  int32_t *none = NULL;
  double loss;
  ML_NONNULL(gpt);
  ML_NONNULL(tokens);
  ML_NONNULL(logits);
  TESS_REQUIRE(S > 0 && S <= gpt->c.ctx, TESS_ERR_ARG, "%s: S %zu (1 <= S <= ctx %zu)", __func__,
               S, gpt->c.ctx);
  none = malloc(sizeof *none * S);
  TESS_REQUIRE(none != NULL, TESS_ERR_MEM, "%s: %zu targets", __func__, S);
  for (size_t i = 0; i < S; i++) none[i] = -1;   /* all masked: the logits stay */
  TESS_CHECK(acts_alloc(gpt, 1, S, &a));
  TESS_CHECK(forward(gpt, &a, tokens, none, 0, 0, &loss, NULL));
  for (size_t j = 0; j < gpt->c.vocab; j++) logits[j] = ld(gpt, a.logits, (S - 1) * gpt->c.vocab + j);
cleanup:
  acts_free(&a);
  free(none);
  return err;
}

/* ---- the data-parallel step ---- */
typedef struct {
  tess_ml_gpt_t *g;
  size_t S;
  const int32_t *seqs;
  int32_t *tok, *tgt;
  double div;
} step_ctx_t;

/* chunk c = sequence c: out = [its loss, its gradient] */
static tess_err_t seq_grad(int64_t c, double *out, void *vctx)
{
  tess_err_t err = TESS_OK;
  step_ctx_t *x = vctx;
  tess_ml_gpt_t *g = x->g;
  const int32_t *s = x->seqs + (size_t)c * (x->S + 1);
  memcpy(x->tok, s, sizeof *x->tok * x->S);
  memcpy(x->tgt, s + 1, sizeof *x->tgt * x->S);
  memset(g->g, 0, g->n * g->es);
  TESS_CHECK(tess_ml_gpt_forward_backward(g, 1, x->S, x->tok, x->tgt, x->div, 1, &out[0]));
  for (size_t i = 0; i < g->n; i++) out[1 + i] = ld(g, g->g, i);
cleanup:
  return err;
}

tess_err_t tess_ml_gpt_train_step(tess_ml_gpt_t *gpt, tess_mesh_t *mesh, unsigned axes,
                                  size_t nseq, size_t S, const int32_t *seqs,
                                  const tess_ml_adamw_t *opt, int64_t step, double clip_norm,
                                  double *loss)
{
  tess_err_t err = TESS_OK;
  double *sum = NULL, sq = 0, scale = 1;
  step_ctx_t x = {0};
  int r = 0, P = 1;
  int64_t c0, c1;
  ML_NONNULL(gpt);
  ML_NONNULL(mesh);
  ML_NONNULL(seqs);
  ML_NONNULL(opt);
  ML_NONNULL(loss);
  TESS_REQUIRE(nseq > 0 && S > 0 && S <= gpt->c.ctx, TESS_ERR_ARG,
               "%s: %zu sequences of S %zu tokens (1 <= S <= ctx %zu)", __func__, nseq, S,
               gpt->c.ctx);
  for (size_t i = 0; i < nseq * (S + 1); i++)
    TESS_REQUIRE(seqs[i] >= 0 && (size_t)seqs[i] < gpt->c.vocab, TESS_ERR_ARG,
                 "%s: seqs[%zu] = %d outside the vocabulary [0, %zu)", __func__, i, (int)seqs[i],
                 gpt->c.vocab);
  TESS_CHECK(tess_comm_rank_size(mesh, axes, &r, &P));
  c0 = (int64_t)(nseq * (size_t)r / (size_t)P);
  c1 = (int64_t)(nseq * (size_t)(r + 1) / (size_t)P);
  x.g = gpt;
  x.S = S;
  x.seqs = seqs;
  x.div = (double)(nseq * S);   /* mean over the batch's tokens */
  x.tok = malloc(sizeof *x.tok * S);
  x.tgt = malloc(sizeof *x.tgt * S);
  sum = malloc(sizeof *sum * (1 + gpt->n));
  TESS_REQUIRE(x.tok && x.tgt && sum, TESS_ERR_MEM, "%s: gradient sum of %zu", __func__, gpt->n);
  TESS_CHECK(tess_chunk_tree_sum(mesh, axes, (int64_t)nseq, c0, c1, 1 + gpt->n, seq_grad, &x, sum));
  *loss = sum[0];
  for (size_t i = 0; i < gpt->n; i++) st(gpt, gpt->g, i, sum[1 + i]);
  TESS_CHECK(tess_dot_f64(sum + 1, sum + 1, gpt->n, MPI_COMM_SELF, &sq));
  TESS_CHECK(tess_ml_clip_scale(sq, clip_norm, &scale));
  TESS_CHECK(tess_ml_adamw_step(gpt->t, gpt->n, opt, step, scale, gpt->p, gpt->g, gpt->m, gpt->v));
cleanup:
  free(x.tok);
  free(x.tgt);
  free(sum);
  return err;
}

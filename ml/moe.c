/* ml/moe.c: the Mixture-of-Experts layer of tessera/ml_moe.h. Each rank of
 * the experts axis takes a contiguous share of its dp block's tokens (the
 * block is replicated along that axis), routes it (moe_router.c), applies
 * the global capacity rule, sends the rows to the experts' owners and back
 * (moe_dispatch.c), and the shares are gathered again along the axis.
 *
 * Why the bits do not depend on the mesh shape:
 * - the global token order is dp block, then share; capacity positions come
 *   from every rank's counts (one allgather), first choices before second
 *   choices, tokens in global order (GShard's priority);
 * - experts run on fixed tiles of TILE rows (zero-padded), so a row's result
 *   never depends on how many rows its rank holds, whatever the GEMM;
 * - sums over tokens (router gradient, the aux-loss statistics, and each
 *   expert's parameter gradient over its tokens in global order, whose ranks
 *   along dp hold contiguous ranges) go through tess_chunk_tree_sum, one
 *   chunk per token: one fixed binary tree of global indices;
 * - everything per token (combine, input gradient) adds its terms in slot
 *   order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/array.h>
#include <tessera/comm.h>
#include <tessera/gemm.h>
#include <tessera/rng.h>
#include <tessera/tree_sum.h>

#include "ml_internal.h"
#include "moe_internal.h"

#define TILE 32   /* rows per expert GEMM, padded: a multiple of every BLAS kernel's M unroll */
#define STREAM_ROUTER UINT64_C(0x4D6F4501)
#define STREAM_EXPERTS UINT64_C(0x4D6F4502)

struct tess_ml_moe {
  tess_mesh_t *mesh;
  tess_ml_moe_config_t c;
  tess_dtype_t t;
  size_t k, d, h, E, E_loc, e0, P;
  const char *eaxis;
  unsigned m_e, m_both;   /* axis masks: experts, experts + dp */
  int ne, ce, cd;
  void *router, *drouter, *experts, *dexperts;
  /* the last forward */
  int have_fwd;
  size_t n, s0, ns, g0, T;
  size_t *gcount, *gdispl;        /* the shares along the experts axis, elements */
  moe_route_t route;
  tess_ml_moe_plan_t *plan;
  void *xs, *xr, *hr, *ar, *orow, *back;
  double *f;                      /* E: the aux loss's dispatch fractions */
  int64_t *lst_pre, *lst_total;   /* E_loc: each local expert's token list, this dp range */
};

static tess_err_t alloc(void **p, size_t n, size_t es, const char *what)
{
  tess_err_t err = TESS_OK;
  free(*p);
  *p = calloc(n ? n : 1, es);
  TESS_REQUIRE(*p, TESS_ERR_MEM, "MoE: %s (%zu values)", what, n);
cleanup:
  return err;
}

static void free_forward(tess_ml_moe_t *m)
{
  moe_route_free(&m->route);   /* the plan stays: rerouted next time, buffers kept */
  free(m->xs); free(m->xr); free(m->hr); free(m->ar); free(m->orow); free(m->back);
  free(m->f); free(m->lst_pre); free(m->lst_total); free(m->gcount); free(m->gdispl);
  m->xs = m->xr = m->hr = m->ar = m->orow = m->back = NULL;
  m->f = NULL; m->lst_pre = m->lst_total = NULL; m->gcount = m->gdispl = NULL;
  m->have_fwd = 0;
}

void tess_ml_moe_destroy(tess_ml_moe_t **moe)
{
  if (!moe || !*moe) return;
  tess_ml_moe_t *m = *moe;
  free_forward(m);
  tess_ml_moe_plan_destroy(&m->plan);
  free(m->router); free(m->drouter); free(m->experts); free(m->dexperts);
  free(m);
  *moe = NULL;
}

#define DEF_INIT(T, S)                                                                     \
  static void init_##S(tess_ml_moe_t *m, T *router, T *experts)                            \
  {                                                                                        \
    double sd = 1.0 / sqrt((double)m->d), sh = 1.0 / sqrt((double)m->h);                   \
    for (size_t i = 0; i < m->E * m->d; i++)                                               \
      router[i] = (T)(sd * tess_rng_normal(m->c.seed, STREAM_ROUTER, i));                  \
    for (size_t le = 0; le < m->E_loc; le++) {                                             \
      T *p = experts + le * m->P;                                                          \
      uint64_t g = (uint64_t)((m->e0 + le) * m->P);                                        \
      size_t hd = m->h * m->d;                                                             \
      for (size_t i = 0; i < m->P; i++) {                                                  \
        double z = tess_rng_normal(m->c.seed, STREAM_EXPERTS, g + i);                      \
        p[i] = i < hd ? (T)(sd * z)                                                        \
             : i < hd + m->h ? (T)0                                                        \
             : i < 2 * hd + m->h ? (T)(sh * z) : (T)0;                                     \
      }                                                                                    \
    }                                                                                      \
  }
ML_INSTANTIATE(DEF_INIT)

tess_err_t tess_ml_moe_create(tess_mesh_t *mesh, const char *experts_axis, const char *dp_axis,
                              const tess_ml_moe_config_t *c, tess_dtype_t t,
                              tess_ml_moe_t **moe)
{
  tess_err_t err = TESS_OK;
  tess_ml_moe_t *m = NULL;
  int ax_e = -1, ax_d = -1;
  TESS_REQUIRE(mesh && experts_axis && c && moe, TESS_ERR_ARG, "%s: NULL argument", __func__);
  *moe = NULL;
  ML_DTYPE(t);
  TESS_CHECK(tess_mesh_axis_find(mesh, experts_axis, &ax_e));
  if (dp_axis) {
    TESS_CHECK(tess_mesh_axis_find(mesh, dp_axis, &ax_d));
    TESS_REQUIRE(ax_d != ax_e, TESS_ERR_ARG, "%s: the experts and dp axes are both '%s'",
                 __func__, dp_axis);
  }
  TESS_REQUIRE(c->d_model > 0 && c->hidden > 0, TESS_ERR_ARG,
               "%s: d_model %zu and hidden %zu must be positive", __func__, c->d_model, c->hidden);
  TESS_REQUIRE(c->policy == TESS_ML_MOE_TOP1 || c->policy == TESS_ML_MOE_TOP2 ||
               c->policy == TESS_ML_MOE_TOPK, TESS_ERR_ARG, "%s: unknown routing policy %d",
               __func__, (int)c->policy);
  size_t k = c->policy == TESS_ML_MOE_TOP1 ? 1 : c->policy == TESS_ML_MOE_TOP2 ? 2 : c->k;
  TESS_REQUIRE(k >= 1 && k <= c->n_experts, TESS_ERR_ARG,
               "%s: top-%zu routing needs 1 <= k <= E, but E = %zu", __func__, k, c->n_experts);
  TESS_REQUIRE(c->capacity_factor >= 0 && isfinite(c->capacity_factor), TESS_ERR_ARG,
               "%s: capacity factor %g (0: dropless, > 0: capacity)", __func__,
               c->capacity_factor);
  int ne = tess_mesh_axis_size(mesh, ax_e);
  TESS_REQUIRE(c->n_experts % (size_t)ne == 0, TESS_ERR_ARG,
               "%s: %zu experts do not divide over the %d ranks of axis '%s'", __func__,
               c->n_experts, ne, experts_axis);
  m = calloc(1, sizeof *m);
  TESS_REQUIRE(m, TESS_ERR_MEM, "%s: layer", __func__);
  m->mesh = mesh;
  m->c = *c;
  m->t = t;
  m->k = k;
  m->d = c->d_model;
  m->h = c->hidden;
  m->E = c->n_experts;
  m->eaxis = tess_mesh_axis_name(mesh, ax_e);
  m->ne = ne;
  m->ce = tess_mesh_coord(mesh, ax_e);
  m->cd = ax_d >= 0 ? tess_mesh_coord(mesh, ax_d) : 0;
  m->m_e = 1u << ax_e;
  m->m_both = m->m_e | (ax_d >= 0 ? 1u << ax_d : 0u);
  m->E_loc = m->E / (size_t)ne;
  m->e0 = (size_t)m->ce * m->E_loc;
  m->P = 2 * m->h * m->d + m->h + m->d;
  size_t es = tess_dtype_size(t);
  TESS_CHECK(alloc(&m->router, m->E * m->d, es, "router"));
  TESS_CHECK(alloc(&m->drouter, m->E * m->d, es, "router gradient"));
  TESS_CHECK(alloc(&m->experts, m->E_loc * m->P, es, "experts"));
  TESS_CHECK(alloc(&m->dexperts, m->E_loc * m->P, es, "expert gradients"));
  ML_CALL(t, init, m, m->router, m->experts);
  *moe = m;
  m = NULL;
cleanup:
  tess_ml_moe_destroy(&m);
  return err;
}

tess_err_t tess_ml_moe_params(tess_ml_moe_t *moe, void **router, void **drouter,
                              void **experts, void **dexperts, size_t *e0, size_t *n_local)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(moe, TESS_ERR_ARG, "%s: argument 'moe' is NULL", __func__);
  if (router) *router = moe->router;
  if (drouter) *drouter = moe->drouter;
  if (experts) *experts = moe->experts;
  if (dexperts) *dexperts = moe->dexperts;
  if (e0) *e0 = moe->e0;
  if (n_local) *n_local = moe->E_loc;
cleanup:
  return err;
}

size_t tess_ml_moe_expert_size(const tess_ml_moe_t *moe) { return moe ? moe->P : 0; }

tess_err_t tess_ml_moe_routing(const tess_ml_moe_t *moe, size_t *g0, size_t *n, size_t *k,
                               const int32_t **choice, const int32_t **kept,
                               const double **gate)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(moe && moe->have_fwd, TESS_ERR_ARG, "%s: no forward has run", __func__);
  if (g0) *g0 = moe->g0;
  if (n) *n = moe->ns;
  if (k) *k = moe->k;
  if (choice) *choice = moe->route.choice;
  if (kept) *kept = moe->route.kept;
  if (gate) *gate = moe->route.gate;
cleanup:
  return err;
}

/* ---- the experts on fixed tiles ---- */

#define DEF_EXPERT(T, S)                                                                   \
  static tess_err_t expert_fwd_##S(tess_ml_moe_t *m, size_t le, size_t cnt,                \
                                   const size_t *rows, T *buf)                             \
  {                                                                                        \
    tess_err_t err = TESS_OK;                                                              \
    size_t d = m->d, h = m->h;                                                             \
    const T *p = (const T *)m->experts + le * m->P;                                        \
    const T *W1 = p, *b1 = p + h * d, *W2 = b1 + h, *b2 = W2 + d * h;                      \
    T *X = buf, *H = X + TILE * d, *A = H + TILE * h, *O = A + TILE * h;                   \
    const T *xr = m->xr;                                                                   \
    T *hr = m->hr, *ar = m->ar, *orow = m->orow;                                           \
    for (size_t b = 0; b < cnt; b += TILE) {                                               \
      size_t nb = cnt - b < TILE ? cnt - b : TILE;                                         \
      memset(X, 0, sizeof *X * TILE * d);                                                  \
      for (size_t i = 0; i < nb; i++) memcpy(X + i * d, xr + rows[b + i] * d, sizeof *X * d); \
      TESS_CHECK(tess_ml_linear(m->t, TILE, d, h, X, W1, b1, H));                          \
      TESS_CHECK(tess_ml_gelu(m->t, TILE * h, H, A));                                      \
      TESS_CHECK(tess_ml_linear(m->t, TILE, h, d, A, W2, b2, O));                          \
      for (size_t i = 0; i < nb; i++) {                                                    \
        memcpy(hr + rows[b + i] * h, H + i * h, sizeof *H * h);                            \
        memcpy(ar + rows[b + i] * h, A + i * h, sizeof *A * h);                            \
        memcpy(orow + rows[b + i] * d, O + i * d, sizeof *O * d);                          \
      }                                                                                    \
    }                                                                                      \
  cleanup:                                                                                 \
    return err;                                                                            \
  }                                                                                        \
  /* dor: the gated output gradients; writes dhr (h per row) and dxr (d per row) */        \
  static tess_err_t expert_bwd_##S(tess_ml_moe_t *m, size_t le, size_t cnt,                \
                                   const size_t *rows, const T *dor, T *dhr, T *dxr, T *buf) \
  {                                                                                        \
    tess_err_t err = TESS_OK;                                                              \
    size_t d = m->d, h = m->h;                                                             \
    const T *p = (const T *)m->experts + le * m->P;                                        \
    const T *W1 = p, *W2 = p + h * d + h;                                                  \
    T *DO = buf, *H = DO + TILE * d, *DA = H + TILE * h, *DH = DA + TILE * h;              \
    T *DX = DH + TILE * h;                                                                 \
    const T *hr = m->hr;                                                                   \
    for (size_t b = 0; b < cnt; b += TILE) {                                               \
      size_t nb = cnt - b < TILE ? cnt - b : TILE;                                         \
      memset(DO, 0, sizeof *DO * TILE * d);                                                \
      memset(H, 0, sizeof *H * TILE * h);                                                  \
      for (size_t i = 0; i < nb; i++) {                                                    \
        memcpy(DO + i * d, dor + rows[b + i] * d, sizeof *DO * d);                         \
        memcpy(H + i * h, hr + rows[b + i] * h, sizeof *H * h);                            \
      }                                                                                    \
      memset(DA, 0, sizeof *DA * TILE * h);                                                \
      tess_gemm_nn_acc_##S(TILE, h, d, DO, W2, DA);                                        \
      TESS_CHECK(tess_ml_gelu_backward(m->t, TILE * h, H, DA, DH));                        \
      memset(DX, 0, sizeof *DX * TILE * d);                                                \
      tess_gemm_nn_acc_##S(TILE, d, h, DH, W1, DX);                                        \
      for (size_t i = 0; i < nb; i++) {                                                    \
        memcpy(dhr + rows[b + i] * h, DH + i * h, sizeof *DH * h);                         \
        memcpy(dxr + rows[b + i] * d, DX + i * d, sizeof *DX * d);                         \
      }                                                                                    \
    }                                                                                      \
  cleanup:                                                                                 \
    return err;                                                                            \
  }
ML_INSTANTIATE(DEF_EXPERT)

/* ---- chunk functions of the tree sums (one chunk per token) ---- */

typedef struct {
  tess_ml_moe_t *m;
  const double *dl;        /* router: dlogits of this rank's tokens */
  size_t le;               /* expert: which, its rows, and the saved rows */
  const size_t *rows;
  const void *dor, *dhr;
} chunk_ctx_t;

#define DEF_CHUNK(T, S)                                                                    \
  static void stats_chunk_##S(const tess_ml_moe_t *m, size_t i, double *out)               \
  {                                                                                        \
    memcpy(out, m->route.prob + i * m->E, m->E * sizeof *out);                             \
    out[m->E] = m->route.lse[i] * m->route.lse[i];                                         \
  }                                                                                        \
  static void router_chunk_##S(const chunk_ctx_t *x, size_t i, double *out)                \
  {                                                                                        \
    const tess_ml_moe_t *m = x->m;                                                         \
    const T *xt = (const T *)m->xs + i * m->d;                                             \
    for (size_t e = 0; e < m->E; e++)                                                      \
      for (size_t j = 0; j < m->d; j++) out[e * m->d + j] = x->dl[i * m->E + e] * (double)xt[j]; \
  }                                                                                        \
  static void expert_chunk_##S(const chunk_ctx_t *x, size_t i, double *out)                \
  {                                                                                        \
    const tess_ml_moe_t *m = x->m;                                                         \
    size_t d = m->d, h = m->h, row = x->rows[i];                                           \
    const T *xi = (const T *)m->xr + row * d, *ai = (const T *)m->ar + row * h;            \
    const T *dh = (const T *)x->dhr + row * h, *dout = (const T *)x->dor + row * d;        \
    double *W1 = out, *b1 = W1 + h * d, *W2 = b1 + h, *b2 = W2 + d * h;                    \
    for (size_t a = 0; a < h; a++) {                                                       \
      for (size_t j = 0; j < d; j++) W1[a * d + j] = (double)dh[a] * (double)xi[j];        \
      b1[a] = dh[a];                                                                       \
    }                                                                                      \
    for (size_t j = 0; j < d; j++) {                                                       \
      for (size_t a = 0; a < h; a++) W2[j * h + a] = (double)dout[j] * (double)ai[a];      \
      b2[j] = dout[j];                                                                     \
    }                                                                                      \
  }                                                                                        \
  static void add_##S(size_t n, const double *a, T *y)                                     \
  {                                                                                        \
    for (size_t i = 0; i < n; i++) y[i] = (T)((double)y[i] + a[i]);                        \
  }                                                                                        \
  static void rows_to_double_##S(size_t n, const T *x, double *a)                          \
  {                                                                                        \
    for (size_t i = 0; i < n; i++) a[i] = (double)x[i];                                    \
  }                                                                                        \
  static void double_to_rows_##S(size_t n, const double *a, T *y)                          \
  {                                                                                        \
    for (size_t i = 0; i < n; i++) y[i] = (T)a[i];                                         \
  }
ML_INSTANTIATE(DEF_CHUNK)

static tess_err_t stats_fn(int64_t c, double *out, void *ctx)
{
  tess_ml_moe_t *m = ctx;
  ML_CALL(m->t, stats_chunk, m, (size_t)c - m->g0, out);
  return TESS_OK;
}

static tess_err_t router_fn(int64_t c, double *out, void *ctx)
{
  chunk_ctx_t *x = ctx;
  ML_CALL(x->m->t, router_chunk, x, (size_t)c - x->m->g0, out);
  return TESS_OK;
}

static tess_err_t expert_fn(int64_t c, double *out, void *ctx)
{
  chunk_ctx_t *x = ctx;
  ML_CALL(x->m->t, expert_chunk, x, (size_t)(c - x->m->lst_pre[x->le]), out);
  return TESS_OK;
}

/* ---- forward ---- */

/* The shares along the experts axis of n rows (block rule), in elements. */
static tess_err_t shares(tess_ml_moe_t *m, size_t n)
{
  tess_err_t err = TESS_OK;
  TESS_CHECK(alloc((void **)&m->gcount, (size_t)m->ne, sizeof *m->gcount, "shares"));
  TESS_CHECK(alloc((void **)&m->gdispl, (size_t)m->ne, sizeof *m->gdispl, "shares"));
  for (int c = 0; c < m->ne; c++) {
    int64_t st, len;
    tess_block_range((int64_t)n, m->ne, c, &st, &len);
    m->gcount[c] = (size_t)len * m->d;
    m->gdispl[c] = (size_t)st * m->d;
    if (c == m->ce) {
      m->s0 = (size_t)st;
      m->ns = (size_t)len;
    }
  }
cleanup:
  return err;
}

/* Global offsets and the capacity rule: one allgather of every rank's
 * {dp coord, experts coord, n} and one of {g0, dp coord, counts[k][E]}. */
static tess_err_t capacity(tess_ml_moe_t *m, tess_ml_moe_stats_t *st)
{
  tess_err_t err = TESS_OK;
  int me = 0, P = 1;
  size_t k = m->k, E = m->E, rec = 2 + k * E;
  int64_t *mine = NULL, *all = NULL, *base = NULL, *pre = NULL, *run = NULL, *keptR = NULL;
  TESS_CHECK(tess_comm_rank_size(m->mesh, m->m_both, &me, &P));
  TESS_CHECK(alloc((void **)&mine, rec, sizeof *mine, "counts"));
  TESS_CHECK(alloc((void **)&all, rec * (size_t)P, sizeof *all, "counts"));
  mine[0] = (int64_t)m->g0;
  mine[1] = m->cd;
  for (size_t i = 0; i < m->ns; i++)
    for (size_t r = 0; r < k; r++)
      if (m->route.kept[i * k + r] >= 0) mine[2 + r * E + (size_t)m->route.kept[i * k + r]]++;
  TESS_CHECK(tess_comm_allgather(m->mesh, m->m_both, mine, rec, all, TESS_I64, TESS_MEM_HOST,
                                 NULL));
  TESS_CHECK(alloc((void **)&base, k * E, sizeof *base, "counts"));
  TESS_CHECK(alloc((void **)&pre, k * E, sizeof *pre, "counts"));
  TESS_CHECK(alloc((void **)&run, k * E, sizeof *run, "counts"));
  TESS_CHECK(alloc((void **)&keptR, E * (size_t)P, sizeof *keptR, "counts"));
  /* base[r][e]: all choices before r; pre[r][e]: ranks before this one */
  int64_t assigned = 0;
  for (int R = 0; R < P; R++)
    for (size_t i = 0; i < k * E; i++) {
      int64_t cnt = all[(size_t)R * rec + 2 + i];
      assigned += cnt;
      if (i + E < k * E) base[i + E] += cnt;   /* added below as a running prefix */
      if (all[(size_t)R * rec] < (int64_t)m->g0) pre[i] += cnt;
    }
  for (size_t r = 1; r < k; r++)
    for (size_t e = 0; e < E; e++) base[r * E + e] += base[(r - 1) * E + e];
  int64_t C = m->c.capacity_factor > 0
                  ? (int64_t)ceil(m->c.capacity_factor * (double)m->T * (double)k / (double)E)
                  : INT64_MAX;
  for (size_t i = 0; i < m->ns; i++)
    for (size_t r = 0; r < k; r++) {
      int32_t e = m->route.kept[i * k + r];
      if (e < 0) continue;
      size_t q = r * E + (size_t)e;
      if (base[q] + pre[q] + run[q]++ >= C) m->route.kept[i * k + r] = -1;
    }
  /* every rank's kept count per expert, for the experts' token lists */
  for (int R = 0; R < P; R++)
    for (size_t q = 0; q < k * E; q++) {
      int64_t pr = 0, g = all[(size_t)R * rec];
      for (int R2 = 0; R2 < P; R2++)
        if (all[(size_t)R2 * rec] < g) pr += all[(size_t)R2 * rec + 2 + q];
      int64_t s = base[q] + pr, cnt = all[(size_t)R * rec + 2 + q];
      int64_t kk = C - s < 0 ? 0 : C - s > cnt ? cnt : C - s;
      keptR[(size_t)R * E + q % E] += kk;
    }
  int64_t kept_all = 0;
  for (size_t i = 0; i < E * (size_t)P; i++) kept_all += keptR[i];
  TESS_CHECK(alloc((void **)&m->lst_pre, m->E_loc, sizeof *m->lst_pre, "lists"));
  TESS_CHECK(alloc((void **)&m->lst_total, m->E_loc, sizeof *m->lst_total, "lists"));
  for (size_t le = 0; le < m->E_loc; le++)
    for (int R = 0; R < P; R++) {
      int64_t kk = keptR[(size_t)R * E + m->e0 + le];
      m->lst_total[le] += kk;
      if (all[(size_t)R * rec + 1] < m->cd) m->lst_pre[le] += kk;
    }
  /* the aux loss's fractions: first choices (TOP1, TOP2) or all k (TOPK), before capacity */
  TESS_CHECK(alloc((void **)&m->f, E, sizeof *m->f, "fractions"));
  size_t kf = m->c.policy == TESS_ML_MOE_TOPK ? k : 1;
  for (int R = 0; R < P; R++)
    for (size_t q = 0; q < kf * E; q++) m->f[q % E] += (double)all[(size_t)R * rec + 2 + q];
  for (size_t e = 0; e < E; e++) m->f[e] /= (double)m->T * (double)kf;
  if (st) {
    st->capacity = m->c.capacity_factor > 0 ? C : -1;
    st->assigned = assigned;
    st->dropped = assigned - kept_all;
  }
cleanup:
  free(mine); free(all); free(base); free(pre); free(run); free(keptR);
  return err;
}

tess_err_t tess_ml_moe_forward(tess_ml_moe_t *moe, int64_t step, size_t n, const void *x,
                               void *y, tess_ml_moe_stats_t *stats)
{
  tess_err_t err = TESS_OK;
  tess_ml_moe_t *m = moe;
  int64_t *ns_all = NULL, mine[3];
  void *buf = NULL, *ys = NULL;
  double *acc = NULL, *sums = NULL;
  int P = 1, me = 0;
  TESS_REQUIRE(m, TESS_ERR_ARG, "%s: argument 'moe' is NULL", __func__);
  TESS_REQUIRE(n == 0 || (x && y), TESS_ERR_ARG, "%s: argument '%s' is NULL", __func__,
               x ? "y" : "x");
  ML_HOST(x);
  ML_HOST(y);
  TESS_REQUIRE(n == 0 || x != y, TESS_ERR_ARG, "%s: x and y may not alias", __func__);
  free_forward(m);
  size_t d = m->d, h = m->h, es = tess_dtype_size(m->t), k = m->k;
  /* global token layout: every rank's {experts coord, dp coord, n} */
  TESS_CHECK(tess_comm_rank_size(m->mesh, m->m_both, &me, &P));
  TESS_CHECK(alloc((void **)&ns_all, 3 * (size_t)P, sizeof *ns_all, "token counts"));
  mine[0] = m->ce; mine[1] = m->cd; mine[2] = (int64_t)n;
  TESS_CHECK(tess_comm_allgather(m->mesh, m->m_both, mine, 3, ns_all, TESS_I64, TESS_MEM_HOST,
                                 NULL));
  size_t off = 0, T = 0;
  for (int R = 0; R < P; R++) {
    const int64_t *q = ns_all + 3 * R;
    TESS_REQUIRE(q[1] != m->cd || q[2] == (int64_t)n, TESS_ERR_ARG,
                 "%s: %zu tokens here but %lld on experts-axis rank %lld of the same dp block "
                 "(the block is replicated along '%s')", __func__, n, (long long)q[2],
                 (long long)q[0], m->eaxis);
    if (q[0] != 0) continue;
    T += (size_t)q[2];
    if (q[1] < m->cd) off += (size_t)q[2];
  }
  m->n = n;
  m->T = T;
  TESS_CHECK(shares(m, n));
  m->g0 = off + m->s0;
  size_t ns = m->ns;
  TESS_CHECK(alloc(&m->xs, ns * d, es, "token share"));
  if (ns) memcpy(m->xs, (const char *)x + m->s0 * d * es, ns * d * es);
  TESS_CHECK(moe_route_forward(&m->route, &m->c, k, m->t, ns, m->xs, m->router, step, m->g0));
  TESS_CHECK(capacity(m, stats));
  /* dispatch, experts, combine */
  if (m->plan) TESS_CHECK(tess_ml_moe_plan_reroute(m->plan, ns, m->route.kept));
  else TESS_CHECK(tess_ml_moe_plan_create(m->mesh, m->eaxis, m->E, ns, k, m->route.kept, &m->plan));
  size_t nr = m->plan->n_recv;
  TESS_CHECK(alloc(&m->xr, nr * d, es, "expert inputs"));
  TESS_CHECK(alloc(&m->hr, nr * h, es, "expert activations"));
  TESS_CHECK(alloc(&m->ar, nr * h, es, "expert activations"));
  TESS_CHECK(alloc(&m->orow, nr * d, es, "expert outputs"));
  TESS_CHECK(alloc(&m->back, m->plan->n_send * d, es, "returned rows"));
  TESS_CHECK(tess_ml_moe_dispatch(m->plan, m->t, d, m->xs, 0, m->xr));
  TESS_CHECK(alloc(&buf, TILE * (2 * d + 2 * h), es, "tile"));
  for (size_t le = 0; le < m->E_loc; le++) {
    size_t cnt;
    const size_t *rows;
    TESS_CHECK(tess_ml_moe_plan_expert_rows(m->plan, le, &cnt, &rows));
    if (m->t == TESS_F64) TESS_CHECK(expert_fwd_f64(m, le, cnt, rows, buf));
    else TESS_CHECK(expert_fwd_f32(m, le, cnt, rows, buf));
  }
  TESS_CHECK(moe_plan_return(m->plan, m->t, d, m->orow, m->back));
  TESS_CHECK(alloc((void **)&acc, ns * d, sizeof *acc, "combine"));
  TESS_CHECK(alloc(&ys, ns * d, es, "output share"));
  ML_CALL(m->t, rows_to_double, ns * d, m->xs, acc);
  moe_plan_accumulate(m->plan, m->t, d, m->back, m->orow, m->route.gate, acc);
  ML_CALL(m->t, double_to_rows, ns * d, acc, ys);
  TESS_CHECK(tess_comm_allgatherv(m->mesh, m->m_e, ys, ns * d, y, m->gcount, m->gdispl, m->t,
                                  TESS_MEM_HOST, NULL));
  /* the aux losses: per-token probabilities and lse^2 over one tree of tokens */
  TESS_CHECK(alloc((void **)&sums, m->E + 1, sizeof *sums, "loss sums"));
  TESS_CHECK(tess_chunk_tree_sum(m->mesh, m->m_both, (int64_t)T, (int64_t)m->g0,
                                 (int64_t)(m->g0 + ns), m->E + 1, stats_fn, m, sums));
  if (stats) {
    double a = 0;
    for (size_t e = 0; e < m->E; e++) a += m->f[e] * (T ? sums[e] / (double)T : 0.0);
    stats->aux_loss = (double)m->E * a;
    stats->z_loss = T ? sums[m->E] / (double)T : 0.0;
  }
  m->have_fwd = 1;
cleanup:
  free(ns_all); free(buf); free(ys); free(acc); free(sums);
  return err;
}

/* ---- backward ---- */

#define DEF_BWD(T, S)                                                                      \
  /* dgate = <dy_t, o_{t,r}>; gated rows g = gate * dy_t for the kept slots */              \
  static void gate_grads_##S(const tess_ml_moe_t *m, const T *dys, double *dgate, T *gro)  \
  {                                                                                        \
    size_t d = m->d, k = m->k;                                                             \
    size_t rb = d * sizeof(T);                                                             \
    for (size_t i = 0; i < m->ns; i++)                                                     \
      for (size_t r = 0; r < k; r++) {                                                     \
        size_t s = i * k + r, row = m->plan->slot_row[s];                                  \
        double g = 0;                                                                      \
        if (row != SIZE_MAX) {                                                             \
          const T *o = moe_back_row(m->plan, m->back, m->orow, row, rb);                   \
          for (size_t j = 0; j < d; j++) g += (double)dys[i * d + j] * (double)o[j];       \
        }                                                                                  \
        dgate[s] = g;                                                                      \
        for (size_t j = 0; j < d; j++)                                                     \
          gro[s * d + j] = row != SIZE_MAX ? (T)(m->route.gate[s] * (double)dys[i * d + j]) : (T)0; \
      }                                                                                    \
  }                                                                                        \
  static void router_dx_##S(const tess_ml_moe_t *m, const double *dl, double *acc)         \
  {                                                                                        \
    const T *W = m->router;                                                                \
    for (size_t i = 0; i < m->ns; i++)                                                     \
      for (size_t e = 0; e < m->E; e++)                                                    \
        for (size_t j = 0; j < m->d; j++) acc[i * m->d + j] += dl[i * m->E + e] * (double)W[e * m->d + j]; \
  }
ML_INSTANTIATE(DEF_BWD)

tess_err_t tess_ml_moe_backward(tess_ml_moe_t *moe, const void *dy, void *dx)
{
  tess_err_t err = TESS_OK;
  tess_ml_moe_t *m = moe;
  void *dys = NULL, *gro = NULL, *dor = NULL, *dhr = NULL, *dxr = NULL, *back2 = NULL;
  void *buf = NULL, *dxs = NULL;
  double *dgate = NULL, *dl = NULL, *acc = NULL, *sum = NULL;
  TESS_REQUIRE(m, TESS_ERR_ARG, "%s: argument 'moe' is NULL", __func__);
  TESS_REQUIRE(m->have_fwd, TESS_ERR_ARG, "%s: no forward to take the gradient of", __func__);
  TESS_REQUIRE(m->n == 0 || (dy && dx), TESS_ERR_ARG, "%s: argument '%s' is NULL", __func__,
               dy ? "dx" : "dy");
  ML_HOST(dy);
  ML_HOST(dx);
  size_t d = m->d, h = m->h, es = tess_dtype_size(m->t), k = m->k, ns = m->ns;
  size_t nr = m->plan->n_recv;
  TESS_CHECK(alloc(&dys, ns * d, es, "output gradient share"));
  if (ns) memcpy(dys, (const char *)dy + m->s0 * d * es, ns * d * es);
  TESS_CHECK(alloc((void **)&dgate, ns * k, sizeof *dgate, "gate gradients"));
  TESS_CHECK(alloc(&gro, ns * k * d, es, "gated rows"));
  ML_CALL(m->t, gate_grads, m, dys, dgate, gro);
  TESS_CHECK(alloc(&dor, nr * d, es, "expert output gradients"));
  TESS_CHECK(tess_ml_moe_dispatch(m->plan, m->t, d, gro, 1, dor));
  TESS_CHECK(alloc(&dhr, nr * h, es, "expert hidden gradients"));
  TESS_CHECK(alloc(&dxr, nr * d, es, "expert input gradients"));
  TESS_CHECK(alloc(&buf, TILE * (2 * d + 3 * h), es, "tile"));
  TESS_CHECK(alloc((void **)&sum, m->P, sizeof *sum, "expert gradient"));
  for (size_t le = 0; le < m->E_loc; le++) {
    size_t cnt;
    const size_t *rows;
    TESS_CHECK(tess_ml_moe_plan_expert_rows(m->plan, le, &cnt, &rows));
    if (m->t == TESS_F64) TESS_CHECK(expert_bwd_f64(m, le, cnt, rows, dor, dhr, dxr, buf));
    else TESS_CHECK(expert_bwd_f32(m, le, cnt, rows, dor, dhr, dxr, buf));
    /* this expert's tokens over dp: a contiguous range of its global list */
    chunk_ctx_t cx = { .m = m, .le = le, .rows = rows, .dor = dor, .dhr = dhr };
    unsigned m_dp = m->m_both & ~m->m_e;
    TESS_CHECK(tess_chunk_tree_sum(m->mesh, m_dp, m->lst_total[le], m->lst_pre[le],
                                   m->lst_pre[le] + (int64_t)cnt, m->P, expert_fn, &cx, sum));
    ML_CALL(m->t, add, m->P, sum, (void *)((char *)m->dexperts + le * m->P * es));
  }
  TESS_CHECK(alloc(&back2, m->plan->n_send * d, es, "returned input gradients"));
  TESS_CHECK(moe_plan_return(m->plan, m->t, d, dxr, back2));
  TESS_CHECK(alloc((void **)&dl, ns * m->E + m->E, sizeof *dl, "logit gradients"));
  moe_route_backward(&m->route, &m->c, dgate, m->f, (double)m->T, dl + ns * m->E, dl);
  TESS_CHECK(alloc((void **)&acc, ns * d, sizeof *acc, "input gradient"));
  ML_CALL(m->t, rows_to_double, ns * d, dys, acc);
  moe_plan_accumulate(m->plan, m->t, d, back2, dxr, NULL, acc);
  ML_CALL(m->t, router_dx, m, dl, acc);
  TESS_CHECK(alloc(&dxs, ns * d, es, "input gradient share"));
  ML_CALL(m->t, double_to_rows, ns * d, acc, dxs);
  TESS_CHECK(tess_comm_allgatherv(m->mesh, m->m_e, dxs, ns * d, dx, m->gcount, m->gdispl, m->t,
                                  TESS_MEM_HOST, NULL));
  free(sum);
  sum = NULL;
  TESS_CHECK(alloc((void **)&sum, m->E * d, sizeof *sum, "router gradient"));
  chunk_ctx_t cr = { .m = m, .dl = dl };
  TESS_CHECK(tess_chunk_tree_sum(m->mesh, m->m_both, (int64_t)m->T, (int64_t)m->g0,
                                 (int64_t)(m->g0 + ns), m->E * d, router_fn, &cr, sum));
  ML_CALL(m->t, add, m->E * d, sum, m->drouter);
cleanup:
  free(dys); free(gro); free(dor); free(dhr); free(dxr); free(back2); free(buf); free(dxs);
  free(dgate); free(dl); free(acc); free(sum);
  return err;
}

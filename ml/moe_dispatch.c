/* ml/moe_dispatch.c: the MoE exchange. Token owners send each routed slot's
 * row to the rank of the experts axis that owns its expert, and get the
 * experts' rows back, as two all-to-alls (tess_comm) whose counts are
 * exchanged once per routing (plan create / reroute). Send rows are ordered
 * by expert then token, so each sender's segment, and the receiver's rows of
 * one expert taken in sender order, follow the global token order (the
 * layer's deterministic gradient sums rely on it). Rows for this rank's own
 * experts never enter MPI: copied straight to the receive rows on the way
 * out, read where the expert wrote them on the way back. The return trip is
 * not unpacked: each slot reads its row where it lands (moe_back_row). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/comm.h>

#include "ml_internal.h"
#include "moe_internal.h"

void tess_ml_moe_plan_destroy(tess_ml_moe_plan_t **plan)
{
  if (!plan || !*plan) return;
  tess_ml_moe_plan_t *p = *plan;
  free(p->scount); free(p->sdispl); free(p->rcount); free(p->rdispl);
  free(p->send_slot); free(p->slot_row); free(p->exp_off); free(p->exp_rows);
  tess_free(TESS_MEM_HOST, &p->sbuf);
  tess_free(TESS_MEM_HOST, &p->bbuf);
  free(p);
  *plan = NULL;
}

/* Grow *a to at least n elements of size es (contents not kept). */
static tess_err_t grow_array(void *a, size_t n, size_t es)
{
  tess_err_t err = TESS_OK;
  void **pa = a;
  void *nb = realloc(*pa, (n ? n : 1) * es);
  TESS_REQUIRE(nb, TESS_ERR_MEM, "MoE plan: %zu entries", n);
  *pa = nb;
cleanup:
  return err;
}

tess_err_t tess_ml_moe_plan_reroute(tess_ml_moe_plan_t *p, size_t n, const int32_t *slot_expert)
{
  tess_err_t err = TESS_OK;
  int64_t *cs = NULL, *cr = NULL;
  size_t *fill = NULL;
  TESS_REQUIRE(p, TESS_ERR_ARG, "%s: argument 'plan' is NULL", __func__);
  TESS_REQUIRE(n == 0 || p->k == 0 || slot_expert, TESS_ERR_ARG,
               "%s: argument 'slot_expert' is NULL", __func__);
  ML_HOST(slot_expert);
  size_t np = (size_t)p->np, ns = n * p->k, n_experts = p->E;
  for (size_t s = 0; s < ns; s++)
    TESS_REQUIRE(slot_expert[s] >= -1 && slot_expert[s] < (int32_t)n_experts, TESS_ERR_ARG,
                 "%s: slot %zu names expert %d of %zu", __func__, s, (int)slot_expert[s],
                 n_experts);
  p->n = n;
  cs = calloc(n_experts, sizeof *cs);   /* per expert = per (peer, local expert) */
  cr = calloc(n_experts, sizeof *cr);
  fill = calloc(n_experts + 1, sizeof *fill);
  TESS_REQUIRE(cs && cr && fill, TESS_ERR_MEM, "%s: counts", __func__);
  TESS_CHECK(grow_array(&p->slot_row, ns, sizeof *p->slot_row));
  memset(p->scount, 0, np * sizeof *p->scount);
  memset(p->rcount, 0, np * sizeof *p->rcount);
  memset(p->exp_off, 0, (p->E_loc + 1) * sizeof *p->exp_off);
  for (size_t s = 0; s < ns; s++)
    if (slot_expert[s] >= 0) cs[slot_expert[s]]++;
  /* send rows by expert, then token: a counting sort of the slots */
  for (size_t e = 0; e < n_experts; e++) fill[e + 1] = fill[e] + (size_t)cs[e];
  p->n_send = fill[n_experts];
  TESS_CHECK(grow_array(&p->send_slot, p->n_send, sizeof *p->send_slot));
  for (size_t s = 0; s < ns; s++) {
    p->slot_row[s] = SIZE_MAX;
    if (slot_expert[s] < 0) continue;
    size_t row = fill[slot_expert[s]]++;
    p->send_slot[row] = s;
    p->slot_row[s] = row;
  }
  for (size_t q = 0; q < np; q++) {
    for (size_t le = 0; le < p->E_loc; le++) p->scount[q] += (size_t)cs[q * p->E_loc + le];
    p->sdispl[q] = q ? p->sdispl[q - 1] + p->scount[q - 1] : 0;
  }
  /* the counts first: E_loc per peer, one all-to-all */
  TESS_CHECK(tess_comm_alltoall(p->mesh, p->axes, cs, cr, p->E_loc, TESS_I64, TESS_MEM_HOST,
                                NULL));
  for (size_t q = 0; q < np; q++) {
    for (size_t le = 0; le < p->E_loc; le++) {
      p->rcount[q] += (size_t)cr[q * p->E_loc + le];
      p->exp_off[le + 1] += (size_t)cr[q * p->E_loc + le];
    }
    p->rdispl[q] = q ? p->rdispl[q - 1] + p->rcount[q - 1] : 0;
  }
  for (size_t le = 0; le < p->E_loc; le++) p->exp_off[le + 1] += p->exp_off[le];
  p->n_recv = p->exp_off[p->E_loc];
  TESS_CHECK(grow_array(&p->exp_rows, p->n_recv, sizeof *p->exp_rows));
  /* expert le's rows: peer by peer, each peer's segment holding its experts in order */
  for (size_t le = 0, i = 0; le < p->E_loc; le++)
    for (size_t q = 0; q < np; q++) {
      size_t off = p->rdispl[q];
      for (size_t l2 = 0; l2 < le; l2++) off += (size_t)cr[q * p->E_loc + l2];
      for (int64_t j = 0; j < cr[q * p->E_loc + le]; j++) p->exp_rows[i++] = off + (size_t)j;
    }
cleanup:
  free(cs);
  free(cr);
  free(fill);
  return err;
}

tess_err_t tess_ml_moe_plan_create(tess_mesh_t *mesh, const char *axis, size_t n_experts,
                                   size_t n, size_t k, const int32_t *slot_expert,
                                   tess_ml_moe_plan_t **plan)
{
  tess_err_t err = TESS_OK;
  tess_ml_moe_plan_t *p = NULL;
  int ax = -1;
  TESS_REQUIRE(mesh && axis && plan, TESS_ERR_ARG, "%s: NULL argument", __func__);
  *plan = NULL;
  TESS_CHECK(tess_mesh_axis_find(mesh, axis, &ax));
  p = calloc(1, sizeof *p);
  TESS_REQUIRE(p, TESS_ERR_MEM, "%s: plan", __func__);
  p->mesh = mesh;
  p->axes = 1u << ax;
  TESS_CHECK(tess_comm_rank_size(mesh, p->axes, &p->me, &p->np));
  TESS_REQUIRE(n_experts > 0 && n_experts % (size_t)p->np == 0, TESS_ERR_ARG,
               "%s: %zu experts do not divide over the %d ranks of axis '%s'", __func__,
               n_experts, p->np, axis);
  p->E = n_experts;
  p->E_loc = n_experts / (size_t)p->np;
  p->k = k;
  size_t np = (size_t)p->np;
  p->scount = calloc(np, sizeof *p->scount);
  p->sdispl = calloc(np, sizeof *p->sdispl);
  p->rcount = calloc(np, sizeof *p->rcount);
  p->rdispl = calloc(np, sizeof *p->rdispl);
  p->exp_off = calloc(p->E_loc + 1, sizeof *p->exp_off);
  TESS_REQUIRE(p->scount && p->sdispl && p->rcount && p->rdispl && p->exp_off, TESS_ERR_MEM,
               "%s: counts", __func__);
  TESS_CHECK(tess_ml_moe_plan_reroute(p, n, slot_expert));
  *plan = p;
  p = NULL;
cleanup:
  tess_ml_moe_plan_destroy(&p);
  return err;
}

size_t tess_ml_moe_plan_recv_rows(const tess_ml_moe_plan_t *plan)
{
  return plan ? plan->n_recv : 0;
}

tess_err_t tess_ml_moe_plan_expert_rows(const tess_ml_moe_plan_t *plan, size_t le,
                                        size_t *count, const size_t **rows)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(plan && count && rows, TESS_ERR_ARG, "%s: NULL argument", __func__);
  TESS_REQUIRE(le < plan->E_loc, TESS_ERR_ARG, "%s: local expert %zu of %zu", __func__, le,
               plan->E_loc);
  *count = plan->exp_off[le + 1] - plan->exp_off[le];
  *rows = plan->exp_rows + plan->exp_off[le];
cleanup:
  return err;
}

/* Counts and displacements in elements for rows of d values. */
static tess_err_t scaled(const size_t *rows, size_t np, size_t d, size_t **out)
{
  tess_err_t err = TESS_OK;
  *out = malloc(np * sizeof **out);
  TESS_REQUIRE(*out, TESS_ERR_MEM, "counts");
  for (size_t q = 0; q < np; q++) (*out)[q] = rows[q] * d;
cleanup:
  return err;
}

static tess_err_t exchange(const tess_ml_moe_plan_t *p, tess_dtype_t t, size_t d, const void *send,
                           void *recv, int forward)
{
  tess_err_t err = TESS_OK;
  size_t np = (size_t)p->np, *sc = NULL, *sd = NULL, *rc = NULL, *rd = NULL;
  const size_t *a = forward ? p->scount : p->rcount, *ad = forward ? p->sdispl : p->rdispl;
  const size_t *b = forward ? p->rcount : p->scount, *bd = forward ? p->rdispl : p->sdispl;
  TESS_CHECK(scaled(a, np, d, &sc));
  TESS_CHECK(scaled(ad, np, d, &sd));
  TESS_CHECK(scaled(b, np, d, &rc));
  TESS_CHECK(scaled(bd, np, d, &rd));
  sc[p->me] = rc[p->me] = 0;   /* this rank's own rows are copied (or read) in place */
  TESS_CHECK(tess_comm_alltoallv(p->mesh, p->axes, send, sc, sd, recv, rc, rd, t, TESS_MEM_HOST,
                                 NULL));
cleanup:
  free(sc); free(sd); free(rc); free(rd);
  return err;
}

/* Scratch that lives with the plan, so repeated exchanges do not allocate;
 * tess_malloc: big blocks get huge pages (what the reshard's buffers have). */
static tess_err_t grow(void **buf, size_t *bytes, size_t need)
{
  tess_err_t err = TESS_OK;
  if (need > *bytes) {
    tess_free(TESS_MEM_HOST, buf);
    *bytes = 0;
    TESS_CHECK(tess_malloc(TESS_MEM_HOST, need, buf));
    *bytes = need;
  }
cleanup:
  return err;
}

tess_err_t tess_ml_moe_dispatch(const tess_ml_moe_plan_t *plan, tess_dtype_t t, size_t d,
                                const void *src, int per_slot, void *recv)
{
  tess_err_t err = TESS_OK;
  tess_ml_moe_plan_t *p = (tess_ml_moe_plan_t *)plan;   /* the send buffer is scratch */
  TESS_REQUIRE(plan, TESS_ERR_ARG, "%s: argument 'plan' is NULL", __func__);
  ML_DTYPE(t);
  TESS_REQUIRE(p->n * p->k == 0 || src, TESS_ERR_ARG, "%s: argument 'src' is NULL", __func__);
  TESS_REQUIRE(p->n_recv == 0 || recv, TESS_ERR_ARG, "%s: argument 'recv' is NULL", __func__);
  ML_HOST(src);
  ML_HOST(recv);
  size_t es = tess_dtype_size(t), rb = d * es, need = (p->n_send ? p->n_send : 1) * rb;
  TESS_CHECK(grow(&p->sbuf, &p->sbuf_bytes, need));
  /* rows for this rank's own experts go straight to recv, the rest are packed */
  size_t s0 = p->sdispl[p->me], s1 = s0 + p->scount[p->me];
  for (size_t i = 0; i < p->n_send; i++) {
    size_t s = p->send_slot[i], from = per_slot ? s : s / p->k;
    char *to = i >= s0 && i < s1 ? (char *)recv + (p->rdispl[p->me] + i - s0) * rb
                                 : (char *)p->sbuf + i * rb;
    memcpy(to, (const char *)src + from * rb, rb);
  }
  TESS_CHECK(exchange(p, t, d, p->sbuf, recv, 1));
cleanup:
  return err;
}

tess_err_t moe_plan_return(const tess_ml_moe_plan_t *p, tess_dtype_t t, size_t d,
                           const void *expert_out, void *back)
{
  return exchange(p, t, d, expert_out, back, 0);
}

#define DEF_ACC(T, S)                                                                      \
  static void acc_##S(const tess_ml_moe_plan_t *p, size_t d, const T *back, const T *eo,   \
                      const double *w, double *acc)                                       \
  {                                                                                       \
    for (size_t t = 0; t < p->n; t++)                                                     \
      for (size_t r = 0; r < p->k; r++) {                                                 \
        size_t s = t * p->k + r, row = p->slot_row[s];                                    \
        if (row == SIZE_MAX) continue;                                                    \
        const T *o = moe_back_row(p, back, eo, row, d * sizeof *o);                       \
        double g = w ? w[s] : 1.0;                                                        \
        for (size_t j = 0; j < d; j++) acc[t * d + j] += g * (double)o[j];                \
      }                                                                                   \
  }
ML_INSTANTIATE(DEF_ACC)

void moe_plan_accumulate(const tess_ml_moe_plan_t *p, tess_dtype_t t, size_t d,
                         const void *back, const void *expert_out, const double *w,
                         double *acc)
{
  ML_CALL(t, acc, p, d, back, expert_out, w, acc);
}

static tess_err_t return_checked(const tess_ml_moe_plan_t *plan, tess_dtype_t t, size_t d,
                                 const void *expert_out, void **back)
{
  tess_err_t err = TESS_OK;
  tess_ml_moe_plan_t *p = (tess_ml_moe_plan_t *)plan;   /* the return buffer is scratch */
  *back = NULL;
  TESS_REQUIRE(p, TESS_ERR_ARG, "combine: argument 'plan' is NULL");
  ML_DTYPE(t);
  TESS_REQUIRE(p->n_recv == 0 || expert_out, TESS_ERR_ARG, "combine: argument 'expert_out' is NULL");
  ML_HOST(expert_out);
  TESS_CHECK(grow(&p->bbuf, &p->bbuf_bytes, (p->n_send ? p->n_send : 1) * d * tess_dtype_size(t)));
  *back = p->bbuf;
  TESS_CHECK(moe_plan_return(p, t, d, expert_out, *back));
cleanup:
  return err;
}

tess_err_t tess_ml_moe_combine(const tess_ml_moe_plan_t *plan, tess_dtype_t t, size_t d,
                               const void *expert_out, void *out)
{
  tess_err_t err = TESS_OK;
  void *back = NULL;
  TESS_CHECK(return_checked(plan, t, d, expert_out, &back));
  TESS_REQUIRE(plan->n * plan->k == 0 || out, TESS_ERR_ARG, "%s: argument 'out' is NULL", __func__);
  ML_HOST(out);
  size_t rb = d * tess_dtype_size(t);
  for (size_t s = 0; s < plan->n * plan->k; s++) {
    char *o = (char *)out + s * rb;
    if (plan->slot_row[s] == SIZE_MAX) memset(o, 0, rb);
    else memcpy(o, moe_back_row(plan, back, expert_out, plan->slot_row[s], rb), rb);
  }
cleanup:
  return err;
}

/* Row by row through one row of doubles: each output rounded once. */
#define DEF_SUM(T, S)                                                                       \
  static void sum_##S(const tess_ml_moe_plan_t *p, size_t d, const T *back, const T *eo,   \
                      const T *x, const double *w, T *out, double *acc)                    \
  {                                                                                        \
    for (size_t t = 0; t < p->n; t++) {                                                    \
      for (size_t j = 0; j < d; j++) acc[j] = x ? (double)x[t * d + j] : 0.0;              \
      for (size_t r = 0; r < p->k; r++) {                                                  \
        size_t s = t * p->k + r, row = p->slot_row[s];                                     \
        if (row == SIZE_MAX) continue;                                                     \
        const T *o = moe_back_row(p, back, eo, row, d * sizeof *o);                        \
        double g = w ? w[s] : 1.0;                                                         \
        for (size_t j = 0; j < d; j++) acc[j] += g * (double)o[j];                         \
      }                                                                                    \
      for (size_t j = 0; j < d; j++) out[t * d + j] = (T)acc[j];                           \
    }                                                                                      \
  }
ML_INSTANTIATE(DEF_SUM)

tess_err_t tess_ml_moe_combine_sum(const tess_ml_moe_plan_t *plan, tess_dtype_t t, size_t d,
                                   const void *expert_out, const void *x, const double *w,
                                   void *out)
{
  tess_err_t err = TESS_OK;
  void *back = NULL;
  double *acc = NULL;
  TESS_CHECK(return_checked(plan, t, d, expert_out, &back));
  TESS_REQUIRE(plan->n == 0 || out, TESS_ERR_ARG, "%s: argument 'out' is NULL", __func__);
  ML_HOST(out);
  ML_HOST(x);
  ML_HOST(w);
  acc = malloc((d ? d : 1) * sizeof *acc);
  TESS_REQUIRE(acc, TESS_ERR_MEM, "%s: a row of %zu", __func__, d);
  ML_CALL(t, sum, plan, d, back, expert_out, x, w, out, acc);
cleanup:
  free(acc);
  return err;
}

/* ml/moe_internal.h: what the MoE files of ml/ share (private to ml/): the
 * exchange plan's layout (moe_dispatch.c) and the router's per-token state
 * (moe_router.c), both read by the layer (moe.c). */
#ifndef TESSERA_MOE_INTERNAL_H
#define TESSERA_MOE_INTERNAL_H
#include <tessera/ml_moe.h>

struct tess_ml_moe_plan {
  tess_mesh_t *mesh;
  unsigned axes;               /* the experts axis */
  int np, me;                  /* its size, this rank's coordinate */
  size_t E, E_loc, n, k;
  size_t *scount, *sdispl;     /* rows per peer, this rank's sends */
  size_t *rcount, *rdispl;     /* rows per peer received */
  size_t *send_slot;           /* n_send: the slot each send row carries */
  size_t *slot_row;            /* n*k: its send row (= returned row), SIZE_MAX if not sent */
  size_t n_send, n_recv;
  size_t *exp_off;             /* E_loc + 1: local expert le's rows are */
  size_t *exp_rows;            /* exp_rows[exp_off[le] .. exp_off[le+1]) */
  void *sbuf, *bbuf;           /* packed send rows, returned rows: grown on demand */
  size_t sbuf_bytes, bbuf_bytes;
};

/* Back from the experts without unpacking: back (n_send x d) gets slot s's
 * row at slot_row[s], except the rows this rank's own experts computed,
 * which never move: read every returned row through moe_back_row(). */
tess_err_t moe_plan_return(const tess_ml_moe_plan_t *p, tess_dtype_t t, size_t d,
                           const void *expert_out, void *back);
/* Where send row `row` came back: in back, or (own experts) in expert_out. */
static inline const void *moe_back_row(const tess_ml_moe_plan_t *p, const void *back,
                                       const void *expert_out, size_t row, size_t rb)
{
  size_t s0 = p->sdispl[p->me];
  if (row >= s0 && row < s0 + p->scount[p->me])
    return (const char *)expert_out + (p->rdispl[p->me] + row - s0) * rb;
  return (const char *)back + row * rb;
}
/* acc[t*d + j] += sum over sent slots r of (w ? w[t*k+r] : 1) * returned row (r order). */
void moe_plan_accumulate(const tess_ml_moe_plan_t *p, tess_dtype_t t, size_t d,
                         const void *back, const void *expert_out, const double *w,
                         double *acc);

/* The router on n tokens (double arithmetic whatever the storage). */
typedef struct {
  size_t n, E, k, cap_n;
  double *logits, *prob, *lse; /* n*E, n*E, n */
  int32_t *choice;             /* n*k: experts by decreasing probability (ties: lower index) */
  int32_t *kept;               /* n*k: choice, or -1 when dropped */
  double *gate;                /* n*k */
  double *norm;                /* n: the sum the gates were normalised by (1 if not) */
} moe_route_t;

void moe_route_free(moe_route_t *r);
/* logits = x W^T, softmax, top-k, gates, TOP2's random drop keyed by
 * (seed, step, g0 + t). */
tess_err_t moe_route_forward(moe_route_t *r, const tess_ml_moe_config_t *c, size_t k,
                             tess_dtype_t t, size_t n, const void *x, const void *w,
                             int64_t step, size_t g0);
/* dlogits (n x E) of sum_{t,r} dgate[t*k+r] gate[t*k+r] + aux_w L_aux + z_w L_z,
 * L_aux = E sum_e f_e P_e with P_e the mean probability over T tokens.
 * dp: scratch of E doubles. */
void moe_route_backward(const moe_route_t *r, const tess_ml_moe_config_t *c, const double *dgate,
                        const double *f, double T, double *dp, double *dlogits);
#endif

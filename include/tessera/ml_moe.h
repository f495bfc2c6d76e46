/* include/tessera/ml_moe.h: a Mixture-of-Experts layer on the host (issue
 * "ML II"): a softmax router (top-1, GShard top-2, top-k), a capacity
 * factor or dropless routing, E MLP experts sharded over an `experts` mesh
 * axis, tokens sharded over a `dp` axis, dispatch and combine as all-to-alls
 * on the experts axis (tess_comm), the Switch/GShard load-balancing loss and
 * the router z-loss, and the exact backward of all of it.
 *
 * Determinism: the same tokens, parameters, seed and step give the same bits
 * of output and gradients at any mesh shape (experts x dp) on the same GEMM
 * backend. Routing is keyed by global token indices, capacity is global (a
 * priority order over all tokens), experts run on fixed tiles of rows, and
 * every sum over tokens goes through tess_chunk_tree_sum (docs/ml.md, "MoE").
 *
 * Layout: x is this rank's block of the tokens along `dp` (blocks in dp
 * coordinate order make the global token order), the same on every rank of
 * the experts axis (replicated there); y and dx come back the same way.
 * Storage f64 or f32 (arithmetic in double). */
#ifndef TESSERA_ML_MOE_H
#define TESSERA_ML_MOE_H
#include <stddef.h>
#include <stdint.h>
#include <tessera/dtype.h>
#include <tessera/error.h>
#include <tessera/export.h>
#include <tessera/mesh.h>
TESS_API_BEGIN

typedef enum {
  TESS_ML_MOE_TOP1 = 1,  /* Switch: one expert, gate = its softmax probability */
  TESS_ML_MOE_TOP2,      /* GShard: gates normalised over the two; the second kept
                            with probability min(1, 2 g2) (counter RNG, see below) */
  TESS_ML_MOE_TOPK       /* k experts; gates normalised over them if `normalize` */
} tess_ml_moe_policy_t;

typedef struct {
  size_t d_model, hidden, n_experts;
  tess_ml_moe_policy_t policy;
  size_t k;                 /* TOPK only (TOP1 is 1, TOP2 is 2) */
  int normalize;            /* TOPK only */
  double capacity_factor;   /* > 0: capacity ceil(cf * T * k / E) per expert, T the
                               global token count; 0: dropless */
  double aux_weight;        /* the backward adds aux_weight * d(L_aux) ... */
  double z_weight;          /* ... and z_weight * d(L_z) */
  uint64_t seed;            /* parameter init and the random second choice */
} tess_ml_moe_config_t;

/* What a forward measured (the same on every rank). */
typedef struct {
  double aux_loss;          /* E * sum_e f_e P_e (f_e: share of first choices, all k
                               for TOPK, before capacity; P_e: mean probability) */
  double z_loss;            /* mean over tokens of logsumexp(logits)^2 */
  int64_t capacity;         /* per expert; -1 dropless */
  int64_t dropped;          /* assignments over capacity (not the random drops) */
  int64_t assigned;         /* assignments routed (after the random drops) */
} tess_ml_moe_stats_t;

typedef struct tess_ml_moe tess_ml_moe_t;   /* opaque */

/* Collective over the mesh. experts_axis names a mesh axis whose size
 * divides n_experts; dp_axis another axis or NULL (no data parallelism).
 * Parameters are initialised from the counter RNG keyed by (seed, global
 * parameter index): router N(0, 1/d), W1 N(0, 1/d), W2 N(0, 1/h), biases 0.
 * TESS_ERR_ARG names the bad value (k > E, E not divisible, ...). */
tess_err_t tess_ml_moe_create(tess_mesh_t *mesh, const char *experts_axis, const char *dp_axis,
                              const tess_ml_moe_config_t *c, tess_dtype_t t,
                              tess_ml_moe_t **moe);
void tess_ml_moe_destroy(tess_ml_moe_t **moe);   /* safe on NULL */

/* The parameters and their gradients (borrowed; gradients accumulate: zero
 * them once per step). router: W_r [E x d] (logits = x W_r^T), replicated.
 * experts: this rank's experts e0 .. e0 + n_local - 1, each [W1 (h x d),
 * b1 (h), W2 (d x h), b2 (d)], tess_ml_moe_expert_size() values apart. Any
 * output pointer may be NULL. */
tess_err_t tess_ml_moe_params(tess_ml_moe_t *moe, void **router, void **drouter,
                              void **experts, void **dexperts, size_t *e0, size_t *n_local);
size_t tess_ml_moe_expert_size(const tess_ml_moe_t *moe);

/* Collective. x, y: n x d (n may differ between dp ranks; must agree along
 * the experts axis). `step` keys the random second choice of TOP2:
 * u = tess_rng_uniform(seed, TESS_ML_MOE_STREAM(step), global token index).
 * y = x + sum over the kept choices r of gate_r * expert_r(x); tokens over
 * capacity keep the residual. Saves what the backward needs. */
#define TESS_ML_MOE_STREAM(s) ((UINT64_C(0x4D6F45) << 40) | ((uint64_t)(s) & UINT64_C(0xFFFFFFFFFF)))
tess_err_t tess_ml_moe_forward(tess_ml_moe_t *moe, int64_t step, size_t n, const void *x,
                               void *y, tess_ml_moe_stats_t *stats);
/* Collective, after a forward: dx (n x d, written) of L = <dy, y> +
 * aux_weight L_aux + z_weight L_z; the parameter gradients added. */
tess_err_t tess_ml_moe_backward(tess_ml_moe_t *moe, const void *dy, void *dx);

/* The last forward's routing of this rank's share of the tokens: global
 * tokens g0 .. g0 + n - 1, k slots each: chosen expert (-1 never), the
 * expert kept (-1: dropped by the random draw or capacity), the gate. */
tess_err_t tess_ml_moe_routing(const tess_ml_moe_t *moe, size_t *g0, size_t *n, size_t *k,
                               const int32_t **choice, const int32_t **kept,
                               const double **gate);

/* ---- the exchange alone (what the layer runs) ----
 * A plan moves rows between token owners and expert owners on one mesh
 * axis: this rank has n tokens with k slots each; slot_expert[t*k + r] is
 * the expert (0..E-1, E a multiple of the axis size; rank c of the axis owns
 * experts c*E/p .. (c+1)*E/p - 1) or -1 (not sent). Collective over the
 * axis (the counts are exchanged at creation). Received rows arrive grouped
 * by sending rank, then expert, then token: tess_ml_moe_plan_expert_rows()
 * lists each local expert's rows in sending-rank then token order. */
typedef struct tess_ml_moe_plan tess_ml_moe_plan_t;
tess_err_t tess_ml_moe_plan_create(tess_mesh_t *mesh, const char *axis, size_t n_experts,
                                   size_t n, size_t k, const int32_t *slot_expert,
                                   tess_ml_moe_plan_t **plan);
/* Collective: route n new tokens (k as before) through the same plan; its
 * scratch buffers stay, so a layer that reroutes every step does not
 * allocate (or fault in) its exchange buffers again. */
tess_err_t tess_ml_moe_plan_reroute(tess_ml_moe_plan_t *plan, size_t n,
                                    const int32_t *slot_expert);
void tess_ml_moe_plan_destroy(tess_ml_moe_plan_t **plan);
/* Rows this rank receives; the rows of local expert le. */
size_t tess_ml_moe_plan_recv_rows(const tess_ml_moe_plan_t *plan);
tess_err_t tess_ml_moe_plan_expert_rows(const tess_ml_moe_plan_t *plan, size_t le,
                                        size_t *count, const size_t **rows);
/* Collective: row t of src (per_slot 0: n x d, a token's row to each of its
 * slots) or row t*k + r (per_slot 1: n*k x d) to its expert's owner; recv:
 * recv_rows x d. */
tess_err_t tess_ml_moe_dispatch(const tess_ml_moe_plan_t *plan, tess_dtype_t t, size_t d,
                                const void *src, int per_slot, void *recv);
/* Collective, the reverse: expert_out (recv_rows x d, the layout dispatch
 * produced) back to the token owners, as slot rows out (n*k x d; zeros for
 * slots not sent). */
tess_err_t tess_ml_moe_combine(const tess_ml_moe_plan_t *plan, tess_dtype_t t, size_t d,
                               const void *expert_out, void *out);
/* The same, weighted and summed: out[t] = (x ? x[t] : 0) + sum over sent
 * slots r, in r order, of w[t*k + r] * row (in double, rounded once). */
tess_err_t tess_ml_moe_combine_sum(const tess_ml_moe_plan_t *plan, tess_dtype_t t, size_t d,
                                   const void *expert_out, const void *x, const double *w,
                                   void *out);
TESS_API_END
#endif

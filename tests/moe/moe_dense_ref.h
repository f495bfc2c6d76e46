/* tests/moe/moe_dense_ref.h: an independent, single-rank, dense reference
 * of the MoE layer in long double: every expert on every token, then masks
 * (chosen, kept by the random draw and by capacity) and gates; the loss
 * L = <dy, y> + aux_w L_aux + z_w L_z and its gradient written out by hand.
 * Shares nothing with ml/ but the public config struct, the RNG and the
 * definition of the routing rules (docs/ml.md, "MoE"). */
#ifndef MOE_DENSE_REF_H
#define MOE_DENSE_REF_H
#include <stddef.h>
#include <stdint.h>
#include <tessera/ml_moe.h>

typedef struct {
  double *y, *dx, *drouter, *dexperts;   /* T*d, T*d, E*d, E*P */
  double aux, z;
  int32_t *kept;                         /* T*k: expert or -1 */
  long dropped;
} moe_ref_out_t;

/* router [E x d], experts [E x P] (P = 2hd + h + d), x and dy [T x d]. out's
 * arrays are allocated here; moe_ref_free releases them. */
int moe_ref_run(const tess_ml_moe_config_t *c, int64_t step, size_t T, const double *x,
                const double *router, const double *experts, const double *dy,
                moe_ref_out_t *out);
void moe_ref_free(moe_ref_out_t *o);
#endif

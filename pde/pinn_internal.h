/* pde/pinn_internal.h: what the pde/ files share and users do not see: the
 * MLP struct, the jet layout (which component is what) and the per-chunk
 * workspace of the jet and adjoint kernels. The kernels exist for f64 and
 * f32 (suffixes _f64/_f32); everything around them works in f64. */
#ifndef TESSERA_PDE_PINN_INTERNAL_H
#define TESSERA_PDE_PINN_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include <tessera/pinn.h>
#include <tessera/gemm.h>
#include <tessera/tree_sum.h>

struct tess_mlp {
  int nlayers;                 /* weight layers */
  int *width;                  /* nlayers + 1 */
  size_t *woff, *boff;         /* offsets of W_l and b_l in theta */
  size_t nparams;
  int maxwidth;
  tess_act_t act;
  tess_dtype_t dtype;
  double *theta;               /* master copy */
  float *theta32;              /* f32 copy (f32 networks), kept in step */
};

/* Component layout of a jet (see tess_jet_spec_t). */
typedef struct {
  int din, ncomp;
  int npairs, c_pair, pi[TESS_JET_MAX_PAIRS], pj[TESS_JET_MAX_PAIRS];
  int c_lap;                   /* -1: none */
  int ndirs, c_dir[TESS_JET_MAX_DIRS], dord[TESS_JET_MAX_DIRS];
  double dir[TESS_JET_MAX_DIRS][TESS_JET_MAX_IN];
  int maxord;                  /* highest derivative order carried */
} pinn_layout_t;

tess_err_t pinn_layout_make(const tess_jet_spec_t *spec, int din, pinn_layout_t *lay);

/* Workspace for one chunk of B points; buffers are of the network's dtype. */
typedef struct {
  size_t B;
  int C;
  tess_dtype_t dtype;
  void **H;                    /* H[l]: C x B x width[l], input of layer l */
  void **Z;                    /* Z[l]: C x B x width[l+1], pre-activation */
  void *S;                     /* activation derivatives: (maxord+2) x B x maxwidth */
  void *bar0, *bar1;           /* adjoints: C x B x maxwidth each */
  void *gpart;                 /* one chunk's parameter gradient (nparams) */
} pinn_work_t;

tess_err_t pinn_work_create(const tess_mlp_t *mlp, const pinn_layout_t *lay, size_t B,
                            pinn_work_t *w);
/* The chunk of TESS_PINN_CHUNK_AUTO: a function of the network and the jet
 * layout only (never of the machine or rank count), see taylor_jet.c. */
size_t pinn_auto_chunk(const tess_mlp_t *mlp, const pinn_layout_t *lay);
void pinn_work_destroy(const tess_mlp_t *mlp, pinn_work_t *w);

/* Dense products: tessera/gemm.h (src/gemm.c), shared with the ML layer. */

/* Forward jets of B points x (B x din, f64) through the network; the output
 * jet is w->Z[L-1] (C x B x dout, network dtype). */
void pinn_jet_forward_f64(const tess_mlp_t *mlp, const pinn_layout_t *lay, pinn_work_t *w,
                          const double *x);
void pinn_jet_forward_f32(const tess_mlp_t *mlp, const pinn_layout_t *lay, pinn_work_t *w,
                          const double *x);
/* Reverse mode: w->bar0 holds the output adjoint (C x B x dout) on entry;
 * on return w->gpart holds d(loss)/d(theta) of this chunk (overwritten). */
void pinn_jet_backward_f64(const tess_mlp_t *mlp, const pinn_layout_t *lay, pinn_work_t *w);
void pinn_jet_backward_f32(const tess_mlp_t *mlp, const pinn_layout_t *lay, pinn_work_t *w);

/* Activation derivatives s_k(z), k = 0..m, over n values: s[k * n + q].
 * h0 (may be NULL) is act(z) if already known (tanh reuses it). */
/* Elementwise jet passes run over strips of this many values per component
 * (taylor_jet.c, pinn_adjoint.c): 512 doubles x ~12 streams fit in L2. */
#define PINN_STRIP 512
void pinn_act_eval_f64(tess_act_t act, size_t n, const double *z, const double *h0, int m,
                       double *s);
void pinn_act_eval_f32(tess_act_t act, size_t n, const float *z, const float *h0, int m,
                       float *s);

/* The deterministic sum of chunk vectors is tessera/tree_sum.h (src/tree_sum.c). */

/* ---- expressions (pde/pinn_expr.c) ---------------------------------------- */
typedef struct pinn_expr pinn_expr_t;
/* A compiled expression reads "leaves": jet component `comp` of output `out`,
 * times `coef` (3rd/4th mixed derivatives are sums of directional ones). */
typedef struct { int out, comp; double coef; } pinn_leaf_term_t;

tess_err_t pinn_expr_create(int din, const char *const in_names[], int dout,
                            const char *const out_names[], pinn_expr_t **ex);
void pinn_expr_destroy(pinn_expr_t **ex);
tess_err_t pinn_expr_define(pinn_expr_t *ex, const char *name, const char *text);
/* Parse to a root node id. */
tess_err_t pinn_expr_parse(pinn_expr_t *ex, const char *text, int *root);
/* Add what the roots need to spec (pairs, Laplacian, directions). */
tess_err_t pinn_expr_plan(pinn_expr_t *ex, const int *roots, int nroots, int din,
                          tess_jet_spec_t *spec);
/* After the layout is final: bind leaves to components. */
tess_err_t pinn_expr_bind(pinn_expr_t *ex, const pinn_layout_t *lay);
/* Evaluate roots at B points. jet: C x B x dout (f64), x: B x din.
 * vals: nroots x B. Scratch is internal. */
tess_err_t pinn_expr_eval(pinn_expr_t *ex, const int *roots, int nroots, size_t B,
                          const double *jet, int dout, const double *x, double *vals);
/* Reverse: seeds (nroots x B) -> jetbar (C x B x dout, accumulated). Uses the
 * values of the last pinn_expr_eval with the same roots. */
tess_err_t pinn_expr_adjoint(pinn_expr_t *ex, const int *roots, int nroots, size_t B,
                             int dout, const double *seeds, double *jetbar);

/* The evaluation of some roots as a flat program, for interpreters outside
 * this file (the GPU's, pde/cuda/pinn_cuda.cu): the nodes the roots reach,
 * in pinn_expr_eval's order, operands renumbered to earlier ops' slots
 * (-1: none), the bound leaf terms, and the roots' slots. The kinds and
 * functions are pinn_expr.c's (checked there at compile time); an
 * interpreter that follows pinn_expr_eval / pinn_expr_adjoint op by op
 * with the same operations gets their bits. Valid until the next bind. */
enum { PINN_OP_NUM, PINN_OP_COORD, PINN_OP_OUT, PINN_OP_LAP, PINN_OP_ADD, PINN_OP_SUB, PINN_OP_MUL,
       PINN_OP_DIV, PINN_OP_NEG, PINN_OP_POW, PINN_OP_FUN };
enum { PINN_FUN_SIN, PINN_FUN_COS, PINN_FUN_EXP, PINN_FUN_LOG, PINN_FUN_SQRT, PINN_FUN_TANH };
typedef struct { int kind, a, b, fun, idx, term0, nterm; double num; } pinn_op_t;
typedef struct {
  int nops, nterms, nroots;
  pinn_op_t *ops;
  pinn_leaf_term_t *terms;
  int *roots;
} pinn_prog_t;
tess_err_t pinn_expr_program(pinn_expr_t *ex, const int *roots, int nroots, pinn_prog_t *prog);
void pinn_prog_free(pinn_prog_t *prog);   /* safe on a zeroed one */
#endif

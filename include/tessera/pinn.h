/* include/tessera/pinn.h: PINN operator library.
 * An MLP of any widths, exact input derivatives by forward Taylor jets
 * (gradient, Hessian entries, forward Laplacian, 3rd/4th order along
 * directions), residual expressions named as text, losses whose parameter
 * gradients are the exact reverse-mode adjoints of the jet recurrences, and
 * the Adam and L-BFGS optimizers. Training is data parallel over one mesh
 * axis given to tess_pinn_setup (the `dp` axis: every rank along it holds a
 * block of chunks; tess_pinn_setup_comm takes a communicator instead):
 * points are cut into fixed-size global chunks, so the loss and gradient
 * are bitwise identical at any rank count.
 * The design notes and the expression grammar are in docs/pinn.md.
 *
 * Parameters are always exchanged as f64 vectors (the optimizers keep an f64
 * master copy); an f32 network rounds them to f32 for its jets and adjoints.
 * Layout of the parameter vector: for each layer l = 0..L-1, W_l as
 * width[l+1] x width[l] row-major, then b_l (width[l+1]). */
#ifndef TESSERA_PINN_H
#define TESSERA_PINN_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include <tessera/dtype.h>
#include <tessera/error.h>
#include <tessera/mesh.h>

/* ---- activations ------------------------------------------------------------ */
typedef enum { TESS_ACT_TANH = 0, TESS_ACT_SIN, TESS_ACT_SOFTPLUS, TESS_ACT_GELU,
               TESS_ACT_N } tess_act_t;
/* "tanh", "sin", "softplus", "gelu" (exact erf form). */
tess_err_t tess_act_parse(const char *name, tess_act_t *act);
const char *tess_act_name(tess_act_t act);
/* s[k] = d^k act / dz^k at z, k = 0..order; order <= TESS_ACT_MAX_ORDER. */
#define TESS_ACT_MAX_ORDER 5
tess_err_t tess_act_derivs(tess_act_t act, double z, int order, double *s);
/* The same in f32 arithmetic, as an f32 network evaluates them. */
tess_err_t tess_act_derivs_f32(tess_act_t act, float z, int order, float *s);

/* ---- MLP -------------------------------------------------------------------- */
typedef struct tess_mlp tess_mlp_t;      /* opaque */
typedef enum { TESS_INIT_GLOROT = 0, TESS_INIT_HE } tess_init_t;

/* widths[0] = inputs, widths[nlayers] = outputs, hidden layers between; the
 * activation follows every layer but the last. dtype TESS_F64 or TESS_F32.
 * Parameters start at zero: call tess_mlp_init or tess_mlp_set_params. */
tess_err_t tess_mlp_create(int nlayers, const int widths[], tess_act_t act,
                           tess_dtype_t dtype, tess_mlp_t **mlp);
void tess_mlp_destroy(tess_mlp_t **mlp);              /* safe on NULL */
/* Glorot (normal, sd sqrt(2/(fan_in+fan_out))) or He (sd sqrt(2/fan_in))
 * weights, zero biases. Weight k of the parameter vector is
 * tess_rng_normal(seed, TESS_PINN_STREAM_INIT, k): the same network for a
 * seed whatever the rank count. */
#define TESS_PINN_STREAM_INIT 0x50494e4eu
tess_err_t tess_mlp_init(tess_mlp_t *mlp, tess_init_t init, uint64_t seed);
size_t tess_mlp_nparams(const tess_mlp_t *mlp);
int tess_mlp_nlayers(const tess_mlp_t *mlp);
int tess_mlp_width(const tess_mlp_t *mlp, int i);     /* i = 0..nlayers */
tess_act_t tess_mlp_act(const tess_mlp_t *mlp);
tess_dtype_t tess_mlp_dtype(const tess_mlp_t *mlp);
tess_err_t tess_mlp_get_params(const tess_mlp_t *mlp, double *theta);
tess_err_t tess_mlp_set_params(tess_mlp_t *mlp, const double *theta);

/* ---- Taylor jets ------------------------------------------------------------ */
#define TESS_JET_MAX_IN 8
#define TESS_JET_MAX_PAIRS 36
#define TESS_JET_MAX_DIRS 40
/* What a jet carries besides the value and the input gradient (always
 * there): Hessian entries (i, j), i <= j; the Laplacian (forward-Laplacian
 * style, one component); and for each direction v_k the derivatives
 * d^m/dt^m f(x + t v_k), m = 1..order_k (order_k <= 4). */
typedef struct {
  int npairs;
  int pair[TESS_JET_MAX_PAIRS][2];
  int laplacian;
  int ndirs;
  int dir_order[TESS_JET_MAX_DIRS];
  double dir[TESS_JET_MAX_DIRS][TESS_JET_MAX_IN];
} tess_jet_spec_t;

/* Component numbering: 0 value, 1+i d/dx_i, then the pairs in spec order,
 * then the Laplacian, then for each direction its orders 1..order. */
int tess_jet_ncomp(const tess_jet_spec_t *spec, int din);
int tess_jet_comp_pair(const tess_jet_spec_t *spec, int din, int p);
int tess_jet_comp_laplacian(const tess_jet_spec_t *spec, int din);      /* -1: none */
int tess_jet_comp_dir(const tess_jet_spec_t *spec, int din, int k, int m);
/* Add the full Hessian (all i <= j) to a spec. */
tess_err_t tess_jet_spec_full_hessian(tess_jet_spec_t *spec, int din);

/* Rank-local. x: npts x din (row-major). out: ncomp x npts x dout, i.e.
 * out[(c * npts + p) * dout + o] is component c of output o at point p.
 * Points are processed in chunks of `chunk` (TESS_PINN_CHUNK_AUTO: see
 * tess_pinn_set_chunk). */
tess_err_t tess_mlp_jet(const tess_mlp_t *mlp, const tess_jet_spec_t *spec, size_t npts,
                        const double *x, size_t chunk, double *out);

/* ---- residual problems ------------------------------------------------------ */
typedef struct tess_pinn tess_pinn_t;    /* opaque */
/* Global point `gidx` of a set: write its din coordinates to x. Must be a pure
 * function of gidx (it is called on whichever rank owns the point). */
typedef void (*tess_pinn_point_fn)(int64_t gidx, double *x, void *ctx);

/* Built-in point sets (ctx for the fill functions below). Uniform points in
 * the box, from the counter RNG keyed by (seed, stream, gidx); or uniform on
 * its boundary (2-D: the four edges by length). */
typedef struct {
  int din;
  double lo[TESS_JET_MAX_IN], hi[TESS_JET_MAX_IN];
  uint64_t seed, stream;
} tess_pinn_box_t;
void tess_pinn_box_interior(int64_t gidx, double *x, void *ctx);
void tess_pinn_box_boundary(int64_t gidx, double *x, void *ctx);  /* din == 2 */

/* The problem borrows mlp (keep it alive). in_names / out_names name the
 * coordinates and network outputs in expressions (e.g. {"x","y"}, {"psi"}). */
tess_err_t tess_pinn_create(tess_mlp_t *mlp, const char *const in_names[],
                            const char *const out_names[], tess_pinn_t **pinn);
void tess_pinn_destroy(tess_pinn_t **pinn);
/* `name = text`: a constant or a field defined by an expression; later
 * expressions may use the name. Errors name the text and the column. */
tess_err_t tess_pinn_define(tess_pinn_t *pinn, const char *name, const char *text);
/* A point set of npoints points, with its residual expressions. Its loss
 * term is weight * sum over points of sum over residuals r^2. */
tess_err_t tess_pinn_add_set(tess_pinn_t *pinn, const char *name, int64_t npoints,
                             tess_pinn_point_fn fill, void *ctx, double weight,
                             int nres, const char *const residuals[]);
/* Points per chunk; part of the result's definition: the trajectory depends
 * on it, never on the rank count. TESS_PINN_CHUNK_AUTO (the default): the
 * largest power of two in 16..4096 whose one-layer jet (components x points x
 * widest layer, network dtype) fits in 512 KiB -- a function of the network
 * and the residuals only, so still the same on every machine and rank count
 * (seed example: 128 points in f32, 64 in f64). */
#define TESS_PINN_CHUNK_AUTO 0
tess_err_t tess_pinn_set_chunk(tess_pinn_t *pinn, int chunk);
/* The chunk in use (after tess_pinn_setup; before it, what was set). */
int tess_pinn_chunk(const tess_pinn_t *pinn);
/* Where the loss and gradient are computed (docs/pinn.md, "On the GPU").
 * CPU: the host kernels (the default). CUDA: each chunk's jets, residual
 * expressions, loss terms, adjoints and parameter-gradient products on the
 * rank's GPU (CUDA + cuBLAS builds), the chunk tree and the exact loss sums
 * on the host: bitwise identical at any rank count on the same GPU model,
 * within rounding of the CPU's result. AUTO: CUDA where the build has
 * it and every rank of the problem sees a GPU, else CPU (decided in setup by
 * one collective, so all ranks agree). A chunk of TESS_PINN_CHUNK_AUTO on the
 * GPU is the largest power of two in 16..16384 points whose one-layer jet
 * fits in 32 MiB (seed example: 8192 in f32, 4096 in f64), capped at the
 * smallest power of two >= the largest set's points. Set before setup. */
typedef enum { TESS_PINN_DEVICE_CPU = 0, TESS_PINN_DEVICE_AUTO, TESS_PINN_DEVICE_CUDA } tess_pinn_device_t;
/* "cpu", "auto", "cuda". */
tess_err_t tess_pinn_device_parse(const char *name, tess_pinn_device_t *dev);
const char *tess_pinn_device_name(tess_pinn_device_t dev);
tess_err_t tess_pinn_set_device(tess_pinn_t *pinn, tess_pinn_device_t dev);
/* After setup: TESS_PINN_DEVICE_CPU or _CUDA, what setup chose; before it,
 * what was asked. */
tess_pinn_device_t tess_pinn_device(const tess_pinn_t *pinn);
/* Collective on the mesh: compiles the residuals, plans the jets,
 * distributes the chunks in blocks over the ranks of axis `dp_axis` (its
 * communicator is duplicated) and makes their points. Along the mesh's other
 * axes the problem is replicated: every group along dp computes the same
 * bits (they never depend on the dp size). TESS_ERR_ARG naming the mesh's
 * axes if dp_axis is not one of them. */
tess_err_t tess_pinn_setup(tess_pinn_t *pinn, tess_mesh_t *mesh, const char *dp_axis);
/* The same over all ranks of comm (duplicated), for callers without a mesh.
 * With device CUDA asked and a rank that sees no GPU (or a build without
 * CUDA + cuBLAS), every rank fails with TESS_ERR_UNSUPPORTED. */
tess_err_t tess_pinn_setup_comm(tess_pinn_t *pinn, MPI_Comm comm);
size_t tess_pinn_nparams(const tess_pinn_t *pinn);
/* Collective. theta (f64, replicated) -> loss and its exact gradient (grad
 * may be NULL), identical bits on every rank and at every rank count. The
 * loss is an exactly rounded sum of the per-point terms (tess_sum_f64); the
 * gradient sums per-chunk partials over a fixed dyadic tree of chunks
 * (tess_chunk_tree_sum, tessera/tree_sum.h). */
tess_err_t tess_pinn_loss_grad(tess_pinn_t *pinn, const double *theta, double *loss,
                               double *grad);
/* Per-set loss terms of the last tess_pinn_loss_grad (nsets values). */
tess_err_t tess_pinn_set_losses(const tess_pinn_t *pinn, double *losses, int max, int *nsets);
/* Rank-local: evaluate an expression (e.g. "grad(psi,\"y\")") with the
 * network's current parameters at npts points x (npts x din). A problem set
 * up on the GPU computes the jets there (the expression on the host). */
tess_err_t tess_pinn_eval(tess_pinn_t *pinn, const char *text, size_t npts,
                          const double *x, double *out);
/* Not collective; before or after setup: parse `text` and plan the jet it
 * needs, as tess_pinn_eval would, without evaluating anything -- unknown
 * names, syntax, bad coordinates and unsupported derivative orders fail here
 * (a deck check before any work). */
tess_err_t tess_pinn_check_expr(tess_pinn_t *pinn, const char *text);
/* The jet plan setup() chose (for reports and tests). */
tess_err_t tess_pinn_jet_spec(const tess_pinn_t *pinn, tess_jet_spec_t *spec);

/* ---- optimizers ------------------------------------------------------------- */
typedef enum { TESS_SCHED_CONSTANT = 0, TESS_SCHED_EXP, TESS_SCHED_COSINE } tess_sched_t;
tess_err_t tess_sched_parse(const char *name, tess_sched_t *s);
typedef struct {
  double lr, beta1, beta2, eps;
  tess_sched_t schedule;
  double decay_rate;    /* EXP: lr * decay_rate^(step / decay_steps) */
  double decay_steps;
  long total_steps;     /* COSINE: lr_min + (lr - lr_min)(1 + cos(pi step/total))/2 */
  double lr_min;
} tess_adam_opts_t;
void tess_adam_opts_default(tess_adam_opts_t *o);   /* 1e-3, 0.9, 0.999, 1e-8, constant */
double tess_adam_lr(const tess_adam_opts_t *o, long step);

typedef struct tess_adam tess_adam_t;
tess_err_t tess_adam_create(size_t n, const tess_adam_opts_t *opts, tess_adam_t **adam);
void tess_adam_destroy(tess_adam_t **adam);
/* theta -= lr(step) * mhat / (sqrt(vhat) + eps); deterministic elementwise. */
tess_err_t tess_adam_step(tess_adam_t *adam, double *theta, const double *grad);
long tess_adam_steps(const tess_adam_t *adam);
/* State as a flat f64 vector (for checkpoints): step, m, v. */
size_t tess_adam_state_size(const tess_adam_t *adam);
tess_err_t tess_adam_state_get(const tess_adam_t *adam, double *state);
tess_err_t tess_adam_state_set(tess_adam_t *adam, const double *state);

typedef enum { TESS_LS_BACKTRACKING = 0, TESS_LS_STRONG_WOLFE } tess_ls_t;
typedef struct {
  int history;          /* m, default 10 */
  tess_ls_t line_search;
  double c1, c2;        /* 1e-4, 0.9 */
  int max_evals;        /* per iteration, default 25 */
  double step0;         /* first trial step of the first iteration, default 1 (scaled by 1/|g|) */
} tess_lbfgs_opts_t;
void tess_lbfgs_opts_default(tess_lbfgs_opts_t *o);
/* Objective: f and gradient at x. Collective functions are fine as long as
 * every rank calls the optimizer in step. */
typedef tess_err_t (*tess_objective_fn)(const double *x, double *f, double *g, void *ctx);
typedef struct tess_lbfgs tess_lbfgs_t;
tess_err_t tess_lbfgs_create(size_t n, const tess_lbfgs_opts_t *opts, tess_lbfgs_t **lb);
void tess_lbfgs_destroy(tess_lbfgs_t **lb);
/* One iteration (direction by the two-loop recursion, then the line search)
 * from x with f, g at x; on return x, f, g are at the accepted point.
 * *nevals (may be NULL) gets the number of objective calls. If the line
 * search meets no Wolfe/Armijo point it takes the best decrease it saw; if
 * there was none it leaves x, f, g alone, clears the history and returns
 * TESS_ERR_NUMERIC (converged to rounding, or a bad objective). */
tess_err_t tess_lbfgs_step(tess_lbfgs_t *lb, tess_objective_fn fn, void *ctx, double *x,
                           double *f, double *g, int *nevals);
long tess_lbfgs_iters(const tess_lbfgs_t *lb);
size_t tess_lbfgs_state_size(const tess_lbfgs_t *lb);
tess_err_t tess_lbfgs_state_get(const tess_lbfgs_t *lb, double *state);
tess_err_t tess_lbfgs_state_set(tess_lbfgs_t *lb, const double *state);

/* Objective adapter for tess_lbfgs_step: ctx is a tess_pinn_t*. */
tess_err_t tess_pinn_objective(const double *x, double *f, double *g, void *ctx);
TESS_API_END
#endif

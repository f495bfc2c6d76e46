/* include/tessera/pinn_driver.h: the whole PINN workflow, callable from C.
 * Build the network and the residual problem, train it (Adam, then L-BFGS)
 * with checkpoints, a checked loss history and restart, then report
 * relative L2 errors of expressions against reference expressions on a
 * grid, PNG quick looks and pinn_fields.h5. The `pinn` study of tessera_app
 * (apps/study_pinn.c) fills these options from a deck; docs/pinn.md. */
#ifndef TESSERA_PINN_DRIVER_H
#define TESSERA_PINN_DRIVER_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stdint.h>
#include <tessera/checkpoint.h>
#include <tessera/mesh.h>
#include <tessera/pinn.h>

typedef struct {
  /* network: 2 inputs -> hidden widths -> nouts outputs */
  int nhidden;
  const int *hidden;
  tess_act_t act;
  tess_dtype_t dtype;
  tess_init_t init;
  int nouts;
  const char *const *outs;           /* output names in expressions */
  /* problem on the box [lo, hi] of two coordinates */
  const char *inputs[2];
  double lo[2], hi[2];
  int ndefs;
  const char *const *defs;           /* "name = expression", in order */
  int nres;
  const char *const *res;            /* interior residuals (>= 1) */
  int64_t points;
  double weight;
  int nbres;                         /* 0: no boundary loss */
  const char *const *bres;
  int64_t bpoints;
  double bweight;
  /* training */
  int chunk;                         /* TESS_PINN_CHUNK_AUTO or points per chunk */
  int64_t adam_steps, lbfgs_steps;
  tess_adam_opts_t adam;             /* total_steps is set to adam_steps */
  tess_lbfgs_opts_t lbfgs;
  int64_t log_every;                 /* stdout line every this many steps */
  uint64_t seed;                     /* weights and points */
  /* report (nfields may be 0; names may be NULL: the field texts) */
  int nfields;
  const char *const *fields, *const *exact, *const *names;
  int grid[2];                       /* nx, ny >= 2 */
  /* files */
  const char *output_dir;            /* made if missing */
  tess_checkpoint_policy_t checkpoint;
  const char *restart;               /* checkpoint to continue from, or NULL */
  const char *deck_text;             /* stored in checkpoints (may be NULL) */
  /* optional: called on rank 0 after every step (end = 0) and once after
   * training (end = 1); first = the step training started from */
  void (*progress)(int64_t first, int64_t done, int64_t total, int end, void *ctx);
  void *progress_ctx;
  /* optional: called on every rank when a signal stop writes its
   * checkpoint, before writing (committed = 0) and after the commit (1), so
   * the caller can record it (tessera_app: status.toml, docs/signals.md) */
  void (*signal_checkpoint)(const char *path, int committed, void *ctx);
  void *signal_ctx;
  /* where the loss and gradient run (tess_pinn_set_device; 0 = CPU); Adam
   * and L-BFGS always update the host's f64 master copy */
  tess_pinn_device_t device;
} tess_pinn_run_opts_t;

/* Collective on the mesh; the chunks are spread over axis dp_axis. Prints
 * its log and summary on rank 0. TESS_ERR_INTERRUPTED when it stopped on a
 * signal after writing a checkpoint; TESS_ERR_DECK when the restart
 * checkpoint was trained for another network or problem (the message names
 * the key: model.hidden, model.activation, model.dtype, model.outputs,
 * pde.inputs, pde.definitions, pde.residuals, boundary.residuals). */
tess_err_t tess_pinn_run(tess_mesh_t *mesh, const char *dp_axis, const tess_pinn_run_opts_t *opts);

/* tess_pinn_define of a line "name = expression" (TESS_ERR_PARSE for no '='
 * or no name before it). */
tess_err_t tess_pinn_define_line(tess_pinn_t *pinn, const char *line);
TESS_API_END
#endif

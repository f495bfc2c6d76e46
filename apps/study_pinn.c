/* apps/study_pinn.c: the `pinn` study: its deck schema, the deck checks
 * (every expression parsed and resolved before any work) and the deck ->
 * tess_pinn_run_opts_t translation. The workflow itself -- train a
 * physics-informed network whose PDE, boundary conditions and reference
 * solution are expressions (grammar: docs/pinn.md), report, checkpoint and
 * restart -- is tess_pinn_run (pde/pinn_driver.c), on a one-axis `dp` mesh
 * over all ranks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/deck.h>
#include <tessera/log.h>
#include <tessera/pinn.h>
#include <tessera/pinn_driver.h>
#include "study.h"

#define MAXS 32

static const tess_deck_key_t pinn_keys[] = {
  { .path = "model.hidden", .type = TESS_KEY_INT_ARRAY, .default_toml = "[64, 64, 64]", .min = 1, .max = 4096,
    .help = "hidden layer widths" },
  { .path = "model.activation", .type = TESS_KEY_STRING, .default_toml = "\"tanh\"",
    .choices = "tanh|sin|softplus|gelu", .help = "activation of the hidden layers" },
  { .path = "model.dtype", .type = TESS_KEY_STRING, .default_toml = "\"f64\"", .choices = "f64|f32",
    .help = "precision of jets and adjoints (optimizers are always f64)" },
  { .path = "model.init", .type = TESS_KEY_STRING, .default_toml = "\"glorot\"", .choices = "glorot|he",
    .help = "weight initialisation (counter RNG keyed by parameter index, seed run.seed)" },
  { .path = "model.outputs", .type = TESS_KEY_STRING_ARRAY, .default_toml = "[\"psi\"]",
    .help = "names of the network outputs in expressions" },
  { .path = "pde.inputs", .type = TESS_KEY_STRING_ARRAY, .default_toml = "[\"x\", \"y\"]",
    .help = "names of the coordinates (2-D box)" },
  { .path = "pde.lo", .type = TESS_KEY_FLOAT_ARRAY, .default_toml = "[0.0, 0.0]", .help = "box lower corner" },
  { .path = "pde.hi", .type = TESS_KEY_FLOAT_ARRAY, .default_toml = "[1.0, 1.0]", .help = "box upper corner" },
  { .path = "pde.definitions", .type = TESS_KEY_STRING_ARRAY, .default_toml = "[]",
    .help = "\"name = expression\" lines, in order (constants, fields, forcing)" },
  { .path = "pde.residuals", .type = TESS_KEY_STRING_ARRAY,
    .help = "interior residual expressions (loss: weight * sum of squares)" },
  { .path = "pde.points", .type = TESS_KEY_INT, .default_toml = "4096", .min = 1, .max = 1e9,
    .help = "interior collocation points (uniform, counter RNG)" },
  { .path = "pde.weight", .type = TESS_KEY_FLOAT, .default_toml = "1.0", .min = 0, .max = INFINITY,
    .help = "interior loss weight (use 1/points for a mean)" },
  { .path = "boundary.residuals", .type = TESS_KEY_STRING_ARRAY, .default_toml = "[]",
    .help = "boundary residual expressions (empty: no boundary loss)" },
  { .path = "boundary.points", .type = TESS_KEY_INT, .default_toml = "512", .min = 1, .max = 1e9,
    .help = "boundary points (uniform by arc length)" },
  { .path = "boundary.weight", .type = TESS_KEY_FLOAT, .default_toml = "1.0", .min = 0, .max = INFINITY,
    .help = "boundary loss weight" },
  { .path = "run.device", .type = TESS_KEY_STRING, .default_toml = "\"cpu\"", .choices = "auto|cpu|cuda",
    .help = "where the network's jets, adjoints and gradient products run: cpu, cuda (CUDA + cuBLAS build, a "
            "GPU per rank; bitwise the same at any rank count on one GPU model, within rounding of cpu), auto "
            "(cuda where every rank sees a GPU)" },
  { .path = "train.chunk", .type = TESS_KEY_INT, .default_toml = "0", .min = 0, .max = 65536,
    .help = "points per chunk (0: auto, from the network and residuals only): defines the bits "
            "of the result, never the rank count" },
  { .path = "train.adam_steps", .type = TESS_KEY_INT, .default_toml = "1000", .min = 0, .max = 1e9,
    .help = "Adam steps (first phase)" },
  { .path = "train.lr", .type = TESS_KEY_FLOAT, .default_toml = "1e-3", .min = 0, .max = 10,
    .help = "Adam learning rate" },
  { .path = "train.schedule", .type = TESS_KEY_STRING, .default_toml = "\"cosine\"",
    .choices = "constant|exponential|cosine", .help = "learning-rate schedule" },
  { .path = "train.lr_min", .type = TESS_KEY_FLOAT, .default_toml = "1e-5", .min = 0, .max = 10,
    .help = "cosine: final learning rate" },
  { .path = "train.decay_rate", .type = TESS_KEY_FLOAT, .default_toml = "0.1", .min = 0, .max = 1,
    .help = "exponential: factor per decay_steps" },
  { .path = "train.decay_steps", .type = TESS_KEY_FLOAT, .default_toml = "1000", .min = 1, .max = 1e12,
    .help = "exponential: steps per decay_rate" },
  { .path = "train.lbfgs_steps", .type = TESS_KEY_INT, .default_toml = "500", .min = 0, .max = 1e9,
    .help = "L-BFGS iterations (second phase)" },
  { .path = "train.lbfgs_history", .type = TESS_KEY_INT, .default_toml = "20", .min = 1, .max = 1000,
    .help = "L-BFGS memory" },
  { .path = "train.line_search", .type = TESS_KEY_STRING, .default_toml = "\"strong_wolfe\"",
    .choices = "strong_wolfe|backtracking", .help = "L-BFGS line search" },
  { .path = "train.log_every", .type = TESS_KEY_INT, .default_toml = "100", .min = 1, .max = 1e9,
    .help = "loss history: print every N steps (every step goes to loss_history.csv)" },
  { .path = "report.fields", .type = TESS_KEY_STRING_ARRAY, .default_toml = "[]",
    .help = "expressions to compare (e.g. \"grad(psi,y)\")" },
  { .path = "report.exact", .type = TESS_KEY_STRING_ARRAY, .default_toml = "[]",
    .help = "reference expressions of the coordinates, one per field" },
  { .path = "report.names", .type = TESS_KEY_STRING_ARRAY, .default_toml = "[]",
    .help = "names of the fields in the report" },
  { .path = "report.grid", .type = TESS_KEY_INT_ARRAY, .default_toml = "[101, 101]", .min = 2, .max = 4096,
    .help = "evaluation grid (nx, ny) for errors and the PNG" },
};

static const tess_deck_schema_t pinn_schema = {
  "pinn", "physics-informed network: residuals from the deck, exact adjoints, Adam then L-BFGS",
  pinn_keys, sizeof pinn_keys / sizeof pinn_keys[0], 0   /* resumes: --restart, checkpoint.* */
};

typedef struct {
  int64_t hidden[64];
  size_t nhidden;
  const char *outs[8], *ins[8], *defs[MAXS], *res[MAXS], *bres[MAXS];
  size_t nouts, nins, ndefs, nres, nbres;
  double lo[8], hi[8];
  size_t nlo, nhi;
  const char *fields[MAXS], *exact[MAXS], *names[MAXS];
  size_t nfields, nexact, nnames;
  int64_t grid[2];
  size_t ngrid;
} cfg_t;

static tess_err_t read_cfg(const tess_deck_t *d, cfg_t *c)
{
  tess_err_t err = TESS_OK;
  memset(c, 0, sizeof *c);
  TESS_CHECK(tess_deck_get_int_array(d, "model.hidden", c->hidden, 64, &c->nhidden));
  TESS_CHECK(tess_deck_get_string_array(d, "model.outputs", c->outs, 8, &c->nouts));
  TESS_CHECK(tess_deck_get_string_array(d, "pde.inputs", c->ins, 8, &c->nins));
  TESS_CHECK(tess_deck_get_double_array(d, "pde.lo", c->lo, 8, &c->nlo));
  TESS_CHECK(tess_deck_get_double_array(d, "pde.hi", c->hi, 8, &c->nhi));
  TESS_CHECK(tess_deck_get_string_array(d, "pde.definitions", c->defs, MAXS, &c->ndefs));
  TESS_CHECK(tess_deck_get_string_array(d, "pde.residuals", c->res, MAXS, &c->nres));
  TESS_CHECK(tess_deck_get_string_array(d, "boundary.residuals", c->bres, MAXS, &c->nbres));
  TESS_CHECK(tess_deck_get_string_array(d, "report.fields", c->fields, MAXS, &c->nfields));
  TESS_CHECK(tess_deck_get_string_array(d, "report.exact", c->exact, MAXS, &c->nexact));
  TESS_CHECK(tess_deck_get_string_array(d, "report.names", c->names, MAXS, &c->nnames));
  TESS_CHECK(tess_deck_get_int_array(d, "report.grid", c->grid, 2, &c->ngrid));
cleanup:
  return err;
}

/* The expression error on the stack, restated as one deck error that names
 * the file, line, key and entry (the parser's message says the column). */
static tess_err_t expr_key_error(const tess_deck_t *d, const char *key, size_t k, const char *text)
{
  char msg[512];
  snprintf(msg, sizeof msg, "%s", tess_error_message());
  tess_error_clear();
  return tess_deck_key_error(d, key, "entry %zu '%s': %s", k + 1, text, msg);
}

/* Every expression of the deck parsed and resolved against a stand-in
 * network with the deck's inputs and outputs (the widths do not matter to an
 * expression), so a typo is a deck error before any work, also in --dry-run. */
static tess_err_t check_exprs(const tess_deck_t *d, const cfg_t *c)
{
  tess_err_t err = TESS_OK;
  tess_mlp_t *m = NULL;
  tess_pinn_t *p = NULL;
  int w[3] = { 2, 1, (int)c->nouts };
  const struct { const char *key; const char *const *e; size_t n; } lists[] = {
    { "pde.residuals", c->res, c->nres }, { "boundary.residuals", c->bres, c->nbres },
    { "report.fields", c->fields, c->nfields }, { "report.exact", c->exact, c->nexact },
  };
  TESS_CHECK(tess_mlp_create(2, w, TESS_ACT_TANH, TESS_F64, &m));
  TESS_CHECK(tess_pinn_create(m, c->ins, c->outs, &p));
  for (size_t k = 0; k < c->ndefs; k++)
    if (tess_pinn_define_line(p, c->defs[k])) {
      err = expr_key_error(d, "pde.definitions", k, c->defs[k]);
      goto cleanup;
    }
  for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
    for (size_t k = 0; k < lists[l].n; k++)
      if (tess_pinn_check_expr(p, lists[l].e[k])) {
        err = expr_key_error(d, lists[l].key, k, lists[l].e[k]);
        goto cleanup;
      }
cleanup:
  tess_pinn_destroy(&p);
  tess_mlp_destroy(&m);
  return err;
}

static tess_err_t pinn_check(const tess_deck_t *d)
{
  tess_err_t err = TESS_OK;
  cfg_t c;
  TESS_CHECK(read_cfg(d, &c));
  if (c.nins != 2) return tess_deck_key_error(d, "pde.inputs", "expected 2 coordinate names, got %zu", c.nins);
  if (c.nlo != 2 || c.nhi != 2 || !(c.lo[0] < c.hi[0] && c.lo[1] < c.hi[1]))
    return tess_deck_key_error(d, "pde.hi", "expected lo = [x0, y0] < hi = [x1, y1]");
  if (c.nres == 0) return tess_deck_key_error(d, "pde.residuals", "at least one residual expression");
  if (c.nhidden == 0) return tess_deck_key_error(d, "model.hidden", "at least one hidden layer");
  if (c.nouts == 0) return tess_deck_key_error(d, "model.outputs", "at least one output name");
  if (c.nexact != c.nfields || (c.nnames && c.nnames != c.nfields))
    return tess_deck_key_error(d, "report.exact", "one exact expression (and name) per report field: "
                               "%zu fields, %zu exact, %zu names", c.nfields, c.nexact, c.nnames);
  if (c.ngrid != 2) return tess_deck_key_error(d, "report.grid", "expected [nx, ny]");
  TESS_CHECK(check_exprs(d, &c));
cleanup:
  return err;
}

/* Progress lines through the app's tess_progress (rank 0). */
static void on_progress(int64_t first, int64_t done, int64_t total, int end, void *ctx)
{
  tess_progress_t *pr = ctx;
  if (pr->what == NULL) {      /* first call: the restart step is known now */
    pr->what = "pinn";
    pr->first = (long)first;
    pr->total = (long)total;
  }
  if (end) tess_progress_end(pr, (long)done);
  else tess_progress_step(pr, (long)done);
}

static void on_signal_checkpoint(const char *path, int committed, void *ctx)
{
  (void)ctx;
  tess_study_checkpoint_note(path, committed);
}

/* --resume: the newest committed checkpoint in the deck's checkpoint.dir
 * becomes the restart file (into path[cap]); none: start at step 0.
 * Collective. */
static tess_err_t find_resume(tess_pinn_run_opts_t *o, char *path, size_t cap)
{
  tess_err_t err = TESS_OK;
  tess_checkpoint_policy_t pol = { .dir = o->checkpoint.dir, .prefix = o->checkpoint.prefix };
  int found = 0;
  TESS_CHECK(tess_study_find_resume("pinn", &pol, path, cap, &found));
  if (found) o->restart = path;
cleanup:
  return err;
}

static tess_err_t pinn_run(const tess_deck_t *d, const tess_study_opts_t *opts)
{
  tess_err_t err = TESS_OK;
  cfg_t c;
  int rank = 0, nranks = 1, hidden[64];
  int64_t seed = 1, chunk = 0, hist = 20, ckpt_every = 0, keep = 2;
  const char *act_s, *dt_s, *init_s, *sched_s, *ls_s, *dev_s;
  tess_mesh_t *mesh = NULL;
  tess_pinn_run_opts_t o;
  tess_progress_t prog;
  static char latest[4096];   /* --resume's checkpoint: o.restart points here */

  memset(&o, 0, sizeof o);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  TESS_CHECK(read_cfg(d, &c));
  TESS_CHECK(tess_deck_get_int(d, "run.seed", &seed));
  TESS_CHECK(tess_deck_get_string(d, "run.output_dir", &o.output_dir));
  TESS_CHECK(tess_deck_get_string(d, "model.activation", &act_s));
  TESS_CHECK(tess_deck_get_string(d, "model.dtype", &dt_s));
  TESS_CHECK(tess_deck_get_string(d, "model.init", &init_s));
  TESS_CHECK(tess_deck_get_int(d, "pde.points", &o.points));
  TESS_CHECK(tess_deck_get_double(d, "pde.weight", &o.weight));
  TESS_CHECK(tess_deck_get_int(d, "boundary.points", &o.bpoints));
  TESS_CHECK(tess_deck_get_double(d, "boundary.weight", &o.bweight));
  TESS_CHECK(tess_deck_get_int(d, "train.chunk", &chunk));
  TESS_CHECK(tess_deck_get_string(d, "run.device", &dev_s));
  TESS_CHECK(tess_pinn_device_parse(dev_s, &o.device));
  TESS_CHECK(tess_deck_get_int(d, "train.adam_steps", &o.adam_steps));
  TESS_CHECK(tess_deck_get_int(d, "train.lbfgs_steps", &o.lbfgs_steps));
  TESS_CHECK(tess_deck_get_int(d, "train.lbfgs_history", &hist));
  TESS_CHECK(tess_deck_get_string(d, "train.schedule", &sched_s));
  TESS_CHECK(tess_deck_get_string(d, "train.line_search", &ls_s));
  TESS_CHECK(tess_deck_get_int(d, "train.log_every", &o.log_every));
  TESS_CHECK(tess_deck_get_int(d, "checkpoint.every_steps", &ckpt_every));
  TESS_CHECK(tess_deck_get_double(d, "checkpoint.every_seconds", &o.checkpoint.every_seconds));
  TESS_CHECK(tess_deck_get_int(d, "checkpoint.keep", &keep));
  TESS_CHECK(tess_deck_get_string(d, "checkpoint.dir", &o.checkpoint.dir));
  TESS_CHECK(tess_act_parse(act_s, &o.act));
  TESS_CHECK(tess_dtype_parse(dt_s, &o.dtype));
  for (size_t k = 0; k < c.nhidden; k++) hidden[k] = (int)c.hidden[k];
  o.nhidden = (int)c.nhidden;
  o.hidden = hidden;
  o.init = strcmp(init_s, "he") == 0 ? TESS_INIT_HE : TESS_INIT_GLOROT;
  o.nouts = (int)c.nouts;
  o.outs = c.outs;
  o.inputs[0] = c.ins[0];
  o.inputs[1] = c.ins[1];
  o.lo[0] = c.lo[0]; o.lo[1] = c.lo[1];
  o.hi[0] = c.hi[0]; o.hi[1] = c.hi[1];
  o.ndefs = (int)c.ndefs;
  o.defs = c.defs;
  o.nres = (int)c.nres;
  o.res = c.res;
  o.nbres = (int)c.nbres;
  o.bres = c.bres;
  o.chunk = (int)chunk;
  tess_adam_opts_default(&o.adam);
  TESS_CHECK(tess_deck_get_double(d, "train.lr", &o.adam.lr));
  TESS_CHECK(tess_deck_get_double(d, "train.lr_min", &o.adam.lr_min));
  TESS_CHECK(tess_deck_get_double(d, "train.decay_rate", &o.adam.decay_rate));
  TESS_CHECK(tess_deck_get_double(d, "train.decay_steps", &o.adam.decay_steps));
  TESS_CHECK(tess_sched_parse(sched_s, &o.adam.schedule));
  tess_lbfgs_opts_default(&o.lbfgs);
  o.lbfgs.history = (int)hist;
  o.lbfgs.line_search = strcmp(ls_s, "backtracking") == 0 ? TESS_LS_BACKTRACKING : TESS_LS_STRONG_WOLFE;
  o.seed = (uint64_t)seed;
  o.nfields = (int)c.nfields;
  o.fields = c.fields;
  o.exact = c.exact;
  o.names = c.nnames ? c.names : NULL;
  o.grid[0] = (int)c.grid[0];
  o.grid[1] = (int)c.grid[1];
  o.checkpoint.prefix = "pinn";
  o.checkpoint.keep = (int)keep;
  o.checkpoint.every_steps = ckpt_every;
  o.restart = opts ? opts->restart : NULL;
  o.deck_text = tess_deck_text(d);
  if (opts && opts->resume && !opts->dry_run) TESS_CHECK(find_resume(&o, latest, sizeof latest));

  if (opts && opts->dry_run) {
    if (rank == 0) {
      printf("pinn: MLP 2");
      for (int l = 0; l < o.nhidden; l++) printf("->%d", hidden[l]);
      printf("->%d", o.nouts);
      char cs[32];
      if (chunk) snprintf(cs, sizeof cs, "%lld", (long long)chunk);
      else snprintf(cs, sizeof cs, "auto");
      printf(" %s %s; %lld interior + %lld boundary points in chunks of %s over %d rank%s; "
             "%lld Adam + %lld L-BFGS steps; device %s\n", act_s, dt_s, (long long)o.points,
             (long long)(c.nbres ? o.bpoints : 0), cs, nranks, nranks == 1 ? "" : "s",
             (long long)o.adam_steps, (long long)o.lbfgs_steps, dev_s);
    }
    goto cleanup;
  }
  /* "pinn: step 40/300  12.3 steps/s  ETA 21 s" every run.progress_seconds */
  tess_progress_start(&prog, d, "pinn", 0);
  prog.what = NULL;            /* set on the first callback */
  o.progress = on_progress;
  o.progress_ctx = &prog;
  o.signal_checkpoint = on_signal_checkpoint;   /* status.toml, the last lines */
  {
    const char *ax[1] = { "dp" };   /* data parallel over every rank */
    TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, ax, &nranks, &mesh));
  }
  TESS_CHECK(tess_pinn_run(mesh, "dp", &o));
cleanup:
  tess_mesh_destroy(&mesh);
  return err;
}

const tess_study_t tess_study_pinn = { "pinn", &pinn_schema, pinn_run, pinn_check, 0 };

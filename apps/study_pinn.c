/* apps/study_pinn.c: the `pinn` study: train a physics-informed network whose
 * PDE, boundary conditions and reference solution are written in the deck
 * as expressions (grammar: docs/pinn.md), report relative L2 errors against
 * the reference on a grid, the loss history, timings and a PNG
 * (predicted | exact | error), with checkpoint/restart of parameters and
 * optimizer state. Collocation chunks are distributed over all ranks (the
 * `dp` axis); any rank count gives the same bits (tess_pinn_loss_grad), so
 * a restart on another rank count continues the same trajectory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/checkpoint.h>
#include <tessera/fs.h>
#include <tessera/deck.h>
#include <tessera/image.h>
#include <tessera/log.h>
#include <tessera/pinn.h>
#include <tessera/signal.h>
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
  for (size_t k = 0; k < c.ndefs; k++)
    if (!strchr(c.defs[k], '='))
      return tess_deck_key_error(d, "pde.definitions", "entry %zu '%s': expected \"name = expression\"",
                                 k + 1, c.defs[k]);
cleanup:
  return err;
}

/* Definitions "name = expr" one by one; messages name the deck entry. */
static tess_err_t define_all(tess_pinn_t *p, const tess_deck_t *d, const cfg_t *c)
{
  tess_err_t err = TESS_OK;
  for (size_t k = 0; k < c->ndefs; k++) {
    char name[64];
    const char *eq = strchr(c->defs[k], '=');
    size_t a = 0, b = (size_t)(eq - c->defs[k]);
    while (a < b && c->defs[k][a] == ' ') a++;
    while (b > a && c->defs[k][b - 1] == ' ') b--;
    TESS_REQUIRE(b > a && b - a < sizeof name, TESS_ERR_DECK, "%s: pde.definitions entry %zu: no name "
                 "before '='", tess_deck_path(d), k + 1);
    memcpy(name, c->defs[k] + a, b - a);
    name[b - a] = 0;
    tess_err_t e = tess_pinn_define(p, name, eq + 1);
    if (e) {
      err = tess_error_push(TESS_ERR_DECK, __FILE__, __LINE__, __func__,
                            "%s: pde.definitions entry %zu ('%s')", tess_deck_path(d), k + 1, name);
      goto cleanup;
    }
  }
cleanup:
  return err;
}

typedef struct {
  tess_pinn_box_t in, bd;
} boxes_t;

static tess_err_t save_ckpt(tess_checkpoint_manager_t *mgr, const tess_deck_t *d, int64_t step,
                            uint64_t seed, const double *th, size_t n, const tess_adam_t *adam,
                            const tess_lbfgs_t *lb, char *path_out, int on_signal)
{
  tess_err_t err = TESS_OK;
  tess_checkpoint_t *ck = NULL;
  double *st = NULL;
  size_t na = tess_adam_state_size(adam), nl = tess_lbfgs_state_size(lb);
  st = malloc((na > nl ? na : nl) * sizeof *st);
  TESS_REQUIRE(st, TESS_ERR_MEM, "optimizer state");
  TESS_CHECK(tess_checkpoint_manager_begin(mgr, step, &ck));
  if (path_out) snprintf(path_out, 512, "%s", tess_checkpoint_path(ck));
  if (on_signal) tess_study_checkpoint_note(path_out, 0);
  tess_checkpoint_meta_t meta = { .study = "pinn", .deck_text = tess_deck_text(d), .step = step,
                                  .rng_seed = seed };
  TESS_CHECK(tess_checkpoint_set_meta(ck, &meta));
  TESS_CHECK(tess_checkpoint_write_f64(ck, "pinn/theta", th, n));
  TESS_CHECK(tess_adam_state_get(adam, st));
  TESS_CHECK(tess_checkpoint_write_f64(ck, "pinn/adam", st, na));
  TESS_CHECK(tess_lbfgs_state_get(lb, st));
  TESS_CHECK(tess_checkpoint_write_f64(ck, "pinn/lbfgs", st, nl));
  TESS_CHECK(tess_checkpoint_commit(&ck));
  if (on_signal) tess_study_checkpoint_note(path_out, 1);
cleanup:
  tess_checkpoint_close(&ck);
  free(st);
  return err;
}

/* One report-grid field of pinn_fields.h5 as dataset fields/<name>_<what>,
 * shape (ny, nx) with row 0 at y = lo (the grid below has row 0 at the top,
 * for the PNG); replicated, so each value is written once. */
static tess_err_t put_field(tess_checkpoint_t *ck, tess_array_t *a, const char *name,
                            const char *what, const double *v, int nx, int ny)
{
  char ds[160];
  double *dst = tess_array_local_data(a);
  for (int j = 0; j < ny; j++) memcpy(dst + (size_t)j * nx, v + (size_t)(ny - 1 - j) * nx, nx * sizeof *v);
  snprintf(ds, sizeof ds, "fields/%s_%s", name, what);
  return tess_checkpoint_write_array(ck, ds, a);
}

static tess_err_t pinn_run(const tess_deck_t *d, const tess_study_opts_t *opts)
{
  tess_err_t err = TESS_OK;
  cfg_t c;
  int rank = 0, nranks = 1;
  int64_t seed = 1, npts = 0, nbpts = 0, chunk = 0, adam_steps = 0, lbfgs_steps = 0, hist = 20,
          log_every = 100, ckpt_every = 0, keep = 2;
  double w_in = 1, w_bd = 1, ckpt_secs = 0;
  const char *act_s, *dt_s, *init_s, *sched_s, *ls_s, *outdir, *ckdir;
  tess_act_t act;
  tess_dtype_t dt;
  tess_mlp_t *m = NULL;
  tess_pinn_t *p = NULL;
  tess_adam_t *adam = NULL;
  tess_lbfgs_t *lb = NULL;
  tess_checkpoint_manager_t *mgr = NULL;
  tess_checkpoint_t *rck = NULL, *fck = NULL;   /* fck: pinn_fields.h5 */
  tess_mesh_t *fmesh = NULL;
  tess_array_t *fa = NULL;
  double *th = NULL, *g = NULL, *st = NULL, *xg = NULL, *pred = NULL, *ex = NULL, *errf = NULL;
  FILE *hf = NULL;
  int widths[66];
  boxes_t bx;
  char path[1024];

  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &nranks);
  TESS_CHECK(read_cfg(d, &c));
  TESS_CHECK(tess_deck_get_int(d, "run.seed", &seed));
  TESS_CHECK(tess_deck_get_string(d, "run.output_dir", &outdir));
  TESS_CHECK(tess_deck_get_string(d, "model.activation", &act_s));
  TESS_CHECK(tess_deck_get_string(d, "model.dtype", &dt_s));
  TESS_CHECK(tess_deck_get_string(d, "model.init", &init_s));
  TESS_CHECK(tess_deck_get_int(d, "pde.points", &npts));
  TESS_CHECK(tess_deck_get_double(d, "pde.weight", &w_in));
  TESS_CHECK(tess_deck_get_int(d, "boundary.points", &nbpts));
  TESS_CHECK(tess_deck_get_double(d, "boundary.weight", &w_bd));
  TESS_CHECK(tess_deck_get_int(d, "train.chunk", &chunk));
  TESS_CHECK(tess_deck_get_int(d, "train.adam_steps", &adam_steps));
  TESS_CHECK(tess_deck_get_int(d, "train.lbfgs_steps", &lbfgs_steps));
  TESS_CHECK(tess_deck_get_int(d, "train.lbfgs_history", &hist));
  TESS_CHECK(tess_deck_get_string(d, "train.schedule", &sched_s));
  TESS_CHECK(tess_deck_get_string(d, "train.line_search", &ls_s));
  TESS_CHECK(tess_deck_get_int(d, "train.log_every", &log_every));
  TESS_CHECK(tess_deck_get_int(d, "checkpoint.every_steps", &ckpt_every));
  TESS_CHECK(tess_deck_get_double(d, "checkpoint.every_seconds", &ckpt_secs));
  TESS_CHECK(tess_deck_get_int(d, "checkpoint.keep", &keep));
  TESS_CHECK(tess_deck_get_string(d, "checkpoint.dir", &ckdir));
  TESS_CHECK(tess_act_parse(act_s, &act));
  TESS_CHECK(tess_dtype_parse(dt_s, &dt));
  int nl = (int)c.nhidden + 1;
  widths[0] = 2;
  for (size_t k = 0; k < c.nhidden; k++) widths[k + 1] = (int)c.hidden[k];
  widths[nl] = (int)c.nouts;

  tess_adam_opts_t ao;
  tess_adam_opts_default(&ao);
  TESS_CHECK(tess_deck_get_double(d, "train.lr", &ao.lr));
  TESS_CHECK(tess_deck_get_double(d, "train.lr_min", &ao.lr_min));
  TESS_CHECK(tess_deck_get_double(d, "train.decay_rate", &ao.decay_rate));
  TESS_CHECK(tess_deck_get_double(d, "train.decay_steps", &ao.decay_steps));
  TESS_CHECK(tess_sched_parse(sched_s, &ao.schedule));
  ao.total_steps = adam_steps;
  tess_lbfgs_opts_t lo;
  tess_lbfgs_opts_default(&lo);
  lo.history = (int)hist;
  lo.line_search = strcmp(ls_s, "backtracking") == 0 ? TESS_LS_BACKTRACKING : TESS_LS_STRONG_WOLFE;

  if (opts && opts->dry_run) {
    if (rank == 0) {
      printf("pinn: MLP 2");
      for (int l = 1; l <= nl; l++) printf("->%d", widths[l]);
      char cs[32];
      if (chunk) snprintf(cs, sizeof cs, "%lld", (long long)chunk);
      else snprintf(cs, sizeof cs, "auto");
      printf(" %s %s; %lld interior + %lld boundary points in chunks of %s over %d ranks; "
             "%lld Adam + %lld L-BFGS steps\n", act_s, dt_s, (long long)npts,
             (long long)(c.nbres ? nbpts : 0), cs, nranks, (long long)adam_steps,
             (long long)lbfgs_steps);
    }
    goto cleanup;
  }

  TESS_CHECK(tess_mlp_create(nl, widths, act, dt, &m));
  TESS_CHECK(tess_mlp_init(m, strcmp(init_s, "he") == 0 ? TESS_INIT_HE : TESS_INIT_GLOROT, (uint64_t)seed));
  TESS_CHECK(tess_pinn_create(m, c.ins, c.outs, &p));
  TESS_CHECK(define_all(p, d, &c));
  bx.in = (tess_pinn_box_t){ .din = 2, .lo = { c.lo[0], c.lo[1] }, .hi = { c.hi[0], c.hi[1] },
                             .seed = (uint64_t)seed, .stream = 101 };
  bx.bd = bx.in;
  bx.bd.stream = 102;
  TESS_CHECK(tess_pinn_set_chunk(p, (int)chunk));
  TESS_CHECK(tess_pinn_add_set(p, "interior", npts, tess_pinn_box_interior, &bx.in, w_in, (int)c.nres, c.res));
  if (c.nbres)
    TESS_CHECK(tess_pinn_add_set(p, "boundary", nbpts, tess_pinn_box_boundary, &bx.bd, w_bd, (int)c.nbres, c.bres));
  TESS_CHECK(tess_pinn_setup(p, MPI_COMM_WORLD));
  size_t n = tess_pinn_nparams(p);
  th = malloc(n * sizeof *th);
  g = malloc(n * sizeof *g);
  TESS_REQUIRE(th && g, TESS_ERR_MEM, "%zu parameters", n);
  TESS_CHECK(tess_mlp_get_params(m, th));
  TESS_CHECK(tess_adam_create(n, &ao, &adam));
  TESS_CHECK(tess_lbfgs_create(n, &lo, &lb));

  int64_t step0 = 0;
  if (opts && opts->restart) {
    tess_checkpoint_meta_t meta;
    TESS_CHECK(tess_checkpoint_open(MPI_COMM_WORLD, opts->restart, &rck));
    TESS_CHECK(tess_checkpoint_check_study(rck, "pinn"));
    TESS_CHECK(tess_checkpoint_get_meta(rck, &meta));
    step0 = meta.step;
    size_t na = tess_adam_state_size(adam), nlb = tess_lbfgs_state_size(lb);
    st = malloc((na > nlb ? na : nlb) * sizeof *st);
    TESS_REQUIRE(st, TESS_ERR_MEM, "optimizer state");
    TESS_CHECK(tess_checkpoint_read_f64(rck, "pinn/theta", th, n));
    TESS_CHECK(tess_checkpoint_read_f64(rck, "pinn/adam", st, na));
    TESS_CHECK(tess_adam_state_set(adam, st));
    TESS_CHECK(tess_checkpoint_read_f64(rck, "pinn/lbfgs", st, nlb));
    TESS_CHECK(tess_lbfgs_state_set(lb, st));
    tess_checkpoint_close(&rck);
    if (rank == 0) printf("pinn: restarted from %s at step %lld on %d ranks\n", opts->restart,
                          (long long)step0, nranks);
  }
  TESS_CHECK(tess_mkdir_all(MPI_COMM_WORLD, outdir, "run.output_dir"));
  if (rank == 0) {
    snprintf(path, sizeof path, "%s/loss_history.csv", outdir);
    hf = fopen(path, step0 ? "a" : "w");
    TESS_REQUIRE(hf, TESS_ERR_IO, "cannot write %s", path);
    if (!step0) fprintf(hf, "step,phase,loss,interior,boundary\n");
  }
  tess_checkpoint_policy_t pol = { .dir = ckdir, .prefix = "pinn", .keep = (int)keep,
                                   .every_steps = ckpt_every, .every_seconds = ckpt_secs };
  TESS_CHECK(tess_checkpoint_manager_create(MPI_COMM_WORLD, &pol, &mgr));
  TESS_CHECK(tess_signal_install());

  const int64_t total = adam_steps + lbfgs_steps;
  double f = 0, f_first = NAN, t0 = tess_wtime(), t_adam = 0;
  int have_fg = 0, stalled = 0, interrupted = 0;
  for (int64_t s = step0; s < total && !stalled; s++) {
    if (s < adam_steps) {
      TESS_CHECK(tess_pinn_loss_grad(p, th, &f, g));
      TESS_CHECK(tess_adam_step(adam, th, g));
      if (s + 1 == adam_steps) t_adam = tess_wtime() - t0;
    } else {
      if (!have_fg) { TESS_CHECK(tess_pinn_loss_grad(p, th, &f, g)); have_fg = 1; }
      tess_err_t e = tess_lbfgs_step(lb, tess_pinn_objective, p, th, &f, g, NULL);
      if (e == TESS_ERR_NUMERIC) {
        tess_error_clear();
        stalled = 1;
        if (rank == 0) printf("pinn: L-BFGS stalled at step %lld (no decrease): stopping\n", (long long)s);
      } else {
        TESS_CHECK(e);
      }
    }
    if (isnan(f_first)) f_first = f;
    double sl[2] = { 0, 0 };
    int ns = 0;
    TESS_CHECK(tess_pinn_set_losses(p, sl, 2, &ns));
    if (rank == 0) {
      fprintf(hf, "%lld,%s,%.17g,%.17g,%.17g\n", (long long)s + 1, s < adam_steps ? "adam" : "lbfgs", f,
              sl[0], sl[1]);
      if ((s + 1) % log_every == 0 || s + 1 == total)
        printf("pinn: step %lld/%lld %s loss %.6e (interior %.3e boundary %.3e) %.1f s\n",
               (long long)s + 1, (long long)total, s < adam_steps ? "adam " : "lbfgs", f, sl[0], sl[1],
               tess_wtime() - t0);
    }
    /* The safe point, once per step: a signal seen here is checkpointed
     * here, before stopping (checking it a second time after the save let
     * a signal arriving in between stop the run with no checkpoint). */
    int due = 0, pending = 0;
    TESS_CHECK(tess_signal_pending(MPI_COMM_WORLD, &pending));
    if (!pending) TESS_CHECK(tess_checkpoint_manager_due(mgr, s + 1, &due));
    if (pending || due || s + 1 == total || stalled) {
      char cpath[512] = "";
      TESS_CHECK(save_ckpt(mgr, d, s + 1, (uint64_t)seed, th, n, adam, lb, cpath, pending));
      if (rank == 0 && (due || stalled || pending)) printf("pinn: checkpoint %s\n", cpath);
    }
    if (pending) { interrupted = 1; break; }
  }
  double t_train = tess_wtime() - t0;
  if (hf) { fclose(hf); hf = NULL; }
  if (interrupted) {
    if (rank == 0) printf("pinn: stopped by a signal after writing a checkpoint\n");
    err = TESS_ERR_INTERRUPTED;
    goto cleanup;
  }

  /* ---- report: errors on a grid, PNG ---- */
  TESS_CHECK(tess_mlp_set_params(m, th));
  const int NX = (int)c.grid[0], NY = (int)c.grid[1];
  size_t NG = (size_t)NX * NY;
  xg = malloc(2 * NG * sizeof *xg);
  pred = malloc(NG * sizeof *pred);
  ex = malloc(NG * sizeof *ex);
  errf = malloc(NG * sizeof *errf);
  TESS_REQUIRE(xg && pred && ex && errf, TESS_ERR_MEM, "report grid %dx%d", NX, NY);
  for (int j = 0; j < NY; j++)           /* image row 0 at the top: y decreasing */
    for (int i = 0; i < NX; i++) {
      xg[2 * ((size_t)j * NX + i)] = c.lo[0] + (c.hi[0] - c.lo[0]) * i / (NX - 1);
      xg[2 * ((size_t)j * NX + i) + 1] = c.hi[1] - (c.hi[1] - c.lo[1]) * j / (NY - 1);
    }
  double t_ev = tess_wtime();
  {
    const char *ax[1] = { "dp" };
    int64_t sh[2] = { NY, NX };
    tess_shardspec_t rs = { .ndim = 2, .axis = { TESS_REPLICATED, TESS_REPLICATED } };
    tess_checkpoint_meta_t meta = { .study = "pinn", .deck_text = tess_deck_text(d), .step = total,
                                    .rng_seed = (uint64_t)seed };
    TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, ax, &nranks, &fmesh));
    TESS_CHECK(tess_array_create(fmesh, TESS_F64, 2, sh, &rs, TESS_MEM_HOST, &fa));
    snprintf(path, sizeof path, "%s/pinn_fields.h5", outdir);
    TESS_CHECK(tess_checkpoint_begin(MPI_COMM_WORLD, path, &fck));
    TESS_CHECK(tess_checkpoint_set_meta(fck, &meta));
    /* All collective writes before the loop below, whose rank-0-only PNG
     * writes may fail on rank 0 alone: evaluating twice is cheap. */
    for (size_t k = 0; k < c.nfields; k++) {
      const char *nm = c.nnames ? c.names[k] : c.fields[k];
      TESS_CHECK(tess_pinn_eval(p, c.fields[k], NG, xg, pred));
      TESS_CHECK(tess_pinn_eval(p, c.exact[k], NG, xg, ex));
      for (size_t q = 0; q < NG; q++) errf[q] = pred[q] - ex[q];
      TESS_CHECK(put_field(fck, fa, nm, "predicted", pred, NX, NY));
      TESS_CHECK(put_field(fck, fa, nm, "exact", ex, NX, NY));
      TESS_CHECK(put_field(fck, fa, nm, "error", errf, NX, NY));
    }
    TESS_CHECK(tess_checkpoint_commit(&fck));
  }
  if (rank == 0) {
    printf("pinn: MLP 2");
    for (int l = 1; l <= nl; l++) printf("->%d", widths[l]);
    printf(" %s %s, %zu parameters, chunks of %d points, %d ranks, %lld steps (%lld Adam) in %.2f s "
           "(Adam %.2f s, %.2f ms/step)\n",
           act_s, dt_s, n, tess_pinn_chunk(p), nranks, (long long)total, (long long)adam_steps, t_train, t_adam,
           adam_steps ? 1e3 * t_adam / adam_steps : 0.0);
    printf("pinn: final loss %.17g (first %.17g)\n", f, f_first);
  }
  for (size_t k = 0; k < c.nfields; k++) {
    TESS_CHECK(tess_pinn_eval(p, c.fields[k], NG, xg, pred));
    TESS_CHECK(tess_pinn_eval(p, c.exact[k], NG, xg, ex));
    double e2 = 0, n2 = 0;
    for (size_t q = 0; q < NG; q++) {
      errf[q] = pred[q] - ex[q];
      e2 += errf[q] * errf[q];
      n2 += ex[q] * ex[q];
    }
    const char *nm = c.nnames ? c.names[k] : c.fields[k];
    if (rank == 0) {
      printf("pinn: relative L2 error of %s = %.4e  (%s vs %s on a %dx%d grid)\n", nm,
             sqrt(e2 / (n2 > 0 ? n2 : 1)), c.fields[k], c.exact[k], NX, NY);
      const double *panels[3] = { pred, ex, errf };
      double vmin = ex[0], vmax = ex[0];
      for (size_t q = 0; q < NG; q++) {
        if (ex[q] < vmin) vmin = ex[q];
        if (ex[q] > vmax) vmax = ex[q];
      }
      snprintf(path, sizeof path, "%s/pinn_%s.png", outdir, nm);
      TESS_CHECK(tess_image_panels_png(path, 2, panels, NX, NY, vmin, vmax));
      snprintf(path, sizeof path, "%s/pinn_%s_error.png", outdir, nm);
      TESS_CHECK(tess_image_panels_png(path, 1, panels + 2, NX, NY, 0, 0));
      printf("pinn: wrote %s/pinn_%s.png (predicted | exact) and pinn_%s_error.png\n", outdir, nm, nm);
    }
  }
  if (rank == 0) printf("pinn: wrote %s/pinn_fields.h5 (+ XDMF): predicted, exact, error per field\n", outdir);
  if (rank == 0) printf("pinn: report evaluation %.2f s\n", tess_wtime() - t_ev);
cleanup:
  if (hf) fclose(hf);
  tess_checkpoint_close(&fck);
  tess_array_destroy(&fa);
  tess_mesh_destroy(&fmesh);
  tess_checkpoint_close(&rck);
  tess_checkpoint_manager_destroy(&mgr);
  free(th); free(g); free(st); free(xg); free(pred); free(ex); free(errf);
  tess_adam_destroy(&adam);
  tess_lbfgs_destroy(&lb);
  tess_pinn_destroy(&p);
  tess_mlp_destroy(&m);
  return err;
}

const tess_study_t tess_study_pinn = { "pinn", &pinn_schema, pinn_run, pinn_check };

/* pde/pinn_driver.c: tess_pinn_run, the PINN workflow behind the `pinn`
 * study: train a network on residuals written as expressions, report
 * relative L2 errors against reference expressions on a grid, the loss
 * history, timings and PNGs (predicted | exact | error), with checkpoint and
 * restart of parameters and optimizer state. Collocation chunks are spread
 * over the ranks of the `dp` axis; any rank count gives the same bits
 * (tess_pinn_loss_grad), so a restart on another rank count continues the
 * same trajectory. */
#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/comm.h>
#include <tessera/fs.h>
#include <tessera/image.h>
#include <tessera/log.h>
#include <tessera/pinn_driver.h>
#include <tessera/signal.h>
#include "pinn_history.h"

tess_err_t tess_pinn_define_line(tess_pinn_t *p, const char *line)
{
  tess_err_t err = TESS_OK;
  char name[64];
  TESS_REQUIRE(p && line, TESS_ERR_ARG, "NULL argument");
  const char *eq = strchr(line, '=');
  TESS_REQUIRE(eq, TESS_ERR_PARSE, "'%s': expected \"name = expression\"", line);
  size_t a = 0, b = (size_t)(eq - line);
  while (a < b && isspace((unsigned char)line[a])) a++;
  while (b > a && isspace((unsigned char)line[b - 1])) b--;
  TESS_REQUIRE(b > a && b - a < sizeof name, TESS_ERR_PARSE,
               "'%s': no name (of at most %zu characters) before '='", line, sizeof name - 1);
  memcpy(name, line + a, b - a);
  name[b - a] = 0;
  TESS_CHECK(tess_pinn_define(p, name, eq + 1));
cleanup:
  return err;
}

/* ---- restart fingerprint ---------------------------------------------------
 * What a restart must share with the run that wrote the checkpoint: the
 * network (shape, activation, dtype, outputs) and the problem it learns
 * (coordinates, definitions, residuals), one line "key = value" each, keys
 * named as the deck's. Points, weights, schedule and step counts may change
 * between legs. Stored as the root attribute "pinn_fingerprint". */
#define NFP 8
#define FP_CAP 16384
static const char *const fp_keys[NFP] = { "model.hidden", "model.activation", "model.dtype", "model.outputs",
                                          "pde.inputs", "pde.definitions", "pde.residuals",
                                          "boundary.residuals" };

static void fp_put(char *buf, size_t *len, const char *fmt, const char *s)
{
  int r = snprintf(buf + *len, FP_CAP - *len, fmt, s);
  if (r > 0) *len = *len + (size_t)r < FP_CAP ? *len + (size_t)r : FP_CAP - 1;
}

static void fp_strings(char *buf, size_t *len, int n, const char *const *v)
{
  fp_put(buf, len, "%s", "[");
  for (int i = 0; i < n; i++) {
    fp_put(buf, len, "%s", i ? ", '" : "'");
    fp_put(buf, len, "%s'", v[i]);
  }
  fp_put(buf, len, "%s", "]\n");
}

static void fingerprint(const tess_pinn_run_opts_t *o, char *buf)
{
  size_t len = 0;
  char v[32];
  buf[0] = 0;
  fp_put(buf, &len, "%s = [", fp_keys[0]);
  for (int i = 0; i < o->nhidden; i++) {
    snprintf(v, sizeof v, "%s%d", i ? ", " : "", o->hidden[i]);
    fp_put(buf, &len, "%s", v);
  }
  fp_put(buf, &len, "%s", "]\n");
  fp_put(buf, &len, "model.activation = \"%s\"\n", tess_act_name(o->act));
  fp_put(buf, &len, "model.dtype = \"%s\"\n", tess_dtype_name(o->dtype));
  fp_put(buf, &len, "%s = ", fp_keys[3]);
  fp_strings(buf, &len, o->nouts, o->outs);
  fp_put(buf, &len, "%s = ", fp_keys[4]);
  fp_strings(buf, &len, 2, o->inputs);
  fp_put(buf, &len, "%s = ", fp_keys[5]);
  fp_strings(buf, &len, o->ndefs, o->defs);
  fp_put(buf, &len, "%s = ", fp_keys[6]);
  fp_strings(buf, &len, o->nres, o->res);
  fp_put(buf, &len, "%s = ", fp_keys[7]);
  fp_strings(buf, &len, o->nbres, o->bres);
}

/* The checkpoint's fingerprint against this run's: the first differing key
 * is TESS_ERR_DECK naming it and both values. */
static tess_err_t check_fingerprint(tess_checkpoint_t *ck, const tess_pinn_run_opts_t *o, int rank)
{
  tess_err_t err = TESS_OK;
  char *mine = malloc(FP_CAP);
  const char *theirs = NULL;
  TESS_REQUIRE(mine, TESS_ERR_MEM, "fingerprint");
  fingerprint(o, mine);
  if (tess_checkpoint_get_attr_string(ck, "pinn_fingerprint", &theirs) != TESS_OK) {
    tess_error_clear();   /* written before fingerprints: only the parameter count can be checked */
    if (rank == 0)
      printf("pinn: %s has no pinn_fingerprint (an older file): only its parameter count is checked\n",
             o->restart);
    goto cleanup;
  }
  const char *a = mine, *b = theirs;
  for (int k = 0; k < NFP; k++) {
    const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
    if (!ea || !eb) break;
    if (ea - a != eb - b || memcmp(a, b, (size_t)(ea - a)) != 0) {
      int skip = (int)strlen(fp_keys[k]) + 3;   /* "key = " */
      TESS_REQUIRE(0, TESS_ERR_DECK, "key '%s': --restart %s: the checkpoint was trained with %s = %.*s, this "
                   "deck has %.*s (a restart continues the same network and problem)", fp_keys[k], o->restart,
                   fp_keys[k], (int)(eb - b) - skip, b + skip, (int)(ea - a) - skip, a + skip);
    }
    a = ea + 1;
    b = eb + 1;
  }
cleanup:
  free(mine);
  return err;
}

/* first_loss: the run's loss at step 0 (NAN: not known), kept so that a
 * resumed run reports the same "final loss ... (first ...)" line. */
static tess_err_t save_ckpt(tess_checkpoint_manager_t *mgr, const tess_pinn_run_opts_t *o, int64_t step,
                            const double *th, size_t n, const tess_adam_t *adam, const tess_lbfgs_t *lb,
                            double first_loss, char *path_out, int on_signal)
{
  tess_err_t err = TESS_OK;
  tess_checkpoint_t *ck = NULL;
  double *st = NULL;
  char *fp = NULL;
  size_t na = tess_adam_state_size(adam), nl = tess_lbfgs_state_size(lb);
  st = malloc((na > nl ? na : nl) * sizeof *st);
  fp = malloc(FP_CAP);
  TESS_REQUIRE(st && fp, TESS_ERR_MEM, "optimizer state");
  TESS_CHECK(tess_checkpoint_manager_begin(mgr, step, &ck));
  if (on_signal && o->signal_checkpoint) o->signal_checkpoint(tess_checkpoint_path(ck), 0, o->signal_ctx);
  tess_checkpoint_meta_t meta = { .study = "pinn", .deck_text = o->deck_text, .step = step,
                                  .rng_seed = o->seed };
  TESS_CHECK(tess_checkpoint_set_meta(ck, &meta));
  fingerprint(o, fp);
  TESS_CHECK(tess_checkpoint_set_attr_string(ck, "pinn_fingerprint", fp));
  if (!isnan(first_loss)) TESS_CHECK(tess_checkpoint_set_attr_double(ck, "pinn_first_loss", first_loss));
  TESS_CHECK(tess_checkpoint_write_f64(ck, "pinn/theta", th, n));
  TESS_CHECK(tess_adam_state_get(adam, st));
  TESS_CHECK(tess_checkpoint_write_f64(ck, "pinn/adam", st, na));
  TESS_CHECK(tess_lbfgs_state_get(lb, st));
  TESS_CHECK(tess_checkpoint_write_f64(ck, "pinn/lbfgs", st, nl));
  if (path_out) snprintf(path_out, 512, "%s", tess_checkpoint_path(ck));
  TESS_CHECK(tess_checkpoint_commit(&ck));
  if (on_signal && o->signal_checkpoint && path_out) o->signal_checkpoint(path_out, 1, o->signal_ctx);
cleanup:
  tess_checkpoint_close(&ck);
  free(st);
  free(fp);
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

/* Rank 0 writes the loss history; every rank learns whether that failed (one
 * int allreduce per step), so all stop at the same step with rank 0's error. */
static tess_err_t agree_history(tess_mesh_t *mesh, int rank, tess_err_t herr)
{
  tess_err_t err = TESS_OK;
  int bad = rank == 0 && herr != TESS_OK, any = 0;
  TESS_CHECK(tess_comm_allreduce(mesh, TESS_AXES_ALL, &bad, &any, 1, TESS_I32, TESS_OP_MAX, TESS_MEM_HOST,
                                 NULL));
  if (bad) return herr;        /* its message is on this rank's error stack */
  TESS_REQUIRE(!any, TESS_ERR_IO, "rank 0 could not write the loss history");
cleanup:
  return err;
}

tess_err_t tess_pinn_run(tess_mesh_t *mesh, const char *dp_axis, const tess_pinn_run_opts_t *o)
{
  tess_err_t err = TESS_OK;
  int rank = 0, nranks = 1;
  tess_mlp_t *m = NULL;
  tess_pinn_t *p = NULL;
  tess_adam_t *adam = NULL;
  tess_lbfgs_t *lb = NULL;
  tess_checkpoint_manager_t *mgr = NULL;
  tess_checkpoint_t *rck = NULL, *fck = NULL;   /* fck: pinn_fields.h5 */
  tess_array_t *fa = NULL;
  double *th = NULL, *g = NULL, *st = NULL, *xg = NULL, *pred = NULL, *ex = NULL, *errf = NULL;
  pinn_history_t lh;           /* loss_history.csv (rank 0) */
  tess_err_t herr = TESS_OK;   /* rank 0: the history's first failure */
  int widths[66];
  tess_pinn_box_t bin, bbd;
  char path[1024];

  memset(&lh, 0, sizeof lh);
  TESS_REQUIRE(mesh && dp_axis && o, TESS_ERR_ARG, "NULL argument");
  TESS_REQUIRE(o->nhidden >= 1 && o->nhidden <= 64 && o->nouts >= 1 && o->nres >= 1 && o->grid[0] >= 2 &&
               o->grid[1] >= 2, TESS_ERR_ARG, "options: %d hidden layers, %d outputs, %d residuals, grid %dx%d",
               o->nhidden, o->nouts, o->nres, o->grid[0], o->grid[1]);
  MPI_Comm mc = tess_mesh_comm(mesh);
  TESS_MPI_CHECK(MPI_Comm_rank(mc, &rank));
  TESS_MPI_CHECK(MPI_Comm_size(mc, &nranks));
  const char *outdir = o->output_dir, *act_s = tess_act_name(o->act), *dt_s = tess_dtype_name(o->dtype);
  const int64_t adam_steps = o->adam_steps, lbfgs_steps = o->lbfgs_steps;
  int nl = o->nhidden + 1;
  widths[0] = 2;
  for (int k = 0; k < o->nhidden; k++) widths[k + 1] = o->hidden[k];
  widths[nl] = o->nouts;
  tess_adam_opts_t ao = o->adam;
  ao.total_steps = adam_steps;

  TESS_CHECK(tess_mlp_create(nl, widths, o->act, o->dtype, &m));
  TESS_CHECK(tess_mlp_init(m, o->init, o->seed));
  TESS_CHECK(tess_pinn_create(m, o->inputs, o->outs, &p));
  for (int k = 0; k < o->ndefs; k++) {
    tess_err_t e = tess_pinn_define_line(p, o->defs[k]);
    TESS_REQUIRE(!e, e == TESS_ERR_PARSE ? TESS_ERR_DECK : e, "pde.definitions entry %d ('%s')", k + 1,
                 o->defs[k]);
  }
  bin = (tess_pinn_box_t){ .din = 2, .lo = { o->lo[0], o->lo[1] }, .hi = { o->hi[0], o->hi[1] },
                           .seed = o->seed, .stream = 101 };
  bbd = bin;
  bbd.stream = 102;
  TESS_CHECK(tess_pinn_set_chunk(p, o->chunk));
  TESS_CHECK(tess_pinn_set_device(p, o->device));
  TESS_CHECK(tess_pinn_add_set(p, "interior", o->points, tess_pinn_box_interior, &bin, o->weight, o->nres, o->res));
  if (o->nbres)
    TESS_CHECK(tess_pinn_add_set(p, "boundary", o->bpoints, tess_pinn_box_boundary, &bbd, o->bweight, o->nbres,
                                 o->bres));
  TESS_CHECK(tess_pinn_setup(p, mesh, dp_axis));
  size_t n = tess_pinn_nparams(p);
  th = malloc(n * sizeof *th);
  g = malloc(n * sizeof *g);
  TESS_REQUIRE(th && g, TESS_ERR_MEM, "%zu parameters", n);
  TESS_CHECK(tess_mlp_get_params(m, th));
  TESS_CHECK(tess_adam_create(n, &ao, &adam));
  TESS_CHECK(tess_lbfgs_create(n, &o->lbfgs, &lb));

  int64_t step0 = 0;
  double f_first = NAN;   /* the loss at step 0: this call's first, or the checkpoint's */
  if (o->restart) {
    tess_checkpoint_meta_t meta;
    TESS_CHECK(tess_checkpoint_open(mc, o->restart, &rck));
    TESS_CHECK(tess_checkpoint_check_study(rck, "pinn"));
    TESS_CHECK(tess_checkpoint_get_meta(rck, &meta));
    TESS_CHECK(check_fingerprint(rck, o, rank));
    step0 = meta.step;
    size_t na = tess_adam_state_size(adam), nlb = tess_lbfgs_state_size(lb);
    st = malloc((na > nlb ? na : nlb) * sizeof *st);
    TESS_REQUIRE(st, TESS_ERR_MEM, "optimizer state");
    TESS_CHECK(tess_checkpoint_read_f64(rck, "pinn/theta", th, n));
    TESS_CHECK(tess_checkpoint_read_f64(rck, "pinn/adam", st, na));
    TESS_CHECK(tess_adam_state_set(adam, st));
    TESS_CHECK(tess_checkpoint_read_f64(rck, "pinn/lbfgs", st, nlb));
    TESS_CHECK(tess_lbfgs_state_set(lb, st));
    if (tess_checkpoint_get_attr_double(rck, "pinn_first_loss", &f_first) != TESS_OK) {
      f_first = NAN;         /* a checkpoint from before it was kept: this call's first */
      tess_error_clear();
    }
    tess_checkpoint_close(&rck);
    if (rank == 0) printf("pinn: restarted from %s at step %lld on %d rank%s\n", o->restart,
                          (long long)step0, nranks, nranks == 1 ? "" : "s");
  }
  TESS_CHECK(tess_mkdir_all(mc, outdir, "run.output_dir"));
  if (rank == 0) {
    snprintf(path, sizeof path, "%s/loss_history.csv", outdir);
    herr = pinn_history_open(&lh, path, "step,phase,loss,interior,boundary", step0);
    if (!herr && lh.rows < step0)
      printf("pinn: %s had %lld of the %lld rows up to the checkpoint; it continues from step %lld\n", path,
             (long long)lh.rows, (long long)step0, (long long)step0 + 1);
  }
  TESS_CHECK(agree_history(mesh, rank, herr));
  TESS_CHECK(tess_checkpoint_manager_create(mc, &o->checkpoint, &mgr));
  TESS_CHECK(tess_signal_install());

  const int64_t total = adam_steps + lbfgs_steps;
  double f = 0, t0 = tess_wtime(), t_adam = 0;
  int have_fg = 0, stalled = 0, interrupted = 0;
  int64_t nrun = 0, nadam = 0;   /* steps taken by this call */
  const int64_t first = step0 < total ? step0 : total;
  if (step0 >= total) {
    /* nothing to train: report the checkpoint's network, with its loss */
    if (rank == 0)
      printf("pinn: nothing left to do: the checkpoint is at step %lld and the deck plans %lld (%lld Adam + "
             "%lld L-BFGS); reporting the checkpoint's network\n", (long long)step0, (long long)total,
             (long long)adam_steps, (long long)lbfgs_steps);
    TESS_CHECK(tess_pinn_loss_grad(p, th, &f, NULL));
  }
  for (int64_t s = step0; s < total && !stalled; s++) {
    nrun++;
    if (s < adam_steps) {
      nadam++;
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
      herr = pinn_history_row(&lh, "%lld,%s,%.17g,%.17g,%.17g\n", (long long)s + 1,
                              s < adam_steps ? "adam" : "lbfgs", f, sl[0], sl[1]);
      if ((s + 1) % o->log_every == 0 || s + 1 == total)
        printf("pinn: step %lld/%lld %s loss %.6e (interior %.3e boundary %.3e) %.1f s\n",
               (long long)s + 1, (long long)total, s < adam_steps ? "adam " : "lbfgs", f, sl[0], sl[1],
               tess_wtime() - t0);
    }
    /* The safe point, once per step: a signal seen here is checkpointed
     * here, before stopping (polling it a second time after the save let a
     * signal arriving in between stop the run with no checkpoint). */
    int due = 0, pending = 0;
    TESS_CHECK(tess_signal_pending(mc, &pending));
    if (!pending) TESS_CHECK(tess_checkpoint_manager_due(mgr, s + 1, &due));
    due = due || pending;
    /* the rows up to a checkpoint are on disk before it is */
    if (rank == 0 && !herr && (due || s + 1 == total || stalled)) herr = pinn_history_sync(&lh);
    TESS_CHECK(agree_history(mesh, rank, herr));
    if (due || s + 1 == total || stalled) {
      char cpath[512] = "";
      TESS_CHECK(save_ckpt(mgr, o, s + 1, th, n, adam, lb, f_first, cpath, pending));
      if (rank == 0 && (due || stalled)) printf("pinn: checkpoint %s\n", cpath);
    }
    if (rank == 0 && o->progress) o->progress(first, s + 1, total, 0, o->progress_ctx);
    if (pending) { interrupted = 1; break; }
  }
  if (rank == 0 && o->progress) o->progress(first, first + nrun, total, 1, o->progress_ctx);
  double t_train = tess_wtime() - t0;
  if (rank == 0) herr = pinn_history_close(&lh);
  TESS_CHECK(agree_history(mesh, rank, herr));
  if (interrupted) {
    if (rank == 0) printf("pinn: stopped by a signal after writing a checkpoint\n");
    err = TESS_ERR_INTERRUPTED;
    goto cleanup;
  }

  /* ---- report: errors on a grid, PNG ---- */
  TESS_CHECK(tess_mlp_set_params(m, th));
  const int NX = o->grid[0], NY = o->grid[1];
  size_t NG = (size_t)NX * NY;
  xg = malloc(2 * NG * sizeof *xg);
  pred = malloc(NG * sizeof *pred);
  ex = malloc(NG * sizeof *ex);
  errf = malloc(NG * sizeof *errf);
  TESS_REQUIRE(xg && pred && ex && errf, TESS_ERR_MEM, "report grid %dx%d", NX, NY);
  for (int j = 0; j < NY; j++)           /* image row 0 at the top: y decreasing */
    for (int i = 0; i < NX; i++) {
      xg[2 * ((size_t)j * NX + i)] = o->lo[0] + (o->hi[0] - o->lo[0]) * i / (NX - 1);
      xg[2 * ((size_t)j * NX + i) + 1] = o->hi[1] - (o->hi[1] - o->lo[1]) * j / (NY - 1);
    }
  double t_ev = tess_wtime();
  {
    int64_t sh[2] = { NY, NX };
    tess_shardspec_t rs = { .ndim = 2, .axis = { TESS_REPLICATED, TESS_REPLICATED } };
    tess_checkpoint_meta_t meta = { .study = "pinn", .deck_text = o->deck_text, .step = total,
                                    .rng_seed = o->seed };
    TESS_CHECK(tess_array_create(mesh, TESS_F64, 2, sh, &rs, TESS_MEM_HOST, &fa));
    snprintf(path, sizeof path, "%s/pinn_fields.h5", outdir);
    TESS_CHECK(tess_checkpoint_begin(mc, path, &fck));
    TESS_CHECK(tess_checkpoint_set_meta(fck, &meta));
    /* All collective writes before the loop below, whose rank-0-only PNG
     * writes may fail on rank 0 alone: evaluating twice is cheap. */
    for (int k = 0; k < o->nfields; k++) {
      const char *nm = o->names ? o->names[k] : o->fields[k];
      TESS_CHECK(tess_pinn_eval(p, o->fields[k], NG, xg, pred));
      TESS_CHECK(tess_pinn_eval(p, o->exact[k], NG, xg, ex));
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
    printf(" %s %s, %zu parameters, chunks of %d points, %d rank%s, on %s, %lld steps (%lld Adam)", act_s, dt_s,
           n, tess_pinn_chunk(p), nranks, nranks == 1 ? "" : "s",
           tess_pinn_device(p) == TESS_PINN_DEVICE_CUDA ? "the GPU (cuda)" : "the CPU", (long long)nrun,
           (long long)nadam);
    if (step0) printf(" after step %lld", (long long)step0);
    printf(" in %.2f s (Adam %.2f s, %.2f ms/step)\n", t_train, t_adam, nadam ? 1e3 * t_adam / nadam : 0.0);
    if (nrun) printf("pinn: final loss %.17g (first %.17g)\n", f, f_first);
    else printf("pinn: final loss %.17g (no steps run: the checkpoint's network)\n", f);
  }
  for (int k = 0; k < o->nfields; k++) {
    TESS_CHECK(tess_pinn_eval(p, o->fields[k], NG, xg, pred));
    TESS_CHECK(tess_pinn_eval(p, o->exact[k], NG, xg, ex));
    double e2 = 0, n2 = 0;
    for (size_t q = 0; q < NG; q++) {
      errf[q] = pred[q] - ex[q];
      e2 += errf[q] * errf[q];
      n2 += ex[q] * ex[q];
    }
    const char *nm = o->names ? o->names[k] : o->fields[k];
    if (rank == 0) {
      printf("pinn: relative L2 error of %s = %.4e  (%s vs %s on a %dx%d grid)\n", nm,
             sqrt(e2 / (n2 > 0 ? n2 : 1)), o->fields[k], o->exact[k], NX, NY);
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
  if (lh.fp) fclose(lh.fp);   /* error path: the first failure is the error */
  tess_checkpoint_close(&fck);
  tess_array_destroy(&fa);
  tess_checkpoint_close(&rck);
  tess_checkpoint_manager_destroy(&mgr);
  free(th); free(g); free(st); free(xg); free(pred); free(ex); free(errf);
  tess_adam_destroy(&adam);
  tess_lbfgs_destroy(&lb);
  tess_pinn_destroy(&p);
  tess_mlp_destroy(&m);
  return err;
}

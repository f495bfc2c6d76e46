/* tests/pde/test_pinn_driver.c: tess_pinn_run called from C, no deck. The
 * seed problem (2->10->10->1 tanh, 12 Adam + 6 L-BFGS steps, checkpoints
 * every 8) is run (a) on a one-axis "dp" mesh over all ranks, (b) on a 2-axis
 * dp x rep mesh (P even; dp = P/2, replicated along rep), (c) restarted from
 * (a)'s step-8 checkpoint. Truth: (a)'s loss_history.csv -- (b) and (c) must
 * equal it byte for byte (the trajectory never depends on how the chunks are
 * spread); the progress callback sees steps 1..18 then the end, and after
 * the restart starts from 8. Run in a fresh directory under $TMPDIR. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <tessera/pinn_driver.h>
#include "tess_test.h"

static int64_t seen_first = -1, seen_last = -1;
static int seen_end;
static void progress(int64_t first, int64_t done, int64_t total, int end, void *ctx)
{
  (void)ctx; (void)total;
  if (seen_first < 0) seen_first = first;
  seen_last = done;
  seen_end += end;
}

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *b = calloc(1, 1 << 20);
  if (b && fread(b, 1, (1 << 20) - 1, f) == 0 && ferror(f)) {   /* calloc'ed: NUL-ended */
    free(b);
    b = NULL;
  }
  fclose(f);
  return b;
}

static const char *skip_lines(const char *s, int n)
{
  while (n-- > 0 && s && (s = strchr(s, '\n'))) s++;
  return s ? s : "";
}

static tess_err_t run(tess_mesh_t *mesh, const char *out, const char *ckdir, const char *restart)
{
  static const int hidden[2] = { 10, 10 };
  static const char *const outs[] = { "psi" };
  static const char *const defs[] = { "u = grad(psi, \"y\")", "v = -grad(psi, \"x\")",
                                      "forcing = -2*pi^2*sin(pi*x)*sin(pi*y)" };
  static const char *const res[] = { "laplacian(psi) - forcing", "grad(u, \"x\") + grad(v, \"y\")" };
  static const char *const bres[] = { "psi - sin(pi*x)*sin(pi*y)" };
  static const char *const fields[] = { "grad(psi, \"y\")" }, *const exact[] = { "pi*sin(pi*x)*cos(pi*y)" },
                           *const names[] = { "u" };
  tess_pinn_run_opts_t o;
  memset(&o, 0, sizeof o);
  o.nhidden = 2; o.hidden = hidden; o.act = TESS_ACT_TANH; o.dtype = TESS_F64; o.init = TESS_INIT_GLOROT;
  o.nouts = 1; o.outs = outs;
  o.inputs[0] = "x"; o.inputs[1] = "y"; o.hi[0] = o.hi[1] = 1;
  o.ndefs = 3; o.defs = defs; o.nres = 2; o.res = res; o.points = 150; o.weight = 1.0 / 150;
  o.nbres = 1; o.bres = bres; o.bpoints = 40; o.bweight = 10.0 / 40;
  o.chunk = 16; o.adam_steps = 12; o.lbfgs_steps = 6;
  tess_adam_opts_default(&o.adam);
  o.adam.lr = 1e-2;
  tess_lbfgs_opts_default(&o.lbfgs);
  o.log_every = 100; o.seed = 3;
  o.nfields = 1; o.fields = fields; o.exact = exact; o.names = names; o.grid[0] = o.grid[1] = 7;
  o.output_dir = out;
  o.checkpoint = (tess_checkpoint_policy_t){ .dir = ckdir, .prefix = "pinn", .keep = 5, .every_steps = 8 };
  o.restart = restart;
  o.progress = progress;
  seen_first = seen_last = -1;
  seen_end = 0;
  return tess_pinn_run(mesh, "dp", &o);
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  int P = 1, rank = 0;
  char dir[512] = "";
  MPI_Comm_size(MPI_COMM_WORLD, &P);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) {
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/tess_pinn_driver_XXXXXX", t ? t : "/tmp");
    if (!mkdtemp(dir)) dir[0] = 0;
  }
  MPI_Bcast(dir, sizeof dir, MPI_CHAR, 0, MPI_COMM_WORLD);
  CHECK(dir[0], "temporary directory");
  if (chdir(dir) != 0) CHECK(0, "chdir %s", dir);
  const char *ax1[1] = { "dp" }, *ax2[2] = { "dp", "rep" };
  tess_mesh_t *m1 = NULL, *m2 = NULL;
  CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, ax1, &P, &m1) == TESS_OK, "mesh");
  tess_err_t e = run(m1, "a", "cka", NULL);
  if (e) tess_error_print(stderr);
  CHECK(e == TESS_OK, "run a");
  if (rank == 0) CHECK(seen_first == 0 && seen_last == 18 && seen_end == 1, "progress %lld..%lld end %d",
                       (long long)seen_first, (long long)seen_last, seen_end);
  char *ha = rank == 0 ? slurp("a/loss_history.csv") : NULL;
  if (rank == 0) {
    int lines = 0;
    for (char *c = ha; c && *c; c++) lines += *c == '\n';
    CHECK(lines == 19, "history a: %d lines, want 19", lines);
  }
  if (P % 2 == 0) {
    int sz[2] = { P / 2, 2 };
    CHECK(tess_mesh_create(MPI_COMM_WORLD, 2, ax2, sz, &m2) == TESS_OK, "2-axis mesh");
    CHECK(run(m2, "b", "ckb", NULL) == TESS_OK, "run b on %dx2", P / 2);
    char *hb = rank == 0 ? slurp("b/loss_history.csv") : NULL;
    if (rank == 0) CHECK(ha && hb && strcmp(ha, hb) == 0, "history on the dp x rep mesh differs");
    free(hb);
  }
  CHECK(run(m1, "c", "ckc", "cka/pinn_000000008.h5") == TESS_OK, "restart c");
  if (rank == 0) {
    CHECK(seen_first == 8 && seen_last == 18 && seen_end == 1, "restart progress %lld..%lld",
          (long long)seen_first, (long long)seen_last);
    /* (c) is a fresh directory: header + rows 9..18, which must be (a)'s */
    char *hc = slurp("c/loss_history.csv");
    CHECK(ha && hc && strcmp(skip_lines(ha, 9), skip_lines(hc, 1)) == 0, "restart rows differ");
    free(hc);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  }
  tess_mesh_destroy(&m2);
  tess_mesh_destroy(&m1);
  free(ha);
  int rc = tess_test_finish("test_pinn_driver");
  MPI_Finalize();
  return rc;
}

/* tests/pde/test_pinn_determinism.c: a training trajectory does not depend
 * on the rank count. The seed example (plus a boundary set, 1000 + 200
 * points in chunks of 64: uneven blocks over 3 ranks, a padded last chunk
 * per set) is trained for 4 Adam steps (cosine schedule) then 4 L-BFGS
 * steps (strong Wolfe) on MPI_COMM_WORLD; then rank 0 repeats the whole run
 * alone on MPI_COMM_SELF, i.e. serially, and the two must agree BITWISE:
 * every loss and every final parameter (f64 and f32 networks). It also
 * checks that exporting and re-importing the optimizer state mid-run (what
 * a checkpoint does) continues the same trajectory bitwise, and that the
 * automatic chunk size is the documented function of the network and the
 * residuals only (the same at every rank count). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <tessera/pinn.h>
#include "tess_test.h"

#define NSTEP 8

static uint64_t fnv(const double *x, size_t n)
{
  uint64_t h = 1469598103934665603ull;
  const unsigned char *b = (const unsigned char *)x;
  for (size_t i = 0; i < n * sizeof *x; i++) { h ^= b[i]; h *= 1099511628211ull; }
  return h;
}

/* Train; restart_at >= 0 rebuilds the optimizers from exported state there. */
static int train(MPI_Comm comm, tess_dtype_t dt, int restart_at, double *losses, double *theta_out)
{
  tess_err_t err = TESS_OK;
  int widths[4] = { 2, 24, 24, 1 };
  const char *in[] = { "x", "y" }, *out[] = { "psi" };
  const char *res[] = { "laplacian(psi) - forcing", "grad(u,\"x\") + grad(v,\"y\")" };
  const char *bres[] = { "psi - sin(pi*x)*sin(pi*y)" };
  tess_pinn_box_t bi = { .din = 2, .lo = { 0, 0 }, .hi = { 1, 1 }, .seed = 5, .stream = 1 };
  tess_pinn_box_t bb = { .din = 2, .lo = { 0, 0 }, .hi = { 1, 1 }, .seed = 5, .stream = 2 };
  tess_mlp_t *m = NULL;
  tess_pinn_t *p = NULL;
  tess_adam_t *adam = NULL;
  tess_lbfgs_t *lb = NULL;
  double *th = NULL, *g = NULL, *st = NULL, f = 0;
  tess_adam_opts_t ao;
  tess_lbfgs_opts_t lo;
  tess_adam_opts_default(&ao);
  ao.lr = 1e-2;
  ao.schedule = TESS_SCHED_COSINE;
  ao.total_steps = 4;
  ao.lr_min = 1e-3;
  tess_lbfgs_opts_default(&lo);
  lo.history = 5;
  TESS_CHECK(tess_mlp_create(3, widths, TESS_ACT_TANH, dt, &m));
  TESS_CHECK(tess_mlp_init(m, TESS_INIT_GLOROT, 2024));
  TESS_CHECK(tess_pinn_create(m, in, out, &p));
  TESS_CHECK(tess_pinn_define(p, "u", "grad(psi,\"y\")"));
  TESS_CHECK(tess_pinn_define(p, "v", "-grad(psi,\"x\")"));
  TESS_CHECK(tess_pinn_define(p, "forcing", "-2*pi^2*sin(pi*x)*sin(pi*y)"));
  TESS_CHECK(tess_pinn_set_chunk(p, 64));
  TESS_CHECK(tess_pinn_add_set(p, "interior", 1000, tess_pinn_box_interior, &bi, 1.0 / 1000, 2, res));
  TESS_CHECK(tess_pinn_add_set(p, "boundary", 200, tess_pinn_box_boundary, &bb, 10.0 / 200, 1, bres));
  TESS_CHECK(tess_pinn_setup_comm(p, comm));
  size_t n = tess_pinn_nparams(p);
  th = malloc(n * sizeof *th);
  g = malloc(n * sizeof *g);
  TESS_REQUIRE(th && g, TESS_ERR_MEM, "params");
  TESS_CHECK(tess_mlp_get_params(m, th));
  TESS_CHECK(tess_adam_create(n, &ao, &adam));
  TESS_CHECK(tess_lbfgs_create(n, &lo, &lb));
  for (int s = 0; s < NSTEP; s++) {
    if (s == restart_at) {   /* export, destroy, recreate, import */
      size_t na = tess_adam_state_size(adam), nl = tess_lbfgs_state_size(lb);
      st = malloc((na + nl) * sizeof *st);
      TESS_REQUIRE(st, TESS_ERR_MEM, "state");
      TESS_CHECK(tess_adam_state_get(adam, st));
      TESS_CHECK(tess_lbfgs_state_get(lb, st + na));
      tess_adam_destroy(&adam);
      tess_lbfgs_destroy(&lb);
      TESS_CHECK(tess_adam_create(n, &ao, &adam));
      TESS_CHECK(tess_lbfgs_create(n, &lo, &lb));
      TESS_CHECK(tess_adam_state_set(adam, st));
      TESS_CHECK(tess_lbfgs_state_set(lb, st + na));
    }
    if (s < 4) {
      TESS_CHECK(tess_pinn_loss_grad(p, th, &f, g));
      TESS_CHECK(tess_adam_step(adam, th, g));
    } else {
      if (s == 4 || s == restart_at) TESS_CHECK(tess_pinn_loss_grad(p, th, &f, g));
      TESS_CHECK(tess_lbfgs_step(lb, tess_pinn_objective, p, th, &f, g, NULL));
    }
    losses[s] = f;
  }
  memcpy(theta_out, th, n * sizeof *th);
cleanup:
  if (err) tess_error_print(stderr);
  free(th); free(g); free(st);
  tess_adam_destroy(&adam);
  tess_lbfgs_destroy(&lb);
  tess_pinn_destroy(&p);
  tess_mlp_destroy(&m);
  return err;
}

/* Auto chunk of the seed network (2->256x3->1): 512 KiB / (ncomp x 256 x
 * dtype bytes), rounded down to a power of two (include/tessera/pinn.h). */
static void check_auto_chunk(void)
{
  static const struct { tess_dtype_t dt; int hess, want; } cs[] = {
    { TESS_F64, 0, 64 }, { TESS_F32, 0, 128 }, { TESS_F64, 1, 32 }, { TESS_F32, 1, 64 },
  };
  int widths[5] = { 2, 256, 256, 256, 1 };
  const char *in[] = { "x", "y" }, *out[] = { "psi" };
  tess_pinn_box_t box = { .din = 2, .lo = { 0, 0 }, .hi = { 1, 1 }, .seed = 1, .stream = 1 };
  for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
    tess_mlp_t *m = NULL;
    tess_pinn_t *p = NULL;
    /* psi_yx - psi_xy simplifies away; psi_yx + psi_xy keeps the Hessian entry */
    const char *res[] = { "laplacian(psi)",
                          cs[i].hess ? "grad(grad(psi,\"y\"),\"x\") + grad(grad(psi,\"x\"),\"y\")"
                                     : "grad(grad(psi,\"y\"),\"x\") - grad(grad(psi,\"x\"),\"y\")" };
    int ok = tess_mlp_create(4, widths, TESS_ACT_TANH, cs[i].dt, &m) == TESS_OK &&
             tess_pinn_create(m, in, out, &p) == TESS_OK &&
             tess_pinn_set_chunk(p, -1) == TESS_ERR_ARG;
    tess_error_clear();
    ok = ok && tess_pinn_add_set(p, "interior", 100, tess_pinn_box_interior, &box, 1.0, 2, res) == TESS_OK &&
         tess_pinn_setup_comm(p, MPI_COMM_WORLD) == TESS_OK;
    if (!ok) tess_error_print(stderr);
    CHECK(ok, "auto chunk case %zu: setup", i);
    CHECK(!ok || tess_pinn_chunk(p) == cs[i].want, "auto chunk %s%s: %d, expected %d",
          tess_dtype_name(cs[i].dt), cs[i].hess ? " (psi_xy kept)" : "", tess_pinn_chunk(p), cs[i].want);
    tess_pinn_destroy(&p);
    tess_mlp_destroy(&m);
  }
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const size_t n = 2 * 24 + 24 + 24 * 24 + 24 + 24 + 1;
  double *tw = malloc(n * sizeof *tw), *ts = malloc(n * sizeof *ts), lw[NSTEP], ls[NSTEP];
  check_auto_chunk();
  for (int d = 0; d < 2; d++) {
    tess_dtype_t dt = d ? TESS_F32 : TESS_F64;
    CHECK(train(MPI_COMM_WORLD, dt, -1, lw, tw) == TESS_OK, "train on %d ranks", size);
    if (rank == 0) {
      CHECK(train(MPI_COMM_SELF, dt, -1, ls, ts) == TESS_OK, "serial train");
      CHECK(memcmp(lw, ls, sizeof lw) == 0, "%s losses differ from the serial run", tess_dtype_name(dt));
      CHECK(memcmp(tw, ts, n * sizeof *tw) == 0, "%s parameters differ from the serial run",
            tess_dtype_name(dt));
      CHECK(lw[NSTEP - 1] < lw[0], "%s: training did not reduce the loss (%g -> %g)",
            tess_dtype_name(dt), lw[0], lw[NSTEP - 1]);
      printf("%s: %d ranks vs serial: params hash %016llx vs %016llx; loss %.6e -> %.6e\n",
             tess_dtype_name(dt), size, (unsigned long long)fnv(tw, n), (unsigned long long)fnv(ts, n),
             lw[0], lw[NSTEP - 1]);
    }
    for (int at = 2; at <= 6; at += 4) {   /* state exported mid-Adam and mid-L-BFGS */
      CHECK(train(MPI_COMM_WORLD, dt, at, ls, ts) == TESS_OK, "train with restart");
      CHECK(memcmp(lw, ls, sizeof lw) == 0 && memcmp(tw, ts, n * sizeof *tw) == 0,
            "%s: restart at step %d changed the trajectory", tess_dtype_name(dt), at);
    }
  }
  free(tw); free(ts);
  int rc = tess_test_finish("pde_determinism");
  MPI_Finalize();
  return rc;
}

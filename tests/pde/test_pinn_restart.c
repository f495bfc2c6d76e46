/* tests/pde/test_pinn_restart.c: checkpoint/restart of a PINN training run
 * on a DIFFERENT rank count continues bitwise identically. With P ranks:
 *   reference: 10 steps (5 Adam, 5 L-BFGS) uninterrupted on all P ranks;
 *   run A: on P ranks, stop after step k, write parameters and both
 *          optimizer states to an HDF5 checkpoint (tess_checkpoint_*);
 *   run B: on the first max(1, P-1) ranks only (another rank count; at
 *          P = 1 the same one), read it back and finish the 10 steps.
 * The final parameters and the last loss must equal the reference bit for
 * bit, for k = 3 (mid-Adam) and k = 7 (mid-L-BFGS). Truth is the
 * uninterrupted run, which test_pinn_determinism ties to a serial run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <tessera/checkpoint.h>
#include <tessera/pinn.h>
#include "tess_test.h"

#define NSTEP 10
#define NADAM 5

typedef struct {
  tess_mlp_t *m;
  tess_pinn_t *p;
  tess_adam_t *adam;
  tess_lbfgs_t *lb;
  double *th, *g, f;
  size_t n;
  tess_pinn_box_t bi, bb;
} run_t;

static void run_free(run_t *r)
{
  free(r->th); free(r->g);
  tess_adam_destroy(&r->adam);
  tess_lbfgs_destroy(&r->lb);
  tess_pinn_destroy(&r->p);
  tess_mlp_destroy(&r->m);
  memset(r, 0, sizeof *r);
}

static tess_err_t run_make(run_t *r, MPI_Comm comm)
{
  tess_err_t err = TESS_OK;
  int widths[4] = { 2, 20, 20, 2 };
  const char *in[] = { "x", "y" }, *out[] = { "psi", "omega" };
  const char *res[] = { "omega + laplacian(psi)", "grad(psi,y)*grad(omega,x) - grad(psi,x)*grad(omega,y) - laplacian(omega)/40" };
  const char *bres[] = { "grad(psi,y) - 1", "grad(psi,x)" };
  memset(r, 0, sizeof *r);
  r->bi = (tess_pinn_box_t){ .din = 2, .lo = { 0, 0 }, .hi = { 1, 1 }, .seed = 9, .stream = 1 };
  r->bb = r->bi;
  r->bb.stream = 2;
  tess_adam_opts_t ao;
  tess_adam_opts_default(&ao);
  ao.lr = 5e-3;
  ao.schedule = TESS_SCHED_EXP;
  ao.decay_rate = 0.5;
  ao.decay_steps = 3;
  tess_lbfgs_opts_t lo;
  tess_lbfgs_opts_default(&lo);
  lo.history = 4;
  TESS_CHECK(tess_mlp_create(3, widths, TESS_ACT_SOFTPLUS, TESS_F64, &r->m));
  TESS_CHECK(tess_mlp_init(r->m, TESS_INIT_HE, 77));
  TESS_CHECK(tess_pinn_create(r->m, in, out, &r->p));
  TESS_CHECK(tess_pinn_set_chunk(r->p, 32));
  TESS_CHECK(tess_pinn_add_set(r->p, "interior", 500, tess_pinn_box_interior, &r->bi, 1.0 / 500, 2, res));
  TESS_CHECK(tess_pinn_add_set(r->p, "boundary", 130, tess_pinn_box_boundary, &r->bb, 1.0 / 130, 2, bres));
  TESS_CHECK(tess_pinn_setup_comm(r->p, comm));
  r->n = tess_pinn_nparams(r->p);
  r->th = malloc(r->n * sizeof *r->th);
  r->g = malloc(r->n * sizeof *r->g);
  TESS_REQUIRE(r->th && r->g, TESS_ERR_MEM, "params");
  TESS_CHECK(tess_mlp_get_params(r->m, r->th));
  TESS_CHECK(tess_adam_create(r->n, &ao, &r->adam));
  TESS_CHECK(tess_lbfgs_create(r->n, &lo, &r->lb));
cleanup:
  return err;
}

static tess_err_t run_steps(run_t *r, int from, int to)
{
  tess_err_t err = TESS_OK;
  for (int s = from; s < to; s++) {
    if (s < NADAM) {
      TESS_CHECK(tess_pinn_loss_grad(r->p, r->th, &r->f, r->g));
      TESS_CHECK(tess_adam_step(r->adam, r->th, r->g));
    } else {
      if (s == from || s == NADAM) TESS_CHECK(tess_pinn_loss_grad(r->p, r->th, &r->f, r->g));
      TESS_CHECK(tess_lbfgs_step(r->lb, tess_pinn_objective, r->p, r->th, &r->f, r->g, NULL));
    }
  }
cleanup:
  return err;
}

static tess_err_t save(run_t *r, MPI_Comm comm, const char *path, int step)
{
  tess_err_t err = TESS_OK;
  tess_checkpoint_t *ck = NULL;
  size_t na = tess_adam_state_size(r->adam), nl = tess_lbfgs_state_size(r->lb);
  double *st = malloc((na + nl) * sizeof *st);
  TESS_REQUIRE(st, TESS_ERR_MEM, "state");
  TESS_CHECK(tess_adam_state_get(r->adam, st));
  TESS_CHECK(tess_lbfgs_state_get(r->lb, st + na));
  TESS_CHECK(tess_checkpoint_begin(comm, path, &ck));
  /* writable copy: tess_checkpoint_set_meta (src/checkpoint.c, ck_bcast_string)
   * stores a '\0' into rank 0's string, so a literal would fault */
  char study[] = "pinn";
  tess_checkpoint_meta_t meta = { .study = study, .step = step };
  TESS_CHECK(tess_checkpoint_set_meta(ck, &meta));
  TESS_CHECK(tess_checkpoint_write_f64(ck, "pinn/theta", r->th, r->n));
  TESS_CHECK(tess_checkpoint_write_f64(ck, "pinn/adam", st, na));
  TESS_CHECK(tess_checkpoint_write_f64(ck, "pinn/lbfgs", st + na, nl));
  TESS_CHECK(tess_checkpoint_commit(&ck));
cleanup:
  tess_checkpoint_close(&ck);
  free(st);
  return err;
}

static tess_err_t load(run_t *r, MPI_Comm comm, const char *path, int *step)
{
  tess_err_t err = TESS_OK;
  tess_checkpoint_t *ck = NULL;
  tess_checkpoint_meta_t meta;
  size_t na = tess_adam_state_size(r->adam), nl = tess_lbfgs_state_size(r->lb);
  double *st = malloc((na + nl) * sizeof *st);
  TESS_REQUIRE(st, TESS_ERR_MEM, "state");
  TESS_CHECK(tess_checkpoint_open(comm, path, &ck));
  TESS_CHECK(tess_checkpoint_check_study(ck, "pinn"));
  TESS_CHECK(tess_checkpoint_get_meta(ck, &meta));
  *step = (int)meta.step;
  TESS_CHECK(tess_checkpoint_read_f64(ck, "pinn/theta", r->th, r->n));
  TESS_CHECK(tess_checkpoint_read_f64(ck, "pinn/adam", st, na));
  TESS_CHECK(tess_checkpoint_read_f64(ck, "pinn/lbfgs", st + na, nl));
  TESS_CHECK(tess_adam_state_set(r->adam, st));
  TESS_CHECK(tess_lbfgs_state_set(r->lb, st + na));
cleanup:
  tess_checkpoint_close(&ck);
  free(st);
  return err;
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  tess_err_t err = TESS_OK;
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm sub = MPI_COMM_NULL;
  int nsub = size > 1 ? size - 1 : 1;
  MPI_Comm_split(MPI_COMM_WORLD, rank < nsub ? 0 : MPI_UNDEFINED, rank, &sub);
  char path[256];
  snprintf(path, sizeof path, "pinn_restart_np%d.h5", size);
  run_t ref, a, b;
  memset(&ref, 0, sizeof ref); memset(&a, 0, sizeof a); memset(&b, 0, sizeof b);
  TESS_CHECK(run_make(&ref, MPI_COMM_WORLD));
  TESS_CHECK(run_steps(&ref, 0, NSTEP));
  for (int k = 3; k <= 7; k += 4) {
    TESS_CHECK(run_make(&a, MPI_COMM_WORLD));
    TESS_CHECK(run_steps(&a, 0, k));
    TESS_CHECK(save(&a, MPI_COMM_WORLD, path, k));
    run_free(&a);
    if (sub != MPI_COMM_NULL) {
      int step = -1;
      TESS_CHECK(run_make(&b, sub));
      TESS_CHECK(load(&b, sub, path, &step));
      CHECK(step == k, "checkpoint step %d, expected %d", step, k);
      TESS_CHECK(run_steps(&b, step, NSTEP));
      CHECK(memcmp(b.th, ref.th, ref.n * sizeof *ref.th) == 0 && memcmp(&b.f, &ref.f, sizeof b.f) == 0,
            "restart after step %d on %d ranks (written on %d) differs from the uninterrupted run", k,
            nsub, size);
      if (rank == 0)
        printf("restart after step %d: written on %d ranks, continued on %d: final loss %.17g vs %.17g\n",
               k, size, nsub, b.f, ref.f);
      run_free(&b);
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
  if (rank == 0) unlink(path);
cleanup:
  if (err) { tess_error_print(stderr); tess_test_failures++; }
  run_free(&ref); run_free(&a); run_free(&b);
  if (sub != MPI_COMM_NULL) MPI_Comm_free(&sub);
  int rc = tess_test_finish("pde_restart");
  MPI_Finalize();
  return rc;
}

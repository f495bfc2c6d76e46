/* tests/io/test_ckpt_signal.c: SIGTERM -> checkpoint at the next safe point
 * -> exit TESS_EXIT_CHECKPOINTED; a restart on another rank count continues
 * bitwise identically to a run that was never interrupted.
 *   run DIR     steps a toy explicit update; during step 4 the LAST rank gets
 *               SIGTERM (kill(getpid())); at the end of the step all ranks
 *               see it (tess_signal_pending), write the checkpoint and exit 5.
 *   resume DIR  reads the latest checkpoint, runs steps 5..10, and compares
 *               with the update applied serially from step 0 (the truth). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <tessera/tessera.h>
#include "tess_test.h"

#define NSTEPS 10
static int rank, size;
static char dir[1024];

static double update(double u, int64_t g, int64_t step)
{
  return u * 0.75 + (double)(g % 7) * 0.125 + (double)step * 1e-3;
}

static double truth(int64_t g, int64_t steps)
{
  double u = 1.0 / (double)(g + 1);
  for (int64_t s = 1; s <= steps; s++) u = update(u, g, s);
  return u;
}

static void init(const int64_t gidx[], int nd, void *v, void *ctx)
{
  (void)nd; (void)ctx;
  *(double *)v = 1.0 / (double)(gidx[0] * 6 + gidx[1] + 1);
}

static void step_once(tess_array_t *u, int64_t step)
{
  double *p = tess_array_local_data(u);
  int64_t gidx[2];
  for (int64_t i = 0; i < tess_array_local_count(u); i++) {
    tess_array_global_index(u, i, gidx);
    p[i] = update(p[i], gidx[0] * 6 + gidx[1], step);
  }
}

static tess_err_t setup(tess_mesh_t **mesh, tess_array_t **u, tess_checkpoint_manager_t **m)
{
  tess_err_t err = TESS_OK;
  const char *names[1] = { "x" }, *sp[2] = { "x", NULL };
  int64_t shape[2] = { 11, 6 };
  tess_shardspec_t spec;
  tess_checkpoint_policy_t pol = { .dir = dir, .keep = 1 };
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, names, &size, mesh));
  TESS_CHECK(tess_shardspec_make(*mesh, 2, sp, &spec));
  TESS_CHECK(tess_array_create(*mesh, TESS_F64, 2, shape, &spec, TESS_MEM_HOST, u));
  TESS_CHECK(tess_checkpoint_manager_create(MPI_COMM_WORLD, &pol, m));
cleanup:
  return err;
}

static tess_err_t run(int *exit_code)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *u = NULL;
  tess_checkpoint_manager_t *m = NULL;
  tess_checkpoint_t *ck = NULL;
  int pending = 0;
  TESS_CHECK(setup(&mesh, &u, &m));
  TESS_CHECK(tess_signal_install());
  TESS_CHECK(tess_array_fill(u, init, NULL));
  for (int64_t step = 1; step <= NSTEPS; step++) {
    if (step == 4 && rank == size - 1) kill(getpid(), SIGTERM);   /* as Slurm would */
    step_once(u, step);
    TESS_CHECK(tess_signal_pending(MPI_COMM_WORLD, &pending));   /* the safe point */
    if (pending) {
      tess_checkpoint_meta_t meta = { .study = "signal", .step = step };
      TESS_CHECK(tess_checkpoint_manager_begin(m, step, &ck));
      TESS_CHECK(tess_checkpoint_write_array(ck, "u", u));
      TESS_CHECK(tess_checkpoint_set_meta(ck, &meta));
      TESS_CHECK(tess_checkpoint_commit(&ck));
      if (rank == 0) printf("signal %d: checkpoint at step %lld\n", tess_signal_caught() ?
                            tess_signal_caught() : -1, (long long)step);
      *exit_code = TESS_EXIT_CHECKPOINTED;
      break;
    }
  }
cleanup:
  tess_checkpoint_close(&ck);
  tess_checkpoint_manager_destroy(&m);
  tess_array_destroy(&u);
  tess_mesh_destroy(&mesh);
  return err;
}

static tess_err_t resume(void)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *u = NULL;
  tess_checkpoint_manager_t *m = NULL;
  tess_checkpoint_t *ck = NULL;
  tess_checkpoint_meta_t meta;
  char path[1200];
  int found = 0;
  int64_t gidx[2], bad = 0;
  TESS_CHECK(setup(&mesh, &u, &m));
  TESS_CHECK(tess_checkpoint_manager_latest(m, path, sizeof path, &found));
  TESS_REQUIRE(found, TESS_ERR_IO, "no checkpoint in %s", dir);
  TESS_CHECK(tess_checkpoint_open(MPI_COMM_WORLD, path, &ck));
  TESS_CHECK(tess_checkpoint_check_study(ck, "signal"));
  TESS_CHECK(tess_checkpoint_get_meta(ck, &meta));
  CHECK(meta.step == 4, "checkpoint at step %lld, expected 4", (long long)meta.step);
  TESS_CHECK(tess_checkpoint_read_array(ck, "u", u));
  for (int64_t step = meta.step + 1; step <= NSTEPS; step++) step_once(u, step);
  const double *p = tess_array_local_data_const(u);
  for (int64_t i = 0; i < tess_array_local_count(u); i++) {
    tess_array_global_index(u, i, gidx);
    if (p[i] != truth(gidx[0] * 6 + gidx[1], NSTEPS)) bad++;
  }
  CHECK(bad == 0, "%lld values differ from the uninterrupted run", (long long)bad);
cleanup:
  tess_checkpoint_close(&ck);
  tess_checkpoint_manager_destroy(&m);
  tess_array_destroy(&u);
  tess_mesh_destroy(&mesh);
  return err;
}

int main(int argc, char **argv)
{
  tess_err_t err = TESS_ERR_ARG;
  int code = EXIT_SUCCESS;
  tess_init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc >= 3) snprintf(dir, sizeof dir, "%s", argv[2]);
  if (argc >= 3 && strcmp(argv[1], "run") == 0) err = run(&code);
  else if (argc >= 3 && strcmp(argv[1], "resume") == 0) err = resume();
  if (err != TESS_OK) {
    if (rank == 0) tess_error_print(stderr);
    tess_test_failures++;
  }
  int rc = tess_test_finish(argc >= 2 ? argv[1] : "signal");
  tess_finalize();
  return rc != EXIT_SUCCESS ? rc : code;
}

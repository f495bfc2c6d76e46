/* tests/io/test_ckpt_crash.c: a writer killed between writing and renaming
 * leaves the previous checkpoint intact; the manager keeps the last K.
 *   crash DIR   manager keep=2 writes steps 1, 2, 3, then step 4 with the
 *               test-only hook TESS_CHECKPOINT_FAULT=before_rename: rank 0
 *               SIGKILLs itself with the complete, fsynced "<step 4>.tmp" on
 *               disk (CTest expects this run to fail: WILL_FAIL).
 *   verify DIR  (other rank count) step 3 is the latest, reads back bitwise,
 *               step 4 exists only as the .tmp, step 1 was rotated away;
 *               then step 5 is written and step 2 rotated away.
 * Truth: formula(step, global index). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <tessera/tessera.h>
#include "tess_test.h"

static int rank;
static char dir[1024];

static double formula(int64_t step, int64_t g) { return (double)(step * 100000 + g) / 7.0; }

static void fill(const int64_t gidx[], int nd, void *v, void *ctx)
{
  (void)nd;
  *(double *)v = formula(*(const int64_t *)ctx, gidx[0] * 9 + gidx[1]);
}

static void fpath(char *buf, size_t cap, int64_t step, const char *ext)
{
  snprintf(buf, cap, "%s/ckpt_%09lld%s", dir, (long long)step, ext);
}

static int exists(int64_t step, const char *ext)
{
  char p[1200];
  fpath(p, sizeof p, step, ext);
  return access(p, F_OK) == 0;
}

static tess_err_t make(tess_mesh_t **mesh, tess_array_t **u, tess_checkpoint_manager_t **m)
{
  tess_err_t err = TESS_OK;
  int size = 1;
  const char *names[1] = { "x" }, *sp[2] = { NULL, "x" };
  int64_t shape[2] = { 10, 9 };
  tess_shardspec_t spec;
  tess_checkpoint_policy_t pol = { .dir = dir, .keep = 2, .every_steps = 2 };
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, 1, names, &size, mesh));
  TESS_CHECK(tess_shardspec_make(*mesh, 2, sp, &spec));
  TESS_CHECK(tess_array_create(*mesh, TESS_F64, 2, shape, &spec, TESS_MEM_HOST, u));
  TESS_CHECK(tess_checkpoint_manager_create(MPI_COMM_WORLD, &pol, m));
cleanup:
  return err;
}

static tess_err_t save(tess_checkpoint_manager_t *m, tess_array_t *u, int64_t step)
{
  tess_err_t err = TESS_OK;
  tess_checkpoint_t *ck = NULL;
  tess_checkpoint_meta_t meta = { .study = "crash", .step = step, .time = 0.5 * (double)step };
  TESS_CHECK(tess_array_fill(u, fill, &step));
  TESS_CHECK(tess_checkpoint_manager_begin(m, step, &ck));
  TESS_CHECK(tess_checkpoint_write_array(ck, "fields/u", u));
  TESS_CHECK(tess_checkpoint_set_meta(ck, &meta));
  TESS_CHECK(tess_checkpoint_commit(&ck));
cleanup:
  tess_checkpoint_close(&ck);
  return err;
}

static tess_err_t check_latest(tess_checkpoint_manager_t *m, tess_array_t *u, int64_t want)
{
  tess_err_t err = TESS_OK;
  tess_checkpoint_t *ck = NULL;
  tess_checkpoint_meta_t meta;
  char latest[1200], expect_path[1200];
  int found = 0;
  int64_t gidx[2], bad = 0;
  TESS_CHECK(tess_checkpoint_manager_latest(m, latest, sizeof latest, &found));
  fpath(expect_path, sizeof expect_path, want, ".h5");
  CHECK(found && strcmp(latest, expect_path) == 0, "latest '%s', expected '%s'", latest,
        expect_path);
  TESS_CHECK(tess_checkpoint_open(MPI_COMM_WORLD, latest, &ck));
  TESS_CHECK(tess_checkpoint_check_study(ck, "crash"));
  TESS_CHECK(tess_checkpoint_get_meta(ck, &meta));
  CHECK(meta.step == want && meta.time == 0.5 * (double)want, "meta step %lld",
        (long long)meta.step);
  TESS_CHECK(tess_checkpoint_read_array(ck, "fields/u", u));
  const double *p = tess_array_local_data_const(u);
  for (int64_t i = 0; i < tess_array_local_count(u); i++) {
    tess_array_global_index(u, i, gidx);
    if (p[i] != formula(want, gidx[0] * 9 + gidx[1])) bad++;
  }
  CHECK(bad == 0, "step %lld: %lld values differ", (long long)want, (long long)bad);
cleanup:
  tess_checkpoint_close(&ck);
  return err;
}

static tess_err_t crash(void)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *u = NULL;
  tess_checkpoint_manager_t *m = NULL;
  char p[1200];
  if (rank == 0)   /* fresh start: forget earlier runs */
    for (int64_t s = 1; s <= 5; s++)
      for (int e = 0; e < 3; e++) {
        fpath(p, sizeof p, s, e == 0 ? ".h5" : e == 1 ? ".h5.tmp" : ".xmf");
        unlink(p);
      }
  MPI_Barrier(MPI_COMM_WORLD);
  TESS_CHECK(make(&mesh, &u, &m));
  for (int64_t s = 1; s <= 3; s++) TESS_CHECK(save(m, u, s));
  CHECK(!exists(1, ".h5") && !exists(1, ".xmf") && exists(2, ".h5") && exists(3, ".h5") &&
        exists(3, ".xmf"), "keep=2 rotation after 3 steps");
  setenv("TESS_CHECKPOINT_FAULT", "before_rename", 1);
  TESS_CHECK(save(m, u, 4));   /* rank 0 dies in here */
  if (rank == 0) fprintf(stderr, "the fault hook did not fire\n");
cleanup:
  tess_checkpoint_manager_destroy(&m);
  tess_array_destroy(&u);
  tess_mesh_destroy(&mesh);
  return err;
}

static tess_err_t verify(void)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *u = NULL;
  tess_checkpoint_manager_t *m = NULL;
  int due = -1;
  TESS_CHECK(make(&mesh, &u, &m));
  CHECK(exists(4, ".h5.tmp") && !exists(4, ".h5"), "the crash left step 4 only as .tmp");
  CHECK(!exists(1, ".h5") && exists(2, ".h5") && exists(3, ".h5"), "steps 2 and 3 on disk");
  TESS_CHECK(check_latest(m, u, 3));
  TESS_CHECK(save(m, u, 5));
  CHECK(!exists(2, ".h5") && !exists(2, ".xmf") && exists(3, ".h5") && exists(5, ".h5"),
        "keep=2 rotation after step 5");
  TESS_CHECK(check_latest(m, u, 5));
  /* when is a checkpoint due: every_steps = 2, and on a signal anywhere */
  TESS_CHECK(tess_checkpoint_manager_due(m, 3, &due));
  CHECK(due == 0, "step 3 not due");
  TESS_CHECK(tess_checkpoint_manager_due(m, 4, &due));
  CHECK(due == 1, "step 4 due");
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  TESS_CHECK(tess_signal_install());
  if (rank == size - 1) raise(SIGUSR1);
  TESS_CHECK(tess_checkpoint_manager_due(m, 3, &due));
  CHECK(due == 1, "a signal on rank %d makes step 3 due everywhere", size - 1);
  tess_signal_clear();
cleanup:
  tess_checkpoint_manager_destroy(&m);
  tess_array_destroy(&u);
  tess_mesh_destroy(&mesh);
  return err;
}

int main(int argc, char **argv)
{
  tess_err_t err = TESS_ERR_ARG;
  tess_init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (argc >= 3) snprintf(dir, sizeof dir, "%s", argv[2]);
  if (argc >= 3 && strcmp(argv[1], "crash") == 0) err = crash();
  else if (argc >= 3 && strcmp(argv[1], "verify") == 0) err = verify();
  if (err != TESS_OK) {
    if (rank == 0) tess_error_print(stderr);
    tess_test_failures++;
  }
  int rc = tess_test_finish(argc >= 2 ? argv[1] : "crash");
  tess_finalize();
  return rc;
}

/* src/init.c: tess_init/tess_finalize.
 * A PETSc code (or any MPI code) may have initialised MPI before us and will
 * finalise it after us, so Tessera remembers whether it owns MPI. */
#include <tessera/init.h>
#include <tessera/config.h>
#include <tessera/log.h>

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int init_count;
static int owns_mpi;

const char *tess_version(void) { return TESSERA_VERSION; }
const char *tess_git_revision(void) { return TESSERA_GIT_REVISION; }
int tess_initialized(void) { return init_count > 0; }

tess_err_t tess_init(int *argc, char ***argv)
{
  tess_err_t err = TESS_OK;
  int up = 0, provided = 0;
  if (init_count++ > 0) return TESS_OK;
  TESS_MPI_CHECK(MPI_Initialized(&up));
  if (!up) {
    TESS_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
    owns_mpi = 1;
  }
  /* Errors come back as codes we turn into messages, not aborts. */
  TESS_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  const char *env = getenv("TESS_LOG_LEVEL");
  if (env) {
    tess_log_level_t l;
    if (tess_log_level_parse(env, &l) == TESS_OK) tess_log_set_level(l);
    else tess_error_clear();
  }
cleanup:
  if (err) init_count--;
  return err;
}

tess_err_t tess_finalize(void)
{
  tess_err_t err = TESS_OK;
  if (init_count == 0) return TESS_OK;
  if (--init_count > 0) return TESS_OK;
  if (tess_log_view_enabled()) TESS_CHECK(tess_log_view(MPI_COMM_WORLD, stdout));
  if (owns_mpi) {
    owns_mpi = 0;
    TESS_MPI_CHECK(MPI_Finalize());
  }
cleanup:
  return err;
}

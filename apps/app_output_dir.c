/* apps/app_output_dir.c: a study's output directory (run.output_dir), made
 * like `mkdir -p` by rank 0 before anything is written there. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <mpi.h>
#include "study.h"

tess_err_t tess_study_output_dir(const char *dir)
{
  tess_err_t err = TESS_OK;
  char buf[4096];
  int ok = 1, e = 0, rank = 0;
  struct stat st;
  TESS_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  TESS_REQUIRE(dir && *dir && strlen(dir) < sizeof buf, TESS_ERR_ARG,
               "run.output_dir must be a non-empty path shorter than %zu bytes", sizeof buf);
  if (rank == 0) {
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {   /* the parents; errors show at the last one */
      if (*p != '/') continue;
      *p = 0;
      (void)mkdir(buf, 0777);
      *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST) ok = 0, e = errno;
    else if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) ok = 0, e = ENOTDIR;
  }
  TESS_MPI_CHECK(MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD));
  TESS_MPI_CHECK(MPI_Bcast(&e, 1, MPI_INT, 0, MPI_COMM_WORLD));
  TESS_REQUIRE(ok, TESS_ERR_IO, "cannot create output directory '%s' (run.output_dir): %s", dir,
               strerror(e));
cleanup:
  return err;
}

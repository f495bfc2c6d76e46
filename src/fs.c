/* src/fs.c: directories for runs, made by one rank for all. */
#include <tessera/fs.h>
#include <tessera/comm.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

tess_err_t tess_mkdir_all(MPI_Comm comm, const char *dir, const char *what)
{
  tess_err_t err = TESS_OK;
  char buf[4096];
  int v[2] = {0, 0}, rank = 0;   /* v: errno of the failure (0: none), 1 if in the way */
  struct stat st;
  if (!what) what = "directory";
  TESS_REQUIRE(dir && *dir && strlen(dir) < sizeof buf, TESS_ERR_ARG,
               "%s must be a non-empty path shorter than %zu bytes", what, sizeof buf);
  TESS_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1;; p++) {   /* each parent, then dir itself */
      if (*p != '/' && *p != '\0') continue;
      char c = *p;
      *p = '\0';
      if (mkdir(buf, 0777) != 0 && errno != EEXIST && !v[0]) v[0] = errno;
      *p = c;
      if (!c) break;
    }
    /* the verdict is the end state (a parent may refuse mkdir yet exist) */
    if (stat(dir, &st) == 0) v[0] = S_ISDIR(st.st_mode) ? 0 : ENOTDIR, v[1] = !S_ISDIR(st.st_mode);
    else if (!v[0]) v[0] = errno;
  }
  {
    tess_mesh_t *mesh = NULL;   /* borrowed: the cached one-axis mesh of comm */
    TESS_CHECK(tess_comm_mesh_of(comm, &mesh));
    TESS_CHECK(tess_comm_bcast(mesh, TESS_AXES_ALL, v, 2, TESS_I32, 0, TESS_MEM_HOST, NULL));
  }
  TESS_REQUIRE(!v[1], TESS_ERR_IO, "%s '%s' exists and is not a directory", what, dir);
  TESS_REQUIRE(!v[0], TESS_ERR_IO, "cannot create %s '%s': %s", what, dir, strerror(v[0]));
cleanup:
  return err;
}

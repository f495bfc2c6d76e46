/* apps/app_study_io.c: file chores the studies share (declared in study.h):
 * finding the checkpoint --resume continues from, and reading a deck's text
 * file. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <tessera/log.h>
#include "study.h"

tess_err_t tess_study_find_resume(const char *study, const tess_checkpoint_policy_t *pol, char *path,
                                  size_t cap, int *found)
{
  tess_err_t err = TESS_OK;
  tess_checkpoint_manager_t *m = NULL;
  tess_checkpoint_policy_t p = *pol;
  int rank = 0;
  p.keep = 1;   /* only reads: never prunes */
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  TESS_CHECK(tess_checkpoint_manager_create(MPI_COMM_WORLD, &p, &m));
  TESS_CHECK(tess_checkpoint_manager_latest(m, path, cap, found));
  if (rank == 0) {
    if (*found) tess_log(TESS_LOG_INFO, "%s: --resume: from %s", study, path);
    else tess_log(TESS_LOG_INFO, "%s: --resume: no checkpoint in %s: starting at step 0", study, pol->dir);
  }
cleanup:
  tess_checkpoint_manager_destroy(&m);
  return err;
}

tess_err_t tess_study_read_text(const tess_deck_t *deck, const char *key, unsigned char **buf, size_t *len)
{
  tess_err_t err = TESS_OK;
  const char *path;
  FILE *f = NULL;
  long n = -1;
  *buf = NULL;
  TESS_CHECK(tess_deck_get_string(deck, key, &path));
  f = fopen(path, "rb");
  if (!f) TESS_CHECK(tess_deck_key_error(deck, key, "cannot open '%s'", path));
  if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
  TESS_REQUIRE(n >= 0 && fseek(f, 0, SEEK_SET) == 0, TESS_ERR_IO, "%s: cannot read '%s'", key, path);
  *buf = malloc((size_t)n + 1);
  TESS_REQUIRE(*buf != NULL, TESS_ERR_MEM, "%s: %ld bytes", key, n);
  TESS_REQUIRE(fread(*buf, 1, (size_t)n, f) == (size_t)n, TESS_ERR_IO, "%s: short read of '%s'", key, path);
  *len = (size_t)n;
cleanup:
  if (f) fclose(f);
  if (err) {
    free(*buf);
    *buf = NULL;
  }
  return err;
}

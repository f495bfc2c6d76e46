/* src/checkpoint_durable.c: make a finished file survive a crash.
 * rename() is atomic, but without fsync a power loss can leave the new name
 * pointing at a file whose data never reached the disk (ext4/xfs delayed
 * allocation). So: fsync the data, rename, then fsync the directory so the
 * rename itself is on disk. The previous file under the final name stays
 * intact until the rename replaces it in one step. */
#include "checkpoint_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

tess_err_t ck_fsync_path(const char *path)
{
  tess_err_t err = TESS_OK;
  int fd = open(path, O_RDONLY);
  TESS_REQUIRE(fd >= 0, TESS_ERR_IO, "cannot open '%s' to fsync it: %s", path, strerror(errno));
  TESS_REQUIRE(fsync(fd) == 0, TESS_ERR_IO, "fsync('%s') failed: %s", path, strerror(errno));
cleanup:
  if (fd >= 0) close(fd);
  return err;
}

tess_err_t ck_durable_rename(const char *tmp, const char *final)
{
  tess_err_t err = TESS_OK;
  char *copy = NULL;
  int dfd = -1;
  TESS_CHECK(ck_fsync_path(tmp));
  TESS_REQUIRE(rename(tmp, final) == 0, TESS_ERR_IO, "cannot rename '%s' to '%s': %s", tmp,
               final, strerror(errno));
  copy = malloc(strlen(final) + 1);
  TESS_REQUIRE(copy != NULL, TESS_ERR_MEM, "path");
  strcpy(copy, final);
  const char *dir = dirname(copy);
  dfd = open(dir, O_RDONLY | O_DIRECTORY);
  TESS_REQUIRE(dfd >= 0, TESS_ERR_IO, "cannot open directory '%s' to fsync it: %s", dir,
               strerror(errno));
  TESS_REQUIRE(fsync(dfd) == 0, TESS_ERR_IO, "fsync of directory '%s' failed: %s", dir,
               strerror(errno));
cleanup:
  if (dfd >= 0) close(dfd);
  free(copy);
  return err;
}

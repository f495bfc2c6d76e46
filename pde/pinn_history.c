/* pde/pinn_history.c: the per-step loss history CSV of tess_pinn_run
 * (pinn_history.h). Every write is checked (a full disk shows at fprintf, fflush,
 * fsync or fclose, depending on buffering), and the first failure stays the
 * error, naming the file. A restart cuts the file back to the checkpoint's
 * step, so lines that a killed run wrote after its last checkpoint (whole or
 * torn) are dropped and the file ends as the uninterrupted run's would. */
#include "pinn_history.h"

#include <errno.h>
#include <stdio.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static tess_err_t fail(pinn_history_t *h, const char *what, int e)
{
  h->failed = 1;
  return tess_error_push(TESS_ERR_IO, __FILE__, __LINE__, __func__, "%s: %s failed: %s", h->path, what,
                         strerror(e ? e : EIO));
}

/* Length of the prefix to keep: the header and data rows 1..step0, each
 * complete (newline-terminated) and numbered in order. *rows gets how many
 * such rows there were. */
static long keep_prefix(FILE *fp, int64_t step0, int64_t *rows)
{
  char line[4096];
  long keep = 0;
  int64_t want = 1;
  *rows = 0;
  if (!fgets(line, sizeof line, fp) || !strchr(line, '\n')) return 0;   /* no complete header */
  keep = ftell(fp);
  while (want <= step0 && fgets(line, sizeof line, fp)) {
    char *end = NULL;
    long long s = strtoll(line, &end, 10);
    if (!strchr(line, '\n') || end == line || *end != ',' || s != want) break;
    keep = ftell(fp);
    *rows = want++;
  }
  return keep;
}

tess_err_t pinn_history_open(pinn_history_t *h, const char *path, const char *header, int64_t step0)
{
  tess_err_t err = TESS_OK;
  memset(h, 0, sizeof *h);
  snprintf(h->path, sizeof h->path, "%s", path);
  h->rows = 0;
  if (step0 > 0 && (h->fp = fopen(path, "r+")) != NULL) {
    long keep = keep_prefix(h->fp, step0, &h->rows);
    if (keep == 0) {            /* not even a header: start the file again */
      fclose(h->fp);
      h->fp = NULL;
    } else {
      if (fflush(h->fp) != 0) { err = fail(h, "flush", errno); goto cleanup; }
      if (ftruncate(fileno(h->fp), (off_t)keep) != 0) { err = fail(h, "truncate", errno); goto cleanup; }
      if (fseek(h->fp, 0, SEEK_END) != 0) { err = fail(h, "seek", errno); goto cleanup; }
      goto cleanup;
    }
  }
  h->fp = fopen(path, "w");
  TESS_REQUIRE(h->fp, TESS_ERR_IO, "cannot write %s: %s", path, strerror(errno));
  if (fprintf(h->fp, "%s\n", header) < 0) err = fail(h, "write", errno);
cleanup:
  return err;
}

tess_err_t pinn_history_row(pinn_history_t *h, const char *fmt, ...)
{
  if (h->failed || !h->fp) return h->failed ? TESS_ERR_IO : TESS_OK;
  va_list ap;
  va_start(ap, fmt);
  errno = 0;
  int r = vfprintf(h->fp, fmt, ap);
  va_end(ap);
  return r < 0 ? fail(h, "write", errno) : TESS_OK;
}

/* fsync on a device or pipe may be unsupported (EINVAL): nothing to make durable. */
static int sync_fd(FILE *fp)
{
  if (fsync(fileno(fp)) == 0 || errno == EINVAL || errno == ENOTSUP || errno == EROFS) return 0;
  return -1;
}

tess_err_t pinn_history_sync(pinn_history_t *h)
{
  if (h->failed || !h->fp) return h->failed ? TESS_ERR_IO : TESS_OK;
  if (fflush(h->fp) != 0) return fail(h, "write", errno);
  if (sync_fd(h->fp) != 0) return fail(h, "fsync", errno);
  return TESS_OK;
}

tess_err_t pinn_history_close(pinn_history_t *h)
{
  tess_err_t err = TESS_OK;
  if (!h->fp) return h->failed ? TESS_ERR_IO : TESS_OK;
  if (!h->failed) err = pinn_history_sync(h);
  if (fclose(h->fp) != 0 && !err && !h->failed) err = fail(h, "close", errno);
  h->fp = NULL;
  return err ? err : h->failed ? TESS_ERR_IO : TESS_OK;
}

/* src/box_copy.c: copy a rectangular box between row-major arrays.
 * The inner loop of reshard's pack/unpack and of gather/scatter: it must
 * reduce to a few large memcpy calls when the layout allows it, so trailing
 * dimensions that are whole in source, destination and box are merged into
 * one contiguous run before looping.
 *
 * For large copies the caller may ask for streaming (non-temporal) stores:
 * a plain memcpy into memory that is not in cache first reads each
 * destination line (read-for-ownership), so it moves 3 bytes per byte
 * copied; streaming stores move 2. Measured 1.2-2x faster for out-of-cache
 * runs on the 2-core test machine. Only where the data would not fit in
 * cache anyway, since streamed data is not cached for the next reader. */
#include "array_internal.h"

#include <string.h>
#include <tessera/memory.h>

#define STREAM_MIN_RUN 4096   /* bytes: shorter runs gain nothing */

static void copy_run(char *d, const char *s, size_t n, int stream)
{
  if (stream && n >= STREAM_MIN_RUN) tess_memcpy_stream(d, s, n);
  else memcpy(d, s, n);
}

void tess_box_copy_(int ndim, size_t esize, const int64_t ext[], void *dst,
                    const int64_t dshape[], const int64_t doff[], const void *src,
                    const int64_t sshape[], const int64_t soff[], int stream)
{
  int64_t run = 1, dstride[TESS_MAX_NDIM], sstride[TESS_MAX_NDIM], idx[TESS_MAX_NDIM];
  int k = ndim;   /* dims k..ndim-1 form the contiguous run */
  for (int d = 0; d < ndim; d++)
    if (ext[d] == 0) return;
  /* Merge whole trailing dims; the first partial one (from the end) also
   * belongs to the run, but ends it. */
  while (k > 0) {
    k--;
    run *= ext[k];
    if (!(ext[k] == dshape[k] && ext[k] == sshape[k])) break;
  }
  /* Now dims 0..k-1 are looped; the run covers dims k..ndim-1. */
  int64_t ds = 1, ss = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    dstride[d] = ds;
    sstride[d] = ss;
    ds *= dshape[d];
    ss *= sshape[d];
  }
  char *dp0 = (char *)dst;
  const char *sp0 = (const char *)src;
  int64_t dbase = 0, sbase = 0;
  for (int d = 0; d < ndim; d++) {
    dbase += doff[d] * dstride[d];
    sbase += soff[d] * sstride[d];
  }
  size_t bytes = (size_t)run * esize;
  if (k == 0) {
    copy_run(dp0 + (size_t)dbase * esize, sp0 + (size_t)sbase * esize, bytes, stream);
    goto done;
  }
  for (int d = 0; d < k; d++) idx[d] = 0;
  int64_t dcur = dbase, scur = sbase;
  for (;;) {
    copy_run(dp0 + (size_t)dcur * esize, sp0 + (size_t)scur * esize, bytes, stream);
    int d = k - 1;
    while (d >= 0) {
      idx[d]++;
      dcur += dstride[d];
      scur += sstride[d];
      if (idx[d] < ext[d]) break;
      dcur -= ext[d] * dstride[d];
      scur -= ext[d] * sstride[d];
      idx[d] = 0;
      d--;
    }
    if (d < 0) break;
  }
done:
  if (stream) tess_stream_fence();   /* streamed stores visible before MPI or the caller reads */
  return;
}

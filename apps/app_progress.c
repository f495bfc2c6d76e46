/* apps/app_progress.c: progress lines for long work (declared in study.h).
 * Rank 0 prints at most one line per `run.progress_seconds`; other ranks only
 * keep time, so calling every step costs one clock read. */
#include "app.h"

#include <mpi.h>

static int is_root(void)
{
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r == 0;
}

void tess_progress_start(tess_progress_t *p, const tess_deck_t *deck, const char *what, long total)
{
  p->what = what ? what : "run";
  p->total = total;
  p->every = 10.0;
  p->first = 0;
  if (tess_deck_get_double(deck, "run.progress_seconds", &p->every) != TESS_OK) tess_error_clear();
  p->t0 = p->last = tess_wtime();
}

void tess_progress_step(tess_progress_t *p, long done)
{
  if (p->every <= 0) return;
  double now = tess_wtime();
  if (now - p->last < p->every || !is_root()) return;
  p->last = now;
  double rate = done > p->first ? (double)(done - p->first) / (now - p->t0) : 0.0;
  if (p->total > 0 && rate > 0)
    tess_log(TESS_LOG_INFO, "%s: step %ld/%ld  %.3g steps/s  ETA %.0f s", p->what, done, p->total, rate,
             (double)(p->total - done) / rate);
  else
    tess_log(TESS_LOG_INFO, "%s: step %ld  %.3g steps/s", p->what, done, rate);
}

void tess_progress_end(tess_progress_t *p, long done)
{
  double t = tess_wtime() - p->t0;
  done -= p->first;
  if (is_root())
    tess_log(TESS_LOG_INFO, "%s: %ld steps in %.3f s (%.3g steps/s)", p->what, done, t,
             t > 0 ? (double)done / t : 0.0);
}

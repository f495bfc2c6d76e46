/* include/tessera/log.h: levelled logging and timed events.
 * Messages go to stderr from rank 0 of MPI_COMM_WORLD unless per-rank output
 * is switched on (then each line is prefixed "[rank r]"). Events accumulate
 * count and time per process; tess_log_view() reduces them over ranks into a
 * table in the spirit of PETSc's -log_view. */
#ifndef TESSERA_LOG_H
#define TESSERA_LOG_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stdio.h>
#include <mpi.h>
#include <tessera/error.h>

typedef enum {
  TESS_LOG_ERROR = 0, TESS_LOG_WARN = 1, TESS_LOG_INFO = 2, TESS_LOG_DEBUG = 3
} tess_log_level_t;

void tess_log_set_level(tess_log_level_t level);
tess_log_level_t tess_log_get_level(void);
/* Parse "error", "warn", "info", "debug" (or 0..3). */
tess_err_t tess_log_level_parse(const char *text, tess_log_level_t *level);
/* all != 0: every rank prints, prefixed with its rank. */
void tess_log_set_all_ranks(int all);

void tess_log(tess_log_level_t level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Events: register once (not collective, but register the same names in the
 * same order on every rank so tess_log_view can match them). */
typedef int tess_log_event_t;
tess_err_t tess_log_event_register(const char *name, tess_log_event_t *ev);
void tess_log_event_begin(tess_log_event_t ev);
void tess_log_event_end(tess_log_event_t ev);
/* Per-process totals of an event (for tests and reports). */
tess_err_t tess_log_event_get(tess_log_event_t ev, long *count, double *seconds);

/* Collective on comm: print the event table on rank 0 of comm. */
tess_err_t tess_log_view(MPI_Comm comm, FILE *fp);
/* Ask tess_finalize() to print the table on MPI_COMM_WORLD to stdout. */
void tess_log_view_enable(int on);
int tess_log_view_enabled(void);

/* Wall-clock seconds (MPI_Wtime when MPI is up, else a monotonic clock). */
double tess_wtime(void);
TESS_API_END
#endif

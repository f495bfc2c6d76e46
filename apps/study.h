/* apps/study.h: how a study plugs into tessera_app.
 * A study lives in one file, apps/study_<name>.c, which defines
 *
 *     const tess_study_t tess_study_<name> = { "<name>", &schema, run };
 *
 * (the symbol's suffix is the file name's; `name` is what decks write as
 * `study = "<name>"`, normally the same). CMake generates the registry of
 * studies from the apps/study_*.c file names, so adding a study never means
 * editing a shared table. tessera_app loads and validates the deck against
 * the chosen schema (common keys merged in, see tessera/deck.h), then calls
 * check() (if any) and run(). */
#ifndef TESSERA_APP_STUDY_H
#define TESSERA_APP_STUDY_H
#include <tessera/deck.h>
#include <tessera/error.h>

typedef struct {
  const char *restart;      /* checkpoint path from --restart, or NULL */
  int dry_run;              /* --dry-run: print the planned work on rank 0, do none */
} tess_study_opts_t;

typedef struct {
  const char *name;                    /* deck's `study` value */
  const tess_deck_schema_t *schema;    /* the study's own keys */
  /* Collective on MPI_COMM_WORLD. Prints its summary on rank 0 to stdout.
   * Returns TESS_OK, TESS_ERR_INTERRUPTED when it stopped on a signal after
   * writing a checkpoint (tessera_app exits 5), TESS_ERR_DECK for a deck the
   * schema could not catch (exit 3, use tess_deck_key_error), anything else
   * for a runtime failure (exit 4). With opts->dry_run it only describes. */
  tess_err_t (*run)(const tess_deck_t *deck, const tess_study_opts_t *opts);
  /* Optional (may be NULL): cross-key checks, run before any work and in
   * --dry-run; not collective; return tess_deck_key_error(...) on failure. */
  tess_err_t (*check)(const tess_deck_t *deck);
} tess_study_t;

/* Progress lines for long work, printed by rank 0 of MPI_COMM_WORLD to
 * stderr at most every `run.progress_seconds` (deck key; 0 = never):
 *   "denoise: step 40/200  12.3 steps/s  ETA 13 s"
 * and one final line with the total time. Not collective; cheap to call
 * every step. */
typedef struct {
  const char *what;         /* label, e.g. the study name */
  long total;               /* steps planned (<= 0: unknown, no ETA) */
  double every;             /* seconds between lines */
  double t0, last;          /* start time, time of the last line */
  long first;               /* steps done before start (a restart): numbered, not in the rate; 0 */
} tess_progress_t;

void tess_progress_start(tess_progress_t *p, const tess_deck_t *deck, const char *what, long total);
void tess_progress_step(tess_progress_t *p, long done);
void tess_progress_end(tess_progress_t *p, long done);

/* A per-step history CSV (apps/app_history.c), written by one rank. Every
 * write is checked; the first failure is pushed as TESS_ERR_IO naming the
 * file, later calls only return TESS_ERR_IO. Not collective: the caller
 * agrees on the outcome with the other ranks. */
#include <stdio.h>
#include <stdint.h>
typedef struct {
  FILE *fp;
  char path[1024];
  int failed;               /* a write failed: the file is incomplete */
  int64_t rows;             /* after open: data rows kept (restart) */
} tess_history_t;

/* step0 == 0: create (truncate) `path` and write the header line. step0 > 0
 * (a restart): keep the header and rows 1..step0 of an existing file (each
 * row starts with its step number) and cut off whatever follows, so lines a
 * killed run wrote after its checkpoint go; h->rows says how many rows were
 * kept (< step0: the file was missing or short). */
tess_err_t tess_history_open(tess_history_t *h, const char *path, const char *header, int64_t step0);
tess_err_t tess_history_row(tess_history_t *h, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Flush and fsync (with a checkpoint: rows up to its step survive a crash). */
tess_err_t tess_history_sync(tess_history_t *h);
/* Sync and close; safe after a failure or on an unopened history (memset 0). */
tess_err_t tess_history_close(tess_history_t *h);
#endif

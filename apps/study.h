/* apps/study.h: how a study plugs into tessera_app.
 * A study lives in one file, apps/study_<name>.c, which defines
 *
 *     const tess_study_t tess_study_<name> = { "<name>", &schema, run, check, 0 };
 *
 * (the symbol's suffix is the file name's; `name` is what decks write as
 * `study = "<name>"`, normally the same). CMake generates the registry of
 * studies from the apps/study_*.c file names, so adding a study never means
 * editing a shared table. tessera_app loads and validates the deck against
 * the chosen schema (common keys merged in, see tessera/deck.h), then calls
 * check() (if any) and run(). */
#ifndef TESSERA_APP_STUDY_H
#define TESSERA_APP_STUDY_H
#include <stddef.h>
#include <tessera/checkpoint.h>
#include <tessera/deck.h>
#include <tessera/error.h>

typedef struct {
  const char *restart;      /* checkpoint path from --restart, or NULL */
  int resume;               /* --resume: continue from the newest committed checkpoint in
                               checkpoint.dir if there is one, else start (resumable
                               studies; the others ignore it) */
  int dry_run;              /* --dry-run: print the planned work on rank 0, do none */
  int petsc_argc;           /* PETSc's options from the command line (single-dash ones),
                               as PetscInitialize takes them: argv[0] is the program */
  char **petsc_argv;
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
  /* 1: the study hands the command line's single-dash options to PETSc; for
   * the others such options are a usage error. */
  int petsc_options;
} tess_study_t;

/* A study that stops on a signal names its checkpoint, collectively: before
 * writing it (committed = 0) and once it is committed (1). tessera_app keeps
 * run.output_dir/status.toml current with it and ends with a line naming the
 * file and the --restart command (docs/signals.md). */
void tess_study_checkpoint_note(const char *path, int committed);

/* --resume (app_study_io.c): the newest committed checkpoint of the policy's
 * dir and prefix into path[cap], *found = 1; none: *found = 0 (rank 0 logs
 * which, naming the study). Collective on MPI_COMM_WORLD. */
tess_err_t tess_study_find_resume(const char *study, const tess_checkpoint_policy_t *pol, char *path,
                                  size_t cap, int *found);
/* The whole file named by the deck's string `key`, read on every rank (small
 * texts; a malloc'd buffer, one byte longer than *len). A file that cannot be
 * opened is a deck error naming the key. */
tess_err_t tess_study_read_text(const tess_deck_t *deck, const char *key, unsigned char **buf, size_t *len);

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
#endif

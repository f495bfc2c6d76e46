/* apps/tessera_app.c: the study driver, `mpirun -n P tessera_app deck.toml`.
 * Sequence: parse the command line; rank 0 reads the deck and broadcasts it;
 * every rank validates it (same text, same verdict, so only rank 0 prints);
 * the study's own checks; the effective deck is logged; the study runs.
 * Exit statuses are distinct (see app.h, --help, docs/app.md) so job scripts
 * can tell a bad deck from a crash from "stopped by the batch system after
 * checkpointing". One failure, one message: when the study returns, the
 * ranks agree on the outcome (agree_outcome) and the lowest failing rank
 * alone prints its trace; all exit with its status, no MPI_Abort. Only a rank
 * whose peers do not come back (they wait in a collective it left) prints
 * its own trace and calls MPI_Abort, the one way they cannot hang. */
#include <tessera/tessera.h>
#include "app.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* How long a failing rank waits for the others to return from the study
 * before it decides they are stuck in a collective and aborts the job. */
#define TESS_AGREE_SECONDS 10.0

/* After the study, on `agree` (the one-axis mesh of a duplicate of
 * MPI_COMM_WORLD, made before the study so that making it cannot block
 * here, and a separate communicator so that it cannot match a collective
 * the study left pending on the world): the status of the lowest failing
 * rank, into *status and *who (-1: none failed). Every rank sends its key to
 * every other (a non-blocking all-to-all through tess_comm: tess_comm has no
 * non-blocking allreduce) and takes the maximum. Returns 0 when every rank
 * took part; 1 when this rank failed and the others did not come back
 * within TESS_AGREE_SECONDS. A rank that succeeded waits for as long as it
 * takes: if a peer is stuck, the failing rank's abort ends it. */
static int agree_outcome(tess_mesh_t *agree, int *status, int *who)
{
  int rank = 0, size = 1, done = 0;
  tess_comm_request_t req = TESS_COMM_REQUEST_NULL;
  int32_t *keys = NULL;
  size_t *cnt = NULL, *dsp = NULL;
  if (tess_comm_rank_size(agree, TESS_AXES_ALL, &rank, &size) != TESS_OK) return *status != 0;
  keys = malloc(2 * (size_t)size * sizeof *keys);
  cnt = malloc((size_t)size * sizeof *cnt);
  dsp = malloc((size_t)size * sizeof *dsp);
  if (!keys || !cnt || !dsp) { free(keys); free(cnt); free(dsp); return *status != 0; }
  /* key: higher for lower failing ranks; status in the low 4 bits (< 16) */
  for (int r = 0; r < size; r++) {
    keys[r] = *status ? (size - rank) * 16 + *status : 0;
    cnt[r] = 1;
    dsp[r] = (size_t)r;
  }
  *who = -1;
  if (tess_comm_ialltoallv(agree, TESS_AXES_ALL, keys, cnt, dsp, keys + size, cnt, dsp, TESS_I32,
                           TESS_MEM_HOST, NULL, &req) != TESS_OK) {
    free(keys); free(cnt); free(dsp);
    return *status != 0;
  }
  double t0 = MPI_Wtime();
  /* polled through the MPI handle (host memory: the MPI backend); a rank
   * that gives up leaves the request to MPI_Abort */
  while (!done) {
    if (MPI_Test(&req.mpi, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return *status != 0;
    if (done) break;
    if (*status && MPI_Wtime() - t0 > TESS_AGREE_SECONDS) return 1;
    nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
  }
  tess_comm_wait(&req);   /* frees what the operation kept */
  int32_t all = 0;
  for (int r = 0; r < size; r++)
    if (keys[size + r] > all) all = keys[size + r];
  free(keys); free(cnt); free(dsp);
  if (all) {
    *who = size - all / 16;
    *status = all % 16;
  }
  return 0;
}

/* in_run: the error came from a running study, where an I/O failure (an
 * output directory or file that cannot be written) is a runtime failure,
 * not a bad deck; parse and deck errors stay deck errors (a residual). */
static int status_of(tess_err_t e, int in_run)
{
  switch (e) {
  case TESS_OK: return TESS_EXIT_OK;
  case TESS_ERR_IO: return in_run ? TESS_EXIT_RUNTIME : TESS_EXIT_DECK;
  case TESS_ERR_PARSE: case TESS_ERR_DECK: return TESS_EXIT_DECK;
  case TESS_ERR_INTERRUPTED: return TESS_EXIT_SIGNAL;
  default: return TESS_EXIT_RUNTIME;
  }
}

/* A deck error is the user's to fix: list the problems (one per error frame)
 * without the C source locations, unless --log-level debug asks for them. */
static void print_deck_problems(const char *path)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = tess_log_get_level() >= TESS_LOG_DEBUG ? NULL : open_memstream(&buf, &len);
  fprintf(stderr, "tessera_app: invalid deck '%s':\n", path);
  if (!mem) {
    tess_error_print(stderr);
    return;
  }
  tess_error_print(mem);
  fclose(mem);
  for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
    char *msg = strstr(line, "(): ");
    if (strncmp(line, "  at ", 5) == 0 && msg) fprintf(stderr, "  %s\n", msg + 4);
  }
  free(buf);
}

int main(int argc, char **argv)
{
  tess_app_opts_t o = {0};
  tess_deck_t *deck = NULL;
  int rank = 0, size = 1, status = TESS_EXIT_OK;
  tess_err_t err;
  MPI_Comm agree = MPI_COMM_NULL;

  if (tess_init(&argc, &argv) != TESS_OK) {
    tess_error_print(stderr);
    return TESS_EXIT_RUNTIME;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  tess_app_status_cmdline(argc, argv);

  if (tess_app_parse_args(argc, argv, &o) != TESS_OK) {
    if (rank == 0) fprintf(stderr, "tessera_app: %s\n", tess_error_message());
    status = TESS_EXIT_USAGE;
    goto done;
  }
  if (o.log_level_set) tess_log_set_level(o.log_level);
  if (o.log_view) tess_log_view_enable(1);
  if (o.help || o.version) {
    if (rank == 0 && o.help) tess_app_usage(stdout);
    if (rank == 0 && o.version) printf("tessera_app %s (%s)\n", tess_version(), tess_git_revision());
    goto done;
  }
  if (o.help_deck) {
    /* every rank checks the name, so every rank exits with the same status */
    FILE *null = rank == 0 ? stdout : fopen("/dev/null", "w");
    err = tess_app_help_deck(null ? null : stdout, o.help_deck, o.markdown);
    if (null && null != stdout) fclose(null);
    if (err) {
      if (rank == 0) fprintf(stderr, "tessera_app: %s\n", tess_error_message());
      status = TESS_EXIT_USAGE;
    }
    goto done;
  }
  if (o.restart) {
    int ok = 1;
    struct stat st;
    errno = 0;
    tess_mesh_t *world = NULL;
    if (rank == 0) ok = stat(o.restart, &st) == 0 && !S_ISDIR(st.st_mode);
    if (tess_comm_mesh_of(MPI_COMM_WORLD, &world) != TESS_OK ||
        tess_comm_bcast(world, TESS_AXES_ALL, &ok, 1, TESS_I32, 0, TESS_MEM_HOST, NULL) != TESS_OK) {
      if (rank == 0) tess_error_print(stderr);
      status = TESS_EXIT_RUNTIME;
      goto done;
    }
    if (!ok) {
      if (rank == 0) fprintf(stderr, "tessera_app: --restart: cannot read checkpoint '%s'%s%s\n", o.restart,
                             errno ? ": " : "", errno ? strerror(errno) : " (a directory)");
      status = TESS_EXIT_USAGE;
      goto done;
    }
  }
  if (tess_signal_install() != TESS_OK) {
    if (rank == 0) tess_error_print(stderr);
    tess_error_clear();   /* runs on without the handler: not fatal */
  }

  /* timed for --log-view; registered in the same order on every rank */
  tess_log_event_t ev_deck = 0, ev_run = 0;
  if (tess_log_event_register("DeckLoad", &ev_deck) != TESS_OK ||
      tess_log_event_register("StudyRun", &ev_run) != TESS_OK)
    tess_error_clear();
  tess_log_event_begin(ev_deck);
  err = tess_app_load_deck(&o, &deck);
  tess_log_event_end(ev_deck);
  const tess_study_t *study = deck ? tess_app_find_study(tess_deck_study(deck)) : NULL;
  if (!err && study) err = tess_app_check_job(deck);
  if (!err && study && study->check) err = study->check(deck);
  if (!err && study && o.petsc_argc > 1 && !study->petsc_options) {
    if (rank == 0) fprintf(stderr, "tessera_app: '%s': single-dash options go to PETSc, and study '%s' does "
                           "not use PETSc (tessera_app's own options start with --)\n", o.petsc_argv[1],
                           study->name);
    status = TESS_EXIT_USAGE;
    goto done;
  }
  if (!err && study && o.restart && study->schema->stateless) {
    /* silently starting over would look like a resumed run */
    if (rank == 0) fprintf(stderr, "tessera_app: --restart: study '%s' cannot resume from a checkpoint "
                           "(it always starts from the beginning); run it without --restart\n", study->name);
    status = TESS_EXIT_USAGE;
    goto done;
  }
  if (err || !study) {
    if (rank == 0) print_deck_problems(o.deck);
    status = err ? status_of(err, 0) : TESS_EXIT_DECK;
    if (status == TESS_EXIT_RUNTIME && tess_error_code() != TESS_ERR_MEM) status = TESS_EXIT_DECK;
    goto done;
  }
  if (o.emit_sbatch) {
    /* the deck is valid: the script, on rank 0 only (run it without mpirun) */
    if (rank == 0 && (err = tess_app_emit_sbatch(stdout, &o, deck)) != TESS_OK) {
      fprintf(stderr, "tessera_app: --emit-sbatch: %s\n", tess_error_message());
      status = tess_error_code() == TESS_ERR_ARG ? TESS_EXIT_USAGE : TESS_EXIT_RUNTIME;
    }
    goto done;
  }
  const char *dev_comm = "none";
  if ((err = tess_app_comm_backend(deck, &dev_comm)) != TESS_OK) {
    if (rank == 0) fprintf(stderr, "tessera_app: %s\n", tess_error_message());
    status = TESS_EXIT_DECK;
    goto done;
  }
  if (rank == 0) {
    if (o.dry_run) {
      printf("# tessera_app --dry-run: study '%s' on %d rank%s; deck '%s'; device comm backend: %s\n%s\n",
             study->name, size, size > 1 ? "s" : "", o.deck, dev_comm, tess_deck_text(deck));
      fflush(stdout);
    } else if (tess_log_get_level() >= TESS_LOG_INFO) {
      fprintf(stderr, "tessera_app %s: study '%s' on %d rank%s, deck '%s', device comm backend: %s\n%s",
              tess_version(), study->name, size, size > 1 ? "s" : "", o.deck, dev_comm,
              tess_deck_text(deck));
    }
  }

  /* outputs before work: an unwritable run.output_dir is found now, not
   * after the computing (collective: every rank gets rank 0's verdict) */
  if (!o.dry_run && (err = tess_app_output_ready(deck)) != TESS_OK) {
    if (rank == 0) {
      fprintf(stderr, "tessera_app: %s\n", tess_error_message());
      if (tess_log_get_level() >= TESS_LOG_DEBUG) tess_error_print(stderr);
    }
    status = TESS_EXIT_RUNTIME;
    goto done;
  }

  tess_study_opts_t so = {.restart = o.restart, .resume = o.resume, .dry_run = o.dry_run,
                          .petsc_argc = o.petsc_argc, .petsc_argv = o.petsc_argv};
  double t0 = tess_wtime();
  tess_mesh_t *amesh = NULL;   /* borrowed: cached on `agree` */
  if (MPI_Comm_dup(MPI_COMM_WORLD, &agree) != MPI_SUCCESS) agree = MPI_COMM_NULL;
  if (agree != MPI_COMM_NULL && tess_comm_mesh_of(agree, &amesh) != TESS_OK) {
    tess_error_clear();
    amesh = NULL;
  }
  tess_log_event_begin(ev_run);
  err = study->run(deck, &so);
  tess_log_event_end(ev_run);
  status = status_of(err, 1);
  int who = err ? rank : -1, mine = status;
  if (amesh && size > 1 && agree_outcome(amesh, &status, &who)) {
    /* the others are stuck where this rank left them: only an abort ends it */
    fprintf(stderr, "[rank %d] tessera_app: study '%s' failed (exit %d); the other ranks did not return "
            "within %.0f s: aborting the job\n", rank, study->name, status, TESS_AGREE_SECONDS);
    tess_error_print(stderr);
    fflush(stderr);
    fflush(stdout);
    MPI_Abort(MPI_COMM_WORLD, status);
  }
  if (status == TESS_EXIT_SIGNAL && mine == TESS_EXIT_SIGNAL) {
    /* collective by contract: every rank stopped at the same safe point;
     * the last lines (checkpoint, restart command) come from the status */
  } else if (status != TESS_EXIT_OK && who == rank) {
    /* the lowest failing rank speaks for all */
    char first[512];
    snprintf(first, sizeof first, "%s", tess_error_message());
    if (status == TESS_EXIT_DECK) print_deck_problems(o.deck);
    else {
      fprintf(stderr, "[rank %d] tessera_app: study '%s' failed (exit %d)\n", rank, study->name, status);
      tess_error_print(stderr);
    }
    fflush(stderr);
    tess_app_status_final(status, first);
  } else if (rank == 0 && status == TESS_EXIT_OK && !o.dry_run) {
    tess_log(TESS_LOG_INFO, "tessera_app: study '%s' finished in %.3f s on %d rank%s", study->name,
             tess_wtime() - t0, size, size > 1 ? "s" : "");
  }
  if (!o.dry_run && rank == 0 && (status == TESS_EXIT_OK || status == TESS_EXIT_SIGNAL))
    tess_app_status_final(status, NULL);
done:
  if (agree != MPI_COMM_NULL) MPI_Comm_free(&agree);
  tess_deck_destroy(&deck);
  free(o.sets);
  free(o.petsc_argv);
  if (tess_finalize() != TESS_OK && status == TESS_EXIT_OK) status = TESS_EXIT_RUNTIME;
  return status;
}

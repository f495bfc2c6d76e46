/* include/tessera/init.h: library start-up and shut-down.
 * Works whether or not the caller (or PETSc) already initialised MPI: Tessera
 * only finalises MPI if it was the one that initialised it. */
#ifndef TESSERA_INIT_H
#define TESSERA_INIT_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <tessera/error.h>

/* Collective on MPI_COMM_WORLD. argc/argv may be NULL. Idempotent: nested
 * init/finalize pairs are counted. Reads TESS_LOG_LEVEL from the environment. */
tess_err_t tess_init(int *argc, char ***argv);
/* Prints the event summary if tess_log_view_enable() was called, then
 * finalises MPI if tess_init() initialised it. */
tess_err_t tess_finalize(void);
/* 1 between the outermost tess_init() and tess_finalize(). */
int tess_initialized(void);

/* Version string "MAJOR.MINOR.PATCH" and the git revision the build came from. */
const char *tess_version(void);
const char *tess_git_revision(void);
TESS_API_END
#endif

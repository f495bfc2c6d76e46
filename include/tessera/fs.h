/* include/tessera/fs.h: file-system helpers for runs (output and checkpoint
 * directories). */
#ifndef TESSERA_FS_H
#define TESSERA_FS_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <mpi.h>
#include <tessera/error.h>

/* Collective on comm: rank 0 creates directory `dir` and its parents (like
 * `mkdir -p`); every rank returns the same status. Errors name the directory
 * and `what` (the deck key, e.g. "run.output_dir"). */
tess_err_t tess_mkdir_all(MPI_Comm comm, const char *dir, const char *what);
TESS_API_END
#endif

/* include/tessera/signal.h: stop cleanly when the batch system asks.
 * Slurm sends SIGTERM at a time limit (and SIGUSR1 or another signal ahead of
 * it with `--signal=USR1@120`). The handler only sets a flag; the run checks
 * it collectively at safe points (between steps), writes a checkpoint and
 * exits with TESS_EXIT_CHECKPOINTED so a job script can tell "stopped and
 * saved, resubmit" from success (0) and failure. What Open MPI's mpirun does
 * with each signal (SIGTERM: a kill sequence with a 1 s grace, exit 1;
 * SIGUSR1/2: forwarded): docs/signals.md. */
#ifndef TESSERA_SIGNAL_H
#define TESSERA_SIGNAL_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <mpi.h>
#include <tessera/error.h>

/* Exit status of tessera_app after a signal-triggered checkpoint was written. */
#define TESS_EXIT_CHECKPOINTED 5

/* Install the flag-setting handler for SIGTERM, SIGUSR1 and SIGUSR2 (SA_RESTART, not
 * collective). Idempotent. */
tess_err_t tess_signal_install(void);
/* This process's flag: the last signal number caught, or 0. No MPI; safe to
 * call anywhere. */
int tess_signal_caught(void);
/* Collective on comm (one allreduce via tess_comm): *pending = 1 on every rank if any
 * rank caught a signal. Call at safe points only. */
tess_err_t tess_signal_pending(MPI_Comm comm, int *pending);
/* Forget caught signals on this process (tests; after handling). */
void tess_signal_clear(void);
TESS_API_END
#endif

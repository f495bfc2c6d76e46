/* src/signal.c: SIGTERM/SIGUSR1/SIGUSR2 -> a flag, checked collectively at
 * safe points. A handler may only touch a volatile sig_atomic_t (C11
 * 7.14.1.1, POSIX async-signal-safety): no MPI, no HDF5, no malloc in it. The
 * run polls the flag between steps with one allreduce (through tess_comm, on
 * the one-axis mesh of the caller's communicator) so that every rank takes
 * the same branch (write a checkpoint, exit TESS_EXIT_CHECKPOINTED) even when
 * the signal reached only some of them. What Open MPI's mpirun and Slurm do
 * with each signal: docs/signals.md. */
#include <tessera/signal.h>
#include <tessera/comm.h>

#include <signal.h>
#include <stdint.h>
#include <string.h>

static volatile sig_atomic_t caught;

/* The first signal is the one reported: mpirun sends SIGCONT before its
 * SIGTERM, and a user may send SIGUSR1 then SIGTERM; neither should change
 * what the status file says stopped the run. */
static void on_signal(int sig)
{
  if (!caught) caught = sig;
}

tess_err_t tess_signal_install(void)
{
  tess_err_t err = TESS_OK;
  static const int sigs[] = { SIGTERM, SIGUSR1, SIGUSR2 };
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;   /* do not make blocking I/O fail with EINTR */
  sigemptyset(&sa.sa_mask);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    TESS_REQUIRE(sigaction(sigs[i], &sa, NULL) == 0, TESS_ERR_INTERNAL,
                 "sigaction(%d) failed", sigs[i]);
cleanup:
  return err;
}

int tess_signal_caught(void) { return (int)caught; }

void tess_signal_clear(void) { caught = 0; }

tess_err_t tess_signal_pending(MPI_Comm comm, int *pending)
{
  tess_err_t err = TESS_OK;
  int32_t any = caught != 0, all = 0;
  tess_mesh_t *mesh = NULL;   /* borrowed: cached on comm */
  TESS_REQUIRE(pending != NULL, TESS_ERR_ARG, "NULL argument");
  TESS_CHECK(tess_comm_mesh_of(comm, &mesh));
  TESS_CHECK(tess_comm_allreduce(mesh, TESS_AXES_ALL, &any, &all, 1, TESS_I32, TESS_OP_LOR, TESS_MEM_HOST, NULL));
  *pending = all != 0;
cleanup:
  return err;
}

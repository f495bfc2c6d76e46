/* src/signal.c: SIGTERM/SIGUSR1 -> a flag, checked collectively at safe points.
 * A handler may only touch a volatile sig_atomic_t (C11 7.14.1.1, POSIX
 * async-signal-safety): no MPI, no HDF5, no malloc in it. The run polls the
 * flag between steps with one MPI_Allreduce so that every rank takes the same
 * branch (write a checkpoint, exit TESS_EXIT_CHECKPOINTED) even when the
 * signal reached only some of them. */
#include <tessera/signal.h>

#include <signal.h>
#include <string.h>

static volatile sig_atomic_t caught;

static void on_signal(int sig) { caught = sig; }

tess_err_t tess_signal_install(void)
{
  tess_err_t err = TESS_OK;
  static const int sigs[] = { SIGTERM, SIGUSR1 };
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
  int any = caught != 0;
  TESS_REQUIRE(pending != NULL, TESS_ERR_ARG, "NULL argument");
  TESS_MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_LOR, comm));
  *pending = any;
cleanup:
  return err;
}

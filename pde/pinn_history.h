/* pde/pinn_history.h: the loss history CSV of the PINN driver (private to pde/). */
#ifndef TESSERA_PDE_PINN_HISTORY_H
#define TESSERA_PDE_PINN_HISTORY_H
#include <stdint.h>
#include <stdio.h>
#include <tessera/error.h>

/* A per-step history CSV (pde/pinn_history.c), written by one rank. Every
 * write is checked; the first failure is pushed as TESS_ERR_IO naming the
 * file, later calls only return TESS_ERR_IO. Not collective: the caller
 * agrees on the outcome with the other ranks. */
typedef struct {
  FILE *fp;
  char path[1024];
  int failed;               /* a write failed: the file is incomplete */
  int64_t rows;             /* after open: data rows kept (restart) */
} pinn_history_t;

/* step0 == 0: create (truncate) `path` and write the header line. step0 > 0
 * (a restart): keep the header and rows 1..step0 of an existing file (each
 * row starts with its step number) and cut off whatever follows, so lines a
 * killed run wrote after its checkpoint go; h->rows says how many rows were
 * kept (< step0: the file was missing or short). */
tess_err_t pinn_history_open(pinn_history_t *h, const char *path, const char *header, int64_t step0);
tess_err_t pinn_history_row(pinn_history_t *h, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Flush and fsync (with a checkpoint: rows up to its step survive a crash). */
tess_err_t pinn_history_sync(pinn_history_t *h);
/* Sync and close; safe after a failure or on an unopened history (memset 0). */
tess_err_t pinn_history_close(pinn_history_t *h);
#endif

/* petsc/petsc_internal.h: what the PETSc adapter's files share (private).
 *   petsc_vec.c   Vec <-> array views, PETSc errors as Tessera errors
 *   petsc_dmda.c  a DMDA's global-vector layout as mesh + spec + partition */
#ifndef TESSERA_PETSC_INTERNAL_H
#define TESSERA_PETSC_INTERNAL_H
#include <tessera/error.h>
#include <petscsys.h>

/* Push TESS_ERR_EXTERNAL naming the PETSc call and PETSc's message. */
tess_err_t tess_petsc_error(PetscErrorCode ierr, const char *call, const char *file, int line,
                            const char *func);

/* on = 1: PETSc errors return to the caller, silently, with their message
 * kept for tess_petsc_error (PETSc's default handler prints on rank 0 only
 * and, on the other ranks of a collective error, sleeps 10 s and aborts);
 * on = 0: PETSc's handler again. */
void tess_petsc_errors_capture(int on);

/* In a function with `err` and a cleanup label, like TESS_MPI_CHECK. */
#define TESS_PETSC_CHECK(call)                                                          \
  do {                                                                                  \
    PetscErrorCode tess_p_ = (call);                                                    \
    if (tess_p_) {                                                                      \
      err = tess_petsc_error(tess_p_, #call, __FILE__, __LINE__, __func__);             \
      goto cleanup;                                                                     \
    }                                                                                   \
  } while (0)
#endif

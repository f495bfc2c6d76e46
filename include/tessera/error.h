/* include/tessera/error.h: status codes and the error stack.
 * Every public Tessera function that can fail returns a tess_err_t (destroy
 * functions and queries of a valid handle cannot, and return void or the
 * value itself). On failure each frame
 * that propagates the error pushes one line (file, line, function, message)
 * so the top level can print a trace that starts with what the user did
 * wrong, in the user's terms. The stack is per thread. */
#ifndef TESSERA_ERROR_H
#define TESSERA_ERROR_H
#include <tessera/export.h>
TESS_API_BEGIN

#include <stdio.h>

/* int, so that `int tess_sum_f64(...)` and tess_err_t are the same thing. */
typedef int tess_err_t;

enum {
  TESS_OK = 0,
  TESS_ERR_ARG,         /* a caller passed something invalid */
  TESS_ERR_MEM,         /* allocation failed */
  TESS_ERR_MPI,         /* an MPI call failed */
  TESS_ERR_IO,          /* file missing, unreadable, unwritable */
  TESS_ERR_PARSE,       /* syntax error in an input file */
  TESS_ERR_DECK,        /* deck is well-formed but violates its schema */
  TESS_ERR_SHAPE,       /* shapes, specs or dtypes do not match */
  TESS_ERR_UNSUPPORTED, /* valid request this build cannot do */
  TESS_ERR_NUMERIC,     /* NaN/Inf or divergence where it is not allowed */
  TESS_ERR_HDF5,        /* an HDF5 call failed or a file is malformed */
  TESS_ERR_FFT,         /* FFT planning or execution failed */
  TESS_ERR_INTERRUPTED, /* stopped on request (signal) */
  TESS_ERR_INTERNAL,    /* a Tessera bug */
  TESS_ERR_DEVICE,      /* a GPU runtime call failed (the message has its error string) */
  TESS_ERR_EXTERNAL,    /* a library Tessera couples with (PETSc) failed: its message */
  TESS_ERR_NCODES
};

/* Human name of a code ("invalid argument", ...). Never NULL. */
const char *tess_err_name(tess_err_t code);

/* Push one frame; fmt may be NULL. Returns `code` so callers can write
 * `return tess_error_push(...)`. */
tess_err_t tess_error_push(tess_err_t code, const char *file, int line,
                           const char *func, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

/* Number of frames on this thread's stack, and its first (deepest) message:
 * that is the one that names what was wrong. "" when empty. */
int tess_error_depth(void);
const char *tess_error_message(void);
/* The code that started the current error (TESS_OK when empty). */
tess_err_t tess_error_code(void);
/* Print "error: <message>" then the trace, deepest first. */
void tess_error_print(FILE *fp);
/* One stored frame, for programs (and bindings) that read the stack
 * rather than parse printed text. Pointers stay valid until the next push
 * or clear on this thread; message is "" for a frame that added none. */
typedef struct {
  tess_err_t code;          /* the code that frame pushed */
  const char *file;         /* source file's base name */
  int line;
  const char *func;
  const char *message;
} tess_error_frame_t;
/* Frame i, 0 = deepest (where the error started), up to
 * min(tess_error_depth(), the stored cap) - 1. TESS_ERR_ARG for an index
 * outside that or a NULL frame; reading never changes the stack. */
tess_err_t tess_error_frame(int i, tess_error_frame_t *frame);
/* Forget the current error (after handling it). */
void tess_error_clear(void);

/* Both macros need `tess_err_t err` in scope and a `cleanup:` label. */
#define TESS_CHECK(expr) do { tess_err_t tess_e_ = (expr);                       \
    if (tess_e_ != TESS_OK) {                                                    \
      err = tess_error_push(tess_e_, __FILE__, __LINE__, __func__, NULL);        \
      goto cleanup; } } while (0)

#define TESS_REQUIRE(cond, code, ...) do { if (!(cond)) {                       \
      err = tess_error_push((code), __FILE__, __LINE__, __func__, __VA_ARGS__);  \
      goto cleanup; } } while (0)

/* Wrap an MPI call: an MPI failure becomes TESS_ERR_MPI with MPI's text. */
#define TESS_MPI_CHECK(call) do { int tess_m_ = (call);                          \
    if (tess_m_ != 0) {                                                          \
      err = tess_error_push_mpi(tess_m_, __FILE__, __LINE__, __func__, #call);   \
      goto cleanup; } } while (0)
tess_err_t tess_error_push_mpi(int mpi_code, const char *file, int line,
                               const char *func, const char *what);

TESS_API_END
#endif

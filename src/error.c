/* src/error.c: the per-thread error stack behind TESS_CHECK/TESS_REQUIRE.
 * Fixed-size storage: pushing an error must never itself allocate (it is
 * what runs when malloc has just failed). Frames beyond the cap are counted
 * but not stored. */
#include <tessera/error.h>

#include <mpi.h>
#include <stdarg.h>
#include <string.h>

#define MAX_FRAMES 32
#define MSG_LEN 512

typedef struct {
  const char *file, *func;
  int line;
  tess_err_t code;
  char msg[MSG_LEN];
} frame_t;

static _Thread_local frame_t frames[MAX_FRAMES];
static _Thread_local int nframes;
static _Thread_local tess_err_t first_code;

static const char *const names[TESS_ERR_NCODES] = {
  [TESS_OK] = "no error",
  [TESS_ERR_ARG] = "invalid argument",
  [TESS_ERR_MEM] = "out of memory",
  [TESS_ERR_MPI] = "MPI error",
  [TESS_ERR_IO] = "I/O error",
  [TESS_ERR_PARSE] = "parse error",
  [TESS_ERR_DECK] = "invalid deck",
  [TESS_ERR_SHAPE] = "shape mismatch",
  [TESS_ERR_UNSUPPORTED] = "unsupported",
  [TESS_ERR_NUMERIC] = "numerical failure",
  [TESS_ERR_HDF5] = "HDF5 error",
  [TESS_ERR_FFT] = "FFT error",
  [TESS_ERR_INTERRUPTED] = "interrupted",
  [TESS_ERR_INTERNAL] = "internal error",
  [TESS_ERR_DEVICE] = "device error",
  [TESS_ERR_EXTERNAL] = "external library error",
};

const char *tess_err_name(tess_err_t code)
{
  if (code < 0 || code >= TESS_ERR_NCODES) return "unknown error";
  return names[code];
}

tess_err_t tess_error_push(tess_err_t code, const char *file, int line,
                           const char *func, const char *fmt, ...)
{
  if (nframes == 0) first_code = code;
  if (nframes < MAX_FRAMES) {
    frame_t *f = &frames[nframes];
    const char *slash = file ? strrchr(file, '/') : NULL;
    f->file = slash ? slash + 1 : file;
    f->func = func;
    f->line = line;
    f->code = code;
    f->msg[0] = '\0';
    if (fmt) {
      va_list ap;
      va_start(ap, fmt);
      vsnprintf(f->msg, sizeof f->msg, fmt, ap);
      va_end(ap);
    }
  }
  nframes++;
  return code;
}

tess_err_t tess_error_push_mpi(int mpi_code, const char *file, int line,
                               const char *func, const char *what)
{
  char text[MPI_MAX_ERROR_STRING] = "";
  int len = 0;
  if (MPI_Error_string(mpi_code, text, &len) != MPI_SUCCESS) text[0] = '\0';
  return tess_error_push(TESS_ERR_MPI, file, line, func, "%s failed: %s", what, text);
}

int tess_error_depth(void) { return nframes; }

tess_err_t tess_error_code(void) { return nframes ? first_code : TESS_OK; }

const char *tess_error_message(void)
{
  for (int i = 0; i < nframes && i < MAX_FRAMES; i++)
    if (frames[i].msg[0]) return frames[i].msg;
  return nframes ? tess_err_name(first_code) : "";
}

void tess_error_print(FILE *fp)
{
  if (!nframes) return;
  fprintf(fp, "error: %s (%s)\n", tess_error_message(), tess_err_name(first_code));
  int n = nframes < MAX_FRAMES ? nframes : MAX_FRAMES;
  for (int i = 0; i < n; i++)
    fprintf(fp, "  at %s:%d in %s()%s%s\n", frames[i].file, frames[i].line, frames[i].func,
            frames[i].msg[0] ? ": " : "", frames[i].msg);
  if (nframes > n) fprintf(fp, "  ... %d more frames\n", nframes - n);
}

/* Not through TESS_REQUIRE: a bad index must not push onto the stack being read. */
tess_err_t tess_error_frame(int i, tess_error_frame_t *frame)
{
  if (!frame || i < 0 || i >= nframes || i >= MAX_FRAMES) return TESS_ERR_ARG;
  const frame_t *f = &frames[i];
  *frame = (tess_error_frame_t){f->code, f->file, f->line, f->func, f->msg};
  return TESS_OK;
}

void tess_error_clear(void) { nframes = 0; first_code = TESS_OK; }

/* spectral/fft_registry.c: the FFT backends compiled in, and the choice
 * among them (by name, or the first that accepts the arrays' memory). */
#include <string.h>

#include "fft_internal.h"

static const tess_fft_backend_t *const fft_backends[] = {
#if TESSERA_HAVE_CUFFT
  &tess_fft_backend_cufft,        /* device arrays */
#endif
  &tess_fft_backend_fftw,         /* host arrays */
};
#define NBACKENDS ((int)(sizeof fft_backends / sizeof fft_backends[0]))

int tess_fft_backend_count(void) { return NBACKENDS; }
const char *tess_fft_backend_name(int i)
{
  return (i >= 0 && i < NBACKENDS) ? fft_backends[i]->name : NULL;
}

tess_err_t tess_fft_backend_select(const char *name, tess_memspace_t space,
                                   const tess_fft_backend_t **be)
{
  tess_err_t err = TESS_OK;
  int automatic = !name || !*name || strcmp(name, "auto") == 0;
  *be = NULL;
  for (int i = 0; i < NBACKENDS; i++) {
    if (!automatic && strcmp(name, fft_backends[i]->name) != 0) continue;
    if (!fft_backends[i]->accepts(space)) {
      TESS_REQUIRE(automatic, TESS_ERR_UNSUPPORTED, "FFT backend '%s' cannot use %s memory",
                   name, space == TESS_MEM_HOST ? "host" : "device");
      continue;
    }
    *be = fft_backends[i];
    return TESS_OK;
  }
  TESS_REQUIRE(!automatic, TESS_ERR_UNSUPPORTED, "no FFT backend in this build accepts %s memory",
               space == TESS_MEM_HOST ? "host" : "device");
  TESS_REQUIRE(0, TESS_ERR_UNSUPPORTED, "unknown FFT backend '%s' (this build has: %s)", name,
               TESSERA_HAVE_CUFFT ? "cufft, fftw" : "fftw");
cleanup:
  return err;
}

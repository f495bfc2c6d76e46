/* spectral/fft_registry.c: the FFT backends compiled in, and the choice
 * among them (by name, or the first that accepts the arrays' memory; for
 * code that creates its arrays from a backend name, the memory that name
 * means: tess_fft_backend_memspace). */
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

static const char *space_name(tess_memspace_t space)
{
  return tess_memspace_is_host(space) ? "host" : "device";
}

tess_err_t tess_fft_backend_memspace(const char *name, tess_memspace_t *space)
{
  tess_err_t err = TESS_OK;
  int automatic = !name || !*name || strcmp(name, "auto") == 0;
  TESS_REQUIRE(space != NULL, TESS_ERR_ARG, "NULL space");
  *space = TESS_MEM_HOST;
  for (int i = 0; i < NBACKENDS; i++) {
    int dev = fft_backends[i]->accepts(TESS_MEM_DEVICE);
    if (automatic) {   /* the table's order: device backends first */
      if (dev && !tess_device_available()) continue;
      *space = dev ? TESS_MEM_DEVICE : TESS_MEM_HOST;
      return TESS_OK;
    }
    if (strcmp(name, fft_backends[i]->name) == 0) {
      *space = dev ? TESS_MEM_DEVICE : TESS_MEM_HOST;
      return TESS_OK;
    }
  }
  TESS_REQUIRE(automatic, TESS_ERR_UNSUPPORTED, "unknown FFT backend '%s' (this build has: %s)",
               name, TESSERA_HAVE_CUFFT ? "cufft, fftw" : "fftw");
cleanup:
  return err;
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
                   name, space_name(space));
      continue;
    }
    *be = fft_backends[i];
    return TESS_OK;
  }
  TESS_REQUIRE(!automatic, TESS_ERR_UNSUPPORTED, "no FFT backend in this build accepts %s memory",
               space_name(space));
  TESS_REQUIRE(0, TESS_ERR_UNSUPPORTED, "unknown FFT backend '%s' (this build has: %s)", name,
               TESSERA_HAVE_CUFFT ? "cufft, fftw" : "fftw");
cleanup:
  return err;
}

/* include/tessera/fft.h: distributed FFT plans (issue: spectral).
 * Placeholder: filled in by the work on that issue. */
#ifndef TESSERA_FFT_H
#define TESSERA_FFT_H
#include <tessera/error.h>
#endif

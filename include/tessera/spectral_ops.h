/* include/tessera/spectral_ops.h: spectral operators: thresholds, filters, derivatives (issue: spectral).
 * Placeholder: filled in by the work on that issue. */
#ifndef TESSERA_SPECTRAL_OPS_H
#define TESSERA_SPECTRAL_OPS_H
#include <tessera/error.h>
#endif

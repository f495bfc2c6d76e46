/* include/tessera/pinn.h: PINN operator library: MLP, Taylor jets, adjoints, optimizers (issue: PINN).
 * Placeholder: filled in by the work on that issue. */
#ifndef TESSERA_PINN_H
#define TESSERA_PINN_H
#include <tessera/error.h>
#endif

/* include/tessera/checkpoint.h: HDF5 checkpoints and restart (issue: checkpoints).
 * Placeholder: filled in by the work on that issue. */
#ifndef TESSERA_CHECKPOINT_H
#define TESSERA_CHECKPOINT_H
#include <tessera/error.h>
#endif

/* include/tessera/image.h: PNG images of 2-D slices (used by the studies).
 * Placeholder: filled in by the work on that issue. */
#ifndef TESSERA_IMAGE_H
#define TESSERA_IMAGE_H
#include <tessera/error.h>
#endif

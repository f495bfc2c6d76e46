/* include/tessera/image.h: PNG pictures of 2-D fields (slices of studies).
 * Rank-local: the caller gathers the slice first (tess_array_gather) and
 * writes on one rank. Colour mapping is a fixed table, so the same field
 * gives the same bytes on any machine: pictures are part of the bitwise
 * reproducibility promise. */
#ifndef TESSERA_IMAGE_H
#define TESSERA_IMAGE_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <tessera/error.h>

/* 8-bit RGB, row-major, rgb[3*(y*width+x)+c]. Writes via a temp file + rename. */
tess_err_t tess_image_write_png(const char *path, int width, int height,
                                const unsigned char *rgb);
/* Map field[y*width+x] linearly from [vmin,vmax] onto the viridis colour map;
 * NaN maps to grey. rgb holds 3*width*height bytes. */
tess_err_t tess_image_colormap(const double *field, int width, int height,
                               double vmin, double vmax, unsigned char *rgb);
/* npanels fields of width x height side by side with a 4-pixel white gap, all on
 * one colour scale [vmin,vmax] (vmin >= vmax: use the min/max over all panels). */
tess_err_t tess_image_panels_png(const char *path, int npanels, const double *const fields[],
                                 int width, int height, double vmin, double vmax);
TESS_API_END
#endif

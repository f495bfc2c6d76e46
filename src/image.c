/* src/image.c: PNG output with libpng and a fixed viridis table.
 * The colour map is interpolated from 9 fixed anchor colours with integer
 * rounding only at the end, so output bytes depend only on the field. */
#include <tessera/image.h>
#include <tessera/memory.h>

#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char viridis[9][3] = {
  {68, 1, 84}, {71, 44, 122}, {59, 81, 139}, {44, 113, 142}, {33, 144, 141},
  {39, 173, 129}, {92, 200, 99}, {170, 220, 50}, {253, 231, 37},
};

tess_err_t tess_image_colormap(const double *field, int width, int height,
                               double vmin, double vmax, unsigned char *rgb)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(field && rgb && width > 0 && height > 0, TESS_ERR_ARG,
               "colormap needs a field and a %dx%d picture", width, height);
  double span = vmax > vmin ? vmax - vmin : 1.0;
  for (long i = 0; i < (long)width * height; i++) {
    double v = field[i];
    unsigned char *px = rgb + 3 * i;
    if (isnan(v)) { px[0] = px[1] = px[2] = 128; continue; }
    double t = (v - vmin) / span;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    double pos = t * 8.0;
    int k = (int)pos;
    if (k > 7) k = 7;
    double f = pos - k;
    for (int c = 0; c < 3; c++)
      px[c] = (unsigned char)lround(viridis[k][c] + f * (viridis[k + 1][c] - viridis[k][c]));
  }
cleanup:
  return err;
}

/* libpng reports errors by longjmp: keep that inside this small function,
 * whose locals are not modified after setjmp. 0 on success. */
static int png_encode(FILE *fp, int width, int height, const unsigned char *rgb)
{
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  if (!png) return -1;
  png_infop info = png_create_info_struct(png);
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, info ? &info : NULL);
    return -1;
  }
  png_init_io(png, fp);
  png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height; y++)
    png_write_row(png, (png_const_bytep)(rgb + (size_t)3 * width * y));
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  return 0;
}

tess_err_t tess_image_write_png(const char *path, int width, int height,
                                const unsigned char *rgb)
{
  tess_err_t err = TESS_OK;
  FILE *fp = NULL;
  char tmp[4096];
  TESS_REQUIRE(path && rgb && width > 0 && height > 0, TESS_ERR_ARG, "bad PNG request");
  TESS_REQUIRE(snprintf(tmp, sizeof tmp, "%s.tmp", path) < (int)sizeof tmp, TESS_ERR_ARG,
               "path too long: %s", path);
  fp = fopen(tmp, "wb");
  TESS_REQUIRE(fp != NULL, TESS_ERR_IO, "cannot write %s", path);
  TESS_REQUIRE(png_encode(fp, width, height, rgb) == 0, TESS_ERR_IO, "libpng failed writing %s", path);
  TESS_REQUIRE(fclose(fp) == 0, TESS_ERR_IO, "cannot close %s", tmp);
  fp = NULL;
  TESS_REQUIRE(rename(tmp, path) == 0, TESS_ERR_IO, "cannot rename %s to %s", tmp, path);
cleanup:
  if (fp) { fclose(fp); remove(tmp); }
  return err;
}

tess_err_t tess_image_panels_png(const char *path, int npanels, const double *const fields[],
                                 int width, int height, double vmin, double vmax)
{
  tess_err_t err = TESS_OK;
  const int gap = 4;
  unsigned char *rgb = NULL, *panel = NULL;
  TESS_REQUIRE(npanels > 0 && fields && width > 0 && height > 0, TESS_ERR_ARG,
               "panels: %d panels of %dx%d", npanels, width, height);
  if (vmin >= vmax) {
    vmin = INFINITY; vmax = -INFINITY;
    for (int p = 0; p < npanels; p++)
      for (long i = 0; i < (long)width * height; i++)
        if (!isnan(fields[p][i])) {
          if (fields[p][i] < vmin) vmin = fields[p][i];
          if (fields[p][i] > vmax) vmax = fields[p][i];
        }
    if (!(vmin < vmax)) { vmin = 0; vmax = 1; }
  }
  int total = npanels * width + (npanels - 1) * gap;
  rgb = malloc((size_t)3 * total * height);
  panel = malloc((size_t)3 * width * height);
  TESS_REQUIRE(rgb && panel, TESS_ERR_MEM, "picture of %dx%d", total, height);
  memset(rgb, 255, (size_t)3 * total * height);
  for (int p = 0; p < npanels; p++) {
    TESS_CHECK(tess_image_colormap(fields[p], width, height, vmin, vmax, panel));
    for (int y = 0; y < height; y++)
      memcpy(rgb + 3 * ((size_t)y * total + (size_t)p * (width + gap)),
             panel + (size_t)3 * width * y, (size_t)3 * width);
  }
  TESS_CHECK(tess_image_write_png(path, total, height, rgb));
cleanup:
  free(rgb);
  free(panel);
  return err;
}

/* tests/io_image/test_image.c: a picture written by tess_image_panels_png is
 * read back with libpng directly (independent reader): size, the white gap,
 * and the end colours of the viridis map at the field's min and max. */
#include <tessera/tessera.h>
#include <png.h>
#include <string.h>
#include "tess_test.h"

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  const int w = 16, h = 8;
  double a[16 * 8], b[16 * 8];
  for (int i = 0; i < w * h; i++) { a[i] = i % w; b[i] = 15.0 - i % w; }
  const double *f[2] = {a, b};
  CHECK(tess_image_panels_png(argv[1], 2, f, w, h, 0, 0) == TESS_OK, "write");
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  CHECK(png_image_begin_read_from_file(&img, argv[1]), "read header");
  CHECK(img.width == 2u * w + 4 && img.height == (unsigned)h, "size %ux%u", img.width, img.height);
  img.format = PNG_FORMAT_RGB;
  unsigned char buf[3 * 36 * 8];
  CHECK(png_image_finish_read(&img, NULL, buf, 0, NULL), "read pixels");
  const unsigned char *first = buf, *last = buf + 3 * 15, *gap = buf + 3 * 17, *b0 = buf + 3 * 20;
  CHECK(first[0] == 68 && first[1] == 1 && first[2] == 84, "min colour");
  CHECK(last[0] == 253 && last[1] == 231 && last[2] == 37, "max colour");
  CHECK(gap[0] == 255 && gap[1] == 255 && gap[2] == 255, "gap is white");
  CHECK(b0[0] == 253, "second panel starts at the max");
  CHECK(tess_image_write_png("/nonexistent-dir/x.png", 1, 1, buf) == TESS_ERR_IO, "bad path");
  CHECK(strstr(tess_error_message(), "/nonexistent-dir/x.png") != NULL, "message names the file");
  int rc = tess_test_finish("image_png");
  MPI_Finalize();
  return rc;
}

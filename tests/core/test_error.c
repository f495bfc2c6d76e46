/* tests/core/test_error.c: the error stack records where and why, the first
 * message is the user-facing one, cleanup paths run, init/finalize nest, and
 * the counter-based RNG matches published Philox4x32-10 answers. */
#include <tessera/tessera.h>
#include <string.h>
#include "tess_test.h"

static int cleaned;

static tess_err_t inner(int x)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(x > 0, TESS_ERR_ARG, "x must be positive, got %d", x);
cleanup:
  return err;
}

static tess_err_t outer(int x)
{
  tess_err_t err = TESS_OK;
  void *p = NULL;
  TESS_CHECK(tess_malloc(TESS_MEM_HOST, 100, &p));
  TESS_CHECK(inner(x));
cleanup:
  tess_free(TESS_MEM_HOST, &p);
  cleaned = (p == NULL);
  return err;
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);               /* the caller owns MPI: Tessera must not finalise it */
  CHECK(tess_init(&argc, &argv) == TESS_OK, "init");
  CHECK(tess_init(NULL, NULL) == TESS_OK, "nested init");

  CHECK(outer(1) == TESS_OK && tess_error_depth() == 0, "success leaves no error");
  CHECK(outer(-3) == TESS_ERR_ARG, "code propagates");
  CHECK(cleaned, "cleanup ran on the error path");
  CHECK(tess_error_depth() == 2, "two frames, got %d", tess_error_depth());
  CHECK(strcmp(tess_error_message(), "x must be positive, got -3") == 0, "message: %s",
        tess_error_message());
  tess_error_clear();
  CHECK(tess_error_depth() == 0 && tess_error_code() == TESS_OK, "cleared");

  void *dev = (void *)1;
  tess_err_t e = tess_malloc(TESS_MEM_DEVICE, 8, &dev);
  if (!tess_device_available()) CHECK(e == TESS_ERR_UNSUPPORTED && dev == NULL, "device memory refused");
  else {   /* a GPU is there: a host -> device -> host round trip must return the bytes */
    double hin[1] = { 3.25 }, hout[1] = { 0 };
    CHECK(e == TESS_OK && dev != NULL, "device allocation");
    CHECK(tess_memcpy(TESS_MEM_DEVICE, dev, TESS_MEM_HOST, hin, 8) == TESS_OK
          && tess_memcpy(TESS_MEM_HOST, hout, TESS_MEM_DEVICE, dev, 8) == TESS_OK
          && hout[0] == 3.25, "device round trip");
    tess_free(TESS_MEM_DEVICE, &dev);
  }
  tess_error_clear();

  void *p = NULL;
  CHECK(tess_malloc(TESS_MEM_HOST, 1000, &p) == TESS_OK && ((uintptr_t)p % TESS_ALIGN) == 0, "aligned");
  tess_free(TESS_MEM_HOST, &p);
  CHECK(p == NULL, "free nulls");

  /* Philox4x32-10 known-answer tests (Random123 kat_vectors). */
  uint32_t w[4];
  tess_rng_philox(0, 0, 0, w);
  CHECK(w[0] == 0x6627e8d5u && w[1] == 0xe169c58du && w[2] == 0xbc57ac4cu && w[3] == 0x9b00dbd8u,
        "philox(0): %08x %08x %08x %08x", w[0], w[1], w[2], w[3]);
  tess_rng_philox(UINT64_MAX, UINT64_MAX, UINT64_MAX, w);
  CHECK(w[0] == 0x408f276du && w[1] == 0x41c83b0eu && w[2] == 0xa20bc7c6u && w[3] == 0x6d5451fdu,
        "philox(ff): %08x %08x %08x %08x", w[0], w[1], w[2], w[3]);
  double u = tess_rng_uniform(7, 1, 12345);
  CHECK(u >= 0 && u < 1, "uniform in [0,1)");

  tess_log_level_t l;
  CHECK(tess_log_level_parse("debug", &l) == TESS_OK && l == TESS_LOG_DEBUG, "level");
  CHECK(tess_log_level_parse("loud", &l) == TESS_ERR_ARG, "bad level");
  CHECK(strstr(tess_error_message(), "expected error, warn, info or debug") != NULL, "level msg");
  tess_error_clear();

  CHECK(tess_finalize() == TESS_OK && tess_initialized(), "inner finalize keeps it up");
  CHECK(tess_finalize() == TESS_OK && !tess_initialized(), "outer finalize");
  int fin = 0;
  MPI_Finalized(&fin);
  CHECK(!fin, "Tessera did not finalise the caller's MPI");
  int rc = tess_test_finish("core_error");
  MPI_Finalize();
  return rc;
}

/* tests/gpu/test_gpu_ml.c: the ML host operators (tessera/ml.h) handed a
 * CUDA device pointer must refuse it with TESS_ERR_UNSUPPORTED and a message
 * naming the argument, instead of crashing in the first load. Each case
 * passes one device buffer in one argument position, every other argument a
 * valid host buffer; pinned host memory is accepted and gives the host
 * result bitwise. tess_memspace_of is checked against the spaces the buffers
 * were allocated in (the allocator is the truth, not the query).
 * Without a GPU the test says so and exits 77 (CTest: skipped). */
#include <tessera/tessera.h>
#include <tessera/ml.h>
#include <tessera/ml_gpt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "tess_test.h"

enum { BUF = 1 << 16 };   /* bytes of every test buffer: more than any case reads */

static int ncases;

/* status TESS_ERR_UNSUPPORTED and a message naming argument `arg` */
static void expect_refused(tess_err_t got, const char *arg, const char *what)
{
  tess_error_frame_t f;
  char needle[64];
  ncases++;
  snprintf(needle, sizeof needle, "'%s'", arg);
  CHECK(got == TESS_ERR_UNSUPPORTED, "%s: status %d, expected TESS_ERR_UNSUPPORTED (%d)", what, (int)got,
        (int)TESS_ERR_UNSUPPORTED);
  if (got != TESS_OK && tess_error_frame(0, &f) == TESS_OK)
    CHECK(f.message && strstr(f.message, needle) && strstr(f.message, "device"),
          "%s: message '%s' lacks %s and 'device'", what, f.message ? f.message : "(none)", needle);
  tess_error_clear();
}

static void check_spaces(void *host, void *pinned, void *dev)
{
  tess_memspace_t s = -1;
  CHECK(tess_memspace_of(host, &s) == TESS_OK && s == TESS_MEM_HOST, "malloc'd memory: %s",
        tess_memspace_name(s));
  CHECK(tess_memspace_of(NULL, &s) == TESS_OK && s == TESS_MEM_HOST, "NULL: %s", tess_memspace_name(s));
  CHECK(tess_memspace_of(pinned, &s) == TESS_OK && s == TESS_MEM_HOST_PINNED, "pinned memory: %s",
        tess_memspace_name(s));
  CHECK(tess_memspace_of(dev, &s) == TESS_OK && tess_memspace_kind(s) == TESS_MEM_DEVICE, "device memory: %s",
        tess_memspace_name(s));
  /* a pointer inside a block, not only its start */
  CHECK(tess_memspace_of((char *)dev + 100, &s) == TESS_OK && tess_memspace_kind(s) == TESS_MEM_DEVICE,
        "inside a device block: %s", tess_memspace_name(s));
  CHECK(tess_memspace_of(host, NULL) == TESS_ERR_ARG, "NULL output accepted");
  tess_error_clear();
  ncases += 6;
}

static void check_refusals(void *h, void *D)
{
  tess_dtype_t t = TESS_F64;
  size_t r = 2, k = 4, n = 4, v = 8;
  double *H = h, mean[4], rstd[4], loss = 0, lse[64];
  int32_t *ids = calloc(64, sizeof *ids);
  int64_t pos[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  tess_ml_attn_t a = {1, 2, 2, 4, 4, 0.5, 1};
  tess_ml_adamw_t o = {1e-3, 0.9, 0.95, 1e-8, 0.01};
  for (int i = 0; i < 4; i++) mean[i] = 0, rstd[i] = 1;
  for (int i = 0; i < 64; i++) lse[i] = 0;

  expect_refused(tess_ml_linear(t, r, k, n, D, H, H, H), "x", "linear x");
  expect_refused(tess_ml_linear(t, r, k, n, H, D, H, H), "w", "linear w");
  expect_refused(tess_ml_linear(t, r, k, n, H, H, D, H), "bias", "linear bias");
  expect_refused(tess_ml_linear(t, r, k, n, H, H, NULL, D), "y", "linear y");
  expect_refused(tess_ml_linear_backward(t, r, k, n, H, H, D, H, H, H), "dy", "linear_backward dy");
  expect_refused(tess_ml_linear_backward(t, r, k, n, H, H, H, D, H, H), "dx", "linear_backward dx");
  expect_refused(tess_ml_linear_backward(t, r, k, n, H, H, H, H, D, H), "dw", "linear_backward dw");
  expect_refused(tess_ml_linear_backward(t, r, k, n, H, H, H, H, H, D), "dbias", "linear_backward dbias");

  expect_refused(tess_ml_layernorm(t, r, k, D, H, H, 1e-5, H, mean, rstd), "x", "layernorm x");
  expect_refused(tess_ml_layernorm(t, r, k, H, D, H, 1e-5, H, mean, rstd), "gamma", "layernorm gamma");
  expect_refused(tess_ml_layernorm(t, r, k, H, H, D, 1e-5, H, mean, rstd), "beta", "layernorm beta");
  expect_refused(tess_ml_layernorm(t, r, k, H, H, H, 1e-5, D, mean, rstd), "y", "layernorm y");
  expect_refused(tess_ml_layernorm(t, r, k, H, H, H, 1e-5, H, D, rstd), "mean", "layernorm mean");
  expect_refused(tess_ml_layernorm_backward(t, r, k, H, H, mean, rstd, H, D, H, H), "dx", "layernorm_backward dx");
  expect_refused(tess_ml_layernorm_backward(t, r, k, H, H, mean, rstd, H, H, D, H), "dgamma",
                 "layernorm_backward dgamma");
  expect_refused(tess_ml_layernorm_backward(t, r, k, H, H, mean, rstd, H, H, H, D), "dbeta",
                 "layernorm_backward dbeta");
  expect_refused(tess_ml_rmsnorm(t, r, k, D, H, 1e-5, H, rstd), "x", "rmsnorm x");
  expect_refused(tess_ml_rmsnorm(t, r, k, H, H, 1e-5, H, D), "rstd", "rmsnorm rstd");
  expect_refused(tess_ml_rmsnorm_backward(t, r, k, H, H, rstd, D, H, H), "dy", "rmsnorm_backward dy");

  expect_refused(tess_ml_gelu(t, n, D, H), "x", "gelu x");
  expect_refused(tess_ml_gelu(t, n, H, D), "y", "gelu y");
  expect_refused(tess_ml_gelu_backward(t, n, H, H, D), "dx", "gelu_backward dx");
  expect_refused(tess_ml_swiglu(t, r, k, D, H), "x", "swiglu x");
  expect_refused(tess_ml_swiglu_backward(t, r, k, H, D, H), "dy", "swiglu_backward dy");
  expect_refused(tess_ml_softmax(t, r, k, H, D), "y", "softmax y");
  expect_refused(tess_ml_softmax_backward(t, r, k, H, H, D), "dx", "softmax_backward dx");

  expect_refused(tess_ml_cross_entropy(t, r, v, D, ids, 0, &loss, NULL, NULL), "logits", "cross_entropy logits");
  expect_refused(tess_ml_cross_entropy(t, r, v, H, D, 0, &loss, NULL, NULL), "labels", "cross_entropy labels");
  expect_refused(tess_ml_cross_entropy(t, r, v, H, ids, 0, &loss, D, NULL), "loss_rows",
                 "cross_entropy loss_rows");
  expect_refused(tess_ml_cross_entropy(t, r, v, H, ids, 0, &loss, NULL, D), "dlogits", "cross_entropy dlogits");

  expect_refused(tess_ml_rotary(t, 2, 2, 4, pos, 10000, D, H), "x", "rotary x");
  expect_refused(tess_ml_rotary(t, 2, 2, 4, D, 10000, H, H), "pos", "rotary pos");
  expect_refused(tess_ml_rotary_backward(t, 2, 2, 4, pos, 10000, D, H), "dy", "rotary_backward dy");
  expect_refused(tess_ml_rotary_backward(t, 2, 2, 4, pos, 10000, H, D), "dx", "rotary_backward dx");

  expect_refused(tess_ml_embedding(t, 4, v, k, D, H, H), "ids", "embedding ids");
  expect_refused(tess_ml_embedding(t, 4, v, k, ids, D, H), "table", "embedding table");
  expect_refused(tess_ml_embedding_backward(t, 4, v, k, ids, H, D), "dtable", "embedding_backward dtable");

  expect_refused(tess_ml_flash_attention(t, &a, D, H, H, H, lse), "q", "flash_attention q");
  expect_refused(tess_ml_flash_attention(t, &a, H, H, D, H, lse), "v", "flash_attention v");
  expect_refused(tess_ml_flash_attention(t, &a, H, H, H, H, D), "lse", "flash_attention lse");
  expect_refused(tess_ml_flash_attention_backward(t, &a, H, H, H, H, lse, H, H, D, H), "dk",
                 "flash_attention_backward dk");

  expect_refused(tess_ml_adamw_step(t, n, &o, 1, 1.0, D, H, H, H), "p", "adamw p");
  expect_refused(tess_ml_adamw_step(t, n, &o, 1, 1.0, H, H, H, D), "v", "adamw v");

  /* the model's entry points take raw id buffers too */
  {
    tess_ml_gpt_config_t c = {8, 4, 8, 1, 2};
    tess_ml_gpt_t *g = NULL;
    CHECK(tess_ml_gpt_create(&c, TESS_F64, 1, &g) == TESS_OK, "gpt create");
    if (g) {
      expect_refused(tess_ml_gpt_forward_backward(g, 1, 4, D, ids, 0, 1, &loss), "tokens", "gpt tokens");
      expect_refused(tess_ml_gpt_forward_backward(g, 1, 4, ids, D, 0, 1, &loss), "targets", "gpt targets");
      expect_refused(tess_ml_gpt_next_logits(g, 4, D, lse), "tokens", "gpt next_logits tokens");
    }
    tess_ml_gpt_destroy(&g);
  }
  free(ids);
}

/* Pinned host memory is host memory: a linear layer on pinned buffers gives
 * the bits of the same layer on malloc'd ones. */
static void check_pinned_accepted(double *pin)
{
  size_t r = 3, k = 5, n = 4;
  double x[15], w[20], b[4], y[12];
  for (size_t i = 0; i < 15; i++) x[i] = tess_rng_normal(7, 1, i);
  for (size_t i = 0; i < 20; i++) w[i] = tess_rng_normal(7, 2, i);
  for (size_t i = 0; i < 4; i++) b[i] = tess_rng_normal(7, 3, i);
  double *px = pin, *pw = pin + 15, *pb = pin + 35, *py = pin + 39;
  memcpy(px, x, sizeof x);
  memcpy(pw, w, sizeof w);
  memcpy(pb, b, sizeof b);
  CHECK(tess_ml_linear(TESS_F64, r, k, n, x, w, b, y) == TESS_OK, "linear on host memory");
  CHECK(tess_ml_linear(TESS_F64, r, k, n, px, pw, pb, py) == TESS_OK, "linear on pinned memory");
  CHECK(memcmp(y, py, sizeof y) == 0, "pinned result differs from the host one");
  tess_error_clear();
  ncases++;
}

int main(int argc, char **argv)
{
  int rank = 0;
  void *host = NULL, *pinned = NULL, *dev = NULL;
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  CHECK(tess_init(&argc, &argv) == TESS_OK, "tess_init");
  if (!tess_device_available()) {
    if (rank == 0) printf("test_gpu_ml: no GPU visible to this process (%s build): skipped\n",
                          tess_device_backend_name());
    tess_finalize();
    MPI_Finalize();
    return 77;
  }
  CHECK(tess_calloc(TESS_MEM_HOST, BUF, &host) == TESS_OK, "host buffer");
  CHECK(tess_calloc(TESS_MEM_HOST_PINNED, BUF, &pinned) == TESS_OK, "pinned buffer");
  CHECK(tess_calloc(TESS_MEM_DEVICE, BUF, &dev) == TESS_OK, "device buffer");
  if (host && pinned && dev) {
    check_spaces(host, pinned, dev);
    check_refusals(host, dev);
    check_pinned_accepted(pinned);
  }
  if (rank == 0) printf("test_gpu_ml: %d cases\n", ncases);
  tess_free(TESS_MEM_DEVICE, &dev);
  tess_free(TESS_MEM_HOST_PINNED, &pinned);
  tess_free(TESS_MEM_HOST, &host);
  int rc = tess_test_finish("test_gpu_ml");
  tess_finalize();
  MPI_Finalize();
  return rc;
}

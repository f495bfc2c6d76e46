/* tests/core/test_error.c: the error stack records where and why, the first
 * message is the user-facing one, cleanup paths run and free what was taken
 * (live heap blocks counted by an interposed malloc family, with a leaking
 * positive control), init/finalize nest, and the counter-based RNG matches
 * published Philox4x32-10 answers. */
#define _GNU_SOURCE
#include <tessera/tessera.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "tess_test.h"

/* ---- live-block tracker ----------------------------------------------------
 * While `tracking`, every block the malloc family hands out (to anyone: the
 * test, libtessera, libc) goes into a table; free takes it out. What is left
 * when tracking stops was not freed. Not under ASan, whose runtime owns
 * malloc (its leak checker covers that build). */
#if defined(__SANITIZE_ADDRESS__)
#define TRACKER 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TRACKER 0
#endif
#endif
#ifndef TRACKER
#define TRACKER 1
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

#define NLIVE 4096
static void *live[NLIVE];
static int tracking, live_overflow;
static long tracked_allocs;   /* blocks handed out in the window */

static void track(void *p)
{
  if (!tracking || !p) return;
  tracked_allocs++;
  for (int i = 0; i < NLIVE; i++)
    if (!live[i]) { live[i] = p; return; }
  live_overflow = 1;
}
static void untrack(void *p)
{
  if (!p) return;
  for (int i = 0; i < NLIVE; i++)
    if (live[i] == p) { live[i] = NULL; return; }
}
static int live_blocks(void)
{
  int n = 0;
  for (int i = 0; i < NLIVE; i++) n += live[i] != NULL;
  return n;
}
void *malloc(size_t n) { void *p = __libc_malloc(n); track(p); return p; }
void *calloc(size_t m, size_t n) { void *p = __libc_calloc(m, n); track(p); return p; }
void *realloc(void *q, size_t n)
{
  void *p = __libc_realloc(q, n);
  if (p || !n) untrack(q);
  track(p);
  return p;
}
void free(void *p) { untrack(p); __libc_free(p); }
void *aligned_alloc(size_t a, size_t n) { void *p = __libc_memalign(a, n); track(p); return p; }
void *memalign(size_t a, size_t n) { void *p = __libc_memalign(a, n); track(p); return p; }
int posix_memalign(void **out, size_t a, size_t n)
{
  void *p = __libc_memalign(a, n);
  if (!p) return ENOMEM;
  track(p);
  *out = p;
  return 0;
}
#endif

/* What outer()'s cleanup saw: set only when control reaches the label, so a
 * TESS_CHECK that returned early (skipping cleanup) leaves them unset. */
static int cleanup_runs, cleanup_had_block, cleanup_freed;
static tess_err_t cleanup_err = -1;

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
  cleanup_runs++;
  cleanup_err = err;
  cleanup_had_block = p != NULL;
  tess_free(TESS_MEM_HOST, &p);
  cleanup_freed = p == NULL;
  return err;
}

#if TRACKER
/* The positive control: returns on the error without its cleanup. */
static tess_err_t outer_leaky(int x)
{
  tess_err_t err = TESS_OK;
  void *p = NULL;
  TESS_CHECK(tess_malloc(TESS_MEM_HOST, 100, &p));
  err = inner(x);
  if (err) return err;   /* the bug the tracker must see */
cleanup:
  tess_free(TESS_MEM_HOST, &p);
  return err;
}

/* Blocks left live by f(x) and the error stack it leaves (cleared inside
 * the window, so frames the stack allocates are not counted as leaks). */
static int leaked_by(tess_err_t (*f)(int), int x)
{
  f(x);                          /* warm-up: lazily made state is not a leak */
  tess_error_clear();
  memset(live, 0, sizeof live);
  tracked_allocs = 0;
  tracking = 1;
  f(x);
  tess_error_clear();
  tracking = 0;
  return live_blocks();
}

/* A library error path that fails after allocating: a TOML document whose
 * error comes after tables and strings were built. */
static tess_err_t parse_bad_toml(int x)
{
  static const char text[] = "[a]\nname = \"some string\"\nlist = [1, 2, 3]\n[b.c]\nv = 1.5\nbroken = [1, 2\n";
  tess_toml_doc_t *doc = NULL;
  tess_err_t err = tess_toml_parse_string(text, sizeof text - 1, "bad.toml", &doc);
  (void)x;
  tess_toml_doc_destroy(&doc);
  return err;
}
#endif

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);               /* the caller owns MPI: Tessera must not finalise it */
  CHECK(tess_init(&argc, &argv) == TESS_OK, "init");
  CHECK(tess_init(NULL, NULL) == TESS_OK, "nested init");

  CHECK(outer(1) == TESS_OK && tess_error_depth() == 0, "success leaves no error");
  CHECK(cleanup_runs == 1 && cleanup_err == TESS_OK, "cleanup ran on success");
  CHECK(outer(-3) == TESS_ERR_ARG, "code propagates");
  CHECK(cleanup_runs == 2 && cleanup_err == TESS_ERR_ARG, "cleanup ran on the error path (runs %d, err %d)",
        cleanup_runs, cleanup_err);
  CHECK(cleanup_had_block && cleanup_freed, "the block taken before the error was freed there");
  CHECK(tess_error_depth() == 2, "two frames, got %d", tess_error_depth());
#if TRACKER
  {   /* on the heap: nothing left by the error path; the leaky control is seen */
    int n_ok = leaked_by(outer, -3), n_leak = leaked_by(outer_leaky, -3);
    int n_toml = leaked_by(parse_bad_toml, 0);
    long toml_allocs = tracked_allocs;
    CHECK(!live_overflow, "tracker table overflowed");
    CHECK(n_ok == 0, "outer's error path left %d heap blocks live", n_ok);
    CHECK(n_leak == 1, "the leaking control left %d blocks live, expected 1 (the tracker is blind)", n_leak);
    CHECK(n_toml == 0, "a failed TOML parse left %d heap blocks live", n_toml);
    CHECK(toml_allocs > 2, "the failed TOML parse allocated only %ld blocks: not a cleanup test", toml_allocs);
    CHECK(parse_bad_toml(0) != TESS_OK, "the bad TOML document parsed");
    tess_error_clear();
    CHECK(outer(-3) == TESS_ERR_ARG, "code propagates (again)");
  }
#endif
  CHECK(strcmp(tess_error_message(), "x must be positive, got -3") == 0, "message: %s",
        tess_error_message());

  /* The frame iterator gives the same stack without parsing printed text. */
  tess_error_frame_t f0, f1, fx = {0};
  CHECK(tess_error_frame(0, &f0) == TESS_OK && tess_error_frame(1, &f1) == TESS_OK, "two frames readable");
  CHECK(f0.code == TESS_ERR_ARG && strcmp(f0.func, "inner") == 0 && strcmp(f0.file, "test_error.c") == 0 &&
            f0.line > 0 && strcmp(f0.message, "x must be positive, got -3") == 0,
        "frame 0: %d %s %s:%d '%s'", f0.code, f0.func, f0.file, f0.line, f0.message);
  CHECK(f1.code == TESS_ERR_ARG && strcmp(f1.func, "outer") == 0 && f1.message[0] == '\0' && f1.line > f0.line,
        "frame 1: %s:%d '%s'", f1.func, f1.line, f1.message);
  CHECK(tess_error_frame(2, &fx) == TESS_ERR_ARG && tess_error_frame(-1, &fx) == TESS_ERR_ARG &&
            tess_error_frame(0, NULL) == TESS_ERR_ARG && fx.func == NULL,
        "out-of-range frames refused, nothing written");
  CHECK(tess_error_depth() == 2, "reading frames leaves the stack as it was");
  tess_error_clear();
  CHECK(tess_error_frame(0, &fx) == TESS_ERR_ARG, "no frames after clear");
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

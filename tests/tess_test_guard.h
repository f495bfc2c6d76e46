/* tests/tess_test_guard.h: checks of refusals shared by the C tests: the
 * host-only guard (TESS_REQUIRE_HOST) on device arrays, and a status with
 * its message. */
#ifndef TESS_TEST_GUARD_H
#define TESS_TEST_GUARD_H
#include <string.h>
#include <tessera/tessera.h>

#include "tess_test.h"

/* 1 if some frame of the error stack says `what`. */
static inline int tess_test_error_mentions(const char *what)
{
  tess_error_frame_t f;
  for (int i = 0; i < tess_error_depth(); i++)
    if (tess_error_frame(i, &f) == TESS_OK && f.message && strstr(f.message, what)) return 1;
  return 0;
}

/* e must be TESS_ERR_UNSUPPORTED with an error naming func; clears the stack. */
static inline void tess_test_expect_unsupported(tess_err_t e, const char *func)
{
  CHECK(e == TESS_ERR_UNSUPPORTED, "%s on a device array gave %s", func, tess_err_name(e));
  CHECK(tess_test_error_mentions(func), "%s's error does not name it: %s", func,
        tess_error_message());
  tess_error_clear();
}

/* got must be `want`, and the innermost error frame's message must hold
 * `needle`; clears the stack. `what` names the case in the failure. */
static inline void tess_test_expect_err(tess_err_t got, tess_err_t want, const char *needle,
                                        const char *what)
{
  tess_error_frame_t f;
  CHECK(got == want, "%s: status %d, expected %d", what, (int)got, (int)want);
  if (got != TESS_OK && tess_error_frame(0, &f) == TESS_OK)
    CHECK(f.message && strstr(f.message, needle), "%s: message '%s' lacks '%s'", what,
          f.message ? f.message : "(none)", needle);
  tess_error_clear();
}
#endif

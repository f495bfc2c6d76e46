/* tests/toml/fuzz_toml.c: libFuzzer target for the TOML parser.
 * Parses arbitrary bytes, then walks the whole tree through the public API
 * (every accessor on every node), so a malformed tree would show up as a
 * sanitizer report, not only a malformed parse. Built with clang
 * (-fsanitize=fuzzer,address,undefined) when TESSERA_FUZZ=ON. */
#include <tessera/toml.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static size_t walk(const tess_toml_value_t *v)
{
  size_t sum = (size_t)tess_toml_line(v) + (size_t)tess_toml_column(v);
  int64_t i;
  double d;
  int b;
  const char *s;
  size_t len;
  tess_toml_datetime_t dt;
  if (tess_toml_as_int(v, &i) == TESS_OK) sum += (size_t)i;
  if (tess_toml_as_double(v, &d) == TESS_OK) sum += d > 0;
  if (tess_toml_as_bool(v, &b) == TESS_OK) sum += (size_t)b;
  if (tess_toml_as_string(v, &s, &len) == TESS_OK) sum += len + (len ? (unsigned char)s[len - 1] : 0);
  if (tess_toml_as_datetime(v, &dt) == TESS_OK) sum += (size_t)dt.nanosecond;
  tess_error_clear();
  for (size_t k = 0; k < tess_toml_len(v); k++) {
    const char *key = tess_toml_key_at(v, k);
    if (key) {
      sum += tess_toml_key_len(v, k);
      sum += tess_toml_get(v, key) != NULL;
    }
    sum += walk(tess_toml_at(v, k));
  }
  return sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  tess_toml_doc_t *doc = NULL;
  if (tess_toml_parse_string((const char *)data, size, "fuzz", &doc) == TESS_OK) {
    volatile size_t sink = walk(tess_toml_root(doc));
    (void)sink;
  }
  tess_error_clear();
  tess_toml_doc_destroy(&doc);
  return 0;
}

/* tests/toml/test_toml_api.c: the read-only TOML accessor API, and inputs a
 * parser must survive: depth exactly at and just over the cap, a 16 MiB
 * string, a 10^5-element array on one line, a 10^5-key table, an empty file,
 * a directory and a missing file. Truth: values written into the text here
 * (the spec's meaning of the literal), never what the parser printed. */
#include <tessera/toml.h>
#include "tess_test.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static tess_toml_doc_t *parse(const char *text)
{
  tess_toml_doc_t *doc = NULL;
  tess_err_t e = tess_toml_parse_string(text, strlen(text), "test.toml", &doc);
  CHECK(e == TESS_OK, "parse failed: %s", tess_error_message());
  tess_error_clear();
  return doc;
}

/* Parse must fail with a message containing `want`. */
static void reject(const char *text, size_t len, const char *want)
{
  tess_toml_doc_t *doc = NULL;
  tess_err_t e = tess_toml_parse_string(text, len, "bad.toml", &doc);
  CHECK(e == TESS_ERR_PARSE && doc == NULL, "accepted: %.60s", text);
  CHECK(strstr(tess_error_message(), want) != NULL, "message '%s' lacks '%s'", tess_error_message(), want);
  tess_error_clear();
  tess_toml_doc_destroy(&doc);
}

static void test_accessors(void)
{
  tess_toml_doc_t *doc = parse(
      "title = \"Tessera\"\n"
      "[grid]\n"
      "n = [64, 32, 8]\n"
      "dx = 0.5\n"
      "periodic = true\n"
      "[\"quoted.table\"]\n"
      "x = -7\n"
      "[[run]]\n"
      "when = 1979-05-27T07:32:00.25+01:30\n"
      "[[run]]\n"
      "when = 07:32:01\n"
      "[order]\n"
      "zeta = 1\nalpha = 2\nmid = 3\n");
  if (!doc) return;
  const tess_toml_value_t *root = tess_toml_root(doc), *v;
  CHECK(strcmp(tess_toml_doc_name(doc), "test.toml") == 0, "doc name");
  CHECK(tess_toml_type(root) == TESS_TOML_TABLE && tess_toml_len(root) == 5, "root: %zu keys", tess_toml_len(root));

  const char *s = NULL;
  size_t len = 0;
  v = tess_toml_get(root, "title");
  CHECK(v && tess_toml_as_string(v, &s, &len) == TESS_OK && strcmp(s, "Tessera") == 0 && len == 7, "title");
  CHECK(tess_toml_line(v) == 1 && tess_toml_column(v) == 9, "title at %d:%d", tess_toml_line(v), tess_toml_column(v));

  v = tess_toml_get(root, "grid.n");
  CHECK(v && tess_toml_type(v) == TESS_TOML_ARRAY && tess_toml_len(v) == 3, "grid.n array");
  int64_t n2 = 0;
  CHECK(tess_toml_as_int(tess_toml_at(v, 1), &n2) == TESS_OK && n2 == 32, "grid.n[1] = %lld", (long long)n2);
  CHECK(tess_toml_at(v, 3) == NULL, "out of range item");
  CHECK(tess_toml_line(v) == 3, "grid.n line %d", tess_toml_line(v));

  double dx = 0;
  CHECK(tess_toml_as_double(tess_toml_get(root, "grid.dx"), &dx) == TESS_OK && dx == 0.5, "dx");
  double n0 = 0;   /* as_double accepts integers */
  CHECK(tess_toml_as_double(tess_toml_at(v, 0), &n0) == TESS_OK && n0 == 64.0, "int as double");
  int b = 0;
  CHECK(tess_toml_as_bool(tess_toml_get(root, "grid.periodic"), &b) == TESS_OK && b == 1, "periodic");

  /* wrong type: an error that names both types and the line */
  int64_t bad;
  CHECK(tess_toml_as_int(tess_toml_get(root, "grid.dx"), &bad) == TESS_ERR_ARG, "float as int must fail");
  CHECK(strstr(tess_error_message(), "expected integer, found float") &&
        strstr(tess_error_message(), "line 4"), "message: %s", tess_error_message());
  tess_error_clear();

  int64_t x = 0;
  CHECK(tess_toml_as_int(tess_toml_get(root, "\"quoted.table\".x"), &x) == TESS_OK && x == -7, "quoted path");
  CHECK(tess_toml_get(root, "quoted.table.x") == NULL, "unquoted path must not match a quoted key");
  CHECK(tess_toml_get(root, "grid.n.x") == NULL, "path through an array");
  CHECK(tess_toml_get(root, "grid..n") == NULL && tess_error_depth() == 0, "malformed path is just absent");
  CHECK(tess_toml_get(root, "nope") == NULL, "absent key");

  v = tess_toml_get(root, "run");
  CHECK(v && tess_toml_len(v) == 2, "array of tables");
  tess_toml_datetime_t dt;
  const tess_toml_value_t *w = tess_toml_get(tess_toml_at(v, 0), "when");
  CHECK(w && tess_toml_type(w) == TESS_TOML_DATETIME && tess_toml_as_datetime(w, &dt) == TESS_OK, "datetime");
  CHECK(dt.year == 1979 && dt.month == 5 && dt.day == 27 && dt.hour == 7 && dt.minute == 32 &&
        dt.second == 0 && dt.nanosecond == 250000000 && dt.offset_minutes == 90, "datetime fields");
  w = tess_toml_get(tess_toml_at(v, 1), "when");
  CHECK(w && tess_toml_type(w) == TESS_TOML_TIME_LOCAL && tess_toml_as_datetime(w, &dt) == TESS_OK &&
        dt.second == 1 && dt.year == 0, "local time");
  CHECK(strcmp(tess_toml_type_name(tess_toml_type(w)), "local time") == 0, "type name");

  const tess_toml_value_t *ord = tess_toml_get(root, "order");
  const char *want[] = {"zeta", "alpha", "mid"};
  for (size_t i = 0; i < 3; i++) {
    int64_t k = 0;
    CHECK(tess_toml_key_at(ord, i) && strcmp(tess_toml_key_at(ord, i), want[i]) == 0, "file order %zu", i);
    CHECK(tess_toml_as_int(tess_toml_at(ord, i), &k) == TESS_OK && k == (int64_t)i + 1, "value order %zu", i);
  }
  CHECK(tess_toml_key_at(ord, 3) == NULL && tess_toml_key_at(v, 0) == NULL, "key_at bounds");
  tess_toml_doc_destroy(&doc);
  CHECK(doc == NULL, "destroy sets NULL");
  tess_toml_doc_destroy(&doc);   /* safe twice */
  tess_toml_doc_destroy(NULL);
}

static void test_nul_in_string(void)
{
  const char text[] = "k = \"a\\u0000b\"\n\"\\u0000\" = 1\n";
  tess_toml_doc_t *doc = parse(text);
  if (!doc) return;
  const char *s;
  size_t len;
  CHECK(tess_toml_as_string(tess_toml_get(tess_toml_root(doc), "k"), &s, &len) == TESS_OK && len == 3 &&
        s[1] == '\0' && s[2] == 'b', "string with U+0000");
  CHECK(tess_toml_key_len(tess_toml_root(doc), 1) == 1, "key with U+0000");
  tess_toml_doc_destroy(&doc);
  reject("a = 1\0b = 2\n", 12, "control character U+0000");   /* a raw NUL byte */
}

static char *repeat(const char *head, const char *unit, size_t times, const char *tail)
{
  size_t hu = strlen(head), uu = strlen(unit), tu = strlen(tail);
  char *s = malloc(hu + uu * times + tu + 1), *p = s;
  if (!s) return NULL;
  memcpy(p, head, hu); p += hu;
  for (size_t i = 0; i < times; i++) { memcpy(p, unit, uu); p += uu; }
  memcpy(p, tail, tu + 1);
  return s;
}

static void test_depth(void)
{
  /* "a = [[...]]": the array is depth 1, so 128 brackets is the most allowed */
  int d = TESS_TOML_MAX_DEPTH;
  char *open = repeat("a = ", "[", (size_t)d, ""), *text = NULL;
  char *close = repeat(open, "]", (size_t)d, "\n");
  tess_toml_doc_t *doc = NULL;
  CHECK(tess_toml_parse_string(close, strlen(close), "deep", &doc) == TESS_OK, "depth %d: %s", d,
        tess_error_message());
  tess_error_clear();
  tess_toml_doc_destroy(&doc);
  free(open); free(close);
  open = repeat("a = ", "[", (size_t)d + 1, "");
  text = repeat(open, "]", (size_t)d + 1, "\n");
  reject(text, strlen(text), "nesting deeper than 128 levels");
  free(open); free(text);
  /* a million unclosed brackets: an error, not a stack overflow */
  text = repeat("a = ", "[", 1000000, "");
  reject(text, strlen(text), "nesting deeper");
  free(text);
  text = repeat("a = ", "{b=", 1000000, "");
  reject(text, strlen(text), "nesting deeper");
  free(text);
  text = repeat("[x", ".x", 100000, "]\n");
  reject(text, strlen(text), "nesting deeper");
  free(text);
}

static void test_big(void)
{
  /* a 16 MiB basic string */
  size_t n = (size_t)16 << 20;
  char *text = repeat("s = \"", "x", n, "\"\n");
  tess_toml_doc_t *doc = NULL;
  const char *s;
  size_t len = 0;
  CHECK(tess_toml_parse_string(text, strlen(text), "big", &doc) == TESS_OK, "16 MiB string");
  CHECK(doc && tess_toml_as_string(tess_toml_get(tess_toml_root(doc), "s"), &s, &len) == TESS_OK && len == n,
        "length %zu", len);
  tess_toml_doc_destroy(&doc);
  free(text);
  /* 10^5 integers on one line, then an error at its end: the column is right */
  text = repeat("a = [", "1,", 100000, "]\nb = ?\n");
  CHECK(tess_toml_parse_string(text, strlen(text) - 7, "line", &doc) == TESS_OK, "long line");
  CHECK(doc && tess_toml_len(tess_toml_get(tess_toml_root(doc), "a")) == 100000, "10^5 items");
  tess_toml_doc_destroy(&doc);
  reject(text, strlen(text), "bad.toml:2:5: expected a value");
  free(text);
  /* 10^5 keys in one table, last one duplicated */
  size_t nk = 100000, cap = nk * 16 + 64, o = 0;
  text = malloc(cap);
  for (size_t i = 0; i < nk; i++) o += (size_t)snprintf(text + o, cap - o, "k%zu = %zu\n", i, i);
  CHECK(tess_toml_parse_string(text, o, "keys", &doc) == TESS_OK, "10^5 keys");
  int64_t v = 0;
  CHECK(doc && tess_toml_as_int(tess_toml_get(tess_toml_root(doc), "k77777"), &v) == TESS_OK && v == 77777,
        "hash lookup");
  CHECK(doc && strcmp(tess_toml_key_at(tess_toml_root(doc), 99999), "k99999") == 0, "order kept");
  tess_toml_doc_destroy(&doc);
  o += (size_t)snprintf(text + o, cap - o, "k31 = 0\n");
  reject(text, o, "duplicate key 'k31' (already defined at line 32");
  free(text);
}

static void test_files(void)
{
  tess_toml_doc_t *doc = NULL;
  char dir[] = "/tmp/tess_toml_XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  CHECK(tess_toml_parse_file(dir, &doc) == TESS_ERR_IO && strstr(tess_error_message(), "is a directory"),
        "directory: %s", tess_error_message());
  tess_error_clear();
  char path[64];
  snprintf(path, sizeof path, "%s/missing.toml", dir);
  CHECK(tess_toml_parse_file(path, &doc) == TESS_ERR_IO && strstr(tess_error_message(), "No such file"),
        "missing: %s", tess_error_message());
  tess_error_clear();
  snprintf(path, sizeof path, "%s/empty.toml", dir);
  FILE *fp = fopen(path, "w");
  if (fp) fclose(fp);
  CHECK(tess_toml_parse_file(path, &doc) == TESS_OK && tess_toml_len(tess_toml_root(doc)) == 0, "empty file");
  tess_toml_doc_destroy(&doc);
  fp = fopen(path, "w");
  if (fp) { fputs("a = 1\n\n[t]\nb = \"open\n", fp); fclose(fp); }
  CHECK(tess_toml_parse_file(path, &doc) == TESS_ERR_PARSE, "bad file");
  char want[96];
  snprintf(want, sizeof want, "%s:4:10: unterminated string", path);
  CHECK(strstr(tess_error_message(), want), "message '%s' lacks '%s'", tess_error_message(), want);
  tess_error_clear();
  unlink(path);
  rmdir(dir);
}

static void test_messages(void)
{
  reject("a = 1\nb = 2\n[t]\nc = \"x\" y\n", 25, "bad.toml:4:9: expected end of line after the value of 'c', found 'y'");
  reject("x = 0x_1\n", 9, "bad.toml:1:5: invalid hexadecimal integer");
  reject("[a]\n[a]\n", 8, "bad.toml:2:1: table [a] defined twice (first at line 1)");
  reject("a = 1979-02-29\n", 15, "day 29 does not exist in 1979-02");
  reject("é = 1\n", 7, "bad.toml:1:1: expected a key");
  reject("a = \"é\" é\n", 12, "bad.toml:1:9:");   /* columns count characters */
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  test_accessors();
  test_nul_in_string();
  test_depth();
  test_big();
  test_files();
  test_messages();
  int rc = tess_test_finish("toml_api");
  MPI_Finalize();
  return rc;
}

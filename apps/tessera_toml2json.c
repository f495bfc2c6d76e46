/* apps/tessera_toml2json.c: TOML on stdin -> tagged JSON on stdout.
 * The decoder interface of the toml-test suite: exit 0 and the document as
 * JSON where every leaf is {"type": T, "value": "text"}, or exit 1 with the
 * parse error (file:line:column: what was expected) on stderr. It is how the
 * conformance test drives Tessera's parser, and a handy deck debugger. */
#include <tessera/toml.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_json_string(const char *s, size_t len)
{
  putchar('"');
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '"': fputs("\\\"", stdout); break;
    case '\\': fputs("\\\\", stdout); break;
    case '\n': fputs("\\n", stdout); break;
    case '\t': fputs("\\t", stdout); break;
    case '\r': fputs("\\r", stdout); break;
    case '\b': fputs("\\b", stdout); break;
    case '\f': fputs("\\f", stdout); break;
    default:
      if (c < 0x20 || c == 0x7F) printf("\\u%04x", c);
      else putchar(c);
    }
  }
  putchar('"');
}

static void put_tagged(const char *type, const char *text)
{
  printf("{\"type\":\"%s\",\"value\":", type);
  put_json_string(text, strlen(text));
  putchar('}');
}

static void put_datetime(const tess_toml_value_t *v)
{
  tess_toml_datetime_t d;
  char buf[96], frac[16] = "";
  tess_toml_as_datetime(v, &d);
  if (d.nanosecond) snprintf(frac, sizeof frac, ".%09d", d.nanosecond);
  switch (tess_toml_type(v)) {
  case TESS_TOML_DATE_LOCAL:
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year, d.month, d.day);
    put_tagged("date-local", buf);
    break;
  case TESS_TOML_TIME_LOCAL:
    snprintf(buf, sizeof buf, "%02d:%02d:%02d%s", d.hour, d.minute, d.second, frac);
    put_tagged("time-local", buf);
    break;
  case TESS_TOML_DATETIME_LOCAL:
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%s", d.year, d.month, d.day, d.hour,
             d.minute, d.second, frac);
    put_tagged("datetime-local", buf);
    break;
  default: {
    int off = d.offset_minutes, a = off < 0 ? -off : off;
    char tz[16];
    if (off == 0) snprintf(tz, sizeof tz, "Z");
    else snprintf(tz, sizeof tz, "%c%02d:%02d", off < 0 ? '-' : '+', a / 60, a % 60);
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", d.year, d.month, d.day, d.hour,
             d.minute, d.second, frac, tz);
    put_tagged("datetime", buf);
  }
  }
}

/* Depth is capped by the parser (TESS_TOML_MAX_DEPTH), so recursion is safe. */
static void put_value(const tess_toml_value_t *v)
{
  char buf[64];
  switch (tess_toml_type(v)) {
  case TESS_TOML_TABLE:
    putchar('{');
    for (size_t i = 0; i < tess_toml_len(v); i++) {
      const char *k = tess_toml_key_at(v, i);
      if (i) putchar(',');
      put_json_string(k, tess_toml_key_len(v, i));
      putchar(':');
      put_value(tess_toml_at(v, i));
    }
    putchar('}');
    break;
  case TESS_TOML_ARRAY:
    putchar('[');
    for (size_t i = 0; i < tess_toml_len(v); i++) {
      if (i) putchar(',');
      put_value(tess_toml_at(v, i));
    }
    putchar(']');
    break;
  case TESS_TOML_STRING: {
    const char *s;
    size_t len;
    tess_toml_as_string(v, &s, &len);
    fputs("{\"type\":\"string\",\"value\":", stdout);
    put_json_string(s, len);
    putchar('}');
    break;
  }
  case TESS_TOML_INT: {
    int64_t x;
    tess_toml_as_int(v, &x);
    snprintf(buf, sizeof buf, "%lld", (long long)x);
    put_tagged("integer", buf);
    break;
  }
  case TESS_TOML_FLOAT: {
    double x;
    tess_toml_as_double(v, &x);
    if (isnan(x)) snprintf(buf, sizeof buf, "nan");
    else if (isinf(x)) snprintf(buf, sizeof buf, "%sinf", x < 0 ? "-" : "");
    else snprintf(buf, sizeof buf, "%.17g", x);
    put_tagged("float", buf);
    break;
  }
  case TESS_TOML_BOOL: {
    int b;
    tess_toml_as_bool(v, &b);
    put_tagged("bool", b ? "true" : "false");
    break;
  }
  default:
    put_datetime(v);
  }
}

int main(int argc, char **argv)
{
  if (argc > 1) {
    fprintf(stderr, "usage: %s < file.toml > file.json\n"
            "Reads TOML 1.0 on standard input, writes toml-test tagged JSON; exit 1 if invalid.\n", argv[0]);
    return 2;
  }
  size_t n = 0, cap = 1 << 16;
  char *text = malloc(cap);
  if (!text) return 3;
  for (;;) {
    if (n == cap) {
      char *p = realloc(text, cap *= 2);
      if (!p) { free(text); fprintf(stderr, "out of memory reading stdin\n"); return 3; }
      text = p;
    }
    size_t got = fread(text + n, 1, cap - n, stdin);
    if (got == 0) break;
    n += got;
  }
  tess_toml_doc_t *doc = NULL;
  tess_err_t err = tess_toml_parse_string(text, n, "<stdin>", &doc);
  free(text);
  if (err) {
    fprintf(stderr, "%s\n", tess_error_message());
    return 1;
  }
  put_value(tess_toml_root(doc));
  putchar('\n');
  tess_toml_doc_destroy(&doc);
  return 0;
}

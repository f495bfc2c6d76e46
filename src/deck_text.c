/* src/deck_text.c: the effective deck, written back as TOML.
 * After defaults and --set overrides, the deck that actually ran is logged
 * and stored in checkpoints; parsing this text again must give the same
 * deck, so floats are printed with enough digits to round-trip and strings
 * with TOML escapes. Keys come in schema order, grouped into [tables]. */
#include "deck_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tess_err_t put(char **out, size_t *len, size_t *cap, const char *s, size_t n)
{
  if (*len + n + 1 > *cap) {
    size_t c = *cap ? *cap : 256;
    while (c < *len + n + 1) c *= 2;
    char *p = realloc(*out, c);
    if (!p) return tess_error_push(TESS_ERR_MEM, __FILE__, __LINE__, __func__, "deck text");
    *out = p;
    *cap = c;
  }
  memcpy(*out + *len, s, n);
  *len += n;
  (*out)[*len] = '\0';
  return TESS_OK;
}

static tess_err_t puts_(char **o, size_t *l, size_t *c, const char *s) { return put(o, l, c, s, strlen(s)); }

static tess_err_t put_string(char **o, size_t *l, size_t *c, const char *s, size_t n)
{
  tess_err_t err = TESS_OK;
  TESS_CHECK(put(o, l, c, "\"", 1));
  for (size_t i = 0; i < n; i++) {
    unsigned char x = (unsigned char)s[i];
    char esc[8];
    const char *e = NULL;
    switch (x) {
    case '"': e = "\\\""; break;
    case '\\': e = "\\\\"; break;
    case '\b': e = "\\b"; break;
    case '\t': e = "\\t"; break;
    case '\n': e = "\\n"; break;
    case '\f': e = "\\f"; break;
    case '\r': e = "\\r"; break;
    default:
      if (x < 0x20 || x == 0x7F) { snprintf(esc, sizeof esc, "\\u%04X", x); e = esc; }
    }
    if (e) TESS_CHECK(puts_(o, l, c, e));
    else TESS_CHECK(put(o, l, c, s + i, 1));
  }
  TESS_CHECK(put(o, l, c, "\"", 1));
cleanup:
  return err;
}

static int bare_key(const char *k, size_t n)
{
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++)
    if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", k[i])) return 0;
  return 1;
}

/* Float keys accept TOML integers; the effective deck shows them as floats. */
static tess_err_t float_text(const tess_toml_value_t *v, char **o, size_t *l, size_t *c)
{
  tess_err_t err = TESS_OK;
  if (tess_toml_type(v) == TESS_TOML_ARRAY) {
    TESS_CHECK(puts_(o, l, c, "["));
    for (size_t i = 0; i < tess_toml_len(v); i++) {
      if (i) TESS_CHECK(puts_(o, l, c, ", "));
      TESS_CHECK(float_text(tess_toml_at(v, i), o, l, c));
    }
    TESS_CHECK(puts_(o, l, c, "]"));
  } else if (tess_toml_type(v) == TESS_TOML_INT) {
    int64_t x;
    char buf[64];
    TESS_CHECK(tess_toml_as_int(v, &x));
    if (x > -(INT64_C(1) << 53) && x < (INT64_C(1) << 53)) snprintf(buf, sizeof buf, "%lld.0", (long long)x);
    else snprintf(buf, sizeof buf, "%.17g", (double)x);   /* what the study will read */
    TESS_CHECK(puts_(o, l, c, buf));
  } else {
    TESS_CHECK(deck_value_text(v, o, l, c));
  }
cleanup:
  return err;
}

tess_err_t deck_value_text(const tess_toml_value_t *v, char **o, size_t *l, size_t *c)
{
  tess_err_t err = TESS_OK;
  char buf[96];
  switch (tess_toml_type(v)) {
  case TESS_TOML_STRING: {
    const char *s;
    size_t n;
    TESS_CHECK(tess_toml_as_string(v, &s, &n));
    TESS_CHECK(put_string(o, l, c, s, n));
    break;
  }
  case TESS_TOML_INT: {
    int64_t x;
    TESS_CHECK(tess_toml_as_int(v, &x));
    snprintf(buf, sizeof buf, "%lld", (long long)x);
    TESS_CHECK(puts_(o, l, c, buf));
    break;
  }
  case TESS_TOML_FLOAT: {
    double x;
    TESS_CHECK(tess_toml_as_double(v, &x));
    if (isnan(x)) snprintf(buf, sizeof buf, "nan");
    else if (isinf(x)) snprintf(buf, sizeof buf, "%sinf", x < 0 ? "-" : "");
    else {
      snprintf(buf, sizeof buf, "%.15g", x);
      if (strtod(buf, NULL) != x) snprintf(buf, sizeof buf, "%.17g", x);   /* round-trip */
      if (!strpbrk(buf, ".eE")) strcat(buf, ".0");                          /* stay a float */
    }
    TESS_CHECK(puts_(o, l, c, buf));
    break;
  }
  case TESS_TOML_BOOL: {
    int b;
    TESS_CHECK(tess_toml_as_bool(v, &b));
    TESS_CHECK(puts_(o, l, c, b ? "true" : "false"));
    break;
  }
  case TESS_TOML_ARRAY:
    TESS_CHECK(puts_(o, l, c, "["));
    for (size_t i = 0; i < tess_toml_len(v); i++) {
      if (i) TESS_CHECK(puts_(o, l, c, ", "));
      TESS_CHECK(deck_value_text(tess_toml_at(v, i), o, l, c));
    }
    TESS_CHECK(puts_(o, l, c, "]"));
    break;
  case TESS_TOML_TABLE:
    TESS_CHECK(puts_(o, l, c, "{"));
    for (size_t i = 0; i < tess_toml_len(v); i++) {
      const char *k = tess_toml_key_at(v, i);
      size_t kn = tess_toml_key_len(v, i);
      if (i) TESS_CHECK(puts_(o, l, c, ", "));
      if (bare_key(k, kn)) TESS_CHECK(put(o, l, c, k, kn));
      else TESS_CHECK(put_string(o, l, c, k, kn));
      TESS_CHECK(puts_(o, l, c, " = "));
      TESS_CHECK(deck_value_text(tess_toml_at(v, i), o, l, c));
    }
    TESS_CHECK(puts_(o, l, c, "}"));
    break;
  default: {
    tess_toml_datetime_t d;
    char frac[16] = "", tz[16] = "";
    TESS_CHECK(tess_toml_as_datetime(v, &d));
    if (d.nanosecond) snprintf(frac, sizeof frac, ".%09d", d.nanosecond);
    if (tess_toml_type(v) == TESS_TOML_DATETIME) {
      int a = d.offset_minutes < 0 ? -d.offset_minutes : d.offset_minutes;
      if (d.offset_minutes == 0) snprintf(tz, sizeof tz, "Z");
      else snprintf(tz, sizeof tz, "%c%02d:%02d", d.offset_minutes < 0 ? '-' : '+', a / 60, a % 60);
    }
    if (tess_toml_type(v) == TESS_TOML_DATE_LOCAL)
      snprintf(buf, sizeof buf, "%04d-%02d-%02d", d.year, d.month, d.day);
    else if (tess_toml_type(v) == TESS_TOML_TIME_LOCAL)
      snprintf(buf, sizeof buf, "%02d:%02d:%02d%s", d.hour, d.minute, d.second, frac);
    else
      snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", d.year, d.month, d.day, d.hour,
               d.minute, d.second, frac, tz);
    TESS_CHECK(puts_(o, l, c, buf));
  }
  }
cleanup:
  return err;
}

/* Length of the table part of a path ("a.b" for "a.b.c"; 0 for "c"). */
static size_t table_len(const char *path)
{
  const char *dot = strrchr(path, '.');
  return dot ? (size_t)(dot - path) : 0;
}

tess_err_t deck_build_text(tess_deck_t *d)
{
  tess_err_t err = TESS_OK;
  char *o = NULL;
  size_t l = 0, c = 0;
  unsigned char *done = calloc(d->n ? d->n : 1, 1);
  TESS_REQUIRE(done, TESS_ERR_MEM, "deck text");
  TESS_CHECK(puts_(&o, &l, &c, "# effective deck: defaults and --set overrides applied\n"));
  /* root keys first, then one [table] per prefix in order of first appearance */
  for (int pass = 0; pass < 2; pass++)
    for (size_t i = 0; i < d->n; i++) {
      if (done[i]) continue;
      size_t tl = table_len(d->e[i].key->path);
      if ((pass == 0) != (tl == 0)) continue;
      if (tl) {
        TESS_CHECK(puts_(&o, &l, &c, "\n["));
        TESS_CHECK(put(&o, &l, &c, d->e[i].key->path, tl));
        TESS_CHECK(puts_(&o, &l, &c, "]\n"));
      }
      for (size_t j = i; j < d->n; j++) {
        const char *p = d->e[j].key->path;
        if (done[j] || table_len(p) != tl || strncmp(p, d->e[i].key->path, tl) != 0) continue;
        done[j] = 1;
        TESS_CHECK(puts_(&o, &l, &c, p + (tl ? tl + 1 : 0)));
        TESS_CHECK(puts_(&o, &l, &c, " = "));
        tess_key_type_t t = d->e[j].key->type;
        if (t == TESS_KEY_FLOAT || t == TESS_KEY_FLOAT_ARRAY) TESS_CHECK(float_text(d->e[j].val, &o, &l, &c));
        else TESS_CHECK(deck_value_text(d->e[j].val, &o, &l, &c));
        if (d->e[j].from == DECK_FROM_DEFAULT) TESS_CHECK(puts_(&o, &l, &c, "  # default"));
        if (d->e[j].from == DECK_FROM_SET) TESS_CHECK(puts_(&o, &l, &c, "  # --set"));
        TESS_CHECK(puts_(&o, &l, &c, "\n"));
      }
    }
  d->text = o;
  o = NULL;
cleanup:
  free(o);
  free(done);
  return err;
}

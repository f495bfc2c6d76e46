/* tests/deck/test_deck.c: deck schemas, validation and the effective deck.
 * A test schema with every key type; decks written here with known mistakes
 * must be rejected with messages naming file, line, key and the expected
 * form; valid decks must read back the values written in them (the truth),
 * with defaults and --set overrides applied; and the effective deck text,
 * loaded again, must give the same values (reproducibility). */
#include <tessera/deck.h>
#include "tess_test.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static const tess_deck_key_t keys[] = {
  {.path = "grid.n", .type = TESS_KEY_INT_ARRAY, .default_toml = NULL, .min = 1, .max = 4096,
   .help = "points per dimension"},
  {.path = "noise.sigma", .type = TESS_KEY_FLOAT, .default_toml = "0.1", .min = 0, .max = 10, .units = "1",
   .help = "noise level"},
  {.path = "filter.mode", .type = TESS_KEY_STRING, .default_toml = "\"hard\"", .choices = "hard|soft|relative",
   .help = "threshold rule"},
  {.path = "filter.enabled", .type = TESS_KEY_BOOL, .default_toml = "true", .help = "apply the filter"},
  {.path = "steps", .type = TESS_KEY_INT, .default_toml = "100", .min = 0, .max = INFINITY, .help = "steps"},
  {.path = "weights", .type = TESS_KEY_FLOAT_ARRAY, .default_toml = "[1, 0.5]", .help = "loss weights"},
  {.path = "out.fields", .type = TESS_KEY_STRING_ARRAY, .default_toml = "[\"u\"]", .choices = "u|v|p",
   .help = "fields to write"},
  {.path = "label", .type = TESS_KEY_STRING, .default_toml = "\"tab\\there \\\"q\\\" é\"", .help = "free text"},
};
static const tess_deck_schema_t schema = {"demo", "a test study", keys, sizeof keys / sizeof keys[0], 0};
static const tess_deck_key_t other_keys[] = {{.path = "x", .type = TESS_KEY_INT, .default_toml = "1", .help = "x"}};
static const tess_deck_schema_t other = {"other", "another", other_keys, 1, 0};
static const tess_deck_schema_t *const schemas[] = {&schema, &other};

static tess_deck_t *load(const char *text, const char *const *sets, size_t nsets)
{
  tess_deck_t *d = NULL;
  tess_err_t e = tess_deck_load_string(text, strlen(text), "case.toml", sets, nsets, schemas, 2, &d);
  CHECK(e == TESS_OK, "load failed: %s", tess_error_message());
  tess_error_clear();
  return d;
}

/* Must fail with code `code` and a message (any frame's first line) containing `want`. */
static void bad(const char *text, const char *const *sets, size_t nsets, tess_err_t code, const char *want)
{
  tess_deck_t *d = NULL;
  char *buf = NULL;
  size_t len = 0;
  tess_err_t e = tess_deck_load_string(text, strlen(text), "case.toml", sets, nsets, schemas, 2, &d);
  FILE *mem = open_memstream(&buf, &len);
  tess_error_print(mem);
  fclose(mem);
  CHECK(e == code && d == NULL, "expected code %d, got %d for: %s", code, e, text);
  CHECK(buf && strstr(buf, want), "messages lack '%s':\n%s", want, buf ? buf : "");
  free(buf);
  tess_error_clear();
  tess_deck_destroy(&d);
}

static void test_values(void)
{
  const char *sets[] = {"noise.sigma=0.25", "filter.mode=\"soft\"", "out.fields=[\"v\",\"p\"]"};
  tess_deck_t *d = load("study = \"demo\"\nsteps = 7\n[grid]\nn = [64, 32]\n[noise]\nsigma = 3\n[filter]\nenabled = false\n",
           sets, 3);
  if (!d) return;
  int64_t n[4], steps = 0;
  size_t nn = 0;
  double sigma = 0, w[4];
  const char *mode = NULL, *f[4], *label = NULL;
  int en = 1;
  CHECK(tess_deck_get_int_array(d, "grid.n", n, 4, &nn) == TESS_OK && nn == 2 && n[0] == 64 && n[1] == 32, "grid.n");
  CHECK(tess_deck_get_double(d, "noise.sigma", &sigma) == TESS_OK && sigma == 0.25, "--set wins: %g", sigma);
  CHECK(tess_deck_get_string(d, "filter.mode", &mode) == TESS_OK && strcmp(mode, "soft") == 0, "mode");
  CHECK(tess_deck_get_bool(d, "filter.enabled", &en) == TESS_OK && en == 0, "enabled");
  CHECK(tess_deck_get_int(d, "steps", &steps) == TESS_OK && steps == 7, "steps");
  CHECK(tess_deck_get_double_array(d, "weights", w, 4, &nn) == TESS_OK && nn == 2 && w[0] == 1.0 && w[1] == 0.5,
        "default float array with an integer");
  CHECK(tess_deck_get_string_array(d, "out.fields", f, 4, &nn) == TESS_OK && nn == 2 && strcmp(f[1], "p") == 0,
        "string array");
  CHECK(tess_deck_get_string(d, "label", &label) == TESS_OK && strcmp(label, "tab\there \"q\" é") == 0, "escapes");
  int64_t seed = 0, keep = 0;
  const char *dir;
  CHECK(tess_deck_get_int(d, "run.seed", &seed) == TESS_OK && seed == 1, "common default run.seed");
  CHECK(tess_deck_get_int(d, "checkpoint.keep", &keep) == TESS_OK && keep == 2, "checkpoint.keep");
  CHECK(tess_deck_get_string(d, "checkpoint.dir", &dir) == TESS_OK && strcmp(dir, "checkpoints") == 0, "dir");
  CHECK(tess_deck_is_set(d, "steps") && tess_deck_is_set(d, "noise.sigma") && !tess_deck_is_set(d, "weights"),
        "is_set");
  CHECK(strcmp(tess_deck_study(d), "demo") == 0 && tess_deck_schema(d) == &schema, "study");
  CHECK(strcmp(tess_deck_path(d), "case.toml") == 0, "path");

  /* programming errors: unknown key, wrong getter, too small a buffer */
  CHECK(tess_deck_get_int(d, "nope", &seed) == TESS_ERR_ARG && strstr(tess_error_message(), "not in the schema"),
        "unknown getter key");
  tess_error_clear();
  CHECK(tess_deck_get_int(d, "noise.sigma", &seed) == TESS_ERR_ARG, "int getter on a float key");
  tess_error_clear();
  CHECK(tess_deck_get_int_array(d, "grid.n", n, 1, &nn) == TESS_ERR_DECK &&
        strstr(tess_error_message(), "case.toml:4: key 'grid.n': has 2 entries, at most 1"), "capacity: %s",
        tess_error_message());
  tess_error_clear();
  CHECK(tess_deck_key_error(d, "noise.sigma", "too %s", "big") == TESS_ERR_DECK &&
        strcmp(tess_error_message(), "--set 'noise.sigma=0.25': key 'noise.sigma': too big") == 0,
        "key_error: %s", tess_error_message());
  tess_error_clear();

  /* the effective deck reproduces the same deck */
  const char *text = tess_deck_text(d);
  tess_deck_t *d2 = load(text, NULL, 0);
  if (d2) {
    double s2 = 0, w2[4];
    const char *m2, *l2, *f2[4];
    int64_t n2[4];
    size_t k = 0;
    CHECK(tess_deck_get_double(d2, "noise.sigma", &s2) == TESS_OK && s2 == sigma, "round trip sigma");
    CHECK(tess_deck_get_string(d2, "filter.mode", &m2) == TESS_OK && strcmp(m2, "soft") == 0, "round trip mode");
    CHECK(tess_deck_get_string(d2, "label", &l2) == TESS_OK && strcmp(l2, label) == 0, "round trip label");
    CHECK(tess_deck_get_int_array(d2, "grid.n", n2, 4, &k) == TESS_OK && k == 2 && n2[1] == 32, "round trip n");
    CHECK(tess_deck_get_double_array(d2, "weights", w2, 4, &k) == TESS_OK && k == 2 && w2[1] == 0.5, "weights");
    CHECK(tess_deck_get_string_array(d2, "out.fields", f2, 4, &k) == TESS_OK && k == 2, "fields");
    /* and writing it again changes nothing but the provenance comments */
    tess_deck_t *d3 = load(tess_deck_text(d2), NULL, 0);
    CHECK(d3 && strcmp(tess_deck_text(d2), tess_deck_text(d3)) == 0, "text is a fixed point");
    tess_deck_destroy(&d3);
  }
  tess_deck_destroy(&d2);
  tess_deck_destroy(&d);
}

static void test_float_roundtrip(void)
{
  const double vals[] = {0.1, 1.0 / 3.0, 2.5e-7, 5e-324, 9.999999999999999, 0.0};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    char text[128];
    snprintf(text, sizeof text, "study = \"demo\"\ngrid.n = [1]\nnoise.sigma = %.17g\n", vals[i]);
    tess_deck_t *d = load(text, NULL, 0), *d2 = d ? load(tess_deck_text(d), NULL, 0) : NULL;
    double a = -1, b = -2;
    if (d && d2) {
      tess_deck_get_double(d, "noise.sigma", &a);
      tess_deck_get_double(d2, "noise.sigma", &b);
    }
    CHECK(a == vals[i] && b == a, "float %.17g -> %.17g -> %.17g", vals[i], a, b);
    tess_deck_destroy(&d);
    tess_deck_destroy(&d2);
  }
}

static void test_errors(void)
{
  const tess_err_t D = TESS_ERR_DECK;
  bad("study = \"demo\"\ngrid.n = [8]\n[noise]\nsigam = 1\n", NULL, 0, D,
      "case.toml:4: unknown key 'noise.sigam' (did you mean 'noise.sigma'?)");
  bad("study = \"demo\"\ngrid.n = [8]\nsigma = 1\n", NULL, 0, D,
      "case.toml:3: unknown key 'sigma' (did you mean 'noise.sigma'?)");
  bad("study = \"demo\"\ngrid.n = [8]\n[nosie]\nsigma = 1\n", NULL, 0, D, "did you mean 'noise.sigma'?");
  bad("study = \"demo\"\n", NULL, 0, D, "case.toml: missing required key 'grid.n' (array of integers, 1 <= x <= 4096");
  bad("grid.n = [8]\n", NULL, 0, D, "missing required key 'study'");
  bad("study = \"dmeo\"\n", NULL, 0, D, "case.toml:1: unknown study \"dmeo\" (did you mean \"demo\"?");
  bad("study = 3\n", NULL, 0, D, "key 'study': expected a string");
  bad("study = \"demo\"\ngrid.n = 8\n", NULL, 0, D,
      "case.toml:2: key 'grid.n': expected an array of integers (e.g. [64, 64]), found integer 8");
  bad("study = \"demo\"\ngrid.n = [8, 2.5]\n", NULL, 0, D, "key 'grid.n'[1]: expected every element to be an integer");
  bad("study = \"demo\"\ngrid.n = [8, 0]\n", NULL, 0, D, "key 'grid.n'[1] = 0 is out of range: expected 1 <= x <= 4096");
  bad("study = \"demo\"\ngrid.n = [8]\nnoise.sigma = \"high\"\n", NULL, 0, D,
      "case.toml:3: key 'noise.sigma': expected a float (e.g. 0.5 or 1e-3), found string \"high\"");
  bad("study = \"demo\"\ngrid.n = [8]\nnoise.sigma = 11\n", NULL, 0, D,
      "key 'noise.sigma' = 11 is out of range: expected 0 <= x <= 10 1");
  bad("study = \"demo\"\ngrid.n = [8]\nnoise.sigma = nan\n", NULL, 0, D, "is out of range");
  bad("study = \"demo\"\ngrid.n = [8]\nsteps = -1\n", NULL, 0, D, "expected x >= 0");
  bad("study = \"demo\"\ngrid.n = [8]\nsteps = 1.0\n", NULL, 0, D, "key 'steps': expected an integer");
  bad("study = \"demo\"\ngrid.n = [8]\nfilter.mode = \"sfot\"\n", NULL, 0, D,
      "key 'filter.mode' = \"sfot\" is not allowed: expected one of hard|soft|relative (did you mean 'soft'?)");
  bad("study = \"demo\"\ngrid.n = [8]\nout.fields = [\"u\", \"w\"]\n", NULL, 0, D, "key 'out.fields'[1] = \"w\" is not allowed");
  bad("study = \"demo\"\ngrid.n = [8]\nfilter.enabled = \"yes\"\n", NULL, 0, D, "expected a boolean (true or false)");
  bad("study = \"demo\"\ngrid.n = [8]\nnoise = 1\n", NULL, 0, D, "'noise' is a table of settings, not a value");
  bad("study = \"demo\"\ngrid.n = [8]\n[run]\nseed = -5\n", NULL, 0, D, "key 'run.seed' = -5 is out of range");
  bad("study = \"demo\"\ngrid.n = [8]\n[checkpoint]\nkeeep = 3\n", NULL, 0, D, "did you mean 'checkpoint.keep'?");
  /* several problems: all reported */
  bad("study = \"demo\"\ngrid.n = [0]\nsteps = \"x\"\nbogus = 1\n", NULL, 0, D, "3 problems in deck 'case.toml'");
  /* --set */
  const char *s1[] = {"noise.sigma=abc"};
  bad("study = \"demo\"\ngrid.n = [8]\n", s1, 1, TESS_ERR_PARSE, "--set 'noise.sigma=abc':1:13: expected a value");
  const char *s2[] = {"noise.sigmaa=0.3"};
  bad("study = \"demo\"\ngrid.n = [8]\n", s2, 1, D, "--set 'noise.sigmaa=0.3': unknown key 'noise.sigmaa' (did you mean");
  const char *s3[] = {"noise.sigma"};
  bad("study = \"demo\"\ngrid.n = [8]\n", s3, 1, TESS_ERR_PARSE, "expected key.path=value");
  const char *s4[] = {"grid.n=[8,-1]"};
  bad("study = \"demo\"\ngrid.n = [8]\n", s4, 1, D, "--set 'grid.n=[8,-1]': key 'grid.n'[1] = -1 is out of range");
  const char *s5[] = {"study=\"other\""};
  bad("study = \"demo\"\ngrid.n = [8]\n", s5, 1, D, "unknown key 'grid.n'");   /* --set switches the study */
  /* TOML errors pass through with file:line:column */
  bad("study = \"demo\"\ngrid.n = [8\n", NULL, 0, TESS_ERR_PARSE, "case.toml:3:1: expected ',' or ']' in array");
}

static void test_print(void)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&buf, &len);
  CHECK(tess_deck_schema_print(mem, &schema, 1) == TESS_OK, "markdown");
  CHECK(tess_deck_schema_print(mem, NULL, 0) == TESS_OK, "common text");
  fclose(mem);
  CHECK(strstr(buf, "| `noise.sigma` | float | `0.1` | 0 <= x <= 10 | 1 | noise level |"), "md row:\n%s", buf);
  CHECK(strstr(buf, "`hard` \\| `soft` \\| `relative`"), "choices row");
  CHECK(strstr(buf, "checkpoint.every_seconds"), "common keys listed");
  free(buf);
  size_t nc = 0;
  const tess_deck_key_t *ck = tess_deck_common_keys(&nc);
  CHECK(ck != NULL && nc == 14, "14 common keys (study, run.*, job.*, comm.backend, checkpoint.*), got %zu", nc);
  int jobs = 0;
  for (size_t i = 0; ck && i < nc; i++) jobs += strncmp(ck[i].path, "job.", 4) == 0;
  CHECK(jobs == 5, "5 job.* keys (Slurm, docs/slurm.md), got %d", jobs);
}

static void test_schema_bugs(void)
{
  static const tess_deck_key_t dup[] = {{.path = "run.seed", .type = TESS_KEY_INT, .default_toml = "1", .help = "x"}};
  static const tess_deck_schema_t sd = {"dup", "", dup, 1, 0};
  static const tess_deck_key_t baddef[] = {{.path = "a", .type = TESS_KEY_INT, .default_toml = "1 2", .help = "x"}};
  static const tess_deck_schema_t sb = {"baddef", "", baddef, 1, 0};
  const tess_deck_schema_t *const s[] = {&sd, &sb};
  tess_deck_t *d = NULL;
  CHECK(tess_deck_load_string("study = \"dup\"", 13, "x", NULL, 0, s, 2, &d) == TESS_ERR_INTERNAL &&
        strstr(tess_error_message(), "common key"), "duplicate of a common key: %s", tess_error_message());
  tess_error_clear();
  CHECK(tess_deck_load_string("study = \"baddef\"", 16, "x", NULL, 0, s, 2, &d) == TESS_ERR_INTERNAL,
        "bad default");
  tess_error_clear();
}

static void test_file(void)
{
  char path[] = "/tmp/tess_deck_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0, "mkstemp");
  if (fd < 0) return;
  const char text[] = "study = \"demo\"\ngrid.n = [3, 4]\n";
  CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1), "write");
  close(fd);
  tess_deck_t *d = NULL;
  int64_t n[2];
  size_t k = 0;
  CHECK(tess_deck_load(path, NULL, 0, schemas, 2, &d) == TESS_OK && strcmp(tess_deck_path(d), path) == 0, "file");
  CHECK(d && tess_deck_get_int_array(d, "grid.n", n, 2, &k) == TESS_OK && k == 2 && n[1] == 4, "file values");
  tess_deck_destroy(&d);
  unlink(path);
  CHECK(tess_deck_load(path, NULL, 0, schemas, 2, &d) == TESS_ERR_IO && strstr(tess_error_message(), "No such file"),
        "missing: %s", tess_error_message());
  tess_error_clear();
  CHECK(tess_deck_load("/tmp", NULL, 0, schemas, 2, &d) == TESS_ERR_IO && strstr(tess_error_message(), "directory"),
        "directory: %s", tess_error_message());
  tess_error_clear();
}

int main(int argc, char **argv)
{
  MPI_Init(&argc, &argv);
  test_values();
  test_float_roundtrip();
  test_errors();
  test_print();
  test_schema_bugs();
  test_file();
  int rc = tess_test_finish("deck");
  MPI_Finalize();
  return rc;
}

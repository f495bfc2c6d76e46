/* bench/bench_toml.c: TOML parsing throughput.
 * Generates a deck-like document (tables with integers, floats, strings with
 * escapes, arrays, inline tables, date-times, an array of tables), writes it
 * to PATH so the anchor (Python's tomllib, run by bench/run_toml.sh) parses
 * the very same bytes, then times tess_toml_parse_string.
 * usage: bench_toml PATH [tables] [rounds]
 * prints: "toml bytes N tables T median S s MB/s X" */
#include <tessera/tessera.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench_util.h"

int main(int argc, char **argv)
{
  if (argc < 2) { fprintf(stderr, "usage: %s PATH [tables] [rounds]\n", argv[0]); return 2; }
  int tables = argc > 2 ? atoi(argv[2]) : 20000, rounds = argc > 3 ? atoi(argv[3]) : 7;
  size_t cap = (size_t)tables * 600 + 4096, n = 0;
  char *text = malloc(cap);
  if (!text) return 3;
  n += (size_t)snprintf(text + n, cap - n, "title = \"bench\"\nstudy = \"spectral_denoise\"\n");
  for (int t = 0; t < tables && n + 600 < cap; t++) {
    n += (size_t)snprintf(text + n, cap - n,
        "\n[run_%d]\nseed = %d\nsigma = %.6e\nname = \"case \\\"%d\\\"\\tok\"\n"
        "grid.n = [%d, %d, 1_024]\nweights = [0.5, 1e-3, -2.25, inf]\n"
        "when = 1979-05-27T07:32:00.%03d+01:00\nflags = { on = true, mode = 'soft', level = 0x%x }\n"
        "[[run_%d.stage]]\nsteps = %d\n", t, t, 1.0 / (t + 1), t, 64 + t % 7, 32 + t % 5, t % 1000, t, t,
        100 + t);
  }
  FILE *fp = fopen(argv[1], "wb");
  if (!fp || fwrite(text, 1, n, fp) != n) { fprintf(stderr, "cannot write %s\n", argv[1]); return 3; }
  fclose(fp);
  double *t = malloc((size_t)rounds * sizeof *t);
  size_t keys = 0;
  for (int r = 0; r < rounds; r++) {
    tess_toml_doc_t *doc = NULL;
    double t0 = tess_wtime();
    if (tess_toml_parse_string(text, n, argv[1], &doc) != TESS_OK) {
      tess_error_print(stderr);
      return 1;
    }
    t[r] = tess_wtime() - t0;
    keys = tess_toml_len(tess_toml_root(doc));
    tess_toml_doc_destroy(&doc);
  }
  qsort(t, (size_t)rounds, sizeof *t, bench_cmp_double);
  double med = t[rounds / 2];
  printf("toml bytes %zu tables %d keys %zu median %.6f s MB/s %.1f\n", n, tables, keys, med, n / med / 1e6);
  free(t);
  free(text);
  return 0;
}

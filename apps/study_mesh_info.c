/* apps/study_mesh_info.c: the smallest real study, `study = "mesh_info"`.
 * It exercises tessera_app end to end before the big studies land: reads
 * keys of every type, block-distributes a global grid over the ranks, sums
 * the global cell indices exactly (int64, one MPI_Allreduce) and checks the
 * sum against the closed form N(N-1)/2, repeated `work.repeat` times with
 * progress lines. `debug.fail_rank` makes one rank fail, to test that a
 * failing rank brings the whole job down (exit 4, no hang). */
#include <tessera/tessera.h>
#include "study.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#define MAX_DIMS 4

static const tess_deck_key_t keys[] = {
  {.path = "grid.n", .type = TESS_KEY_INT_ARRAY, .default_toml = "[16, 16]", .min = 1, .max = 1e6,
   .help = "global grid points per dimension (1 to 4 dimensions)"},
  {.path = "grid.length", .type = TESS_KEY_FLOAT_ARRAY, .default_toml = "[1.0, 1.0]", .min = 0, .max = INFINITY,
   .units = "m", .help = "domain length per dimension (same count as grid.n)"},
  {.path = "mesh.axes", .type = TESS_KEY_STRING_ARRAY, .default_toml = "[\"x\"]",
   .help = "names of the mesh axes the ranks are arranged in"},
  {.path = "work.repeat", .type = TESS_KEY_INT, .default_toml = "1", .min = 1, .max = 1e7,
   .help = "how many times to redo the distributed sum (progress lines show the rate)"},
  {.path = "report.format", .type = TESS_KEY_STRING, .default_toml = "\"text\"", .choices = "text|json",
   .help = "summary format on standard output"},
  {.path = "report.per_rank", .type = TESS_KEY_BOOL, .default_toml = "false",
   .help = "also print each rank's block"},
  {.path = "debug.fail_rank", .type = TESS_KEY_INT, .default_toml = "-1", .min = -1, .max = 1e6,
   .help = "make this rank fail during the run (tests the abort path); -1 = none"},
};

static const tess_deck_schema_t schema = {
  .study = "mesh_info",
  .summary = "Prints how a grid is distributed over the ranks and checks an exact distributed sum.",
  .keys = keys,
  .nkeys = sizeof keys / sizeof keys[0],
};

static tess_err_t check(const tess_deck_t *deck)
{
  tess_err_t err = TESS_OK;
  int64_t n[MAX_DIMS];
  double len[MAX_DIMS];
  size_t nd = 0, nl = 0;
  TESS_CHECK(tess_deck_get_int_array(deck, "grid.n", n, MAX_DIMS, &nd));
  TESS_CHECK(tess_deck_get_double_array(deck, "grid.length", len, MAX_DIMS, &nl));
  if (nd == 0) TESS_CHECK(tess_deck_key_error(deck, "grid.n", "needs 1 to %d entries", MAX_DIMS));
  if (nl != nd)
    TESS_CHECK(tess_deck_key_error(deck, "grid.length", "has %zu entries but grid.n has %zu", nl, nd));
cleanup:
  return err;
}

static tess_err_t run(const tess_deck_t *deck, const tess_study_opts_t *opts)
{
  tess_err_t err = TESS_OK;
  int rank = 0, size = 1, per_rank = 0;
  int64_t n[MAX_DIMS], repeat = 1, fail_rank = -1, total = 1;
  double len[MAX_DIMS];
  size_t nd = 0, nl = 0;
  const char *format = NULL;
  TESS_MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &rank));
  TESS_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  TESS_CHECK(tess_deck_get_int_array(deck, "grid.n", n, MAX_DIMS, &nd));
  TESS_CHECK(tess_deck_get_double_array(deck, "grid.length", len, MAX_DIMS, &nl));
  TESS_CHECK(tess_deck_get_int(deck, "work.repeat", &repeat));
  TESS_CHECK(tess_deck_get_string(deck, "report.format", &format));
  TESS_CHECK(tess_deck_get_bool(deck, "report.per_rank", &per_rank));
  TESS_CHECK(tess_deck_get_int(deck, "debug.fail_rank", &fail_rank));
  for (size_t d = 0; d < nd; d++) {
    TESS_REQUIRE(total <= INT64_MAX / n[d], TESS_ERR_DECK, "grid.n: %zu-D grid too large for int64 indices", nd);
    total *= n[d];
  }
  /* 1-D block distribution of the flattened grid: the first N % P ranks get one more */
  int64_t base = total / size, extra = total % size;
  int64_t lo = rank * base + (rank < extra ? rank : extra), count = base + (rank < extra);
  if (opts->dry_run) {
    if (rank == 0)
      printf("planned work: distribute %" PRId64 " cells over %d rank%s (%" PRId64 " to %" PRId64
             " each), then %" PRId64 " exact distributed sum%s checked against N(N-1)/2\n",
             total, size, size > 1 ? "s" : "", base, base + (extra > 0), repeat, repeat > 1 ? "s" : "");
    goto cleanup;
  }
  tess_progress_t prog;
  tess_progress_start(&prog, deck, "mesh_info", (long)repeat);
  /* 128-bit not needed: sum of indices < total^2/2 <= 2^63 for total < 3e9 */
  TESS_REQUIRE(total < 3000000000LL, TESS_ERR_DECK, "grid.n: %" PRId64 " cells is more than this study sums exactly",
               total);
  int64_t sum = 0;
  for (int64_t r = 0; r < repeat; r++) {
    int64_t local = count > 0 ? (lo + lo + count - 1) * count / 2 : 0;   /* sum of lo..lo+count-1 */
    TESS_REQUIRE(rank != fail_rank, TESS_ERR_NUMERIC, "rank %d failed on purpose (debug.fail_rank = %" PRId64 ")",
                 rank, fail_rank);
    TESS_MPI_CHECK(MPI_Allreduce(&local, &sum, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD));
    tess_progress_step(&prog, (long)(r + 1));
  }
  tess_progress_end(&prog, (long)repeat);
  int64_t want = total * (total - 1) / 2;
  if (per_rank) {
    for (int r = 0; r < size; r++) {   /* in rank order */
      if (r == rank) { printf("rank %d: cells %" PRId64 "..%" PRId64 " (%" PRId64 ")\n", rank, lo, lo + count - 1, count); fflush(stdout); }
      TESS_MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
    }
  }
  if (rank == 0) {
    char shape[128] = "";
    for (size_t d = 0, o = 0; d < nd; d++)
      o += (size_t)snprintf(shape + o, sizeof shape - o, "%s%" PRId64, d ? "x" : "", n[d]);
    if (strcmp(format, "json") == 0)
      printf("{\"study\": \"mesh_info\", \"ranks\": %d, \"grid\": \"%s\", \"cells\": %" PRId64
             ", \"index_sum\": %" PRId64 ", \"expected\": %" PRId64 "}\n", size, shape, total, sum, want);
    else
      printf("mesh_info: %d ranks, grid %s = %" PRId64 " cells, %" PRId64 "-%" PRId64
             " per rank; index sum %" PRId64 " (expected %" PRId64 ") %s\n", size, shape, total, base,
             base + (extra > 0), sum, want, sum == want ? "ok" : "MISMATCH");
    fflush(stdout);
  }
  TESS_REQUIRE(sum == want, TESS_ERR_NUMERIC, "distributed index sum %" PRId64 " != N(N-1)/2 = %" PRId64, sum, want);
cleanup:
  return err;
}

const tess_study_t tess_study_mesh_info = {"mesh_info", &schema, run, check};

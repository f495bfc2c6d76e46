/* apps/study_mesh_info.c: the smallest real study, `study = "mesh_info"`.
 * It exercises tessera_app end to end before the big studies land: reads
 * keys of every type, builds a mesh with the deck's axis names (sizes from
 * MPI_Dims_create), a float64 array of the grid's shape sharded over those
 * axes and filled with each cell's global linear index, and checks its exact
 * sum (tess_sum_f64) bitwise against the closed form N(N-1)/2; it also sums
 * a 1-D block distribution of the indices in int64, `work.repeat` times with
 * progress lines. `debug.fail_rank` makes one rank fail, to test that a
 * failing rank brings the whole job down (exit 4, no hang); `debug.sigterm_at`
 * makes rank 0 signal itself, to test the collective stop (exit 5). */
#include <tessera/tessera.h>
#include "study.h"

#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <string.h>

#define MAX_DIMS 4
#define MAX_AXES 4

static const tess_deck_key_t keys[] = {
  {.path = "grid.n", .type = TESS_KEY_INT_ARRAY, .default_toml = "[16, 16]", .min = 1, .max = 1e6,
   .help = "global grid points per dimension (1 to 4 dimensions)"},
  {.path = "grid.length", .type = TESS_KEY_FLOAT_ARRAY, .default_toml = "[1.0, 1.0]", .min = 0, .max = INFINITY,
   .units = "m", .help = "domain length per dimension (same count as grid.n)"},
  {.path = "mesh.axes", .type = TESS_KEY_STRING_ARRAY, .default_toml = "[\"x\"]",
   .help = "mesh axis names (1 to 4); grid dimension d is sharded over axis d, the rest replicated"},
  {.path = "work.repeat", .type = TESS_KEY_INT, .default_toml = "1", .min = 1, .max = 1e7,
   .help = "how many times to redo the distributed sum (progress lines show the rate)"},
  {.path = "report.format", .type = TESS_KEY_STRING, .default_toml = "\"text\"", .choices = "text|json",
   .help = "summary format on standard output"},
  {.path = "report.per_rank", .type = TESS_KEY_BOOL, .default_toml = "false",
   .help = "also print each rank's block"},
  {.path = "debug.fail_rank", .type = TESS_KEY_INT, .default_toml = "-1", .min = -1, .max = 1e6,
   .help = "make this rank fail during the run (tests the abort path); -1 = none"},
  {.path = "debug.sigterm_at", .type = TESS_KEY_INT, .default_toml = "-1", .min = -1, .max = 1e7,
   .help = "rank 0 sends itself SIGTERM before this repetition (tests the stop path, exit 5); -1 = none"},
};

static const tess_deck_schema_t schema = {
  .study = "mesh_info",
  .summary = "Prints how a grid is distributed over the ranks and checks an exact distributed sum.",
  .keys = keys,
  .nkeys = sizeof keys / sizeof keys[0],
  .stateless = 1,   /* nothing to resume */
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
  const char *axes[MAX_AXES];
  size_t na = 0;
  TESS_CHECK(tess_deck_get_string_array(deck, "mesh.axes", axes, MAX_AXES, &na));
  if (na == 0) TESS_CHECK(tess_deck_key_error(deck, "mesh.axes", "needs 1 to %d axis names", MAX_AXES));
  for (size_t i = 0; i < na; i++)
    for (size_t j = 0; j < i; j++)
      if (strcmp(axes[i], axes[j]) == 0)
        TESS_CHECK(tess_deck_key_error(deck, "mesh.axes", "axis name \"%s\" is used twice", axes[i]));
cleanup:
  return err;
}

/* Ranks print in turn: a one-int reduction through tess_comm as the
 * barrier between turns. */
static tess_err_t world_barrier(void)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *world = NULL;
  int one = 1, all = 0;
  TESS_CHECK(tess_comm_mesh_of(MPI_COMM_WORLD, &world));
  TESS_CHECK(tess_comm_allreduce(world, TESS_AXES_ALL, &one, &all, 1, TESS_I32, TESS_OP_MAX,
                                 TESS_MEM_HOST, NULL));
cleanup:
  return err;
}

static void fill_index(const int64_t gidx[], int ndim, void *value, void *ctx)
{
  const int64_t *shape = ctx;
  int64_t lin = 0;
  for (int d = 0; d < ndim; d++) lin = lin * shape[d] + gidx[d];
  *(double *)value = (double)lin;
}

/* The grid as a sharded float64 array filled with global linear indices;
 * its exact sum must be N(N-1)/2 bitwise (exact in double below 2^53). */
static tess_err_t array_sum(const tess_deck_t *deck, const int64_t *n, size_t nd, int per_rank,
                            double *sum, char *meshdesc, size_t cap)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  tess_array_t *a = NULL;
  const char *axes[MAX_AXES], *dimaxis[MAX_DIMS] = {NULL};
  int dims[MAX_AXES] = {0}, size = 1;
  size_t na = 0;
  tess_shardspec_t spec;
  TESS_CHECK(tess_deck_get_string_array(deck, "mesh.axes", axes, MAX_AXES, &na));
  TESS_MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &size));
  TESS_MPI_CHECK(MPI_Dims_create(size, (int)na, dims));
  TESS_CHECK(tess_mesh_create(MPI_COMM_WORLD, (int)na, axes, dims, &mesh));
  for (size_t d = 0; d < nd && d < na; d++) dimaxis[d] = axes[d];
  TESS_CHECK(tess_shardspec_make(mesh, (int)nd, dimaxis, &spec));
  TESS_CHECK(tess_array_create(mesh, TESS_F64, (int)nd, n, &spec, TESS_MEM_HOST, &a));
  TESS_CHECK(tess_array_fill(a, fill_index, (void *)n));
  /* axes that shard no dimension hold replicas: count each cell once */
  int owner = 1;
  for (size_t ax = nd; ax < na; ax++) owner &= tess_mesh_coord(mesh, (int)ax) == 0;
  size_t cnt = owner ? (size_t)tess_array_local_count(a) : 0;
  TESS_CHECK(tess_sum_f64(tess_array_local_data_const(a), cnt, MPI_COMM_WORLD, sum));
  for (size_t ax = 0, o = 0; ax < na && o < cap; ax++)
    o += (size_t)snprintf(meshdesc + o, cap - o, "%s%s=%d", ax ? " " : "", axes[ax], dims[ax]);
  if (per_rank) {
    int64_t ls[MAX_DIMS], st[MAX_DIMS];
    tess_array_local_shape(a, ls);
    tess_array_local_start(a, st);
    char buf[160];
    size_t o = 0;
    for (size_t d = 0; d < nd; d++)
      o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%" PRId64 ":%" PRId64, d ? "," : "", st[d], st[d] + ls[d]);
    int r = tess_mesh_rank(mesh);
    for (int q = 0; q < size; q++) {
      if (q == r) { printf("rank %d: array block [%s]%s\n", r, buf, owner ? "" : " (replica)"); fflush(stdout); }
      TESS_CHECK(world_barrier());
    }
  }
cleanup:
  tess_array_destroy(&a);
  tess_mesh_destroy(&mesh);
  return err;
}

static tess_err_t run(const tess_deck_t *deck, const tess_study_opts_t *opts)
{
  tess_err_t err = TESS_OK;
  int rank = 0, size = 1, per_rank = 0;
  int64_t n[MAX_DIMS], repeat = 1, fail_rank = -1, sigterm_at = -1, total = 1;
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
  TESS_CHECK(tess_deck_get_int(deck, "debug.sigterm_at", &sigterm_at));
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
  /* N(N-1)/2 must be exact in a double (< 2^53), and the array must fit in memory */
  TESS_REQUIRE(total < 90000000LL, TESS_ERR_DECK, "grid.n: %" PRId64 " cells is more than this study sums exactly",
               total);
  int64_t sum = 0;
  for (int64_t r = 0; r < repeat; r++) {
    /* a safe point: stop together if any rank was signalled (nothing to checkpoint here) */
    int pending = 0;
    if (r == sigterm_at && rank == 0) raise(SIGTERM);
    TESS_CHECK(tess_signal_pending(MPI_COMM_WORLD, &pending));
    TESS_REQUIRE(!pending, TESS_ERR_INTERRUPTED, "mesh_info: stopped by a signal before repetition %" PRId64, r);
    int64_t local = count > 0 ? (lo + lo + count - 1) * count / 2 : 0;   /* sum of lo..lo+count-1 */
    TESS_REQUIRE(rank != fail_rank, TESS_ERR_NUMERIC, "rank %d failed on purpose (debug.fail_rank = %" PRId64 ")",
                 rank, fail_rank);
    tess_mesh_t *world = NULL;
    TESS_CHECK(tess_comm_mesh_of(MPI_COMM_WORLD, &world));
    TESS_CHECK(tess_comm_allreduce(world, TESS_AXES_ALL, &local, &sum, 1, TESS_I64, TESS_OP_SUM,
                                   TESS_MEM_HOST, NULL));
    tess_progress_step(&prog, (long)(r + 1));
  }
  tess_progress_end(&prog, (long)repeat);
  int64_t want = total * (total - 1) / 2;
  if (per_rank) {
    for (int r = 0; r < size; r++) {   /* in rank order */
      if (r == rank) { printf("rank %d: cells %" PRId64 "..%" PRId64 " (%" PRId64 ")\n", rank, lo, lo + count - 1, count); fflush(stdout); }
      TESS_CHECK(world_barrier());
    }
  }
  double asum = -1;
  char meshdesc[160] = "";
  TESS_CHECK(array_sum(deck, n, nd, per_rank, &asum, meshdesc, sizeof meshdesc));
  if (rank == 0) {
    char shape[128] = "";
    for (size_t d = 0, o = 0; d < nd; d++)
      o += (size_t)snprintf(shape + o, sizeof shape - o, "%s%" PRId64, d ? "x" : "", n[d]);
    if (strcmp(format, "json") == 0)
      printf("{\"study\": \"mesh_info\", \"ranks\": %d, \"mesh\": \"%s\", \"grid\": \"%s\", \"cells\": %" PRId64
             ", \"index_sum\": %" PRId64 ", \"array_sum\": %.17g, \"expected\": %" PRId64 "}\n", size, meshdesc,
             shape, total, sum, asum, want);
    else
      printf("mesh_info: %d rank%s, grid %s = %" PRId64 " cells, %" PRId64 "-%" PRId64
             " per rank; index sum %" PRId64 " (expected %" PRId64 ") %s\n", size, size > 1 ? "s" : "", shape, total, base,
             base + (extra > 0), sum, want, sum == want ? "ok" : "MISMATCH");
    if (strcmp(format, "json") != 0)
      printf("mesh_info: mesh %s, f64 array %s sharded, exact sum %.17g (expected %" PRId64 ") %s\n", meshdesc,
             shape, asum, want, asum == (double)want ? "ok" : "MISMATCH");
    fflush(stdout);
  }
  TESS_REQUIRE(sum == want, TESS_ERR_NUMERIC, "distributed index sum %" PRId64 " != N(N-1)/2 = %" PRId64, sum, want);
  TESS_REQUIRE(asum == (double)want, TESS_ERR_NUMERIC, "exact array sum %.17g != N(N-1)/2 = %" PRId64, asum, want);
cleanup:
  return err;
}

const tess_study_t tess_study_mesh_info = {"mesh_info", &schema, run, check, 0};

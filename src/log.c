/* src/log.c: levelled logging and timed events with a -log_view table.
 * Events are a small fixed table: registering is rare, timing must be cheap
 * (two clock reads and two adds), and the summary is reduced over ranks only
 * once, at the end. Events are matched across ranks by registration order. */
#include <tessera/log.h>
#include <tessera/comm.h>

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_EVENTS 128
#define NAME_LEN 40

typedef struct {
  char name[NAME_LEN];
  long count;
  int depth;            /* nesting of begin/end, so recursion is not double counted */
  double started, total;
} event_t;

static event_t events[MAX_EVENTS];
static int nevents;
static tess_log_level_t level = TESS_LOG_INFO;
static int all_ranks;
static int view_enabled;

double tess_wtime(void)
{
  int up = 0, down = 0;
  MPI_Initialized(&up);
  if (up) MPI_Finalized(&down);
  if (up && !down) return MPI_Wtime();
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int world_rank(void)
{
  int up = 0, down = 0, r = 0;
  MPI_Initialized(&up);
  if (up) MPI_Finalized(&down);
  if (up && !down) MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

void tess_log_set_level(tess_log_level_t l) { level = l; }
tess_log_level_t tess_log_get_level(void) { return level; }
void tess_log_set_all_ranks(int all) { all_ranks = all; }
void tess_log_view_enable(int on) { view_enabled = on; }
int tess_log_view_enabled(void) { return view_enabled; }

tess_err_t tess_log_level_parse(const char *text, tess_log_level_t *out)
{
  static const char *const names[] = {"error", "warn", "info", "debug"};
  for (int i = 0; text && i < 4; i++)
    if (strcmp(text, names[i]) == 0 || (text[0] == '0' + i && text[1] == '\0')) {
      *out = (tess_log_level_t)i;
      return TESS_OK;
    }
  return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, __func__,
                         "unknown log level '%s' (expected error, warn, info or debug)",
                         text ? text : "(null)");
}

void tess_log(tess_log_level_t l, const char *fmt, ...)
{
  if (l > level) return;
  int r = world_rank();
  if (r != 0 && !all_ranks && l != TESS_LOG_ERROR) return;
  char line[2048];
  int off = 0;
  if (all_ranks) off = snprintf(line, sizeof line, "[rank %d] ", r);
  if (l == TESS_LOG_WARN) off += snprintf(line + off, sizeof line - (size_t)off, "warning: ");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line + off, sizeof line - (size_t)off, fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s\n", line);   /* one write per line: ranks do not interleave mid-line */
}

tess_err_t tess_log_event_register(const char *name, tess_log_event_t *ev)
{
  tess_err_t err = TESS_OK;
  TESS_REQUIRE(name && ev, TESS_ERR_ARG, "NULL argument");
  for (int i = 0; i < nevents; i++)
    if (strncmp(events[i].name, name, NAME_LEN - 1) == 0) { *ev = i; return TESS_OK; }
  TESS_REQUIRE(nevents < MAX_EVENTS, TESS_ERR_ARG, "too many events (max %d) registering '%s'",
               MAX_EVENTS, name);
  memset(&events[nevents], 0, sizeof events[nevents]);
  snprintf(events[nevents].name, NAME_LEN, "%s", name);
  *ev = nevents++;
cleanup:
  return err;
}

void tess_log_event_begin(tess_log_event_t ev)
{
  if (ev < 0 || ev >= nevents) return;
  if (events[ev].depth++ == 0) events[ev].started = tess_wtime();
}

void tess_log_event_end(tess_log_event_t ev)
{
  if (ev < 0 || ev >= nevents || events[ev].depth == 0) return;
  if (--events[ev].depth == 0) {
    events[ev].total += tess_wtime() - events[ev].started;
    events[ev].count++;
  }
}

tess_err_t tess_log_event_get(tess_log_event_t ev, long *count, double *seconds)
{
  if (ev < 0 || ev >= nevents)
    return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, __func__, "no event %d", ev);
  if (count) *count = events[ev].count;
  if (seconds) *seconds = events[ev].total;
  return TESS_OK;
}

tess_err_t tess_log_view(MPI_Comm comm, FILE *fp)
{
  tess_err_t err = TESS_OK;
  int rank, n = nevents, nmin;
  double *tmax = NULL, *tmin = NULL, *tloc = NULL;
  int64_t *cmax = NULL, *cloc = NULL;
  tess_mesh_t *mesh = NULL;   /* borrowed: the cached one-axis mesh of comm */
  TESS_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  TESS_CHECK(tess_comm_mesh_of(comm, &mesh));
  TESS_CHECK(tess_comm_allreduce(mesh, TESS_AXES_ALL, &n, &nmin, 1, TESS_I32, TESS_OP_MIN, TESS_MEM_HOST, NULL));
  n = nmin;   /* events registered on every rank */
  tmax = calloc((size_t)n + 1, sizeof *tmax);
  tmin = calloc((size_t)n + 1, sizeof *tmin);
  tloc = calloc((size_t)n + 1, sizeof *tloc);
  cmax = calloc((size_t)n + 1, sizeof *cmax);
  cloc = calloc((size_t)n + 1, sizeof *cloc);
  TESS_REQUIRE(tmax && tmin && tloc && cmax && cloc, TESS_ERR_MEM, "log view");
  for (int i = 0; i < n; i++) { tloc[i] = events[i].total; cloc[i] = events[i].count; }
  /* allreduce, not reduce to rank 0: one path for every backend, and a
   * table of a few dozen numbers costs nothing extra */
  TESS_CHECK(tess_comm_allreduce(mesh, TESS_AXES_ALL, tloc, tmax, (size_t)n, TESS_F64, TESS_OP_MAX, TESS_MEM_HOST, NULL));
  TESS_CHECK(tess_comm_allreduce(mesh, TESS_AXES_ALL, tloc, tmin, (size_t)n, TESS_F64, TESS_OP_MIN, TESS_MEM_HOST, NULL));
  TESS_CHECK(tess_comm_allreduce(mesh, TESS_AXES_ALL, cloc, cmax, (size_t)n, TESS_I64, TESS_OP_MAX, TESS_MEM_HOST, NULL));
  if (rank == 0 && n > 0) {
    double top = 0;
    for (int i = 0; i < n; i++) if (tmax[i] > top) top = tmax[i];
    fprintf(fp, "%-24s %8s %13s %8s %8s\n", "Event", "Count", "Max time (s)", "Max/Min", "% max");
    for (int i = 0; i < n; i++) {
      if (cmax[i] == 0) continue;
      fprintf(fp, "%-24s %8lld %13.3e %8.2f %8.1f\n", events[i].name, (long long)cmax[i], tmax[i],
              tmin[i] > 0 ? tmax[i] / tmin[i] : 1.0, top > 0 ? 100.0 * tmax[i] / top : 0.0);
    }
  }
cleanup:
  free(tmax); free(tmin); free(tloc); free(cmax); free(cloc);
  return err;
}

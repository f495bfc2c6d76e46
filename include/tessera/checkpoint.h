/* include/tessera/checkpoint.h: HDF5 checkpoints and restart on any rank count.
 * A checkpoint is one HDF5 file. Arrays are stored as GLOBAL datasets (the
 * whole array in row-major order, whatever ShardSpec and rank count wrote it),
 * so a restart may read them into any spec on any number of ranks. Small
 * replicated vectors (optimizer moments, counters) are datasets too; run
 * metadata (study, effective deck, step, time, RNG state, Tessera version and
 * git revision, mesh) are attributes of the root group. See docs/checkpoints.md.
 *
 * Crash safety: tess_checkpoint_begin() writes to "<path>.tmp" beside the
 * final name; tess_checkpoint_commit() flushes, fsyncs, renames and fsyncs the
 * directory. A run that dies before the rename leaves the previous checkpoint
 * untouched. A manager names checkpoints by step and keeps the last K.
 *
 * All calls taking a handle are collective on the communicator it was made
 * with, and every rank must pass the same names and metadata. Arrays must live
 * on a mesh over that same group of ranks (same size and order). Parallel
 * HDF5 (MPI-IO, collective writes) is used when the build has it; otherwise
 * rank 0 does the file I/O and the other ranks ship their blocks to it: the
 * file is the same either way. */
#ifndef TESSERA_CHECKPOINT_H
#define TESSERA_CHECKPOINT_H
#include <tessera/export.h>
TESS_API_BEGIN
#include <stddef.h>
#include <stdint.h>
#include <mpi.h>
#include <tessera/array.h>
#include <tessera/error.h>
#include <tessera/signal.h>

/* Layout version stored in every file (attribute "tessera_format"). Readers
 * reject files with a newer format than they know. */
#define TESS_CHECKPOINT_FORMAT 1

typedef struct tess_checkpoint tess_checkpoint_t;   /* opaque */

/* Run metadata every study stores (root attributes). On write, NULL strings
 * and n_rng_counters == 0 are simply left out. On read, strings and the
 * counter vector belong to the handle and live until tess_checkpoint_close(). */
typedef struct {
  const char *study;              /* study name, checked on restart */
  const char *deck_text;          /* effective deck (tess_deck_text) */
  int64_t step;                   /* steps completed */
  double time;                    /* simulation time */
  uint64_t rng_seed;              /* run.seed */
  const uint64_t *rng_counters;   /* next unused counter per RNG stream */
  size_t n_rng_counters;
} tess_checkpoint_meta_t;

/* ---- writing ----------------------------------------------------------- */

/* Collective on comm (duplicated, not kept). Creates "<path>.tmp" (truncating
 * a stale one) and stores tessera_format, tessera_version and
 * tessera_git_revision. The directory must exist. */
tess_err_t tess_checkpoint_begin(MPI_Comm comm, const char *path, tess_checkpoint_t **ck);
/* Collective. The array as global dataset `name` ("fields/u": groups are
 * created as needed), with its dtype (complex as a compound {r, i}, as h5py
 * does), its ShardSpec and mesh as attributes. Each block is written once,
 * also when replicated. Host arrays; device arrays are staged through host. */
tess_err_t tess_checkpoint_write_array(tess_checkpoint_t *ck, const char *name,
                                       const tess_array_t *a);
/* Collective. Replicated vectors, identical on every rank: rank 0's copy is
 * written. n may be 0. */
tess_err_t tess_checkpoint_write_f64(tess_checkpoint_t *ck, const char *name,
                                     const double *x, size_t n);
tess_err_t tess_checkpoint_write_i64(tess_checkpoint_t *ck, const char *name,
                                     const int64_t *x, size_t n);
/* Collective. Root attributes: run metadata, and any further scalar. */
tess_err_t tess_checkpoint_set_meta(tess_checkpoint_t *ck, const tess_checkpoint_meta_t *meta);
tess_err_t tess_checkpoint_set_attr_int(tess_checkpoint_t *ck, const char *key, int64_t v);
tess_err_t tess_checkpoint_set_attr_double(tess_checkpoint_t *ck, const char *key, double v);
tess_err_t tess_checkpoint_set_attr_string(tess_checkpoint_t *ck, const char *key,
                                           const char *v);
/* Collective. Writes the XDMF sidecar, flushes, closes, fsyncs, renames the
 * temporary file to its final name and fsyncs the directory; then, for a
 * handle from a manager, removes checkpoints beyond its `keep`. Always
 * destroys the handle and sets *ck to NULL; on failure the temporary file is
 * removed and any previous file at the final path is untouched. */
tess_err_t tess_checkpoint_commit(tess_checkpoint_t **ck);

/* ---- reading ----------------------------------------------------------- */

/* Collective on comm. Fails with TESS_ERR_IO (missing, unreadable) or
 * TESS_ERR_HDF5 (not HDF5, truncated, not a Tessera checkpoint, newer
 * format), naming the file. */
tess_err_t tess_checkpoint_open(MPI_Comm comm, const char *path, tess_checkpoint_t **ck);
/* Collective. TESS_ERR_ARG naming file and study unless the file was written
 * by `study` with a Tessera of the same major version. */
tess_err_t tess_checkpoint_check_study(const tess_checkpoint_t *ck, const char *study);
/* Collective. Global dataset `name` into dst, whatever dst's spec and the
 * writer's rank count. TESS_ERR_SHAPE names file, dataset, expected and found
 * shape or dtype. On any error dst is unchanged on every rank. */
tess_err_t tess_checkpoint_read_array(tess_checkpoint_t *ck, const char *name,
                                      tess_array_t *dst);
/* Collective. Global shape (ndim <= TESS_MAX_NDIM) and dtype of array
 * dataset `name`, so a reader can make an array for it on any mesh.
 * TESS_ERR_HDF5 naming file and dataset when absent; TESS_ERR_SHAPE for a
 * type no Tessera dtype reads. */
tess_err_t tess_checkpoint_array_info(tess_checkpoint_t *ck, const char *name, tess_dtype_t *dtype,
                                      int *ndim, int64_t shape[]);
/* Collective. The vector must have exactly n elements (TESS_ERR_SHAPE
 * otherwise); x is unchanged on error. */
tess_err_t tess_checkpoint_read_f64(tess_checkpoint_t *ck, const char *name, double *x,
                                    size_t n);
tess_err_t tess_checkpoint_read_i64(tess_checkpoint_t *ck, const char *name, int64_t *x,
                                    size_t n);
/* Collective. *exists = 1 if a dataset `name` is in the file. */
tess_err_t tess_checkpoint_has(tess_checkpoint_t *ck, const char *name, int *exists);
/* Collective. Missing attributes: study/deck_text NULL, step 0, time 0,
 * no counters. */
tess_err_t tess_checkpoint_get_meta(tess_checkpoint_t *ck, tess_checkpoint_meta_t *meta);
/* Collective. TESS_ERR_ARG naming file and key when absent or of another type.
 * String results belong to the handle. */
tess_err_t tess_checkpoint_get_attr_int(tess_checkpoint_t *ck, const char *key, int64_t *v);
tess_err_t tess_checkpoint_get_attr_double(tess_checkpoint_t *ck, const char *key, double *v);
tess_err_t tess_checkpoint_get_attr_string(tess_checkpoint_t *ck, const char *key,
                                           const char **v);
/* Path the handle reads or will commit to. */
const char *tess_checkpoint_path(const tess_checkpoint_t *ck);
/* Collective. Safe on NULL; sets *ck to NULL. On an uncommitted write handle
 * this aborts: the temporary file is removed, nothing is renamed. */
void tess_checkpoint_close(tess_checkpoint_t **ck);

/* ---- manager: naming by step, keep the last K, when to write -------------- */

typedef struct tess_checkpoint_manager tess_checkpoint_manager_t;   /* opaque */

/* What the deck keys checkpoint.* say. keep >= 1. every_* <= 0 means off. */
typedef struct {
  const char *dir;          /* checkpoint.dir; created if missing */
  const char *prefix;       /* file names "<prefix>_<step, 9 digits>.h5"; NULL = "ckpt" */
  int keep;                 /* checkpoint.keep */
  int64_t every_steps;      /* checkpoint.every_steps */
  double every_seconds;     /* checkpoint.every_seconds (wall clock) */
} tess_checkpoint_policy_t;

/* Collective on comm (duplicated). */
tess_err_t tess_checkpoint_manager_create(MPI_Comm comm, const tess_checkpoint_policy_t *policy,
                                          tess_checkpoint_manager_t **m);
void tess_checkpoint_manager_destroy(tess_checkpoint_manager_t **m);   /* safe on NULL */
/* Collective. *due = 1 when step is a multiple of every_steps, or every_seconds
 * have passed since the manager was made or last committed (rank 0's clock
 * decides, so all ranks agree), or a signal is pending (tess_signal_pending). */
tess_err_t tess_checkpoint_manager_due(tess_checkpoint_manager_t *m, int64_t step, int *due);
/* Collective. tess_checkpoint_begin() on "<dir>/<prefix>_<step>.h5"; commit
 * the handle with tess_checkpoint_commit(), which then applies `keep`. */
tess_err_t tess_checkpoint_manager_begin(tess_checkpoint_manager_t *m, int64_t step,
                                         tess_checkpoint_t **ck);
/* Collective. Path of the committed checkpoint with the highest step (temporary
 * files are never taken), written into path[cap]; *found = 0 if none. */
tess_err_t tess_checkpoint_manager_latest(tess_checkpoint_manager_t *m, char *path,
                                          size_t cap, int *found);
TESS_API_END
#endif

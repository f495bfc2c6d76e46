/* src/checkpoint_internal.h: what the checkpoint_*.c files share.
 * Two I/O modes produce the same file:
 *   parallel:  every rank has the file open through MPI-IO; metadata calls
 *              are collective, array blocks go down in one collective write;
 *   rank0:     only rank 0 has the file open (sec2 driver); other ranks send
 *              their blocks to it (write) or receive them from it (read).
 * Serial-HDF5 builds only have rank0; parallel builds use parallel unless
 * TESS_CHECKPOINT_IO=rank0 (so one build can test both paths). */
#ifndef TESS_CHECKPOINT_INTERNAL_H
#define TESS_CHECKPOINT_INTERNAL_H
#include <tessera/checkpoint.h>
#include <hdf5.h>

#define CK_MAX_XDMF 64

typedef struct ck_string {   /* strings handed out by readers, freed at close */
  struct ck_string *next;
  char text[];
} ck_string_t;

typedef struct {
  char name[256];
  tess_dtype_t dtype;
  int ndim;
  int64_t shape[3];
} ck_xdmf_field_t;

struct tess_checkpoint {
  MPI_Comm comm;
  tess_mesh_t *mesh;           /* borrowed: tess_comm_mesh_of(comm), made in handle_new */
  int rank, size;
  int writing;                 /* 1: begun for writing, 0: opened for reading */
  int committed;               /* renamed to its final name */
  int parallel;                /* see above */
  hid_t file;                  /* open where ck_has_file() */
  char *path;                  /* final name */
  char *tmp_path;              /* "<path>.tmp" while writing */
  tess_checkpoint_manager_t *manager;   /* borrowed; rotation after commit */
  int mesh_recorded;           /* root mesh_* attributes written */
  ck_string_t *strings;
  uint64_t *rng_counters;      /* get_meta result */
  ck_xdmf_field_t xdmf[CK_MAX_XDMF];
  int nxdmf;
  double time;                 /* for the XDMF <Time> */
};

static inline int ck_has_file(const tess_checkpoint_t *ck)
{
  return ck->parallel || ck->rank == 0;
}

/* Push TESS_ERR_HDF5 "checkpoint '<file>': <what>: <HDF5's innermost message>"
 * and clear HDF5's stack. Returns TESS_ERR_HDF5. */
tess_err_t ck_h5_error(const tess_checkpoint_t *ck, const char *file, int line,
                       const char *func, const char *what, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
/* HDF5's innermost message (or "") into buf; clears HDF5's stack. */
void ck_h5_message(char *buf, size_t cap);
/* Turn off HDF5's automatic error printing on this thread. */
void ck_h5_silence(void);

/* H5 call returning < 0 on failure (hid_t or herr_t). */
#define CK_H5(ck, expr, ...) do { if ((expr) < 0) {                               \
      err = ck_h5_error((ck), __FILE__, __LINE__, __func__, __VA_ARGS__);         \
      goto cleanup; } } while (0)

/* Collective: make every rank return the same status. If any rank failed,
 * ranks that did not get the failing rank's first message pushed as their
 * own error, so rank 0 can print what went wrong anywhere. */
tess_err_t ck_agree(MPI_Comm comm, tess_err_t err);
/* Collective: `bytes` of buf from root, and a barrier (through tess_comm). */
tess_err_t ck_bcast(MPI_Comm comm, void *buf, size_t bytes, int root);
tess_err_t ck_barrier(MPI_Comm comm);

/* Sync points inside one collective function. A rank that fails locally
 * jumps to cleanup early; CK_SYNC_REST there makes it take part in the sync
 * points it skipped, so every rank calls ck_agree() the same number of times
 * (`total`: the CK_SYNC sites of the function plus one final). Between two
 * sync points, collective calls only follow a sync that said all is well.
 * Needs `tess_err_t err` and `int ck_phase_ = 0` in scope. */
#define CK_SYNC(comm) do { err = ck_agree((comm), err); ck_phase_++;             \
    if (err) goto cleanup; } while (0)
#define CK_SYNC_REST(comm, total) do { while (ck_phase_ < (total)) {             \
      err = ck_agree((comm), err); ck_phase_++; } } while (0)

/* Attributes on `obj`, replaced if present. Call where ck_has_file(). */
tess_err_t ck_attr_put_num(tess_checkpoint_t *ck, hid_t obj, const char *key, hid_t type,
                           const void *v, size_t n, int scalar);
tess_err_t ck_attr_put_str(tess_checkpoint_t *ck, hid_t obj, const char *key, const char *s);

/* HDF5 memory type of a Tessera dtype (complex: compound {r, i}); negative
 * on failure. Release with ck_h5_type_close() (predefined types are shared). */
hid_t ck_h5_type(tess_dtype_t t);
void ck_h5_type_close(hid_t type);
/* "f64", "int32", "compound{r,i} of f64", ... for error messages. */
void ck_h5_type_describe(hid_t type, char *buf, size_t cap);

/* Keep a string on the handle; NULL on allocation failure. */
const char *ck_keep_string(tess_checkpoint_t *ck, const char *s, size_t len);

/* Collective on comm: broadcast a string from rank 0 (allocated on every
 * rank with malloc; *s may be NULL on rank 0 meaning "absent"). */
tess_err_t ck_bcast_string(MPI_Comm comm, char **s);

/* Durable rename: fsync `tmp`, rename to `final`, fsync their directory. */
tess_err_t ck_durable_rename(const char *tmp, const char *final);
/* fsync one file by name. */
tess_err_t ck_fsync_path(const char *path);

/* Write "<final without .h5>.xmf" describing ck->xdmf (rank 0 only; also
 * through a temporary name). Nothing is written if there are no fields. */
tess_err_t ck_xdmf_write(const tess_checkpoint_t *ck);
/* Sidecar name for a checkpoint path, into buf. */
void ck_xdmf_path(const char *h5path, char *buf, size_t cap);

/* Collective: run by tess_checkpoint_commit() after the rename (keep-K). */
tess_err_t ck_manager_committed(tess_checkpoint_manager_t *m);
#endif

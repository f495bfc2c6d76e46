/* src/checkpoint.c: checkpoint files: begin/commit, open/close, attributes,
 * small replicated vectors and run metadata. Arrays are in checkpoint_array.c.
 *
 * Every public call ends in ck_agree(): if one rank failed, all return the
 * failure, with the failing rank's message, so a study never continues on
 * some ranks with a half-written or half-read state. Values that must be the
 * same on all ranks (attributes, vectors) are taken from rank 0. */
#include "checkpoint_internal.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tessera/comm.h>
#include <tessera/config.h>
#include <tessera/init.h>

/* ---- small shared helpers ------------------------------------------------ */

/* The control plane goes through tess_comm too (tests/layering/check_comm.sh),
 * on the one-axis mesh cached on the communicator. tess_comm has no byte
 * dtype: bytes travel as 4-byte words, a short tail as one padded word. */
tess_err_t ck_bcast(MPI_Comm comm, void *buf, size_t bytes, int root)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;   /* borrowed */
  size_t words = bytes / 4, tail = bytes % 4;
  TESS_CHECK(tess_comm_mesh_of(comm, &mesh));
  if (words)
    TESS_CHECK(tess_comm_bcast(mesh, TESS_AXES_ALL, buf, words, TESS_I32, root, TESS_MEM_HOST, NULL));
  if (tail) {
    int32_t w = 0;
    memcpy(&w, (char *)buf + 4 * words, tail);
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    TESS_CHECK(tess_comm_bcast(mesh, TESS_AXES_ALL, &w, 1, TESS_I32, root, TESS_MEM_HOST, NULL));
    if (rank != root) memcpy((char *)buf + 4 * words, &w, tail);   /* the root's may be read-only */
  }
cleanup:
  return err;
}

/* A barrier is an allreduce of nothing much. */
tess_err_t ck_barrier(MPI_Comm comm)
{
  tess_err_t err = TESS_OK;
  tess_mesh_t *mesh = NULL;
  int32_t z = 0, out = 0;
  TESS_CHECK(tess_comm_mesh_of(comm, &mesh));
  TESS_CHECK(tess_comm_allreduce(mesh, TESS_AXES_ALL, &z, &out, 1, TESS_I32, TESS_OP_MAX, TESS_MEM_HOST, NULL));
cleanup:
  return err;
}

tess_err_t ck_agree(MPI_Comm comm, tess_err_t err)
{
  int rank = 0, size = 1, code = err;
  int32_t key = 0, who = 0;   /* key: size - rank of a failed rank (max: the lowest), 0 if none */
  char msg[512] = "";
  tess_mesh_t *mesh = NULL;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  key = err != TESS_OK ? size - rank : 0;
  if (tess_comm_mesh_of(comm, &mesh) != TESS_OK ||
      tess_comm_allreduce(mesh, TESS_AXES_ALL, &key, &who, 1, TESS_I32, TESS_OP_MAX, TESS_MEM_HOST, NULL) != TESS_OK)
    return err ? err : tess_error_push(TESS_ERR_MPI, __FILE__, __LINE__, __func__,
                                       "allreduce failed while agreeing on a status");
  if (!who) return TESS_OK;
  int from = size - who;
  if (rank == from) snprintf(msg, sizeof msg, "%s", tess_error_message());
  if (ck_bcast(comm, &code, sizeof code, from) != TESS_OK || ck_bcast(comm, msg, sizeof msg, from) != TESS_OK) {
    if (err == TESS_OK) return tess_error_push(TESS_ERR_MPI, __FILE__, __LINE__, __func__, "status broadcast failed");
    return err;
  }
  if (err == TESS_OK)
    return tess_error_push(code, __FILE__, __LINE__, __func__, "%s (on rank %d)", msg, from);
  return err;
}

tess_err_t ck_bcast_string(MPI_Comm comm, char **s)
{
  tess_err_t err = TESS_OK;
  int rank = 0;
  long long len = -1;   /* -1: absent */
  MPI_Comm_rank(comm, &rank);
  if (rank == 0 && *s) len = (long long)strlen(*s);
  TESS_CHECK(ck_bcast(comm, &len, (1) * sizeof(long long), 0));
  if (rank != 0) {
    *s = NULL;
    if (len >= 0 && (*s = malloc((size_t)len + 1)) == NULL)
      err = tess_error_push(TESS_ERR_MEM, __FILE__, __LINE__, __func__, "string of %lld bytes",
                            len);
  }
  if ((err = ck_agree(comm, err)) != TESS_OK) goto cleanup;
  for (long long off = 0; len > 0 && off < len; off += INT_MAX / 2) {
    long long n = len - off < INT_MAX / 2 ? len - off : INT_MAX / 2;
    TESS_CHECK(ck_bcast(comm, *s + off, (size_t)n, 0));
  }
  if (rank != 0 && len >= 0) (*s)[len] = '\0';   /* rank 0's may be read-only */
cleanup:
  return err;
}

const char *ck_keep_string(tess_checkpoint_t *ck, const char *s, size_t len)
{
  ck_string_t *k = malloc(sizeof *k + len + 1);
  if (!k) return NULL;
  memcpy(k->text, s, len);
  k->text[len] = '\0';
  k->next = ck->strings;
  ck->strings = k;
  return k->text;
}

static char *dup_str(const char *s)
{
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

/* Where the flavour allows a choice, rank 0's environment decides for all. */
static tess_err_t choose_mode(tess_checkpoint_t *ck)
{
  tess_err_t err = TESS_OK;
  int par = 0;
#if TESSERA_HAVE_PARALLEL_HDF5
  /* One rank: the sec2 driver writes straight from the array; MPI-IO would
   * only add its own buffering. TESS_CHECKPOINT_IO=rank0|parallel forces. */
  const char *e = getenv("TESS_CHECKPOINT_IO");
  par = e && strcmp(e, "rank0") == 0 ? 0 : e && strcmp(e, "parallel") == 0 ? 1 : ck->size > 1;
#endif
  TESS_CHECK(ck_bcast(ck->comm, &par, (1) * sizeof(int), 0));
  ck->parallel = par;
cleanup:
  return err;
}

static tess_err_t handle_new(MPI_Comm comm, const char *path, int writing,
                             tess_checkpoint_t **out)
{
  tess_err_t err = TESS_OK;
  tess_checkpoint_t *ck = calloc(1, sizeof *ck);
  TESS_REQUIRE(ck != NULL, TESS_ERR_MEM, "checkpoint handle");
  ck->comm = MPI_COMM_NULL;
  ck->file = H5I_INVALID_HID;
  ck->writing = writing;
  TESS_MPI_CHECK(MPI_Comm_dup(comm, &ck->comm));
  /* collective the first time: made here, where every rank is, not in a
   * transfer that only some ranks take part in */
  TESS_CHECK(tess_comm_mesh_of(ck->comm, &ck->mesh));
  MPI_Comm_rank(ck->comm, &ck->rank);
  MPI_Comm_size(ck->comm, &ck->size);
  ck->path = dup_str(path);
  TESS_REQUIRE(ck->path != NULL, TESS_ERR_MEM, "path");
  if (writing) {
    size_t n = strlen(path) + 5;
    ck->tmp_path = malloc(n);
    TESS_REQUIRE(ck->tmp_path != NULL, TESS_ERR_MEM, "path");
    snprintf(ck->tmp_path, n, "%s.tmp", path);
  }
  TESS_CHECK(choose_mode(ck));
  ck_h5_silence();
cleanup:
  *out = ck;   /* even on failure: the caller closes it */
  return err;
}

/* File access: HDF5 >= 1.8 format (attributes over 64 KiB, like a long deck,
 * go to dense storage) and MPI-IO in parallel mode. */
static hid_t make_fapl(const tess_checkpoint_t *ck)
{
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0) return fapl;
  if (H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_LATEST) < 0) goto fail;
  /* Big datasets start on 1 MiB boundaries: whole file-system blocks. */
  if (H5Pset_alignment(fapl, 1 << 20, 1 << 20) < 0) goto fail;
#if TESSERA_HAVE_PARALLEL_HDF5
  if (ck->parallel && H5Pset_fapl_mpio(fapl, ck->comm, MPI_INFO_NULL) < 0) goto fail;
#else
  (void)ck;
#endif
  return fapl;
fail:
  H5Pclose(fapl);
  return -1;
}

/* ---- attributes (on ranks that have the file; values already agreed) ----- */

static tess_err_t attr_put(tess_checkpoint_t *ck, hid_t obj, const char *key, hid_t type,
                           hid_t space, const void *buf)
{
  tess_err_t err = TESS_OK;
  hid_t a = H5I_INVALID_HID;
  htri_t exists = H5Aexists(obj, key);
  CK_H5(ck, exists, "attribute '%s'", key);
  if (exists) CK_H5(ck, H5Adelete(obj, key), "replacing attribute '%s'", key);
  CK_H5(ck, a = H5Acreate2(obj, key, type, space, H5P_DEFAULT, H5P_DEFAULT),
        "creating attribute '%s'", key);
  CK_H5(ck, H5Awrite(a, type, buf), "writing attribute '%s'", key);
cleanup:
  if (a >= 0) H5Aclose(a);
  return err;
}

tess_err_t ck_attr_put_num(tess_checkpoint_t *ck, hid_t obj, const char *key, hid_t type,
                           const void *v, size_t n, int scalar)
{
  tess_err_t err = TESS_OK;
  hsize_t dim = n;
  hid_t space = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dim, NULL);
  CK_H5(ck, space, "dataspace for attribute '%s'", key);
  TESS_CHECK(attr_put(ck, obj, key, type, space, v));
cleanup:
  if (space >= 0) H5Sclose(space);
  return err;
}

tess_err_t ck_attr_put_str(tess_checkpoint_t *ck, hid_t obj, const char *key, const char *s)
{
  tess_err_t err = TESS_OK;
  size_t len = strlen(s);
  hid_t type = H5Tcopy(H5T_C_S1), space = H5I_INVALID_HID;
  CK_H5(ck, type, "string type");
  CK_H5(ck, H5Tset_size(type, len ? len : 1), "string type");
  CK_H5(ck, H5Tset_strpad(type, H5T_STR_NULLPAD), "string type");
  CK_H5(ck, H5Tset_cset(type, H5T_CSET_UTF8), "string type");
  CK_H5(ck, space = H5Screate(H5S_SCALAR), "dataspace");
  TESS_CHECK(attr_put(ck, obj, key, type, space, len ? s : ""));
cleanup:
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  return err;
}

typedef enum { ATTR_I64, ATTR_F64, ATTR_U64_VEC, ATTR_STR } attr_kind_t;

/* Read a root attribute on rank 0. *found = 0 if absent. Numbers go to
 * `num` (n elements, n returned in *n for vectors, malloc'd in *vec); strings
 * are malloc'd in *str. */
static tess_err_t attr_get_local(tess_checkpoint_t *ck, const char *key, attr_kind_t kind,
                                 int *found, void *num, uint64_t **vec, size_t *n, char **str)
{
  tess_err_t err = TESS_OK;
  hid_t a = H5I_INVALID_HID, type = H5I_INVALID_HID, space = H5I_INVALID_HID;
  hid_t mt = H5I_INVALID_HID;
  char desc[64];
  *found = 0;
  htri_t exists = H5Aexists(ck->file, key);
  CK_H5(ck, exists, "attribute '%s'", key);
  if (!exists) goto cleanup;
  *found = 1;
  CK_H5(ck, a = H5Aopen(ck->file, key, H5P_DEFAULT), "opening attribute '%s'", key);
  CK_H5(ck, type = H5Aget_type(a), "attribute '%s'", key);
  CK_H5(ck, space = H5Aget_space(a), "attribute '%s'", key);
  hssize_t npts = H5Sget_simple_extent_npoints(space);
  CK_H5(ck, npts, "attribute '%s'", key);
  H5T_class_t cls = H5Tget_class(type);
  ck_h5_type_describe(type, desc, sizeof desc);
  switch (kind) {
  case ATTR_I64:
  case ATTR_F64:
    TESS_REQUIRE(npts == 1 && (kind == ATTR_I64 ? cls == H5T_INTEGER
                                                : (cls == H5T_FLOAT || cls == H5T_INTEGER)),
                 TESS_ERR_ARG, "checkpoint '%s': attribute '%s' is %s with %lld elements, "
                 "expected one %s", ck->path, key, desc, (long long)npts,
                 kind == ATTR_I64 ? "integer" : "number");
    CK_H5(ck, H5Aread(a, kind == ATTR_I64 ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE, num),
          "reading attribute '%s'", key);
    break;
  case ATTR_U64_VEC:
    TESS_REQUIRE(cls == H5T_INTEGER, TESS_ERR_ARG,
                 "checkpoint '%s': attribute '%s' is %s, expected integers", ck->path, key, desc);
    *n = (size_t)npts;
    *vec = malloc((size_t)npts * sizeof(uint64_t) + 1);
    TESS_REQUIRE(*vec != NULL, TESS_ERR_MEM, "attribute '%s'", key);
    CK_H5(ck, H5Aread(a, H5T_NATIVE_UINT64, *vec), "reading attribute '%s'", key);
    break;
  case ATTR_STR: {
    TESS_REQUIRE(cls == H5T_STRING && npts == 1, TESS_ERR_ARG,
                 "checkpoint '%s': attribute '%s' is %s, expected a string", ck->path, key, desc);
    htri_t vl = H5Tis_variable_str(type);
    CK_H5(ck, vl, "attribute '%s'", key);
    if (vl) {
      char *p = NULL;
      CK_H5(ck, mt = H5Tcopy(H5T_C_S1), "string type");
      CK_H5(ck, H5Tset_size(mt, H5T_VARIABLE), "string type");
      CK_H5(ck, H5Aread(a, mt, &p), "reading attribute '%s'", key);
      *str = dup_str(p ? p : "");
      H5free_memory(p);
    } else {
      size_t sz = H5Tget_size(type);
      *str = calloc(1, sz + 1);
      TESS_REQUIRE(*str != NULL, TESS_ERR_MEM, "attribute '%s'", key);
      CK_H5(ck, H5Aread(a, type, *str), "reading attribute '%s'", key);
    }
    TESS_REQUIRE(*str != NULL, TESS_ERR_MEM, "attribute '%s'", key);
    break;
  }
  }
cleanup:
  if (mt >= 0) H5Tclose(mt);
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  if (a >= 0) H5Aclose(a);
  return err;
}

/* Collective: rank 0 reads, everyone gets the value. */
static tess_err_t attr_get(tess_checkpoint_t *ck, const char *key, attr_kind_t kind,
                           int *found, void *num, uint64_t **vec, size_t *n, char **str)
{
  tess_err_t err = TESS_OK;
  long long nn = 0;
  *found = 0;
  if (vec) *vec = NULL;
  if (str) *str = NULL;
  if (ck->rank == 0) err = attr_get_local(ck, key, kind, found, num, vec, n, str);
  TESS_CHECK(ck_agree(ck->comm, err));
  TESS_CHECK(ck_bcast(ck->comm, found, (1) * sizeof(int), 0));
  if (!*found) goto cleanup;
  switch (kind) {
  case ATTR_I64: TESS_CHECK(ck_bcast(ck->comm, num, (1) * sizeof(int64_t), 0)); break;
  case ATTR_F64: TESS_CHECK(ck_bcast(ck->comm, num, (1) * sizeof(double), 0)); break;
  case ATTR_STR: TESS_CHECK(ck_bcast_string(ck->comm, str)); break;
  case ATTR_U64_VEC:
    if (ck->rank == 0) nn = (long long)*n;
    TESS_CHECK(ck_bcast(ck->comm, &nn, (1) * sizeof(long long), 0));
    *n = (size_t)nn;
    if (ck->rank != 0 && (*vec = malloc((size_t)nn * sizeof(uint64_t) + 1)) == NULL)
      err = tess_error_push(TESS_ERR_MEM, __FILE__, __LINE__, __func__, "attribute '%s'", key);
    TESS_CHECK(ck_agree(ck->comm, err));   /* every rank reaches this one */
    TESS_CHECK(ck_bcast(ck->comm, *vec, (size_t)nn * sizeof(uint64_t), 0));
    break;
  }
cleanup:
  err = ck_agree(ck->comm, err);
  if (err) {
    if (vec) { free(*vec); *vec = NULL; }
    if (str) { free(*str); *str = NULL; }
  }
  return err;
}

/* ---- writing ------------------------------------------------------------- */

tess_err_t tess_checkpoint_begin(MPI_Comm comm, const char *path, tess_checkpoint_t **out)
{
  tess_err_t err = TESS_OK;
  tess_checkpoint_t *ck = NULL;
  hid_t fapl = H5I_INVALID_HID;
  TESS_REQUIRE(path && path[0] && out, TESS_ERR_ARG, "NULL or empty argument");
  *out = NULL;
  err = handle_new(comm, path, 1, &ck);
  if (ck && ck->comm != MPI_COMM_NULL) err = ck_agree(ck->comm, err);
  if (err) goto cleanup;
  if (ck_has_file(ck)) {
    CK_H5(ck, fapl = make_fapl(ck), "file access properties");
    ck->file = H5Fcreate(ck->tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    CK_H5(ck, ck->file, "cannot create temporary file '%s' (does the directory exist and "
          "is it writable?)", ck->tmp_path);
    int64_t fmt = TESS_CHECKPOINT_FORMAT, nranks = ck->size;
    TESS_CHECK(ck_attr_put_num(ck, ck->file, "tessera_format", H5T_NATIVE_INT64, &fmt, 1, 1));
    TESS_CHECK(ck_attr_put_str(ck, ck->file, "tessera_version", tess_version()));
    TESS_CHECK(ck_attr_put_str(ck, ck->file, "tessera_git_revision", tess_git_revision()));
    TESS_CHECK(ck_attr_put_num(ck, ck->file, "writer_ranks", H5T_NATIVE_INT64, &nranks, 1, 1));
  }
cleanup:
  if (fapl >= 0) H5Pclose(fapl);
  if (ck && ck->comm != MPI_COMM_NULL) err = ck_agree(ck->comm, err);
  if (err) tess_checkpoint_close(&ck);
  else *out = ck;
  return err;
}

static tess_err_t require_writing(const tess_checkpoint_t *ck, const char *what)
{
  if (!ck) return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, what, "NULL checkpoint");
  if (!ck->writing)
    return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, what,
                           "checkpoint '%s' was opened for reading", ck->path);
  return TESS_OK;
}

static tess_err_t require_reading(const tess_checkpoint_t *ck, const char *what)
{
  if (!ck) return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, what, "NULL checkpoint");
  if (ck->writing)
    return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, what,
                           "checkpoint '%s' is being written, not read", ck->path);
  return TESS_OK;
}

static tess_err_t check_key(const tess_checkpoint_t *ck, const char *key)
{
  if (!key || !key[0] || strchr(key, '/'))
    return tess_error_push(TESS_ERR_ARG, __FILE__, __LINE__, __func__,
                           "checkpoint '%s': attribute name '%s' must be non-empty without '/'",
                           ck->path, key ? key : "(null)");
  return TESS_OK;
}

tess_err_t tess_checkpoint_set_attr_int(tess_checkpoint_t *ck, const char *key, int64_t v)
{
  tess_err_t err = require_writing(ck, __func__);
  if (err) return err;
  if ((err = check_key(ck, key))) return err;
  TESS_CHECK(ck_bcast(ck->comm, &v, (1) * sizeof(int64_t), 0));
  if (ck_has_file(ck)) TESS_CHECK(ck_attr_put_num(ck, ck->file, key, H5T_NATIVE_INT64, &v, 1, 1));
cleanup:
  return ck_agree(ck->comm, err);
}

tess_err_t tess_checkpoint_set_attr_double(tess_checkpoint_t *ck, const char *key, double v)
{
  tess_err_t err = require_writing(ck, __func__);
  if (err) return err;
  if ((err = check_key(ck, key))) return err;
  TESS_CHECK(ck_bcast(ck->comm, &v, (1) * sizeof(double), 0));
  if (ck_has_file(ck)) TESS_CHECK(ck_attr_put_num(ck, ck->file, key, H5T_NATIVE_DOUBLE, &v, 1, 1));
cleanup:
  return ck_agree(ck->comm, err);
}

tess_err_t tess_checkpoint_set_attr_string(tess_checkpoint_t *ck, const char *key, const char *v)
{
  tess_err_t err = require_writing(ck, __func__);
  char *s = NULL;
  if (err) return err;
  if ((err = check_key(ck, key))) return err;
  TESS_REQUIRE(v != NULL, TESS_ERR_ARG, "checkpoint '%s': NULL value for '%s'", ck->path, key);
  s = ck->rank == 0 ? (char *)v : NULL;
  TESS_CHECK(ck_bcast_string(ck->comm, &s));
  if (ck_has_file(ck)) TESS_CHECK(ck_attr_put_str(ck, ck->file, key, s));
cleanup:
  if (ck->rank != 0) free(s);
  return ck_agree(ck->comm, err);
}

tess_err_t tess_checkpoint_set_meta(tess_checkpoint_t *ck, const tess_checkpoint_meta_t *meta)
{
  tess_err_t err = require_writing(ck, __func__);
  char *study = NULL, *deck = NULL;
  uint64_t *ctr = NULL;
  long long n = 0;
  struct { int64_t step; double time; uint64_t seed; } num;
  int ck_phase_ = 0;
  if (err) return err;
  TESS_REQUIRE(meta != NULL, TESS_ERR_ARG, "NULL meta");
  num.step = meta->step;
  num.time = meta->time;
  num.seed = meta->rng_seed;
  TESS_CHECK(ck_bcast(ck->comm, &num.step, (1) * sizeof(int64_t), 0));
  TESS_CHECK(ck_bcast(ck->comm, &num.time, (1) * sizeof(double), 0));
  TESS_CHECK(ck_bcast(ck->comm, &num.seed, (1) * sizeof(uint64_t), 0));
  if (ck->rank == 0) {
    study = (char *)meta->study;
    deck = (char *)meta->deck_text;
    n = meta->rng_counters ? (long long)meta->n_rng_counters : 0;
  }
  TESS_CHECK(ck_bcast_string(ck->comm, &study));
  TESS_CHECK(ck_bcast_string(ck->comm, &deck));
  TESS_CHECK(ck_bcast(ck->comm, &n, (1) * sizeof(long long), 0));
  ctr = malloc((size_t)n * sizeof *ctr + 1);
  TESS_REQUIRE(ctr != NULL, TESS_ERR_MEM, "RNG counters");
  CK_SYNC(ck->comm);
  if (ck->rank == 0 && n) memcpy(ctr, meta->rng_counters, (size_t)n * sizeof *ctr);
  TESS_CHECK(ck_bcast(ck->comm, ctr, (size_t)n * sizeof(uint64_t), 0));
  ck->time = num.time;
  if (ck_has_file(ck)) {
    if (study) TESS_CHECK(ck_attr_put_str(ck, ck->file, "study", study));
    if (deck) TESS_CHECK(ck_attr_put_str(ck, ck->file, "deck", deck));
    TESS_CHECK(ck_attr_put_num(ck, ck->file, "step", H5T_NATIVE_INT64, &num.step, 1, 1));
    TESS_CHECK(ck_attr_put_num(ck, ck->file, "time", H5T_NATIVE_DOUBLE, &num.time, 1, 1));
    TESS_CHECK(ck_attr_put_num(ck, ck->file, "rng_seed", H5T_NATIVE_UINT64, &num.seed, 1, 1));
    if (n) TESS_CHECK(ck_attr_put_num(ck, ck->file, "rng_counters", H5T_NATIVE_UINT64, ctr,
                                      (size_t)n, 0));
  }
cleanup:
  CK_SYNC_REST(ck->comm, 2);
  if (ck->rank != 0) { free(study); free(deck); }
  free(ctr);
  return err;
}

/* Replicated vector: rank 0's elements become dataset `name`. */
static tess_err_t write_vec(tess_checkpoint_t *ck, const char *name, hid_t type,
                           const void *x, size_t n)
{
  tess_err_t err = TESS_OK;
  hid_t lcpl = H5I_INVALID_HID, space = H5I_INVALID_HID, ds = H5I_INVALID_HID;
  hid_t mspace = H5I_INVALID_HID, dxpl = H5P_DEFAULT;
  hsize_t dim = n;
  TESS_REQUIRE(name && name[0] && (x || n == 0), TESS_ERR_ARG,
               "checkpoint '%s': NULL name or data", ck->path);
  if (!ck_has_file(ck)) goto cleanup;
  CK_H5(ck, lcpl = H5Pcreate(H5P_LINK_CREATE), "link properties");
  CK_H5(ck, H5Pset_create_intermediate_group(lcpl, 1), "link properties");
  CK_H5(ck, space = H5Screate_simple(1, &dim, NULL), "dataspace of '%s'", name);
  CK_H5(ck, ds = H5Dcreate2(ck->file, name, type, space, lcpl, H5P_DEFAULT, H5P_DEFAULT),
        "creating dataset '%s' (does it exist already?)", name);
  if (n == 0) goto cleanup;
  CK_H5(ck, mspace = H5Screate_simple(1, &dim, NULL), "dataspace of '%s'", name);
  if (ck->rank != 0) {   /* parallel mode: everyone joins, rank 0 writes */
    CK_H5(ck, H5Sselect_none(mspace), "selection");
    CK_H5(ck, H5Sselect_none(space), "selection");
  }
  CK_H5(ck, H5Dwrite(ds, type, mspace, space, dxpl, x), "writing dataset '%s'", name);
cleanup:
  if (mspace >= 0) H5Sclose(mspace);
  if (ds >= 0) H5Dclose(ds);
  if (space >= 0) H5Sclose(space);
  if (lcpl >= 0) H5Pclose(lcpl);
  return ck_agree(ck->comm, err);
}

tess_err_t tess_checkpoint_write_f64(tess_checkpoint_t *ck, const char *name, const double *x,
                                     size_t n)
{
  tess_err_t err = require_writing(ck, __func__);
  return err ? err : write_vec(ck, name, H5T_NATIVE_DOUBLE, x, n);
}

tess_err_t tess_checkpoint_write_i64(tess_checkpoint_t *ck, const char *name, const int64_t *x,
                                     size_t n)
{
  tess_err_t err = require_writing(ck, __func__);
  return err ? err : write_vec(ck, name, H5T_NATIVE_INT64, x, n);
}

/* Test-only fault injection, so tests can kill a writer at the worst moment:
 * TESS_CHECKPOINT_FAULT=before_rename makes rank 0 SIGKILL itself after the
 * temporary file is complete and fsynced, before the rename. */
static void fault_point(const char *where)
{
  const char *f = getenv("TESS_CHECKPOINT_FAULT");
  if (f && strcmp(f, where) == 0) raise(SIGKILL);
}

/* Rank 0, once the file is closed everywhere: fsync, rename, sidecar. */
static tess_err_t finish_on_rank0(tess_checkpoint_t *ck)
{
  tess_err_t err = TESS_OK;
  TESS_CHECK(ck_fsync_path(ck->tmp_path));
  fault_point("before_rename");
  TESS_CHECK(ck_durable_rename(ck->tmp_path, ck->path));
  ck->committed = 1;
  TESS_CHECK(ck_xdmf_write(ck));
cleanup:
  return err;
}

tess_err_t tess_checkpoint_commit(tess_checkpoint_t **pck)
{
  tess_err_t err = TESS_OK;
  tess_checkpoint_t *ck = pck ? *pck : NULL;
  int ck_phase_ = 0;
  if ((err = require_writing(ck, __func__))) return err;
  if (ck_has_file(ck) && ck->file >= 0) {
    CK_H5(ck, H5Fflush(ck->file, H5F_SCOPE_GLOBAL), "flushing '%s'", ck->tmp_path);
    herr_t rc = H5Fclose(ck->file);
    ck->file = H5I_INVALID_HID;
    CK_H5(ck, rc, "closing '%s'", ck->tmp_path);
  }
  CK_SYNC(ck->comm);
  if (ck->rank == 0) err = finish_on_rank0(ck);
  TESS_CHECK(ck_bcast(ck->comm, &ck->committed, (1) * sizeof(int), 0));
  CK_SYNC(ck->comm);
  if (ck->manager) TESS_CHECK(ck_manager_committed(ck->manager));
cleanup:
  CK_SYNC_REST(ck->comm, 3);
  tess_checkpoint_close(pck);
  return err;
}

/* ---- reading ------------------------------------------------------------- */

/* Rank 0, before anyone opens the file: the checks that give clear messages. */
static tess_err_t precheck(tess_checkpoint_t *ck)
{
  tess_err_t err = TESS_OK;
  hid_t f = H5I_INVALID_HID;
  int found = 0;
  int64_t fmt = 0;
  TESS_REQUIRE(access(ck->path, F_OK) == 0, TESS_ERR_IO, "checkpoint '%s': %s", ck->path,
               strerror(errno));
  TESS_REQUIRE(access(ck->path, R_OK) == 0, TESS_ERR_IO, "checkpoint '%s': cannot read: %s",
               ck->path, strerror(errno));
  htri_t is = H5Fis_hdf5(ck->path);
  if (is == 0) {
    H5Eclear2(H5E_DEFAULT);
    TESS_REQUIRE(0, TESS_ERR_HDF5, "checkpoint '%s': not an HDF5 file (no HDF5 signature)",
                 ck->path);
  }
  CK_H5(ck, is, "not a readable HDF5 file");
  CK_H5(ck, f = H5Fopen(ck->path, H5F_ACC_RDONLY, H5P_DEFAULT),
        "cannot open (truncated or damaged file?)");
  ck->file = f;
  err = attr_get_local(ck, "tessera_format", ATTR_I64, &found, &fmt, NULL, NULL, NULL);
  ck->file = H5I_INVALID_HID;
  TESS_CHECK(err);
  TESS_REQUIRE(found, TESS_ERR_HDF5, "checkpoint '%s': not a Tessera checkpoint (no root "
               "attribute 'tessera_format')", ck->path);
  TESS_REQUIRE(fmt >= 1 && fmt <= TESS_CHECKPOINT_FORMAT, TESS_ERR_HDF5,
               "checkpoint '%s': format version %lld, this Tessera (%s) reads 1..%d",
               ck->path, (long long)fmt, tess_version(), TESS_CHECKPOINT_FORMAT);
cleanup:
  if (f >= 0) H5Fclose(f);
  return err;
}

tess_err_t tess_checkpoint_open(MPI_Comm comm, const char *path, tess_checkpoint_t **out)
{
  tess_err_t err = TESS_OK;
  tess_checkpoint_t *ck = NULL;
  hid_t fapl = H5I_INVALID_HID;
  TESS_REQUIRE(path && path[0] && out, TESS_ERR_ARG, "NULL or empty argument");
  *out = NULL;
  err = handle_new(comm, path, 0, &ck);
  if (ck && ck->comm != MPI_COMM_NULL) err = ck_agree(ck->comm, err);
  if (err) goto cleanup;
  if (ck->rank == 0) err = precheck(ck);
  TESS_CHECK(ck_agree(ck->comm, err));
  if (ck_has_file(ck)) {
    CK_H5(ck, fapl = make_fapl(ck), "file access properties");
    CK_H5(ck, ck->file = H5Fopen(path, H5F_ACC_RDONLY, fapl), "cannot open");
  }
cleanup:
  if (fapl >= 0) H5Pclose(fapl);
  if (ck && ck->comm != MPI_COMM_NULL) err = ck_agree(ck->comm, err);
  if (err) tess_checkpoint_close(&ck);
  else *out = ck;
  return err;
}

/* One 8-byte scalar attribute (int64 or double); *v untouched on error. */
static tess_err_t get_scalar_attr(tess_checkpoint_t *ck, const char *key, attr_kind_t kind,
                                  void *v, const char *fn)
{
  tess_err_t err = require_reading(ck, fn);
  int found = 0;
  union { int64_t i; double d; } x = { 0 };
  if (err) return err;
  if ((err = check_key(ck, key))) return err;
  TESS_REQUIRE(v != NULL, TESS_ERR_ARG, "NULL argument");
  TESS_CHECK(attr_get(ck, key, kind, &found, &x, NULL, NULL, NULL));
  TESS_REQUIRE(found, TESS_ERR_ARG, "checkpoint '%s': no attribute '%s'", ck->path, key);
  memcpy(v, &x, sizeof x);
cleanup:
  return err;
}

tess_err_t tess_checkpoint_get_attr_int(tess_checkpoint_t *ck, const char *key, int64_t *v)
{
  return get_scalar_attr(ck, key, ATTR_I64, v, __func__);
}

tess_err_t tess_checkpoint_get_attr_double(tess_checkpoint_t *ck, const char *key, double *v)
{
  return get_scalar_attr(ck, key, ATTR_F64, v, __func__);
}

tess_err_t tess_checkpoint_get_attr_string(tess_checkpoint_t *ck, const char *key,
                                           const char **v)
{
  tess_err_t err = require_reading(ck, __func__);
  int found = 0;
  char *s = NULL;
  if (err) return err;
  if ((err = check_key(ck, key))) return err;
  TESS_REQUIRE(v != NULL, TESS_ERR_ARG, "NULL argument");
  TESS_CHECK(attr_get(ck, key, ATTR_STR, &found, NULL, NULL, NULL, &s));
  TESS_REQUIRE(found, TESS_ERR_ARG, "checkpoint '%s': no attribute '%s'", ck->path, key);
  *v = ck_keep_string(ck, s, strlen(s));
  TESS_REQUIRE(*v != NULL, TESS_ERR_MEM, "attribute '%s'", key);
cleanup:
  free(s);
  return err;
}

tess_err_t tess_checkpoint_get_meta(tess_checkpoint_t *ck, tess_checkpoint_meta_t *meta)
{
  tess_err_t err = require_reading(ck, __func__);
  tess_checkpoint_meta_t m = { 0 };
  char *study = NULL, *deck = NULL;
  uint64_t *ctr = NULL, *seed = NULL;
  size_t n = 0, nseed = 0;
  int found = 0;
  if (err) return err;
  TESS_REQUIRE(meta != NULL, TESS_ERR_ARG, "NULL argument");
  TESS_CHECK(attr_get(ck, "study", ATTR_STR, &found, NULL, NULL, NULL, &study));
  TESS_CHECK(attr_get(ck, "deck", ATTR_STR, &found, NULL, NULL, NULL, &deck));
  TESS_CHECK(attr_get(ck, "step", ATTR_I64, &found, &m.step, NULL, NULL, NULL));
  TESS_CHECK(attr_get(ck, "time", ATTR_F64, &found, &m.time, NULL, NULL, NULL));
  TESS_CHECK(attr_get(ck, "rng_seed", ATTR_U64_VEC, &found, NULL, &seed, &nseed, NULL));
  if (seed && nseed == 1) m.rng_seed = seed[0];
  TESS_CHECK(attr_get(ck, "rng_counters", ATTR_U64_VEC, &found, NULL, &ctr, &n, NULL));
  if (study) TESS_REQUIRE((m.study = ck_keep_string(ck, study, strlen(study))), TESS_ERR_MEM, "study");
  if (deck) TESS_REQUIRE((m.deck_text = ck_keep_string(ck, deck, strlen(deck))), TESS_ERR_MEM, "deck");
  free(ck->rng_counters);
  ck->rng_counters = ctr;
  ctr = NULL;
  m.rng_counters = ck->rng_counters;
  m.n_rng_counters = ck->rng_counters ? n : 0;
  *meta = m;
cleanup:
  free(study);
  free(deck);
  free(ctr);
  free(seed);
  return err;
}

tess_err_t tess_checkpoint_check_study(const tess_checkpoint_t *cck, const char *study)
{
  tess_checkpoint_t *ck = (tess_checkpoint_t *)cck;   /* reads cache strings on it */
  tess_err_t err = require_reading(ck, __func__);
  char *s = NULL, *ver = NULL;
  int found = 0;
  if (err) return err;
  TESS_REQUIRE(study != NULL, TESS_ERR_ARG, "NULL study");
  TESS_CHECK(attr_get(ck, "study", ATTR_STR, &found, NULL, NULL, NULL, &s));
  TESS_REQUIRE(s != NULL, TESS_ERR_ARG, "checkpoint '%s': no 'study' attribute; "
               "expected a checkpoint of study '%s'", ck->path, study);
  TESS_REQUIRE(strcmp(s, study) == 0, TESS_ERR_ARG,
               "checkpoint '%s' was written by study '%s', this run is study '%s'",
               ck->path, s, study);
  TESS_CHECK(attr_get(ck, "tessera_version", ATTR_STR, &found, NULL, NULL, NULL, &ver));
  TESS_REQUIRE(ver != NULL, TESS_ERR_ARG, "checkpoint '%s': no 'tessera_version' attribute",
               ck->path);
  TESS_REQUIRE(atoi(ver) == atoi(tess_version()), TESS_ERR_ARG,
               "checkpoint '%s' was written by Tessera %s; this is Tessera %s (major versions "
               "differ)", ck->path, ver, tess_version());
cleanup:
  free(s);
  free(ver);
  return err;
}

/* Dataset `name` exists (rank 0 looks; everyone learns). */
tess_err_t tess_checkpoint_has(tess_checkpoint_t *ck, const char *name, int *exists)
{
  tess_err_t err = require_reading(ck, __func__);
  int e = 0;
  if (err) return err;
  TESS_REQUIRE(name && exists, TESS_ERR_ARG, "NULL argument");
  if (ck->rank == 0) {
    H5O_info_t info;
    /* H5LTpath_valid-like walk: every prefix must exist as a link. */
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", name);
    e = 1;
    for (char *p = buf; e && (p = strchr(p + 1, '/')) != NULL;) {
      *p = '\0';
      e = H5Lexists(ck->file, buf, H5P_DEFAULT) > 0;
      *p = '/';
    }
    e = e && H5Lexists(ck->file, buf, H5P_DEFAULT) > 0 &&
        H5Oget_info_by_name(ck->file, buf, &info, H5P_DEFAULT) >= 0 &&
        info.type == H5O_TYPE_DATASET;
    H5Eclear2(H5E_DEFAULT);
  }
  TESS_CHECK(ck_bcast(ck->comm, &e, (1) * sizeof(int), 0));
  *exists = e;
cleanup:
  return err;
}

/* Replicated vector: rank 0 reads, checks the length, broadcasts. */
static tess_err_t read_vec(tess_checkpoint_t *ck, const char *name, hid_t type, size_t elsize,
                           void *x, size_t n)
{
  tess_err_t err = TESS_OK;
  hid_t ds = H5I_INVALID_HID, space = H5I_INVALID_HID, ft = H5I_INVALID_HID;
  void *tmp = NULL;
  int exists = 0, ck_phase_ = 0;
  TESS_REQUIRE(name && (x || n == 0), TESS_ERR_ARG, "NULL argument");
  TESS_CHECK(tess_checkpoint_has(ck, name, &exists));
  TESS_REQUIRE(exists, TESS_ERR_HDF5, "checkpoint '%s': no dataset '%s'", ck->path, name);
  tmp = malloc(n * elsize + 1);
  TESS_REQUIRE(tmp != NULL, TESS_ERR_MEM, "dataset '%s' of %zu elements", name, n);
  if (ck->rank == 0) {
    hsize_t dims[8];
    char found[64], want[64];
    CK_H5(ck, ds = H5Dopen2(ck->file, name, H5P_DEFAULT), "opening dataset '%s'", name);
    CK_H5(ck, space = H5Dget_space(ds), "dataset '%s'", name);
    CK_H5(ck, ft = H5Dget_type(ds), "dataset '%s'", name);
    int nd = H5Sget_simple_extent_ndims(space);
    CK_H5(ck, nd, "dataset '%s'", name);
    TESS_REQUIRE(nd == 1 && nd <= 8, TESS_ERR_SHAPE, "checkpoint '%s': dataset '%s' has %d "
                 "dimensions, expected a vector of %zu", ck->path, name, nd, n);
    H5Sget_simple_extent_dims(space, dims, NULL);
    TESS_REQUIRE(dims[0] == n, TESS_ERR_SHAPE, "checkpoint '%s': dataset '%s' has %llu "
                 "elements, expected %zu", ck->path, name, (unsigned long long)dims[0], n);
    ck_h5_type_describe(ft, found, sizeof found);
    ck_h5_type_describe(type, want, sizeof want);
    TESS_REQUIRE(H5Tget_class(ft) == H5Tget_class(type) && H5Tget_size(ft) == elsize,
                 TESS_ERR_SHAPE, "checkpoint '%s': dataset '%s' is %s, expected %s", ck->path,
                 name, found, want);
    if (n) CK_H5(ck, H5Dread(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, tmp),
                 "reading dataset '%s'", name);
  }
  CK_SYNC(ck->comm);
  if (n) TESS_CHECK(ck_bcast(ck->comm, tmp, n * elsize, 0));
  if (n) memcpy(x, tmp, n * elsize);
cleanup:
  CK_SYNC_REST(ck->comm, 2);
  if (ft >= 0) H5Tclose(ft);
  if (space >= 0) H5Sclose(space);
  if (ds >= 0) H5Dclose(ds);
  free(tmp);
  return err;
}

tess_err_t tess_checkpoint_read_f64(tess_checkpoint_t *ck, const char *name, double *x, size_t n)
{
  tess_err_t err = require_reading(ck, __func__);
  return err ? err : read_vec(ck, name, H5T_NATIVE_DOUBLE, sizeof *x, x, n);
}

tess_err_t tess_checkpoint_read_i64(tess_checkpoint_t *ck, const char *name, int64_t *x, size_t n)
{
  tess_err_t err = require_reading(ck, __func__);
  return err ? err : read_vec(ck, name, H5T_NATIVE_INT64, sizeof *x, x, n);
}

const char *tess_checkpoint_path(const tess_checkpoint_t *ck) { return ck ? ck->path : NULL; }

/* An abandoned temporary file is deleted below, so its blocks are worth
 * nothing; give them back before H5Fclose. After a failed write (full disk)
 * HDF5 still holds metadata it must write on close; with no room that close
 * fails, and a failed H5Fclose leaves a half-freed file behind its id that
 * HDF5's own shutdown (run from MPI_Finalize) then dereferences: a segfault
 * after the right error message. Emptying the file first leaves room. */
static void discard_tmp(const tess_checkpoint_t *ck)
{
  if (ck->parallel) ck_barrier(ck->comm);   /* nobody is still writing */
  if (ck->rank == 0 && ck->tmp_path && truncate(ck->tmp_path, 0) != 0) {
    /* nothing to free (already gone): the close below is all there is */
  }
}

void tess_checkpoint_close(tess_checkpoint_t **pck)
{
  tess_checkpoint_t *ck = pck ? *pck : NULL;
  if (!ck) return;
  if (ck->file >= 0) {
    if (ck->writing && !ck->committed) discard_tmp(ck);
    H5Fclose(ck->file);   /* collective in parallel mode */
    ck->file = H5I_INVALID_HID;
  }
  H5Eclear2(H5E_DEFAULT);
  if (ck->writing && !ck->committed && ck->comm != MPI_COMM_NULL) {
    ck_barrier(ck->comm);                 /* everyone has closed the file */
    if (ck->rank == 0 && ck->tmp_path) unlink(ck->tmp_path);
    ck_barrier(ck->comm);                 /* gone for everyone on return */
  }
  while (ck->strings) {
    ck_string_t *next = ck->strings->next;
    free(ck->strings);
    ck->strings = next;
  }
  free(ck->rng_counters);
  free(ck->path);
  free(ck->tmp_path);
  if (ck->comm != MPI_COMM_NULL) MPI_Comm_free(&ck->comm);
  free(ck);
  *pck = NULL;
}
